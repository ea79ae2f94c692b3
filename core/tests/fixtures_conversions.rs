//! Manifest conversions against the upstream vectors in ../shared/fixtures/manifest-conversions
//! (inputs and containers/image's expected outputs), and list <-> index on manifests/.

mod common;

use serde_json::Value;
use skopeo_core::convert::{self, Schema1LayerFacts};
use skopeo_core::digest::Digest;
use skopeo_core::manifest::mime;

const DIR: &str = "manifest-conversions";

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("output is JSON")
}

fn without(mut v: Value, key: &str) -> Value {
    v.as_object_mut().unwrap().remove(key);
    v
}

/// The config descriptor names exactly the config bytes produced.
fn assert_config_descriptor(manifest: &[u8], config: &[u8]) {
    let m = json(manifest);
    assert_eq!(m["config"]["size"], config.len() as u64);
    assert_eq!(
        m["config"]["digest"],
        Digest::sha256_of(config).to_string().as_str()
    );
}

#[test]
fn schema2_to_oci_matches_upstream() {
    for (input, expected) in [
        ("schema2.json", "schema2-to-oci1.json"),
        (
            "schema2-all-media-types.json",
            "schema2-all-media-types-to-oci1.json",
        ),
    ] {
        let Some(m) = common::fixture_bytes(&format!("{DIR}/{input}")) else {
            return;
        };
        let config = common::fixture_bytes(&format!("{DIR}/schema2-config.json")).unwrap();
        let out = convert::convert_image(
            &m,
            mime::DOCKER_V2_SCHEMA2,
            Some(&config),
            mime::OCI_MANIFEST,
            None,
        )
        .unwrap();
        assert_eq!(out.media_type, mime::OCI_MANIFEST);
        // The whole manifest, config digest included: the rewritten config is byte-identical.
        let want = common::fixture_json(&format!("{DIR}/{expected}")).unwrap();
        assert_eq!(json(&out.manifest), want, "{input}");
        let new_config = out.config.unwrap();
        assert_config_descriptor(&out.manifest, &new_config);
        let want_config = common::fixture_json(&format!("{DIR}/schema2-to-oci1-config.json"));
        assert_eq!(json(&new_config), want_config.unwrap());
    }
}

#[test]
fn oci_to_schema2_matches_upstream() {
    let Some(m) = common::fixture_bytes(&format!("{DIR}/oci1.json")) else {
        return;
    };
    let out = convert::convert_image(&m, mime::OCI_MANIFEST, None, mime::DOCKER_V2_SCHEMA2, None)
        .unwrap();
    assert_eq!(out.media_type, mime::DOCKER_V2_SCHEMA2);
    assert_eq!(out.config, None, "the config blob is reused as is");
    let want = common::fixture_json(&format!("{DIR}/oci1-to-schema2.json")).unwrap();
    assert_eq!(json(&out.manifest), want);
    assert_eq!(
        common::fixture_bytes(&format!("{DIR}/oci1-to-schema2-config.json")),
        common::fixture_bytes(&format!("{DIR}/oci1-config.json"))
    );
}

#[test]
fn refusals_name_the_reason() {
    let Some(_) = common::fixtures_dir() else {
        return;
    };
    let cases = [
        (
            "oci1-artifact.json",
            "unsupported image-specific operation on artifact with type \"application/vnd.oci.custom.artifact.config.v1+json\"",
        ),
        (
            "oci1-all-media-types.json",
            "Error during manifest conversion: \"application/vnd.oci.image.layer.v1.tar+zstd\": zstd compression is not supported for docker images",
        ),
        (
            "oci1-invalid-media-type.json",
            "Unknown media type during manifest conversion: \"application/vnd.oci.image.layer.v1.tar+invalid-suffix\"",
        ),
        (
            "oci1.encrypted.json",
            "Unknown media type during manifest conversion: \"application/vnd.oci.image.layer.v1.tar+gzip+encrypted\"",
        ),
    ];
    for (input, message) in cases {
        let m = common::fixture_bytes(&format!("{DIR}/{input}")).unwrap();
        for target in [mime::DOCKER_V2_SCHEMA2, mime::DOCKER_V2_SCHEMA1_SIGNED] {
            let err = convert::convert_image(&m, mime::OCI_MANIFEST, None, target, None)
                .unwrap_err()
                .to_string();
            assert_eq!(err, message, "{input} -> {target}");
        }
    }
    let m = common::fixture_bytes(&format!("{DIR}/schema2-invalid-media-type.json")).unwrap();
    let config = common::fixture_bytes(&format!("{DIR}/schema2-config.json")).unwrap();
    let err = convert::convert_image(
        &m,
        mime::DOCKER_V2_SCHEMA2,
        Some(&config),
        mime::OCI_MANIFEST,
        None,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported docker v2s2 media type: \"application/vnd.docker.image.rootfs.diff.tar.zstd\""
    );
    let err = convert::convert_image(&m, mime::OCI_MANIFEST, None, "text/plain", None).unwrap_err();
    assert_eq!(err.to_string(), "Unsupported conversion type: text/plain");
}

