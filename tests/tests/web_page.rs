//! The inspector page in headless chromium (playwright-core) against a CORS-enabled
//! docker-registry on 127.0.0.1: what it shows must equal what skopeo inspect says.
//! Needs scripts/build-web.sh's output, node with tests/web/node_modules, and chromium;
//! scripts/test-all.sh provides all three.

use skopeo_integration_tests::registry::{setup, Flavour, Registry, PASSWORD, USER};
use skopeo_integration_tests::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn skopeo_json(args: &[&str], cwd: &Path) -> serde_json::Value {
    let r = run(&reference_skopeo().unwrap(), args, cwd);
    assert_eq!(r.code, 0, "skopeo {args:?}: {}", r.stderr);
    serde_json::from_str(&r.stdout).unwrap()
}

#[test]
fn inspector_page_in_chromium() {
    let page_dir = repo_root().join("web/www");
    let node_modules = repo_root().join("tests/web/node_modules/playwright-core");
    if !page_dir.join("pkg/skopeo_web_bg.wasm").exists() || !node_modules.exists() {
        panic!("run scripts/build-web.sh and `npm ci --prefix tests/web` first (scripts/test-all.sh does)");
    }
    if !Path::new("/usr/bin/chromium").exists() {
        eprintln!("skipping: /usr/bin/chromium is not installed (scripts/test-all.sh installs it)");
        return;
    }
    let Some(reg) = setup(Flavour::Cors) else {
        return;
    };
    let no_cors = Registry::start(Flavour::Plain);
    let auth = Registry::start(Flavour::CorsHtpasswd);
    let tmp = TempDir::new("web");
    let layout = example_layout(&tmp.0);
    add_multi_platform_index(&layout);
    let skopeo = reference_skopeo().unwrap();
    for (src, dest, all) in [
        ("demo", "web/app:v1", false),
        ("demo", "web/app:v2", false),
        ("multi", "web/multi:latest", true),
    ] {
        for r in [&reg, &no_cors] {
            let mut args = vec!["--insecure-policy", "copy", "-q", "--dest-tls-verify=false"];
            if all {
                args.push("--all");
            }
            let s = format!("oci:{}:{src}", layout.display());
            let d = format!("docker://{}/{dest}", r.addr);
            args.extend([s.as_str(), d.as_str()]);
            let out = run(&skopeo, &args, &tmp.0);
            assert_eq!(out.code, 0, "{}", out.stderr);
        }
    }
    let creds = format!("{USER}:{PASSWORD}");
    let s = format!("oci:{}:demo", layout.display());
    let d = format!("docker://{}/web/app:v1", auth.addr);
    let pushed = run(
        &skopeo,
        &[
            "--insecure-policy",
            "copy",
            "-q",
            "--dest-tls-verify=false",
            "--dest-creds",
            &creds,
            &s,
            &d,
        ],
        &tmp.0,
    );
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);
    // A shared-vector layout (schema 2 in a dir:) pushed as is, for the page's inspect text.
    let mut extra = Vec::new();
    if let Some(fx) = fixtures_dir() {
        let s = format!(
            "dir:{}",
            fx.join("layouts-archives/dir-uncompressed-image-s2")
                .display()
        );
        let d = format!("docker://{}/fixtures/s2:latest", reg.addr);
        let pushed = run(
            &skopeo,
            &[
                "--insecure-policy",
                "copy",
                "-q",
                "--dest-tls-verify=false",
                &s,
                &d,
            ],
            &tmp.0,
        );
        assert_eq!(pushed.code, 0, "{}", pushed.stderr);
        extra.push("fixtures/s2:latest");
    }
    let server = serve_directory(&page_dir);
    let manifest_file = tmp.0.join("pasted.json");
    let raw = run(
        &skopeo,
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &reg.image("web/app:v1"),
        ],
        &tmp.0,
    );
    std::fs::write(&manifest_file, &raw.stdout).unwrap();
    let artifacts = repo_root().join("tests/artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let screenshot: PathBuf = artifacts.join("inspector-page.png");
    // The shared vectors (fixture manifests), base64 for the page, with native digests.
    let vectors_file = tmp.0.join("vectors.json");
    let mut expected_vectors = Vec::new();
    if let Some(fx) = fixtures_dir() {
        let mut vectors = Vec::new();
        for sub in ["manifests", "manifest-conversions"] {
            for entry in std::fs::read_dir(fx.join(sub)).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                let native = run(
                    &our_skopeo(),
                    &["manifest-digest", path.to_str().unwrap()],
                    &tmp.0,
                );
                let expected = match native.code {
                    0 => native.stdout.trim_end().to_owned(),
                    _ => "error".to_owned(),
                };
                use base64::Engine;
                let b64 =
                    base64::engine::general_purpose::STANDARD.encode(std::fs::read(&path).unwrap());
                vectors.push(serde_json::json!([format!("{sub}/{name}"), b64]));
                expected_vectors.push((format!("{sub}/{name}"), expected));
            }
        }
        std::fs::write(&vectors_file, serde_json::to_vec(&vectors).unwrap()).unwrap();
    }
    // The signature vectors (skopeo 1.9.3's standalone-verify outcomes), for the page.
    let signatures_file = tmp.0.join("signatures.json");
    let expected_signatures = signature_vectors(&signatures_file);
    let out = Command::new("node")
        .arg(repo_root().join("tests/web/browser-test.mjs"))
        .env("PAGE_URL", &server.url)
        .env("REGISTRY_URL", format!("http://{}", reg.addr))
        .env("NO_CORS_URL", format!("http://{}", no_cors.addr))
        .env("IMAGE", "web/app:v1")
        .env("INDEX", "web/multi:latest")
        .env("AUTH_URL", format!("http://{}", auth.addr))
        .env("EXTRA_IMAGES", extra.join(","))
        .env("MANIFEST_FILE", &manifest_file)
        .env("SCREENSHOT", &screenshot)
        .env(
            "VECTORS_FILE",
            if expected_vectors.is_empty() {
                PathBuf::new()
            } else {
                vectors_file.clone()
            },
        )
        .env(
            "SIGNATURES_FILE",
            match expected_signatures.is_empty() {
                true => PathBuf::new(),
                false => signatures_file.clone(),
            },
        )
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "browser test failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (i, (name, expected)) in expected_signatures.iter().enumerate() {
        assert_eq!(shown["signatures"][i][0], name.as_str());
        assert_eq!(shown["signatures"][i][1], expected.as_str(), "{name}");
    }

    // The image: digest, platform, layers (digest, size, media type) and the inspect text.
    let t = "--tls-verify=false";
    let img = reg.image("web/app:v1");
    let inspect = run(&skopeo, &["inspect", t, &img], &tmp.0);
    let info: serde_json::Value = serde_json::from_str(&inspect.stdout).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&raw.stdout).unwrap();
    let image = &shown["image"];
    assert_eq!(image["digest"], info["Digest"], "{image}");
    assert_eq!(image["inspect"].as_str().unwrap(), inspect.stdout);
    assert_eq!(
        image["platform"],
        format!(
            "{}/{}",
            info["Os"].as_str().unwrap(),
            info["Architecture"].as_str().unwrap()
        )
    );
    let expected_layers: Vec<serde_json::Value> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let size = l["size"].as_u64().unwrap();
            serde_json::json!([
                (i + 1).to_string(),
                l["digest"],
                format!("{} B", group_thousands(size)),
                l["mediaType"]
            ])
        })
        .collect();
    assert_eq!(image["layers"], serde_json::Value::Array(expected_layers));
    assert_eq!(image["tags"], serde_json::json!(["v1", "v2"]));

    // The index: its own digest, skopeo's view of the linux/amd64 image, and its platforms.
    let index_info = skopeo_json(&["inspect", t, &reg.image("web/multi:latest")], &tmp.0);
    let index_raw: serde_json::Value = serde_json::from_str(
        &run(
            &skopeo,
            &["inspect", "--raw", t, &reg.image("web/multi:latest")],
            &tmp.0,
        )
        .stdout,
    )
    .unwrap();
    let index = &shown["index"];
    assert_eq!(index["digest"], index_info["Digest"], "{index}");
    let platforms: Vec<String> = index["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    assert_eq!(
        index["platforms"][1][1],
        index_raw["manifests"][1]["digest"]
    );
    assert_eq!(
        shown["platformClicked"]["digest"],
        index_raw["manifests"][1]["digest"]
    );

    // A clicked tag opens that tag.
    assert_eq!(shown["tagClicked"]["tag"], "v2");
    assert!(shown["tagClicked"]["view"]["title"]
        .as_str()
        .unwrap()
        .ends_with("web/app:v2"));

    // Errors in words.
    let unknown = shown["unknownTag"]["error"].as_str().unwrap();
    assert!(unknown.contains("manifest unknown"), "{unknown}");
    let cors = shown["noCors"]["error"].as_str().unwrap();
    assert!(cors.contains("CORS"), "{cors}");
    assert!(shown["badUrl"]["error"]
        .as_str()
        .unwrap()
        .contains("use http:// or https://"));

    // The digest box agrees with skopeo manifest-digest; invalid JSON is named.
    let digest = run(
        &skopeo,
        &["manifest-digest", manifest_file.to_str().unwrap()],
        &tmp.0,
    );
    assert_eq!(
        format!("{}\n", shown["pasted"]["digest"].as_str().unwrap()),
        digest.stdout
    );
    assert_eq!(shown["pasted"]["problem"], serde_json::Value::Null);
    assert!(shown["invalid"]["problem"]
        .as_str()
        .unwrap()
        .starts_with("Not valid JSON"));
    assert!(screenshot.exists());

    // Same digests as the native CLI for every shared vector (errors where it errs).
    if !expected_vectors.is_empty() {
        let computed = shown["vectors"].as_array().unwrap();
        assert_eq!(computed.len(), expected_vectors.len());
        for (row, (name, expected)) in computed.iter().zip(&expected_vectors) {
            assert_eq!(row[0].as_str().unwrap(), name);
            let got = row[1].as_str().unwrap();
            if expected == "error" {
                assert!(got.starts_with("error: "), "{name}: {got}");
            } else {
                assert_eq!(got, expected, "{name}");
            }
        }
    }
}

