//! The image destination role: what the copy engine writes to, whatever the transport.

use crate::digest::Digest;
use crate::effects::ByteStream;
use crate::Result;

/// What became of a stored blob: its digest (computed when it was made on the way, as a
/// recompressed layer is) and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    pub digest: Digest,
    pub size: u64,
}

/// What a destination wants done to layers' compression when nothing else is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LayerCompression {
    /// Store layers as they come.
    #[default]
    Preserve,
    /// Compress uncompressed layers (registries and OCI layouts).
    Compress,
    /// Store layers uncompressed (docker archives).
    Decompress,
}

/// Write access to one image in some transport. Nothing becomes visible at the destination
/// until [`ImageDestination::commit`]; [`ImageDestination::abort`] removes what was staged.
pub trait ImageDestination {
    /// The transport's name, for messages (`dir`, `oci`, `docker`, …).
    fn transport_name(&self) -> &'static str;

    /// Manifest media types the destination stores, best first; empty means any.
    fn supported_manifest_types(&self) -> &[&'static str];

    /// What the destination does with layer compression by default.
    fn desired_layer_compression(&self) -> LayerCompression {
        LayerCompression::Preserve
    }

    /// Whether the destination already has the blob `digest` (the copy skips it then).
    async fn has_blob(&self, digest: &Digest) -> Result<bool>;

    /// Stores a blob from `stream`, verifying `digest` (and `size`, if known) as it streams,
    /// or computing the digest when none is given (content made on the way); a mismatch
    /// fails before the blob is kept. Several may run at once (the copy engine overlaps
    /// layers); a blob whose store was dropped part-way is removed by `abort`.
    async fn put_blob<S: ByteStream>(
        &self,
        stream: &mut S,
        digest: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<StoredBlob>;

    /// [`ImageDestination::put_blob`] for the layer the copy knows as `key` (its digest in
    /// the source), which the copy may call again with a fresh stream of the same bytes when
    /// [`ImageDestination::resumes_layer`] says a failed attempt left work to go on from.
    async fn put_layer<S: ByteStream>(
        &self,
        key: &Digest,
        stream: &mut S,
        digest: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<StoredBlob> {
        let _ = key;
        self.put_blob(stream, digest, size).await
    }

    /// Whether the last [`ImageDestination::put_layer`] of `key` failed part-way in a way
    /// another attempt can finish (a registry upload cut, or its session lost); asked once
    /// per failure.
    fn resumes_layer(&self, key: &Digest) -> bool {
        let _ = key;
        false
    }

    /// Stores the image's config blob (as [`ImageDestination::put_blob`] does, unless the
    /// destination keeps configs apart from layers).
    async fn put_config<S: ByteStream>(
        &self,
        stream: &mut S,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<StoredBlob> {
        self.put_blob(stream, Some(digest), size).await
    }

    /// Told before the layers are copied: their digests in the source, in the order they
    /// apply (a destination that builds each layer on the one below, a store, can then
    /// start on a layer as soon as the ones below it are in). By default nothing is done.
    fn plan_layers(&self, layers: &[Digest]) {
        let _ = layers;
    }

    /// Whether blobs must be stored one after another (a destination that streams them into
    /// one file); by default several are stored at once.
    fn one_blob_at_a_time(&self) -> bool {
        false
    }

    /// Stores the manifest (of the image, or of `instance` within a list).
    async fn put_manifest(
        &mut self,
        manifest: &[u8],
        media_type: &str,
        instance: Option<&Digest>,
    ) -> Result<()>;

    /// Whether the destination can store signatures: `Err` says why not.
    fn supports_signatures(&self) -> Result<()>;

    /// Stores the signatures of the image (or of the list's `instance`), replacing any. By
    /// default there is nothing to store for a destination without signature storage, and
    /// anything given is refused with [`ImageDestination::supports_signatures`]'s reason.
    async fn put_signatures(
        &mut self,
        signatures: &[crate::signature::Signature],
        _instance: Option<&Digest>,
    ) -> Result<()> {
        match signatures.is_empty() {
            true => Ok(()),
            false => self.supports_signatures(),
        }
    }

    /// Makes everything stored visible at once (the manifest or index last).
    async fn commit(self) -> Result<()>;

    /// Drops everything staged; the destination is as it was.
    async fn abort(self);
}

/// Writes `stream` to the file `path`, verified against `digest` (computed when `None`) and
/// `size`; on any failure the file is removed again.
pub async fn write_verified<F: crate::effects::FilesystemWrite, S: ByteStream>(
    fs: &F,
    path: &str,
    stream: &mut S,
    digest: Option<&Digest>,
    size: Option<u64>,
) -> Result<StoredBlob> {
    use crate::effects::ByteSink;
    let mut sink = fs.create(path).await?;
    let what = digest.map_or_else(|| path.to_owned(), Digest::to_string);
    let written = match copy_verified(stream, &mut sink, digest, size, &what).await {
        Ok(stored) => sink
            .finish()
            .await
            .map(|()| stored)
            .map_err(crate::Error::from),
        Err(e) => Err(e),
    };
    if written.is_err() {
        let _ = fs.remove_file(path).await;
    }
    written
}

/// Writes `stream` to the temporary file `tmp` (verified as [`write_verified`] does), then
/// renames it to `named(digest)`: how a blob whose digest is only known at the end (one
/// made on the way) gets its name.
pub async fn write_then_name<F: crate::effects::FilesystemWrite, S: ByteStream>(
    fs: &F,
    tmp: &str,
    stream: &mut S,
    digest: Option<&Digest>,
    size: Option<u64>,
    named: impl FnOnce(&Digest) -> String,
) -> Result<StoredBlob> {
    let stored = write_verified(fs, tmp, stream, digest, size).await?;
    if let Err(e) = fs.rename(tmp, &named(&stored.digest)).await {
        let _ = fs.remove_file(tmp).await;
        return Err(e.into());
    }
    Ok(stored)
}

/// Streams `stream` into `sink` through a digest and size check (or, without a digest,
/// computing it), chunk by chunk as the stream hands them over.
pub async fn copy_verified<S: ByteStream, W: crate::effects::ByteSink>(
    stream: &mut S,
    sink: &mut W,
    digest: Option<&Digest>,
    size: Option<u64>,
    what: &str,
) -> Result<StoredBlob> {
    use crate::digest::Verifier;
    use crate::Error;
    let mut verifier = Verifier::for_blob(digest, size);
    verifier.hash_in(stream);
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
    let size = verifier.len();
    let digest = verifier
        .finish_from(stream)
        .map_err(|e| Error::Verification(format!("{what}: {e}")))?;
    Ok(StoredBlob { digest, size })
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

/// A stream that checks what passes through it against a digest and size (or computes the
/// digest); a size overrun fails the read that brings it, a digest mismatch fails the read
/// that finds the end, so whatever consumes the stream stops before keeping anything. The
/// verdict is also kept for [`Verifying::finish`].
pub struct Verifying<'s, S> {
    inner: &'s mut S,
    verifier: Option<crate::digest::Verifier>,
    outcome: Option<std::result::Result<StoredBlob, crate::digest::VerifyError>>,
}

impl<'s, S: ByteStream> Verifying<'s, S> {
    /// Wraps `inner`, expecting `digest` (computing it when `None`) and `size` (if known).
    pub fn new(inner: &'s mut S, digest: Option<&Digest>, size: Option<u64>) -> Self {
        let mut verifier = crate::digest::Verifier::for_blob(digest, size);
        verifier.hash_in(inner);
        Verifying {
            inner,
            verifier: Some(verifier),
            outcome: None,
        }
    }

    /// What was read, if everything matched.
    pub fn finish(mut self) -> std::result::Result<StoredBlob, crate::digest::VerifyError> {
        if let Some(outcome) = self.outcome.take() {
            return outcome;
        }
        let verifier = self.verifier.take().expect("kept until an outcome is");
        let size = verifier.len();
        verifier
            .finish_from(self.inner)
            .map(|digest| StoredBlob { digest, size })
    }
}

impl<S: ByteStream> Verifying<'_, S> {
    /// Passes `bytes` through the check (empty: the end); a mismatch fails the stream.
    fn check(&mut self, bytes: &[u8]) -> std::result::Result<(), crate::effects::EffectError> {
        let Some(v) = &mut self.verifier else {
            return Ok(());
        };
        let verdict = if bytes.is_empty() {
            let v = self.verifier.take().expect("checked above");
            let size = v.len();
            v.finish_from(self.inner)
                .map(|digest| StoredBlob { digest, size })
        } else {
            match v.update(bytes) {
                Ok(()) => return Ok(()),
                Err(e) => Err(e),
            }
        };
        self.verifier = None;
        let failure = verdict.as_ref().err().map(ToString::to_string);
        self.outcome = Some(verdict);
        match failure {
            Some(message) => Err(crate::effects::EffectError::new(
                crate::effects::EffectErrorKind::Other,
                message,
            )),
            None => Ok(()),
        }
    }
}

impl<S: ByteStream> ByteStream for Verifying<'_, S> {
    async fn read(
        &mut self,
        buf: &mut [u8],
    ) -> std::result::Result<usize, crate::effects::EffectError> {
        let n = self.inner.read(buf).await?;
        if n > 0 || !buf.is_empty() {
            self.check(&buf[..n])?;
        }
        Ok(n)
    }

    async fn read_chunk(&mut self) -> std::result::Result<Vec<u8>, crate::effects::EffectError> {
        let chunk = self.inner.read_chunk().await?;
        self.check(&chunk)?;
        Ok(chunk)
    }
}
