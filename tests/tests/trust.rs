//! Trust end to end, side by side with skopeo 1.9.3 and real GnuPG: copies signed by either
//! tool pass the other's `signedBy` policy; refusals (no signature, tampered manifest, wrong
//! identity, unknown, expired and revoked keys, missing key file) read as skopeo's and leave
//! the destination unwritten; `standalone-sign`/`standalone-verify` in both directions;
//! signed pushes into a registry's lookaside pulled back under a policy.

use skopeo_integration_tests::gnupg::{payload, policy, run_in, signed_by, GnuPg, Tools, IDENTITY};
use skopeo_integration_tests::registry::{setup, Flavour};
use skopeo_integration_tests::*;
use std::path::Path;

/// A `dir:` copy of the example signed by `bin` with `key` (and a passphrase file).
fn signed_dir(bin: &Path, gpg: &GnuPg, layout: &Path, key: &str, pass: Option<&str>, out: &Path) {
    let src = format!("oci:{}:demo", layout.display());
    let dest = format!("dir:{}", out.display());
    let mut args = vec!["--insecure-policy", "copy", "-q", "--sign-by", key];
    if let Some(p) = pass {
        args.extend(["--sign-passphrase-file", p]);
    }
    args.extend(["--sign-identity", IDENTITY, &src, &dest]);
    let r = run_in(bin, gpg, &args, out.parent().unwrap());
    assert_eq!(
        r.code,
        0,
        "{} signing with {key}: {}",
        bin.display(),
        r.stderr
    );
}

