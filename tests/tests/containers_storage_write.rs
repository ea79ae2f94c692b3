//! `containers-storage:` written: an image copied into a private vfs or overlay store is what
//! skopeo 1.9.3 writes for the same image (layers.json and images.json but for the layers'
//! creation times, tar-split byte for byte, the layers' files with their owners, modes,
//! xattrs, links, devices and whiteouts), podman lists, inspects and runs it, a second copy
//! reuses every layer, and the image copies out again as skopeo copies it out.

use skopeo_integration_tests::podman::{
    available, layer_tar, overlay_supported, podman_on, podman_run, store_spec,
};
use skopeo_integration_tests::*;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A layer with what only a tar made by hand has: an owner that is not root, an xattr (PAX
/// `SCHILY.xattr.`), a character device, a hard link, a symlink and a 3 MiB file.
fn base_layer() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let add = |builder: &mut tar::Builder<Vec<u8>>,
               path: &str,
               kind: tar::EntryType,
               data: &[u8],
               edit: &dyn Fn(&mut tar::Header)| {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(1_700_000_000);
        header.set_entry_type(kind);
        header.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
        header.set_size(data.len() as u64);
        edit(&mut header);
        builder.append_data(&mut header, path, data).unwrap();
    };
    let none = |_: &mut tar::Header| {};
    add(&mut builder, "etc/", tar::EntryType::Directory, b"", &none);
    add(
        &mut builder,
        "etc/motd",
        tar::EntryType::Regular,
        b"base\n",
        &none,
    );
    add(
        &mut builder,
        "etc/os-release",
        tar::EntryType::Regular,
        b"ID=test\n",
        &|h| {
            h.set_uid(1000);
            h.set_gid(2000);
        },
    );
    add(&mut builder, "opt/", tar::EntryType::Directory, b"", &none);
    add(
        &mut builder,
        "opt/data.bin",
        tar::EntryType::Regular,
        &noise(3 << 20, 7),
        &none,
    );
    add(
        &mut builder,
        "opt/again.bin",
        tar::EntryType::Link,
        b"",
        &|h| h.set_link_name("opt/data.bin").unwrap(),
    );
    add(&mut builder, "dev/", tar::EntryType::Directory, b"", &none);
    add(&mut builder, "dev/null", tar::EntryType::Char, b"", &|h| {
        h.set_device_major(1).unwrap();
        h.set_device_minor(3).unwrap();
    });
    add(
        &mut builder,
        "usr/lib/os-release",
        tar::EntryType::Symlink,
        b"",
        &|h| h.set_link_name("../../etc/os-release").unwrap(),
    );
    builder
        .append_pax_extensions([("SCHILY.xattr.user.note", &b"kept"[..])])
        .unwrap();
    add(
        &mut builder,
        "etc/noted",
        tar::EntryType::Regular,
        b"with an xattr\n",
        &none,
    );
    builder.into_inner().unwrap()
}

/// A static busybox as `/bin/sh` and friends.
fn busybox_layer() -> Option<Vec<u8>> {
    let busybox = std::fs::read("/bin/busybox").ok()?;
    Some(layer_tar(&[
        ("bin/", 'd', b""),
        ("bin/busybox", 'x', &busybox),
        ("bin/sh", 'l', b"busybox"),
        ("bin/cat", 'l', b"busybox"),
        ("bin/ls", 'l', b"busybox"),
    ]))
}

/// The example image: busybox, the base layer, and a top layer that hides a file and a
/// directory's old contents.
fn example(tmp: &Path) -> Option<String> {
    let top = layer_tar(&[
        ("etc/", 'd', b""),
        ("etc/.wh.motd", 'f', b""),
        ("etc/greeting", 'f', b"hello from the store\n"),
        ("opt/", 'd', b""),
        ("opt/.wh..wh..opq", 'f', b""),
        ("opt/new.txt", 'f', b"new\n"),
    ]);
    let layers = [
        TestLayer::gzip_stored(&busybox_layer()?),
        TestLayer::gzip_stored(&base_layer()),
        TestLayer::plain(top, "application/vnd.oci.image.layer.v1.tar"),
    ];
    let extra = serde_json::json!({
        "created": "2024-05-06T07:08:09.123Z",
        "config": { "Cmd": ["/bin/sh"] },
    });
    Some(write_layout_with_config(
        &tmp.join("layout"),
        "app",
        &layers,
        extra,
    ))
}

