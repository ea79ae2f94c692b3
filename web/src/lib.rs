//! The browser host: what the inspector page asks (inspect, tags, a manifest's digest),
//! decided by skopeo-core, with registries reached through the page's `fetch()`. Results are
//! JSON texts the page renders; the page itself decides nothing.

mod fetch;
mod view;

use fetch::BrowserHttp;
use skopeo_core::registry::source::{self, DockerSource};
use skopeo_core::registry::{Credentials, RegistryClient, RegistryConfig};
use wasm_bindgen::prelude::*;

/// The digest of a manifest's bytes (`skopeo manifest-digest`).
#[wasm_bindgen(js_name = manifestDigest)]
pub fn manifest_digest(bytes: &[u8]) -> Result<String, JsError> {
    skopeo_core::manifest::manifest_digest(bytes)
        .map(|d| d.to_string())
        .map_err(|e| JsError::new(&format!("Error computing digest: {e}")))
}

/// What the page says about pasted or dropped manifest bytes, as JSON: `digest` (always, as
/// `skopeo manifest-digest` computes it), `mediaType` (recognised from the content, or empty)
/// and `problem` (why the bytes are not a usable manifest, or null).
/// `standalone-verify` in the page: checks a simple signing `signature` over `manifest` for
/// `reference`, made by one of `fingerprints` (comma-separated, or `any`) among the public
/// `keys`; returns skopeo's success line, or its error as the exception's message.
#[cfg(feature = "signatures")]
#[wasm_bindgen(js_name = verifySignature)]
pub fn verify_signature(
    keys: &[u8],
    manifest: &[u8],
    reference: String,
    fingerprints: String,
    signature: &[u8],
) -> Result<String, JsError> {
    let now = (js_sys::Date::now() / 1000.0) as i64;
    skopeo_core::trust::standalone::verify_command(
        keys,
        true,
        manifest,
        &reference,
        &fingerprints,
        signature,
        now,
    )
    .map(|line| line.trim_end().to_owned())
    .map_err(|e| JsError::new(&e))
}

#[wasm_bindgen(js_name = describeManifest)]
pub fn describe_manifest(bytes: &[u8]) -> Result<String, JsError> {
    let digest = manifest_digest(bytes)?;
    let media_type = skopeo_core::manifest::guess_mime_type(bytes);
    let problem = match serde_json::from_slice::<serde_json::Value>(bytes) {
        Err(e) => Some(format!("Not valid JSON: {e}")),
        Ok(_) => skopeo_core::manifest::Manifest::parse(bytes, media_type)
            .err()
            .map(|e| format!("Not a manifest skopeo can read: {e}")),
    };
    Ok(
        serde_json::json!({ "digest": digest, "mediaType": media_type, "problem": problem })
            .to_string(),
    )
}

/// Inspects `reference` (a repository path with a tag or digest, e.g. `team/app:v1`) in the
/// registry at `registry_url` (`http://host:port` or `https://host`). Returns the page's view
/// as JSON: see `view::ImageView`.
#[wasm_bindgen]
pub async fn inspect(registry_url: String, reference: String) -> Result<String, JsError> {
    let target = view::Target::parse(&registry_url, &reference).map_err(|e| JsError::new(&e))?;
    let http = BrowserHttp::default();
    let client = RegistryClient::new(&http, client_config(&target));
    let src = DockerSource::open(&client, target.reference.clone(), target.reference.clone())
        .await
        .map_err(|e| JsError::new(&format!("Error reading {}: {e}", target.reference)))?;
    let view = view::ImageView::build(&src, &client, &target)
        .await
        .map_err(|e| JsError::new(&e.to_string()))?;
    Ok(serde_json::to_string(&view).expect("views serialise"))
}

/// The tags of `repository` in the registry at `registry_url`, as a JSON array.
#[wasm_bindgen(js_name = listTags)]
pub async fn list_tags(registry_url: String, repository: String) -> Result<String, JsError> {
    let target = view::Target::parse(&registry_url, &repository).map_err(|e| JsError::new(&e))?;
    let http = BrowserHttp::default();
    let client = RegistryClient::new(&http, client_config(&target));
    let tags = source::list_tags(&client, &target.reference)
        .await
        .map_err(|e| JsError::new(&format!("Error listing repository tags: {e}")))?;
    Ok(serde_json::to_string(&tags).expect("tags serialise"))
}

fn client_config(target: &view::Target) -> RegistryConfig {
    RegistryConfig {
        registry: target.reference.domain().to_owned(),
        insecure: target.plain_http,
        credentials: Credentials::Anonymous,
        user_agent: String::new(),
    }
}
