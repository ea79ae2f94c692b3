//! Credential helpers (`credHelpers` in the auth file run `docker-credential-NAME`) against an
//! htpasswd registry, side by side with skopeo 1.9.3: reading credentials for inspect and
//! list-tags, and login/logout storing into and erasing from the helper.

use skopeo_integration_tests::registry::{setup, Flavour, PASSWORD, USER};
use skopeo_integration_tests::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// A helper that keeps one credential in `$HELPER_STORE/creds`, speaking the
/// docker-credential-helpers protocol (server URL on stdin for get/erase, JSON for store).
const HELPER: &str = r#"#!/bin/sh
creds="$HELPER_STORE/creds"
case "$1" in
  get)
    read -r url
    echo "get $url" >> "$HELPER_STORE/log"
    if [ -f "$creds" ]; then cat "$creds"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  store)
    cat > "$creds"
    echo "store" >> "$HELPER_STORE/log" ;;
  erase)
    read -r url
    echo "erase $url" >> "$HELPER_STORE/log"
    if [ -f "$creds" ]; then rm "$creds"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  *) exit 1 ;;
esac
"#;

fn install_helper(dir: &Path) {
    let path = dir.join("docker-credential-testhelper");
    std::fs::write(&path, HELPER).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn credentials_come_from_and_go_to_the_helper() {
    let Some(reg) = setup(Flavour::Htpasswd) else {
        return;
    };
    let creds = format!("{USER}:{PASSWORD}");
    if !reg.push(
        "helped/img:v1",
        &["--dest-tls-verify=false", "--dest-creds", &creds],
    ) {
        return;
    }
    let dir = &reg.dir.0;
    let bin = dir.join("helper-bin");
    let store = dir.join("helper-store");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&store).unwrap();
    install_helper(&bin);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let env = [
        ("PATH", path.as_str()),
        ("HELPER_STORE", store.to_str().unwrap()),
    ];
    let authfile = dir.join("helper-auth.json");
    let auth_text = format!(
        "{{\"credHelpers\": {{\"{}\": \"testhelper\"}}}}\n",
        reg.addr
    );
    std::fs::write(&authfile, &auth_text).unwrap();
    let a = authfile.to_str().unwrap();
    let t = "--tls-verify=false";
    let img = reg.image("helped/img:v1");
    let repo = reg.image("helped/img");

    // Nothing stored: both are refused the same way.
    assert_same_with_env(&["inspect", t, "--authfile", a, &img], dir, &env);

    // Stored credentials are used by inspect and list-tags.
    let stored = format!(
        "{{\"ServerURL\":\"{}\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}",
        reg.addr
    );
    std::fs::write(store.join("creds"), &stored).unwrap();
    assert_same_with_env(&["inspect", t, "--authfile", a, &img], dir, &env);
    assert_same_with_env(&["list-tags", t, "--authfile", a, &repo], dir, &env);
    let ours = run_with_env(
        &our_skopeo(),
        &["inspect", t, "--authfile", a, &img],
        dir,
        &env,
    );
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    assert!(read(&store.join("log")).contains(&format!("get {}", reg.addr)));

    // login stores into the helper and leaves the auth file alone; logout erases.
    let login_and_logout = |bin: &Path| {
        std::fs::remove_file(store.join("creds")).ok();
        std::fs::write(&authfile, &auth_text).unwrap();
        let login = run_with_env(
            bin,
            &[
                "login",
                t,
                "--authfile",
                a,
                "-u",
                USER,
                "-p",
                PASSWORD,
                &reg.addr,
            ],
            dir,
            &env,
        );
        let after_login = (read(&store.join("creds")), read(&authfile));
        let logout = run_with_env(bin, &["logout", "--authfile", a, &reg.addr], dir, &env);
        (
            login,
            after_login,
            logout,
            read(&store.join("creds")),
            read(&authfile),
        )
    };
    let theirs = match reference_skopeo() {
        Some(reference) => login_and_logout(&reference),
        None => return,
    };
    let ours = login_and_logout(&our_skopeo());
    assert_eq!(ours, theirs);
    assert_eq!(ours.0.code, 0, "{}", ours.0.stderr);
    assert!(
        ours.1 .0.contains(&format!("\"Username\":\"{USER}\"")),
        "{:?}",
        ours.1
    );
    assert_eq!(ours.1 .1, auth_text);
    assert_eq!(ours.3, "");
}