/// Everything a layer's directory holds, as comparable lines (times containers/storage
/// takes from the clock, for the directory itself, parents the tar left out and whiteout
/// devices, shown as `now`).
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let kind = meta.file_type();
        let mut xattrs = xattrs_of(&path);
        xattrs.sort();
        let extra = match () {
            _ if kind.is_symlink() => std::fs::read_link(&path).unwrap().display().to_string(),
            _ if kind.is_file() => {
                skopeo_core::digest::Digest::sha256_of(&std::fs::read(&path).unwrap()).to_string()
            }
            _ => String::new(),
        };
        // The layers' entries are all stamped 1_700_000_000; the rest took the clock's time.
        let mtime = match meta.mtime() {
            1_700_000_000 => format!("{}.{}", meta.mtime(), meta.mtime_nsec()),
            _ => "now".to_owned(),
        };
        out.push(format!(
            "{} {:o} {}:{} n{} r{} {mtime} {extra} {xattrs:?}",
            path.strip_prefix(dir).unwrap().display(),
            meta.mode(),
            meta.uid(),
            meta.gid(),
            meta.nlink(),
            meta.rdev(),
        ));
        if kind.is_dir() {
            for e in std::fs::read_dir(&path).unwrap() {
                stack.push(e.unwrap().path());
            }
        }
    }
    out.sort();
    out
}

/// `NAME=VALUE` for each xattr of `path` (not following a symlink).
fn xattrs_of(path: &Path) -> Vec<String> {
    let mut names = vec![0u8; 4096];
    let Ok(n) = rustix::fs::llistxattr(path, &mut names) else {
        return Vec::new();
    };
    names[..n]
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| {
            let name = String::from_utf8_lossy(name).into_owned();
            let mut value = vec![0u8; 4096];
            let len = rustix::fs::lgetxattr(path, name.as_str(), &mut value).unwrap_or(0);
            format!("{name}={}", String::from_utf8_lossy(&value[..len]))
        })
        .collect()
}

/// A store's JSON file with the layers' creation times taken out.
fn records(path: &Path) -> serde_json::Value {
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    if path.ends_with("layers.json") {
        for layer in value.as_array_mut().unwrap() {
            layer.as_object_mut().unwrap().remove("created");
        }
    }
    value
}

fn layer_dir(graph: &Path, driver: &str, id: &str) -> std::path::PathBuf {
    match driver {
        "vfs" => graph.join("vfs/dir").join(id),
        _ => graph.join("overlay").join(id).join("diff"),
    }
}

#[test]
fn images_copied_into_a_vfs_store_are_skopeos_and_run() {
    copy_in_matches_skopeo("vfs");
}

#[test]
fn images_copied_into_an_overlay_store_are_skopeos_and_run() {
    if overlay_supported() {
        copy_in_matches_skopeo("overlay");
    }
}

