//! `copy` between local layouts, side by side with skopeo 1.9.3: the same files written, the
//! same progress lines, and failures that leave the destination as it was.

use skopeo_integration_tests::*;
use std::path::Path;

#[test]
fn round_trips_write_what_skopeo_writes() {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("copy");
    let layout = example_layout(&tmp.0);
    let src = format!("oci:{}:demo", layout.display());
    let hops = [
        (src.clone(), "dir:{}/dir".to_owned()),
        ("dir:{}/dir".to_owned(), "oci:{}/oci:one".to_owned()),
        ("oci:{}/oci:one".to_owned(), "oci:{}/oci:two".to_owned()),
        ("oci:{}/oci:two".to_owned(), "dir:{}/back".to_owned()),
    ];
    for (who, bin) in [("ours", our_skopeo()), ("skopeo", reference.clone())] {
        let root = tmp.0.join(who);
        std::fs::create_dir_all(&root).unwrap();
        let r = root.display().to_string();
        for (from, to) in &hops {
            let (from, to) = (from.replace("{}", &r), to.replace("{}", &r));
            let out = run(&bin, &["--insecure-policy", "copy", &from, &to], &tmp.0);
            assert_eq!(out.code, 0, "{who} copy {from} {to}: {}", out.stderr);
            assert_eq!(
                out.stdout.lines().next(),
                Some("Getting image source signatures")
            );
        }
    }
    for name in ["dir", "oci", "back"] {
        let ours = tree(&tmp.0.join("ours").join(name));
        let theirs = tree(&tmp.0.join("skopeo").join(name));
        assert_eq!(ours, theirs, "{name} differs from skopeo's");
    }
    // The progress lines are skopeo's, and -q silences them.
    let r = tmp.0.join("lines").display().to_string();
    let args = |q: bool| {
        let mut a = vec!["--insecure-policy".to_owned(), "copy".to_owned()];
        if q {
            a.push("-q".into());
        }
        a.extend([src.clone(), format!("dir:{r}")]);
        a
    };
    for quiet in [false, true] {
        let a = args(quiet);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        assert_same(&a, &tmp.0);
    }
}

/// Runs our `copy -q SRC DEST`, which must fail; returns its stderr.
fn copy_fails(src: &str, dest: &str, cwd: &Path) -> String {
    let out = run(
        &our_skopeo(),
        &[
            "--insecure-policy",
            "copy",
            "-q",
            "--dest-tls-verify=false",
            src,
            dest,
        ],
        cwd,
    );
    assert_eq!(out.code, 1, "copy {src} {dest} should fail: {out:?}");
    out.stderr
}

