//! `sif:` sources side by side with skopeo 1.9.3: SIF files the test builds (a squashfs from
//! `mksquashfs`, a header and descriptors written here as sylabs/sif lays them out), inspected
//! and copied; bad files refused with skopeo's words and nothing written.

use skopeo_integration_tests::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const DESCRIPTOR_LEN: usize = 585;
const MODIFIED_AT: i64 = 1_700_000_000;

/// A SIF file holding `objects` (data type, bytes, partition type) after its header.
fn sif_bytes(objects: &[(i32, &[u8], i32)]) -> Vec<u8> {
    let descriptors_offset = 4096usize;
    let data_offset = (descriptors_offset + objects.len() * DESCRIPTOR_LEN).div_ceil(4096) * 4096;
    let mut descriptors = Vec::new();
    let mut data = Vec::new();
    for (i, (kind, bytes, partition)) in objects.iter().enumerate() {
        let mut d = Vec::with_capacity(DESCRIPTOR_LEN);
        d.extend(kind.to_le_bytes());
        d.push(1); // used
        d.extend((i as u32 + 1).to_le_bytes()); // id
        d.extend(0xf000_0001u32.to_le_bytes()); // group 1
        d.extend(0u32.to_le_bytes()); // linked
        let offset = (data_offset + data.len()) as i64;
        let size = bytes.len() as i64;
        for v in [offset, size, size, MODIFIED_AT, MODIFIED_AT, 0, 0] {
            d.extend(v.to_le_bytes());
        }
        let mut name = [0u8; 128];
        name[..6].copy_from_slice(b"object");
        d.extend(name);
        let mut extra = [0u8; 384];
        if *kind == 0x4004 {
            extra[..4].copy_from_slice(&1i32.to_le_bytes()); // squashfs
            extra[4..8].copy_from_slice(&partition.to_le_bytes());
            extra[8..11].copy_from_slice(b"02\0");
        }
        d.extend(extra);
        assert_eq!(d.len(), DESCRIPTOR_LEN);
        descriptors.extend(d);
        data.extend_from_slice(bytes);
    }
    let mut out = Vec::new();
    let mut launch = [0u8; 32];
    launch[..31].copy_from_slice(b"#!/usr/bin/env run-singularity\n");
    out.extend(launch);
    out.extend(b"SIF_MAGIC\0");
    out.extend(b"01\0");
    out.extend(b"02\0"); // amd64
    out.extend([0x5a; 16]); // UUID
    let header = [
        MODIFIED_AT,
        MODIFIED_AT,
        0,
        objects.len() as i64,
        descriptors_offset as i64,
        descriptors.len() as i64,
        data_offset as i64,
        data.len() as i64,
    ];
    for v in header {
        out.extend(v.to_le_bytes());
    }
    out.resize(descriptors_offset, 0);
    out.extend(descriptors);
    out.resize(data_offset, 0);
    out.extend(data);
    out
}

/// A small root filesystem as a squashfs image, or `None` without squashfs-tools.
fn squashfs(tmp: &Path) -> Option<Vec<u8>> {
    let root = tmp.join("rootfs");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::write(root.join("etc/greeting"), "hello from sif\n").unwrap();
    std::fs::write(root.join("bin/hi"), "#!/bin/sh\necho hi\n").unwrap();
    std::fs::write(root.join("etc/noise"), noise(100_000, 7)).unwrap();
    std::os::unix::fs::symlink("greeting", root.join("etc/link")).unwrap();
    let out = tmp.join("rootfs.squashfs");
    let made = Command::new("mksquashfs")
        .args([root.as_os_str(), out.as_os_str()])
        .args(["-noappend", "-quiet", "-all-root"])
        .output()
        .ok()?;
    assert!(made.status.success(), "{made:?}");
    Some(std::fs::read(out).unwrap())
}

