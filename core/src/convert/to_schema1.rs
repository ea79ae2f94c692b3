//! Docker schema 2 (or OCI) -> docker v2 schema 1, as containers/image converts for
//! `--format v2s1`: one fsLayer and history entry per entry of the config's history, newest
//! first (entries that made no layer point at the gzipped empty tar), v1 IDs chained by
//! hashing each layer's digest with its parent's ID, the config itself folded into the
//! newest entry; then signed with a throwaway key, because registries refuse unsigned
//! schema 1 manifests.

use super::image;
use crate::digest::Digest;
use crate::gojson::{self, compact_raw};
use crate::gotime::GoTime;
use crate::manifest::jws;
use crate::transport::ImageName;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// A gzip-compressed empty tar: the blob schema 1 names for history entries without a layer.
pub const GZIPPED_EMPTY_LAYER: &[u8] = &[
    31, 139, 8, 0, 0, 9, 110, 136, 0, 255, 98, 24, 5, 163, 96, 20, 140, 88, 0, 8, 0, 0, 255, 255,
    46, 175, 181, 239, 0, 4, 0, 0,
];

/// What a schema 1 manifest says that the image does not: the repository and tag it is
/// pushed to (empty when the destination names none), and what the host gives for the
/// throwaway signature.
#[derive(Debug, Clone, Default)]
pub struct Schema1Target {
    /// The repository path (`library/busybox`).
    pub name: String,
    pub tag: String,
    /// Secret bytes for the throwaway signing key (fresh for every manifest).
    pub key_seed: [u8; 32],
    /// The signing time, seconds since the Unix epoch.
    pub now_unix: i64,
}

impl Schema1Target {
    /// The target for writing to `dest` (its docker reference's path and tag, if it has one),
    /// signed with a key made from `key_seed` at `now_unix`.
    pub fn for_destination(dest: &ImageName, key_seed: [u8; 32], now_unix: i64) -> Self {
        let reference = dest.docker_reference();
        Schema1Target {
            name: reference.map(|r| r.path().to_owned()).unwrap_or_default(),
            tag: reference
                .and_then(|r| r.tag())
                .unwrap_or_default()
                .to_owned(),
            key_seed,
            now_unix,
        }
    }
}

/// A converted image.
#[derive(Debug, Clone)]
pub struct Schema1Image {
    /// The signed manifest.
    pub manifest: Vec<u8>,
    /// Whether it names [`GZIPPED_EMPTY_LAYER`], which the destination must then have.
    pub uses_empty_layer: bool,
}

/// The sha256 digest of [`GZIPPED_EMPTY_LAYER`].
pub fn gzipped_empty_layer_digest() -> Digest {
    Digest::sha256_of(GZIPPED_EMPTY_LAYER)
}

#[derive(Deserialize)]
struct Config {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    history: Vec<HistoryEntry>,
}

#[derive(Deserialize)]
struct HistoryEntry {
    #[serde(default)]
    created: Option<GoTime>,
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    author: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    empty_layer: bool,
}

/// A history entry's `v1Compatibility` (everything but the newest's).
#[derive(Serialize)]
struct V1Compatibility<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    parent: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    comment: &'a str,
    created: GoTime,
    container_config: ContainerConfig<'a>,
    #[serde(skip_serializing_if = "str::is_empty")]
    author: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    throwaway: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerConfig<'a> {
    cmd: [&'a str; 1],
}

#[derive(Serialize)]
struct FsLayer {
    #[serde(rename = "blobSum")]
    blob_sum: String,
}

#[derive(Serialize)]
struct History {
    #[serde(rename = "v1Compatibility")]
    v1_compatibility: String,
}

#[derive(Serialize)]
struct Manifest<'a> {
    name: &'a str,
    tag: &'a str,
    architecture: &'a str,
    #[serde(rename = "fsLayers")]
    fs_layers: Vec<FsLayer>,
    history: Vec<History>,
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
}

/// Checks that schema 1 can describe the schema 2 or OCI `manifest` of `media_type` (an OCI
/// artifact or zstd layers cannot be docker images).
pub fn check_convertible(manifest: &[u8], media_type: &str) -> Result<()> {
    match media_type {
        crate::manifest::mime::OCI_MANIFEST => {
            image::oci_to_schema2(&image::decode_oci(manifest)?)?;
        }
        _ => {
            image::decode_schema2(manifest)?;
        }
    }
    Ok(())
}

