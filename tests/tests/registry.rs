//! `docker://` commands against real registries on 127.0.0.1 (plain, TLS, htpasswd, token),
//! side by side with skopeo 1.9.3 on the same registry.

use skopeo_integration_tests::registry::{setup, Flavour, Registry, PASSWORD, USER};
use skopeo_integration_tests::*;

#[test]
fn plain_registry_inspect_list_tags_match_skopeo() {
    let Some(reg) = setup(Flavour::Plain) else {
        return;
    };
    for tag in ["v1", "v2", "latest"] {
        if !reg.push(&format!("test/hello:{tag}"), &["--dest-tls-verify=false"]) {
            return;
        }
    }
    let img = reg.image("test/hello:v1");
    let repo = reg.image("test/hello");
    let cwd = reg.dir.0.clone();
    let t = "--tls-verify=false";
    for args in [
        vec!["inspect", t, &img],
        vec!["inspect", t, "--raw", &img],
        vec!["inspect", t, "--config", &img],
        vec!["inspect", t, "--config", "--raw", &img],
        vec!["inspect", t, "--no-tags", &img],
        vec!["inspect", t, "--format", "{{.Digest}} {{.RepoTags}}", &img],
        vec!["inspect", t, &repo],
        vec!["list-tags", t, &repo],
        // Errors: unknown tag, unknown repository, tag in list-tags, plain HTTP without the flag.
        vec!["inspect", t, &reg.image("test/hello:nope")],
        vec!["list-tags", t, &reg.image("nope/nope")],
        vec!["list-tags", t, &img],
        vec!["list-tags", &repo],
        vec!["inspect", &img],
        vec!["inspect", "--creds", "a:b", "--no-creds", t, &img],
    ] {
        assert_same(&args, &cwd);
    }
}

#[test]
fn tag_lists_longer_than_a_page_are_followed_as_skopeo_follows_them() {
    let Some(reg) = setup(Flavour::Paged) else {
        return;
    };
    for tag in ["a", "b", "c", "d", "latest"] {
        if !reg.push(&format!("paged/img:{tag}"), &["--dest-tls-verify=false"]) {
            return;
        }
    }
    let t = "--tls-verify=false";
    let repo = reg.image("paged/img");
    let img = reg.image("paged/img:b");
    let cwd = reg.dir.0.clone();
    for args in [
        vec!["list-tags", t, &repo],
        vec!["inspect", t, &img],
        vec!["inspect", t, "--format", "{{.RepoTags}}", &img],
    ] {
        assert_same(&args, &cwd);
    }
    // Every page, each asked for from where the last one ended.
    let before = reg.pages_served().len();
    let ours = run(&our_skopeo(), &["list-tags", t, &repo], &cwd);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    let listed: serde_json::Value = serde_json::from_str(&ours.stdout).unwrap();
    assert_eq!(
        listed["Tags"],
        serde_json::json!(["a", "b", "c", "d", "latest"])
    );
    assert_eq!(
        reg.pages_served()[before..],
        [
            "page paged/img last= n=2 count=2",
            "page paged/img last=b n=2 count=2",
            "page paged/img last=d n=2 count=1"
        ]
    );
}

#[test]
fn delete_matches_skopeo() {
    let Some(reg) = setup(Flavour::Plain) else {
        return;
    };
    for tag in ["a", "b"] {
        if !reg.push(&format!("del/img:{tag}"), &["--dest-tls-verify=false"]) {
            return;
        }
    }
    let t = "--tls-verify=false";
    let ours = run(
        &our_skopeo(),
        &["delete", t, &reg.image("del/img:a")],
        &reg.dir.0,
    );
    assert_eq!(
        (ours.code, ours.stdout.as_str()),
        (0, ""),
        "{}",
        ours.stderr
    );
    // Deleting the manifest removed both tags; the next attempts fail the same way in both.
    assert_same(&["delete", t, &reg.image("del/img:b")], &reg.dir.0);
    assert_same(&["inspect", t, &reg.image("del/img:a")], &reg.dir.0);

    let nodelete = Registry::start(Flavour::NoDelete);
    nodelete.push("nd/img:a", &["--dest-tls-verify=false"]);
    assert_same(&["delete", t, &nodelete.image("nd/img:a")], &nodelete.dir.0);
}

