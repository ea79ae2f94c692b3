//! `skopeo inspect`: the phases skopeo goes through (each with its error wording), the JSON
//! output in skopeo 1.9.3's shape, `--raw`, `--config` and `--format`.

use crate::concurrent::join;
use crate::config::{self, DockerImageInfo, OciImage};
use crate::digest::Digest;
use crate::gojson;
use crate::gotime::GoTime;
use crate::manifest::platform::{choose_instance, PlatformChoice};
use crate::manifest::{manifest_digest, mime, Manifest};
use crate::source::ImageSource;
use crate::template;
use crate::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;

/// What the user asked `inspect` for.
#[derive(Debug, Clone, Default)]
pub struct InspectOptions {
    pub raw: bool,
    pub config: bool,
    pub format: Option<String>,
    pub platform: PlatformChoice,
}

impl InspectOptions {
    /// Whether the output shows `RepoTags` (the plain inspect document or a template over it).
    pub fn shows_repo_tags(&self) -> bool {
        !self.raw && !self.config
    }

    /// Rejects flag combinations skopeo refuses before it touches the image.
    pub fn validate(&self) -> Result<()> {
        if self.raw && self.format.is_some() {
            return Err(Error::Invalid(
                "raw output does not support format option".into(),
            ));
        }
        Ok(())
    }
}

/// skopeo 1.9.3's inspect output, fields in its order.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct InspectOutput {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tag: String,
    pub digest: Digest,
    /// `None` prints `null` (a registry that refused to list tags).
    pub repo_tags: Option<Vec<String>>,
    pub created: Option<GoTime>,
    pub docker_version: String,
    pub labels: Option<BTreeMap<String, String>>,
    pub architecture: String,
    pub os: String,
    pub layers: Vec<String>,
    pub env: Option<Vec<String>>,
}

impl InspectOutput {
    /// The value `--format` templates see (Go field names; times in Go's `String()` form).
    pub fn template_value(&self) -> gotmpl::Value {
        use template::{map, string, string_map, strings};
        map(vec![
            ("Name", string(&self.name)),
            ("Tag", string(&self.tag)),
            ("Digest", string(&self.digest.to_string())),
            (
                "RepoTags",
                strings(Some(self.repo_tags.as_deref().unwrap_or_default())),
            ),
            (
                "Created",
                self.created
                    .map_or(gotmpl::Value::Nil, |t| string(&t.go_string())),
            ),
            ("DockerVersion", string(&self.docker_version)),
            ("Labels", string_map(self.labels.as_ref())),
            ("Architecture", string(&self.architecture)),
            ("Os", string(&self.os)),
            ("Layers", strings(Some(&self.layers))),
            ("Env", strings(self.env.as_deref())),
        ])
    }
}

/// The value `--config --format` templates see: image-spec's Go field names.
pub fn config_template_value(c: &OciImage) -> gotmpl::Value {
    use template::{map, string, string_map, strings};
    let set = |m: &Option<BTreeMap<String, config::Empty>>| {
        map(m
            .iter()
            .flatten()
            .map(|(k, _)| (k.as_str(), template::map(vec![])))
            .collect())
    };
    let time = |t: &Option<GoTime>| t.map_or(gotmpl::Value::Nil, |t| string(&t.go_string()));
    let history: Vec<gotmpl::Value> = c
        .history
        .iter()
        .flatten()
        .map(|h| {
            map(vec![
                ("Created", time(&h.created)),
                ("CreatedBy", string(&h.created_by)),
                ("Author", string(&h.author)),
                ("Comment", string(&h.comment)),
                ("EmptyLayer", gotmpl::Value::Bool(h.empty_layer)),
            ])
        })
        .collect();
    map(vec![
        ("Created", time(&c.created)),
        ("Author", string(&c.author)),
        ("Architecture", string(&c.architecture)),
        ("Variant", string(&c.variant)),
        ("OS", string(&c.os)),
        ("OSVersion", string(&c.os_version)),
        ("OSFeatures", strings(c.os_features.as_deref())),
        (
            "Config",
            map(vec![
                ("User", string(&c.config.user)),
                ("ExposedPorts", set(&c.config.exposed_ports)),
                ("Env", strings(c.config.env.as_deref())),
                ("Entrypoint", strings(c.config.entrypoint.as_deref())),
                ("Cmd", strings(c.config.cmd.as_deref())),
                ("Volumes", set(&c.config.volumes)),
                ("WorkingDir", string(&c.config.working_dir)),
                ("Labels", string_map(c.config.labels.as_ref())),
                ("StopSignal", string(&c.config.stop_signal)),
            ]),
        ),
        (
            "RootFS",
            map(vec![
                ("Type", string(&c.rootfs.kind)),
                ("DiffIDs", strings(c.rootfs.diff_ids.as_deref())),
            ]),
        ),
        ("History", gotmpl::Value::List(history.into())),
    ])
}

