//! Blob downloads cut part-way resume instead of starting over: the fault proxy in front of
//! the real docker-registry cuts a layer's body, stalls it, or ignores the `Range` of the
//! resumed request; the copy still finishes with the source's bytes, and the proxy's log
//! shows the second request asked for the rest from the byte where the first stopped.

use skopeo_integration_tests::faults::FaultProxy;
use skopeo_integration_tests::registry::{setup, Flavour, Registry};
use skopeo_integration_tests::*;

/// The layer's size: large enough that a cut lands well inside it.
const LAYER: usize = 8 << 20;

/// Pushes a one-layer image of noise straight to the registry as `repo:v1` (the push
/// compresses the layer); returns the pushed layer's digest.
fn seeded(registry: &Registry, tmp: &std::path::Path, repo: &str) -> String {
    let layer = TestLayer::plain(noise(LAYER, 7), "application/vnd.oci.image.layer.v1.tar");
    let layout = write_layout(&tmp.join("src"), "v1", &[layer]);
    let r = run(
        &our_skopeo(),
        &[
            "--insecure-policy",
            "copy",
            "-q",
            "--dest-tls-verify=false",
            &layout,
            &registry.image(&format!("{repo}:v1")),
        ],
        tmp,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let image = registry.image(&format!("{repo}:v1"));
    let raw = run(
        &our_skopeo(),
        &["inspect", "--raw", "--tls-verify=false", &image],
        tmp,
    );
    let manifest: serde_json::Value = serde_json::from_str(&raw.stdout).unwrap();
    manifest["layers"][0]["digest"].as_str().unwrap().to_owned()
}

/// Whether the file at `path` holds exactly the blob `digest`.
fn holds(path: &std::path::Path, digest: &str) -> bool {
    let bytes = std::fs::read(path).unwrap();
    skopeo_core::digest::Digest::sha256_of(&bytes).to_string() == digest
}

/// The proxy's log lines for GETs of the blob `digest`.
fn blob_gets(proxy: &FaultProxy, digest: &str) -> Vec<String> {
    proxy
        .requests()
        .into_iter()
        .filter(|l| l.starts_with("GET ") && l.contains(&format!("/blobs/{digest}")))
        .collect()
}

/// The offset a logged request's `range=bytes=N-` asks from.
fn range_start(line: &str) -> Option<u64> {
    let range = line.split(" range=bytes=").nth(1)?;
    range.strip_suffix('-')?.parse().ok()
}

fn pull_to(dest: &str, proxy: &FaultProxy, repo: &str, env: &[(&str, &str)], tmp: &TempDir) {
    let r = run_with_env(
        &our_skopeo(),
        &[
            "--insecure-policy",
            "copy",
            "-q",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            &format!("docker://{}/{repo}:v1", proxy.addr),
            dest,
        ],
        &tmp.0,
        env,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn a_cut_download_resumes_from_where_it_stopped() {
    let Some(registry) = setup(Flavour::Plain) else {
        return;
    };
    let tmp = TempDir::new("resume-cut");
    let digest = seeded(&registry, &tmp.0, "cut/app");
    let cut_at = 3 << 20;
    let rules = serde_json::json!([
        {"match": format!("^GET /v2/cut/app/blobs/{digest}"), "count": 1, "cut_after": cut_at},
    ]);
    let proxy = FaultProxy::start(&registry.addr, rules, &tmp.0);
    let dest = tmp.0.join("pulled");
    pull_to(
        &format!("oci:{}:v1", dest.display()),
        &proxy,
        "cut/app",
        &[],
        &tmp,
    );
    let hex = digest.strip_prefix("sha256:").unwrap();
    assert!(holds(&dest.join("blobs/sha256").join(hex), &digest));
    let gets = blob_gets(&proxy, &digest);
    assert_eq!(gets.len(), 2, "{gets:#?}");
    assert!(gets[0].ends_with(" cut"), "{gets:#?}");
    // The second request asks for the rest, from a byte the first had reached.
    let from = range_start(&gets[1]).unwrap_or_else(|| panic!("no Range in {gets:#?}"));
    assert!(from > 0 && from <= cut_at, "{gets:#?}");
    assert!(gets[1].contains(" 206 "), "{gets:#?}");
}

#[test]
fn a_registry_ignoring_range_is_read_again_from_the_start() {
    let Some(registry) = setup(Flavour::Plain) else {
        return;
    };
    let tmp = TempDir::new("resume-no-range");
    let digest = seeded(&registry, &tmp.0, "norange/app");
    let blob_path = format!("^GET /v2/norange/app/blobs/{digest}");
    let rules = serde_json::json!([
        {"match": blob_path, "count": 1, "cut_after": 5 << 20},
        {"match": blob_path, "count": 1, "ignore_range": true},
    ]);
    let proxy = FaultProxy::start(&registry.addr, rules, &tmp.0);
    // Registry to registry: the copy's source is cut, its destination the registry itself.
    let dest = registry.image("norange/copied:v1");
    pull_to(&dest, &proxy, "norange/app", &[], &tmp);
    let gets = blob_gets(&proxy, &digest);
    assert_eq!(gets.len(), 2, "{gets:#?}");
    assert!(range_start(&gets[1]).is_some_and(|n| n > 0), "{gets:#?}");
    assert!(gets[1].contains(" 200 "), "{gets:#?}");
    let inspect = |image: &str| {
        let r = run(
            &our_skopeo(),
            &["inspect", "--raw", "--tls-verify=false", image],
            &tmp.0,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout
    };
    assert_eq!(inspect(&dest), inspect(&registry.image("norange/app:v1")));
}

#[test]
fn a_stalled_download_counts_as_cut_and_resumes() {
    let Some(registry) = setup(Flavour::Plain) else {
        return;
    };
    let tmp = TempDir::new("resume-stall");
    let digest = seeded(&registry, &tmp.0, "stall/app");
    let rules = serde_json::json!([
        {"match": format!("^GET /v2/stall/app/blobs/{digest}"), "count": 1,
         "stall_after": 1 << 20, "stall": 120},
    ]);
    let proxy = FaultProxy::start(&registry.addr, rules, &tmp.0);
    let dest = tmp.0.join("pulled");
    // Unless the stall is noticed, the body goes on after two minutes with no second request.
    pull_to(
        &format!("dir:{}", dest.display()),
        &proxy,
        "stall/app",
        &[("SKOPEO_STALL_TIMEOUT", "2")],
        &tmp,
    );
    let hex = digest.strip_prefix("sha256:").unwrap();
    assert!(holds(&dest.join(hex), &digest));
    let gets = blob_gets(&proxy, &digest);
    assert_eq!(gets.len(), 2, "{gets:#?}");
    assert!(gets[0].ends_with(" stalled"), "{gets:#?}");
    assert!(range_start(&gets[1]).is_some_and(|n| n > 0), "{gets:#?}");
}

#[test]
fn a_download_cut_every_time_gives_up_with_nothing_written() {
    let Some(registry) = setup(Flavour::Plain) else {
        return;
    };
    let tmp = TempDir::new("resume-never");
    let digest = seeded(&registry, &tmp.0, "never/app");
    let rules = serde_json::json!([
        {"match": format!("^GET /v2/never/app/blobs/{digest}"), "count": 1000, "cut_after": 0},
    ]);
    let proxy = FaultProxy::start(&registry.addr, rules, &tmp.0);
    let dest = tmp.0.join("never");
    let r = run(
        &our_skopeo(),
        &[
            "--insecure-policy",
            "copy",
            "-q",
            "--src-tls-verify=false",
            &format!("docker://{}/never/app:v1", proxy.addr),
            &format!("dir:{}", dest.display()),
        ],
        &tmp.0,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&digest) || r.stderr.contains("EOF") || r.stderr.contains("reset"),
        "{}",
        r.stderr
    );
    assert!(!dest.exists());
    // The first request, then the resumes allowed without progress; each asked again.
    let gets = blob_gets(&proxy, &digest);
    assert!((2..=12).contains(&gets.len()), "{gets:#?}");
}
