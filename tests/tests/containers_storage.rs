//! `containers-storage:` read for `inspect`, against a store podman itself wrote (a private
//! vfs store under the test's directory): by name, name@digest, ID and ID prefix, with the
//! store named in the image name or found through `CONTAINERS_STORAGE_CONF`, the output is
//! skopeo 1.9.3's byte for byte and the digest is the one podman reports.

use skopeo_integration_tests::podman::{layer_tar, podman_on};
use skopeo_integration_tests::*;
use std::path::Path;

/// Runs podman on the vfs store at `root`; its standard output.
fn podman(root: &Path, args: &[&str]) -> Option<String> {
    podman_on(root, "vfs", args)
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

/// Layers a store keeps only unpacked come out as containers/image gives them: produced again
/// from their files and tar-split metadata, uncompressed, with the manifest naming them. To
/// `dir:` that is skopeo 1.9.3's tree byte for byte, and the layers are the ones `podman image
/// inspect` lists; a file changed in the store fails the copy by name.
#[test]
fn images_podman_stored_on_vfs_copy_out_as_skopeo_copies_them() {
    copy_out_matches_skopeo("vfs");
}

/// The same on the overlay driver, where a layer's directory holds only its own changes.
#[test]
fn images_podman_stored_on_overlay_copy_out_as_skopeo_copies_them() {
    if skopeo_integration_tests::podman::overlay_supported() {
        copy_out_matches_skopeo("overlay");
    }
}

fn copy_out_matches_skopeo(driver: &str) {
    if !rustix::process::geteuid().is_root() || !Path::new("/usr/bin/podman").exists() {
        eprintln!("skipping: needs root and /usr/bin/podman");
        return;
    }
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new(&format!("cs-{driver}"));
    let store = tmp.0.join("store");
    let big = noise(3 << 20, 7);
    let base = layer_tar(&[
        ("etc/", 'd', b""),
        ("etc/motd", 'f', b"base\n"),
        ("etc/os-release", 'f', b"ID=test\n"),
        ("opt/", 'd', b""),
        ("opt/data.bin", 'f', &big),
        ("opt/again.bin", 'h', b"opt/data.bin"),
        ("usr/", 'd', b""),
        ("usr/lib/", 'd', b""),
        ("usr/lib/os-release", 'l', b"../../etc/os-release"),
        ("empty", 'f', b""),
    ]);
    let top = layer_tar(&[
        ("etc/", 'd', b""),
        ("etc/.wh.motd", 'f', b""),
        ("etc/greeting", 'f', b"hello from the top layer\n"),
        ("opt/", 'd', b""),
        ("opt/.wh..wh..opq", 'f', b""),
        ("opt/new.txt", 'f', b"new\n"),
    ]);
    let layers = [
        TestLayer::gzip_stored(&base),
        TestLayer::plain(top, "application/vnd.oci.image.layer.v1.tar"),
    ];
    let layout = tmp.0.join("layout");
    write_layout(&layout, "two", &layers);
    let pulled = podman_on(
        &store,
        driver,
        &["pull", "-q", &format!("oci:{}:two", layout.display())],
    );
    podman_on(&store, driver, &["tag", pulled.unwrap().trim(), "two:v1"]);
    let spec = format!(
        "[{driver}@{}+{}]",
        store.join("graph").display(),
        store.join("run").display()
    );
    let name = format!("containers-storage:{spec}localhost/two:v1");
    let ours = our_skopeo();
    let (our_dir, their_dir) = (tmp.0.join("ours"), tmp.0.join("theirs"));
    for (bin, dir) in [(&ours, &our_dir), (&reference, &their_dir)] {
        let out = run(
            bin,
            &["copy", "-q", &name, &format!("dir:{}", dir.display())],
            &tmp.0,
        );
        assert_eq!(out.code, 0, "{bin:?}: {}", out.stderr);
    }
    assert_eq!(tree(&our_dir), tree(&their_dir));
    // The layers are the ones podman lists, and they are the layers as they were pulled.
    let listed = podman_on(
        &store,
        driver,
        &[
            "image",
            "inspect",
            "--format",
            "{{json .RootFS.Layers}}",
            "two:v1",
        ],
    )
    .unwrap();
    let listed: Vec<String> = serde_json::from_str(listed.trim()).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(our_dir.join("manifest.json")).unwrap()).unwrap();
    let named: Vec<String> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(named, listed);
    let diff_ids: Vec<String> = layers.iter().map(|l| l.diff_id.clone()).collect();
    assert_eq!(named, diff_ids);
    // To a layout the layers are compressed again; skopeo reads the result back.
    let oci = format!("oci:{}:out", tmp.0.join("oci").display());
    let out = run(&ours, &["copy", "-q", &name, &oci], &tmp.0);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let back = format!("dir:{}", tmp.0.join("back").display());
    let out = run(&reference, &["copy", "-q", &oci, &back], &tmp.0);
    assert_eq!(out.code, 0, "{}", out.stderr);

    // A file of the store that no longer matches its tar-split checksum is named.
    let graph = store.join("graph");
    let (layers_root, files) = match driver {
        "vfs" => ("vfs/dir", "opt/data.bin"),
        _ => ("overlay", "diff/opt/data.bin"),
    };
    for dir in std::fs::read_dir(graph.join(layers_root)).unwrap() {
        let file = dir.unwrap().path().join(files);
        if file.exists() {
            let mut bytes = std::fs::read(&file).unwrap();
            bytes[1000] ^= 1;
            std::fs::write(&file, bytes).unwrap();
        }
    }
    let broken = tmp.0.join("broken");
    let out = run(
        &ours,
        &["copy", "-q", &name, &format!("dir:{}", broken.display())],
        &tmp.0,
    );
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("file integrity checksum failed for")
            && out.stderr.contains("opt/data.bin"),
        "{}",
        out.stderr
    );
    assert!(!broken.join("manifest.json").exists());
}