fn tools_present() -> bool {
    ["mksquashfs", "unsquashfs", "fakeroot"].iter().all(|t| {
        Command::new("sh")
            .args(["-c", &format!("command -v {t}")])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// The layer's entries as they matter: name, type, mode, owner, size, link and contents, and
/// the modification time of what comes from the squashfs (the root and the injected script's
/// directory are made at conversion time).
fn layer_entries(dir: &Path) -> Vec<String> {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let digest = manifest["layers"][0]["digest"].as_str().unwrap();
    let bytes = std::fs::read(dir.join(&digest["sha256:".len()..])).unwrap();
    let mut out = Vec::new();
    for entry in tar::Archive::new(&bytes[..]).entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let h = entry.header().clone();
        let made_now = name == "." || name == "./" || name.contains("podman");
        let mtime = if made_now { 0 } else { h.mtime().unwrap() };
        let link = h.link_name().unwrap().map(|l| l.display().to_string());
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        out.push(format!(
            "{name} {:?} {:o} {}:{} {} {link:?} {mtime} {}",
            h.entry_type(),
            h.mode().unwrap(),
            h.uid().unwrap(),
            h.gid().unwrap(),
            data.len(),
            skopeo_core::digest::Digest::sha256_of(&data)
        ));
    }
    out
}

/// The config with the layer digest (which differs per conversion: tar records the files'
/// access and change times) replaced by a placeholder.
fn config_without_layer(dir: &Path) -> String {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let config = manifest["config"]["digest"].as_str().unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let text = std::fs::read_to_string(dir.join(&config["sha256:".len()..])).unwrap();
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar"
    );
    text.replace(&layer["sha256:".len()..], "LAYER")
}

fn write(tmp: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = tmp.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn sif_images_convert_as_skopeo_converts_them() {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    if !tools_present() {
        eprintln!("skipping: squashfs-tools or fakeroot not installed");
        return;
    }
    let tmp = TempDir::new("sif");
    let cwd = tmp.0.clone();
    let squash = squashfs(&tmp.0).unwrap();
    let def = b"Bootstrap: docker\nFrom: busybox\n%environment\n    export GREETING=hello\n    # not this\n%runscript\n    echo \"$GREETING\"\n    exec /bin/hi\n%labels\n    Author nobody\n";
    let with_def = write(
        &tmp.0,
        "with-def.sif",
        &sif_bytes(&[(0x4001, def, 0), (0x4004, &squash, 2)]),
    );
    let plain = write(&tmp.0, "plain.sif", &sif_bytes(&[(0x4004, &squash, 2)]));
    let ours = our_skopeo();
    for (label, file) in [("definition file", &with_def), ("plain", &plain)] {
        let name = format!("sif:{}", file.display());
        let mut results = Vec::new();
        for (who, bin) in [("ours", &ours), ("skopeo", &reference)] {
            let dest = tmp
                .0
                .join(format!("{who}-{}", file.file_stem().unwrap().display()));
            let r = run(
                bin,
                &[
                    "--insecure-policy",
                    "copy",
                    "-q",
                    &name,
                    &format!("dir:{}", dest.display()),
                ],
                &cwd,
            );
            assert_eq!(r.code, 0, "{who} {label}: {}", r.stderr);
            results.push((config_without_layer(&dest), layer_entries(&dest)));
        }
        assert_eq!(results[0], results[1], "{label}");
        let (config, entries) = &results[0];
        let expected_cmd = match label {
            "plain" => r#""Cmd":["bash"]"#,
            _ => r#""Cmd":["/podman/runscript"]"#,
        };
        assert!(config.contains(expected_cmd), "{config}");
        assert!(
            entries.iter().any(|e| e.starts_with("./etc/greeting ")),
            "{entries:?}"
        );
        // inspect --config agrees once the layer digest is set aside.
        let configs: Vec<String> = [&ours, &reference]
            .iter()
            .map(|bin| {
                let r = run(bin, &["inspect", "--config", &name], &cwd);
                assert_eq!(r.code, 0, "{}", r.stderr);
                let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
                let layer = v["rootfs"]["diff_ids"][0].as_str().unwrap().to_owned();
                r.stdout.replace(&layer[7..], "LAYER")
            })
            .collect();
        assert_eq!(configs[0], configs[1], "{label}");
    }
    // The injected script is the definition's environment and runscript.
    let out = tmp.0.join("ours-with-def");
    let entries = layer_entries(&out);
    let script = b"#!/bin/bash\nexport GREETING=hello\necho \"$GREETING\"\nexec /bin/hi\n";
    let script_digest = skopeo_core::digest::Digest::sha256_of(script).to_string();
    assert!(
        entries
            .iter()
            .any(|e| e.starts_with("./podman/runscript Regular 755 0:0")
                && e.ends_with(&script_digest)),
        "{entries:?}"
    );
}

#[test]
fn bad_sif_files_are_refused_as_skopeo_refuses_them_and_nothing_is_written() {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    if !tools_present() {
        eprintln!("skipping: squashfs-tools or fakeroot not installed");
        return;
    }
    let tmp = TempDir::new("sif-bad");
    let cwd = tmp.0.clone();
    let squash = squashfs(&tmp.0).unwrap();
    let good = sif_bytes(&[(0x4004, &squash, 2)]);
    let bad = [
        ("truncated-header.sif", good[..100].to_vec()),
        ("truncated-descriptors.sif", good[..4200].to_vec()),
        ("truncated-partition.sif", good[..good.len() - 10].to_vec()),
        (
            "not-sif.sif",
            b"#!/bin/sh\necho this is a shell script\n".repeat(10),
        ),
        (
            "no-partition.sif",
            sif_bytes(&[(0x4001, b"Bootstrap: docker\n", 0)]),
        ),
        ("data-partition.sif", sif_bytes(&[(0x4004, &squash, 3)])),
        (
            "two-partitions.sif",
            sif_bytes(&[(0x4004, &squash, 2), (0x4004, &squash, 2)]),
        ),
    ];
    for (name, bytes) in &bad {
        let path = write(&tmp.0, name, bytes);
        let image = format!("sif:{}", path.display());
        assert_same(&["inspect", &image], &cwd);
        // skopeo creates the destination directory before it fails; ours writes nothing.
        let copy_to = |bin: &Path, dest: &Path| {
            let dest_name = format!("dir:{}", dest.display());
            run(
                bin,
                &["--insecure-policy", "copy", "-q", &image, &dest_name],
                &cwd,
            )
        };
        let dest = tmp.0.join(format!("out-{name}"));
        let ours = copy_to(&our_skopeo(), &dest);
        let theirs = copy_to(&reference, &tmp.0.join(format!("skopeo-out-{name}")));
        assert_eq!(ours, theirs, "{name}");
        assert_ne!(ours.code, 0, "{name}");
        assert!(!dest.exists(), "{name}: {dest:?} was written");
    }
    // A squashfs that unsquashfs cannot read: refused, worded as the conversion's failure.
    let garbage = write(
        &tmp.0,
        "garbage.sif",
        &sif_bytes(&[(0x4004, &noise(10_000, 3), 2)]),
    );
    let r = run(
        &our_skopeo(),
        &["inspect", &format!("sif:{}", garbage.display())],
        &cwd,
    );
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("converting rootfs from SquashFS to Tarball: converting image: exit status"),
        "{}",
        r.stderr
    );
    assert_same(&["inspect", "sif:/nonexistent/file.sif"], &cwd);
    // Read only, as in skopeo.
    let layout = example_layout(&tmp.0);
    assert_same(
        &[
            "--insecure-policy",
            "copy",
            &format!("oci:{}:demo", layout.display()),
            &format!("sif:{}", tmp.0.join("new.sif").display()),
        ],
        &cwd,
    );
    assert!(!tmp.0.join("new.sif").exists());
}
