//! Sigstore signing end to end (skopeo 1.9.3 as Debian ships it has sigstore disabled, so
//! upstream's vectors and cosign's key format are the reference): `generate-sigstore-key`
//! writes cosign-format keys, copies signed with ours or with sigstore-rs's fixture key pass a
//! `sigstoreSigned` policy and fail one naming another key, and signatures pushed to a
//! registry as `sha256-HEX.sig` attachments are read back under the policy.

use skopeo_integration_tests::registry::{setup, Flavour};
use skopeo_integration_tests::*;
use std::path::Path;

fn sigstore_policy(dir: &Path, name: &str, key: &str, identity: serde_json::Value) -> String {
    let path = dir.join(format!("{name}.json"));
    let policy = serde_json::json!({"default": [{
        "type": "sigstoreSigned", "keyPath": key, "signedIdentity": identity,
    }]});
    std::fs::write(&path, policy.to_string()).unwrap();
    path.display().to_string()
}

fn generate(bin: &Path, prefix: &Path, passphrase_file: &str, cwd: &Path) -> RunResult {
    run(
        bin,
        &[
            "generate-sigstore-key",
            "--output-prefix",
            prefix.to_str().unwrap(),
            "--passphrase-file",
            passphrase_file,
        ],
        cwd,
    )
}

#[test]
fn generated_and_cosign_keys_sign_copies_that_verify_under_sigstore_signed() {
    let tmp = TempDir::new("trust-sigstore");
    let ours = our_skopeo();
    let layout = example_layout(&tmp.0);
    let src = format!("oci:{}:demo", layout.display());
    let pass = tmp.0.join("pass");
    std::fs::write(&pass, "correct horse\n").unwrap();
    let pass = pass.display().to_string();

    let key = tmp.0.join("mykey");
    let r = generate(&ours, &key, &pass, &tmp.0);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        format!(
            "Key written to \"{0}.private\" and \"{0}.pub\"\n",
            key.display()
        )
    );
    let private = std::fs::read_to_string(key.with_extension("private")).unwrap();
    assert!(private.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
    assert!(!private.contains("correct horse"));
    let mode = std::fs::metadata(key.with_extension("private"))
        .unwrap()
        .permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
    let again = generate(&ours, &key, &pass, &tmp.0);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("Refusing to overwrite existing"),
        "{}",
        again.stderr
    );
    let other = tmp.0.join("otherkey");
    assert_eq!(generate(&ours, &other, &pass, &tmp.0).code, 0);

    let sign = |private: &str, passphrase_file: &str, dest: &Path| {
        run(
            &ours,
            &[
                "--insecure-policy",
                "copy",
                "--sign-by-sigstore-private-key",
                private,
                "--sign-passphrase-file",
                passphrase_file,
                "--sign-identity",
                "example.com/demo:1",
                &src,
                &format!("dir:{}", dest.display()),
            ],
            &tmp.0,
        )
    };
    let signed = tmp.0.join("signed");
    let r = sign(
        &key.with_extension("private").display().to_string(),
        &pass,
        &signed,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("Signing manifest using a sigstore signature\n"),
        "{}",
        r.stdout
    );
    let blob = std::fs::read(signed.join("signature-1")).unwrap();
    assert!(blob.starts_with(b"\0sigstore-json\n"));

    let repo =
        serde_json::json!({"type": "exactRepository", "dockerRepository": "example.com/demo"});
    let check = |policy: &str, from: &Path, name: &str| {
        run(
            &ours,
            &[
                "--policy",
                policy,
                "copy",
                "-q",
                &format!("dir:{}", from.display()),
                &format!("dir:{}", tmp.0.join(name).display()),
            ],
            &tmp.0,
        )
    };
    let accept = sigstore_policy(
        &tmp.0,
        "accept",
        &key.with_extension("pub").display().to_string(),
        repo.clone(),
    );
    let r = check(&accept, &signed, "checked");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let wrong = sigstore_policy(
        &tmp.0,
        "wrong",
        &other.with_extension("pub").display().to_string(),
        repo.clone(),
    );
    let r = check(&wrong, &signed, "refused");
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("Source image rejected: cryptographic signature verification failed"),
        "{}",
        r.stderr
    );
    assert!(!tmp.0.join("refused").exists());
    let other_repo =
        serde_json::json!({"type": "exactRepository", "dockerRepository": "example.com/other"});
    let elsewhere = sigstore_policy(
        &tmp.0,
        "elsewhere",
        &key.with_extension("pub").display().to_string(),
        other_repo,
    );
    let r = check(&elsewhere, &signed, "refused-identity");
    assert!(
        r.stderr
            .contains("Signature for identity example.com/demo:1 is not accepted"),
        "{}",
        r.stderr
    );
    // A wrong passphrase is refused before anything is copied.
    let bad = tmp.0.join("bad-pass");
    std::fs::write(&bad, "nope").unwrap();
    let r = sign(
        &key.with_extension("private").display().to_string(),
        &bad.display().to_string(),
        &tmp.0.join("never"),
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("decryption failed"), "{}", r.stderr);
    assert!(!tmp.0.join("never").exists());

    // sigstore-rs's cosign-format key (passphrase "123") loads and signs; the signature is
    // its, not our key's (its verification with its own public half is in the core's
    // fixture tests).
    let Some(fixtures) = fixtures_dir() else {
        return;
    };
    let keys = fixtures.join("signatures-sigstore/sigstore-rs-keys");
    let pass123 = tmp.0.join("pass123");
    std::fs::write(&pass123, "123").unwrap();
    let signed_rs = tmp.0.join("signed-rs");
    let r = sign(
        &keys
            .join("ecdsa_encrypted_private.key")
            .display()
            .to_string(),
        &pass123.display().to_string(),
        &signed_rs,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = check(&accept, &signed_rs, "checked-rs");
    assert!(
        r.stderr
            .contains("cryptographic signature verification failed"),
        "{}",
        r.stderr
    );
}

