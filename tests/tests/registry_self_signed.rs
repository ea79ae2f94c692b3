//! Registries with a self-signed certificate (the usual private-registry setup: `openssl req
//! -x509`, so also marked `CA:TRUE`), trusted through `--cert-dir`, `--src-cert-dir`,
//! `--dest-cert-dir` and certs.d as skopeo 1.9.3 trusts them; and what it still refuses.

use skopeo_integration_tests::registry::{setup, Flavour, PASSWORD, USER};
use skopeo_integration_tests::*;
use std::path::Path;

/// Runs both tools and compares them with the current time in Go's x509 expiry message
/// blanked out (the two runs may straddle a second). The system roots are the CA bundle
/// alone: Go also reads every file in /etc/ssl/certs, where a machine may keep an unrelated
/// `CN=localhost` (ssl-cert's snakeoil) that changes the wording of its refusal.
fn assert_same_but_current_time(args: &[&str], cwd: &Path) {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let no_cert_dir = cwd.join("no-system-cert-dir");
    std::fs::create_dir_all(&no_cert_dir).unwrap();
    let env = [("SSL_CERT_DIR", no_cert_dir.to_str().unwrap())];
    let blank = |mut r: RunResult| {
        if let Some(i) = r.stderr.find("current time ") {
            let end = r.stderr[i..].find(" is ").map_or(r.stderr.len(), |e| i + e);
            r.stderr.replace_range(i..end, "current time T");
        }
        r
    };
    let ours = blank(run_with_env(&our_skopeo(), args, cwd, &env));
    let theirs = blank(run_with_env(&reference, args, cwd, &env));
    assert_eq!(ours, theirs, "skopeo {} differs", args.join(" "));
}

