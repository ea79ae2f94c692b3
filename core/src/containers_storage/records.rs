//! The records writing a store adds: a layer's entry in `layers.json`, an image's creation
//! time and metadata, and the JSON both files are written in (Go's `encoding/json`).

use super::apply::Applied;
use super::layers::StoredLayer;
use crate::compression::Algorithm;
use crate::digest::Digest;
use crate::gotime::GoTime;
use crate::Result;
use std::collections::BTreeMap;

/// `nanos` after the epoch as containers/storage writes times (RFC 3339, UTC, nanoseconds
/// trimmed).
pub fn now(nanos: i128) -> String {
    let secs = nanos.div_euclid(1_000_000_000) as i64;
    let rest = nanos.rem_euclid(1_000_000_000) as u32;
    GoTime::from_unix(secs).with_nanos(rest).rfc3339_nano()
}

/// containers/storage's number for a layer's compression.
pub fn compression_code(algorithm: Option<Algorithm>) -> Option<i32> {
    match algorithm? {
        Algorithm::Bzip2 => Some(1),
        Algorithm::Gzip => Some(2),
        Algorithm::Xz => Some(3),
        Algorithm::Zstd => Some(4),
    }
}

/// A new layer's record.
pub fn new_layer(
    id: &str,
    parent: Option<&str>,
    compressed_digest: &str,
    compressed_size: u64,
    applied: &Applied,
    compression: Option<Algorithm>,
    created: &str,
) -> StoredLayer {
    StoredLayer {
        id: id.to_owned(),
        parent: parent.map(str::to_owned),
        created: Some(created.to_owned()),
        compressed_digest: Some(compressed_digest.to_owned()),
        compressed_size: Some(compressed_size as i64),
        uncompressed_digest: Some(applied.diff_digest.to_string()),
        uncompressed_size: Some(applied.diff_size as i64),
        compression: compression_code(compression),
        uidset: Some(applied.uids.clone()),
        gidset: Some(applied.gids.clone()),
        other: serde_json::Map::new(),
    }
}

/// The image's creation time from its config's `created`, written again as Go writes it.
pub fn image_created(config: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(config).ok()?;
    let created = value.get("created")?.as_str()?;
    GoTime::parse(created).ok().map(|t| t.rfc3339_nano())
}

/// The image's `metadata`: containers/image's record of signature sizes, for the image's
/// own manifest and per manifest digest.
pub fn image_metadata(
    sizes: &[usize],
    per_instance: &BTreeMap<Digest, (Vec<u8>, Vec<usize>)>,
) -> String {
    let mut metadata = serde_json::Map::new();
    if !sizes.is_empty() {
        metadata.insert("signature-sizes".into(), serde_json::json!(sizes));
    }
    if !per_instance.is_empty() {
        let by_digest: serde_json::Map<String, serde_json::Value> = per_instance
            .iter()
            .map(|(d, (_, s))| (d.to_string(), serde_json::json!(s)))
            .collect();
        metadata.insert("signatures-sizes".into(), by_digest.into());
    }
    String::from_utf8(crate::gojson::to_compact(&metadata, true)).expect("JSON is UTF-8")
}

/// `records` as Go's `json.Marshal` writes them (compact, HTML characters escaped).
pub fn to_go_json<T: serde::Serialize>(records: &T) -> Result<Vec<u8>> {
    Ok(crate::gojson::to_compact(records, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_metadata_read_as_containers_storage_writes_them() {
        assert_eq!(
            now(1_796_631_307_590_136_369),
            "2026-12-07T08:15:07.590136369Z"
        );
        assert_eq!(now(1_796_631_307_000_000_000), "2026-12-07T08:15:07Z");
        let digest = Digest::sha256_of(b"m");
        let per: BTreeMap<_, _> = [(digest.clone(), (Vec::new(), Vec::new()))].into();
        assert_eq!(
            image_metadata(&[], &per),
            format!("{{\"signatures-sizes\":{{\"{digest}\":[]}}}}")
        );
        assert_eq!(
            image_created(br#"{"created":"2024-01-02T03:04:05.100+02:00"}"#).as_deref(),
            Some("2024-01-02T03:04:05.1+02:00")
        );
    }
}
