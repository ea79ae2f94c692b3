//! The `oci:` transport: an OCI image layout (`oci-layout`, `index.json`, `blobs/ALG/HEX`).

use crate::digest::Digest;
use crate::effects::Filesystem;
use crate::manifest::{guess_mime_type, matches_digest, mime, Descriptor};
use crate::reference::Reference;
use crate::source::{join_path, read_verified, ImageSource};
use crate::{Error, Result};
use serde::Deserialize;

/// The annotation that names an image in a layout's index.
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";

#[derive(Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

/// Reads one image (the one `image` names, or the only one) from an OCI layout.
pub struct OciSource<'a, F: Filesystem> {
    fs: &'a F,
    /// Where blobs live: the layout's `blobs`, or a shared blob directory.
    blobs: String,
    descriptor: Descriptor,
}

impl<'a, F: Filesystem> OciSource<'a, F> {
    /// Opens the layout at `path` and finds the image: by ref name when `image` is non-empty,
    /// else the single image in the index.
    pub async fn open(fs: &'a F, path: &str, image: &str) -> Result<Self> {
        let index_path = join_path(path, "index.json");
        let bytes = fs.read_file(&index_path).await?;
        let index: Index = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Invalid(format!("{index_path}: {e}")))?;
        let descriptor = choose_descriptor(&index.manifests, image)?;
        Ok(OciSource {
            fs,
            blobs: join_path(path, "blobs"),
            descriptor,
        })
    }

    /// Reads blobs from `dir` (`--src-shared-blob-dir`: `ALG/HEX` files shared by several
    /// layouts) instead of the layout's own `blobs`.
    pub fn with_shared_blob_dir(mut self, dir: Option<&str>) -> Self {
        if let Some(dir) = dir {
            self.blobs = crate::source::clean_path(dir);
        }
        self
    }

    /// The filesystem the layout is read through.
    pub fn filesystem(&self) -> &'a F {
        self.fs
    }

    /// The path of a blob of this image.
    pub fn blob_path(&self, digest: &Digest) -> String {
        blob_path_in(&self.blobs, digest)
    }
}

/// Where the blob `digest` lives in the layout at `layout`: `blobs/ALG/HEX`.
pub fn blob_path(layout: &str, digest: &Digest) -> String {
    blob_path_in(&join_path(layout, "blobs"), digest)
}

/// Where the blob `digest` lives under a blob directory: `ALG/HEX`.
pub fn blob_path_in(blobs: &str, digest: &Digest) -> String {
    join_path(
        blobs,
        &format!("{}/{}", digest.algorithm().name(), digest.hex()),
    )
}

/// containers/image's descriptor lookup in `index.json`.
pub fn choose_descriptor(manifests: &[Descriptor], image: &str) -> Result<Descriptor> {
    if image.is_empty() {
        return match manifests {
            [only] => Ok(only.clone()),
            [] => Err(Error::Invalid(
                "no descriptor found for reference \"\"".into(),
            )),
            _ => Err(Error::Invalid(
                "more than one image in oci, choose an image".into(),
            )),
        };
    }
    manifests
        .iter()
        .filter(|d| d.media_type == mime::OCI_MANIFEST || d.media_type == mime::OCI_INDEX)
        .find(|d| {
            d.annotations
                .as_ref()
                .and_then(|a| a.get(REF_NAME_ANNOTATION))
                .is_some_and(|name| name == image)
        })
        .cloned()
        .ok_or_else(|| Error::Invalid(format!("no descriptor found for reference {image:?}")))
}

impl<F: Filesystem> ImageSource for OciSource<'_, F> {
    async fn manifest(&self, instance: Option<&Digest>) -> Result<(Vec<u8>, String)> {
        let (digest, claimed) = match instance {
            None => (&self.descriptor.digest, self.descriptor.media_type.as_str()),
            Some(d) => (d, ""),
        };
        let path = self.blob_path(digest);
        let bytes = self.fs.read_file(&path).await?;
        if !matches_digest(&bytes, digest).map_err(Error::Invalid)? {
            return Err(Error::Verification(format!(
                "{path}: manifest does not match digest {digest}"
            )));
        }
        let mime = if claimed.is_empty() {
            guess_mime_type(&bytes)
        } else {
            claimed
        };
        Ok((bytes, mime.to_owned()))
    }

    async fn small_blob(&self, digest: &Digest, size: Option<u64>) -> Result<Vec<u8>> {
        read_verified(self.fs, &self.blob_path(digest), digest, size).await
    }

    fn docker_reference(&self) -> Option<&Reference> {
        None
    }
}