#[test]
fn self_signed_certificate_is_trusted_from_cert_dirs_and_certs_d() {
    let Some(reg) = setup(Flavour::SelfSigned) else {
        return;
    };
    let tmp = TempDir::new("self-signed");
    let cwd = tmp.0.clone();
    let ca = reg.ca_dir();
    let ca = ca.to_str().unwrap();
    let creds = format!("{USER}:{PASSWORD}");
    let layout = example_layout(&tmp.0);
    let src = format!("oci:{}:demo", layout.display());
    let ours = our_skopeo();

    // Copy in with ours (--dest-cert-dir), then everything reads it back.
    let img = reg.image("ss/img:v1");
    let push = run(
        &ours,
        &[
            "--insecure-policy",
            "copy",
            "-q",
            "--dest-cert-dir",
            ca,
            "--dest-creds",
            &creds,
            &src,
            &img,
        ],
        &cwd,
    );
    assert_eq!(push.code, 0, "push: {}", push.stderr);
    for args in [
        vec!["inspect", "--cert-dir", ca, "--creds", &creds, &img],
        vec![
            "inspect",
            "--raw",
            "--cert-dir",
            ca,
            "--creds",
            &creds,
            &img,
        ],
        vec![
            "list-tags",
            "--cert-dir",
            ca,
            "--creds",
            &creds,
            &reg.image("ss/img"),
        ],
        // Refused: the certificate is unknown without the directory, and it names localhost
        // only, so 127.0.0.1 does not match it even when it is trusted.
        vec!["inspect", "--creds", &creds, &img],
        vec![
            "inspect",
            "--cert-dir",
            ca,
            "--creds",
            &creds,
            &format!("docker://{}/ss/img:v1", reg.upstream),
        ],
        vec!["list-tags", "--cert-dir", ca, &reg.image("ss/img")],
    ] {
        assert_same_but_current_time(&args, &cwd);
    }

    // Copy out with ours (--src-cert-dir): the same manifest as pushed.
    let out = format!("oci:{}:pulled", tmp.0.join("out").display());
    let pull = run(
        &ours,
        &[
            "--insecure-policy",
            "copy",
            "-q",
            "--src-cert-dir",
            ca,
            "--src-creds",
            &creds,
            &img,
            &out,
        ],
        &cwd,
    );
    assert_eq!(pull.code, 0, "pull: {}", pull.stderr);
    let remote = run(
        &ours,
        &[
            "inspect",
            "--raw",
            "--cert-dir",
            ca,
            "--creds",
            &creds,
            &img,
        ],
        &cwd,
    );
    let local = run(&ours, &["inspect", "--raw", &out], &cwd);
    assert_eq!(remote.code, 0, "{}", remote.stderr);
    assert_eq!(local.stdout, remote.stdout);

    // Login through the directory writes the same auth file as skopeo's.
    for tool in [ours.clone(), reference_skopeo().unwrap()] {
        let auth = tmp.0.join("auth.json");
        let _ = std::fs::remove_file(&auth);
        let args = [
            "login",
            "--cert-dir",
            ca,
            "--authfile",
            auth.to_str().unwrap(),
            "-u",
            USER,
            "-p",
            PASSWORD,
            &reg.addr,
        ];
        let r = run(&tool, &args, &cwd);
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (0, "Login Succeeded!\n"),
            "{}",
            r.stderr
        );
        let saved: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&auth).unwrap()).unwrap();
        assert!(saved["auths"][&reg.addr]["auth"].is_string(), "{saved}");
    }
    assert_same_but_current_time(
        &[
            "login",
            "-u",
            USER,
            "-p",
            PASSWORD,
            "--authfile",
            tmp.0.join("refused.json").to_str().unwrap(),
            &reg.addr,
        ],
        &cwd,
    );

    // certs.d: the user's directory (HOME), then /etc/containers/certs.d.
    let home = tmp.0.join("home");
    let user_dir = home.join(".config/containers/certs.d").join(&reg.addr);
    std::fs::create_dir_all(&user_dir).unwrap();
    std::fs::copy(Path::new(ca).join("ca.crt"), user_dir.join("registry.crt")).unwrap();
    let home_env = [("HOME", home.to_str().unwrap())];
    assert_same_with_env(&["inspect", "--creds", &creds, &img], &cwd, &home_env);
    let pull_home = run_with_env(
        &ours,
        &[
            "--insecure-policy",
            "copy",
            "-q",
            "--src-creds",
            &creds,
            &img,
            &format!("dir:{}", tmp.0.join("dir-out").display()),
        ],
        &cwd,
        &home_env,
    );
    assert_eq!(pull_home.code, 0, "{}", pull_home.stderr);

    let system_dir = Path::new("/etc/containers/certs.d").join(&reg.addr);
    struct Remove<'a>(&'a Path);
    impl Drop for Remove<'_> {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(self.0);
        }
    }
    if std::fs::create_dir_all(&system_dir).is_ok() {
        let _cleanup = Remove(&system_dir);
        std::fs::copy(Path::new(ca).join("ca.crt"), system_dir.join("ca.crt")).unwrap();
        let empty_home = tmp.0.join("empty-home");
        std::fs::create_dir_all(&empty_home).unwrap();
        assert_same_with_env(
            &["inspect", "--creds", &creds, &img],
            &cwd,
            &[("HOME", empty_home.to_str().unwrap())],
        );
        let ok = run_with_env(
            &ours,
            &["inspect", "--raw", "--creds", &creds, &img],
            &cwd,
            &[("HOME", empty_home.to_str().unwrap())],
        );
        assert_eq!(ok.code, 0, "{}", ok.stderr);
    }
}

#[test]
fn expired_self_signed_certificate_is_refused_as_skopeo_refuses_it() {
    let Some(reg) = setup(Flavour::SelfSignedExpired) else {
        return;
    };
    let ca = reg.ca_dir();
    let ca = ca.to_str().unwrap();
    let cwd = reg.dir.0.clone();
    let img = reg.image("old/img:v1");
    let r = run(&our_skopeo(), &["inspect", "--cert-dir", ca, &img], &cwd);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("x509: certificate has expired or is not yet valid: current time "),
        "{}",
        r.stderr
    );
    assert_same_but_current_time(&["inspect", "--cert-dir", ca, &img], &cwd);
    assert_same_but_current_time(
        &["list-tags", "--cert-dir", ca, &reg.image("old/img")],
        &cwd,
    );
    // Untrusted, its validity is still what is checked first.
    assert_same_but_current_time(&["inspect", &img], &cwd);
}
