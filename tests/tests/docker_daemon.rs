//! `docker-daemon:` against a real Docker Engine (Debian's dockerd, started by the test on a
//! private socket): an image copied in is listed with the ID skopeo 1.9.3 gives it and runs;
//! copied out (by name and by ID) and inspected, it is what skopeo 1.9.3 makes of it, byte
//! for byte; the daemon's refusals are worded as skopeo words them, and a copy that fails
//! part-way loads nothing.

use skopeo_integration_tests::daemon::DockerEngine;
use skopeo_integration_tests::*;
use std::path::Path;

/// A layer holding a static busybox and a greeting, as a tar.
fn busybox_layer() -> Option<Vec<u8>> {
    let busybox = std::fs::read("/bin/busybox").ok()?;
    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |name: &str, mode: u32, bytes: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(mode);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        tar.append_data(&mut header, name, bytes).unwrap();
    };
    add("bin/busybox", 0o755, &busybox);
    add("greeting.txt", 0o644, b"hello from the daemon test\n");
    Some(tar.into_inner().unwrap())
}

fn copy(bin: &Path, host: &str, src: &str, dest: &str, tmp: &Path) -> RunResult {
    run(
        bin,
        &[
            "--insecure-policy",
            "copy",
            "-q",
            "--src-daemon-host",
            host,
            "--dest-daemon-host",
            host,
            src,
            dest,
        ],
        tmp,
    )
}

