//! Hostile manifests are refused with an error naming what is wrong, never a panic, and
//! nothing written: JSON nested too deep to read, digests that do not parse or name an
//! unknown algorithm, layer sizes that lie, and a registry manifest over containers/image's
//! 4 MiB limit (served by the fault proxy in front of a real registry).

use skopeo_integration_tests::faults::FaultProxy;
use skopeo_integration_tests::registry::{setup, Flavour};
use skopeo_integration_tests::*;

#[test]
fn hostile_dir_manifests_are_refused_by_name() {
    let tmp = TempDir::new("hostile-manifests");
    let ours = our_skopeo();
    let layout = example_layout(&tmp.0);
    let template = tmp.0.join("template");
    let r = run(
        &ours,
        &[
            "--insecure-policy",
            "copy",
            "-q",
            &format!("oci:{}:demo", layout.display()),
            &format!("dir:{}", template.display()),
        ],
        &tmp.0,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(template.join("manifest.json")).unwrap()).unwrap();
    let with_layer = |field: &str, value: serde_json::Value| {
        let mut m = manifest.clone();
        m["layers"][0][field] = value;
        m.to_string()
    };
    let cases = [
        (
            "deep",
            format!("{}{}", "[".repeat(200_000), "]".repeat(200_000)),
            "nested too deeply",
        ),
        (
            "bad digest",
            with_layer("digest", "sha256:xyz".into()),
            "invalid checksum digest length: \\\"sha256:xyz\\\"",
        ),
        (
            "unknown algorithm",
            with_layer("digest", format!("md5:{}", "a".repeat(32)).into()),
            "unsupported digest algorithm",
        ),
        (
            "lying size",
            with_layer("size", 10.into()),
            "content is larger than the expected size 10",
        ),
    ];
    for (i, (what, text, words)) in cases.iter().enumerate() {
        let src = tmp.0.join(format!("src-{i}"));
        std::fs::create_dir_all(&src).unwrap();
        for entry in std::fs::read_dir(&template).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), src.join(entry.file_name())).unwrap();
        }
        std::fs::write(src.join("manifest.json"), text).unwrap();
        let dest = tmp.0.join(format!("dest-{i}"));
        let r = run(
            &ours,
            &[
                "--insecure-policy",
                "copy",
                "-q",
                &format!("dir:{}", src.display()),
                &format!("dir:{}", dest.display()),
            ],
            &tmp.0,
        );
        assert_eq!(r.code, 1, "{what}: {}", r.stderr);
        assert!(r.stderr.contains(words), "{what}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "{what}: {}", r.stderr);
        assert!(!dest.exists(), "{what}: the destination was written");
    }
}

#[test]
fn a_registry_manifest_over_the_size_limit_is_refused() {
    let Some(registry) = setup(Flavour::Plain) else {
        return;
    };
    let tmp = TempDir::new("hostile-registry");
    let rules = serde_json::json!([{
        "match": "^GET /v2/huge/app/manifests/", "count": 10, "status": 200,
        "body_len": 5 << 20, "content_type": "application/vnd.oci.image.manifest.v1+json",
    }]);
    let proxy = FaultProxy::start(&registry.addr, rules, &tmp.0);
    let dest = tmp.0.join("never");
    let r = run(
        &our_skopeo(),
        &[
            "--insecure-policy",
            "copy",
            "--src-tls-verify=false",
            &format!("docker://{}/huge/app:v1", proxy.addr),
            &format!("dir:{}", dest.display()),
        ],
        &tmp.0,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("exceeded maximum allowed size of 4194304 bytes"),
        "{}",
        r.stderr
    );
    assert!(!dest.exists());
}

#[test]
fn malformed_registry_headers_are_refused_by_name() {
    let Some(registry) = setup(Flavour::Plain) else {
        return;
    };
    let tmp = TempDir::new("hostile-headers");
    let ours = our_skopeo();
    // Challenges whose realm is not a URL we may fetch a token from.
    for (header, words) in [
        (
            r#"Bearer realm="unterminated, ,,=""="#,
            "invalid token realm \\\"unterminated, ,,=\\\": invalid uri character",
        ),
        (
            r#"Bearer realm="file:///etc/passwd",service="x""#,
            "invalid token realm \\\"file:///etc/passwd\\\": invalid format",
        ),
    ] {
        let rules = serde_json::json!([{"match": "^GET /v2/", "count": 100, "status": 401,
            "headers": {"WWW-Authenticate": header}}]);
        let proxy = FaultProxy::start(&registry.addr, rules, &tmp.0);
        let image = format!("docker://{}/links/app:v1", proxy.addr);
        let r = run(&ours, &["inspect", "--tls-verify=false", &image], &tmp.0);
        assert_eq!(r.code, 1, "{header}: {}", r.stderr);
        assert!(r.stderr.contains(words), "{header}: {}", r.stderr);
        assert!(!proxy.requests().iter().any(|l| l.contains("/etc/passwd")));
    }
    // A `Link` that names no page: the tags so far, and no request to a made-up page.
    let rules = serde_json::json!([{"match": "^GET /v2/links/app/tags/list", "count": 100, "status": 200,
        "body": "{\"name\":\"links/app\",\"tags\":[\"a\"]}",
        "headers": {"Link": "<<<>>>; rel=\"next\"; ;"}}]);
    let proxy = FaultProxy::start(&registry.addr, rules, &tmp.0);
    let r = run(
        &ours,
        &[
            "list-tags",
            "--tls-verify=false",
            &format!("docker://{}/links/app", proxy.addr),
        ],
        &tmp.0,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let listed: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(listed["Tags"], serde_json::json!(["a"]));
    let tag_requests = proxy
        .requests()
        .iter()
        .filter(|l| l.contains("/tags/list"))
        .count();
    assert_eq!(tag_requests, 1, "{:#?}", proxy.requests());
}
