//! A flaky registry healed without being asked: the fault proxy in front of a real
//! docker-registry answers 503, 500, 429 with `Retry-After`, and drops connections; pulls and
//! pushes still finish with no retry flags, with the source's digests, and the proxy's log
//! shows each fault was met and the request made again. A fault that persists fails within
//! the bounded time, with the registry's words, and nothing written.

use skopeo_integration_tests::faults::FaultProxy;
use skopeo_integration_tests::registry::{setup, Flavour};
use skopeo_integration_tests::*;

/// Pushes the example straight to the registry as `repo_tag`; returns the example's name
/// and the pushed image's.
fn seeded(
    registry: &skopeo_integration_tests::registry::Registry,
    tmp: &std::path::Path,
    repo_tag: &str,
) -> (String, String) {
    let layout = example_layout(tmp);
    let src = format!("oci:{}:demo", layout.display());
    let direct = registry.image(repo_tag);
    let flags = ["--insecure-policy", "copy", "-q", "--dest-tls-verify=false"];
    let r = run(
        &our_skopeo(),
        &[&flags[..], &[src.as_str(), direct.as_str()]].concat(),
        tmp,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    (src, direct)
}

#[test]
fn pulls_and_pushes_heal_through_transient_faults() {
    let Some(registry) = setup(Flavour::Plain) else {
        return;
    };
    let tmp = TempDir::new("faults");
    let ours = our_skopeo();
    let (src, direct) = seeded(&registry, &tmp.0, "faulty/app:v1");
    let rules = serde_json::json!([
        {"match": "^GET /v2/faulty/app/manifests/", "count": 2, "status": 503},
        {"match": "^GET /v2/faulty/app/blobs/", "count": 1, "status": 429, "retry_after": "1"},
        {"match": "^GET /v2/faulty/app/blobs/", "count": 1, "reset": true},
        {"match": "^GET /v2/faulty/app/blobs/", "count": 1, "status": 502},
        {"match": "^PUT /v2/pushed/app/manifests/", "count": 1, "status": 429, "retry_after": "1"},
        {"match": "^HEAD /v2/pushed/app/blobs/", "count": 1, "status": 500},
    ]);
    let proxy = FaultProxy::start(&registry.addr, rules, &tmp.0);
    let pulled = tmp.0.join("pulled");
    let r = run(
        &ours,
        &[
            "--insecure-policy",
            "copy",
            "-q",
            "--src-tls-verify=false",
            &format!("docker://{}/faulty/app:v1", proxy.addr),
            &format!("dir:{}", pulled.display()),
        ],
        &tmp.0,
    );
    assert_eq!(r.code, 0, "pull: {}", r.stderr);
    let raw = run(
        &ours,
        &["inspect", "--raw", "--tls-verify=false", &direct],
        &tmp.0,
    )
    .stdout;
    assert_eq!(
        std::fs::read_to_string(pulled.join("manifest.json")).unwrap(),
        raw
    );
    // A push through the same proxy, with its own faults.
    let r = run(
        &ours,
        &[
            "--insecure-policy",
            "copy",
            "-q",
            "--dest-tls-verify=false",
            &src,
            &format!("docker://{}/pushed/app:v1", proxy.addr),
        ],
        &tmp.0,
    );
    assert_eq!(r.code, 0, "push: {}", r.stderr);
    let pushed = run(
        &ours,
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &registry.image("pushed/app:v1"),
        ],
        &tmp.0,
    )
    .stdout;
    assert_eq!(pushed, raw);
    // Every fault was met, and each request was made again after it.
    let log = proxy.requests();
    for outcome in [" 503", " 429", " reset", " 502", " 500"] {
        assert!(
            log.iter().any(|l| l.ends_with(outcome)),
            "no{outcome} in {log:#?}"
        );
    }
    let manifest_gets: Vec<&String> = log
        .iter()
        .filter(|l| l.starts_with("GET /v2/faulty/app/manifests/"))
        .collect();
    assert!(
        manifest_gets.iter().any(|l| l.ends_with(" 200")),
        "{log:#?}"
    );
    let manifest_puts: Vec<&String> = log
        .iter()
        .filter(|l| l.starts_with("PUT /v2/pushed/app/manifests/"))
        .collect();
    assert_eq!(manifest_puts.len(), 2, "{log:#?}");
}

#[test]
fn a_fault_that_persists_fails_in_bounded_time_with_nothing_written() {
    let Some(registry) = setup(Flavour::Plain) else {
        return;
    };
    let tmp = TempDir::new("faults-persist");
    let ours = our_skopeo();
    seeded(&registry, &tmp.0, "stuck/app:v1");
    let rules = serde_json::json!([{"match": "^GET /v2/stuck/app/manifests/", "count": 1000, "status": 503}]);
    let proxy = FaultProxy::start(&registry.addr, rules, &tmp.0);
    let dest = tmp.0.join("never");
    let started = std::time::Instant::now();
    let r = run(
        &ours,
        &[
            "--insecure-policy",
            "copy",
            "--src-tls-verify=false",
            &format!("docker://{}/stuck/app:v1", proxy.addr),
            &format!("dir:{}", dest.display()),
        ],
        &tmp.0,
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("503") || r.stderr.to_lowercase().contains("unavailable"),
        "{}",
        r.stderr
    );
    assert!(!dest.exists());
    let attempts = proxy
        .requests()
        .iter()
        .filter(|l| l.starts_with("GET /v2/stuck/app/manifests/"))
        .count();
    // Five attempts, waiting at most 1 + 2 + 4 + 8 seconds.
    assert_eq!(attempts, 5, "{:#?}", proxy.requests());
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}