/// `1234567` as the page writes it (`1,234,567`).
fn group_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Writes the page's signature cases to `file` (base64 keys, manifest and signature, the
/// reference and fingerprint) and returns what each must give: skopeo 1.9.3's line, or
/// `error: ` and its message.
fn signature_vectors(file: &Path) -> Vec<(String, String)> {
    use base64::Engine;
    let Some(fx) = fixtures_dir() else {
        return Vec::new();
    };
    let gpg = fx.join("signatures-gpg");
    let keys = skopeo_integration_tests::gnupg::fixture_public_keys(&gpg);
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let table: serde_json::Value = serde_json::from_slice(
        &std::fs::read(gpg.join("expected-standalone-verify.json")).unwrap(),
    )
    .unwrap();
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for (name, case) in table.as_object().unwrap() {
        if name.starts_with('_') {
            continue;
        }
        let manifest = std::fs::read(gpg.join(case["manifest"].as_str().unwrap())).unwrap();
        let signature = std::fs::read(gpg.join(name.split(' ').next().unwrap())).unwrap();
        cases.push(serde_json::json!([
            name,
            b64(&keys),
            b64(&manifest),
            case["reference"],
            case["fingerprint"],
            b64(&signature)
        ]));
        let output = case["output"].as_str().unwrap();
        let shown = match output.strip_prefix("level=fatal msg=\"") {
            Some(quoted) => format!(
                "error: {}",
                quoted.trim_end_matches('"').replace("\\\"", "\"")
            ),
            None => output.to_owned(),
        };
        expected.push((name.clone(), shown));
    }
    std::fs::write(file, serde_json::to_vec(&cases).unwrap()).unwrap();
    expected
}
