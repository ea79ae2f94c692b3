//! Manifest format conversions, as containers/image performs them for `copy --format` and
//! `copy --all` to a destination that needs another format: docker v2 schema 2 <-> OCI,
//! schema 1 -> schema 2 / OCI (with a synthesised config), and manifest list <-> image index.
//! Output bytes are what Go's `json.Marshal` writes for the same documents.

pub mod image;
mod legacy_v1;
pub mod list;
pub mod schema1;
pub mod to_schema1;

pub use schema1::Schema1LayerFacts;

use crate::manifest::{document, mime, types::Schema1, Manifest};
use crate::{Error, Result};

/// A converted single-image manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertedImage {
    /// The new manifest bytes.
    pub manifest: Vec<u8>,
    /// The new manifest's media type.
    pub media_type: &'static str,
    /// The new config blob, when the conversion rewrote it (it must then be stored too).
    pub config: Option<Vec<u8>>,
}

fn unsupported_target(target: &str) -> Error {
    Error::Unsupported(format!("Unsupported conversion type: {target}"))
}

fn parse_schema1(manifest: &[u8]) -> Result<Schema1> {
    match Manifest::parse(manifest, mime::DOCKER_V2_SCHEMA1_SIGNED) {
        Ok(Manifest::Schema1(m)) => Ok(m),
        Ok(_) => unreachable!("parsed as schema 1"),
        Err(e) => Err(Error::Invalid(e.to_string())),
    }
}

/// Converts an image manifest of type `source_type` to `target_type`.
///
/// `config` is the (verified) config blob; a schema 2 source needs it to become OCI.
/// `schema1_layers` describes a schema 1 source's layers (see [`Schema1LayerFacts`]).
/// Converting to the source's own type returns the manifest unchanged.
pub fn convert_image(
    manifest: &[u8],
    source_type: &str,
    config: Option<&[u8]>,
    target_type: &str,
    schema1_layers: Option<&[Schema1LayerFacts]>,
) -> Result<ConvertedImage> {
    let unchanged = || ConvertedImage {
        manifest: manifest.to_vec(),
        media_type: match source_type {
            mime::DOCKER_V2_SCHEMA1 => mime::DOCKER_V2_SCHEMA1,
            mime::DOCKER_V2_SCHEMA1_SIGNED => mime::DOCKER_V2_SCHEMA1_SIGNED,
            mime::DOCKER_V2_SCHEMA2 => mime::DOCKER_V2_SCHEMA2,
            _ => mime::OCI_MANIFEST,
        },
        config: None,
    };
    let is_schema1 = mime::is_schema1;
    match (source_type, target_type) {
        (s, t) if s == t || (is_schema1(s) && is_schema1(t)) => Ok(unchanged()),
        (mime::DOCKER_V2_SCHEMA2, mime::OCI_MANIFEST) => {
            let m = image::decode_schema2(manifest)?;
            let config = config.ok_or_else(|| {
                Error::Invalid("converting to OCI needs the image's config blob".into())
            })?;
            let (oci, config) = image::schema2_to_oci(&m, config)?;
            Ok(ConvertedImage {
                manifest: document::encode(&oci),
                media_type: mime::OCI_MANIFEST,
                config: Some(config),
            })
        }
        (mime::OCI_MANIFEST, mime::DOCKER_V2_SCHEMA2) => {
            let m = image::decode_oci(manifest)?;
            Ok(ConvertedImage {
                manifest: document::encode(&image::oci_to_schema2(&m)?),
                media_type: mime::DOCKER_V2_SCHEMA2,
                config: None,
            })
        }
        (s, t @ (mime::DOCKER_V2_SCHEMA2 | mime::OCI_MANIFEST)) if is_schema1(s) => {
            let m = parse_schema1(manifest)?;
            let (schema2, config) = schema1::schema1_to_schema2(&m, schema1_layers)?;
            if t == mime::DOCKER_V2_SCHEMA2 {
                return Ok(ConvertedImage {
                    manifest: document::encode(&schema2),
                    media_type: mime::DOCKER_V2_SCHEMA2,
                    config: Some(config),
                });
            }
            let (oci, config) = image::schema2_to_oci(&schema2, &config)?;
            Ok(ConvertedImage {
                manifest: document::encode(&oci),
                media_type: mime::OCI_MANIFEST,
                config: Some(config),
            })
        }
        // Schema 1 names the layers as stored and is signed: see `to_schema1::from_image`.
        (mime::DOCKER_V2_SCHEMA2 | mime::OCI_MANIFEST, t) if is_schema1(t) => {
            to_schema1::check_convertible(manifest, source_type)?;
            Err(Error::Unsupported(format!(
                "Internal error: converting {source_type} to {t} needs the layers as stored (to_schema1::from_image)"
            )))
        }
        (_, t) => Err(unsupported_target(t)),
    }
}

/// Converts a manifest list or image index to `target_type` (the other list type). Index
/// entries without a platform get the host's (`host_os`/`host_arch`, Go naming).
pub fn convert_list(
    manifest: &[u8],
    source_type: &str,
    target_type: &str,
    host_os: &str,
    host_arch: &str,
) -> Result<Vec<u8>> {
    let invalid = |e: String| Error::Invalid(e);
    match (source_type, target_type) {
        (s, t) if s == t && mime::is_multi_image(s) => Ok(manifest.to_vec()),
        (mime::DOCKER_V2_LIST, mime::OCI_INDEX) => {
            let list: document::Schema2List = document::decode(manifest).map_err(invalid)?;
            Ok(document::encode(&list::docker_list_to_oci_index(&list)))
        }
        (mime::OCI_INDEX, mime::DOCKER_V2_LIST) => {
            let index: document::OciIndex = document::decode(manifest).map_err(invalid)?;
            Ok(document::encode(&list::oci_index_to_docker_list(
                &index, host_os, host_arch,
            )))
        }
        (s, t) if mime::is_multi_image(s) && !mime::is_multi_image(t) => {
            let what = if s == mime::OCI_INDEX {
                "image index"
            } else {
                "manifest list"
            };
            Err(Error::Unsupported(format!(
                "Can not convert {what} to MIME type \"{t}\", which is not a list type"
            )))
        }
        (_, t) => Err(Error::Unsupported(format!(
            "Unimplemented manifest list MIME type {t}"
        ))),
    }
}
