//! Our binary alone: outputs checked against known values and bad input that must fail cleanly.

use skopeo_integration_tests::*;
use std::fs;

#[test]
fn expected_digests_from_the_reference_table() {
    let Some(fx) = fixtures_dir() else { return };
    let table: serde_json::Value =
        serde_json::from_slice(&fs::read(fx.join("manifests/expected-digests.json")).unwrap())
            .unwrap();
    for (file, want) in table.as_object().unwrap() {
        let r = run(&our_skopeo(), &["manifest-digest", file], &fx);
        match want["skopeo_1.9.3_manifest_digest"].as_str() {
            Some(d) => assert_eq!((r.code, r.stdout.trim()), (0, d), "{file}"),
            None => {
                assert_eq!(r.code, 1, "{file} must fail");
                let want_err = want["skopeo_1.9.3_error"].as_str().unwrap();
                assert_eq!(r.stderr.trim(), strip_log_time(want_err), "{file}");
            }
        }
    }
}

#[test]
fn recorded_reference_outputs_on_layouts() {
    let Some(fx) = fixtures_dir() else { return };
    let table: serde_json::Value = serde_json::from_slice(
        &fs::read(fx.join("layouts-archives/expected-skopeo-1.9.3.json")).unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    for case in table.as_array().unwrap() {
        let argv: Vec<&str> = case["argv"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let image = argv.last().unwrap();
        if !(image.starts_with("dir:") || image.starts_with("oci:")) {
            continue; // archive transports arrive with the copy work
        }
        let r = run(&our_skopeo(), &argv[1..], &fx.join("layouts-archives"));
        assert_eq!(
            r.code,
            case["exit_code"].as_i64().unwrap() as i32,
            "{argv:?}"
        );
        let got = if r.code == 0 { r.stdout } else { r.stderr };
        assert_eq!(
            got.trim_end(),
            case["output"].as_str().unwrap().trim_end(),
            "{argv:?}"
        );
        checked += 1;
    }
    assert!(checked >= 5);
}

#[test]
fn bad_input_fails_with_a_clear_message() {
    let tmp = TempDir::new("bad");
    let d = &tmp.0;
    let layout = example_layout(d);
    let bin = our_skopeo();

    // Malformed JSON manifest in a dir: layout.
    fs::create_dir_all(d.join("badjson")).unwrap();
    fs::write(d.join("badjson/manifest.json"), b"{not json").unwrap();
    let r = run(&bin, &["inspect", "dir:badjson"], d);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("Error parsing manifest for image"),
        "{}",
        r.stderr
    );

    // Unknown media type.
    fs::create_dir_all(d.join("unknowntype")).unwrap();
    fs::write(
        d.join("unknowntype/manifest.json"),
        br#"{"schemaVersion":3}"#,
    )
    .unwrap();
    let r = run(&bin, &["inspect", "dir:unknowntype"], d);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("Unimplemented manifest MIME type"),
        "{}",
        r.stderr
    );

    // Invalid digest in a manifest.
    fs::create_dir_all(d.join("baddigest")).unwrap();
    fs::write(
        d.join("baddigest/manifest.json"),
        br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:nothex","size":2},"layers":[]}"#,
    )
    .unwrap();
    let r = run(&bin, &["inspect", "dir:baddigest"], d);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("invalid checksum digest"), "{}", r.stderr);

    // A layout whose config blob is missing names the missing file.
    let manifest = fs::read_to_string(layout.join("index.json")).unwrap();
    let idx: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let mdigest = idx["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_owned();
    let m: serde_json::Value =
        serde_json::from_slice(&fs::read(layout.join("blobs/sha256").join(&mdigest)).unwrap())
            .unwrap();
    let config_hex = m["config"]["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_owned();
    let config_path = layout.join("blobs/sha256").join(&config_hex);
    let config_bytes = fs::read(&config_path).unwrap();
    fs::remove_file(&config_path).unwrap();
    let name = format!("oci:{}:demo", layout.display());
    let r = run(&bin, &["inspect", &name], d);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(&config_hex) && r.stderr.contains("no such file or directory"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty());

    // A config blob whose bytes do not match its digest is refused.
    let mut tampered = config_bytes.clone();
    tampered[10] ^= 1;
    fs::write(&config_path, &tampered).unwrap();
    let r = run(&bin, &["inspect", &name], d);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("digest mismatch"), "{}", r.stderr);

    // A manifest blob that does not match its digest is refused, even for --raw.
    fs::write(&config_path, &config_bytes).unwrap();
    let mpath = layout.join("blobs/sha256").join(&mdigest);
    let mut mbytes = fs::read(&mpath).unwrap();
    mbytes.push(b' ');
    fs::write(&mpath, &mbytes).unwrap();
    let r = run(&bin, &["inspect", "--raw", &name], d);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("does not match digest"), "{}", r.stderr);

    // A manifest file that does not exist.
    let r = run(&bin, &["manifest-digest", "missing.json"], d);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("open missing.json: no such file or directory"),
        "{}",
        r.stderr
    );
}

#[test]
fn index_platform_choice() {
    let tmp = TempDir::new("index");
    let layout = example_layout(&tmp.0);
    // Wrap the example's manifest in an index with two platforms pointing at it.
    let idx_path = layout.join("index.json");
    let idx: serde_json::Value = serde_json::from_slice(&fs::read(&idx_path).unwrap()).unwrap();
    let desc = &idx["manifests"][0];
    let entry = |arch: &str, variant: &str| {
        serde_json::json!({"mediaType": desc["mediaType"], "digest": desc["digest"], "size": desc["size"],
            "platform": {"architecture": arch, "os": "linux", "variant": variant}})
    };
    let inner = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [entry("arm64", "v8"), entry("amd64", "")]});
    let inner_bytes = serde_json::to_vec(&inner).unwrap();
    let hex = sha256_hex(&inner_bytes);
    fs::write(layout.join("blobs/sha256").join(&hex), &inner_bytes).unwrap();
    let top = serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
        "digest": format!("sha256:{hex}"), "size": inner_bytes.len(), "annotations": {"org.opencontainers.image.ref.name": "multi"}}]});
    fs::write(&idx_path, serde_json::to_vec(&top).unwrap()).unwrap();
    let name = format!("oci:{}:multi", layout.display());
    for args in [
        vec!["inspect", name.as_str()],
        vec!["--override-arch", "arm64", "inspect", name.as_str()],
        vec!["--override-arch", "s390x", "inspect", name.as_str()],
        vec![
            "--override-arch",
            "arm64",
            "--override-variant",
            "v8",
            "inspect",
            "--config",
            name.as_str(),
        ],
    ] {
        assert_same(&args, &tmp.0);
    }
    let r = run(
        &our_skopeo(),
        &["--override-arch", "s390x", "inspect", &name],
        &tmp.0,
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("no image found in image index for architecture s390x"),
        "{}",
        r.stderr
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}