/// One image, resolved from a possibly multi-image top-level manifest.
pub struct ResolvedImage {
    /// The top-level manifest bytes as stored (what `--raw` prints and `Digest` is computed on).
    pub top_manifest: Vec<u8>,
    /// The single image's parsed manifest.
    pub manifest: Manifest,
}

/// Reads the top-level manifest ("Error retrieving manifest for image" phase).
pub async fn read_top_manifest<S: ImageSource>(src: &S) -> Result<(Vec<u8>, String)> {
    src.manifest(None)
        .await
        .map_err(|e| e.context("Error retrieving manifest for image"))
}

/// Parses the manifest and, for a list or index, picks and reads the instance for the wanted
/// platform ("Error parsing manifest for image" phase).
pub async fn resolve_image<S: ImageSource>(
    src: &S,
    top_manifest: Vec<u8>,
    top_mime: &str,
    platform: &PlatformChoice,
) -> Result<ResolvedImage> {
    let wrap = |e: Error| e.context("Error parsing manifest for image");
    let parsed = Manifest::parse(&top_manifest, top_mime)
        .map_err(|e| wrap(Error::Invalid(e.to_string())))?;
    let manifest = match &parsed {
        Manifest::DockerList(list) | Manifest::OciIndex(list) => {
            let is_oci = matches!(parsed, Manifest::OciIndex(_));
            let chosen = choose_instance(&list.manifests, platform, is_oci)
                .map_err(|e| wrap(Error::Invalid(format!("choosing image instance: {e}"))))?;
            let (bytes, child_mime) = src.manifest(Some(&chosen)).await.map_err(wrap)?;
            let child = Manifest::parse(&bytes, &child_mime)
                .map_err(|e| wrap(Error::Invalid(e.to_string())))?;
            if mime::is_multi_image(child.mime_type()) {
                return Err(wrap(Error::Invalid(format!(
                    "Internal error: {chosen} is a manifest list, not an image"
                ))));
            }
            child
        }
        _ => parsed,
    };
    Ok(ResolvedImage {
        top_manifest,
        manifest,
    })
}

/// The raw config blob, verified against its digest (schema 1 images have none: empty).
///
/// Like skopeo, the descriptor's size is not enforced for configs: real layouts exist whose
/// config matches its digest but not its recorded size, and skopeo reads them.
pub async fn config_blob<S: ImageSource>(src: &S, manifest: &Manifest) -> Result<Vec<u8>> {
    match manifest {
        Manifest::Schema2(m) | Manifest::Oci(m) => src.small_blob(&m.config.digest, None).await,
        _ => Ok(Vec::new()),
    }
}

/// The image's configuration in OCI form (synthesised for schema 1).
pub async fn oci_config<S: ImageSource>(src: &S, manifest: &Manifest) -> Result<OciImage> {
    match manifest {
        Manifest::Schema1(m) => config::oci_image_from_schema1(m).map_err(Error::Invalid),
        _ => {
            let blob = config_blob(src, manifest).await?;
            config::parse_oci_image(&blob).map_err(Error::Invalid)
        }
    }
}

/// Builds inspect's output for one resolved image (without `RepoTags`, which only registries
/// provide).
pub async fn inspect_info<S: ImageSource>(src: &S, image: &ResolvedImage) -> Result<InspectOutput> {
    let config = config_blob(src, &image.manifest).await?;
    let name = src.docker_reference().map(|r| r.name()).unwrap_or_default();
    inspect_info_from(name, image, &config)
}