#[test]
fn htpasswd_registry_credentials_and_login() {
    let Some(reg) = setup(Flavour::Htpasswd) else {
        return;
    };
    let creds = format!("{USER}:{PASSWORD}");
    if !reg.push(
        "auth/img:v1",
        &["--dest-tls-verify=false", "--dest-creds", &creds],
    ) {
        return;
    }
    let img = reg.image("auth/img:v1");
    let cwd = reg.dir.0.clone();
    let t = "--tls-verify=false";
    assert_same(&["inspect", t, "--creds", &creds, &img], &cwd);
    assert_same(
        &[
            "list-tags",
            t,
            "--username",
            USER,
            "--password",
            PASSWORD,
            &reg.image("auth/img"),
        ],
        &cwd,
    );
    assert_same(&["inspect", t, "--creds", "alice:wrong", &img], &cwd);
    // Secrets never reach the output, even with --debug and on failure.
    for creds in [creds.as_str(), "alice:not-the-password"] {
        let r = run(
            &our_skopeo(),
            &["--debug", "inspect", t, "--creds", creds, &img],
            &cwd,
        );
        let secret = creds.split_once(':').unwrap().1;
        assert!(
            !r.stdout.contains(secret) && !r.stderr.contains(secret),
            "{r:?}"
        );
    }
    assert_same(
        &["list-tags", t, "--no-creds", &reg.image("auth/img")],
        &cwd,
    );

    // login writes the same file skopeo writes; then credentials come from it.
    let ours_file = cwd.join("ours/auth.json");
    let theirs_file = cwd.join("theirs/auth.json");
    let login = |bin: &std::path::Path, file: &std::path::Path| {
        run(
            bin,
            &[
                "login",
                t,
                "--authfile",
                file.to_str().unwrap(),
                "-u",
                USER,
                "-p",
                PASSWORD,
                &reg.addr,
            ],
            &cwd,
        )
    };
    let ours = login(&our_skopeo(), &ours_file);
    let theirs = login(&reference_skopeo().unwrap(), &theirs_file);
    assert_eq!(ours, theirs);
    assert_eq!(ours.stdout, "Login Succeeded!\n");
    assert_eq!(
        std::fs::read(&ours_file).unwrap(),
        std::fs::read(&theirs_file).unwrap()
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&ours_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let authfile = ours_file.to_str().unwrap();
    let r = run(
        &our_skopeo(),
        &[
            "list-tags",
            t,
            "--authfile",
            authfile,
            &reg.image("auth/img"),
        ],
        &cwd,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("\"v1\""));
    let r = run(
        &our_skopeo(),
        &["login", "--get-login", "--authfile", authfile, &reg.addr],
        &cwd,
    );
    assert_eq!(r.stdout, format!("{USER}\n"));
    // Wrong password: same refusal, file untouched.
    let bad = |bin: &std::path::Path, file: &str| {
        run(
            bin,
            &[
                "login",
                t,
                "--authfile",
                file,
                "-u",
                USER,
                "-p",
                "nope",
                &reg.addr,
            ],
            &cwd,
        )
    };
    assert_eq!(
        bad(&our_skopeo(), authfile),
        bad(&reference_skopeo().unwrap(), theirs_file.to_str().unwrap())
    );
    // Logout, twice.
    for _ in 0..2 {
        let o = run(
            &our_skopeo(),
            &["logout", t, "--authfile", authfile, &reg.addr],
            &cwd,
        );
        let r = run(
            &reference_skopeo().unwrap(),
            &[
                "logout",
                t,
                "--authfile",
                theirs_file.to_str().unwrap(),
                &reg.addr,
            ],
            &cwd,
        );
        assert_eq!(o, r);
    }
    assert_eq!(
        std::fs::read(&ours_file).unwrap(),
        std::fs::read(&theirs_file).unwrap()
    );
    let r = run(
        &our_skopeo(),
        &[
            "login",
            t,
            "--authfile",
            authfile,
            "--password-stdin",
            &reg.addr,
        ],
        &cwd,
    );
    assert_eq!(
        r.stderr.trim_end(),
        "level=fatal msg=\"Must provide --username with --password-stdin\""
    );
}

#[test]
fn token_registry_matches_skopeo() {
    let Some(reg) = setup(Flavour::Token) else {
        return;
    };
    let creds = format!("{USER}:{PASSWORD}");
    if !reg.push(
        "tok/img:v1",
        &["--dest-tls-verify=false", "--dest-creds", &creds],
    ) {
        return;
    }
    let cwd = reg.dir.0.clone();
    let t = "--tls-verify=false";
    let img = reg.image("tok/img:v1");
    assert_same(&["inspect", t, "--creds", &creds, &img], &cwd);
    assert_same(&["inspect", t, &img], &cwd); // anonymous pull token
    assert_same(&["list-tags", t, &reg.image("tok/img")], &cwd);
    assert_same(&["inspect", t, "--creds", "alice:wrong", &img], &cwd);
    assert_same(&["delete", t, "--creds", "alice:wrong", &img], &cwd);
    let r = run(&our_skopeo(), &["delete", t, "--creds", &creds, &img], &cwd);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_same(&["inspect", t, &img], &cwd);
}

#[test]
fn tls_registry_with_cert_dir() {
    let Some(reg) = setup(Flavour::Tls) else {
        return;
    };
    let ca = reg.ca_dir();
    let ca = ca.to_str().unwrap();
    if !reg.push("tls/img:v1", &["--dest-cert-dir", ca]) {
        return;
    }
    let cwd = reg.dir.0.clone();
    let img = reg.image("tls/img:v1");
    assert_same(&["inspect", "--cert-dir", ca, &img], &cwd);
    assert_same(
        &["list-tags", "--cert-dir", ca, &reg.image("tls/img")],
        &cwd,
    );
    assert_same(&["inspect", "--tls-verify=false", &img], &cwd);
    assert_same(&["inspect", &img], &cwd); // unknown authority
}

#[test]
fn retry_times_matches_skopeo_and_reaches_a_registry_that_comes_up() {
    let Some(reg) = setup(Flavour::Plain) else {
        return;
    };
    let cwd = std::env::temp_dir();
    // Nothing listens: each retry waits and warns, then the last error is fatal.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let t = "--tls-verify=false";
    assert_same(
        &[
            "inspect",
            "--retry-times",
            "1",
            t,
            &format!("docker://127.0.0.1:{closed}/a/b:c"),
        ],
        &cwd,
    );
    // Final errors (an unknown repository's 404) are not retried.
    assert_same(
        &[
            "list-tags",
            "--retry-times",
            "3",
            t,
            &reg.image("nope/nope"),
        ],
        &cwd,
    );

    // A registry that starts during the first wait is reached by the retry.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = std::process::Command::new(our_skopeo())
        .args(["list-tags", "--retry-times", "3", t])
        .arg(format!("docker://127.0.0.1:{port}/late/repo"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let late = Registry::start_on(Flavour::Plain, port);
    let out = child.wait_with_output().unwrap();
    let stderr = strip_log_time(&String::from_utf8_lossy(&out.stderr));
    drop(late);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("level=warning msg=\"Failed, retrying in 1s ... (1/3). Error: "),
        "{stderr}"
    );
    assert!(lines[0].contains("connection refused"), "{stderr}");
    assert!(
        lines[1]
            .ends_with("fetching tags list: invalid status code from registry 404 (Not Found)\""),
        "{stderr}"
    );
}
