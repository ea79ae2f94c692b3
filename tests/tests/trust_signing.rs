//! Signing end to end with real GnuPG, side by side with skopeo 1.9.3: an OpenPGP secret
//! key file signs in the core (no GnuPG home) and skopeo's policy accepts it; `sync --sign-by`
//! signs every image it pushes, found again through lookaside under a policy; a destination
//! that cannot keep signatures is refused as skopeo refuses it, with nothing committed.

use skopeo_integration_tests::gnupg::{policy, run_in, signed_by, GnuPg, Tools, IDENTITY};
use skopeo_integration_tests::registry::{setup, Flavour};
use skopeo_integration_tests::*;

#[test]
fn key_files_sign_without_gnupg_and_sync_signs_every_image() {
    let tmp = TempDir::new("trust-key-file");
    let Some(gpg) = GnuPg::new(&tmp.0) else {
        return;
    };
    let tools = Tools::new();
    let layout = example_layout(&tmp.0);
    let key = gpg.generate(
        "File <file@example.com>",
        "rsa2048",
        "sign",
        "never",
        "filepw",
        None,
    );
    let secret = tmp.0.join("secret.asc");
    std::fs::write(
        &secret,
        gpg.gpg(&[
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "filepw",
            "--armor",
            "--export-secret-keys",
            &key,
        ]),
    )
    .unwrap();
    let pass = tmp.0.join("pass");
    std::fs::write(&pass, "filepw\n").unwrap();
    let key_file = gpg.export(&key, &tmp.0.join("file.asc"));
    let accept = policy(&tmp.0, "file", signed_by(&key_file, "example.com/demo"));
    // Signed in the core: no GnuPG home at all.
    let signed = tmp.0.join("by-key-file");
    let r = run(
        &tools.ours,
        &[
            "--insecure-policy",
            "copy",
            "-q",
            "--sign-by",
            &key,
            "--sign-key-file",
            secret.to_str().unwrap(),
            "--sign-passphrase-file",
            pass.to_str().unwrap(),
            "--sign-identity",
            IDENTITY,
            &format!("oci:{}:demo", layout.display()),
            &format!("dir:{}", signed.display()),
        ],
        &tmp.0,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    for (who, bin) in tools.both() {
        let dest = tmp.0.join(format!("key-file-checked-by-{who}"));
        let r = run_in(
            bin,
            &gpg,
            &[
                "--policy",
                &accept,
                "copy",
                "-q",
                &format!("dir:{}", signed.display()),
                &format!("dir:{}", dest.display()),
            ],
            &tmp.0,
        );
        assert_eq!(r.code, 0, "{who}: {}", r.stderr);
    }

    // sync --sign-by signs each image it copies, for its destination name.
    let regd = tmp.0.join("registries.d");
    std::fs::create_dir_all(&regd).unwrap();
    let Some(registry) = setup(Flavour::Plain) else {
        return;
    };
    for tag in ["a", "b"] {
        let r = run(
            &tools.ours,
            &[
                "--insecure-policy",
                "copy",
                "-q",
                "--dest-tls-verify=false",
                &format!("oci:{}:demo", layout.display()),
                &registry.image(&format!("sync-src/app:{tag}")),
            ],
            &tmp.0,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    // The mirror is a registry (a `dir:` destination has no name to sign for, as with skopeo).
    let sigs = tmp.0.join("sigs");
    std::fs::write(
        regd.join("default.yaml"),
        format!(
            "default-docker:\n  lookaside: file://{0}\n  lookaside-staging: file://{0}\n",
            sigs.display()
        ),
    )
    .unwrap();
    let regd = regd.display().to_string();
    let source = registry
        .image("sync-src/app")
        .trim_start_matches("docker://")
        .to_owned();
    let mirror = registry
        .image("mirror")
        .trim_start_matches("docker://")
        .to_owned();
    let r = run_in(
        &tools.ours,
        &gpg,
        &[
            "--insecure-policy",
            "--registries.d",
            &regd,
            "sync",
            "--src",
            "docker",
            "--dest",
            "docker",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--sign-by",
            &key,
            "--sign-passphrase-file",
            pass.to_str().unwrap(),
            &source,
            &mirror,
        ],
        &tmp.0,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mirrored_repo = format!("{mirror}/app");
    let accept_mirror = policy(&tmp.0, "mirror", signed_by(&key_file, &mirrored_repo));
    for tag in ["a", "b"] {
        for (who, bin) in tools.both() {
            let dest = tmp.0.join(format!("mirror-{tag}-{who}"));
            let r = run_in(
                bin,
                &gpg,
                &[
                    "--policy",
                    &accept_mirror,
                    "--registries.d",
                    &regd,
                    "copy",
                    "-q",
                    "--src-tls-verify=false",
                    &format!("docker://{mirrored_repo}:{tag}"),
                    &format!("dir:{}", dest.display()),
                ],
                &tmp.0,
            );
            assert_eq!(r.code, 0, "{who} {tag}: {}", r.stderr);
        }
    }
}

#[test]
fn signing_into_a_destination_without_signatures_is_refused_as_skopeo_refuses_it() {
    let tmp = TempDir::new("trust-no-storage");
    let Some(gpg) = GnuPg::new(&tmp.0) else {
        return;
    };
    let tools = Tools::new();
    let layout = example_layout(&tmp.0);
    let key = gpg.generate(
        "Oci <oci@example.com>",
        "rsa2048",
        "sign",
        "never",
        "",
        None,
    );
    let src = format!("oci:{}:demo", layout.display());
    let mut refusals = Vec::new();
    for (who, bin) in tools.both() {
        let dest = tmp.0.join(format!("{who}-layout"));
        let r = run_in(
            bin,
            &gpg,
            &[
                "--insecure-policy",
                "copy",
                "-q",
                "--sign-by",
                &key,
                "--sign-identity",
                IDENTITY,
                &src,
                &format!("oci:{}:x", dest.display()),
            ],
            &tmp.0,
        );
        assert_eq!(r.code, 1, "{who}");
        if who == "ours" {
            assert!(!dest.join("index.json").exists(), "a layout was committed");
        }
        refusals.push(r.stderr);
    }
    assert!(
        refusals[0]
            .contains("writing signatures: Pushing signatures for OCI images is not supported"),
        "{}",
        refusals[0]
    );
    if let [ours, theirs] = refusals.as_slice() {
        assert_eq!(ours, theirs);
    }
    // Fulcio/Rekor signing needs their servers: refused before anything is read.
    let r = run(
        &tools.ours,
        &[
            "--insecure-policy",
            "copy",
            "--sign-by-sigstore",
            "/nonexistent.yaml",
            &src,
            "dir:/tmp/never",
        ],
        &tmp.0,
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("--sign-by-sigstore: signing through Fulcio and Rekor needs their servers"),
        "{}",
        r.stderr
    );
}
