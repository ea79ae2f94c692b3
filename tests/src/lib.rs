//! Helpers for end-to-end tests: our binary, the reference `/usr/bin/skopeo`, fixtures, and
//! output normalisation for side-by-side comparison.

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
