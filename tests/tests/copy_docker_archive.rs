//! Writing `docker-archive:` side by side with skopeo 1.9.3: the same files in the archive
//! (layers uncompressed, config, manifest.json with every tag, repositories, legacy layer
//! directories), archives skopeo reads as it reads its own, existing archives refused, and
//! `/dev/stdout` carrying nothing but the archive.

use skopeo_integration_tests::*;
use std::collections::BTreeMap;
use std::path::Path;

/// An archive's entries: regular files by content, symlinks by target (directories and
/// header details such as modes and times aside).
fn entries(archive: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in tar::Archive::new(archive).entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry
            .path()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches('/')
            .to_owned();
        let kind = entry.header().entry_type();
        if kind.is_symlink() {
            let target = entry
                .link_name()
                .unwrap()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.insert(name, format!("-> {target}").into_bytes());
        } else if kind.is_file() {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
            out.insert(name, bytes);
        }
    }
    out
}

fn copy(bin: &Path, args: &[&str], cwd: &Path) -> RunResult {
    let mut all = vec!["--insecure-policy", "copy", "-q"];
    all.extend_from_slice(args);
    run(bin, &all, cwd)
}

#[test]
fn docker_archives_hold_what_skopeo_puts_in_them() {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("copy-docker-archive-write");
    let layout = example_layout(&tmp.0);
    add_multi_platform_index(&layout);
    let ours = our_skopeo();
    let mut archives = Vec::new();
    for (who, bin) in [("ours", &ours), ("skopeo", &reference)] {
        let path = tmp.0.join(format!("{who}.tar"));
        let out = copy(
            bin,
            &[
                "--additional-tag",
                "busybox:extra",
                "--additional-tag",
                "quay.io/a/b:c",
                &format!("oci:{}:demo", layout.display()),
                &format!("docker-archive:{}:example.com/demo/app:v1", path.display()),
            ],
            &tmp.0,
        );
        assert_eq!(out.code, 0, "{who}: {}", out.stderr);
        archives.push(path);
    }
    let (a, b) = (
        std::fs::read(&archives[0]).unwrap(),
        std::fs::read(&archives[1]).unwrap(),
    );
    assert_eq!(entries(&a), entries(&b));

    // skopeo reads ours as it reads its own, by every tag.
    for tag in [
        "",
        ":example.com/demo/app:v1",
        ":busybox:extra",
        ":quay.io/a/b:c",
        ":@0",
    ] {
        let inspect = |path: &Path| {
            let out = run(
                &reference,
                &[
                    "inspect",
                    &format!("docker-archive:{}{tag}", path.display()),
                ],
                &tmp.0,
            );
            assert_eq!(out.code, 0, "{tag}: {}", out.stderr);
            out.stdout
        };
        assert_eq!(inspect(&archives[0]), inspect(&archives[1]), "{tag}");
    }

    // A multi-platform source: the chosen image, as skopeo chooses it.
    let multi = |who: &str| tmp.0.join(format!("multi-{who}.tar"));
    for (who, bin) in [("ours", &ours), ("skopeo", &reference)] {
        let out = copy(
            bin,
            &[
                "--override-arch",
                "arm64",
                &format!("oci:{}:multi", layout.display()),
                &format!("docker-archive:{}", multi(who).display()),
            ],
            &tmp.0,
        );
        assert_eq!(out.code, 0, "{who}: {}", out.stderr);
    }
    assert_eq!(
        entries(&std::fs::read(multi("ours")).unwrap()),
        entries(&std::fs::read(multi("skopeo")).unwrap())
    );

    // An existing archive is not modified by either.
    let before = std::fs::read(&archives[0]).unwrap();
    let dest = format!("docker-archive:{}:x/y:z", archives[0].display());
    let src = format!("oci:{}:demo", layout.display());
    let (o, r) = (
        copy(&ours, &[&src, &dest], &tmp.0),
        copy(&reference, &[&src, &dest], &tmp.0),
    );
    assert_eq!(
        (o.code, strip_log_time(&o.stderr)),
        (r.code, strip_log_time(&r.stderr))
    );
    assert_eq!(std::fs::read(&archives[0]).unwrap(), before);

    // To standard output: the archive alone on stdout, progress on stderr.
    let out = std::process::Command::new(&ours)
        .args([
            "--insecure-policy",
            "copy",
            &src,
            "docker-archive:/dev/stdout:x/y:z",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let streamed = entries(&out.stdout);
    assert!(
        streamed.contains_key("manifest.json"),
        "{:?}",
        streamed.keys()
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Writing manifest to image destination"));
}
