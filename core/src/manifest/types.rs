//! Parsed views of the five manifest schemas.

use super::mime;
use super::platform::Platform;
use super::schema1::{self, V1Compatibility};
use crate::digest::Digest;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Why manifest bytes could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("Unimplemented manifest MIME type {0}")]
    UnsupportedType(String),
    #[error("{0}")]
    Invalid(String),
}

/// A content descriptor (digest, size, media type, and optional extras).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: Digest,
    #[serde(default)]
    pub size: i64,
    #[serde(default)]
    pub urls: Option<Vec<String>>,
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub platform: Option<Platform>,
}

/// A docker v2 schema 1 manifest (signed or not).
#[derive(Debug, Clone, Deserialize)]
pub struct Schema1 {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(rename = "fsLayers", default)]
    pub fs_layers: Vec<FsLayer>,
    #[serde(default)]
    pub history: Vec<Schema1History>,
    /// The decoded `history` entries, filled in by [`Manifest::parse`].
    #[serde(skip)]
    pub compat: Vec<V1Compatibility>,
}

/// One schema 1 layer reference.
#[derive(Debug, Clone, Deserialize)]
pub struct FsLayer {
    #[serde(rename = "blobSum")]
    pub blob_sum: Digest,
}

/// One schema 1 history entry: a v1 image JSON, as a string.
#[derive(Debug, Clone, Deserialize)]
pub struct Schema1History {
    #[serde(rename = "v1Compatibility")]
    pub v1_compatibility: String,
}

/// A single-image manifest: docker v2 schema 2 or OCI image manifest.
#[derive(Debug, Clone, Deserialize)]
pub struct ImageManifest {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// A multi-image manifest: docker manifest list or OCI image index.
#[derive(Debug, Clone, Deserialize)]
pub struct ImageIndex {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// A parsed manifest of any supported schema.
#[derive(Debug, Clone)]
pub enum Manifest {
    Schema1(Schema1),
    Schema2(ImageManifest),
    Oci(ImageManifest),
    DockerList(ImageIndex),
    OciIndex(ImageIndex),
}

impl Manifest {
    /// Parses `bytes` as the schema `mime_type` names (sniffed from the content when empty).
    pub fn parse(bytes: &[u8], mime_type: &str) -> Result<Self, ManifestError> {
        let mime_type = if mime_type.is_empty() {
            mime::guess_mime_type(bytes)
        } else {
            mime_type
        };
        let invalid = |e: serde_json::Error| ManifestError::Invalid(e.to_string());
        Ok(match mime_type {
            mime::DOCKER_V2_SCHEMA1 | mime::DOCKER_V2_SCHEMA1_SIGNED => {
                let mut m: Schema1 = serde_json::from_slice(bytes).map_err(invalid)?;
                if m.fs_layers.len() != m.history.len() {
                    return Err(ManifestError::Invalid(
                        "length of history not equal to number of layers".into(),
                    ));
                }
                if m.fs_layers.is_empty() {
                    return Err(ManifestError::Invalid("no FSLayers in manifest".into()));
                }
                schema1::normalize(&mut m).map_err(ManifestError::Invalid)?;
                Manifest::Schema1(m)
            }
            mime::DOCKER_V2_SCHEMA2 => {
                Manifest::Schema2(serde_json::from_slice(bytes).map_err(invalid)?)
            }
            mime::OCI_MANIFEST => Manifest::Oci(serde_json::from_slice(bytes).map_err(invalid)?),
            mime::DOCKER_V2_LIST => {
                Manifest::DockerList(serde_json::from_slice(bytes).map_err(invalid)?)
            }
            mime::OCI_INDEX => Manifest::OciIndex(serde_json::from_slice(bytes).map_err(invalid)?),
            // JSON nested too deep to read names its own problem, not a type.
            "" => match serde_json::from_slice::<serde_json::Value>(bytes) {
                Err(e) if e.to_string().contains("recursion limit") => {
                    return Err(ManifestError::Invalid(format!(
                        "invalid manifest: nested too deeply ({e})"
                    )))
                }
                _ => return Err(ManifestError::UnsupportedType(String::new())),
            },
            other => return Err(ManifestError::UnsupportedType(other.to_owned())),
        })
    }

    /// The schema's media type.
    pub fn mime_type(&self) -> &'static str {
        match self {
            Manifest::Schema1(_) => mime::DOCKER_V2_SCHEMA1_SIGNED,
            Manifest::Schema2(_) => mime::DOCKER_V2_SCHEMA2,
            Manifest::Oci(_) => mime::OCI_MANIFEST,
            Manifest::DockerList(_) => mime::DOCKER_V2_LIST,
            Manifest::OciIndex(_) => mime::OCI_INDEX,
        }
    }

    /// The layer digests in application order (schema 1's are stored newest first).
    pub fn layer_digests(&self) -> Vec<Digest> {
        match self {
            Manifest::Schema1(m) => m
                .fs_layers
                .iter()
                .rev()
                .map(|l| l.blob_sum.clone())
                .collect(),
            Manifest::Schema2(m) | Manifest::Oci(m) => {
                m.layers.iter().map(|l| l.digest.clone()).collect()
            }
            Manifest::DockerList(_) | Manifest::OciIndex(_) => Vec::new(),
        }
    }
}