/// Sizes and diff IDs of schema1.json's six layers, base first (containers/image's test data).
fn schema1_facts() -> Vec<Schema1LayerFacts> {
    [
        (
            74876245,
            "e1d829eddb62dc49f1c56dbf8acd0c71299b3996115399de853a9d66d81b822f",
        ),
        (
            1239,
            "02404b4d7e5d89b1383ca346b4462b199128aa4b238c5a2b2c186004ac148ba8",
        ),
        (
            78339724,
            "45fad80a4b1cec165c421eb570dec312d825bd8fac362e255028fa3f2169148d",
        ),
        (
            76857203,
            "7ddef8efd44586e54880ec4797458eac87b368544c438d7e7c63fbc0d9a7ae97",
        ),
        (
            25923380,
            "b56b16b6407ba1b86252e7e50f98f142cf6844fab42e4495d56ebb7ce559e2af",
        ),
        (
            23511300,
            "9bd63850e406167b4751f5050f6dc0ebd789bb5ef5e5c6c31ed062bda8c063e8",
        ),
    ]
    .into_iter()
    .map(|(size, hex)| Schema1LayerFacts {
        size,
        diff_id: format!("sha256:{hex}"),
    })
    .collect()
}

#[test]
fn schema1_to_schema2_and_oci_match_upstream() {
    let Some(m) = common::fixture_bytes(&format!("{DIR}/schema1.json")) else {
        return;
    };
    let facts = schema1_facts();
    for (target, expected, expected_config) in [
        (
            mime::DOCKER_V2_SCHEMA2,
            "schema1-to-schema2.json",
            "schema1-to-schema2-config.json",
        ),
        (
            mime::OCI_MANIFEST,
            "schema1-to-oci1.json",
            "schema1-to-oci1-config.json",
        ),
    ] {
        let out = convert::convert_image(
            &m,
            mime::DOCKER_V2_SCHEMA1_SIGNED,
            None,
            target,
            Some(&facts),
        )
        .unwrap();
        assert_eq!(out.media_type, target);
        let want = common::fixture_json(&format!("{DIR}/{expected}")).unwrap();
        assert_eq!(
            without(json(&out.manifest), "config"),
            without(want, "config"),
            "{target}"
        );
        let config = out.config.unwrap();
        assert_config_descriptor(&out.manifest, &config);
        let want_config = common::fixture_json(&format!("{DIR}/{expected_config}")).unwrap();
        assert_eq!(json(&config), want_config, "{target} config");
    }
}

#[test]
fn schema1_throwaway_layers_are_left_out() {
    let Some(m) = common::fixture_bytes(&format!("{DIR}/schema2-to-schema1-by-docker.json")) else {
        return;
    };
    // 15 history entries, 5 of them real layers.
    let facts: Vec<_> = (0..15)
        .map(|i| Schema1LayerFacts {
            size: 100 + i,
            diff_id: format!("sha256:{:064x}", i),
        })
        .collect();
    let out = convert::convert_image(
        &m,
        mime::DOCKER_V2_SCHEMA1_SIGNED,
        None,
        mime::DOCKER_V2_SCHEMA2,
        Some(&facts),
    )
    .unwrap();
    let manifest = json(&out.manifest);
    let layers = manifest["layers"].as_array().unwrap();
    let digests: Vec<_> = layers
        .iter()
        .map(|l| l["digest"].as_str().unwrap())
        .collect();
    assert_eq!(
        digests,
        [
            "sha256:6a5a5368e0c2d3e5909184fa28ddfd56072e7ff3ee9a945876f7eee5896ef5bb",
            "sha256:1bbf5d58d24c47512e234a5623474acf65ae00d4d1414272a893204f44cc680c",
            "sha256:8f5dc8a4b12c307ac84de90cdd9a7f3915d1be04c9388868ca118831099c67a9",
            "sha256:bbd6b22eb11afce63cc76f6bc41042d99f10d6024c96b655dafba930b8d25909",
            "sha256:960e52ecf8200cbd84e70eb2ad8678f4367e50d14357021872c10fa3fc5935fa",
        ]
    );
    let sizes: Vec<_> = layers.iter().map(|l| l["size"].as_i64().unwrap()).collect();
    assert_eq!(sizes, [100, 104, 106, 111, 112]);
    let config = json(&out.config.unwrap());
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 5);
    assert_eq!(config["history"].as_array().unwrap().len(), 15);
    let short = &facts[..3];
    let err = convert::convert_image(
        &m,
        mime::DOCKER_V2_SCHEMA1_SIGNED,
        None,
        mime::DOCKER_V2_SCHEMA2,
        Some(short),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Internal error: uploaded 3 blobs, but schema1 manifest has 15 fsLayers"
    );
}

