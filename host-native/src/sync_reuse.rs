//! Writing one of sync's images from an image the same run already wrote from the same source
//! manifest (core's `sync::reuse` ledger): a registry tag gets the manifest pushed once more,
//! a `dir:` image gets the first one's files copied locally, an OCI layout one more name in
//! its index. Anything unexpected falls back to
//! a full copy, so a reuse never makes a sync fail that a copy would have completed.

use crate::registry::{Access, DockerOpts};
use skopeo_core::reference::Reference;
use skopeo_core::registries_conf::RegistriesConf;
use skopeo_core::registry::RegistryClient;
use skopeo_core::sync::plan::{DestinationKind, PlannedImage};
use skopeo_core::sync::reuse::{retag, tag_in_index, Written, WrittenImages};
use std::path::Path;

/// What every copying thread of one sync shares for reuse.
pub struct Reuse<'a> {
    pub written: &'a WrittenImages,
    pub dest_kind: DestinationKind,
    pub dest_opts: DockerOpts,
    pub conf: &'a RegistriesConf,
}

/// A copying thread's access to the registry repository most of a source's images go to
/// (a source lists one repository, or a `dir:` tree): one client, its token kept.
pub struct RepositoryAccess {
    repository: String,
    access: Access,
}

impl Reuse<'_> {
    /// Access to the repository the first image of `images` goes to, for a thread's retags.
    pub fn repository_access(&self, images: &[PlannedImage]) -> Option<RepositoryAccess> {
        if self.dest_kind != DestinationKind::Docker {
            return None;
        }
        let first = images.first()?.destination.strip_prefix("docker://")?;
        let reference = Reference::parse_normalized_named(first).ok()?;
        let access = crate::registry::access(
            &self.dest_opts,
            self.conf,
            reference.domain(),
            &reference.name(),
            None,
        )
        .ok()?;
        Some(RepositoryAccess {
            repository: reference.name(),
            access,
        })
    }

    /// Writes `image` from an image already written from the same source manifest, when
    /// there is one it can be written from; `None` means: copy it.
    pub fn try_reuse(
        &self,
        image: &PlannedImage,
        client: Option<(
            &RepositoryAccess,
            &RegistryClient<'_, crate::http::NativeHttp>,
        )>,
    ) -> Option<Written> {
        let (scope, written) = self.written.earlier(self.dest_kind, image)?;
        let source_digest = image.source_digest.as_ref()?;
        match self.dest_kind {
            DestinationKind::Docker => {
                let (access, client) = client?;
                if access.repository != scope {
                    return None;
                }
                let name = image.destination.strip_prefix("docker://")?;
                let destination = Reference::parse_normalized_named(name).ok()?;
                let manifest = pollster::block_on(retag(client, &written, &destination)).ok()?;
                self.written
                    .remember_manifest(&scope, source_digest, manifest);
            }
            DestinationKind::Dir => {
                let from = written.destination.strip_prefix("dir:")?;
                let to = image.destination.strip_prefix("dir:")?;
                copy_dir_image(Path::new(from), Path::new(to)).ok()?;
            }
            DestinationKind::Oci => {
                let layout = &image.repository;
                let tag = image.destination.strip_prefix(&format!("oci:{layout}:"))?;
                tag_in_layout(Path::new(layout), &written.digest, tag).ok()?;
            }
        }
        Some(written)
    }

    /// Records what a copy of `image` wrote, for later tags of the same source manifest.
    pub fn record(
        &self,
        image: &PlannedImage,
        digest: &skopeo_core::digest::Digest,
        progress: &str,
    ) {
        self.written
            .record_copy(self.dest_kind, image, digest, progress);
    }
}

impl RepositoryAccess {
    /// A client for this repository's registry.
    pub fn client(&self) -> RegistryClient<'_, crate::http::NativeHttp> {
        RegistryClient::new(&self.access.http, self.access.config.clone())
    }
}

/// Copies the `dir:` image at `from` to `to` (missing or empty), through a staging directory
/// renamed into place, so `to` is either complete or untouched.
fn copy_dir_image(from: &Path, to: &Path) -> std::io::Result<()> {
    if to.exists() && std::fs::read_dir(to)?.next().is_some() {
        return Err(std::io::Error::other("destination is not empty"));
    }
    let staging = std::path::PathBuf::from(format!("{}.skopeo-reuse", to.display()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)?;
    let copied = (|| {
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            if !entry.file_type()?.is_file() {
                return Err(std::io::Error::other("not a plain dir: image"));
            }
            std::fs::copy(entry.path(), staging.join(entry.file_name()))?;
        }
        if to.exists() {
            std::fs::remove_dir(to)?;
        }
        std::fs::rename(&staging, to)
    })();
    if copied.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    copied
}

/// Names the manifest `digest` (already in the layout at `layout`) `tag` too: `index.json`
/// rewritten beside and renamed into place. Sync writes one layout from one thread.
fn tag_in_layout(
    layout: &Path,
    digest: &skopeo_core::digest::Digest,
    tag: &str,
) -> Result<(), String> {
    let index_path = layout.join("index.json");
    let index = std::fs::read(&index_path).map_err(|e| e.to_string())?;
    let updated = tag_in_index(&index, digest, tag).map_err(|e| e.to_string())?;
    let partial = layout.join(".index.json.partial");
    std::fs::write(&partial, updated).map_err(|e| e.to_string())?;
    std::fs::rename(&partial, &index_path).map_err(|e| e.to_string())
}