/// [`inspect_info`] from a config blob already read (`config_blob`'s result) and the image's
/// repository name (empty when the transport has none).
pub fn inspect_info_from(
    name: String,
    image: &ResolvedImage,
    config: &[u8],
) -> Result<InspectOutput> {
    let digest = manifest_digest(&image.top_manifest)
        .map_err(|e| Error::Invalid(format!("Error computing manifest digest: {e}")))?;
    let layers = image
        .manifest
        .layer_digests()
        .iter()
        .map(|d| d.to_string())
        .collect();
    let docker_info = |bytes: &[u8]| -> Result<DockerImageInfo> {
        serde_json::from_slice(bytes).map_err(|e| Error::Invalid(e.to_string()))
    };
    let (tag, info, created) = match &image.manifest {
        Manifest::Schema1(m) => {
            let first = m
                .history
                .first()
                .ok_or_else(|| Error::Invalid("image has no layers".into()))?;
            let info = docker_info(first.v1_compatibility.as_bytes())?;
            let created = Some(info.created.unwrap_or(GoTime::ZERO));
            (m.tag.clone(), info, created)
        }
        Manifest::Schema2(_) => {
            let info = docker_info(config)?;
            let created = Some(info.created.unwrap_or(GoTime::ZERO));
            (String::new(), info, created)
        }
        Manifest::Oci(_) => {
            let oci = config::parse_oci_image(config).map_err(Error::Invalid)?;
            let docker = docker_info(config)?;
            let info = DockerImageInfo {
                created: oci.created,
                docker_version: docker.docker_version,
                author: oci.author,
                architecture: oci.architecture,
                variant: oci.variant,
                os: oci.os,
                config: Some(config::DockerContainerConfig {
                    labels: oci.config.labels,
                    env: oci.config.env,
                }),
            };
            let created = info.created;
            (String::new(), info, created)
        }
        Manifest::DockerList(_) | Manifest::OciIndex(_) => {
            return Err(Error::Invalid("a manifest list is not an image".into()))
        }
    };
    let (labels, env) = match info.config {
        Some(c) => (c.labels, c.env),
        None => (None, None),
    };
    Ok(InspectOutput {
        name,
        tag,
        digest,
        repo_tags: Some(Vec::new()),
        created,
        docker_version: info.docker_version,
        labels,
        architecture: info.architecture,
        os: info.os,
        layers,
        env,
    })
}

/// Runs `inspect` on an opened source and returns what goes to standard output.
/// `repo_tags` fills `RepoTags` (registries list them; other transports have none); it runs
/// alongside reading the config, and its result is used only when everything else succeeded.
pub async fn run<S: ImageSource>(
    src: &S,
    opts: &InspectOptions,
    repo_tags: impl AsyncFnOnce() -> Result<Option<Vec<String>>>,
) -> Result<Vec<u8>> {
    if opts.raw && opts.format.is_some() {
        return Err(Error::Invalid(
            "raw output does not support format option".into(),
        ));
    }
    let (top, top_mime) = read_top_manifest(src).await?;
    if opts.raw && !opts.config {
        return Ok(top);
    }
    let format = opts.format.as_deref().filter(|f| !f.is_empty());
    let wants_json = format.is_none_or(template::is_json_format);
    if opts.config {
        let image = resolve_image(src, top, &top_mime, &opts.platform).await?;
        if opts.raw {
            return config_blob(src, &image.manifest)
                .await
                .map_err(|e| e.context("Error reading configuration blob"));
        }
        let cfg = oci_config(src, &image.manifest)
            .await
            .map_err(|e| e.context("Error reading OCI-formatted configuration data"))?;
        return match format {
            Some(f) if !wants_json => template::render(f, config_template_value(&cfg))
                .map(String::into_bytes)
                .map_err(|e| {
                    Error::Invalid(format!(
                        "Error writing OCI-formatted configuration data to standard output: {e}"
                    ))
                }),
            _ => Ok(with_newline(gojson::to_indented(&cfg))),
        };
    }
    // The tag list is independent of the image: fetch both at once. An image error wins, as
    // it would if the tags were listed after it.
    let image_info = async {
        let image = resolve_image(src, top, &top_mime, &opts.platform).await?;
        inspect_info(src, &image).await
    };
    let (info, tags) = join(image_info, repo_tags()).await;
    let mut out = info?;
    out.repo_tags = tags?;
    match format {
        Some(f) if !wants_json => template::render(f, out.template_value())
            .map(String::into_bytes)
            .map_err(Error::Invalid),
        _ => Ok(with_newline(gojson::to_indented(&out))),
    }
}

fn with_newline(mut v: Vec<u8>) -> Vec<u8> {
    v.push(b'\n');
    v
}
