//! `docker://` images as an [`ImageSource`], and the repository-level operations skopeo
//! offers on them (tag listing, deletion).

use super::client::RegistryClient;
use crate::concurrent::join;
use crate::config_cache::{CachedConfigs, ConfigCache};
use crate::digest::Digest;
use crate::effects::{Clock, HttpClient};
use crate::reference::Reference;
use crate::source::{BlobSource, ImageSource};
use crate::{Error, Result};

/// One image in a registry, read through a [`RegistryClient`].
pub struct DockerSource<'c, 'h, H> {
    client: &'c RegistryClient<'h, H>,
    reference: Reference,
    /// The name the user gave (differs from `reference` when read from a mirror or a
    /// rewritten location).
    logical: Reference,
    /// The top-level manifest, fetched when the source is opened (as containers/image does).
    top: (Vec<u8>, String),
}

impl<'c, 'h, H: HttpClient + Clock> DockerSource<'c, 'h, H> {
    /// Opens the image `reference` (tagged or digested) served by `client`, fetching its
    /// manifest; `logical` is the name the user asked for.
    pub async fn open(
        client: &'c RegistryClient<'h, H>,
        reference: Reference,
        logical: Reference,
    ) -> Result<Self> {
        let mut src = DockerSource {
            client,
            reference,
            logical,
            top: (Vec::new(), String::new()),
        };
        src.top = src.fetch(&src.tag_or_digest()).await?;
        Ok(src)
    }

    async fn fetch(&self, wanted: &str) -> Result<(Vec<u8>, String)> {
        let (bytes, mut mime_type) = self
            .client
            .get_manifest(self.reference.path(), wanted, &self.reference.name())
            .await?;
        // Registries may send a generic type; trust the content then, as containers/image does.
        if !crate::manifest::mime::ALL_MANIFEST_TYPES.contains(&mime_type.as_str()) {
            mime_type = crate::manifest::guess_mime_type(&bytes).to_owned();
        }
        Ok((bytes, mime_type))
    }

    /// The client the image is read through.
    pub fn client(&self) -> &'c RegistryClient<'h, H> {
        self.client
    }

    /// Where the image is actually read from (a mirror or rewritten location, or the name as
    /// given).
    pub fn physical_reference(&self) -> &Reference {
        &self.reference
    }

    /// The tag or digest the reference names (`latest` when it names neither).
    pub fn tag_or_digest(&self) -> String {
        tag_or_digest(&self.reference).to_owned()
    }
}

impl<H: HttpClient + Clock> ImageSource for DockerSource<'_, '_, H> {
    async fn manifest(&self, instance: Option<&Digest>) -> Result<(Vec<u8>, String)> {
        match instance {
            Some(d) => self.fetch(&d.to_string()).await,
            None => Ok(self.top.clone()),
        }
    }

    async fn small_blob(&self, digest: &Digest, _size: Option<u64>) -> Result<Vec<u8>> {
        self.client.get_blob(self.reference.path(), digest).await
    }

    fn docker_reference(&self) -> Option<&Reference> {
        Some(&self.logical)
    }
}

impl<'c, 'h, H: HttpClient + Clock> BlobSource for DockerSource<'c, 'h, H> {
    type Blob = super::resume::ResumingBlob<'c, 'h, H>;

    async fn blob(&self, digest: &Digest, _size: Option<u64>) -> Result<Self::Blob> {
        self.client
            .get_blob_stream(self.reference.path(), digest)
            .await
    }
}

/// The tags of the repository `reference` names, in the registry's order.
pub async fn list_tags<H: HttpClient + Clock>(
    client: &RegistryClient<'_, H>,
    reference: &Reference,
) -> Result<Vec<String>> {
    client.list_tags(reference.path()).await
}

/// Deletes the image `reference` names (a tag is resolved to its digest first), returning
/// the digest deleted.
pub async fn delete_image<H: HttpClient + Clock>(
    client: &RegistryClient<'_, H>,
    reference: &Reference,
) -> Result<Digest> {
    client
        .delete_image(
            reference.path(),
            tag_or_digest(reference),
            &reference.to_string(),
        )
        .await
}

/// The tag or digest `reference` names (`latest` when it names neither).
pub fn tag_or_digest(reference: &Reference) -> &str {
    reference
        .digest_str()
        .or(reference.tag())
        .unwrap_or("latest")
}

/// What inspect shows as `RepoTags` for a registry image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoTags {
    Listed(Vec<String>),
    /// The registry refused to list tags (401/403): skopeo warns and shows `null`.
    Refused,
}

/// The repository's tags for inspect: a refusal (an error mentioning 401 or 403, as skopeo
/// tests it) is not fatal; other failures are, with skopeo's prefix.
pub async fn inspect_repo_tags<H: HttpClient + Clock>(
    client: &RegistryClient<'_, H>,
    reference: &Reference,
) -> Result<RepoTags> {
    match list_tags(client, reference).await {
        Ok(tags) => Ok(RepoTags::Listed(tags)),
        Err(e) if e.to_string().contains("401") || e.to_string().contains("403") => {
            Ok(RepoTags::Refused)
        }
        Err(e) => Err(e.context("Error determining repository tags")),
    }
}

#[derive(serde::Serialize)]
struct TagList<'a> {
    #[serde(rename = "Repository", skip_serializing_if = "str::is_empty")]
    repository: &'a str,
    #[serde(rename = "Tags")]
    tags: &'a [String],
}

/// What `list-tags` prints: skopeo's indented `{"Repository", "Tags"}` document (no
/// `Repository` for archives) and a newline.
pub fn tag_list_document(repository: &str, tags: &[String]) -> Vec<u8> {
    let mut out = crate::gojson::to_indented(&TagList { repository, tags });
    out.push(b'\n');
    out
}

