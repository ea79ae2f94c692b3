//! `dir:` as a copy destination: blobs named by their hex digest, `manifest.json`, and the
//! `version` file. Everything is written into a staging directory next to the target and
//! swapped in at commit, so a failed copy leaves the target as it was.

use crate::destination::{write_then_name, write_verified, ImageDestination, StoredBlob};
use crate::digest::Digest;
use crate::effects::{ByteSink, ByteStream, EffectErrorKind, FilesystemWrite};
use crate::source::{clean_path, join_path};
use crate::{Error, Result};

/// The `version` file's exact contents.
pub const VERSION: &str = "Directory Transport Version: 1.1\n";

/// The refusal to overwrite a directory that is not a `dir:` image.
pub const NOT_AN_IMAGE_DIR: &str =
    "not a containers image directory, don't want to overwrite important data";

/// `path`'s sibling named `.BASENAME.SUFFIX`.
pub(crate) fn sibling(path: &str, suffix: &str) -> String {
    let (parent, base) = match path.rfind('/') {
        Some(0) => ("/", &path[1..]),
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (".", path),
    };
    join_path(parent, &format!(".{base}.{suffix}"))
}

/// Writes one image into a `dir:` directory.
pub struct DirDestination<'a, F: FilesystemWrite> {
    fs: &'a F,
    path: String,
    staging: String,
    existed: bool,
    temps: std::cell::Cell<u32>,
}

impl<'a, F: FilesystemWrite> DirDestination<'a, F> {
    /// Prepares to write to `path`, which may be missing, empty, or a previous `dir:` image
    /// (replaced at commit); anything else is refused.
    pub async fn new(fs: &'a F, path: &str) -> Result<Self> {
        let path = clean_path(path);
        let existed = fs.exists(&path).await?;
        if existed {
            let names = fs.read_dir(&path).await?;
            if !names.is_empty() {
                let version = join_path(&path, "version");
                let ours = names.iter().any(|n| n == "version")
                    && fs.read_file(&version).await? == VERSION.as_bytes();
                if !ours {
                    return Err(Error::Invalid(NOT_AN_IMAGE_DIR.into()));
                }
            }
        }
        let staging = sibling(&path, "skopeo-staging");
        if fs.exists(&staging).await? {
            fs.remove_dir_all(&staging).await?;
        }
        fs.create_dir_all(&staging).await?;
        Ok(DirDestination {
            fs,
            path,
            staging,
            existed,
            temps: Default::default(),
        })
    }

    /// A fresh number for a temporary file name.
    fn next_temp(&self) -> u32 {
        let n = self.temps.get();
        self.temps.set(n + 1);
        n
    }

    async fn write_file(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = join_path(&self.staging, name);
        let mut sink = self.fs.create(&path).await?;
        sink.write_all(bytes).await?;
        sink.finish().await?;
        Ok(())
    }
}

impl<F: FilesystemWrite> ImageDestination for DirDestination<'_, F> {
    fn transport_name(&self) -> &'static str {
        "dir"
    }

    fn supported_manifest_types(&self) -> &[&'static str] {
        &[]
    }

    async fn has_blob(&self, digest: &Digest) -> Result<bool> {
        Ok(self
            .fs
            .exists(&join_path(&self.staging, digest.hex()))
            .await?)
    }

    async fn put_blob<S: ByteStream>(
        &self,
        stream: &mut S,
        digest: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<StoredBlob> {
        let Some(digest) = digest else {
            // Made on the way: named once its digest is known.
            let tmp = join_path(&self.staging, &format!(".new-{}", self.next_temp()));
            let named = |d: &Digest| join_path(&self.staging, d.hex());
            return write_then_name(self.fs, &tmp, stream, None, size, named).await;
        };
        let path = join_path(&self.staging, digest.hex());
        write_verified(self.fs, &path, stream, Some(digest), size).await
    }

    async fn put_manifest(
        &mut self,
        manifest: &[u8],
        _media_type: &str,
        instance: Option<&Digest>,
    ) -> Result<()> {
        self.write_file(&super::dir::manifest_file_name(instance), manifest)
            .await
    }

    fn supports_signatures(&self) -> Result<()> {
        Ok(())
    }

    async fn put_signatures(
        &mut self,
        signatures: &[crate::signature::Signature],
        instance: Option<&Digest>,
    ) -> Result<()> {
        for (i, signature) in signatures.iter().enumerate() {
            let name = super::dir::signature_file_name(i + 1, instance);
            self.write_file(&name, &signature.to_blob()).await?;
        }
        Ok(())
    }

    async fn commit(self) -> Result<()> {
        self.write_file("version", VERSION.as_bytes()).await?;
        if self.existed {
            let old = sibling(&self.path, "skopeo-old");
            match self.fs.remove_dir_all(&old).await {
                Err(e) if e.kind != EffectErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
            self.fs.rename(&self.path, &old).await?;
            if let Err(e) = self.fs.rename(&self.staging, &self.path).await {
                let _ = self.fs.rename(&old, &self.path).await;
                return Err(e.into());
            }
            let _ = self.fs.remove_dir_all(&old).await;
        } else {
            self.fs.rename(&self.staging, &self.path).await?;
        }
        Ok(())
    }

    async fn abort(self) {
        let _ = self.fs.remove_dir_all(&self.staging).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_names_sit_beside_the_target() {
        assert_eq!(sibling("/a/b/img", "x"), "/a/b/.img.x");
        assert_eq!(sibling("img", "x"), ".img.x");
        assert_eq!(sibling("/img", "x"), "/.img.x");
    }
}
