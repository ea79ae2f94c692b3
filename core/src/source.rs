//! The image source role: what the copy engine and inspect read from any transport.

use crate::digest::{Digest, Verifier};
use crate::effects::{for_each_chunk, ByteStream, Filesystem};
use crate::reference::Reference;
use crate::{Error, Result};

/// Read access to one image (or one list and its instances) in some transport.
pub trait ImageSource {
    /// The manifest bytes and media type: the top-level one, or the instance `instance` of a
    /// list. The media type is the transport's claim or, if it has none, sniffed.
    async fn manifest(&self, instance: Option<&Digest>) -> Result<(Vec<u8>, String)>;

    /// A small blob (a config), read whole and verified against `digest` (and `size` if known).
    async fn small_blob(&self, digest: &Digest, size: Option<u64>) -> Result<Vec<u8>>;

    /// The docker reference the image is known by, if the transport has one.
    fn docker_reference(&self) -> Option<&Reference>;

    /// The signatures of the image (or of the list's `instance`) as stored, in order; none
    /// for transports that keep none.
    async fn signatures(
        &self,
        _instance: Option<&Digest>,
    ) -> Result<Vec<crate::signature::Signature>> {
        Ok(Vec::new())
    }

    /// The layers a copy reads in place of those the manifest (of `instance`) names, in the
    /// manifest's order, when the source cannot give the named blobs themselves: a store that
    /// keeps only the uncompressed layers (containers/image's `LayerInfosForCopy`). The copy
    /// then writes a manifest naming these.
    async fn layers_for_copy(
        &self,
        _instance: Option<&Digest>,
    ) -> Result<Option<Vec<crate::manifest::types::Descriptor>>> {
        Ok(None)
    }
}

/// An image source that can stream its blobs (what copy needs beyond inspect).
pub trait BlobSource: ImageSource {
    /// The stream [`BlobSource::blob`] returns.
    type Blob: ByteStream;

    /// Opens the blob `digest` for streaming. The caller verifies digest and size as the
    /// bytes pass.
    async fn blob(&self, digest: &Digest, size: Option<u64>) -> Result<Self::Blob>;
}

/// Reads `path` through `fs` and verifies it against `digest` and `size` as it streams.
pub async fn read_verified<F: Filesystem>(
    fs: &F,
    path: &str,
    digest: &Digest,
    size: Option<u64>,
) -> Result<Vec<u8>> {
    let mut reader = fs.open(path).await?;
    let mut verifier = Verifier::new(digest.clone(), size);
    let mut out = Vec::new();
    for_each_chunk(&mut reader, 64 * 1024, |chunk| {
        verifier
            .update(chunk)
            .map_err(|e| Error::Verification(format!("{path}: {e}")))?;
        out.extend_from_slice(chunk);
        Ok(())
    })
    .await?;
    verifier
        .finish()
        .map_err(|e| Error::Verification(format!("{path}: {e}")))?;
    Ok(out)
}

/// Go's `filepath.Join(dir, name)` for `/`-separated paths, cleaned as Go cleans them.
pub fn join_path(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        return clean_path(name);
    }
    clean_path(&format!("{dir}/{name}"))
}

/// The directory holding `path` (cleaned): `/` for a top-level name, `.` for a bare one.
pub fn parent_path(path: &str) -> String {
    let cleaned = clean_path(path);
    match cleaned.rfind('/') {
        Some(0) => "/".to_owned(),
        Some(i) => cleaned[..i].to_owned(),
        None => ".".to_owned(),
    }
}

/// Go's `filepath.Clean`: collapses `//`, `.` and `..`.
pub fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_like_go() {
        assert_eq!(join_path("", "manifest.json"), "manifest.json");
        assert_eq!(join_path("/x/", "index.json"), "/x/index.json");
        assert_eq!(join_path("./a//b/../c", "f"), "a/c/f");
        assert_eq!(clean_path("/../a"), "/a");
    }
}
