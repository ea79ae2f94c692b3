//! The image destination role: what the copy engine writes to, whatever the transport.

use crate::digest::Digest;
use crate::effects::ByteStream;
use crate::Result;

/// Write access to one image in some transport. Nothing becomes visible at the destination
/// until [`ImageDestination::commit`]; [`ImageDestination::abort`] removes what was staged.
pub trait ImageDestination {
    /// Manifest media types the destination stores, best first; empty means any.
    fn supported_manifest_types(&self) -> &[&'static str];

    /// Whether the destination already has the blob `digest` (the copy skips it then).
    async fn has_blob(&self, digest: &Digest) -> Result<bool>;

    /// Stores a blob from `stream`, verifying `digest` (and `size`, if known) as it streams;
    /// a mismatch fails before the blob is kept. Several may run at once (the copy engine
    /// overlaps layers); a blob whose store was dropped part-way is removed by `abort`.
    async fn put_blob<S: ByteStream>(
        &self,
        stream: &mut S,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<()>;

    /// Stores the manifest (of the image, or of `instance` within a list).
    async fn put_manifest(
        &mut self,
        manifest: &[u8],
        media_type: &str,
        instance: Option<&Digest>,
    ) -> Result<()>;

    /// Makes everything stored visible at once (the manifest or index last).
    async fn commit(self) -> Result<()>;

    /// Drops everything staged; the destination is as it was.
    async fn abort(self);
}

/// Writes `stream` to the file `path`, verified against `digest` and `size`; on any failure
/// the file is removed again.
pub async fn write_verified<F: crate::effects::FilesystemWrite, S: ByteStream>(
    fs: &F,
    path: &str,
    stream: &mut S,
    digest: &Digest,
    size: Option<u64>,
) -> Result<()> {
    use crate::effects::ByteSink;
    let mut sink = fs.create(path).await?;
    let written = match copy_verified(stream, &mut sink, digest, size, &digest.to_string()).await {
        Ok(()) => sink.finish().await.map_err(crate::Error::from),
        Err(e) => Err(e),
    };
    if written.is_err() {
        let _ = fs.remove_file(path).await;
    }
    written
}

/// Streams `stream` into `sink` through a digest and size check, chunk by chunk as the
/// stream hands them over.
pub async fn copy_verified<S: ByteStream, W: crate::effects::ByteSink>(
    stream: &mut S,
    sink: &mut W,
    digest: &Digest,
    size: Option<u64>,
    what: &str,
) -> Result<()> {
    use crate::digest::Verifier;
    use crate::Error;
    let mut verifier = Verifier::new(digest.clone(), size);
    loop {
        let chunk = stream.read_chunk().await?;
        if chunk.is_empty() {
            break;
        }
        verifier
            .update(&chunk)
            .map_err(|e| Error::Verification(format!("{what}: {e}")))?;
        sink.write_chunk(chunk).await?;
    }
    verifier
        .finish()
        .map_err(|e| Error::Verification(format!("{what}: {e}")))?;
    Ok(())
}

/// A byte slice as a stream (configs and manifests produced in memory).
pub struct SliceStream<'b>(&'b [u8]);

impl<'b> SliceStream<'b> {
    /// A stream over `bytes`.
    pub fn new(bytes: &'b [u8]) -> Self {
        SliceStream(bytes)
    }
}

impl ByteStream for SliceStream<'_> {
    async fn read(
        &mut self,
        buf: &mut [u8],
    ) -> std::result::Result<usize, crate::effects::EffectError> {
        let n = buf.len().min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// A stream that checks what passes through it against a digest and size; the check's
/// verdict is taken with [`Verifying::finish`] once the stream has ended.
pub struct Verifying<'s, S> {
    inner: &'s mut S,
    verifier: Option<crate::digest::Verifier>,
    failure: Option<crate::digest::VerifyError>,
}

impl<'s, S: ByteStream> Verifying<'s, S> {
    /// Wraps `inner`, expecting `digest` and `size` (if known).
    pub fn new(inner: &'s mut S, digest: &Digest, size: Option<u64>) -> Self {
        Verifying {
            inner,
            verifier: Some(crate::digest::Verifier::new(digest.clone(), size)),
            failure: None,
        }
    }

    /// Whether everything read matched.
    pub fn finish(mut self) -> std::result::Result<(), crate::digest::VerifyError> {
        if let Some(e) = self.failure.take() {
            return Err(e);
        }
        match self.verifier.take() {
            Some(v) => v.finish().map(|_| ()),
            None => Ok(()),
        }
    }
}

impl<S> Verifying<'_, S> {
    /// Passes `bytes` through the check; the first mismatch fails the stream.
    fn check(&mut self, bytes: &[u8]) -> std::result::Result<(), crate::effects::EffectError> {
        if let Some(v) = &mut self.verifier {
            if let Err(e) = v.update(bytes) {
                let message = e.to_string();
                self.failure = Some(e);
                self.verifier = None;
                return Err(crate::effects::EffectError::new(
                    crate::effects::EffectErrorKind::Other,
                    message,
                ));
            }
        }
        Ok(())
    }
}

impl<S: ByteStream> ByteStream for Verifying<'_, S> {
    async fn read(
        &mut self,
        buf: &mut [u8],
    ) -> std::result::Result<usize, crate::effects::EffectError> {
        let n = self.inner.read(buf).await?;
        self.check(&buf[..n])?;
        Ok(n)
    }

    async fn read_chunk(&mut self) -> std::result::Result<Vec<u8>, crate::effects::EffectError> {
        let chunk = self.inner.read_chunk().await?;
        self.check(&chunk)?;
        Ok(chunk)
    }
}