#[test]
fn sigstore_signatures_travel_as_registry_attachments() {
    let Some(registry) = setup(Flavour::Plain) else {
        return;
    };
    let tmp = TempDir::new("trust-attachments");
    let ours = our_skopeo();
    let layout = example_layout(&tmp.0);
    let pass = tmp.0.join("pass");
    std::fs::write(&pass, "pw").unwrap();
    let pass = pass.display().to_string();
    let key = tmp.0.join("key");
    assert_eq!(generate(&ours, &key, &pass, &tmp.0).code, 0);
    let regd = tmp.0.join("registries.d");
    std::fs::create_dir_all(&regd).unwrap();
    std::fs::write(
        regd.join("default.yaml"),
        "default-docker:\n  use-sigstore-attachments: true\n",
    )
    .unwrap();
    let regd = regd.display().to_string();
    let image = registry.image("attach/app:v1");
    let r = run(
        &ours,
        &[
            "--insecure-policy",
            "--registries.d",
            &regd,
            "copy",
            "-q",
            "--dest-tls-verify=false",
            "--sign-by-sigstore-private-key",
            &key.with_extension("private").display().to_string(),
            "--sign-passphrase-file",
            &pass,
            &format!("oci:{}:demo", layout.display()),
            &image,
        ],
        &tmp.0,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let digest = run(
        &ours,
        &[
            "inspect",
            "--tls-verify=false",
            "--format",
            "{{.Digest}}",
            &image,
        ],
        &tmp.0,
    )
    .stdout
    .trim()
    .to_owned();
    let tags = run(
        &ours,
        &["list-tags", "--tls-verify=false", &image.replace(":v1", "")],
        &tmp.0,
    )
    .stdout;
    let attachment_tag = digest.replace(':', "-") + ".sig";
    assert!(tags.contains(&attachment_tag), "{tags}");

    let policy = tmp.0.join("policy.json");
    std::fs::write(
        &policy,
        serde_json::json!({"default": [{"type": "insecureAcceptAnything"}], "transports": {"docker": {
            registry.addr.clone(): [{"type": "sigstoreSigned", "keyPath": key.with_extension("pub"), "signedIdentity": {"type": "matchRepository"}}]
        }}})
        .to_string(),
    )
    .unwrap();
    let pull = |regd: &str, out: &str| {
        run(
            &ours,
            &[
                "--policy",
                policy.to_str().unwrap(),
                "--registries.d",
                regd,
                "copy",
                "-q",
                "--src-tls-verify=false",
                &image,
                &format!("dir:{}", tmp.0.join(out).display()),
            ],
            &tmp.0,
        )
    };
    let ok = pull(&regd, "pulled");
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let kept = std::fs::read(tmp.0.join("pulled/signature-1")).unwrap();
    assert!(kept.starts_with(b"\0sigstore-json\n"));
    // Without attachments configured, the signature is not found and the policy refuses.
    let empty = tmp.0.join("empty.d");
    std::fs::create_dir_all(&empty).unwrap();
    let refused = pull(empty.to_str().unwrap(), "refused");
    assert_eq!(refused.code, 1);
    assert!(
        refused
            .stderr
            .contains("A signature was required, but no signature exists"),
        "{}",
        refused.stderr
    );
}
