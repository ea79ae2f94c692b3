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
