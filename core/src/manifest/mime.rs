//! Manifest media types and content sniffing (containers/image's `GuessMIMEType`).

use serde::Deserialize;

pub const DOCKER_V2_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_V2_SCHEMA1_SIGNED: &str =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
pub const DOCKER_V2_SCHEMA2: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_V2_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_V2_SCHEMA2_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// Layer media types of docker v2 schema 2.
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const DOCKER_FOREIGN_LAYER: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar";
pub const DOCKER_FOREIGN_LAYER_GZIP: &str =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

/// Layer media types of the OCI image spec.
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const OCI_NONDISTRIBUTABLE_LAYER: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
pub const OCI_NONDISTRIBUTABLE_LAYER_GZIP: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
pub const OCI_NONDISTRIBUTABLE_LAYER_ZSTD: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

/// Every media type a docker v2 schema 2 manifest may use (containers/image refuses others).
pub const DOCKER_V2_SCHEMA2_KNOWN_TYPES: &[&str] = &[
    DOCKER_V2_LIST,
    DOCKER_V2_SCHEMA1,
    DOCKER_V2_SCHEMA1_SIGNED,
    DOCKER_V2_SCHEMA2_CONFIG,
    DOCKER_FOREIGN_LAYER,
    DOCKER_FOREIGN_LAYER_GZIP,
    DOCKER_LAYER_GZIP,
    DOCKER_V2_SCHEMA2,
    DOCKER_LAYER,
];

/// Every manifest type, in the order a registry client should prefer them.
pub const ALL_MANIFEST_TYPES: &[&str] = &[
    OCI_MANIFEST,
    DOCKER_V2_SCHEMA2,
    DOCKER_V2_SCHEMA1_SIGNED,
    DOCKER_V2_SCHEMA1,
    DOCKER_V2_LIST,
    OCI_INDEX,
];

#[derive(Deserialize)]
struct Meta {
    #[serde(rename = "mediaType", default)]
    media_type: Option<serde_json::Value>,
    #[serde(rename = "schemaVersion", default)]
    schema_version: Option<serde_json::Value>,
    #[serde(default)]
    signatures: Option<serde_json::Value>,
    #[serde(default)]
    config: Option<serde_json::Value>,
    #[serde(default)]
    manifests: Option<serde_json::Value>,
}

/// Guesses a manifest's media type from its content; `""` when it is not a known manifest.
///
/// The rules are containers/image's: a recognised `mediaType` wins; otherwise schemaVersion 1
/// is schema 1 (signed if it has `signatures`), and schemaVersion 2 is told apart by its
/// config's media type or the presence of `manifests`.
pub fn guess_mime_type(manifest: &[u8]) -> &'static str {
    let Ok(meta) = serde_json::from_slice::<Meta>(manifest) else {
        return "";
    };
    let str_field = |v: &Option<serde_json::Value>| -> Option<String> {
        match v {
            None | Some(serde_json::Value::Null) => Some(String::new()),
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(_) => None, // Go's Unmarshal would fail on a type mismatch.
        }
    };
    let Some(media_type) = str_field(&meta.media_type) else {
        return "";
    };
    for known in [DOCKER_V2_SCHEMA2, DOCKER_V2_LIST, OCI_MANIFEST, OCI_INDEX] {
        if media_type == known {
            return known;
        }
    }
    let version = match &meta.schema_version {
        None | Some(serde_json::Value::Null) => 0,
        Some(serde_json::Value::Number(n)) => match n.as_i64() {
            Some(v) => v,
            None => return "",
        },
        Some(_) => return "",
    };
    match version {
        1 => {
            if matches!(meta.signatures, None | Some(serde_json::Value::Null)) {
                DOCKER_V2_SCHEMA1
            } else {
                DOCKER_V2_SCHEMA1_SIGNED
            }
        }
        2 => {
            let config_type = match &meta.config {
                Some(serde_json::Value::Object(o)) => match o.get("mediaType") {
                    Some(serde_json::Value::String(s)) => s.as_str(),
                    _ => "",
                },
                _ => "",
            };
            match config_type {
                OCI_CONFIG => return OCI_MANIFEST,
                DOCKER_V2_SCHEMA2_CONFIG => return DOCKER_V2_SCHEMA2,
                _ => {}
            }
            let has_manifests =
                matches!(&meta.manifests, Some(serde_json::Value::Array(a)) if !a.is_empty());
            if has_manifests && config_type.is_empty() {
                return OCI_INDEX;
            }
            // An artifact with a custom config type (or, oddly, an index with a config) is
            // still treated as an OCI manifest for lack of anything better.
            OCI_MANIFEST
        }
        _ => "",
    }
}

/// Whether `mime` is docker schema 1, signed or not.
pub fn is_schema1(mime: &str) -> bool {
    mime == DOCKER_V2_SCHEMA1 || mime == DOCKER_V2_SCHEMA1_SIGNED
}

/// Whether `mime` is a manifest list / image index.
pub fn is_multi_image(mime: &str) -> bool {
    mime == DOCKER_V2_LIST || mime == OCI_INDEX
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses() {
        assert_eq!(guess_mime_type(b"not json"), "");
        assert_eq!(
            guess_mime_type(br#"{"schemaVersion":1}"#),
            DOCKER_V2_SCHEMA1
        );
        assert_eq!(
            guess_mime_type(br#"{"schemaVersion":1,"signatures":[]}"#),
            DOCKER_V2_SCHEMA1_SIGNED
        );
        assert_eq!(
            guess_mime_type(br#"{"schemaVersion":2,"manifests":[{}]}"#),
            OCI_INDEX
        );
        assert_eq!(guess_mime_type(br#"{"schemaVersion":2}"#), OCI_MANIFEST);
        assert_eq!(guess_mime_type(br#"{"schemaVersion":3}"#), "");
        assert_eq!(guess_mime_type(br#"{"mediaType":5}"#), "");
    }
}
