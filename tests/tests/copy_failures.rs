//! Copies that cannot finish: a full disk, a read-only destination, a copy killed part-way.
//! Each ends with a clear error and a non-zero exit, and the destination exactly as it was
//! (same files, same bytes, no space taken by leftovers).

use skopeo_integration_tests::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A tmpfs of a few megabytes mounted for one test (needs root; `None` otherwise).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipping: cannot mount a tmpfs here (needs root)");
            return None;
        }
        Some(Tmpfs(at.to_path_buf()))
    }

    fn remount_read_only(&self) {
        let status = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Bytes in use, as `statfs` counts them.
    fn used(&self) -> u64 {
        let out = Command::new("df")
            .args(["-B1", "--output=used"])
            .arg(&self.0)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        text.lines().nth(1).unwrap().trim().parse().unwrap()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// An OCI layout at `root` holding `big`: `layers` layers of `size` incompressible bytes,
/// labelled gzip (so destinations that compress find them plain and gzip them, slowly).
fn noisy_layout(root: &Path, layers: usize, size: usize) -> String {
    let layers: Vec<TestLayer> = (0..layers)
        .map(|i| {
            TestLayer::plain(
                noise(size, 0x9e37_79b9 + i as u64),
                "application/vnd.oci.image.layer.v1.tar+gzip",
            )
        })
        .collect();
    write_layout(root, "big", &layers)
}

/// Runs our `copy -q ARGS`; returns the exit code and standard error.
fn copy(args: &[&str], cwd: &Path) -> (i32, String) {
    let mut all = vec!["--insecure-policy", "copy", "-q"];
    all.extend_from_slice(args);
    let out = run(&our_skopeo(), &all, cwd);
    (out.code, strip_log_time(&out.stderr))
}

#[test]
fn a_full_disk_or_a_read_only_one_leaves_the_destination_as_it_was() {
    let tmp = TempDir::new("copy-disk-full");
    let Some(disk) = Tmpfs::mount(&tmp.0.join("small"), "8m") else {
        return;
    };
    let example = format!("oci:{}:demo", example_layout(&tmp.0).display());
    let big = noisy_layout(&tmp.0.join("big"), 3, 4 << 20);
    let on_disk = |name: &str| format!("{}/{name}", disk.0.display());
    // Earlier copies that must survive.
    for dest in [
        format!("oci:{}:old", on_disk("layout")),
        format!("dir:{}", on_disk("dir")),
    ] {
        let (code, stderr) = copy(&[&example, &dest], &tmp.0);
        assert_eq!(code, 0, "{stderr}");
    }
    let before = tree(&disk.0);
    let used = disk.used();

    let full = [
        (
            format!("oci:{}:new", on_disk("layout")),
            "/layout/blobs/sha256/",
        ),
        (format!("dir:{}", on_disk("dir")), "/.dir.skopeo-staging/"),
        (
            format!("dir:{}", on_disk("fresh")),
            "/.fresh.skopeo-staging/",
        ),
        (format!("oci-archive:{}", on_disk("a.tar")), "/a.tar"),
        (format!("docker-archive:{}", on_disk("d.tar")), "/d.tar"),
    ];
    for (dest, path) in &full {
        let (code, stderr) = copy(&[&big, dest], &tmp.0);
        assert_eq!(code, 1, "copy to {dest}: {stderr}");
        assert!(
            stderr.contains("no space left on device"),
            "{dest}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("{}{path}", disk.0.display())),
            "{dest}: {stderr}"
        );
        assert_eq!(tree(&disk.0), before, "copy to {dest} changed the disk");
        assert_eq!(disk.used(), used, "copy to {dest} left data behind");
    }

    disk.remount_read_only();
    let read_only = [
        (format!("oci:{}:new", on_disk("layout")), "open"),
        (format!("oci:{}:x", on_disk("newlayout")), "mkdir"),
        (format!("dir:{}", on_disk("new")), "mkdir"),
        (format!("docker-archive:{}", on_disk("d.tar")), "open"),
    ];
    for (dest, op) in &read_only {
        let (code, stderr) = copy(&[&example, dest], &tmp.0);
        assert_eq!(code, 1, "copy to {dest}: {stderr}");
        assert!(
            stderr.contains(&format!("{op} {}", disk.0.display()))
                && stderr.contains("read-only file system"),
            "{dest}: {stderr}"
        );
        assert_eq!(tree(&disk.0), before);
    }
}

/// Starts our copy of `src` to `dest`, sends `signal` once it has run for a while, and
/// returns the exit code and standard error, after checking that the copy's scratch
/// directories are gone.
fn interrupted_copy(
    src: &str,
    dest: &str,
    extra: &[&str],
    signal: &str,
    cwd: &Path,
) -> (i32, String) {
    let mut child = Command::new(our_skopeo())
        .args(["--insecure-policy", "copy", "-q"])
        .args(extra)
        .args([src, dest])
        .current_dir(cwd)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the copy to {dest} ended before it could be interrupted"
    );
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let stderr = strip_log_time(&String::from_utf8_lossy(&out.stderr));
    let left: Vec<String> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("skopeo-") && n.contains(&format!("-{pid}-")))
        .collect();
    assert!(
        left.is_empty(),
        "scratch space left by the copy to {dest}: {left:?}"
    );
    (out.status.code().unwrap_or(-1), stderr)
}

