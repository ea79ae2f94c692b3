//! `docker save` archives (the `docker-archive:` transport): the `manifest.json` that lists
//! their images, what skopeo derives from it, and writing them.

mod dest;
pub mod paths;
mod source;

pub use dest::DockerArchiveDestination;
pub use source::{choose_item, DockerArchiveSource, LayerStream};

use crate::reference::Reference;
use crate::{Error, Result};
use serde::Deserialize;

/// The archive's index of images.
pub const MANIFEST_FILE: &str = "manifest.json";

/// One image of an archive, as `manifest.json` lists it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct ManifestItem {
    #[serde(rename = "Config", default)]
    pub config: String,
    #[serde(rename = "RepoTags", default)]
    pub repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    pub layers: Vec<String>,
}

/// The names a `docker-archive:` destination saves the image under: its tag and every
/// `--additional-tag` (tagged references, with skopeo's complaints). An existing non-empty
/// archive is refused, as containers/image refuses it.
pub async fn destination_tags<F: crate::effects::FilesystemWrite>(
    fs: &F,
    dest: &crate::transport::ImageName,
    additional: &[String],
) -> Result<Vec<Reference>> {
    let crate::transport::ImageName::DockerArchive {
        path,
        reference,
        index,
    } = dest
    else {
        return Ok(Vec::new());
    };
    if index.is_some() {
        return Err(Error::Invalid(format!(
            "initializing destination {dest}: docker-archive destinations can not name an image by index"
        )));
    }
    // skopeo opens the archive up front: a missing directory fails before any copying.
    let exists = fs.exists(path).await?;
    if !exists && !fs.exists(&crate::source::parent_path(path)).await? {
        return Err(Error::Effect(crate::effects::EffectError::new(
            crate::effects::EffectErrorKind::NotFound,
            format!(
                "initializing destination {dest}: opening file {path:?}: open {path}: no such file or directory"
            ),
        )));
    }
    // A directory is no archive to protect (writing to it fails later, naming it).
    let is_file = exists && fs.read_dir(path).await.is_err();
    if is_file && fs.size(path).await? > 0 {
        return Err(Error::Invalid(format!(
            "initializing destination {dest}: docker-archive doesn't support modifying existing images"
        )));
    }
    let mut tags: Vec<Reference> = reference.iter().cloned().collect();
    for tag in additional {
        let parsed = Reference::parse_normalized_named(tag)
            .map_err(|e| Error::Invalid(format!("error parsing additional-tag '{tag}': {e}")))?;
        if parsed.tag().is_none() || parsed.digest().is_some() {
            return Err(Error::Invalid(format!(
                "additional-tag '{tag}' must be a tagged reference"
            )));
        }
        tags.push(parsed);
    }
    Ok(tags)
}

/// Parses `manifest.json`.
pub fn parse_manifest(bytes: &[u8]) -> Result<Vec<ManifestItem>> {
    // containers/image reads at most 1 MiB of an archive's manifest.json.
    const MAX_TAR_MANIFEST: usize = 1 << 20;
    if bytes.len() > MAX_TAR_MANIFEST {
        return Err(Error::Invalid(format!(
            "decoding tar manifest.json: exceeded maximum allowed size of {MAX_TAR_MANIFEST} bytes"
        )));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| Error::Invalid(format!("decoding tar manifest.json: {e}")))
}

/// What `list-tags docker-archive:…` lists: every image's tags as written in the archive, or
/// `@N` for an untagged image N. Tags must be valid, tagged references.
pub fn list_tags(items: &[ManifestItem]) -> Result<Vec<String>> {
    let mut tags = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let repo_tags = item.repo_tags.as_deref().unwrap_or_default();
        for tag in repo_tags {
            let parsed = Reference::parse_normalized_named(tag).map_err(|e| {
                Error::Invalid(format!(
                    "Invalid tag {} in manifest item @{index}: {e}",
                    crate::gojson::go_quote(tag)
                ))
            })?;
            if parsed.tag().is_none() {
                return Err(Error::Invalid(format!(
                    "Invalid tag {tag} ({parsed}): does not contain a tag"
                )));
            }
            tags.push(tag.clone());
        }
        if repo_tags.is_empty() {
            tags.push(format!("@{index}"));
        }
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_as_written_and_untagged_images_by_index() {
        let items = parse_manifest(
            br#"[{"Config":"c.json","RepoTags":["busybox:1","example.com/a/b:v2"],"Layers":[]},
                 {"Config":"d.json","RepoTags":null,"Layers":[]}]"#,
        )
        .unwrap();
        assert_eq!(
            list_tags(&items).unwrap(),
            ["busybox:1", "example.com/a/b:v2", "@1"]
        );
    }

    #[test]
    fn untagged_names_and_bad_json_are_refused() {
        let items = parse_manifest(br#"[{"RepoTags":["busybox"]}]"#).unwrap();
        assert_eq!(
            list_tags(&items).unwrap_err().to_string(),
            "Invalid tag busybox (docker.io/library/busybox): does not contain a tag"
        );
        assert!(parse_manifest(b"{")
            .unwrap_err()
            .to_string()
            .starts_with("decoding tar manifest.json: "));
    }
}
