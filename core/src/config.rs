//! Image configuration blobs: the OCI `Image` shape (as Go's image-spec writes it: field order
//! and `omitempty` rules), the docker fields inspect reads, and schema 1's embedded configs.

use crate::gotime::GoTime;
use crate::manifest::types::Schema1;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A JSON value Go models as `struct{}`: accepts anything, writes `{}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Empty;

impl Serialize for Empty {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        s.serialize_map(Some(0))?.end()
    }
}

impl<'de> Deserialize<'de> for Empty {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Empty)
    }
}

fn is_empty_vec<T>(v: &Option<Vec<T>>) -> bool {
    v.as_ref().is_none_or(Vec::is_empty)
}

fn is_empty_map<K, V>(v: &Option<BTreeMap<K, V>>) -> bool {
    v.as_ref().is_none_or(BTreeMap::is_empty)
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The runtime part of an OCI image configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(rename = "User", default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(rename = "ExposedPorts", default, skip_serializing_if = "is_empty_map")]
    pub exposed_ports: Option<BTreeMap<String, Empty>>,
    #[serde(rename = "Env", default, skip_serializing_if = "is_empty_vec")]
    pub env: Option<Vec<String>>,
    #[serde(rename = "Entrypoint", default, skip_serializing_if = "is_empty_vec")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(rename = "Cmd", default, skip_serializing_if = "is_empty_vec")]
    pub cmd: Option<Vec<String>>,
    #[serde(rename = "Volumes", default, skip_serializing_if = "is_empty_map")]
    pub volumes: Option<BTreeMap<String, Empty>>,
    #[serde(
        rename = "WorkingDir",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub working_dir: String,
    #[serde(rename = "Labels", default, skip_serializing_if = "is_empty_map")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(
        rename = "StopSignal",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub stop_signal: String,
    #[serde(rename = "ArgsEscaped", default, skip_serializing_if = "is_false")]
    pub args_escaped: bool,
}

/// The layer list of an image configuration (uncompressed layer digests).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Kept as text: Go does not validate these, and schema 1 conversions leave them empty.
    #[serde(default)]
    pub diff_ids: Option<Vec<String>>,
}

/// One build step in an image's history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<GoTime>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_by: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub author: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub empty_layer: bool,
}

/// An OCI image configuration, written exactly as skopeo's `inspect --config` writes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OciImage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<GoTime>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub author: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
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
    #[serde(default)]
    pub config: ImageConfig,
    #[serde(default)]
    pub rootfs: RootFs,
    #[serde(default, skip_serializing_if = "is_empty_vec")]
    pub history: Option<Vec<History>>,
}

/// The fields of a docker image configuration (v2 schema 2 config or a schema 1
/// `v1Compatibility` entry) that inspect reports.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DockerImageInfo {
    #[serde(default)]
    pub created: Option<GoTime>,
    #[serde(default)]
    pub docker_version: String,
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub variant: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub config: Option<DockerContainerConfig>,
}

/// The labels and environment of a docker config's `config`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DockerContainerConfig {
    #[serde(rename = "Labels", default)]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(rename = "Env", default)]
    pub env: Option<Vec<String>>,
}

/// Parses a config blob into the OCI shape (docker configs share its field names).
pub fn parse_oci_image(config: &[u8]) -> Result<OciImage, String> {
    serde_json::from_slice(config).map_err(|e| e.to_string())
}

/// The OCI configuration of a schema 1 image, as containers/image synthesises it: the schema 2
/// config a conversion would write, with unknown (empty) diff IDs.
pub fn oci_image_from_schema1(m: &Schema1) -> Result<OciImage, String> {
    let non_empty_layers = m.compat.iter().filter(|c| !c.throwaway).count();
    let config = crate::convert::schema1::schema2_config(m, &vec![String::new(); non_empty_layers])
        .map_err(|e| e.to_string())?;
    parse_oci_image(&config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gojson;

    #[test]
    fn writes_go_shape() {
        let cfg = br#"{"os":"linux","architecture":"amd64","config":{"ExposedPorts":{"80/tcp":{"x":1}},"Env":[]},"rootfs":{"type":"layers"},"extra":1}"#;
        let img = parse_oci_image(cfg).unwrap();
        let out = String::from_utf8(gojson::to_compact(&img, true)).unwrap();
        assert_eq!(
            out,
            r#"{"architecture":"amd64","os":"linux","config":{"ExposedPorts":{"80/tcp":{}}},"rootfs":{"type":"layers","diff_ids":null}}"#
        );
    }
}
