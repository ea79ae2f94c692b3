//! The fault-injecting proxy (`tests/support/fault_proxy.py`) in front of a real registry:
//! started on 127.0.0.1 with a list of faults, its request log read back by the tests.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running proxy; stopped when dropped.
pub struct FaultProxy {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    log: PathBuf,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`HOST:PORT`) applying `rules` (see the script), logging
    /// under `dir`.
    pub fn start(upstream: &str, rules: serde_json::Value, dir: &Path) -> FaultProxy {
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = dir.join(format!("proxy-{}-{n}.log", std::process::id()));
        let script = crate::repo_root().join("tests/support/fault_proxy.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(upstream)
            .arg(rules.to_string())
            .arg(&log)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the fault proxy");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("port ")
            .expect("the proxy's port")
            .to_owned();
        FaultProxy {
            child,
            addr: format!("127.0.0.1:{port}"),
            log,
        }
    }

    /// Every request the proxy saw, as `METHOD PATH OUTCOME`.
    pub fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}
