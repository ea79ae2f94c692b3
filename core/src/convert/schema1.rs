//! Docker v2 schema 1 -> schema 2 conversion: the schema 2 config is synthesised from the
//! newest `v1Compatibility` entry plus a history built from every entry, as docker's puller
//! and containers/image do.

use super::legacy_v1::{docker_version_less_than, LegacyV1Image};
use crate::digest::Digest;
use crate::gojson::{self, compact_raw};
use crate::gotime::GoTime;
use crate::manifest::document::{Schema2Descriptor, Schema2Manifest};
use crate::manifest::mime;
use crate::manifest::types::Schema1;
use crate::{Error, Result};
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// What the copy learned about each schema 1 layer (in application order, base first,
/// including empty "throwaway" layers): its stored size and its uncompressed digest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema1LayerFacts {
    pub size: i64,
    pub diff_id: String,
}

#[derive(Serialize)]
struct HistoryEntry<'a> {
    created: GoTime,
    #[serde(skip_serializing_if = "str::is_empty")]
    author: &'a str,
    #[serde(skip_serializing_if = "String::is_empty")]
    created_by: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    comment: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    empty_layer: bool,
}

#[derive(Serialize)]
struct RootFs<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    diff_ids: &'a [String],
}

/// The fields a schema 1 config carries that a schema 2 config must not.
const V1_ONLY_FIELDS: &[&str] = &["id", "parent", "parent_id", "layer_id", "throwaway", "Size"];

/// Builds a schema 2 configuration blob from a schema 1 manifest and the diff IDs of its
/// non-empty layers (base first): `ToSchema2Config` in containers/image.
pub fn schema2_config(m: &Schema1, diff_ids: &[String]) -> Result<Vec<u8>> {
    let newest = m
        .history
        .first()
        .ok_or_else(|| Error::Invalid("image has no layers".into()))?;
    let decoding = |e: serde_json::Error| Error::Invalid(format!("decoding configuration: {e}"));
    let legacy: LegacyV1Image = serde_json::from_str(&newest.v1_compatibility).map_err(decoding)?;
    let mut config = newest.v1_compatibility.clone();
    // Docker before 1.8.3 wrote configs without some fields that are not `omitempty`.
    if !legacy.docker_version.is_empty()
        && docker_version_less_than(&legacy.docker_version, "1.8.3")
    {
        config = String::from_utf8(gojson::to_compact(&legacy, true)).expect("JSON is UTF-8");
    }

    let history: Vec<HistoryEntry> = m
        .compat
        .iter()
        .rev()
        .map(|c| HistoryEntry {
            created: c.created.unwrap_or(GoTime::ZERO),
            author: &c.author,
            created_by: c.created_by(),
            comment: &c.comment,
            empty_layer: c.throwaway,
        })
        .collect();
    let rootfs = RootFs {
        kind: "layers",
        diff_ids,
    };

    let mut fields: BTreeMap<String, Box<RawValue>> = serde_json::from_str(&config)
        .map_err(|e| Error::Invalid(format!("re-decoding compat image config: {e}")))?;
    for field in V1_ONLY_FIELDS {
        fields.remove(*field);
    }
    let raw = |bytes: Vec<u8>| {
        RawValue::from_string(String::from_utf8(bytes).expect("JSON is UTF-8")).expect("valid")
    };
    fields.insert("rootfs".into(), raw(gojson::to_compact(&rootfs, true)));
    fields.insert("history".into(), raw(gojson::to_compact(&history, true)));
    let compacted: BTreeMap<&str, Box<RawValue>> = fields
        .iter()
        .map(|(k, v)| {
            let text = compact_raw(v.get());
            (
                k.as_str(),
                RawValue::from_string(text).expect("still valid JSON"),
            )
        })
        .collect();
    Ok(gojson::to_compact(&compacted, true))
}

/// Converts a schema 1 manifest to schema 2, returning the manifest and its new config blob.
/// `layers`, when known, gives each layer's size and diff ID (see [`Schema1LayerFacts`]);
/// without it sizes are 0 and diff IDs empty.
pub fn schema1_to_schema2(
    m: &Schema1,
    layers: Option<&[Schema1LayerFacts]>,
) -> Result<(Schema2Manifest, Vec<u8>)> {
    if m.compat.is_empty() {
        return Err(Error::Invalid(format!(
            "Cannot convert an image with 0 history entries to {}",
            mime::DOCKER_V2_SCHEMA2
        )));
    }
    if m.compat.len() != m.fs_layers.len() {
        return Err(Error::Invalid(format!(
            "Inconsistent schema 1 manifest: {} history entries, {} fsLayers entries",
            m.compat.len(),
            m.fs_layers.len()
        )));
    }
    if let Some(facts) = layers {
        if facts.len() != m.fs_layers.len() {
            return Err(Error::Invalid(format!(
                "Internal error: uploaded {} blobs, but schema1 manifest has {} fsLayers",
                facts.len(),
                m.fs_layers.len()
            )));
        }
    }
    let mut diff_ids = Vec::new();
    let mut descriptors = Vec::new();
    let count = m.compat.len();
    for v1_index in (0..count).rev() {
        if m.compat[v1_index].throwaway {
            continue;
        }
        let fact = layers.map(|f| &f[count - 1 - v1_index]);
        descriptors.push(Schema2Descriptor {
            media_type: mime::DOCKER_LAYER_GZIP.into(),
            size: fact.map_or(0, |f| f.size),
            digest: m.fs_layers[v1_index].blob_sum.to_string(),
            urls: None,
        });
        diff_ids.push(fact.map(|f| f.diff_id.clone()).unwrap_or_default());
    }
    let config = schema2_config(m, &diff_ids)?;
    let config_descriptor = Schema2Descriptor {
        media_type: mime::DOCKER_V2_SCHEMA2_CONFIG.into(),
        size: config.len() as i64,
        digest: Digest::sha256_of(&config).to_string(),
        urls: None,
    };
    Ok((
        Schema2Manifest::from_components(config_descriptor, descriptors),
        config,
    ))
}
