//! kill -9 at points spread across a 50 MB copy, to `oci:`, `dir:`, `docker-archive:` and a
//! registry: whatever the destination holds afterwards is valid (a layout's `index.json`
//! names only complete, digest-verified blobs; a directory or archive is whole or absent; a
//! tag in the registry has every blob its manifest names), and running the same command
//! again completes the copy.

use skopeo_integration_tests::registry::{setup, Flavour, Registry};
use skopeo_integration_tests::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// Kill points per destination.
const POINTS: u32 = 6;

fn sha256_hex(bytes: &[u8]) -> String {
    skopeo_core::digest::Digest::sha256_of(bytes)
        .hex()
        .to_owned()
}

/// A 50 MB image of five gzip layers (stored, so nothing is slow to make).
fn source_layout(tmp: &Path) -> String {
    let layers: Vec<TestLayer> = (0..5)
        .map(|i| TestLayer::gzip_stored(&noise(10 << 20, 100 + i)))
        .collect();
    write_layout(&tmp.join("src"), "v1", &layers)
}

/// The copy command writing `dest`.
fn copy_args(src: &str, dest: &str) -> Vec<String> {
    [
        "--insecure-policy",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        src,
        dest,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Runs the copy to its end (a fresh destination); how long it took.
fn copy_whole(src: &str, dest: &str, tmp: &Path) -> Duration {
    let started = Instant::now();
    let args = copy_args(src, dest);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run(&our_skopeo(), &args, tmp);
    assert_eq!(r.code, 0, "copy to {dest}: {}", r.stderr);
    started.elapsed()
}

/// Starts the copy and kills it with SIGKILL after `after`.
fn copy_killed(src: &str, dest: &str, after: Duration, tmp: &Path) {
    let mut child = std::process::Command::new(our_skopeo())
        .args(copy_args(src, dest))
        .current_dir(tmp)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    let _ = child.kill();
    let _ = child.wait();
}

/// Reads `path` as a blob and checks it against `digest` (`sha256:HEX`).
fn blob_ok(path: &Path, digest: &str) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    match format!("sha256:{}", sha256_hex(&bytes)) == digest {
        true => Ok(()),
        false => Err(format!("{} does not hold {digest}", path.display())),
    }
}

/// The config and layer digests a manifest names.
fn manifest_blobs(manifest: &[u8]) -> Vec<String> {
    let m: serde_json::Value = serde_json::from_slice(manifest).expect("manifest parses");
    let mut blobs = vec![m["config"]["digest"].as_str().unwrap().to_owned()];
    for layer in m["layers"].as_array().unwrap() {
        blobs.push(layer["digest"].as_str().unwrap().to_owned());
    }
    blobs
}

/// A layout after a kill: no `index.json` yet, or one naming only complete images; whether
/// it names the tag `tag`.
fn layout_valid(root: &Path, tag: &str) -> Result<bool, String> {
    let Ok(index) = std::fs::read(root.join("index.json")) else {
        return Ok(false);
    };
    let index: serde_json::Value =
        serde_json::from_slice(&index).map_err(|e| format!("index.json: {e}"))?;
    let blob = |d: &str| {
        root.join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let manifests = index["manifests"].as_array().ok_or("no manifests")?;
    for m in manifests {
        let digest = m["digest"].as_str().ok_or("descriptor without digest")?;
        blob_ok(&blob(digest), digest)?;
        for d in manifest_blobs(&std::fs::read(blob(digest)).unwrap()) {
            blob_ok(&blob(&d), &d)?;
        }
    }
    Ok(manifests
        .iter()
        .any(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag))
}

/// A `dir:` after a kill: absent, or a whole image.
fn dir_valid(root: &Path) -> Result<bool, String> {
    if !root.exists() {
        return Ok(false);
    }
    let manifest =
        std::fs::read(root.join("manifest.json")).map_err(|e| format!("manifest.json: {e}"))?;
    for d in manifest_blobs(&manifest) {
        blob_ok(&root.join(d.trim_start_matches("sha256:")), &d)?;
    }
    match std::fs::read_to_string(root.join("version")) {
        Ok(v) if v.starts_with("Directory Transport Version") => Ok(true),
        _ => Err("no version file".into()),
    }
}

/// An image name after a kill: missing, or readable whole (every blob digest-verified by a
/// copy out of it).
fn image_valid(image: &str, tmp: &Path, label: &str) -> Result<bool, String> {
    let ours = our_skopeo();
    let inspect = run(
        &ours,
        &["inspect", "--raw", "--tls-verify=false", image],
        tmp,
    );
    if inspect.code != 0 {
        return Ok(false);
    }
    let out = tmp.join(format!("check-{label}"));
    let r = run(
        &ours,
        &[
            "--insecure-policy",
            "copy",
            "-q",
            "--src-tls-verify=false",
            image,
            &format!("oci:{}:c", out.display()),
        ],
        tmp,
    );
    let _ = std::fs::remove_dir_all(&out);
    match r.code {
        0 => Ok(true),
        _ => Err(format!("{image} is there but not whole: {}", r.stderr)),
    }
}

/// Kills copies to `POINTS` destinations made by `dest_for` at points spread across the
/// clean copy's time; checks each with `valid`, then re-runs it to completion.
fn kill_across(
    kind: &str,
    src: &str,
    tmp: &Path,
    dest_for: &dyn Fn(u32) -> String,
    valid: &dyn Fn(u32) -> Result<bool, String>,
) {
    let clean = copy_whole(src, &dest_for(POINTS), tmp);
    eprintln!("{kind}: a clean copy takes {clean:?}");
    assert_eq!(valid(POINTS), Ok(true), "{kind}: the clean copy");
    let mut seen_partial = 0;
    for point in 0..POINTS {
        // Spread over the copy, a little off the even grid so runs differ in where they land.
        let jitter = f64::from((point * 7919 + std::process::id()) % 100) / 400.0;
        let at = clean.mul_f64((f64::from(point) + 0.25 + jitter) / f64::from(POINTS));
        let dest = dest_for(point);
        copy_killed(src, &dest, at, tmp);
        let state = valid(point).unwrap_or_else(|e| panic!("{kind}, killed after {at:?}: {e}"));
        eprintln!("{kind}: killed after {at:?}, complete: {state}");
        seen_partial += u32::from(!state);
        // A kill that came after the end leaves a whole image (an archive is not written
        // again over itself, as in skopeo); else the same command completes it.
        if !state {
            copy_whole(src, &dest, tmp);
        }
        assert_eq!(
            valid(point),
            Ok(true),
            "{kind}: re-run after a kill at {at:?}"
        );
    }
    // Most kills land before the end (a clean copy took {clean:?}).
    assert!(
        seen_partial > 0,
        "{kind}: every kill came after the copy was done"
    );
}

#[test]
fn copies_killed_anywhere_leave_valid_destinations_and_complete_when_run_again() {
    let Some(registry): Option<Registry> = setup(Flavour::Plain) else {
        return;
    };
    let tmp = TempDir::new("kill-points");
    let src = source_layout(&tmp.0);

    let layout = |n: u32| tmp.0.join(format!("layout{n}"));
    kill_across(
        "oci:",
        &src,
        &tmp.0,
        &|n| format!("oci:{}:t{n}", layout(n).display()),
        &|n| layout_valid(&layout(n), &format!("t{n}")),
    );

    let dir = |n: u32| tmp.0.join(format!("dir{n}"));
    kill_across(
        "dir:",
        &src,
        &tmp.0,
        &|n| format!("dir:{}", dir(n).display()),
        &|n| dir_valid(&dir(n)),
    );

    let archive = |n: u32| tmp.0.join(format!("image{n}.tar"));
    kill_across(
        "docker-archive:",
        &src,
        &tmp.0,
        &|n| format!("docker-archive:{}:kill/app:v1", archive(n).display()),
        &|n| match archive(n).exists() {
            false => Ok(false),
            true => image_valid(
                &format!("docker-archive:{}", archive(n).display()),
                &tmp.0,
                "archive",
            ),
        },
    );

    kill_across(
        "docker://",
        &src,
        &tmp.0,
        &|n| registry.image(&format!("kill/app{n}:v1")),
        &|n| {
            image_valid(
                &registry.image(&format!("kill/app{n}:v1")),
                &tmp.0,
                "registry",
            )
        },
    );
}