#[test]
fn docker_list_and_oci_index_convert_both_ways() {
    let Some(list) = common::fixture_bytes("manifests/v2list.everything.json") else {
        return;
    };
    let index = convert::convert_list(
        &list,
        mime::DOCKER_V2_LIST,
        mime::OCI_INDEX,
        "linux",
        "amd64",
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(index.clone()).unwrap(),
        concat!(
            r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"#,
            r#""mediaType":"application/vnd.docker.distribution.manifest.v2+json","#,
            r#""digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":1,"#,
            r#""urls":["https://some.example/manifest"],"platform":{"architecture":"a","os":"b","#,
            r#""os.version":"c","os.features":["d"],"variant":"e"}}]}"#
        )
    );
    let back = convert::convert_list(
        &index,
        mime::OCI_INDEX,
        mime::DOCKER_V2_LIST,
        "linux",
        "amd64",
    )
    .unwrap();
    let mut want = common::fixture_json("manifests/v2list.everything.json").unwrap();
    want["manifests"][0]["platform"]
        .as_object_mut()
        .unwrap()
        .remove("features");
    assert_eq!(json(&back), want);

    let index = common::fixture_bytes("manifests/oci1.index.everything.json").unwrap();
    let list = convert::convert_list(
        &index,
        mime::OCI_INDEX,
        mime::DOCKER_V2_LIST,
        "linux",
        "amd64",
    )
    .unwrap();
    let list = json(&list);
    assert_eq!(list["mediaType"], mime::DOCKER_V2_LIST);
    let entry = &list["manifests"][0];
    assert_eq!(entry["platform"]["architecture"], "A");
    assert!(entry.get("annotations").is_none());
    let err = convert::convert_list(
        &index,
        mime::OCI_INDEX,
        mime::OCI_MANIFEST,
        "linux",
        "amd64",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Can not convert image index to MIME type \"application/vnd.oci.image.manifest.v1+json\", which is not a list type"
    );
}

#[test]
fn index_entries_without_platform_get_the_hosts() {
    let index = br#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":5}]}"#;
    let list = convert::convert_list(
        index,
        mime::OCI_INDEX,
        mime::DOCKER_V2_LIST,
        "linux",
        "arm64",
    )
    .unwrap();
    assert_eq!(
        json(&list)["manifests"][0]["platform"],
        serde_json::json!({"architecture": "arm64", "os": "linux"})
    );
}

#[test]
fn oci_to_schema1_matches_upstream_and_verifies() {
    use base64::Engine as _;
    use p256::ecdsa::signature::Verifier;
    let Some(m) = common::fixture_bytes(&format!("{DIR}/oci1.json")) else {
        return;
    };
    let config = common::fixture_bytes(&format!("{DIR}/oci1-config.json")).unwrap();
    let expected = common::fixture_bytes(&format!("{DIR}/oci1-to-schema1.json")).unwrap();
    let layers: Vec<Digest> = json(&m)["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().parse().unwrap())
        .collect();
    let target = convert::to_schema1::Schema1Target {
        name: "library/httpd-copy".into(),
        tag: "latest".into(),
        key_seed: [7; 32],
        now_unix: 1_585_180_029,
    };
    let out = convert::to_schema1::from_image(&layers, &config, &target).unwrap();
    assert!(out.uses_empty_layer);
    // The signed payload is containers/image's byte for byte (the key and signature differ).
    let payload = skopeo_core::manifest::jws::payload(&out.manifest).unwrap();
    assert_eq!(
        String::from_utf8(payload.clone()).unwrap(),
        String::from_utf8(skopeo_core::manifest::jws::payload(&expected).unwrap()).unwrap()
    );
    // The signature block has libtrust's shape and verifies with the key it names.
    let ours = json(&out.manifest);
    let theirs = json(&expected);
    let sig = &ours["signatures"][0];
    let shape = |s: &Value| {
        let mut keys: Vec<String> = s["header"]["jwk"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.push(s["header"]["alg"].to_string());
        keys
    };
    assert_eq!(shape(sig), shape(&theirs["signatures"][0]));
    let protected = base64_url(sig["protected"].as_str().unwrap());
    assert_eq!(
        json(&protected),
        serde_json::json!({"formatLength": json(&protected)["formatLength"], "formatTail": "fQ", "time": "2020-03-25T23:47:09Z"})
    );
    let jwk = &sig["header"]["jwk"];
    let point = [
        vec![4u8],
        base64_url(jwk["x"].as_str().unwrap()),
        base64_url(jwk["y"].as_str().unwrap()),
    ]
    .concat();
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
    let signature =
        p256::ecdsa::Signature::from_slice(&base64_url(sig["signature"].as_str().unwrap()))
            .unwrap();
    let signed = format!(
        "{}.{}",
        sig["protected"].as_str().unwrap(),
        base64_engine().encode(&payload)
    );
    key.verify(signed.as_bytes(), &signature).unwrap();
    // The digest is the payload's, as for any signed schema 1 manifest.
    assert_eq!(
        skopeo_core::manifest::manifest_digest(&out.manifest).unwrap(),
        Digest::sha256_of(&payload)
    );
}

fn base64_engine() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

fn base64_url(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64_engine().decode(s).unwrap()
}
