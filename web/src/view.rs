//! What the inspector page shows, decided here and handed over as JSON: the image's digest,
//! skopeo's inspect output and its parts (created, platform, labels, env, layers with sizes
//! and media types), the config, an index's platforms, and the repository's tags.

use serde::Serialize;
use skopeo_core::effects::{Clock, HttpClient};
use skopeo_core::inspect::{self, InspectOutput};
use skopeo_core::manifest::platform::PlatformChoice;
use skopeo_core::manifest::{manifest_digest, Manifest};
use skopeo_core::reference::Reference;
use skopeo_core::registry::source::{self, DockerSource, RepoTags};
use skopeo_core::registry::RegistryClient;
use skopeo_core::{gojson, Error, Result};
use std::collections::BTreeMap;

/// A registry and an image in it, as the page's two fields give them.
pub struct Target {
    pub reference: Reference,
    /// The URL said `http://`: plain HTTP is allowed.
    pub plain_http: bool,
}

impl Target {
    /// Parses `registry_url` (`http://127.0.0.1:5000`, `https://registry.example`, or a bare
    /// host) and `name` (`team/app:v1`, `team/app@sha256:…`, or a name already starting with
    /// the registry's host).
    pub fn parse(registry_url: &str, name: &str) -> std::result::Result<Target, String> {
        let url = registry_url.trim().trim_end_matches('/');
        let (plain_http, host) = match url.split_once("://") {
            Some(("http", h)) => (true, h),
            Some(("https", h)) => (false, h),
            Some((other, _)) => {
                return Err(format!(
                    "Registry URL {url:?}: use http:// or https://, not {other}://"
                ))
            }
            None => (false, url),
        };
        if host.is_empty() || host.contains('/') {
            return Err(format!(
                "Registry URL {url:?}: expected a scheme and a host, e.g. http://127.0.0.1:5000"
            ));
        }
        let name = name.trim().trim_start_matches("docker://");
        if name.is_empty() {
            return Err("Enter an image reference, e.g. team/app:v1".into());
        }
        let path = name.strip_prefix(&format!("{host}/")).unwrap_or(name);
        let full = format!("{host}/{path}");
        let reference = Reference::parse_normalized_named(&full)
            .map_err(|e| format!("Invalid image reference {name:?}: {e}"))?;
        Ok(Target {
            reference,
            plain_http,
        })
    }
}

/// One layer row.
#[derive(Serialize)]
pub struct Layer {
    pub digest: String,
    /// Bytes; `null` when the manifest does not say (schema 1).
    pub size: Option<i64>,
    #[serde(rename = "mediaType")]
    pub media_type: String,
}

/// One image of an index.
#[derive(Serialize)]
pub struct PlatformEntry {
    /// `os/architecture[/variant]`.
    pub platform: String,
    pub digest: String,
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub size: i64,
    /// The name that opens this image (`repo@digest`).
    pub reference: String,
}

/// Everything the page renders for one image reference.
#[derive(Serialize)]
pub struct ImageView {
    pub reference: String,
    /// The digest of the manifest the reference names (an index's own digest for an index).
    pub digest: String,
    #[serde(rename = "mediaType")]
    pub media_type: String,
    #[serde(rename = "rawManifest")]
    pub raw_manifest: String,
    /// `skopeo inspect`'s output, byte for byte (for an index: of the linux/amd64 image).
    pub inspect: String,
    pub created: Option<String>,
    pub platform: String,
    pub labels: BTreeMap<String, String>,
    pub env: Vec<String>,
    pub layers: Vec<Layer>,
    /// The config blob, indented for reading.
    pub config: String,
    /// For an index or manifest list: its images.
    pub platforms: Vec<PlatformEntry>,
    /// The repository's tags (`null` when the registry refused to list them).
    pub tags: Option<Vec<String>>,
}

fn platform_text(os: &str, arch: &str, variant: &str) -> String {
    if variant.is_empty() {
        format!("{os}/{arch}")
    } else {
        format!("{os}/{arch}/{variant}")
    }
}

impl ImageView {
    /// Reads what the view needs from `src` (opened on `target`) and `client`.
    pub async fn build<H: HttpClient + Clock>(
        src: &DockerSource<'_, '_, H>,
        client: &RegistryClient<'_, H>,
        target: &Target,
    ) -> Result<ImageView> {
        let (top, top_mime) = inspect::read_top_manifest(src).await?;
        let digest = manifest_digest(&top).map_err(|e| Error::Invalid(e.to_string()))?;
        let parsed = Manifest::parse(&top, &top_mime).map_err(|e| Error::Invalid(e.to_string()))?;
        let repository = target.reference.name();
        let platforms = match &parsed {
            Manifest::DockerList(index) | Manifest::OciIndex(index) => index
                .manifests
                .iter()
                .map(|d| {
                    let p = d.platform.clone().unwrap_or_default();
                    PlatformEntry {
                        platform: platform_text(&p.os, &p.architecture, &p.variant),
                        digest: d.digest.to_string(),
                        media_type: d.media_type.clone(),
                        size: d.size,
                        reference: format!("{repository}@{}", d.digest),
                    }
                })
                .collect(),
            _ => Vec::new(),
        };
        let choice = PlatformChoice {
            host_os: "linux".into(),
            host_arch: "amd64".into(),
            ..Default::default()
        };
        let image = inspect::resolve_image(src, top.clone(), &top_mime, &choice).await?;
        let config = inspect::config_blob(src, &image.manifest).await?;
        let mut info: InspectOutput =
            inspect::inspect_info_from(repository.clone(), &image, &config)?;
        let tags = match source::inspect_repo_tags(client, &target.reference).await? {
            RepoTags::Listed(tags) => Some(tags),
            RepoTags::Refused => None,
        };
        info.repo_tags = tags.clone();
        let mut inspect_text = gojson::to_indented(&info);
        inspect_text.push(b'\n');
        let config = serde_json::from_slice::<serde_json::Value>(&config)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_else(|_| String::from_utf8_lossy(&config).into_owned());
        let layers = match &image.manifest {
            Manifest::Schema2(m) | Manifest::Oci(m) => m
                .layers
                .iter()
                .map(|l| Layer {
                    digest: l.digest.to_string(),
                    size: Some(l.size),
                    media_type: l.media_type.clone(),
                })
                .collect(),
            other => other
                .layer_digests()
                .into_iter()
                .map(|d| Layer {
                    digest: d.to_string(),
                    size: None,
                    media_type: String::new(),
                })
                .collect(),
        };
        Ok(ImageView {
            reference: target.reference.to_string(),
            digest: digest.to_string(),
            media_type: top_mime,
            raw_manifest: String::from_utf8_lossy(&top).into_owned(),
            inspect: String::from_utf8(inspect_text).expect("JSON is UTF-8"),
            created: info.created.as_ref().map(|c| c.to_string()),
            platform: platform_text(&info.os, &info.architecture, ""),
            labels: info.labels.clone().unwrap_or_default(),
            env: info.env.clone().unwrap_or_default(),
            layers,
            config,
            platforms,
            tags,
        })
    }
}
