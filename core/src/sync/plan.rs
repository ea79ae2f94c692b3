//! A sync plan: for every source (a repository, or a `dir:` tree), the images to copy and
//! where each goes, with what the destination already holds. A plan is data: `--dry-run`
//! prints it, `--plan-out` writes it as JSON, `--shard K/N` keeps a deterministic part of
//! it, and the run copies exactly the images it marks.

use crate::digest::Digest;
use crate::reference::Reference;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// The transports sync reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Docker,
    Dir,
    Yaml,
}

/// The transports sync writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestinationKind {
    Docker,
    Dir,
    /// One OCI layout per destination repository, every tag of it in the layout's index: tags
    /// sharing layers store each blob once, and `oci:PATH:TAG` names each image.
    Oci,
}

impl SourceKind {
    /// Parses `--src`, in skopeo's words when it is none of them.
    pub fn parse(name: &str) -> Result<SourceKind> {
        match name {
            "docker" => Ok(SourceKind::Docker),
            "dir" => Ok(SourceKind::Dir),
            "yaml" => Ok(SourceKind::Yaml),
            other => Err(Error::Invalid(format!(
                "{} is not a valid source transport",
                crate::gojson::go_quote(other)
            ))),
        }
    }
}

impl DestinationKind {
    /// Parses `--dest`, in skopeo's words when it is none of them.
    pub fn parse(name: &str) -> Result<DestinationKind> {
        match name {
            "docker" => Ok(DestinationKind::Docker),
            "dir" => Ok(DestinationKind::Dir),
            "oci" => Ok(DestinationKind::Oci),
            other => Err(Error::Invalid(format!(
                "{} is not a valid destination transport",
                crate::gojson::go_quote(other)
            ))),
        }
    }
}

/// Whether the destination already holds an image as the source has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageState {
    /// To be copied.
    Copy,
    /// The destination's manifest digest is the source's: nothing to do.
    InSync,
}

/// One image of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedImage {
    /// The source image, as a transport name (`docker://…`, `dir:…`).
    pub source: String,
    /// The destination image, as a transport name.
    pub destination: String,
    /// The destination repository (the shard key).
    pub repository: String,
    /// The source's manifest digest, when it was read while planning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_digest: Option<Digest>,
    pub state: ImageState,
}

/// The images of one source, in copy order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedSource {
    pub name: String,
    pub images: Vec<PlannedImage>,
}

/// A whole plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub sources: Vec<PlannedSource>,
}

impl Plan {
    /// The plan as pretty JSON (what `--plan-out` writes).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("a plan serializes");
        out.push(b'\n');
        out
    }

    /// The part of the plan shard `index` of `count` copies: every image whose destination
    /// repository hashes to `index`, so the shards' union is the whole plan and each
    /// repository is written by one shard only. Sources left empty are dropped.
    pub fn shard(self, index: u32, count: u32) -> Plan {
        let sources = self
            .sources
            .into_iter()
            .map(|mut s| {
                s.images.retain(|i| shard_of(&i.repository, count) == index);
                s
            })
            .filter(|s| !s.images.is_empty())
            .collect();
        Plan { sources }
    }

    /// How many images the plan holds.
    pub fn image_count(&self) -> usize {
        self.sources.iter().map(|s| s.images.len()).sum()
    }
}

/// The shard of `count` a destination repository belongs to (stable across runs and
/// machines: the first 8 bytes of its SHA-256).
pub fn shard_of(repository: &str, count: u32) -> u32 {
    let digest = Digest::sha256_of(repository.as_bytes());
    let prefix = u64::from_str_radix(&digest.hex()[..16], 16).expect("hex digest");
    (prefix % u64::from(count.max(1))) as u32
}

/// Parses `--shard K/N` (K counted from 0, below N).
pub fn parse_shard(text: &str) -> Result<(u32, u32)> {
    let bad = || {
        Error::Invalid(format!(
            "invalid --shard {text:?}: expected K/N with 0 <= K < N"
        ))
    };
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let (k, n): (u32, u32) = (k.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if n == 0 || k >= n {
        return Err(bad());
    }
    Ok((k, n))
}

/// The tail of a destination name for a registry image: its last path component with its
/// tag (plus `suffix`) or digest, or with `scoped` its whole name.
pub fn registry_image_suffix(image: &Reference, scoped: bool, suffix: &str) -> String {
    let name = match scoped {
        true => image.name(),
        false => image
            .path()
            .rsplit('/')
            .next()
            .unwrap_or(image.path())
            .to_owned(),
    };
    match (image.tag(), image.digest_str()) {
        (Some(tag), _) => format!("{name}:{tag}{suffix}"),
        (None, Some(digest)) => format!("{name}@{digest}"),
        (None, None) => name,
    }
}

/// Where an image goes: `tail` (a [`registry_image_suffix`] or a `dir:` tree's relative
/// path) under the destination `root`. A registry name that does not parse is refused in
/// skopeo's words. Returns the destination's transport name and repository.
pub fn destination_name(kind: DestinationKind, root: &str, tail: &str) -> Result<(String, String)> {
    match kind {
        DestinationKind::Docker => {
            let joined = format!("{}/{tail}", root.trim_end_matches('/'));
            let reference = Reference::parse_normalized_named(&joined).map_err(|_| {
                Error::Invalid(format!(
                    "Cannot obtain a valid image reference for transport \"docker\" and reference \"//{joined}\": invalid reference format"
                ))
            })?;
            Ok((
                format!("docker://{}", reference.familiar_string()),
                reference.name(),
            ))
        }
        DestinationKind::Dir => {
            let path = crate::source::clean_path(&format!("{root}/{tail}"));
            let repository = match tail.rsplit_once(':') {
                Some((base, tag)) if !tag.contains('/') => {
                    crate::source::clean_path(&format!("{root}/{base}"))
                }
                _ => path.clone(),
            };
            Ok((format!("dir:{path}"), repository))
        }
        DestinationKind::Oci => {
            let (base, tag) = split_tag(tail);
            let layout = crate::source::clean_path(&format!("{root}/{base}"));
            let name = match tag {
                Some(tag) => format!("oci:{layout}:{tag}"),
                None => format!("oci:{layout}"),
            };
            Ok((name, layout))
        }
    }
}

/// A destination tail split into its repository part and its tag (`None` for an image named
/// by digest, or a path with no tag).
fn split_tag(tail: &str) -> (&str, Option<&str>) {
    if let Some((base, _digest)) = tail.split_once('@') {
        return (base, None);
    }
    match tail.rsplit_once(':') {
        Some((base, tag)) if !tag.contains('/') => (base, Some(tag)),
        _ => (tail, None),
    }
}

#[cfg(test)]
mod tests;
