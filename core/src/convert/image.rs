//! Docker v2 schema 2 <-> OCI image manifest conversion.

use crate::config;
use crate::digest::Digest;
use crate::gojson::go_quote;
use crate::manifest::document::{
    self, OciDescriptor, OciManifest, Schema2Descriptor, Schema2Manifest,
};
use crate::manifest::mime;
use crate::{Error, Result};

/// Decodes a docker v2 schema 2 manifest, refusing media types docker does not define.
pub fn decode_schema2(bytes: &[u8]) -> Result<Schema2Manifest> {
    let m: Schema2Manifest = document::decode(bytes).map_err(Error::Invalid)?;
    let types = std::iter::once(&m.media_type).chain(m.layers().iter().map(|l| &l.media_type));
    for t in types {
        if !mime::DOCKER_V2_SCHEMA2_KNOWN_TYPES.contains(&t.as_str()) {
            return Err(Error::Invalid(format!(
                "unsupported docker v2s2 media type: {}",
                go_quote(t)
            )));
        }
    }
    Ok(m)
}

/// Decodes an OCI image manifest.
pub fn decode_oci(bytes: &[u8]) -> Result<OciManifest> {
    document::decode(bytes).map_err(Error::Invalid)
}

fn unknown_layer_type(media_type: &str) -> Error {
    Error::Unsupported(format!(
        "Unknown media type during manifest conversion: {}",
        go_quote(media_type)
    ))
}

/// The refusal to treat a non-image OCI artifact as an image.
pub fn non_image_artifact(config_media_type: &str) -> Error {
    Error::Unsupported(format!(
        "unsupported image-specific operation on artifact with type {}",
        go_quote(config_media_type)
    ))
}

/// Rewrites a docker image configuration in the OCI shape (dropping docker-only fields).
pub fn oci_config_from_docker(config: &[u8]) -> Result<Vec<u8>> {
    let image = config::parse_oci_image(config).map_err(Error::Invalid)?;
    Ok(document::encode(&image))
}

/// Converts a schema 2 manifest and its config blob to an OCI manifest and the new config blob.
pub fn schema2_to_oci(m: &Schema2Manifest, config: &[u8]) -> Result<(OciManifest, Vec<u8>)> {
    let oci_config = oci_config_from_docker(config)?;
    let config_descriptor = OciDescriptor {
        media_type: mime::OCI_CONFIG.into(),
        digest: Digest::sha256_of(&oci_config).to_string(),
        size: oci_config.len() as i64,
        ..Default::default()
    };
    let layers = m
        .layers()
        .iter()
        .map(|l| {
            let media_type = match l.media_type.as_str() {
                mime::DOCKER_FOREIGN_LAYER => mime::OCI_NONDISTRIBUTABLE_LAYER,
                mime::DOCKER_FOREIGN_LAYER_GZIP => mime::OCI_NONDISTRIBUTABLE_LAYER_GZIP,
                mime::DOCKER_LAYER => mime::OCI_LAYER,
                mime::DOCKER_LAYER_GZIP => mime::OCI_LAYER_GZIP,
                other => return Err(unknown_layer_type(other)),
            };
            Ok(OciDescriptor {
                media_type: media_type.into(),
                digest: l.digest.clone(),
                size: l.size,
                urls: l.urls.clone(),
                ..Default::default()
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((
        OciManifest::from_components(config_descriptor, layers),
        oci_config,
    ))
}

/// Converts an OCI image manifest to schema 2; the config blob stays as it is. OCI artifacts
/// (a config that is not an image config) and zstd layers cannot be expressed in schema 2.
pub fn oci_to_schema2(m: &OciManifest) -> Result<Schema2Manifest> {
    if m.config.media_type != mime::OCI_CONFIG {
        return Err(non_image_artifact(&m.config.media_type));
    }
    let config = Schema2Descriptor {
        media_type: mime::DOCKER_V2_SCHEMA2_CONFIG.into(),
        size: m.config.size,
        digest: m.config.digest.clone(),
        urls: m.config.urls.clone(),
    };
    let layers = m
        .layers()
        .iter()
        .map(|l| {
            let media_type = match l.media_type.as_str() {
                mime::OCI_NONDISTRIBUTABLE_LAYER => mime::DOCKER_FOREIGN_LAYER,
                mime::OCI_NONDISTRIBUTABLE_LAYER_GZIP => mime::DOCKER_FOREIGN_LAYER_GZIP,
                mime::OCI_LAYER => mime::DOCKER_LAYER,
                mime::OCI_LAYER_GZIP => mime::DOCKER_LAYER_GZIP,
                zstd @ (mime::OCI_NONDISTRIBUTABLE_LAYER_ZSTD | mime::OCI_LAYER_ZSTD) => {
                    return Err(Error::Unsupported(format!(
                        "Error during manifest conversion: {}: zstd compression is not supported for docker images",
                        go_quote(zstd)
                    )))
                }
                other => return Err(unknown_layer_type(other)),
            };
            Ok(Schema2Descriptor {
                media_type: media_type.into(),
                size: l.size,
                digest: l.digest.clone(),
                urls: l.urls.clone(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Schema2Manifest::from_components(config, layers))
}
