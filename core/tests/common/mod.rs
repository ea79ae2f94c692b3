//! Locating the shared upstream fixtures; tests skip (with a message) when they are absent.
#![allow(dead_code)]

use std::path::PathBuf;

/// The fixtures folder: `$SKOPEO_FIXTURES`, or `shared/fixtures` beside the repository.
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

/// A fixture file's bytes, or `None` (with a message) when the fixtures are absent.
pub fn fixture_bytes(rel: &str) -> Option<Vec<u8>> {
    let path = fixtures_dir()?.join(rel);
    Some(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// A fixture parsed as JSON.
pub fn fixture_json(rel: &str) -> Option<serde_json::Value> {
    fixture_bytes(rel).map(|b| serde_json::from_slice(&b).expect("fixture is JSON"))
}
