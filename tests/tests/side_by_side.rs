//! Our skopeo and the reference skopeo 1.9.3 on the same inputs: same bytes, same exit codes.

use skopeo_integration_tests::*;

#[test]
fn manifest_digest_of_every_fixture_manifest() {
    let Some(fx) = fixtures_dir() else { return };
    let mut checked = 0;
    for sub in ["manifests", "manifest-conversions"] {
        for entry in std::fs::read_dir(fx.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap() == "expected-digests.json" {
                continue;
            }
            assert_same(&["manifest-digest", path.to_str().unwrap()], &fx);
            checked += 1;
        }
    }
    assert!(checked > 60, "only {checked} manifests found");
}

#[test]
fn inspect_fixture_layouts() {
    let Some(fx) = fixtures_dir() else { return };
    let cwd = fx.join("layouts-archives");
    let cases: &[&[&str]] = &[
        &["inspect", "dir:dir-uncompressed-image-s1"],
        &["inspect", "dir:dir-uncompressed-image-s2"],
        &["inspect", "--raw", "dir:dir-uncompressed-image-s1"],
        &["inspect", "--config", "dir:dir-uncompressed-image-s1"],
        &[
            "inspect",
            "--config",
            "--raw",
            "dir:dir-uncompressed-image-s1",
        ],
        &["inspect", "--config", "dir:dir-uncompressed-image-s2"],
        &[
            "inspect",
            "--config",
            "--raw",
            "dir:dir-uncompressed-image-s2",
        ],
        &[
            "inspect",
            "oci:oci-layout/delete_image_only_one_image:latest",
        ],
        &[
            "inspect",
            "--config",
            "oci:oci-layout/delete_image_only_one_image:latest",
        ],
        &["inspect", "--raw", "oci:oci-layout/two_images_manifest"],
        &["inspect", "--raw", "oci:oci-layout/name_lookups:a"],
        &["inspect", "--raw", "oci:oci-layout/name_lookups:nope"],
        &[
            "inspect",
            "--format",
            "{{.Created}} {{.Labels}} {{.Layers}} {{.Tag}}",
            "dir:dir-uncompressed-image-s1",
        ],
        &[
            "inspect",
            "--format",
            "json",
            "dir:dir-uncompressed-image-s2",
        ],
        &[
            "inspect",
            "--format",
            "{{range .Env}}{{.}};{{end}}",
            "dir:dir-uncompressed-image-s2",
        ],
        &[
            "inspect",
            "--config",
            "--format",
            "{{.OS}}/{{.Architecture}} {{.RootFS.Type}}",
            "dir:dir-uncompressed-image-s2",
        ],
    ];
    for args in cases {
        assert_same(args, &cwd);
    }
}

#[test]
fn inspect_the_bundled_example() {
    let tmp = TempDir::new("example");
    let layout = example_layout(&tmp.0);
    let name = format!("oci:{}:demo", layout.display());
    for args in [
        vec!["inspect", name.as_str()],
        vec!["inspect", "--raw", name.as_str()],
        vec!["inspect", "--config", name.as_str()],
        vec!["inspect", "--config", "--raw", name.as_str()],
        vec![
            "inspect",
            "--format",
            "{{.Digest}} {{index .Labels \"org.example.purpose\"}} {{.Env}}",
            name.as_str(),
        ],
        vec!["inspect", "--override-arch", "arm64", name.as_str()],
    ] {
        assert_same(&args, &tmp.0);
    }
}

#[test]
fn errors_match_the_reference() {
    let tmp = TempDir::new("errors");
    let cases: &[&[&str]] = &[
        &["inspect"],
        &["inspect", "nocolon"],
        &["inspect", "foo:bar"],
        &["inspect", "docker:busybox"],
        &["inspect", "dir:/nonexistent/dir"],
        &["inspect", "oci:/nonexistent/dir"],
        &["inspect", "oci:/tmp/x:Bad$"],
        &["inspect", "--raw", "--format", "x", "dir:/tmp"],
        &["manifest-digest"],
        &["manifest-digest", "/nonexistent/manifest.json"],
    ];
    for args in cases {
        assert_same(args, &tmp.0);
    }
}

#[test]
fn list_tags_of_docker_archives() {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("archive-tags");
    let layout = example_layout(&tmp.0);
    let src = format!("oci:{}:demo", layout.display());
    let save = |dest: &str, extra: &[&str]| {
        let mut args = vec!["--insecure-policy", "copy", "-q"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[&src, dest]);
        let r = run(&reference, &args, &tmp.0);
        assert_eq!(r.code, 0, "{}", r.stderr);
    };
    // Several tags (one in familiar form), and an untagged image.
    save(
        "docker-archive:tagged.tar:example.com/demo/app:v1",
        &["--additional-tag", "busybox:extra"],
    );
    save("docker-archive:untagged.tar", &[]);
    let gz = std::process::Command::new("sh")
        .args(["-c", "gzip -c tagged.tar > tagged.tar.gz"])
        .current_dir(&tmp.0)
        .status()
        .unwrap();
    assert!(gz.success());
    std::fs::write(tmp.0.join("not-a-tar"), b"hello").unwrap();
    let ours = run(
        &our_skopeo(),
        &["list-tags", "docker-archive:tagged.tar"],
        &tmp.0,
    );
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    assert!(
        ours.stdout.contains("\"docker.io/library/busybox:extra\""),
        "{}",
        ours.stdout
    );
    // skopeo 1.9.3 fails on gzip-compressed archives ("unexpected EOF"); we read them.
    let gzipped = run(
        &our_skopeo(),
        &["list-tags", "docker-archive:tagged.tar.gz"],
        &tmp.0,
    );
    assert_eq!(gzipped, ours);
    for name in [
        "docker-archive:tagged.tar",
        "docker-archive:untagged.tar",
        "docker-archive:missing.tar",
        "docker-archive:not-a-tar",
    ] {
        assert_same(&["list-tags", name], &tmp.0);
    }
    // The upstream two-image archive, decompressed (xz archives are not read yet).
    if let Some(fx) = fixtures_dir() {
        let xz = fx.join("layouts-archives/docker-two-images.tar.xz");
        let unpacked = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("xz -dc '{}' > two.tar", xz.display()))
            .current_dir(&tmp.0)
            .status()
            .unwrap();
        if unpacked.success() {
            assert_same(&["list-tags", "docker-archive:two.tar"], &tmp.0);
        }
    }
}

#[test]
fn inspect_archives() {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("inspect-archives");
    let layout = example_layout(&tmp.0);
    let src = format!("oci:{}:demo", layout.display());
    for dest in [
        "docker-archive:saved.tar:example.com/demo/app:v1",
        "docker-archive:untagged.tar",
        "oci-archive:layout.tar:t1",
    ] {
        let r = run(
            &reference,
            &["--insecure-policy", "copy", "-q", &src, dest],
            &tmp.0,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    for name in [
        "docker-archive:saved.tar",
        "docker-archive:saved.tar:example.com/demo/app:v1",
        "docker-archive:saved.tar:@0",
        "docker-archive:untagged.tar",
        "oci-archive:layout.tar",
        "oci-archive:layout.tar:t1",
        // Images that are not there.
        "docker-archive:saved.tar:example.com/demo/app:v9",
        "docker-archive:saved.tar:@1",
        "oci-archive:layout.tar:missing",
        "docker-archive:missing.tar",
    ] {
        for flag in [None, Some("--raw"), Some("--config")] {
            let mut args = vec!["inspect"];
            args.extend(flag);
            args.push(name);
            assert_same(&args, &tmp.0);
        }
    }
}
