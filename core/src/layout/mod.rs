//! Local image layouts (`dir:`, `oci:`, and converted `sif:` files) as image sources over the
//! host's filesystem.

pub mod dir;
pub mod dir_dest;
pub mod oci;
pub mod oci_dest;

use crate::digest::Digest;
use crate::effects::Filesystem;
use crate::reference::Reference;
use crate::source::{BlobSource, ImageSource};
use crate::transport::ImageName;
use crate::{Error, Result};

/// An image source for any locally readable transport.
pub enum LocalSource<'a, F: Filesystem> {
    Dir(dir::DirSource<'a, F>),
    Oci(Box<oci::OciSource<'a, F>>),
    /// A SIF file converted by the host (see [`crate::sif`]).
    Sif(Box<crate::sif::SifSource<'a, F>>),
}

/// Opens the source `name` points at. Fails for transports that are not local layouts.
pub async fn open_source<'a, F: Filesystem>(
    fs: &'a F,
    name: &ImageName,
) -> Result<LocalSource<'a, F>> {
    open_source_sharing(fs, name, None).await
}

/// [`open_source`], with an `oci:` image's blobs read from `shared_blob_dir` if given.
pub async fn open_source_sharing<'a, F: Filesystem>(
    fs: &'a F,
    name: &ImageName,
    shared_blob_dir: Option<&str>,
) -> Result<LocalSource<'a, F>> {
    match name {
        ImageName::Dir { path } => {
            check_parent_exists(fs, path).await?;
            Ok(LocalSource::Dir(dir::DirSource::new(fs, path)))
        }
        ImageName::Oci { path, image } => {
            check_parent_exists(fs, path).await?;
            let source = oci::OciSource::open(fs, path, image)
                .await?
                .with_shared_blob_dir(shared_blob_dir);
            Ok(LocalSource::Oci(Box::new(source)))
        }
        other => Err(Error::Unsupported(format!(
            "the {} transport is not available here yet",
            other.transport()
        ))),
    }
}

/// Checks what containers/image checks when it parses a local name: a `dir:`, `oci:`,
/// `oci-archive:` or `sif:` path may be missing, but its parent must exist.
pub async fn check_resolvable<F: Filesystem>(fs: &F, name: &ImageName) -> Result<()> {
    match name {
        ImageName::Dir { path }
        | ImageName::Oci { path, .. }
        | ImageName::OciArchive { path, .. }
        | ImageName::Sif { path } => check_parent_exists(fs, path).await,
        _ => Ok(()),
    }
}

/// containers/image resolves a layout path up front: it may be missing, but its parent must
/// exist (the error names the parent, as `lstat PARENT: no such file or directory`).
async fn check_parent_exists<F: Filesystem>(fs: &F, path: &str) -> Result<()> {
    let cleaned = crate::source::clean_path(path);
    if fs.exists(&cleaned).await? {
        return Ok(());
    }
    let parent = crate::source::parent_path(&cleaned);
    if fs.exists(&parent).await? {
        Ok(())
    } else {
        Err(Error::Effect(crate::effects::EffectError::new(
            crate::effects::EffectErrorKind::NotFound,
            format!("lstat {parent}: no such file or directory"),
        )))
    }
}

impl<F: Filesystem> ImageSource for LocalSource<'_, F> {
    async fn manifest(&self, instance: Option<&Digest>) -> Result<(Vec<u8>, String)> {
        match self {
            LocalSource::Dir(s) => s.manifest(instance).await,
            LocalSource::Oci(s) => s.manifest(instance).await,
            LocalSource::Sif(s) => s.manifest(instance).await,
        }
    }

    async fn small_blob(&self, digest: &Digest, size: Option<u64>) -> Result<Vec<u8>> {
        match self {
            LocalSource::Dir(s) => s.small_blob(digest, size).await,
            LocalSource::Oci(s) => s.small_blob(digest, size).await,
            LocalSource::Sif(s) => s.small_blob(digest, size).await,
        }
    }

    fn docker_reference(&self) -> Option<&Reference> {
        match self {
            LocalSource::Dir(s) => s.docker_reference(),
            LocalSource::Oci(s) => s.docker_reference(),
            LocalSource::Sif(s) => s.docker_reference(),
        }
    }

    async fn signatures(
        &self,
        instance: Option<&Digest>,
    ) -> Result<Vec<crate::signature::Signature>> {
        match self {
            LocalSource::Dir(s) => s.signatures(instance).await,
            LocalSource::Oci(s) => s.signatures(instance).await,
            LocalSource::Sif(s) => s.signatures(instance).await,
        }
    }
}

impl<F: Filesystem> BlobSource for LocalSource<'_, F> {
    type Blob = F::Reader;

    async fn blob(&self, digest: &Digest, _size: Option<u64>) -> Result<Self::Blob> {
        let path = match self {
            LocalSource::Dir(s) => s.blob_path(digest),
            LocalSource::Oci(s) => s.blob_path(digest),
            LocalSource::Sif(s) => s.blob_path(digest)?,
        };
        Ok(self.filesystem().open(&path).await?)
    }
}

impl<'a, F: Filesystem> LocalSource<'a, F> {
    fn filesystem(&self) -> &'a F {
        match self {
            LocalSource::Dir(s) => s.filesystem(),
            LocalSource::Oci(s) => s.filesystem(),
            LocalSource::Sif(s) => s.filesystem(),
        }
    }
}
