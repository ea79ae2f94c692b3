//! The image store: `DRIVER-images/images.json`, how a name, name@digest, ID or ID prefix
//! finds an image in it, and how its big-data items (manifests, config, signatures) are named
//! on disk.

use crate::reference::Reference;
use crate::transport::StorageImage;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One image as `images.json` records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredImage {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub digests: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    #[serde(
        default,
        rename = "names-history",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub names_history: Vec<String>,
    /// The top layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    #[serde(
        default,
        rename = "big-data-names",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub big_data_names: Vec<String>,
    #[serde(
        default,
        rename = "big-data-sizes",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub big_data_sizes: BTreeMap<String, i64>,
    #[serde(
        default,
        rename = "big-data-digests",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub big_data_digests: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Everything else containers/storage records, kept as it was when rewriting the file.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// Parses `images.json`.
pub fn parse_images(bytes: &[u8]) -> Result<Vec<StoredImage>> {
    serde_json::from_slice(bytes).map_err(|e| Error::Invalid(format!("images.json: {e}")))
}

/// The file a big-data item `key` is kept in: the key itself when it is only `.`, digits and
/// lower-case letters, else `=` and its base64.
pub fn big_data_file_name(key: &str) -> String {
    let plain = key
        .chars()
        .all(|c| c == '.' || c.is_ascii_digit() || c.is_ascii_lowercase());
    match plain {
        true => key.to_owned(),
        false => {
            use base64::Engine;
            format!("={}", base64::engine::general_purpose::STANDARD.encode(key))
        }
    }
}

/// The image `wanted` names among `images`: by ID (or a unique ID prefix), by name, or by a
/// name's repository and a manifest digest.
pub fn find<'i>(images: &'i [StoredImage], wanted: &StorageImage) -> Option<&'i StoredImage> {
    let by_id = |id: &str| {
        let mut matching = images.iter().filter(|i| i.id.starts_with(id));
        let found = matching.next()?;
        match matching.next().is_some() && found.id != id {
            true => None,
            false => Some(found),
        }
    };
    if let Some(id) = &wanted.id {
        // With a name too, the image must carry that name.
        return by_id(id).filter(|image| {
            wanted
                .reference
                .as_ref()
                .is_none_or(|r| image.names.iter().any(|n| *n == r.to_string()))
        });
    }
    let reference = wanted.reference.as_ref()?;
    // A bare hexadecimal name is an ID (or its prefix) when the store has such an image.
    if let Some(hex) = reference.path().strip_prefix("library/") {
        let is_id = hex.len() >= 3 && hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
        if let Some(found) = is_id.then(|| by_id(hex)).flatten() {
            return Some(found);
        }
    }
    if let Some(digest) = reference.digest_str() {
        let repo = reference.name();
        return images.iter().find(|i| {
            let has_digest =
                i.digest.as_deref() == Some(digest) || i.digests.iter().any(|d| d == digest);
            let in_repo = i
                .names
                .iter()
                .any(|n| Reference::parse_normalized_named(n).is_ok_and(|r| r.name() == repo));
            has_digest && in_repo
        });
    }
    let full = reference.to_string();
    images.iter().find(|i| i.names.contains(&full))
}
