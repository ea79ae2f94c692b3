//! `oci:` as a copy destination: blobs under `blobs/ALG/HEX`, the image's manifest as a blob,
//! and `index.json` naming it (by `org.opencontainers.image.ref.name` when a tag is given,
//! replacing an entry with the same name and keeping the others). Blobs are staged under
//! temporary names and `index.json` is replaced by a rename at commit, last.

use crate::destination::{
    write_verified, ImageDestination, LayerCompression, SliceStream, StoredBlob,
};
use crate::digest::Digest;
use crate::effects::{ByteSink, ByteStream, FilesystemWrite};
use crate::manifest::document::{self, OciDescriptor, OciIndex};
use crate::source::{clean_path, join_path};
use crate::{Error, Result};
use std::cell::RefCell;
use std::collections::BTreeMap;

/// The annotation that names an image in an index.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The `oci-layout` file as containers/image writes it.
const OCI_LAYOUT: &str = "{\"imageLayoutVersion\": \"1.0.0\"}";

/// Writes one image into an OCI layout.
pub struct OciDestination<'a, F: FilesystemWrite> {
    fs: &'a F,
    path: String,
    /// Where blobs go: the layout's `blobs`, or a shared blob directory.
    blobs: String,
    tag: String,
    /// The layout directory existed before (else abort removes it).
    existed: bool,
    index: OciIndex,
    /// Blobs written completely: (temporary path, final path).
    staged: RefCell<Vec<(String, String)>>,
    /// Temporary files of every blob started, finished or not (abort removes them).
    started: RefCell<Vec<String>>,
    manifest: Option<OciDescriptor>,
}

impl<'a, F: FilesystemWrite> OciDestination<'a, F> {
    /// Prepares to write the image `tag` (may be empty) into the layout at `path`, which may
    /// not exist yet.
    pub async fn new(fs: &'a F, path: &str, tag: &str) -> Result<Self> {
        let path = clean_path(path);
        let existed = fs.exists(&path).await?;
        let index = match existed {
            true => read_index(fs, &path).await?,
            false => empty_index(),
        };
        Ok(OciDestination {
            fs,
            blobs: join_path(&path, "blobs"),
            path,
            tag: tag.to_owned(),
            existed,
            index,
            staged: RefCell::default(),
            started: RefCell::default(),
            manifest: None,
        })
    }

    /// Writes blobs into `dir` (`--dest-shared-blob-dir`: `ALG/HEX` files shared by several
    /// layouts) instead of the layout's own `blobs`.
    pub fn with_shared_blob_dir(mut self, dir: Option<&str>) -> Self {
        if let Some(dir) = dir {
            self.blobs = clean_path(dir);
        }
        self
    }

    fn blob_path(&self, digest: &Digest) -> String {
        super::oci::blob_path_in(&self.blobs, digest)
    }

