//! Sigstore signatures as registry attachments, as cosign and containers/image keep them:
//! the repository's `sha256-HEX.sig` tag holds an OCI manifest whose layers are the
//! signatures' payloads, each with its signature in the layer's annotations.

use super::client::{repository_scope, status_error, RegistryClient};
use crate::digest::Digest;
use crate::effects::{Clock, HttpClient};
use crate::manifest::mime;
use crate::signature::Signature;
use crate::trust::sigstore::SigstoreSignature;
use crate::{Error, Result};
use http::Method;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Largest attachment manifest read (containers/image's manifest limit).
const MAX_MANIFEST_SIZE: usize = 4 << 20;
/// Largest signature payload read.
const MAX_PAYLOAD_SIZE: u64 = 4 << 20;

/// The tag holding the attachments of the manifest `digest`.
pub fn attachment_tag(digest: &Digest) -> String {
    format!("{}-{}.sig", digest.algorithm().name(), digest.hex())
}

#[derive(Serialize, Deserialize, Clone, PartialEq)]
struct Layer {
    #[serde(rename = "mediaType")]
    media_type: String,
    digest: Digest,
    size: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
struct AttachmentManifest {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType", default)]
    media_type: String,
    config: Layer,
    #[serde(default)]
    layers: Vec<Layer>,
}

/// The attachment manifest of `digest` in `repository`, if there is one.
async fn read_manifest<H: HttpClient + Clock>(
    client: &RegistryClient<'_, H>,
    repository: &str,
    digest: &Digest,
) -> Result<Option<AttachmentManifest>> {
    let tag = attachment_tag(digest);
    let path = format!("/v2/{repository}/manifests/{tag}");
    let res = client
        .request(
            Method::GET,
            &path,
            &[("Accept", mime::OCI_MANIFEST)],
            Vec::new(),
            &[repository_scope(repository, "pull")],
        )
        .await?;
    match res.status().as_u16() {
        404 => return Ok(None),
        200 => {}
        _ => {
            return Err(status_error(
                &res,
                "reading signatures from sigstore attachments",
            ))
        }
    }
    let body = res.into_body();
    if body.len() > MAX_MANIFEST_SIZE {
        return Err(Error::Invalid(format!(
            "sigstore attachments of {digest}: manifest larger than {MAX_MANIFEST_SIZE} bytes"
        )));
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| Error::Invalid(format!("parsing sigstore attachments of {digest}: {e}")))
}

/// The sigstore signatures attached to the manifest `digest` of `repository`.
pub async fn read_signatures<H: HttpClient + Clock>(
    client: &RegistryClient<'_, H>,
    repository: &str,
    digest: &Digest,
) -> Result<Vec<Signature>> {
    let Some(manifest) = read_manifest(client, repository, digest).await? else {
        return Ok(Vec::new());
    };
    let mut signatures = Vec::with_capacity(manifest.layers.len());
    for layer in manifest.layers {
        if layer.size > MAX_PAYLOAD_SIZE {
            return Err(Error::Invalid(format!(
                "sigstore attachment {}: larger than {MAX_PAYLOAD_SIZE} bytes",
                layer.digest
            )));
        }
        let payload = client.get_blob(repository, &layer.digest).await?;
        let signature = SigstoreSignature {
            mime_type: layer.media_type,
            payload,
            annotations: layer.annotations,
        };
        signatures.push(Signature::Sigstore(signature.to_json()));
    }
    Ok(signatures)
}

/// Attaches `signatures` (sigstore ones) to the manifest `digest` of `repository`, keeping
/// those already attached and not repeating any.
pub async fn write_signatures<H: HttpClient + Clock>(
    client: &RegistryClient<'_, H>,
    repository: &str,
    digest: &Digest,
    signatures: &[SigstoreSignature],
) -> Result<()> {
    let mut layers = match read_manifest(client, repository, digest).await? {
        Some(existing) => existing.layers,
        None => Vec::new(),
    };
    for signature in signatures {
        let layer = Layer {
            media_type: signature.mime_type.clone(),
            digest: Digest::sha256_of(&signature.payload),
            size: signature.payload.len() as u64,
            annotations: signature.annotations.clone(),
        };
        if layers.contains(&layer) {
            continue;
        }
        upload(client, repository, &signature.payload).await?;
        layers.push(layer);
    }
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "",
        "os": "",
        "config": {},
        "rootfs": {
            "type": "layers",
            "diff_ids": layers.iter().map(|l| l.digest.to_string()).collect::<Vec<_>>(),
        },
    }))
    .expect("JSON");
    upload(client, repository, &config).await?;
    let manifest = AttachmentManifest {
        schema_version: 2,
        media_type: mime::OCI_MANIFEST.into(),
        config: Layer {
            media_type: "application/vnd.oci.image.config.v1+json".into(),
            digest: Digest::sha256_of(&config),
            size: config.len() as u64,
            annotations: BTreeMap::new(),
        },
        layers,
    };
    let bytes = serde_json::to_vec(&manifest).expect("JSON");
    client
        .put_manifest(
            repository,
            &attachment_tag(digest),
            &bytes,
            mime::OCI_MANIFEST,
        )
        .await
        .map_err(|e| e.context("writing sigstore attachments"))
}

async fn upload<H: HttpClient + Clock>(
    client: &RegistryClient<'_, H>,
    repository: &str,
    bytes: &[u8],
) -> Result<()> {
    let digest = Digest::sha256_of(bytes);
    if client.blob_exists(repository, &digest).await? {
        return Ok(());
    }
    let mut stream = crate::destination::SliceStream::new(bytes);
    client
        .upload_blob(
            repository,
            &mut stream,
            Some(&digest),
            Some(bytes.len() as u64),
        )
        .await
        .map(|_| ())
}