fn copy_in_matches_skopeo(driver: &str) {
    if !available() {
        return;
    }
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new(&format!("csw-{driver}"));
    let Some(source) = example(&tmp.0) else {
        eprintln!("skipping: no static /bin/busybox to run (Debian's busybox-static)");
        return;
    };
    let ours = our_skopeo();
    let (our_store, their_store) = (tmp.0.join("ours"), tmp.0.join("theirs"));
    for (bin, store) in [(&ours, &our_store), (&reference, &their_store)] {
        let dest = format!(
            "containers-storage:{}localhost/app:v1",
            store_spec(store, driver)
        );
        let out = run(bin, &["copy", "-q", &source, &dest], &tmp.0);
        assert_eq!(out.code, 0, "{bin:?}: {}", out.stderr);
    }
    let (our_graph, their_graph) = (our_store.join("graph"), their_store.join("graph"));
    let layers_json = format!("{driver}-layers/layers.json");
    let images_json = format!("{driver}-images/images.json");
    assert_eq!(
        records(&our_graph.join(&layers_json)),
        records(&their_graph.join(&layers_json))
    );
    assert_eq!(
        records(&our_graph.join(&images_json)),
        records(&their_graph.join(&images_json))
    );
    let layers = records(&our_graph.join(&layers_json));
    let ids: Vec<&str> = layers
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    for id in &ids {
        let split = format!("{driver}-layers/{id}.tar-split.gz");
        let unzip = |p: &Path| {
            let mut text = Vec::new();
            let file = std::fs::File::open(p).unwrap();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(file), &mut text).unwrap();
            text
        };
        assert_eq!(
            unzip(&our_graph.join(&split)),
            unzip(&their_graph.join(&split)),
            "{split}"
        );
        assert_eq!(
            files(&layer_dir(&our_graph, driver, id)),
            files(&layer_dir(&their_graph, driver, id)),
            "layer {id}"
        );
    }

    // podman sees the image skopeo would have written, and runs it.
    let listed = podman_on(
        &our_store,
        driver,
        &["images", "--format", "{{.Repository}}:{{.Tag}}"],
    );
    assert_eq!(listed.unwrap().trim(), "localhost/app:v1");
    let digest = |store: &Path| {
        podman_on(
            store,
            driver,
            &["image", "inspect", "--format", "{{.Digest}}", "app:v1"],
        )
        .unwrap()
    };
    assert_eq!(digest(&our_store), digest(&their_store));
    let (code, out) = podman_run(
        &our_store,
        driver,
        "localhost/app:v1",
        &["cat", "/etc/greeting"],
    );
    assert_eq!((code, out.as_str()), (0, "hello from the store\n"));
    let script =
        "test ! -e /etc/motd && ls /opt && cat /usr/lib/os-release && ls -ln /etc/os-release";
    let (code, out) = podman_run(
        &our_store,
        driver,
        "localhost/app:v1",
        &["sh", "-c", script],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("new.txt\nID=test\n") && out.contains(" 1000 "),
        "{out}"
    );

    // A second copy finds every layer in the store: it needs none of the layer blobs.
    let before = std::fs::read(our_graph.join(&layers_json)).unwrap();
    let manifest_of = |layout: &Path| {
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
        let digest = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
        let path = layout.join("blobs/sha256").join(&digest["sha256:".len()..]);
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(path).unwrap()).unwrap()
    };
    let layout = tmp.0.join("layout");
    for layer in manifest_of(&layout)["layers"].as_array().unwrap() {
        let digest = layer["digest"].as_str().unwrap();
        std::fs::remove_file(layout.join("blobs/sha256").join(&digest["sha256:".len()..])).unwrap();
    }
    let dest = format!(
        "containers-storage:{}localhost/app:v2",
        store_spec(&our_store, driver)
    );
    let again = run(&ours, &["copy", "-q", &source, &dest], &tmp.0);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(std::fs::read(our_graph.join(&layers_json)).unwrap(), before);
    let names = podman_on(&our_store, driver, &["images", "--format", "{{.Tag}}"]).unwrap();
    let mut names: Vec<&str> = names.lines().collect();
    names.sort();
    assert_eq!(names, ["v1", "v2"]);

    // And out again, as skopeo copies out what it wrote.
    let (our_dir, their_dir) = (tmp.0.join("out-ours"), tmp.0.join("out-theirs"));
    for (bin, store, dir) in [
        (&ours, &our_store, &our_dir),
        (&reference, &their_store, &their_dir),
    ] {
        let src = format!(
            "containers-storage:{}localhost/app:v1",
            store_spec(store, driver)
        );
        let out = run(
            bin,
            &["copy", "-q", &src, &format!("dir:{}", dir.display())],
            &tmp.0,
        );
        assert_eq!(out.code, 0, "{bin:?}: {}", out.stderr);
    }
    assert_eq!(tree(&our_dir), tree(&their_dir));
}