#[test]
fn a_killed_copy_leaves_the_destination_as_it_was() {
    let tmp = TempDir::new("copy-killed");
    let example = format!("oci:{}:demo", example_layout(&tmp.0).display());
    // Gzipping 96 MiB of noise takes seconds: long enough to be interrupted part-way.
    let big = noisy_layout(&tmp.0.join("big"), 2, 48 << 20);
    let dest_root = tmp.0.join("dest");
    std::fs::create_dir_all(&dest_root).unwrap();
    let at = |name: &str| format!("{}/{name}", dest_root.display());
    for dest in [
        format!("oci:{}:old", at("layout")),
        format!("dir:{}", at("dir")),
    ] {
        let (code, stderr) = copy(&[&example, &dest], &tmp.0);
        assert_eq!(code, 0, "{stderr}");
    }
    let before = tree(&dest_root);
    let cases: [(String, &[&str], &str, i32); 4] = [
        (format!("oci:{}:new", at("layout")), &[], "TERM", 143),
        (
            format!("dir:{}", at("dir")),
            &["--dest-compress"],
            "INT",
            130,
        ),
        (format!("oci-archive:{}", at("a.tar")), &[], "TERM", 143),
        (format!("docker-archive:{}", at("d.tar")), &[], "HUP", 129),
    ];
    for (dest, extra, signal, status) in &cases {
        let (code, stderr) = interrupted_copy(&big, dest, extra, signal, &tmp.0);
        assert_eq!(code, *status, "copy to {dest}: {stderr}");
        assert!(stderr.contains("level=fatal"), "{dest}: {stderr}");
        assert!(stderr.contains(&format!("SIG{signal}")), "{dest}: {stderr}");
        assert_eq!(
            tree(&dest_root),
            before,
            "the interrupted copy to {dest} changed it"
        );
    }
}

#[test]
fn a_killed_push_leaves_no_image_in_the_registry() {
    use skopeo_integration_tests::registry::{setup, Flavour};
    let Some(reg) = setup(Flavour::Plain) else {
        return;
    };
    let tmp = TempDir::new("copy-killed-push");
    let big = noisy_layout(&tmp.0.join("big"), 2, 48 << 20);
    let dest = reg.image("killed/big:v1");
    let (code, stderr) =
        interrupted_copy(&big, &dest, &["--dest-tls-verify=false"], "TERM", &tmp.0);
    assert_eq!(code, 143, "{stderr}");
    assert!(stderr.contains("copy interrupted (SIGTERM)"), "{stderr}");
    let out = run(
        &our_skopeo(),
        &["inspect", "--raw", "--tls-verify=false", &dest],
        &tmp.0,
    );
    assert_eq!(out.code, 1, "the image is in the registry: {}", out.stdout);
    assert!(out.stderr.contains("manifest unknown"), "{}", out.stderr);
}

/// Runs our `copy -q ARGS`, killing it if it has not ended within `limit`; the exit code
/// (`None`: it had to be killed) and standard error.
fn copy_within(args: &[&str], cwd: &Path, limit: Duration) -> (Option<i32>, String) {
    let mut child = Command::new(our_skopeo())
        .args(["--insecure-policy", "copy", "-q"])
        .args(args)
        .current_dir(cwd)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let stderr = strip_log_time(&String::from_utf8_lossy(&out.stderr));
    (code.filter(|_| started.elapsed() <= limit), stderr)
}

#[test]
fn a_disk_filling_up_in_the_middle_of_an_archived_layer_fails_the_copy() {
    use std::io::Write;
    let tmp = TempDir::new("copy-disk-full-mid-layer");
    let Some(disk) = Tmpfs::mount(&tmp.0.join("small"), "8m") else {
        return;
    };
    // Really gzipped layers, each larger than the disk once uncompressed: the archive's
    // streamed entry meets the full disk part-way, after chunks have gone through.
    let layers: Vec<TestLayer> = (0..2)
        .map(|i| {
            let tar = noise(6 << 20, 0x5eed + i);
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&tar).unwrap();
            TestLayer {
                diff_id: skopeo_core::digest::Digest::sha256_of(&tar).to_string(),
                blob: gz.finish().unwrap(),
                media_type: "application/vnd.oci.image.layer.v1.tar+gzip",
            }
        })
        .collect();
    let src = write_layout(&tmp.0.join("src"), "big", &layers);
    let dest = format!(
        "docker-archive:{}/d.tar:example.com/big:v1",
        disk.0.display()
    );
    let (code, stderr) = copy_within(&[&src, &dest], &tmp.0, Duration::from_secs(120));
    assert_eq!(code, Some(1), "the copy hung or did not fail: {stderr}");
    assert!(
        stderr.contains(&format!(
            "write {}/d.tar: no space left on device",
            disk.0.display()
        )),
        "{stderr}"
    );
    assert!(tree(&disk.0).is_empty(), "left behind: {:?}", tree(&disk.0));
}