    async fn stage<S: ByteStream>(
        &self,
        stream: &mut S,
        digest: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<StoredBlob> {
        self.stage_as(stream, digest, size, None).await
    }

    /// [`Self::stage`], the blob named `name` instead of its content's digest when given (a
    /// signed schema 1 manifest is named by the digest of what was signed).
    async fn stage_as<S: ByteStream>(
        &self,
        stream: &mut S,
        digest: Option<&Digest>,
        size: Option<u64>,
        name: Option<&Digest>,
    ) -> Result<StoredBlob> {
        // Computed digests are sha256 ones.
        let dir = match digest {
            Some(d) => {
                let target = self.blob_path(d);
                target[..target.rfind('/').unwrap_or(0)].to_owned()
            }
            None => join_path(&self.blobs, "sha256"),
        };
        self.fs.create_dir_all(&dir).await?;
        // Other copies may write the same blob into this layout at the same time: each
        // writes its own temporary file, and renames are atomic.
        let writer = self.fs.writer_tag();
        let tmp = match digest {
            Some(d) => join_path(&dir, &format!(".{}{writer}.partial", d.hex())),
            None => {
                let n = self.started.borrow().len();
                join_path(&dir, &format!(".new-{n}{writer}.partial"))
            }
        };
        self.started.borrow_mut().push(tmp.clone());
        let stored = write_verified(self.fs, &tmp, stream, digest, size).await?;
        let target = self.blob_path(name.unwrap_or(&stored.digest));
        self.staged.borrow_mut().push((tmp, target));
        Ok(stored)
    }
}

impl<F: FilesystemWrite> ImageDestination for OciDestination<'_, F> {
    fn transport_name(&self) -> &'static str {
        "oci"
    }

    fn supported_manifest_types(&self) -> &[&'static str] {
        &[
            crate::manifest::mime::OCI_MANIFEST,
            crate::manifest::mime::OCI_INDEX,
        ]
    }

    fn desired_layer_compression(&self) -> LayerCompression {
        LayerCompression::Compress
    }

    async fn has_blob(&self, digest: &Digest) -> Result<bool> {
        let path = self.blob_path(digest);
        let staged = self.staged.borrow().iter().any(|(_, p)| *p == path);
        Ok(staged || self.fs.exists(&path).await?)
    }

    async fn put_blob<S: ByteStream>(
        &self,
        stream: &mut S,
        digest: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<StoredBlob> {
        self.stage(stream, digest, size).await
    }

    async fn put_manifest(
        &mut self,
        manifest: &[u8],
        media_type: &str,
        instance: Option<&Digest>,
    ) -> Result<()> {
        let digest = crate::manifest::manifest_digest(manifest).map_err(crate::Error::Invalid)?;
        if !self.has_blob(&digest).await? {
            self.stage_as(
                &mut SliceStream::new(manifest),
                Some(&Digest::sha256_of(manifest)),
                Some(manifest.len() as u64),
                Some(&digest),
            )
            .await?;
        }
        if instance.is_none() {
            let annotations = (!self.tag.is_empty())
                .then(|| BTreeMap::from([(REF_NAME.to_owned(), self.tag.clone())]));
            self.manifest = Some(OciDescriptor {
                media_type: media_type.to_owned(),
                digest: digest.to_string(),
                size: manifest.len() as i64,
                annotations,
                ..Default::default()
            });
        }
        Ok(())
    }

    fn supports_signatures(&self) -> Result<()> {
        Err(crate::Error::Unsupported(
            "Pushing signatures for OCI images is not supported".into(),
        ))
    }

    async fn commit(mut self) -> Result<()> {
        let Some(descriptor) = self.manifest.take() else {
            return Err(Error::Invalid("no manifest was written".into()));
        };
        for (tmp, target) in self.staged.take() {
            self.fs.rename(&tmp, &target).await?;
        }
        // With a shared blob directory nothing may have been written here yet.
        self.fs.create_dir_all(&self.path).await?;
        let layout = join_path(&self.path, "oci-layout");
        if !self.fs.exists(&layout).await? {
            let mut sink = self.fs.create(&layout).await?;
            sink.write_all(OCI_LAYOUT.as_bytes()).await?;
            sink.finish().await?;
        }
        // The index is read again and rewritten under the layout's lock (the layout directory
        // itself is locked, so the layout holds exactly what skopeo writes): copies into one
        // layout at once each add their entry, none lost (their blobs need no lock).
        let _lock = self.fs.lock(&self.path).await?;
        let mut index = read_index(self.fs, &self.path).await?;
        let tag = self.tag.clone();
        name_in_index(&mut index, descriptor, &tag);
        let index_path = join_path(&self.path, "index.json");
        let tmp = join_path(
            &self.path,
            &format!(".index.json{}.partial", self.fs.writer_tag()),
        );
        let mut sink = self.fs.create(&tmp).await?;
        sink.write_all(&document::encode(&index)).await?;
        sink.finish().await?;
        self.fs.rename(&tmp, &index_path).await?;
        self.index = index;
        Ok(())
    }

    async fn abort(self) {
        if !self.existed {
            // A layout this copy made goes, unless another copy committed into it meanwhile.
            if !self.fs.exists(&self.path).await.unwrap_or(false) {
                return;
            }
            let lock = self.fs.lock(&self.path).await;
            let index = join_path(&self.path, "index.json");
            if lock.is_ok() && !self.fs.exists(&index).await.unwrap_or(true) {
                let _ = self.fs.remove_dir_all(&self.path).await;
                return;
            }
        }
        for tmp in self.started.take() {
            let _ = self.fs.remove_file(&tmp).await;
        }
    }
}

fn empty_index() -> OciIndex {
    OciIndex {
        schema_version: 2,
        ..Default::default()
    }
}

/// The layout's `index.json` (an empty index when there is none yet).
async fn read_index<F: FilesystemWrite>(fs: &F, layout: &str) -> Result<OciIndex> {
    let index_path = join_path(layout, "index.json");
    if !fs.exists(&index_path).await? {
        return Ok(empty_index());
    }
    let bytes = fs.read_file(&index_path).await?;
    document::decode::<OciIndex>(&bytes).map_err(|e| Error::Invalid(format!("{index_path}: {e}")))
}

/// Adds `descriptor` to `index`, named `tag` (when not empty): an entry with the same name is
/// replaced, the others are kept.
pub fn name_in_index(index: &mut OciIndex, descriptor: OciDescriptor, tag: &str) {
    if !tag.is_empty() {
        index.manifests.retain(|d| {
            d.annotations
                .as_ref()
                .and_then(|a| a.get(REF_NAME))
                .is_none_or(|name| name != tag)
        });
    }
    index.manifests.push(descriptor);
}