#[test]
fn copies_signed_by_either_tool_pass_the_others_signed_by_policy() {
    let tmp = TempDir::new("trust-signed-by");
    let Some(gpg) = GnuPg::new(&tmp.0) else {
        return;
    };
    let tools = Tools::new();
    let layout = example_layout(&tmp.0);
    let plain = gpg.generate(
        "Plain <p@example.com>",
        "rsa2048",
        "sign",
        "never",
        "",
        None,
    );
    let guarded = gpg.generate(
        "Guarded <g@example.com>",
        "ed25519",
        "sign",
        "never",
        "s3cret",
        None,
    );
    let pass = tmp.0.join("pass");
    std::fs::write(&pass, "s3cret\n").unwrap();
    let pass = pass.display().to_string();
    let with_sub = gpg.generate("Sub <s@example.com>", "ed25519", "cert", "never", "", None);
    gpg.add_signing_subkey(&with_sub);

    for (name, key, pass) in [
        ("plain", &plain, None),
        ("guarded", &guarded, Some(pass.as_str())),
    ] {
        let key_file = gpg.export(key, &tmp.0.join(format!("{name}.asc")));
        let accept = policy(&tmp.0, name, signed_by(&key_file, "example.com/demo"));
        for (signer, signer_bin) in tools.both() {
            let signed = tmp.0.join(format!("{name}-by-{signer}"));
            signed_dir(signer_bin, &gpg, &layout, key, pass, &signed);
            assert!(signed.join("signature-1").exists());
            // Each tool's policy accepts what either signed, with the same lines.
            let mut outputs = Vec::new();
            for (checker, checker_bin) in tools.both() {
                let dest = tmp
                    .0
                    .join(format!("{name}-by-{signer}-checked-by-{checker}"));
                let r = run_in(
                    checker_bin,
                    &gpg,
                    &[
                        "--policy",
                        &accept,
                        "copy",
                        &format!("dir:{}", signed.display()),
                        &format!("dir:{}", dest.display()),
                    ],
                    &tmp.0,
                );
                assert_eq!(
                    r.code, 0,
                    "{checker} checking {signer}'s {name}: {}",
                    r.stderr
                );
                assert_eq!(
                    std::fs::read(dest.join("signature-1")).unwrap(),
                    std::fs::read(signed.join("signature-1")).unwrap()
                );
                outputs.push(r.stdout);
            }
            assert!(outputs.windows(2).all(|w| w[0] == w[1]), "{outputs:?}");
        }
    }

    // A key whose signing subkey signs: our policy trusts the primary key's export (newer
    // containers/image does; 1.9.3 named only the subkey).
    let sub_file = gpg.export(&with_sub, &tmp.0.join("sub.asc"));
    let signed = tmp.0.join("sub-by-ours");
    signed_dir(&tools.ours, &gpg, &layout, &with_sub, None, &signed);
    let accept = policy(&tmp.0, "sub", signed_by(&sub_file, "example.com/demo"));
    let r = run_in(
        &tools.ours,
        &gpg,
        &[
            "--policy",
            &accept,
            "copy",
            "-q",
            &format!("dir:{}", signed.display()),
            &format!("dir:{}", tmp.0.join("sub-checked").display()),
        ],
        &tmp.0,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    if let Some(skopeo) = &tools.skopeo {
        let subkey = &gpg.all_fingerprints("Sub <s@example.com>")[1];
        let r = run_in(
            skopeo,
            &gpg,
            &[
                "standalone-verify",
                &signed.join("manifest.json").display().to_string(),
                IDENTITY,
                subkey,
                &signed.join("signature-1").display().to_string(),
            ],
            &tmp.0,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
}

/// The manifest digest of the example image.
fn example_digest(tools: &Tools, layout: &Path, tmp: &Path) -> (String, Vec<u8>) {
    let plain = tmp.join("example-dir");
    let r = run(
        &tools.ours,
        &[
            "--insecure-policy",
            "copy",
            "-q",
            &format!("oci:{}:demo", layout.display()),
            &format!("dir:{}", plain.display()),
        ],
        tmp,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let manifest = std::fs::read(plain.join("manifest.json")).unwrap();
    let digest = run(
        &tools.ours,
        &[
            "manifest-digest",
            &plain.join("manifest.json").display().to_string(),
        ],
        tmp,
    )
    .stdout
    .trim()
    .to_owned();
    (digest, manifest)
}

/// A `dir:` image: the example's blobs and manifest, with `signature` as its signature-1.
fn dir_with_signature(template: &Path, signature: &Path, out: &Path) {
    std::fs::create_dir_all(out).unwrap();
    for entry in std::fs::read_dir(template).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), out.join(entry.file_name())).unwrap();
    }
    std::fs::copy(signature, out.join("signature-1")).unwrap();
}

#[test]
fn refused_images_are_refused_in_skopeos_words_and_nothing_is_written() {
    let tmp = TempDir::new("trust-refusals");
    let Some(gpg) = GnuPg::new(&tmp.0) else {
        return;
    };
    let tools = Tools::new();
    let layout = example_layout(&tmp.0);
    let (digest, _) = example_digest(&tools, &layout, &tmp.0);
    let template = tmp.0.join("example-dir");
    let signed_payload = payload(&digest, IDENTITY);

    let good = gpg.generate(
        "Good <good@example.com>",
        "rsa2048",
        "sign",
        "never",
        "",
        None,
    );
    let good_file = gpg.export(&good, &tmp.0.join("good.asc"));
    let stranger = gpg.generate(
        "Stranger <x@example.com>",
        "rsa2048",
        "sign",
        "never",
        "",
        None,
    );
    let stranger_file = gpg.export(&stranger, &tmp.0.join("stranger.asc"));
    // A key that expired in 2020, with a signature it made while valid.
    let expired = gpg.generate(
        "Expired <e@example.com>",
        "rsa2048",
        "sign",
        "1d",
        "",
        Some("20200101T000000"),
    );
    let expired_sig = tmp.0.join("expired.sig");
    gpg.sign(
        &expired,
        &signed_payload,
        Some("20200101T010000"),
        &expired_sig,
    );
    let expired_file = gpg.export(&expired, &tmp.0.join("expired.asc"));
    // A key revoked after signing.
    let revoked = gpg.generate(
        "Revoked <r@example.com>",
        "rsa2048",
        "sign",
        "never",
        "",
        None,
    );
    let revoked_sig = tmp.0.join("revoked.sig");
    gpg.sign(&revoked, &signed_payload, None, &revoked_sig);
    gpg.revoke(&revoked);
    let revoked_file = gpg.export(&revoked, &tmp.0.join("revoked.asc"));

    let good_sig = tmp.0.join("good.sig");
    gpg.sign(&good, &signed_payload, None, &good_sig);
    let signed_dir = tmp.0.join("signed-good");
    dir_with_signature(&template, &good_sig, &signed_dir);
    let tampered = tmp.0.join("tampered");
    dir_with_signature(&template, &good_sig, &tampered);
    let mut manifest = std::fs::read(tampered.join("manifest.json")).unwrap();
    manifest.push(b'\n');
    std::fs::write(tampered.join("manifest.json"), manifest).unwrap();
    let by_expired = tmp.0.join("signed-expired");
    dir_with_signature(&template, &expired_sig, &by_expired);
    let by_revoked = tmp.0.join("signed-revoked");
    dir_with_signature(&template, &revoked_sig, &by_revoked);

    let cases: Vec<(&str, &Path, serde_json::Value, &str)> = vec![
        (
            "unsigned",
            &template,
            signed_by(&good_file, "example.com/demo"),
            "no signature exists",
        ),
        (
            "tampered",
            &tampered,
            signed_by(&good_file, "example.com/demo"),
            "does not match",
        ),
        (
            "wrong identity",
            &signed_dir,
            signed_by(&good_file, "example.com/other"),
            "Signature for identity example.com/demo:1 is not accepted",
        ),
        (
            "unknown key",
            &signed_dir,
            signed_by(&stranger_file, "example.com/demo"),
            "Summary:128",
        ),
        (
            "expired key",
            &by_expired,
            signed_by(&expired_file, "example.com/demo"),
            "Summary:32",
        ),
        (
            "revoked key",
            &by_revoked,
            signed_by(&revoked_file, "example.com/demo"),
            "Summary:16",
        ),
        (
            "missing key file",
            &signed_dir,
            signed_by("/nonexistent/key.asc", "example.com/demo"),
            "open /nonexistent/key.asc: no such file or directory",
        ),
    ];
    for (i, (what, src, requirement, words)) in cases.into_iter().enumerate() {
        let policy_file = policy(&tmp.0, &format!("refuse-{i}"), requirement);
        let mut results = Vec::new();
        for (who, bin) in tools.both() {
            let dest = tmp.0.join(format!("refused-{i}-{who}"));
            let r = run_in(
                bin,
                &gpg,
                &[
                    "--policy",
                    &policy_file,
                    "copy",
                    &format!("dir:{}", src.display()),
                    &format!("dir:{}", dest.display()),
                ],
                &tmp.0,
            );
            assert_eq!(r.code, 1, "{who} {what}: {}", r.stderr);
            assert!(
                r.stderr.contains("Source image rejected: "),
                "{who} {what}: {}",
                r.stderr
            );
            assert!(r.stderr.contains(words), "{who} {what}: {}", r.stderr);
            if who == "ours" {
                assert!(!dest.exists(), "{what}: the destination was written");
            }
            results.push(r.stderr);
        }
        if let [ours, theirs] = results.as_slice() {
            assert_eq!(ours, theirs, "{what}");
        }
    }

    // signedBaseLayer is never satisfied, as in containers/image.
    let base = policy(
        &tmp.0,
        "base-layer",
        serde_json::json!({"type": "signedBaseLayer", "baseLayerIdentity": {"type": "matchRepository"}}),
    );
    let r = run(
        &tools.ours,
        &[
            "--policy",
            &base,
            "copy",
            &format!("dir:{}", signed_dir.display()),
            "dir:/tmp/never",
        ],
        &tmp.0,
    );
    assert!(
        r.stderr
            .contains("Source image rejected: signedBaseLayer not implemented yet!"),
        "{}",
        r.stderr
    );
}

#[test]
fn standalone_sign_and_verify_work_in_both_directions() {
    let tmp = TempDir::new("trust-standalone");
    let Some(gpg) = GnuPg::new(&tmp.0) else {
        return;
    };
    let tools = Tools::new();
    let key = gpg.generate(
        "Standalone <s@example.com>",
        "rsa2048",
        "sign",
        "never",
        "pw",
        None,
    );
    let pass = tmp.0.join("pass");
    std::fs::write(&pass, "pw").unwrap();
    let manifest = tmp.0.join("manifest.json");
    std::fs::write(&manifest, br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}"#).unwrap();
    let m = manifest.display().to_string();
    let p = pass.display().to_string();
    for (signer, signer_bin) in tools.both() {
        let sig = tmp.0.join(format!("by-{signer}.sig"));
        let s = sig.display().to_string();
        let r = run_in(
            signer_bin,
            &gpg,
            &[
                "standalone-sign",
                "--passphrase-file",
                &p,
                &m,
                IDENTITY,
                &key,
                "-o",
                &s,
            ],
            &tmp.0,
        );
        assert_eq!(r.code, 0, "{signer}: {}", r.stderr);
        for (verifier, verifier_bin) in tools.both() {
            let ok = run_in(
                verifier_bin,
                &gpg,
                &["standalone-verify", &m, IDENTITY, &key, &s],
                &tmp.0,
            );
            assert_eq!(ok.code, 0, "{verifier} verifying {signer}'s: {}", ok.stderr);
            assert!(ok.stdout.starts_with("Signature verified, digest sha256:"));
        }
        // Refusals in the same words.
        let mut refusals = Vec::new();
        for (_, verifier_bin) in tools.both() {
            let wrong_ref = run_in(
                verifier_bin,
                &gpg,
                &["standalone-verify", &m, "example.com/demo:2", &key, &s],
                &tmp.0,
            );
            let wrong_key = run_in(
                verifier_bin,
                &gpg,
                &[
                    "standalone-verify",
                    &m,
                    IDENTITY,
                    "0123456789ABCDEF0123456789ABCDEF01234567",
                    &s,
                ],
                &tmp.0,
            );
            refusals.push((wrong_ref, wrong_key));
        }
        assert_eq!(refusals[0].0.code, 1);
        assert!(refusals[0]
            .0
            .stderr
            .contains("Docker reference example.com/demo:1 does not match example.com/demo:2"));
        assert!(refusals[0].1.stderr.contains(
            "does not match expected fingerprint 0123456789ABCDEF0123456789ABCDEF01234567"
        ));
        if let [ours, theirs] = refusals.as_slice() {
            assert_eq!(ours, theirs);
        }
    }
    // An unknown signing key and a wrong passphrase.
    let r = run_in(
        &tools.ours,
        &gpg,
        &["standalone-sign", &m, IDENTITY, "DEADBEEF", "-o", "x.sig"],
        &tmp.0,
    );
    assert!(
        r.stderr
            .contains(r#"Error creating signature: key \"DEADBEEF\" not found"#),
        "{}",
        r.stderr
    );
    std::fs::write(&pass, "wrong").unwrap();
    gpg.forget_passphrases();
    let r = run_in(
        &tools.ours,
        &gpg,
        &[
            "standalone-sign",
            "--passphrase-file",
            &p,
            &m,
            IDENTITY,
            &key,
            "-o",
            "y.sig",
        ],
        &tmp.0,
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("Error creating signature: Bad passphrase"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("wrong"),
        "the passphrase was printed: {}",
        r.stderr
    );
    assert!(!tmp.0.join("y.sig").exists());
}

#[test]
fn signed_pushes_go_to_lookaside_and_pull_back_under_a_policy() {
    let Some(registry) = setup(Flavour::Plain) else {
        return;
    };
    let tmp = TempDir::new("trust-registry");
    let Some(gpg) = GnuPg::new(&tmp.0) else {
        return;
    };
    let tools = Tools::new();
    let layout = example_layout(&tmp.0);
    let key = gpg.generate(
        "Pusher <push@example.com>",
        "rsa2048",
        "sign",
        "never",
        "",
        None,
    );
    let key_file = gpg.export(&key, &tmp.0.join("push.asc"));
    let staging = tmp.0.join("sigstore");
    let regd = tmp.0.join("registries.d");
    std::fs::create_dir_all(&regd).unwrap();
    std::fs::write(
        regd.join("default.yaml"),
        format!(
            "default-docker:\n  lookaside: file://{0}\n  lookaside-staging: file://{0}\n",
            staging.display()
        ),
    )
    .unwrap();
    let regd = regd.display().to_string();
    let repo = registry
        .image("trust/app")
        .trim_start_matches("docker://")
        .to_owned();
    let accept = policy(&tmp.0, "registry", signed_by(&key_file, &repo));
    let src = format!("oci:{}:demo", layout.display());
    // Ours signs the push (identity: the destination); unsigned push of another tag.
    let signed_image = format!("docker://{repo}:signed");
    let unsigned_image = format!("docker://{repo}:unsigned");
    for (image, sign) in [(&signed_image, true), (&unsigned_image, false)] {
        let mut args = vec![
            "--insecure-policy",
            "--registries.d",
            &regd,
            "copy",
            "-q",
            "--dest-tls-verify=false",
        ];
        match sign {
            true => args.extend(["--sign-by", &key]),
            // Another manifest (signatures are kept by manifest digest).
            false => args.extend(["--format", "v2s2"]),
        }
        args.extend([src.as_str(), image.as_str()]);
        let r = run_in(&tools.ours, &gpg, &args, &tmp.0);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let signatures: Vec<String> = tree(&staging).into_iter().map(|(n, _)| n).collect();
    assert_eq!(signatures.len(), 1, "{signatures:?}");
    assert!(
        signatures[0].starts_with("trust/app@sha256="),
        "{signatures:?}"
    );
    for (who, bin) in tools.both() {
        let pull = |image: &str, out: &str| {
            run_in(
                bin,
                &gpg,
                &[
                    "--policy",
                    &accept,
                    "--registries.d",
                    &regd,
                    "copy",
                    "-q",
                    "--src-tls-verify=false",
                    image,
                    &format!("dir:{}", tmp.0.join(out).display()),
                ],
                &tmp.0,
            )
        };
        let ok = pull(&signed_image, &format!("{who}-signed"));
        assert_eq!(ok.code, 0, "{who}: {}", ok.stderr);
        let refused = pull(&unsigned_image, &format!("{who}-unsigned"));
        assert_eq!(refused.code, 1, "{who}");
        assert!(
            refused.stderr.contains(
                "Source image rejected: A signature was required, but no signature exists"
            ),
            "{who}: {}",
            refused.stderr
        );
    }
}