#[test]
fn failures_leave_the_destination_as_it_was() {
    let tmp = TempDir::new("copy-bad");
    let layout = example_layout(&tmp.0);
    let good = format!("oci:{}:demo", layout.display());
    let dest = tmp.0.join("dest");
    let out = run(
        &our_skopeo(),
        &["copy", "-q", &good, &format!("dir:{}", dest.display())],
        &tmp.0,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let before = tree(&dest);

    // Corrupt the layer in a copy of the source layout.
    let bad_layout = tmp.0.join("bad");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(&layout)
        .arg(&bad_layout)
        .status()
        .unwrap();
    assert!(status.success());
    let manifest: serde_json::Value = {
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(bad_layout.join("index.json")).unwrap()).unwrap();
        let digest = index["manifests"][0]["digest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:")
            .to_owned();
        serde_json::from_slice(
            &std::fs::read(bad_layout.join("blobs/sha256").join(digest)).unwrap(),
        )
        .unwrap()
    };
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_owned();
    let layer_path = bad_layout.join("blobs/sha256").join(&layer);
    let mut bytes = std::fs::read(&layer_path).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&layer_path, &bytes).unwrap();
    let bad = format!("oci:{}:demo", bad_layout.display());

    let dest_name = format!("dir:{}", dest.display());
    let stderr = copy_fails(&bad, &dest_name, &tmp.0);
    assert!(
        stderr.contains(&format!("writing blob sha256:{layer}")),
        "{stderr}"
    );
    assert!(stderr.contains("digest"), "{stderr}");
    assert_eq!(tree(&dest), before, "the destination changed");
    let fresh = tmp.0.join("fresh");
    copy_fails(&bad, &format!("oci:{}:x", fresh.display()), &tmp.0);
    assert!(!fresh.exists(), "a failed copy left a new layout behind");
    let siblings: Vec<String> = std::fs::read_dir(&tmp.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(siblings.is_empty(), "staging left behind: {siblings:?}");

    // A missing blob, and a directory that is not an image.
    std::fs::remove_file(&layer_path).unwrap();
    let stderr = copy_fails(&bad, &dest_name, &tmp.0);
    assert!(stderr.contains("no such file or directory"), "{stderr}");
    assert_eq!(tree(&dest), before);
    let precious = tmp.0.join("precious");
    std::fs::create_dir(&precious).unwrap();
    std::fs::write(precious.join("notes.txt"), b"keep").unwrap();
    let stderr = copy_fails(&good, &format!("dir:{}", precious.display()), &tmp.0);
    assert!(
        stderr.contains("not a containers image directory"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(precious.join("notes.txt")).unwrap(), b"keep");
}

/// An OCI layout under `dir` with one image `big` whose layer is `size` pseudo-random bytes.
fn big_layout(dir: &Path, size: usize) -> std::path::PathBuf {
    let root = dir.join("big-layout");
    let layer = TestLayer::plain(
        noise(size, 0x9e37_79b9_7f4a_7c15),
        "application/vnd.oci.image.layer.v1.tar",
    );
    write_layout(&root, "big", &[layer]);
    root
}

/// A manifest with its layers' digests and sizes blanked (they depend on the compressor).
fn without_layer_digests(manifest: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(manifest).unwrap();
    for layer in v["layers"].as_array_mut().unwrap() {
        layer["digest"] = "".into();
        layer["size"] = 0.into();
    }
    v
}

#[test]
fn push_pull_and_registry_to_registry_against_a_real_registry() {
    use skopeo_integration_tests::registry::{setup, Flavour, Registry, PASSWORD, USER};
    let Some(reg) = setup(Flavour::Plain) else {
        return;
    };
    let reference = reference_skopeo().unwrap();
    let tmp = TempDir::new("copy-registry");
    let layout = example_layout(&tmp.0);
    // A layer bigger than one upload chunk, so it goes up in several requests.
    let big = big_layout(&tmp.0, 20 << 20);
    let t = ["--dest-tls-verify=false", "--src-tls-verify=false"];
    let copy = |src: &str, dest: &str, extra: &[&str]| {
        let mut args = vec!["--insecure-policy", "copy", "-q"];
        args.extend_from_slice(&t);
        args.extend_from_slice(extra);
        args.extend([src, dest]);
        let out = run(&our_skopeo(), &args, &tmp.0);
        assert_eq!(out.code, 0, "copy {src} {dest}: {}", out.stderr);
    };
    let raw = |image: &str, extra: &[&str]| {
        let mut args = vec!["inspect", "--raw", "--tls-verify=false"];
        args.extend_from_slice(extra);
        args.push(image);
        let out = run(&reference, &args, &tmp.0);
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout
    };
    for (src, name) in [
        (format!("oci:{}:demo", layout.display()), "push/demo:v1"),
        (format!("oci:{}:big", big.display()), "push/big:v1"),
    ] {
        copy(&src, &reg.image(name), &[]);
        let local = run(&our_skopeo(), &["inspect", "--raw", &src], &tmp.0).stdout;
        if name == "push/big:v1" {
            // An uncompressed layer is gzipped on the way, as skopeo does: the manifest is
            // skopeo's but for the compressed bytes' digest and size.
            let theirs = reg.image("push/big-by-skopeo:v1");
            let out = run(
                &reference,
                &[
                    "--insecure-policy",
                    "copy",
                    "-q",
                    "--dest-tls-verify=false",
                    &src,
                    &theirs,
                ],
                &tmp.0,
            );
            assert_eq!(out.code, 0, "{}", out.stderr);
            let pushed = without_layer_digests(&raw(&reg.image(name), &[]));
            assert_eq!(pushed, without_layer_digests(&raw(&theirs, &[])));
            assert_eq!(
                pushed["layers"][0]["mediaType"],
                "application/vnd.oci.image.layer.v1.tar+gzip"
            );
        } else {
            // The registry has the source's manifest, byte for byte, and serves its blobs.
            assert_eq!(raw(&reg.image(name), &[]), local);
        }
        // Pulled back, it is what skopeo pulls.
        let ours = tmp
            .0
            .join(format!("ours-{}", name.replace(['/', ':'], "-")));
        let theirs = tmp
            .0
            .join(format!("theirs-{}", name.replace(['/', ':'], "-")));
        copy(&reg.image(name), &format!("dir:{}", ours.display()), &[]);
        let out = run(
            &reference,
            &[
                "--insecure-policy",
                "copy",
                "-q",
                "--src-tls-verify=false",
                &reg.image(name),
                &format!("dir:{}", theirs.display()),
            ],
            &tmp.0,
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(tree(&ours), tree(&theirs), "{name}");
    }
    // A multi-platform image with --all: the index and both images, byte for byte.
    add_multi_platform_index(&layout);
    let multi = format!("oci:{}:multi", layout.display());
    copy(&multi, &reg.image("push/multi:v1"), &["--all"]);
    let local_index = run(&our_skopeo(), &["inspect", "--raw", &multi], &tmp.0).stdout;
    assert_eq!(raw(&reg.image("push/multi:v1"), &[]), local_index);
    let index: serde_json::Value = serde_json::from_str(&local_index).unwrap();
    for entry in index["manifests"].as_array().unwrap() {
        let by_digest = reg.image(&format!("push/multi@{}", entry["digest"].as_str().unwrap()));
        assert!(!raw(&by_digest, &[]).is_empty());
    }

    // A corrupted layer is refused mid-upload and no manifest is pushed.
    let corrupt = big_layout(&tmp.0.join("corrupt"), 3 << 20);
    let blobs = corrupt.join("blobs/sha256");
    let largest = std::fs::read_dir(&blobs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let mut bytes = std::fs::read(&largest).unwrap();
    bytes[1000] ^= 1;
    std::fs::write(&largest, bytes).unwrap();
    let stderr = copy_fails(
        &format!("oci:{}:big", corrupt.display()),
        &reg.image("push/corrupt:v1"),
        &tmp.0,
    );
    assert!(stderr.contains("digest mismatch"), "{stderr}");
    let missing = run(
        &reference,
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &reg.image("push/corrupt:v1"),
        ],
        &tmp.0,
    );
    assert_eq!(missing.code, 1, "a manifest was pushed: {}", missing.stdout);

    // Registry to registry, into another registry with authentication.
    let auth = Registry::start(Flavour::Htpasswd);
    let creds = format!("{USER}:{PASSWORD}");
    copy(
        &reg.image("push/demo:v1"),
        &auth.image("mirror/demo:v1"),
        &["--dest-creds", &creds],
    );
    assert_eq!(
        raw(&auth.image("mirror/demo:v1"), &["--creds", &creds]),
        raw(&reg.image("push/demo:v1"), &[])
    );
    // Wrong credentials fail clearly and push nothing.
    let out = run(
        &our_skopeo(),
        &[
            "copy",
            "-q",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--dest-creds",
            "alice:wrong",
            &reg.image("push/demo:v1"),
            &auth.image("mirror/other:v1"),
        ],
        &tmp.0,
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("unauthorized") || out.stderr.contains("401"),
        "{}",
        out.stderr
    );
}

#[test]
fn multi_platform_images_as_skopeo_copies_them() {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("copy-multi");
    let layout = example_layout(&tmp.0);
    add_multi_platform_index(&layout);
    let src = format!("oci:{}:multi", layout.display());
    for mode in [
        &["--all"][..],
        &["--multi-arch", "index-only"],
        &["--multi-arch", "system"],
        &[],
    ] {
        for (transport, suffix) in [("oci", ":m"), ("dir", "")] {
            let mut outputs = Vec::new();
            for (who, bin) in [("ours", our_skopeo()), ("skopeo", reference.clone())] {
                let dest = tmp.0.join(format!("{who}-{transport}-{}", mode.join("")));
                let dest_name = format!("{transport}:{}{suffix}", dest.display());
                let mut args = vec!["--insecure-policy", "copy"];
                args.extend_from_slice(mode);
                args.extend([src.as_str(), dest_name.as_str()]);
                let out = run(&bin, &args, &tmp.0);
                outputs.push((out, tree(&dest)));
            }
            assert_eq!(
                outputs[0], outputs[1],
                "copy {mode:?} to {transport}: differs from skopeo"
            );
        }
    }
    let conflicting = run(
        &our_skopeo(),
        &["copy", "--all", "--multi-arch", "all", &src, "dir:x"],
        &tmp.0,
    );
    assert!(conflicting
        .stderr
        .contains("Cannot use --all and --multi-arch flags together"));
}

#[test]
fn the_trust_policy_is_honoured() {
    let tmp = TempDir::new("copy-policy");
    let layout = example_layout(&tmp.0);
    let src = format!("oci:{}:demo", layout.display());
    let write = |name: &str, text: &str| {
        let p = tmp.0.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let reject = write("reject.json", r#"{"default":[{"type":"reject"}]}"#);
    let oci_reject = write(
        "oci-reject.json",
        r#"{"default":[{"type":"insecureAcceptAnything"}],"transports":{"oci":{"":[{"type":"reject"}]}}}"#,
    );
    let empty = write("empty.json", r#"{"default":[]}"#);
    let dest = tmp.0.join("dest");
    let dest_name = format!("dir:{}", dest.display());
    for policy in [
        reject.as_str(),
        oci_reject.as_str(),
        empty.as_str(),
        "/nonexistent/policy.json",
    ] {
        assert_same(
            &["--policy", policy, "copy", "-q", &src, &dest_name],
            &tmp.0,
        );
        let _ = std::fs::remove_dir_all(&dest);
    }
    // Refused copies leave nothing behind (skopeo leaves a `version` file).
    let out = run(
        &our_skopeo(),
        &["--policy", &reject, "copy", "-q", &src, &dest_name],
        &tmp.0,
    );
    assert_eq!(out.code, 1);
    assert!(!dest.exists());
    // Signature requirements are not verified yet: such images are refused, not let through.
    let signed = write(
        "signed.json",
        r#"{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/nonexistent"}]}"#,
    );
    let out = run(
        &our_skopeo(),
        &["--policy", &signed, "copy", "-q", &src, &dest_name],
        &tmp.0,
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("Source image rejected: A signature was required"),
        "{}",
        out.stderr
    );
    let accept = write(
        "accept.json",
        r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
    );
    let out = run(
        &our_skopeo(),
        &["--policy", &accept, "copy", "-q", &src, &dest_name],
        &tmp.0,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
}

/// Unpacks the tar at `archive` into `into` with the system's tar.
fn untar(archive: &Path, into: &Path) {
    std::fs::create_dir_all(into).unwrap();
    let status = std::process::Command::new("tar")
        .arg("xf")
        .arg(archive)
        .arg("-C")
        .arg(into)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn oci_archives_hold_what_skopeo_puts_in_them() {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("copy-oci-archive");
    let layout = example_layout(&tmp.0);
    let src = format!("oci:{}:demo", layout.display());
    for (who, bin) in [("ours", our_skopeo()), ("skopeo", reference)] {
        let archive = tmp.0.join(format!("{who}.tar"));
        let to_archive = format!("oci-archive:{}:t", archive.display());
        let out = run(
            &bin,
            &["--insecure-policy", "copy", "-q", &src, &to_archive],
            &tmp.0,
        );
        assert_eq!(out.code, 0, "{who}: {}", out.stderr);
        untar(&archive, &tmp.0.join(format!("{who}-unpacked")));
        // And back out of the archive into a directory.
        let dir = format!("dir:{}", tmp.0.join(format!("{who}-dir")).display());
        let out = run(
            &bin,
            &["--insecure-policy", "copy", "-q", &to_archive, &dir],
            &tmp.0,
        );
        assert_eq!(out.code, 0, "{who}: {}", out.stderr);
    }
    assert_eq!(
        tree(&tmp.0.join("ours-unpacked")),
        tree(&tmp.0.join("skopeo-unpacked"))
    );
    assert_eq!(
        tree(&tmp.0.join("ours-dir")),
        tree(&tmp.0.join("skopeo-dir"))
    );
    // A failed copy leaves no archive behind.
    let missing = format!("oci:{}:nope", layout.display());
    let target = tmp.0.join("never.tar");
    copy_fails(
        &missing,
        &format!("oci-archive:{}", target.display()),
        &tmp.0,
    );
    assert!(!target.exists());
}

#[test]
fn docker_archives_are_read_as_skopeo_reads_them() {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("copy-docker-archive");
    let layout = example_layout(&tmp.0);
    // Two images in one archive: a tagged one, and another tag of it added with
    // --additional-tag (written by skopeo, which we do not write yet).
    let archive = tmp.0.join("saved.tar");
    let out = run(
        &reference,
        &[
            "--insecure-policy",
            "copy",
            "-q",
            "--additional-tag",
            "busybox:extra",
            &format!("oci:{}:demo", layout.display()),
            &format!(
                "docker-archive:{}:example.com/demo/app:v1",
                archive.display()
            ),
        ],
        &tmp.0,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let a = archive.display().to_string();
    for (i, src) in [
        format!("docker-archive:{a}"),
        format!("docker-archive:{a}:busybox:extra"),
        format!("docker-archive:{a}:@0"),
        format!("docker-archive:{a}:nope:x"),
        format!("docker-archive:{a}:@3"),
    ]
    .iter()
    .enumerate()
    {
        let mut results = Vec::new();
        for (who, bin) in [("ours", our_skopeo()), ("skopeo", reference.clone())] {
            let dest = tmp.0.join(format!("{who}-{i}"));
            let out = run(
                &bin,
                &[
                    "--insecure-policy",
                    "copy",
                    "-q",
                    src,
                    &format!("dir:{}", dest.display()),
                ],
                &tmp.0,
            );
            results.push((out.code, out.stderr, tree(&dest)));
        }
        // On failure skopeo leaves a `version` file behind; we leave nothing.
        if results[1].0 != 0 {
            assert!(
                results[0].2.is_empty(),
                "a failed copy wrote {:?}",
                results[0].2
            );
            results[1].2.clear();
        }
        assert_eq!(results[0], results[1], "copy {src} differs from skopeo");
    }
}

#[test]
fn a_failed_copy_is_retried_as_skopeo_retries_it() {
    use skopeo_integration_tests::registry::{setup, Flavour, Registry};
    let Some(_reg) = setup(Flavour::Plain) else {
        return;
    };
    let tmp = TempDir::new("copy-retry");
    let free_port = || {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    // Nothing listens: the same warning and final error (and skopeo's dir: is made anyway;
    // ours is not).
    let closed = format!("docker://127.0.0.1:{}/a/b:c", free_port());
    let dest = format!("dir:{}/never", tmp.0.display());
    let args = [
        "--insecure-policy",
        "copy",
        "--retry-times",
        "1",
        "--src-tls-verify=false",
        &closed,
        &dest,
    ];
    assert_same(&args, &tmp.0);
    std::fs::remove_dir_all(tmp.0.join("never")).unwrap();
    assert_eq!(run(&our_skopeo(), &args, &tmp.0).code, 1);
    assert!(!tmp.0.join("never").exists());

    // A registry that starts while the copy waits (--retry-delay, newer skopeo's flag) gets
    // the image.
    let layout = example_layout(&tmp.0);
    let port = free_port();
    let target = format!("docker://127.0.0.1:{port}/late/demo:v1");
    let child = std::process::Command::new(our_skopeo())
        .args(["--insecure-policy", "copy", "-q", "--retry-times", "20"])
        .args(["--retry-delay", "250ms", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:demo", layout.display()))
        .arg(&target)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    let late = Registry::start_on(Flavour::Plain, port);
    let out = child.wait_with_output().unwrap();
    let stderr = strip_log_time(&String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.starts_with("level=warning msg=\"Failed, retrying in 250ms ... (1/20). Error: "),
        "{stderr}"
    );
    let pulled = run(
        &our_skopeo(),
        &["inspect", "--raw", "--tls-verify=false", &target],
        &tmp.0,
    );
    let local = run(
        &our_skopeo(),
        &[
            "inspect",
            "--raw",
            &format!("oci:{}:demo", layout.display()),
        ],
        &tmp.0,
    );
    assert_eq!(pulled.stdout, local.stdout);
    drop(late);
}

#[test]
fn shared_blob_directories_hold_what_skopeo_puts_there() {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("copy-shared-blobs");
    let layout = example_layout(&tmp.0);
    let src = format!("oci:{}:demo", layout.display());
    for (who, bin) in [("ours", our_skopeo()), ("skopeo", reference.clone())] {
        let root = tmp.0.join(who);
        std::fs::create_dir_all(&root).unwrap();
        let shared = root.join("shared").display().to_string();
        let layout = format!("oci:{}/layout:v1", root.display());
        let back = format!("dir:{}/back", root.display());
        for args in [
            ["--dest-shared-blob-dir", &shared, &src, &layout],
            ["--src-shared-blob-dir", &shared, &layout, &back],
        ] {
            let mut all = vec!["--insecure-policy", "copy", "-q"];
            all.extend(args);
            let out = run(&bin, &all, &tmp.0);
            assert_eq!(out.code, 0, "{who} {all:?}: {}", out.stderr);
        }
    }
    let ours = tree(&tmp.0.join("ours"));
    assert_eq!(ours, tree(&tmp.0.join("skopeo")));
    // The layout holds only its index; the blobs are in the shared directory.
    assert!(ours.iter().any(|(n, _)| n.starts_with("shared/sha256/")));
    assert!(!ours.iter().any(|(n, _)| n.starts_with("layout/blobs")));
}
