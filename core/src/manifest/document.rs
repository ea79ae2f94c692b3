//! Manifest documents in the exact shape Go's containers/image writes them (field order,
//! `omitempty`), for the cases where a manifest must be rewritten rather than copied: format
//! conversions and layer edits. Digests stay text, as Go does not validate them on decode.

use super::mime;
use crate::gojson;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn is_empty_vec<T>(v: &Option<Vec<T>>) -> bool {
    v.as_ref().is_none_or(Vec::is_empty)
}

fn is_empty_map(v: &Option<BTreeMap<String, String>>) -> bool {
    v.as_ref().is_none_or(BTreeMap::is_empty)
}

/// A descriptor in docker v2 schema 2 manifests and lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema2Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    #[serde(default)]
    pub size: i64,
    #[serde(default)]
    pub digest: String,
    #[serde(default, skip_serializing_if = "is_empty_vec")]
    pub urls: Option<Vec<String>>,
}

/// A docker v2 schema 2 image manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema2Manifest {
    #[serde(rename = "schemaVersion", default)]
    pub schema_version: i64,
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    #[serde(default)]
    pub config: Schema2Descriptor,
    #[serde(default)]
    pub layers: Option<Vec<Schema2Descriptor>>,
}

impl Schema2Manifest {
    /// A manifest built from parts, as `Schema2FromComponents` does.
    pub fn from_components(config: Schema2Descriptor, layers: Vec<Schema2Descriptor>) -> Self {
        Schema2Manifest {
            schema_version: 2,
            media_type: mime::DOCKER_V2_SCHEMA2.into(),
            config,
            layers: Some(layers),
        }
    }

    /// The layer descriptors (none when the document has `null`).
    pub fn layers(&self) -> &[Schema2Descriptor] {
        self.layers.as_deref().unwrap_or_default()
    }
}

/// A platform in an OCI descriptor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OciPlatform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub os_version: String,
    #[serde(rename = "os.features", default, skip_serializing_if = "is_empty_vec")]
    pub os_features: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
}

/// An OCI content descriptor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OciDescriptor {
    #[serde(
        rename = "mediaType",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub media_type: String,
    #[serde(default)]
    pub digest: String,
    #[serde(default)]
    pub size: i64,
    #[serde(default, skip_serializing_if = "is_empty_vec")]
    pub urls: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Embedded content, base64 as in the document.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub data: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<OciPlatform>,
    #[serde(
        rename = "artifactType",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub artifact_type: String,
}

/// An OCI image manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OciManifest {
    #[serde(rename = "schemaVersion", default)]
    pub schema_version: i64,
    #[serde(
        rename = "mediaType",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub media_type: String,
    #[serde(default)]
    pub config: OciDescriptor,
    #[serde(default)]
    pub layers: Option<Vec<OciDescriptor>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<OciDescriptor>,
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl OciManifest {
    /// A manifest built from parts, as `OCI1FromComponents` does.
    pub fn from_components(config: OciDescriptor, layers: Vec<OciDescriptor>) -> Self {
        OciManifest {
            schema_version: 2,
            media_type: mime::OCI_MANIFEST.into(),
            config,
            layers: Some(layers),
            subject: None,
            annotations: None,
        }
    }

    /// The layer descriptors (none when the document has `null`).
    pub fn layers(&self) -> &[OciDescriptor] {
        self.layers.as_deref().unwrap_or_default()
    }
}

/// The platform of one docker manifest list entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema2PlatformSpec {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub os_version: String,
    #[serde(rename = "os.features", default, skip_serializing_if = "is_empty_vec")]
    pub os_features: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
    #[serde(default, skip_serializing_if = "is_empty_vec")]
    pub features: Option<Vec<String>>,
}

/// One entry of a docker manifest list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema2ListEntry {
    #[serde(flatten)]
    pub descriptor: Schema2Descriptor,
    #[serde(default)]
    pub platform: Schema2PlatformSpec,
}

/// A docker v2 manifest list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema2List {
    #[serde(rename = "schemaVersion", default)]
    pub schema_version: i64,
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    #[serde(default)]
    pub manifests: Vec<Schema2ListEntry>,
}

/// An OCI image index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OciIndex {
    #[serde(rename = "schemaVersion", default)]
    pub schema_version: i64,
    #[serde(
        rename = "mediaType",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub media_type: String,
    #[serde(default)]
    pub manifests: Vec<OciDescriptor>,
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// Decodes a document, with serde's message on failure.
pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
}

/// Encodes a document as Go's `json.Marshal` does (compact, HTML-escaped).
pub fn encode<T: Serialize>(document: &T) -> Vec<u8> {
    gojson::to_compact(document, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_entries_flatten_in_go_order() {
        let list = Schema2List {
            schema_version: 2,
            media_type: mime::DOCKER_V2_LIST.into(),
            manifests: vec![Schema2ListEntry {
                descriptor: Schema2Descriptor {
                    media_type: mime::DOCKER_V2_SCHEMA2.into(),
                    size: 7,
                    digest: "sha256:abc".into(),
                    urls: None,
                },
                platform: Schema2PlatformSpec {
                    architecture: "arm".into(),
                    os: "linux".into(),
                    variant: "v7".into(),
                    ..Default::default()
                },
            }],
        };
        let text = String::from_utf8(encode(&list)).unwrap();
        assert_eq!(
            text,
            r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":7,"digest":"sha256:abc","platform":{"architecture":"arm","os":"linux","variant":"v7"}}]}"#
        );
        let back: Schema2List = decode(text.as_bytes()).unwrap();
        assert_eq!(back, list);
    }

    #[test]
    fn oci_descriptor_omits_empty_fields() {
        let d = OciDescriptor {
            digest: "sha256:abc".into(),
            size: 1,
            annotations: Some(BTreeMap::new()),
            ..Default::default()
        };
        assert_eq!(encode(&d), br#"{"digest":"sha256:abc","size":1}"#);
    }
}
