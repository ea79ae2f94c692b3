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

/// An OCI layout tagged `dup` whose layers are a tar, the same tar gzipped, and another tar
/// gzipped: three layers, two distinct contents once uncompressed.
fn layout_with_repeated_content(root: &Path) -> String {
    use std::io::Write;
    let tar_of = |name: &str, body: &[u8]| {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, body).unwrap();
        builder.into_inner().unwrap()
    };
    let gzipped = |tar: &TestLayer| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar.blob).unwrap();
        TestLayer {
            blob: gz.finish().unwrap(),
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip",
            diff_id: tar.diff_id.clone(),
        }
    };
    let plain = "application/vnd.oci.image.layer.v1.tar";
    // Large enough to be streamed into the archive with direct writes (several staged
    // blocks, a tail, entries starting off the disk's block boundaries).
    let first = TestLayer::plain(tar_of("a", &noise(1_000_003, 7)), plain);
    let second = TestLayer::plain(tar_of("b", &vec![b'b'; 5000]), plain);
    let (first_gz, second_gz) = (gzipped(&first), gzipped(&second));
    write_layout(root, "dup", &[first, first_gz, second_gz])
}

#[test]
fn layers_with_the_same_content_are_archived_once_as_skopeo_does() {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("copy-docker-archive-repeated");
    let src = layout_with_repeated_content(&tmp.0.join("layout"));
    let ours = our_skopeo();
    let mut archives = Vec::new();
    for (who, bin) in [("ours", &ours), ("skopeo", &reference)] {
        let path = tmp.0.join(format!("{who}.tar"));
        let dest = format!("docker-archive:{}:example.com/dup:v1", path.display());
        let out = copy(bin, &[&src, &dest], &tmp.0);
        assert_eq!(out.code, 0, "{who}: {}", out.stderr);
        archives.push(std::fs::read(&path).unwrap());
    }
    let (a, b) = (entries(&archives[0]), entries(&archives[1]));
    assert_eq!(a, b);
    let layers = a.keys().filter(|k| !k.contains('/') && k.ends_with(".tar"));
    assert_eq!(layers.count(), 2, "{:?}", a.keys());
    // Every entry once: the duplicate taken back out leaves nothing behind.
    let names: Vec<String> = tar::Archive::new(&archives[0][..])
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    // Nothing staged or half-written is left beside the archive.
    let left: Vec<_> = std::fs::read_dir(&tmp.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 3, "{left:?}");
}

/// `archive` with every layer file (`*.tar` at the top) gzipped in place, as some tools
/// write docker archives.
fn with_gzipped_layers(archive: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut out = tar::Builder::new(Vec::new());
    for entry in tar::Archive::new(archive).entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut header = entry.header().clone();
        let name = entry.path().unwrap().display().to_string();
        let mut body = Vec::new();
        entry.read_to_end(&mut body).unwrap();
        if header.entry_type().is_file() && !name.contains('/') && name.ends_with(".tar") {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&body).unwrap();
            body = gz.finish().unwrap();
            header.set_size(body.len() as u64);
            header.set_cksum();
        }
        out.append(&header, &body[..]).unwrap();
    }
    out.into_inner().unwrap()
}

#[test]
fn compressed_layers_in_an_archive_are_read_as_skopeo_reads_them() {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("copy-docker-archive-gzipped");
    let layout = example_layout(&tmp.0);
    let saved = tmp.0.join("saved.tar");
    let src = format!("oci:{}:demo", layout.display());
    let out = copy(
        &reference,
        &[&src, &format!("docker-archive:{}:a/b:c", saved.display())],
        &tmp.0,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let gzipped = tmp.0.join("gzipped.tar");
    std::fs::write(
        &gzipped,
        with_gzipped_layers(&std::fs::read(&saved).unwrap()),
    )
    .unwrap();
    let name = format!("docker-archive:{}", gzipped.display());

    let ours = our_skopeo();
    let mut trees = Vec::new();
    for (who, bin) in [("ours", &ours), ("skopeo", &reference)] {
        let dir = tmp.0.join(format!("{who}-dir"));
        let out = copy(bin, &[&name, &format!("dir:{}", dir.display())], &tmp.0);
        assert_eq!(out.code, 0, "{who}: {}", out.stderr);
        trees.push(tree(&dir));
    }
    assert_eq!(trees[0], trees[1]);
    // The layers arrive uncompressed, under the config's diff IDs, as from the plain archive.
    let plain = tmp.0.join("plain-dir");
    let out = copy(
        &ours,
        &[
            &format!("docker-archive:{}", saved.display()),
            &format!("dir:{}", plain.display()),
        ],
        &tmp.0,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(trees[0], tree(&plain));
}
