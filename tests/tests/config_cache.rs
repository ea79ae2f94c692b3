//! The config cache of `inspect` against a real registry: a config read once is not fetched
//! again from the same repository, a damaged entry is refetched, other repositories do not
//! share entries, and `SKOPEO_RS_NO_CACHE=1` turns it off.

use skopeo_integration_tests::registry::{setup, Flavour};
use skopeo_integration_tests::*;
use std::path::{Path, PathBuf};

/// Every file under `dir` (recursively).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn inspect_reuses_verified_configs_per_repository() {
    let Some(reg) = setup(Flavour::Plain) else {
        return;
    };
    for repo_tag in ["cache/one:v1", "cache/two:v1"] {
        if !reg.push(repo_tag, &["--dest-tls-verify=false"]) {
            return;
        }
    }
    let cache = TempDir::new("config-cache");
    let cache_home = cache.0.to_str().unwrap();
    let cwd = reg.dir.0.clone();
    let t = "--tls-verify=false";
    let one = reg.image("cache/one:v1");
    let two = reg.image("cache/two:v1");
    let inspect = |env: &[(&str, &str)], args: &[&str]| {
        let mut all = vec![("XDG_CACHE_HOME", cache_home)];
        all.extend_from_slice(env);
        run_with_env(&our_skopeo(), args, &cwd, &all)
    };

    let config = inspect(&[], &["inspect", t, "--config", "--raw", &one]);
    assert_eq!(config.code, 0, "{}", config.stderr);
    let full = inspect(&[], &["inspect", t, &one]);
    assert_eq!(full.code, 0, "{}", full.stderr);
    let entries = files_under(&cache.0.join("skopeo-rs/configs"));
    assert_eq!(entries.len(), 1, "one config kept: {entries:?}");
    let entry = &entries[0];
    assert_eq!(std::fs::read(entry).unwrap(), config.stdout.as_bytes());

    // A damaged entry is not believed: the config is fetched again and the entry repaired.
    std::fs::write(entry, b"{\"not\":\"the config\"}").unwrap();
    let again = inspect(&[], &["inspect", t, "--config", "--raw", &one]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.stdout, config.stdout);
    assert_eq!(std::fs::read(entry).unwrap(), config.stdout.as_bytes());

    // With the registry's copy of the config gone, the cached one still answers: the second
    // run did not fetch it.
    let raw = inspect(&[], &["inspect", t, "--raw", &one]);
    let manifest: serde_json::Value = serde_json::from_str(&raw.stdout).unwrap();
    let digest = manifest["config"]["digest"].as_str().unwrap();
    let hex = digest.strip_prefix("sha256:").unwrap();
    let blob = reg
        .dir
        .0
        .join("data/docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data");
    std::fs::remove_file(&blob).expect("remove the registry's config blob");
    let cached = inspect(&[], &["inspect", t, &one]);
    assert_eq!(cached.code, 0, "{}", cached.stderr);
    assert_eq!(cached.stdout, full.stdout);

    // Turned off, or for another repository holding the same config, it is fetched (and
    // now fails, since the registry lost it).
    let uncached = inspect(&[("SKOPEO_RS_NO_CACHE", "1")], &["inspect", t, &one]);
    assert_ne!(uncached.code, 0, "fetched from the registry: {uncached:?}");
    let other = inspect(&[], &["inspect", t, &two]);
    assert_ne!(
        other.code, 0,
        "another repository's entry was used: {other:?}"
    );
}
