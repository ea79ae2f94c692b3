//! Signature verification against the upstream vectors: every `standalone-verify` outcome
//! skopeo 1.9.3 gave on `signatures-gpg/` (exit status and message), and every policy
//! evaluation outcome transcribed in `signatures-sigstore/expected-policy-eval.json`.

mod common;

use skopeo_core::policy::Policy;
use skopeo_core::signature::Signature;
use skopeo_core::transport::ImageName;
use skopeo_core::trust::openpgp::Keyring;
use skopeo_core::trust::policy_eval::TrustCheck;
use skopeo_core::trust::standalone;
use std::path::Path;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The message inside skopeo's `level=fatal msg="…"` line.
fn fatal_message(output: &str) -> String {
    let inner = output
        .strip_prefix("level=fatal msg=\"")
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(output);
    inner.replace("\\\"", "\"").replace("\\\\", "\\")
}

#[test]
fn standalone_verify_gives_skopeos_outcome_for_every_vector() {
    let Some(dir) = common::fixtures_dir() else {
        return;
    };
    let gpg = dir.join("signatures-gpg");
    let keys: Vec<Vec<u8>> = [
        "public-key.gpg",
        "public-key-1.gpg",
        "public-key-2.gpg",
        "public-key-with-subkey.gpg",
        "public-key-with-revoked-subkey.gpg",
    ]
    .iter()
    .map(|k| std::fs::read(gpg.join(k)).unwrap())
    .collect();
    let keyring = Keyring::from_blobs(&keys).unwrap();
    let table: serde_json::Value = serde_json::from_slice(
        &std::fs::read(gpg.join("expected-standalone-verify.json")).unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    for (name, case) in table.as_object().unwrap() {
        if name.starts_with('_') {
            continue;
        }
        let signature_file = name.split(' ').next().unwrap();
        let manifest_file = case["manifest"].as_str().unwrap();
        let manifest = std::fs::read(gpg.join(manifest_file)).unwrap();
        let signature = std::fs::read(gpg.join(signature_file)).unwrap();
        let reference = case["reference"].as_str().unwrap();
        let fingerprint = case["fingerprint"].as_str().unwrap().to_owned();
        let outcome = standalone::verify(
            &keyring,
            &manifest,
            reference,
            &[fingerprint],
            &signature,
            now(),
        );
        let output = case["output"].as_str().unwrap();
        match (case["exit_code"].as_i64().unwrap(), outcome) {
            (0, Ok(claims)) => assert_eq!(
                format!("Signature verified, digest {}", claims.manifest_digest),
                output,
                "{name}"
            ),
            (0, Err(e)) => panic!("{name}: refused: {e}"),
            (_, Ok(_)) => panic!("{name}: accepted, skopeo refused with {output}"),
            (_, Err(e)) => assert_eq!(
                format!("Error verifying signature: {e}"),
                fatal_message(output),
                "{name}"
            ),
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} vectors");
}

/// The image of a `dir-img-*` fixture: its manifest and its signature files in order.
fn dir_image(dir: &Path) -> (Vec<u8>, Vec<Signature>) {
    let manifest = std::fs::read(dir.join("manifest.json")).unwrap_or_default();
    let mut signatures = Vec::new();
    for i in 1.. {
        match std::fs::read(dir.join(format!("signature-{i}"))) {
            Ok(blob) => signatures.push(Signature::from_blob(&blob).unwrap()),
            Err(_) => break,
        }
    }
    (manifest, signatures)
}

#[test]
fn policy_evaluation_matches_containers_image_on_every_vector() {
    let Some(dir) = common::fixtures_dir() else {
        return;
    };
    let table: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("signatures-sigstore/expected-policy-eval.json")).unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    for (group, kind, default_key) in [
        (
            "signedBy_GPGKeys",
            "signedBy",
            "signatures-gpg/public-key.gpg",
        ),
        (
            "sigstoreSigned_keyPath_cosign.pub",
            "sigstoreSigned",
            "signatures-sigstore/cosign.pub",
        ),
    ] {
        for case in table[group].as_array().unwrap() {
            let dir_field = case["dir"].as_str().unwrap();
            let image_dir = match dir_field.split_once(" (") {
                Some((d, _)) => dir.join("signatures-gpg").join(d),
                None if kind == "signedBy" => dir.join("signatures-gpg").join(dir_field),
                None => dir.join("signatures-sigstore").join(dir_field),
            };
            let key = match case["keyPath"].as_str() {
                Some(k) => dir.join("signatures-gpg").join(k),
                None => dir.join(default_key),
            };
            let identity = case["signedIdentity"]
                .as_str()
                .unwrap_or("matchRepoDigestOrExact");
            let policy_json = serde_json::json!({"default": [{
                "type": kind,
                "keyType": "GPGKeys",
                "keyPath": key.to_str().unwrap(),
                "signedIdentity": {"type": identity},
            }]});
            let mut policy_json = policy_json;
            if kind == "sigstoreSigned" {
                policy_json["default"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("keyType");
            }
            let policy = Policy::parse(policy_json.to_string().as_bytes(), "policy.json").unwrap();
            let image = ImageName::parse(&format!(
                "docker://{}",
                case["image_reference"].as_str().unwrap()
            ))
            .unwrap();
            let mut check = TrustCheck::new(&policy, &image, now());
            for path in check.key_paths() {
                check.add_key_file(&path, std::fs::read(&path).map_err(|e| e.to_string()));
            }
            let (manifest, signatures) = dir_image(&image_dir);
            let outcome = check.check(&manifest, &signatures);
            let expected = case["expected"].as_str().unwrap();
            assert_eq!(
                outcome.is_ok(),
                expected.starts_with("allowed"),
                "{group} {dir_field} as {image}: expected {expected}, got {outcome:?}"
            );
            if let Some(words) = expected.split("skopeo 1.9.3 message: '").nth(1) {
                assert_eq!(outcome.unwrap_err(), words.trim_end_matches('\''));
            }
            checked += 1;
        }
    }
    assert!(checked >= 18, "only {checked} vectors");
}

#[test]
fn cosign_format_private_keys_from_sigstore_rs_load_and_sign() {
    use skopeo_core::trust::{cosign_key, sigstore};
    let Some(dir) = common::fixtures_dir() else {
        return;
    };
    let keys = dir.join("signatures-sigstore/sigstore-rs-keys");
    for (file, passphrase) in [
        ("ecdsa_encrypted_private.key", "123"),
        ("cosign_generated_encrypted_empty_private.key", ""),
    ] {
        let pem = std::fs::read(keys.join(file)).unwrap();
        let key = cosign_key::decrypt(&pem, passphrase.as_bytes())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(cosign_key::decrypt(&pem, b"wrong").is_err(), "{file}");
        let digest = format!("sha256:{}", "b".repeat(64));
        let signature = sigstore::SigstoreSignature::sign(&key, &digest, "example.com/a:b", "t", 1);
        let public =
            sigstore::public_key_from_pem(sigstore::public_key_pem(&key).as_bytes()).unwrap();
        assert_eq!(signature.verify(&[public]).unwrap().manifest_digest, digest);
    }
    let rsa = std::fs::read(keys.join("rsa_encrypted_private.key")).unwrap();
    let refused = cosign_key::decrypt(&rsa, b"123").unwrap_err();
    assert!(refused.contains("only ECDSA P-256"), "{refused}");
}

#[test]
fn the_upstream_policy_fixtures_parse() {
    let Some(dir) = common::fixtures_dir() else {
        return;
    };
    for file in [
        "c-image-signature-fixtures-policy.json",
        "default-policy.json",
        "skopeo-integration-policy.json",
    ] {
        let bytes = std::fs::read(dir.join("policy").join(file)).unwrap();
        Policy::parse(&bytes, file).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}

#[test]
fn secret_key_files_sign_in_core_and_the_signatures_verify() {
    use skopeo_core::trust::openpgp::sign_with_key_file;
    let Some(dir) = common::fixtures_dir() else {
        return;
    };
    let gpg = dir.join("signatures-gpg");
    let secring = std::fs::read(gpg.join("secring.gpg")).unwrap();
    let public = std::fs::read(gpg.join("pubring.gpg")).unwrap();
    let keyring = Keyring::from_blobs(&[public]).unwrap();
    for (fingerprint, passphrase) in [
        ("08CD26E446E2E95249B7A405E932F44B23E8DD43", ""),
        (
            "F2B501009F78B0B340221A12A3CD242DA6028093",
            "WithPassphrase123",
        ),
    ] {
        let signed = sign_with_key_file(&secring, fingerprint, passphrase, b"payload", [5; 32])
            .unwrap_or_else(|e| panic!("{fingerprint}: {e}"));
        let verified = keyring.verify(&signed, now()).unwrap();
        assert_eq!(verified.payload, b"payload");
        assert_eq!(verified.primary_fingerprint, fingerprint);
    }
    assert_eq!(
        sign_with_key_file(
            &secring,
            "F2B501009F78B0B340221A12A3CD242DA6028093",
            "wrong",
            b"p",
            [5; 32]
        )
        .unwrap_err(),
        "Bad passphrase"
    );
    assert_eq!(
        sign_with_key_file(&secring, "0123456789ABCDEF", "", b"p", [5; 32]).unwrap_err(),
        "key \"0123456789ABCDEF\" not found"
    );
}

/// Judges the `dir-img-*` fixture `image_dir` as `image` under one `sigstoreSigned`
/// requirement (paths relative to `signatures-sigstore/`).
fn sigstore_verdict(
    dir: &Path,
    requirement: serde_json::Value,
    image_dir: &str,
    image: &str,
) -> Result<(), String> {
    let sigstore = dir.join("signatures-sigstore");
    let mut requirement = requirement;
    for field in [
        "keyPath",
        "rekorPublicKeyPath",
        "fulcio/caPath",
        "pki/caRootsPath",
        "pki/caIntermediatesPath",
    ] {
        let pointer = format!("/{field}");
        if let Some(value) = requirement.pointer_mut(&pointer) {
            let rel = value.as_str().unwrap().to_owned();
            *value = sigstore.join(rel).display().to_string().into();
        }
    }
    let policy = Policy::parse(
        serde_json::json!({"default": [requirement]})
            .to_string()
            .as_bytes(),
        "policy.json",
    )
    .unwrap();
    let image = ImageName::parse(&format!("docker://{image}")).unwrap();
    let mut check = TrustCheck::new(&policy, &image, now());
    for path in check.key_paths() {
        check.add_key_file(&path, std::fs::read(&path).map_err(|e| e.to_string()));
    }
    let (manifest, signatures) = dir_image(&sigstore.join(image_dir));
    check.check(&manifest, &signatures)
}

#[test]
fn rekor_signed_entry_timestamps_are_checked_as_containers_image_checks_them() {
    let Some(dir) = common::fixtures_dir() else {
        return;
    };
    let image = "192.168.64.2:5000/cosign-signed/key-1";
    let requirement = |key: &str, rekor: &str| {
        serde_json::json!({"type": "sigstoreSigned", "keyPath": key, "rekorPublicKeyPath": rekor,
                           "signedIdentity": {"type": "matchRepository"}})
    };
    let valid = "dir-img-cosign-key-rekor-valid";
    sigstore_verdict(&dir, requirement("cosign2.pub", "rekor.pub"), valid, image).unwrap();
    assert_eq!(
        sigstore_verdict(&dir, requirement("cosign2.pub", "cosign.pub"), valid, image).unwrap_err(),
        "No public key verified against the RekorSET: cryptographic signature verification of Rekor SET failed"
    );
    assert_eq!(
        sigstore_verdict(&dir, requirement("cosign.pub", "rekor.pub"), valid, image).unwrap_err(),
        "No public key verified against the RekorSET: publicKey in Rekor SET does not match"
    );
    assert_eq!(
        sigstore_verdict(
            &dir,
            requirement("cosign.pub", "rekor.pub"),
            "dir-img-cosign-valid",
            "192.168.64.2:5000/cosign-signed-single-sample"
        )
        .unwrap_err(),
        "missing dev.sigstore.cosign/bundle annotation"
    );
    // Without Rekor, the key alone accepts the same signature.
    let key_only = serde_json::json!({"type": "sigstoreSigned", "keyPath": "cosign2.pub",
                                      "signedIdentity": {"type": "matchRepository"}});
    sigstore_verdict(&dir, key_only, valid, image).unwrap();
}

#[test]
fn fulcio_and_pki_certificates_are_checked_as_containers_image_checks_them() {
    let Some(dir) = common::fixtures_dir() else {
        return;
    };
    let fulcio = |issuer: &str, email: &str| {
        serde_json::json!({"type": "sigstoreSigned",
            "fulcio": {"caPath": "fulcio_v1.crt.pem", "oidcIssuer": issuer, "subjectEmail": email},
            "rekorPublicKeyPath": "rekor.pub", "signedIdentity": {"type": "matchRepository"}})
    };
    let image = "192.168.64.2:5000/cosign-signed/fulcio-rekor-1";
    let valid = "dir-img-cosign-fulcio-rekor-valid";
    let github = "https://github.com/login/oauth";
    sigstore_verdict(&dir, fulcio(github, "mitr@redhat.com"), valid, image).unwrap();
    assert_eq!(
        sigstore_verdict(&dir, fulcio(github, "x@example.com"), valid, image).unwrap_err(),
        r#"Required email "x@example.com" not found (got ["mitr@redhat.com"])"#
    );
    assert_eq!(
        sigstore_verdict(
            &dir,
            fulcio("https://example.com", "mitr@redhat.com"),
            valid,
            image
        )
        .unwrap_err(),
        r#"Unexpected Fulcio OIDC issuer "https://github.com/login/oauth""#
    );
    // A CA that did not issue the certificate.
    let mut other_ca = fulcio(github, "mitr@redhat.com");
    other_ca["fulcio"]["caPath"] = "pki_root_crts.pem".into();
    assert_eq!(
        sigstore_verdict(&dir, other_ca, valid, image).unwrap_err(),
        "veryfing leaf certificate failed: x509: certificate signed by unknown authority"
    );

    let pki = |email: &str| {
        serde_json::json!({"type": "sigstoreSigned",
            "pki": {"caRootsPath": "pki_root_crts.pem", "caIntermediatesPath": "pki_intermediate_crts.pem",
                    "subjectEmail": email},
            "signedIdentity": {"type": "matchRepository"}})
    };
    sigstore_verdict(
        &dir,
        pki("qiwan@redhat.com"),
        "dir-img-cosign-pki-valid",
        "localhost:5000/test",
    )
    .unwrap();
    assert!(sigstore_verdict(
        &dir,
        pki("x@example.com"),
        "dir-img-cosign-pki-valid",
        "localhost:5000/test"
    )
    .unwrap_err()
    .starts_with(r#"Required email "x@example.com" not found"#));
}

#[test]
fn key_files_concatenated_binary_and_armored_all_load() {
    let Some(dir) = common::fixtures_dir() else {
        return;
    };
    let gpg = dir.join("signatures-gpg");
    let mut all = Vec::new();
    for k in [
        "public-key-1.gpg",
        "public-key.gpg",
        "public-key-2.gpg",
        "public-key-with-subkey.gpg",
    ] {
        all.extend(std::fs::read(gpg.join(k)).unwrap());
    }
    let keyring = Keyring::from_blobs(&[all]).unwrap();
    assert_eq!(
        keyring.fingerprints().len(),
        4,
        "{:?}",
        keyring.fingerprints()
    );
}
