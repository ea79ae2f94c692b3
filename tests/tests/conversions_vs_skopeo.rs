//! The core's manifest conversions produce the very bytes skopeo 1.9.3 writes when it copies
//! with `--format`: same manifest, same rewritten config (so the same digests).

use skopeo_core::convert::{self, Schema1LayerFacts};
use skopeo_core::digest::Digest;
use skopeo_core::manifest::mime;
use skopeo_integration_tests::*;
use std::path::Path;
use std::process::Command;

/// Copies `dir:src` to a fresh `dir:` with `--format format` using the reference skopeo, and
/// returns the written manifest and config blob.
fn reference_convert(src: &Path, format: &str, tmp: &Path) -> Option<(Vec<u8>, Vec<u8>)> {
    let reference = reference_skopeo()?;
    let out = tmp.join(format!("out-{format}"));
    let (src, dest) = (
        format!("dir:{}", src.display()),
        format!("dir:{}", out.display()),
    );
    let args = [
        "--insecure-policy",
        "copy",
        "-q",
        "--format",
        format,
        &src,
        &dest,
    ];
    let r = run(&reference, &args, tmp);
    assert_eq!(r.code, 0, "reference copy failed: {}", r.stderr);
    let manifest = std::fs::read(out.join("manifest.json")).unwrap();
    let m: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    let digest = m["config"]["digest"].as_str().unwrap();
    let config = std::fs::read(out.join(digest.trim_start_matches("sha256:"))).unwrap();
    Some((manifest, config))
}

fn write(path: &Path, bytes: &[u8]) -> String {
    let digest = Digest::sha256_of(bytes);
    std::fs::write(path.join(digest.hex()), bytes).unwrap();
    digest.to_string()
}

#[test]
fn schema2_to_oci_is_byte_identical() {
    let tmp = TempDir::new("convert-s2");
    let src = tmp.0.join("src");
    std::fs::create_dir(&src).unwrap();
    let layer_tar = b"not really a tar, but skopeo copies blobs as they are".repeat(20);
    let gz = Command::new("sh")
        .arg("-c")
        .arg("printf '%s' \"$0\" | gzip -n")
        .arg(String::from_utf8(layer_tar.clone()).unwrap())
        .output()
        .unwrap()
        .stdout;
    let layer = write(&src, &gz);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","author":"A <a@b> & c","config":{{"Cmd":["sh"],"ArgsEscaped":true,"Hostname":"x","Labels":{{"k":"<v>"}}}},"rootfs":{{"type":"layers","diff_ids":["{}"]}},"history":[{{"created":"2020-01-02T03:04:05.123Z","created_by":"x"}}],"docker_version":"20.10","container_config":{{"Hostname":"y"}}}}"#,
        Digest::sha256_of(&layer_tar)
    );
    let config_digest = write(&src, config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","size":{},"digest":"{config_digest}"}},"layers":[{{"mediaType":"{}","size":{},"digest":"{layer}"}}]}}"#,
        mime::DOCKER_V2_SCHEMA2,
        mime::DOCKER_V2_SCHEMA2_CONFIG,
        config.len(),
        mime::DOCKER_LAYER_GZIP,
        gz.len()
    );
    std::fs::write(src.join("manifest.json"), &manifest).unwrap();
    std::fs::write(src.join("version"), "Directory Transport Version: 1.1\n").unwrap();

    let Some((want_manifest, want_config)) = reference_convert(&src, "oci", &tmp.0) else {
        return;
    };
    let ours = convert::convert_image(
        manifest.as_bytes(),
        mime::DOCKER_V2_SCHEMA2,
        Some(config.as_bytes()),
        mime::OCI_MANIFEST,
        None,
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(ours.manifest).unwrap(),
        String::from_utf8(want_manifest).unwrap()
    );
    assert_eq!(
        String::from_utf8(ours.config.unwrap()).unwrap(),
        String::from_utf8(want_config).unwrap()
    );
}

#[test]
fn schema1_to_schema2_and_oci_are_byte_identical() {
    let Some(fx) = fixtures_dir() else { return };
    let src = fx.join("layouts-archives/dir-uncompressed-image-s1");
    let manifest = std::fs::read(src.join("manifest.json")).unwrap();
    // The layers are stored uncompressed, so each diff ID is the blob's own digest.
    let m: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    let facts: Vec<_> = m["fsLayers"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|l| {
            let digest = l["blobSum"].as_str().unwrap();
            let blob = std::fs::read(src.join(digest.trim_start_matches("sha256:"))).unwrap();
            Schema1LayerFacts {
                size: blob.len() as i64,
                diff_id: Digest::sha256_of(&blob).to_string(),
            }
        })
        .collect();
    let tmp = TempDir::new("convert-s1");
    for (format, target) in [
        ("v2s2", mime::DOCKER_V2_SCHEMA2),
        ("oci", mime::OCI_MANIFEST),
    ] {
        let Some((want_manifest, want_config)) = reference_convert(&src, format, &tmp.0) else {
            return;
        };
        let ours = convert::convert_image(
            &manifest,
            mime::DOCKER_V2_SCHEMA1_SIGNED,
            None,
            target,
            Some(&facts),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(ours.manifest).unwrap(),
            String::from_utf8(want_manifest).unwrap(),
            "{format}"
        );
        assert_eq!(
            String::from_utf8(ours.config.unwrap()).unwrap(),
            String::from_utf8(want_config).unwrap(),
            "{format} config"
        );
    }
}