/// Signatures kept in a store (here written by skopeo 1.9.3 with `--sign-by`) are read: a copy
/// that would have to change the signed manifest is refused as skopeo refuses it, and with
/// `--remove-signatures` both copy the same tree.
#[test]
fn signed_images_in_a_store_are_refused_unless_signatures_are_removed() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipping: needs root");
        return;
    }
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("cs-signed");
    let Some(gpg) = skopeo_integration_tests::gnupg::GnuPg::new(&tmp.0) else {
        return;
    };
    let fingerprint = gpg.generate(
        "signer@example.test",
        "default",
        "default",
        "never",
        "",
        None,
    );
    let layout = example_layout(&tmp.0);
    let spec = format!(
        "[vfs@{}+{}]",
        tmp.0.join("graph").display(),
        tmp.0.join("run").display()
    );
    let name = format!("containers-storage:{spec}signed/app:v1");
    let env = [gpg.env()];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let source = format!("oci:{}:demo", layout.display());
    let signed = run_with_env(
        &reference,
        &["copy", "-q", "--sign-by", &fingerprint, &source, &name],
        &tmp.0,
        &env,
    );
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    let ours = our_skopeo();
    let refused: Vec<_> = [&ours, &reference]
        .iter()
        .map(|bin| {
            let dest = format!("dir:{}", tmp.0.join("kept").display());
            run(bin, &["copy", "-q", &name, &dest], &tmp.0)
        })
        .collect();
    assert_ne!(refused[0].code, 0);
    assert_eq!(refused[0].code, refused[1].code);
    assert!(refused[0]
        .stderr
        .contains("Copying this image would require changing layer representation"));
    // The same line, past the time stamp.
    let message = |s: &str| s[s.find("level=").unwrap_or(0)..].to_owned();
    assert_eq!(message(&refused[0].stderr), message(&refused[1].stderr));
    let (our_dir, their_dir) = (tmp.0.join("ours"), tmp.0.join("theirs"));
    for (bin, dir) in [(&ours, &our_dir), (&reference, &their_dir)] {
        let dest = format!("dir:{}", dir.display());
        let out = run(
            bin,
            &["copy", "-q", "--remove-signatures", &name, &dest],
            &tmp.0,
        );
        assert_eq!(out.code, 0, "{bin:?}: {}", out.stderr);
    }
    assert_eq!(tree(&our_dir), tree(&their_dir));
}
