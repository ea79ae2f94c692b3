//! Blob uploads cut part-way, or whose session the registry lost, finish without flags: the
//! fault proxy in front of the real docker-registry resets the upload's PATCH or PUT, or
//! answers the PATCH with BLOB_UPLOAD_UNKNOWN; the push asks the session where it stands
//! (GET on its location) or opens a new one, sends the blob again from a fresh read of the
//! source, and the registry ends up with the source's digests.

use skopeo_integration_tests::faults::FaultProxy;
use skopeo_integration_tests::registry::{setup, Flavour, Registry};
use skopeo_integration_tests::*;

/// An image of two noise layers in an OCI layout; its `oci:` name.
fn source(tmp: &std::path::Path) -> String {
    let layers = [1, 2].map(|i| TestLayer::gzip_stored(&noise(3 << 20, 40 + i)));
    write_layout(&tmp.join("src"), "v1", &layers)
}

fn copy(src: &str, dest: &str, tmp: &std::path::Path) {
    let r = run(
        &our_skopeo(),
        &[
            "--insecure-policy",
            "copy",
            "-q",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            src,
            dest,
        ],
        tmp,
    );
    assert_eq!(r.code, 0, "copy to {dest}: {}", r.stderr);
}

fn raw_manifest(image: &str, tmp: &std::path::Path) -> String {
    let r = run(
        &our_skopeo(),
        &["inspect", "--raw", "--tls-verify=false", image],
        tmp,
    );
    assert_eq!(r.code, 0, "{image}: {}", r.stderr);
    r.stdout
}

/// Every blob the manifest of `image` names is in the registry, whole: a copy out of it
/// verifies each digest.
fn assert_whole(registry: &Registry, repo_tag: &str, tmp: &std::path::Path) {
    let out = tmp.join(format!("check-{}", repo_tag.replace(['/', ':'], "-")));
    copy(
        &registry.image(repo_tag),
        &format!("dir:{}", out.display()),
        tmp,
    );
}

#[test]
fn a_push_whose_patch_is_reset_asks_the_session_and_finishes() {
    let Some(registry) = setup(Flavour::Plain) else {
        return;
    };
    let tmp = TempDir::new("upload-reset");
    let src = source(&tmp.0);
    let rules = serde_json::json!([
        {"match": "^PATCH /v2/up/app/blobs/uploads/", "count": 1, "reset": true},
        {"match": "^PUT /v2/up/app/blobs/uploads/", "count": 1, "reset": true},
    ]);
    let proxy = FaultProxy::start(&registry.addr, rules, &tmp.0);
    copy(&src, &format!("docker://{}/up/app:v1", proxy.addr), &tmp.0);
    let log = proxy.requests();
    let patch_reset = log
        .iter()
        .position(|l| l.starts_with("PATCH ") && l.ends_with(" reset"))
        .unwrap_or_else(|| panic!("no reset PATCH in {log:#?}"));
    // After the cut, the session was asked where it stands, then the blob sent again.
    let after = &log[patch_reset + 1..];
    assert!(
        after
            .iter()
            .any(|l| l.starts_with("GET /v2/up/app/blobs/uploads/")),
        "{log:#?}"
    );
    assert!(
        after
            .iter()
            .any(|l| l.starts_with("PATCH ") && l.ends_with(" 202")),
        "{log:#?}"
    );
    assert!(
        log.iter()
            .any(|l| l.starts_with("PUT ") && l.ends_with(" reset")),
        "{log:#?}"
    );
    let puts = log
        .iter()
        .filter(|l| l.starts_with("PUT /v2/up/app/blobs/uploads/") && l.ends_with(" 201"))
        .count();
    assert_eq!(puts, 3, "both layers and the config committed: {log:#?}");
    assert_eq!(
        raw_manifest(&registry.image("up/app:v1"), &tmp.0),
        raw_manifest(&src, &tmp.0)
    );
    assert_whole(&registry, "up/app:v1", &tmp.0);
}

#[test]
fn a_lost_upload_session_starts_over_in_a_new_one() {
    let Some(registry) = setup(Flavour::Plain) else {
        return;
    };
    let tmp = TempDir::new("upload-lost");
    let src = source(&tmp.0);
    // Registry to registry: the source is read again from the registry it came from.
    let seeded = registry.image("lost/src:v1");
    copy(&src, &seeded, &tmp.0);
    let unknown = r#"{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"blob upload unknown to registry"}]}"#;
    let rules = serde_json::json!([
        {"match": "^PATCH /v2/lost/app/blobs/uploads/", "count": 1, "status": 404, "body": unknown},
    ]);
    let proxy = FaultProxy::start(&registry.addr, rules, &tmp.0);
    copy(
        &seeded,
        &format!("docker://{}/lost/app:v1", proxy.addr),
        &tmp.0,
    );
    let log = proxy.requests();
    let lost = log
        .iter()
        .position(|l| l.starts_with("PATCH ") && l.ends_with(" 404"))
        .unwrap_or_else(|| panic!("no lost session in {log:#?}"));
    assert!(
        log[lost + 1..]
            .iter()
            .any(|l| l.starts_with("POST /v2/lost/app/blobs/uploads/")),
        "a new session after the lost one: {log:#?}"
    );
    assert_eq!(
        raw_manifest(&registry.image("lost/app:v1"), &tmp.0),
        raw_manifest(&seeded, &tmp.0)
    );
    assert_whole(&registry, "lost/app:v1", &tmp.0);
}
