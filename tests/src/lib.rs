//! Helpers for end-to-end tests: our binary, the reference `/usr/bin/skopeo`, fixtures, and
//! output normalisation for side-by-side comparison.

pub mod daemon;
pub mod faults;
pub mod gnupg;
pub mod podman;
pub mod registry;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `skopeo` binary built from this workspace (`cargo build` puts it beside the tests).
pub fn our_skopeo() -> PathBuf {
    if let Some(p) = std::env::var_os("SKOPEO_UNDER_TEST") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target directory");
    let bin = dir.join("skopeo");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build` first",
        bin.display()
    );
    bin
}

/// The reference skopeo 1.9.3, or `None` (with a message) when it is not installed.
pub fn reference_skopeo() -> Option<PathBuf> {
    let p = PathBuf::from(
        std::env::var_os("REFERENCE_SKOPEO").unwrap_or_else(|| "/usr/bin/skopeo".into()),
    );
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "skipping side-by-side check: reference skopeo not found at {}",
            p.display()
        );
        None
    }
}

/// The shared upstream fixtures, or `None` (with a message) when absent.
pub fn fixtures_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("SKOPEO_FIXTURES") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"),
    };
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: upstream fixtures not found at {}", dir.display());
        None
    }
}

/// The repository's root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds the bundled example layout into a fresh temporary directory and returns its path.
pub fn example_layout(tmp: &Path) -> PathBuf {
    let out = tmp.join("example-layout");
    let status = Command::new(repo_root().join("examples/build-example.sh"))
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run examples/build-example.sh");
    assert!(status.success(), "building the example layout failed");
    out
}

/// Adds an OCI index `multi` to the example layout: its image for linux/amd64 and a variant
/// of it (same blobs, one more annotation) for linux/arm64.
pub fn add_multi_platform_index(layout: &Path) {
    let put = |bytes: &[u8]| {
        let d = skopeo_core::digest::Digest::sha256_of(bytes);
        std::fs::write(layout.join("blobs/sha256").join(d.hex()), bytes).unwrap();
        d
    };
    let index_path = layout.join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    let image = index["manifests"][0].clone();
    let first_hex = image["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:");
    let mut second: serde_json::Value = serde_json::from_slice(
        &std::fs::read(layout.join("blobs/sha256").join(first_hex)).unwrap(),
    )
    .unwrap();
    second["annotations"] = serde_json::json!({ "variant": "two" });
    let second = serde_json::to_vec(&second).unwrap();
    let second_digest = put(&second);
    let entry = |digest: &str, size: usize, arch: &str| {
        serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest, "size": size,
            "platform": { "architecture": arch, "os": "linux" },
        })
    };
    let multi = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            entry(image["digest"].as_str().unwrap(), image["size"].as_u64().unwrap() as usize, "amd64"),
            entry(&second_digest.to_string(), second.len(), "arm64"),
        ],
    });
    let bytes = serde_json::to_vec(&multi).unwrap();
    let digest = put(&bytes);
    index["manifests"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": digest.to_string(),
            "size": bytes.len(),
            "annotations": { "org.opencontainers.image.ref.name": "multi" },
        }));
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
}

/// A fresh temporary directory under the system's, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates a unique directory named after `label`.
    pub fn new(label: &str) -> Self {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let p =
            std::env::temp_dir().join(format!("skopeo-test-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The result of one run: exit code, stdout, and stderr with log timestamps removed.
#[derive(Debug, PartialEq, Eq)]
pub struct RunResult {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `bin args…` in `cwd`.
pub fn run(bin: &Path, args: &[&str], cwd: &Path) -> RunResult {
    run_with_env(bin, args, cwd, &[])
}

/// Runs `bin args…` in `cwd` with extra environment variables.
pub fn run_with_env(bin: &Path, args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> RunResult {
    let out: Output = Command::new(bin)
        .args(args)
        .current_dir(cwd)
        .envs(env.iter().copied())
        .output()
        .expect("spawn skopeo");
    RunResult {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: strip_log_time(&String::from_utf8_lossy(&out.stderr)),
    }
}

/// Removes logrus's `time="…" ` prefix so two runs' logs compare equal.
pub fn strip_log_time(s: &str) -> String {
    s.lines()
        .map(
            |l| match l.strip_prefix("time=\"").and_then(|r| r.split_once("\" ")) {
                Some((_, rest)) => rest.to_owned(),
                None => l.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs the same command with ours and the reference and asserts identical results.
pub fn assert_same(args: &[&str], cwd: &Path) {
    assert_same_with_env(args, cwd, &[]);
}

/// [`assert_same`] with extra environment variables for both runs.
pub fn assert_same_with_env(args: &[&str], cwd: &Path, env: &[(&str, &str)]) {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let ours = run_with_env(&our_skopeo(), args, cwd, env);
    let theirs = run_with_env(&reference, args, cwd, env);
    assert_eq!(
        ours,
        theirs,
        "skopeo {} differs from the reference",
        args.join(" ")
    );
}

/// Every file under `dir` with its bytes, by relative path (nothing when `dir` is missing).
pub fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    if !dir.exists() {
        return out;
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// `len` pseudo-random (incompressible) bytes, the same for the same `seed`.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// One layer of an image [`write_layout`] makes: the blob, its media type, and the digest
/// of its content uncompressed.
pub struct TestLayer {
    pub blob: Vec<u8>,
    pub media_type: &'static str,
    pub diff_id: String,
}

impl TestLayer {
    /// A layer stored as it is (its diff ID is its digest), labelled `media_type`.
    pub fn plain(blob: Vec<u8>, media_type: &'static str) -> Self {
        let diff_id = skopeo_core::digest::Digest::sha256_of(&blob).to_string();
        TestLayer {
            blob,
            media_type,
            diff_id,
        }
    }
}

impl TestLayer {
    /// A gzip layer of `content` in stored (uncompressed) deflate blocks: large layers made
    /// at once.
    pub fn gzip_stored(content: &[u8]) -> Self {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
        std::io::Write::write_all(&mut gz, content).unwrap();
        TestLayer {
            blob: gz.finish().unwrap(),
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip",
            diff_id: skopeo_core::digest::Digest::sha256_of(content).to_string(),
        }
    }
}

/// Writes an OCI layout at `root` holding one linux/amd64 image of `layers`, tagged `tag`;
/// returns its `oci:ROOT:TAG` name.
pub fn write_layout(root: &Path, tag: &str, layers: &[TestLayer]) -> String {
    write_layout_with_config(root, tag, layers, serde_json::json!({}))
}

/// [`write_layout`] with the fields of `extra` (history, config, ...) added to the config.
pub fn write_layout_with_config(
    root: &Path,
    tag: &str,
    layers: &[TestLayer],
    extra: serde_json::Value,
) -> String {
    let blobs = root.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let d = skopeo_core::digest::Digest::sha256_of(bytes);
        std::fs::write(blobs.join(d.hex()), bytes).unwrap();
        (d.to_string(), bytes.len())
    };
    let descriptors: Vec<_> = layers
        .iter()
        .map(|l| {
            let (digest, size) = put(&l.blob);
            serde_json::json!({ "mediaType": l.media_type, "digest": digest, "size": size })
        })
        .collect();
    let mut config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": { "type": "layers", "diff_ids": layers.iter().map(|l| &l.diff_id).collect::<Vec<_>>() },
    });
    for (key, value) in extra
        .as_object()
        .expect("extra config fields are an object")
    {
        config[key] = value.clone();
    }
    let (config_digest, config_size) = put(&serde_json::to_vec(&config).unwrap());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": config_digest, "size": config_size },
        "layers": descriptors,
    });
    let (digest, size) = put(&serde_json::to_vec(&manifest).unwrap());
    let index = serde_json::json!({ "schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": size,
        "annotations": { "org.opencontainers.image.ref.name": tag },
    }]});
    std::fs::write(root.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(
        root.join("oci-layout"),
        br#"{"imageLayoutVersion": "1.0.0"}"#,
    )
    .unwrap();
    format!("oci:{}:{tag}", root.display())
}

/// A fresh GPG home with one passphrase-less signing key; returns (home, fingerprint), or
/// `None` when gpg is not installed.
pub fn gpg_signing_key(tmp: &Path) -> Option<(String, String)> {
    let home = tmp.join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    let mut perms = std::fs::metadata(&home).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o700);
    std::fs::set_permissions(&home, perms).unwrap();
    let made = std::process::Command::new("gpg")
        .env("GNUPGHOME", &home)
        .args(["--batch", "--passphrase", "", "--quick-gen-key"])
        .args([
            "Test Signer <signer@example.com>",
            "ed25519",
            "sign",
            "never",
        ])
        .output();
    let Ok(made) = made else {
        eprintln!("skipping: gpg is not installed");
        return None;
    };
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let listed = std::process::Command::new("gpg")
        .env("GNUPGHOME", &home)
        .args(["--list-keys", "--with-colons"])
        .output()
        .unwrap();
    let text = String::from_utf8(listed.stdout).unwrap();
    let fingerprint = text
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .and_then(|l| l.split(':').find(|f| f.len() == 40))
        .unwrap()
        .to_owned();
    Some((home.display().to_string(), fingerprint))
}

/// Serves `dir` over HTTP on a free port (Python's static server); killed when dropped.
pub struct StaticServer {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT/`.
    pub url: String,
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn serve_directory(dir: &Path) -> StaticServer {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new("python3")
        .args([
            "-u",
            "-m",
            "http.server",
            "0",
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start python3 -m http.server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
    let port = line
        .split("port ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("the server's port");
    StaticServer {
        child,
        url: format!("http://127.0.0.1:{port}/"),
    }
}

/// A `dir:` copy of the bundled example signed by the reference skopeo with `fingerprint`
/// (GPG home `gnupg`, identity example.com/demo:1), with its signature also copied to
/// `signature-2` so numbering is exercised.
pub fn skopeo_signed_dir(reference: &Path, tmp: &Path, gnupg: &str, fingerprint: &str) -> PathBuf {
    let layout = example_layout(tmp);
    let signed = tmp.join("signed");
    let out = run_with_env(
        reference,
        &[
            "--insecure-policy",
            "copy",
            "-q",
            "--sign-by",
            fingerprint,
            "--sign-identity",
            "example.com/demo:1",
            &format!("oci:{}:demo", layout.display()),
            &format!("dir:{}", signed.display()),
        ],
        tmp,
        &[("GNUPGHOME", gnupg)],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    std::fs::copy(signed.join("signature-1"), signed.join("signature-2")).unwrap();
    signed
}

/// Runs `bin --insecure-policy sync ARGS…` in `cwd`.
pub fn sync(bin: &Path, args: &[&str], cwd: &Path) -> RunResult {
    let mut all = vec!["--insecure-policy", "sync"];
    all.extend_from_slice(args);
    run(bin, &all, cwd)
}