/// The repository a `list-tags` argument names (`docker://NAME` without tag or digest),
/// refusing other forms with skopeo's words.
pub fn list_tags_reference(name: &str) -> std::result::Result<Reference, String> {
    let Some((transport, rest)) = name.split_once(':') else {
        return Err(format!("Invalid {name:?}: does not specify a transport"));
    };
    if transport != "docker" {
        if !crate::transport::TRANSPORT_NAMES.contains(&transport) {
            return Err(format!("Invalid {name:?}: does not specify a transport"));
        }
        return Err(format!(
            "Unsupported transport '{transport}' for tag listing. Only supported: docker, docker-archive"
        ));
    }
    let Some(path) = rest.strip_prefix("//") else {
        return Err(format!(
            "docker: image reference {name} does not start with docker://"
        ));
    };
    let r = Reference::parse_normalized_named(path).map_err(|e| e.to_string())?;
    if !r.is_name_only() {
        return Err("No tag or digest allowed in reference".into());
    }
    Ok(r)
}

/// One pull source: where to read from, and a client for it (or why none could be made).
pub type PullClient<'a, 'h, H> = (
    &'a Reference,
    std::result::Result<RegistryClient<'h, H>, String>,
);

/// Opens the image `logical` from the first pull source (mirrors first, the primary last)
/// that has it. When all fail: the single failure as it is, or one error naming every
/// failure, retryable as the primary's failure is.
pub async fn open_first<'c, 'h, H: HttpClient + Clock>(
    sources: &'c [PullClient<'_, 'h, H>],
    logical: &Reference,
) -> Result<(DockerSource<'c, 'h, H>, &'c RegistryClient<'h, H>)> {
    let mut failures = Vec::new();
    let mut last = None;
    for (physical, client) in sources {
        let client = client.as_ref().map_err(|e| Error::Invalid(e.clone()))?;
        match DockerSource::open(client, (*physical).clone(), logical.clone()).await {
            Ok(src) => return Ok((src, client)),
            Err(e) => {
                failures.push((physical.to_string(), e.to_string()));
                last = Some(e);
            }
        }
    }
    match (failures.len(), last) {
        (1, Some(only)) => Err(only),
        (_, last) => Err(Error::Registry {
            status: 0,
            message: crate::registries_conf::all_sources_failed(failures),
            retryable: last.is_some_and(|e| e.is_retryable()),
        }),
    }
}

/// `inspect` of a registry image: skopeo's output, with `RepoTags` listed through
/// `tags_client` for `logical` (empty with `no_tags`). The flag is true when the registry
/// refused the tag list, which the host reports as skopeo's warning.
pub async fn inspect_image<H: HttpClient + Clock>(
    src: &DockerSource<'_, '_, H>,
    tags_client: &RegistryClient<'_, H>,
    logical: &Reference,
    opts: &crate::inspect::InspectOptions,
    no_tags: bool,
    cache: &impl ConfigCache,
) -> Result<(Vec<u8>, bool)> {
    let refused = std::cell::Cell::new(false);
    let src = CachedConfigs::new(src, cache, src.physical_reference());
    let out = crate::inspect::run(&src, opts, async || {
        shown_repo_tags(inspect_tags(tags_client, logical, no_tags).await?, &refused)
    })
    .await?;
    Ok((out, refused.get()))
}

/// [`inspect_image`] of `reference` as served by `client` itself (no mirror or rewritten
/// location, so the tags come from the same client), listing the tags while the image is
/// opened rather than after it: the tag list is the slowest request inspect makes. Errors
/// opening the image go through `opening` (hosts prefix them), and win over tag errors. The
/// config comes from `cache` when this repository served it before.
pub async fn open_and_inspect<H: HttpClient + Clock>(
    client: &RegistryClient<'_, H>,
    reference: &Reference,
    opts: &crate::inspect::InspectOptions,
    no_tags: bool,
    opening: impl Fn(Error) -> Error,
    cache: &impl ConfigCache,
) -> Result<(Vec<u8>, bool)> {
    let no_tags = no_tags || !opts.shows_repo_tags();
    let open = DockerSource::open(client, reference.clone(), reference.clone());
    let (src, tags) = join(open, inspect_tags(client, reference, no_tags)).await;
    let src = src.map_err(opening)?;
    let src = CachedConfigs::new(&src, cache, reference);
    let refused = std::cell::Cell::new(false);
    let out = crate::inspect::run(&src, opts, async || shown_repo_tags(tags?, &refused)).await?;
    Ok((out, refused.get()))
}

/// The tags inspect shows: none with `no_tags`, else listed by `client`.
async fn inspect_tags<H: HttpClient + Clock>(
    client: &RegistryClient<'_, H>,
    reference: &Reference,
    no_tags: bool,
) -> Result<RepoTags> {
    if no_tags {
        return Ok(RepoTags::Listed(Vec::new()));
    }
    inspect_repo_tags(client, reference).await
}

/// `RepoTags` as the output holds them: `null` (and `refused` set) when the registry refused.
fn shown_repo_tags(tags: RepoTags, refused: &std::cell::Cell<bool>) -> Result<Option<Vec<String>>> {
    match tags {
        RepoTags::Listed(tags) => Ok(Some(tags)),
        RepoTags::Refused => {
            refused.set(true);
            Ok(None)
        }
    }
}

/// skopeo's warning when a registry refuses to list tags for inspect.
pub const TAGS_REFUSED_WARNING: &str = "Registry disallows tag list retrieval; skipping";
