//! What a copy tells its user as it goes: skopeo's progress lines, and per-blob events that a
//! host on a terminal can draw as live bars. Counting happens as bytes pass, in the stream
//! the engine reads anyway.

use crate::digest::Digest;
use crate::effects::{ByteStream, EffectError};

/// What kind of blob is moving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobKind {
    Layer,
    Config,
}

impl BlobKind {
    /// The word skopeo uses ("Copying blob …", "Copying config …").
    pub fn word(self) -> &'static str {
        match self {
            BlobKind::Layer => "blob",
            BlobKind::Config => "config",
        }
    }

    /// skopeo's plain progress line for a blob of this kind.
    pub fn line(self, digest: &Digest) -> String {
        format!("Copying {} {digest}", self.word())
    }
}

/// How a blob's copy ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobOutcome {
    /// Its bytes were written.
    Copied,
    /// The destination had it already.
    Skipped,
}

/// Where progress goes. Only [`Report::line`] is required: the blob events default to
/// skopeo's plain "Copying blob sha256:…" lines.
pub trait Report {
    /// A line of progress ("Writing manifest to image destination").
    fn line(&self, text: &str);

    /// A blob starts moving (`size` when known).
    fn blob_started(&self, kind: BlobKind, digest: &Digest, _size: Option<u64>) {
        self.line(&kind.line(digest));
    }

    /// `bytes` of the blob have been read so far.
    fn blob_progress(&self, _digest: &Digest, _bytes: u64) {}

    /// The blob is done.
    fn blob_done(&self, _digest: &Digest, _outcome: BlobOutcome) {}
}

impl<F: Fn(&str)> Report for F {
    fn line(&self, text: &str) {
        self(text)
    }
}

/// A blob's source stream that reports how far it has been read.
pub(super) struct Counted<'r, S> {
    inner: S,
    digest: Digest,
    read: u64,
    report: &'r dyn Report,
}

impl<'r, S: ByteStream> Counted<'r, S> {
    pub(super) fn new(inner: S, digest: &Digest, report: &'r dyn Report) -> Self {
        Counted {
            inner,
            digest: digest.clone(),
            read: 0,
            report,
        }
    }

    fn count(&mut self, n: usize) {
        if n > 0 {
            self.read += n as u64;
            self.report.blob_progress(&self.digest, self.read);
        }
    }
}

impl<S: ByteStream> ByteStream for Counted<'_, S> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, EffectError> {
        let n = self.inner.read(buf).await?;
        self.count(n);
        Ok(n)
    }

    async fn read_chunk(&mut self) -> Result<Vec<u8>, EffectError> {
        let chunk = self.inner.read_chunk().await?;
        self.count(chunk.len());
        Ok(chunk)
    }

    fn hash_ahead(&mut self, algorithm: crate::digest::Algorithm) -> bool {
        self.inner.hash_ahead(algorithm)
    }

    fn hashed(&mut self) -> Option<crate::digest::Digester> {
        self.inner.hashed()
    }
}