/// Names and stores that cannot be written are refused before anything is written, in
/// skopeo's words where skopeo has them; a copy that fails or is killed part-way leaves the
/// store as podman needs it: the other images listed and running, the partial one not listed,
/// and the next copy of it completes.
#[test]
fn bad_destinations_are_refused_and_broken_copies_leave_the_store_usable() {
    if !available() {
        return;
    }
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("csw-bad");
    let Some(busybox) = busybox_layer() else {
        eprintln!("skipping: no static /bin/busybox to run (Debian's busybox-static)");
        return;
    };
    let ours = our_skopeo();
    let greeting = layer_tar(&[("etc/", 'd', b""), ("etc/greeting", 'f', b"still here\n")]);
    let good = write_layout(
        &tmp.0.join("good"),
        "good",
        &[
            TestLayer::gzip_stored(&busybox),
            TestLayer::plain(greeting, "application/vnd.oci.image.layer.v1.tar"),
        ],
    );
    let message = |s: &str| s[s.find("level=").unwrap_or(0)..].to_owned();

    // Not a store, not a valid name: as skopeo says it.
    std::fs::write(tmp.0.join("file"), b"not a store").unwrap();
    let not_a_store = format!(
        "containers-storage:[vfs@{}+{}]x:v1",
        tmp.0.join("file").display(),
        tmp.0.join("run-x").display()
    );
    let store = tmp.0.join("store");
    let bad_name = format!(
        "containers-storage:{}Bad/Name:v1",
        store_spec(&store, "vfs")
    );
    for dest in [&not_a_store, &bad_name] {
        let a = run(&ours, &["copy", "-q", &good, dest], &tmp.0);
        assert_eq!(a.code, 1, "{}", a.stderr);
        assert!(
            !store.exists(),
            "nothing is made for a name that is refused"
        );
        let b = run(&reference, &["copy", "-q", &good, dest], &tmp.0);
        assert_eq!(message(&a.stderr), message(&b.stderr));
    }
    // A driver this store writer does not write is named.
    let btrfs = format!(
        "containers-storage:{}x:v1",
        store_spec(&tmp.0.join("b"), "btrfs")
    );
    let out = run(&ours, &["copy", "-q", &good, &btrfs], &tmp.0);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains(r#"storage driver \"btrfs\" is not supported"#),
        "{}",
        out.stderr
    );

    let into = |name: &str| format!("containers-storage:{}{name}", store_spec(&store, "vfs"));
    let out = run(&ours, &["copy", "-q", &good, &into("good:v1")], &tmp.0);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let still_usable = || {
        let listed = podman_on(&store, "vfs", &["images", "--format", "{{.Repository}}"]);
        assert_eq!(listed.unwrap().trim(), "docker.io/library/good");
        let (code, out) = podman_run(&store, "vfs", "good:v1", &["cat", "/etc/greeting"]);
        assert_eq!((code, out.as_str()), (0, "still here\n"));
    };
    still_usable();

    // A layer whose blob is what the manifest says, but no tar: the copy fails on it.
    let not_tar = TestLayer::gzip_stored(&noise(5000, 3));
    let broken = write_layout(
        &tmp.0.join("broken"),
        "broken",
        &[TestLayer::gzip_stored(&busybox), not_tar],
    );
    let out = run(&ours, &["copy", "-q", &broken, &into("broken:v1")], &tmp.0);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("archive/tar: invalid tar header"),
        "{}",
        out.stderr
    );
    still_usable();

    // Killed while a large layer is being applied.
    let big = layer_tar(&[("big/", 'd', b""), ("big/data", 'f', &noise(64 << 20, 9))]);
    let large = write_layout(
        &tmp.0.join("large"),
        "large",
        &[
            TestLayer::gzip_stored(&busybox),
            TestLayer::gzip_stored(&big),
        ],
    );
    let mut child = std::process::Command::new(&ours)
        .args(["copy", "-q", &large, &into("large:v1")])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let staging = store.join("graph/tmp");
    let applying = || {
        std::fs::read_dir(&staging)
            .into_iter()
            .flatten()
            .flatten()
            .any(|copy| {
                std::fs::read_dir(copy.path())
                    .into_iter()
                    .flatten()
                    .flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("layer-"))
            })
    };
    let started = std::time::Instant::now();
    while !applying() && child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed().as_secs() < 120,
            "the copy never started applying"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let killed_in_time = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(killed_in_time, "the copy ended before it could be killed");
    still_usable();
    let out = run(&ours, &["copy", "-q", &large, &into("large:v1")], &tmp.0);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (code, out) = podman_run(&store, "vfs", "large:v1", &["ls", "-l", "/big/data"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&(64u64 << 20).to_string()), "{out}");
}
