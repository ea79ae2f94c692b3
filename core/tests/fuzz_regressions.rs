//! Every input committed under `fuzz/regressions/TARGET/` (crashes the fuzzers once found,
//! and hostile inputs written by hand) run through the same code its fuzz target runs: each
//! must come back without a panic.

#[path = "../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod fuzz_bodies;

use std::path::Path;

fn run_regressions(target: &str, body: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    inputs.sort();
    assert!(
        !inputs.is_empty(),
        "no regression inputs in {}",
        dir.display()
    );
    let mut failed = Vec::new();
    for input in &inputs {
        let bytes = std::fs::read(input).unwrap();
        if std::panic::catch_unwind(|| body(&bytes)).is_err() {
            failed.push(input.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: these inputs panic: {failed:?}"
    );
}

#[test]
fn references() {
    run_regressions("references", fuzz_bodies::references);
}

#[test]
fn manifests() {
    run_regressions("manifests", fuzz_bodies::manifests);
}

#[test]
fn registry_headers() {
    run_regressions("registry_headers", fuzz_bodies::registry_headers);
}

#[test]
fn config_files() {
    run_regressions("config_files", fuzz_bodies::config_files);
}

#[test]
fn archives() {
    run_regressions("archives", fuzz_bodies::archives);
}

#[test]
fn templates() {
    run_regressions("templates", fuzz_bodies::templates);
}

#[test]
fn signatures() {
    run_regressions("signatures", fuzz_bodies::signatures);
}

#[test]
fn layers() {
    run_regressions("layers", fuzz_bodies::layers);
}