#[test]
fn images_copied_in_run_and_copy_out_as_skopeo_copies_them() {
    let tmp = TempDir::new("daemon");
    let Some(engine) = DockerEngine::start(&tmp.0) else {
        return;
    };
    let Some(layer) = busybox_layer() else {
        eprintln!("skipping: no static /bin/busybox to run (Debian's busybox-static)");
        return;
    };
    let src = write_layout(
        &tmp.0.join("src"),
        "v1",
        &[TestLayer::plain(
            layer,
            "application/vnd.oci.image.layer.v1.tar",
        )],
    );
    let ours = our_skopeo();
    let r = copy(
        &ours,
        &engine.host,
        &src,
        "docker-daemon:ours/busy:v1",
        &tmp.0,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let our_id = engine
        .image_id("ours/busy:v1")
        .expect("listed by the daemon");
    let (code, out) = engine.docker(&[
        "run",
        "--rm",
        "--network=none",
        "ours/busy:v1",
        "/bin/busybox",
        "cat",
        "/greeting.txt",
    ]);
    assert_eq!((code, out.as_str()), (0, "hello from the daemon test\n"));

    // DOCKER_HOST is read when no flag names the daemon.
    let r = run_with_env(
        &ours,
        &[
            "--insecure-policy",
            "copy",
            "-q",
            &src,
            "docker-daemon:env/busy:v1",
        ],
        &tmp.0,
        &[("DOCKER_HOST", &engine.host)],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(engine.image_id("env/busy:v1").as_ref(), Some(&our_id));

    let Some(reference) = reference_skopeo() else {
        return;
    };
    let r = copy(
        &reference,
        &engine.host,
        &src,
        "docker-daemon:ref/busy:v1",
        &tmp.0,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(engine.image_id("ref/busy:v1"), Some(our_id.clone()));

    // Out again, by name and by ID: the same directory skopeo writes.
    for name in [
        "docker-daemon:ref/busy:v1".to_owned(),
        format!("docker-daemon:{our_id}"),
    ] {
        let trees: Vec<_> = [&ours, &reference]
            .iter()
            .enumerate()
            .map(|(i, bin)| {
                let out = tmp.0.join(format!("out-{i}"));
                let _ = std::fs::remove_dir_all(&out);
                let r = copy(
                    bin,
                    &engine.host,
                    &name,
                    &format!("dir:{}", out.display()),
                    &tmp.0,
                );
                assert_eq!(r.code, 0, "{name}: {}", r.stderr);
                tree(&out)
            })
            .collect();
        assert_eq!(trees[0], trees[1], "{name}");
        for extra in [&[][..], &["--raw"][..], &["--config"][..]] {
            let args = [
                &["inspect", "--daemon-host", engine.host.as_str()][..],
                extra,
                &[name.as_str()],
            ]
            .concat();
            assert_eq!(
                run(&ours, &args, &tmp.0),
                run(&reference, &args, &tmp.0),
                "{args:?}"
            );
        }
    }
}

#[test]
fn the_daemons_refusals_are_skopeos_and_a_failed_copy_loads_nothing() {
    let tmp = TempDir::new("daemon-errors");
    let Some(engine) = DockerEngine::start(&tmp.0) else {
        return;
    };
    let ours = our_skopeo();
    let missing = "docker-daemon:not/there:v1";
    let out = tmp.0.join("out");
    let dest = format!("dir:{}", out.display());
    let r = copy(&ours, &engine.host, missing, &dest, &tmp.0);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("initializing source docker-daemon:not/there:v1: loading image from docker engine: Error response from daemon: reference does not exist"),
        "{}",
        r.stderr
    );
    let example = example_layout(&tmp.0);
    let src = format!("oci:{}:demo", example.display());
    if let Some(reference) = reference_skopeo() {
        assert_eq!(
            copy(&ours, &engine.host, missing, &dest, &tmp.0),
            copy(&reference, &engine.host, missing, &dest, &tmp.0)
        );
        let gone = "unix:///nonexistent/docker.sock";
        assert_eq!(
            copy(&ours, gone, missing, &dest, &tmp.0),
            copy(&reference, gone, missing, &dest, &tmp.0)
        );
        let inspect = ["inspect", "--daemon-host", gone, missing];
        assert_eq!(
            run(&ours, &inspect, &tmp.0),
            run(&reference, &inspect, &tmp.0)
        );
        let by_id =
            "docker-daemon:sha256:0000000000000000000000000000000000000000000000000000000000000000";
        assert_eq!(
            copy(&ours, &engine.host, &src, by_id, &tmp.0),
            copy(&reference, &engine.host, &src, by_id, &tmp.0)
        );
    }
    // A layer that does not match its digest: the copy fails, and the daemon has no image.
    let blobs = example.join("blobs/sha256");
    let manifest: serde_json::Value = {
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(example.join("index.json")).unwrap()).unwrap();
        let digest = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
        serde_json::from_slice(&std::fs::read(blobs.join(&digest[7..])).unwrap()).unwrap()
    };
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let path = blobs.join(&layer[7..]);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let r = copy(
        &ours,
        &engine.host,
        &src,
        "docker-daemon:broken/app:v1",
        &tmp.0,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    // The copy's own failure is what is reported, not the load it cut off.
    assert!(r.stderr.contains("digest mismatch"), "{}", r.stderr);
    assert_eq!(engine.image_id("broken/app:v1"), None);
    let (_, listed) = engine.docker(&["images", "--format", "{{.Repository}}"]);
    assert!(!listed.contains("broken"), "{listed}");
}

#[test]
fn podmans_docker_compatible_service_takes_and_gives_images_as_skopeo_does() {
    let tmp = TempDir::new("daemon-podman");
    let Some(engine) = DockerEngine::start_podman(&tmp.0) else {
        return;
    };
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let ours = our_skopeo();
    let example = example_layout(&tmp.0);
    let src = format!("oci:{}:demo", example.display());
    for (bin, name) in [(&ours, "ours/app:v1"), (&reference, "ref/app:v1")] {
        let r = copy(
            bin,
            &engine.host,
            &src,
            &format!("docker-daemon:{name}"),
            &tmp.0,
        );
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
    }
    let id = engine.image_id("ours/app:v1").expect("listed by podman");
    assert_eq!(engine.image_id("ref/app:v1"), Some(id));
    let trees: Vec<_> = [&ours, &reference]
        .iter()
        .enumerate()
        .map(|(i, bin)| {
            let out = tmp.0.join(format!("out-{i}"));
            let dest = format!("dir:{}", out.display());
            let r = copy(
                bin,
                &engine.host,
                "docker-daemon:ours/app:v1",
                &dest,
                &tmp.0,
            );
            assert_eq!(r.code, 0, "{}", r.stderr);
            tree(&out)
        })
        .collect();
    assert_eq!(trees[0], trees[1]);
    let args = [
        "inspect",
        "--daemon-host",
        &engine.host,
        "docker-daemon:ours/app:v1",
    ];
    assert_eq!(run(&ours, &args, &tmp.0), run(&reference, &args, &tmp.0));
}

#[test]
fn a_daemon_on_tcp_is_spoken_to_over_tls_with_the_cert_dirs_keys() {
    let tmp = TempDir::new("daemon-tls");
    let Some((engine, addr, certs)) = DockerEngine::start_tls(&tmp.0) else {
        return;
    };
    let ours = our_skopeo();
    let example = example_layout(&tmp.0);
    let src = format!("oci:{}:demo", example.display());
    let certs = certs.display().to_string();
    let with_certs = [
        "--insecure-policy",
        "copy",
        "-q",
        "--dest-daemon-host",
        &addr,
        "--dest-cert-dir",
        &certs,
        &src,
        "docker-daemon:tls/app:v1",
    ];
    let r = run(&ours, &with_certs, &tmp.0);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(engine.image_id("tls/app:v1").is_some());
    // Back out through the same TLS, as skopeo reads it.
    let out = tmp.0.join("out");
    let read = [
        "--insecure-policy",
        "copy",
        "-q",
        "--src-daemon-host",
        &addr,
        "--src-cert-dir",
        &certs,
        "docker-daemon:tls/app:v1",
        &format!("dir:{}", out.display()),
    ];
    let r = run(&ours, &read, &tmp.0);
    assert_eq!(r.code, 0, "{}", r.stderr);
    if let Some(reference) = reference_skopeo() {
        let theirs = tmp.0.join("theirs");
        let mut args = read.to_vec();
        let dest = format!("dir:{}", theirs.display());
        *args.last_mut().unwrap() = &dest;
        let r = run(&reference, &args, &tmp.0);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(tree(&out), tree(&theirs));
    }
    // Without the certificate directory the daemon's certificate is not trusted.
    let r = run(
        &ours,
        &with_certs[..5]
            .iter()
            .chain(&with_certs[7..])
            .copied()
            .collect::<Vec<_>>(),
        &tmp.0,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
}
