//! `containers-storage:` read for `inspect`, against a store podman itself wrote (a private
//! vfs store under the test's directory): by name, name@digest, ID and ID prefix, with the
//! store named in the image name or found through `CONTAINERS_STORAGE_CONF`, the output is
//! skopeo 1.9.3's byte for byte and the digest is the one podman reports.

use skopeo_integration_tests::*;
use std::path::Path;
use std::process::Command;

/// Runs podman on the store at `root`; its standard output.
fn podman(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("/usr/bin/podman")
        .arg(format!("--root={}", root.join("graph").display()))
        .arg(format!("--runroot={}", root.join("run").display()))
        .arg("--storage-driver=vfs")
        .args(args)
        .output()
        .ok()?;
    match out.status.success() {
        true => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        false => panic!("podman {args:?}: {}", String::from_utf8_lossy(&out.stderr)),
    }
}

#[test]
fn images_podman_stored_inspect_as_skopeo_inspects_them() {
    if !rustix::process::geteuid().is_root() || !Path::new("/usr/bin/podman").exists() {
        eprintln!("skipping: needs root and /usr/bin/podman");
        return;
    }
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("cstorage");
    let store = tmp.0.join("store");
    let layout = example_layout(&tmp.0);
    let pulled = podman(
        &store,
        &["pull", "-q", &format!("oci:{}:demo", layout.display())],
    );
    podman(&store, &["tag", pulled.unwrap().trim(), "demo/app:v1"]);
    let id = podman(
        &store,
        &["image", "inspect", "--format", "{{.Id}}", "demo/app:v1"],
    )
    .unwrap();
    let id = id.trim();
    let digest = podman(
        &store,
        &["image", "inspect", "--format", "{{.Digest}}", "demo/app:v1"],
    );
    let digest = digest.unwrap().trim().to_owned();
    let spec = format!(
        "[vfs@{}+{}]",
        store.join("graph").display(),
        store.join("run").display()
    );
    let ours = our_skopeo();
    // podman names short names under localhost/.
    let names = [
        "localhost/demo/app:v1".to_owned(),
        format!("localhost/demo/app@{digest}"),
        id.to_owned(),
        id[..8].to_owned(),
        format!("localhost/demo/app:v1@{id}"),
        format!("demo/app:v1@{id}"),
        "demo/app:v1".to_owned(),
        "not/there:v1".to_owned(),
    ];
    for name in &names {
        let image = format!("containers-storage:{spec}{name}");
        for flags in [&[][..], &["--raw"][..], &["--config"][..]] {
            let args = [&["inspect"][..], flags, &[image.as_str()]].concat();
            assert_eq!(
                run(&ours, &args, &tmp.0),
                run(&reference, &args, &tmp.0),
                "{args:?}"
            );
        }
    }
    let shown = run(
        &ours,
        &[
            "inspect",
            &format!("containers-storage:{spec}localhost/demo/app:v1"),
        ],
        &tmp.0,
    );
    let shown: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(shown["Digest"], digest.as_str());
    // The store found through storage.conf, as containers/storage finds it.
    let conf = tmp.0.join("storage.conf");
    std::fs::write(
        &conf,
        format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
            store.join("graph").display(),
            store.join("run").display()
        ),
    )
    .unwrap();
    let env = [("CONTAINERS_STORAGE_CONF", conf.to_str().unwrap())];
    let args = ["inspect", "containers-storage:localhost/demo/app:v1"];
    assert_eq!(
        run_with_env(&ours, &args, &tmp.0, &env),
        run_with_env(&reference, &args, &tmp.0, &env)
    );
}
