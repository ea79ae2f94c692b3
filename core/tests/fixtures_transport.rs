//! The upstream transport parse tables (../shared/fixtures/reference/transport-tables-raw).

mod common;

use serde_json::Value;
use skopeo_core::transport::{DaemonImage, ImageName};

const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Expands the table's `{"symbol"}` / `{"concat"}` encodings, given the test file's constants.
fn text(v: &Value, symbols: &[(&str, String)]) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) if o.contains_key("symbol") => {
            let name = o["symbol"].as_str().unwrap();
            symbols
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("symbol {name}"))
        }
        Value::Object(o) if o.contains_key("concat") => o["concat"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| text(x, symbols))
            .collect(),
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn docker_transport_table() {
    let Some(t) =
        common::fixture_json("reference/transport-tables-raw/docker_docker_transport_test.json")
    else {
        return;
    };
    let syms = [
        ("sha256digest", format!("@sha256:{HEX}")),
        ("unknownDigestSuffixTest", "@@unknown-digest@@".to_owned()),
    ];
    for row in t["testParseReference"]["range_table_148"]
        .as_array()
        .unwrap()
    {
        let input = text(&row[0], &syms);
        let want = text(&row[1], &syms);
        let got = ImageName::parse(&format!("docker:{input}"));
        if want.is_empty() {
            assert!(got.is_err(), "{input} should fail");
        } else {
            let got = got.unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(got.docker_reference().unwrap().to_string(), want, "{input}");
            let ImageName::Docker { unknown_digest, .. } = got else {
                panic!()
            };
            assert_eq!(unknown_digest, row[2].as_bool().unwrap(), "{input}");
        }
    }
}

#[test]
fn docker_daemon_table() {
    let Some(t) = common::fixture_json(
        "reference/transport-tables-raw/docker_daemon_daemon_transport_test.json",
    ) else {
        return;
    };
    let syms = [
        ("sha256digest", format!("sha256:{HEX}")),
        ("sha256digestHex", HEX.to_owned()),
    ];
    for row in t["testParseReference"]["range_table_161"]
        .as_array()
        .unwrap()
    {
        let input = text(&row[0], &syms);
        let (want_id, want_ref) = (text(&row[1], &syms), text(&row[2], &syms));
        let got = ImageName::parse(&format!("docker-daemon:{input}"));
        match got {
            Ok(ImageName::DockerDaemon(DaemonImage::Id(d))) => {
                assert_eq!(d.to_string(), want_id, "{input}")
            }
            Ok(ImageName::DockerDaemon(DaemonImage::Named(r))) => {
                assert_eq!(r.to_string(), want_ref, "{input}")
            }
            Ok(other) => panic!("{other:?}"),
            Err(_) => assert!(
                want_id.is_empty() && want_ref.is_empty(),
                "{input} should parse"
            ),
        }
    }
}

#[test]
fn docker_archive_table() {
    let Some(t) =
        common::fixture_json("reference/transport-tables-raw/docker_archive_transport_test.json")
    else {
        return;
    };
    let syms = [("sha256digest", format!("@sha256:{HEX}"))];
    for row in t["testParseReference"]["range_table_146"]
        .as_array()
        .unwrap()
    {
        let row = row.as_array().unwrap();
        let input = text(&row[0], &syms);
        let (want_path, want_ref) = (text(&row[1], &syms), text(&row[2], &syms));
        // The index column is either a number or the pair `{"raw": "-"}, 1` (that is, -1).
        let want_index = if row[3].is_object() {
            None
        } else {
            Some(row[3].as_u64().unwrap() as usize)
        };
        match ImageName::parse(&format!("docker-archive:{input}")) {
            Ok(ImageName::DockerArchive {
                path,
                reference,
                index,
            }) => {
                assert_eq!(path, want_path, "{input}");
                assert_eq!(
                    reference.map(|r| r.to_string()).unwrap_or_default(),
                    want_ref,
                    "{input}"
                );
                assert_eq!(index, want_index, "{input}");
            }
            Ok(other) => panic!("{other:?}"),
            Err(_) => assert!(want_path.is_empty(), "{input} should parse"),
        }
    }
}

#[test]
fn oci_archive_ref_split() {
    let Some(t) =
        common::fixture_json("reference/transport-tables-raw/oci_archive_oci_transport_test.json")
    else {
        return;
    };
    for row in t["testParseReference"]["range_table_195"]
        .as_array()
        .unwrap()
    {
        let (suffix, want) = (row[0].as_str().unwrap(), row[1].as_str().unwrap());
        match ImageName::parse(&format!("oci-archive:/tmp/x{suffix}")).unwrap() {
            ImageName::OciArchive { path, image } => {
                assert_eq!((path.as_str(), image.as_str()), ("/tmp/x", want))
            }
            other => panic!("{other:?}"),
        }
    }
}
