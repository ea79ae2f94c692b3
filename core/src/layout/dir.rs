//! The `dir:` transport: `manifest.json`, blobs named by their hex digest, `version`, and
//! per-instance `<hex>.manifest.json` files.

use crate::digest::Digest;
use crate::effects::Filesystem;
use crate::manifest::{guess_mime_type, matches_digest};
use crate::reference::Reference;
use crate::source::{join_path, read_verified, ImageSource};
use crate::{Error, Result};

/// The file holding the image's manifest, or an instance's manifest of a list.
pub fn manifest_file_name(instance: Option<&Digest>) -> String {
    match instance {
        None => "manifest.json".to_owned(),
        Some(d) => format!("{}.manifest.json", d.hex()),
    }
}

/// The file holding signature `index` (from 1) of the image, or of an instance of a list.
pub fn signature_file_name(index: usize, instance: Option<&Digest>) -> String {
    match instance {
        None => format!("signature-{index}"),
        Some(d) => format!("{}.signature-{index}", d.hex()),
    }
}

/// Reads an image from a `dir:` directory.
pub struct DirSource<'a, F: Filesystem> {
    fs: &'a F,
    path: String,
}

impl<'a, F: Filesystem> DirSource<'a, F> {
    /// A source for the directory `path`.
    pub fn new(fs: &'a F, path: &str) -> Self {
        DirSource {
            fs,
            path: path.to_owned(),
        }
    }

    /// Where the manifest (or an instance's manifest) lives.
    pub fn manifest_path(&self, instance: Option<&Digest>) -> String {
        join_path(&self.path, &manifest_file_name(instance))
    }

    /// The filesystem the layout is read through.
    pub fn filesystem(&self) -> &'a F {
        self.fs
    }

    /// Where a blob lives.
    pub fn blob_path(&self, digest: &Digest) -> String {
        join_path(&self.path, digest.hex())
    }
}

impl<F: Filesystem> ImageSource for DirSource<'_, F> {
    async fn manifest(&self, instance: Option<&Digest>) -> Result<(Vec<u8>, String)> {
        let path = self.manifest_path(instance);
        let bytes = self.fs.read_file(&path).await?;
        if let Some(expected) = instance {
            if !matches_digest(&bytes, expected).map_err(Error::Invalid)? {
                return Err(Error::Verification(format!(
                    "{path}: manifest does not match digest {expected}"
                )));
            }
        }
        let mime = guess_mime_type(&bytes).to_owned();
        Ok((bytes, mime))
    }

    async fn small_blob(&self, digest: &Digest, size: Option<u64>) -> Result<Vec<u8>> {
        read_verified(self.fs, &self.blob_path(digest), digest, size).await
    }

    fn docker_reference(&self) -> Option<&Reference> {
        None
    }

    async fn signatures(
        &self,
        instance: Option<&Digest>,
    ) -> Result<Vec<crate::signature::Signature>> {
        let mut signatures = Vec::new();
        loop {
            let name = signature_file_name(signatures.len() + 1, instance);
            let path = join_path(&self.path, &name);
            match self.fs.read_file(&path).await {
                Ok(blob) => signatures.push(
                    crate::signature::Signature::from_blob(&blob)
                        .map_err(|e| Error::Invalid(format!("parsing signature {path:?}: {e}")))?,
                ),
                Err(e) if e.kind == crate::effects::EffectErrorKind::NotFound => {
                    return Ok(signatures)
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}