/// Converts the image made of `layers` (digests as stored at the destination, base first)
/// and `config` (a docker or OCI image config) to a signed schema 1 manifest for `target`.
pub fn from_image(
    layers: &[Digest],
    config: &[u8],
    target: &Schema1Target,
) -> Result<Schema1Image> {
    let parsed: Config = serde_json::from_slice(config)
        .map_err(|e| Error::Invalid(format!("parsing image config: {e}")))?;
    if parsed.history.is_empty() {
        return Err(Error::Invalid(format!(
            "Cannot convert an image with 0 history entries to {}",
            crate::manifest::mime::DOCKER_V2_SCHEMA1_SIGNED
        )));
    }
    let empty = gzipped_empty_layer_digest();
    let count = parsed.history.len();
    let mut blobs = Vec::with_capacity(count);
    let mut entries = Vec::with_capacity(count);
    let (mut id, mut parent) = (String::new(), String::new());
    let mut layers_left = layers.iter();
    for entry in &parsed.history {
        parent = std::mem::take(&mut id);
        let blob = match entry.empty_layer {
            true => &empty,
            false => layers_left.next().ok_or_else(|| {
                Error::Invalid(format!(
                    "Invalid image configuration, needs more than the {} distributed layers",
                    layers.len()
                ))
            })?,
        };
        id = v1_id(blob, &[&parent]);
        let v1 = V1Compatibility {
            id: &id,
            parent: &parent,
            comment: &entry.comment,
            created: entry.created.unwrap_or(GoTime::ZERO),
            container_config: ContainerConfig {
                cmd: [&entry.created_by],
            },
            author: &entry.author,
            throwaway: entry.empty_layer,
        };
        let v1 = String::from_utf8(gojson::to_compact(&v1, true)).expect("JSON is UTF-8");
        blobs.push(blob.clone());
        entries.push(History {
            v1_compatibility: v1,
        });
    }
    // The newest entry carries the config itself, under an ID that also hashes the config.
    let newest = count - 1;
    let config_text = std::str::from_utf8(config)
        .map_err(|e| Error::Invalid(format!("parsing image config: {e}")))?;
    let newest_id = v1_id(&blobs[newest], &[&parent, config_text]);
    entries[newest].v1_compatibility = newest_v1_compatibility(
        config,
        &newest_id,
        &parent,
        parsed.history[newest].empty_layer,
    )?;
    blobs.reverse();
    entries.reverse();
    let manifest = Manifest {
        name: &target.name,
        tag: &target.tag,
        architecture: &parsed.architecture,
        fs_layers: blobs
            .iter()
            .map(|b| FsLayer {
                blob_sum: b.to_string(),
            })
            .collect(),
        history: entries,
        schema_version: 1,
    };
    let payload = gojson::to_compact(&manifest, true);
    Ok(Schema1Image {
        manifest: jws::sign_with_throwaway_key(&payload, &target.key_seed, target.now_unix)?,
        uses_empty_layer: parsed.history.iter().any(|h| h.empty_layer),
    })
}

/// A v1 ID: the sha256 of the blob's hex digest and `others`, space-separated.
fn v1_id(blob: &Digest, others: &[&str]) -> String {
    let parts: Vec<&str> = std::iter::once(blob.hex())
        .chain(others.iter().copied())
        .collect();
    Digest::sha256_of(parts.join(" ").as_bytes())
        .hex()
        .to_owned()
}

/// The config without `rootfs` and `history`, with the v1 `id`, `parent` and `throwaway`:
/// keys sorted, values compacted, as Go marshals a map of raw messages.
fn newest_v1_compatibility(
    config: &[u8],
    id: &str,
    parent: &str,
    throwaway: bool,
) -> Result<String> {
    let mut fields: BTreeMap<String, Box<RawValue>> = serde_json::from_slice(config)
        .map_err(|e| Error::Invalid(format!("parsing image config: {e}")))?;
    fields.remove("rootfs");
    fields.remove("history");
    let json = |v: &str| String::from_utf8(gojson::to_compact(v, true)).expect("JSON is UTF-8");
    let raw = |v: String| RawValue::from_string(v).expect("valid JSON");
    fields.insert("id".into(), raw(json(id)));
    if !parent.is_empty() {
        fields.insert("parent".into(), raw(json(parent)));
    }
    if throwaway {
        fields.insert("throwaway".into(), raw("true".into()));
    }
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{}", json(k), compact_raw(v.get())))
        .collect();
    Ok(format!("{{{}}}", body.join(",")))
}
