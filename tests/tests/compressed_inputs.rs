//! Inputs compressed with any algorithm skopeo reads (gzip, zstd, bzip2, xz): `docker save`
//! archives compressed whole, and layers compressed with bzip2 or xz inside layouts, side
//! by side with skopeo 1.9.3.

use skopeo_integration_tests::*;
use std::path::Path;
use std::process::Command;

/// `tool -c < from > to`, or false when the tool is not installed.
fn compress_with(tool: &str, from: &Path, to: &Path) -> bool {
    let Ok(input) = std::fs::File::open(from) else {
        return false;
    };
    let Ok(output) = std::fs::File::create(to) else {
        return false;
    };
    Command::new(tool)
        .arg("-c")
        .stdin(input)
        .stdout(output)
        .status()
        .is_ok_and(|s| s.success())
}

fn copy(bin: &Path, src: &str, dest: &str, extra: &[&str], cwd: &Path) -> RunResult {
    let mut args = vec!["--insecure-policy", "copy", "-q"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[src, dest]);
    run(bin, &args, cwd)
}

#[test]
fn archives_compressed_whole_are_read_as_skopeo_reads_them() {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("compressed-archives");
    let cwd = tmp.0.clone();
    let layout = example_layout(&tmp.0);
    let plain = tmp.0.join("saved.tar");
    let made = copy(
        &reference,
        &format!("oci:{}:demo", layout.display()),
        &format!("docker-archive:{}:example.com/app:v1", plain.display()),
        &[],
        &cwd,
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    let ours = our_skopeo();
    let expected = {
        let dest = tmp.0.join("from-plain");
        let r = copy(
            &ours,
            &format!("docker-archive:{}", plain.display()),
            &format!("dir:{}", dest.display()),
            &[],
            &cwd,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        tree(&dest)
    };
    // skopeo 1.9.3 fails on gzip-compressed archives ("unexpected EOF"); we read them.
    for (tool, ext, side_by_side) in [
        ("xz", "xz", true),
        ("bzip2", "bz2", true),
        ("zstd", "zst", true),
        ("gzip", "gz", false),
    ] {
        let packed = tmp.0.join(format!("saved.tar.{ext}"));
        if !compress_with(tool, &plain, &packed) {
            eprintln!("skipping {tool}: not installed");
            continue;
        }
        let name = format!("docker-archive:{}", packed.display());
        if side_by_side {
            for args in [
                vec!["list-tags", name.as_str()],
                vec!["inspect", &name],
                vec!["inspect", "--raw", &name],
                vec!["inspect", "--config", &name],
            ] {
                assert_same(&args, &cwd);
            }
        }
        let mut trees = Vec::new();
        for (who, bin) in [("ours", &ours), ("skopeo", &reference)] {
            if who == "skopeo" && !side_by_side {
                continue;
            }
            let dest = tmp.0.join(format!("{who}-{ext}"));
            let r = copy(bin, &name, &format!("dir:{}", dest.display()), &[], &cwd);
            assert_eq!(r.code, 0, "{who} {ext}: {}", r.stderr);
            trees.push(tree(&dest));
        }
        for t in trees {
            assert_eq!(t, expected, "{ext}");
        }
    }

    // A truncated xz archive is an error naming the archive, and writes nothing.
    let packed = std::fs::read(tmp.0.join("saved.tar.xz")).unwrap_or_default();
    if !packed.is_empty() {
        let cut = tmp.0.join("cut.tar.xz");
        std::fs::write(&cut, &packed[..packed.len() / 2]).unwrap();
        let dest = tmp.0.join("cut-out");
        let r = copy(
            &ours,
            &format!("docker-archive:{}", cut.display()),
            &format!("dir:{}", dest.display()),
            &[],
            &cwd,
        );
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stderr.contains("cut.tar.xz"), "{}", r.stderr);
        assert!(!dest.exists());
    }
}

/// A tar holding one file, `name` with `content`.
fn one_file_tar(name: &str, content: &[u8]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(1_600_000_000);
    header.set_cksum();
    builder.append_data(&mut header, name, content).unwrap();
    builder.into_inner().unwrap()
}

fn compressed(tool: &str, data: &[u8], tmp: &Path) -> Option<Vec<u8>> {
    let from = tmp.join(format!("{tool}.in"));
    let to = tmp.join(format!("{tool}.out"));
    std::fs::write(&from, data).unwrap();
    compress_with(tool, &from, &to).then(|| std::fs::read(&to).unwrap())
}

#[test]
fn bzip2_and_xz_layers_are_read_as_skopeo_reads_them() {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("compressed-layers");
    let cwd = tmp.0.clone();
    let xz_tar = one_file_tar("etc/xz.txt", &noise(300_000, 3));
    let bz_tar = one_file_tar("etc/bz.txt", b"bzip2 layer\n");
    let (Some(xz), Some(bz)) = (
        compressed("xz", &xz_tar, &tmp.0),
        compressed("bzip2", &bz_tar, &tmp.0),
    ) else {
        eprintln!("skipping: xz or bzip2 not installed");
        return;
    };
    let layer = |blob: Vec<u8>, plain: &[u8]| TestLayer {
        blob,
        media_type: "application/vnd.oci.image.layer.v1.tar",
        diff_id: skopeo_core::digest::Digest::sha256_of(plain).to_string(),
    };
    let src = write_layout(
        &tmp.0.join("src"),
        "v1",
        &[layer(xz, &xz_tar), layer(bz, &bz_tar)],
    );
    assert_same(&["inspect", &src], &cwd);
    let ours = our_skopeo();
    // Kept as they are, decompressed into a directory, and into a docker archive.
    for (label, dest, extra) in [
        ("oci", "oci:{}:v1", vec![]),
        ("dir-decompressed", "dir:{}", vec!["--dest-decompress"]),
        ("archive", "docker-archive:{}:app:v1", vec![]),
    ] {
        let mut results = Vec::new();
        for (who, bin) in [("ours", &ours), ("skopeo", &reference)] {
            let path = tmp.0.join(format!("{who}-{label}"));
            let name = dest.replace("{}", path.to_str().unwrap());
            let r = copy(bin, &src, &name, &extra, &cwd);
            assert_eq!(r.code, 0, "{who} {label}: {}", r.stderr);
            let contents = if label == "archive" {
                let mut files = Vec::new();
                let bytes = std::fs::read(&path).unwrap();
                for entry in tar::Archive::new(&bytes[..]).entries().unwrap() {
                    let mut entry = entry.unwrap();
                    let name = entry.path().unwrap().to_string_lossy().into_owned();
                    let mut data = Vec::new();
                    std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
                    files.push((name, data));
                }
                files.sort();
                files
            } else {
                tree(&path)
            };
            results.push(contents);
        }
        // Compared by name, size and digest: a difference then reads as one line per file.
        let summary = |files: &Vec<(String, Vec<u8>)>| -> Vec<(String, usize, String)> {
            files
                .iter()
                .map(|(name, data)| {
                    let digest = skopeo_core::digest::Digest::sha256_of(data).to_string();
                    (name.clone(), data.len(), digest)
                })
                .collect()
        };
        assert_eq!(summary(&results[0]), summary(&results[1]), "{label}");
        if label != "oci" {
            // The layers are stored as the plain tars.
            let all: Vec<&Vec<u8>> = results[0].iter().map(|(_, b)| b).collect();
            assert!(all.contains(&&xz_tar) && all.contains(&&bz_tar), "{label}");
        }
    }
}
