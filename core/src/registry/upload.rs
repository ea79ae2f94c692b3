//! Blob uploads: one streamed `PATCH` into an upload session, then the `PUT` that commits it
//! under its digest. An upload cut part-way keeps its session for the next attempt (with a
//! fresh stream of the same bytes), which asks the session where it stands (`GET` on its
//! location: `Range: 0-N`), reads past the bytes the registry holds and sends the rest; a
//! session the registry lost, or one that cannot say, starts over in a new one.

use super::client::{repository_scope, status_error, RegistryClient};
use super::retry;
use super::transfer::{location, with_query};
use crate::destination::{StoredBlob, Verifying};
use crate::digest::Digest;
use crate::effects::{ByteStream, Clock, EffectError, HttpClient};
use crate::{Error, Result};
use http::Method;

/// Where an interrupted upload of one blob stands, between attempts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum UploadSession {
    /// Nothing to go on from: a new session.
    #[default]
    Fresh,
    /// Cut part-way: the session at this location may hold some of the bytes.
    Cut(String),
    /// The registry lost the session: start over.
    Lost,
}

impl UploadSession {
    /// Whether another attempt with a fresh stream may finish the upload.
    pub fn resumable(&self) -> bool {
        !matches!(self, UploadSession::Fresh)
    }
}

impl<H: HttpClient + Clock> RegistryClient<'_, H> {
    /// Uploads `stream` as a blob of `repository` in one streamed request, verifying
    /// `digest` and size as it passes (or computing the digest when `None`: the upload is
    /// committed under it at the end); nothing is committed on a mismatch.
    pub async fn upload_blob<S: ByteStream>(
        &self,
        repository: &str,
        stream: &mut S,
        digest: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<StoredBlob> {
        let mut session = UploadSession::Fresh;
        self.upload_blob_resuming(repository, stream, digest, size, &mut session)
            .await
    }

    /// [`RegistryClient::upload_blob`] going on from `session` (what an earlier attempt of
    /// the same bytes left), and leaving in it what a cut or lost upload leaves to go on from.
    pub async fn upload_blob_resuming<S: ByteStream>(
        &self,
        repository: &str,
        stream: &mut S,
        digest: Option<&Digest>,
        size: Option<u64>,
        session: &mut UploadSession,
    ) -> Result<StoredBlob> {
        let scopes = [repository_scope(repository, "pull,push")];
        let what = match digest {
            Some(d) => format!("writing blob {d}"),
            None => "writing blob".to_owned(),
        };
        let held = match std::mem::take(session) {
            UploadSession::Cut(loc) => {
                let held = self.upload_offset(&loc, &scopes).await;
                if held.is_none() {
                    // Starting over: the old session is not wanted any more.
                    let _ = self
                        .request(Method::DELETE, &loc, &[], Vec::new(), &scopes)
                        .await;
                }
                held
            }
            _ => None,
        };
        let (loc, offset) = match held {
            Some(at) => at,
            None => (self.start_upload(repository, &what, &scopes).await?, 0),
        };
        let mut verifying = Verifying::new(stream, digest, size);
        // What the registry holds already is read (and hashed) but not sent again.
        let mut rest = Rest {
            first: skip(&mut verifying, offset).await?,
            inner: &mut verifying,
        };
        let range;
        let mut headers = vec![("Content-Type", "application/octet-stream")];
        let remaining = size.map(|s| s.saturating_sub(offset));
        if let (true, Some(s), Some(left)) = (offset > 0, size, remaining) {
            if left > 0 {
                range = format!("{offset}-{}", s - 1);
                headers.push(("Content-Range", &range));
            }
        }
        let sent = self
            .request_streamed_body(Method::PATCH, &loc, &headers, &mut rest, remaining, &scopes)
            .await;
        drop(rest);
        let cancel = async || {
            let _ = self
                .request(Method::DELETE, &loc, &[], Vec::new(), &scopes)
                .await;
        };
        let patched = match sent {
            Err(Error::Effect(e)) if retry::transport_heals(&e) => {
                *session = UploadSession::Cut(loc.clone());
                return Err(Error::Effect(e));
            }
            // The source or the request failed: that is the error, not what the check saw.
            Err(e) => {
                cancel().await;
                return Err(e);
            }
            Ok(patched) => patched,
        };
        let stored = match verifying.finish() {
            Ok(stored) => stored,
            Err(e) => {
                cancel().await;
                return Err(Error::Verification(format!("{what}: {e}")));
            }
        };
        match patched.status().as_u16() {
            202 => {}
            404 => {
                *session = UploadSession::Lost;
                return Err(status_error(&patched, "uploading layer chunked"));
            }
            status if retry::heals(status) => {
                *session = UploadSession::Cut(loc.clone());
                return Err(status_error(&patched, "uploading layer chunked"));
            }
            _ => {
                cancel().await;
                return Err(status_error(&patched, "uploading layer chunked"));
            }
        }
        let loc = location(&patched, &what)?;
        let url = with_query(&loc, "digest", &stored.digest.to_string());
        let res = self
            .request(Method::PUT, &url, &[], Vec::new(), &scopes)
            .await?;
        match res.status().as_u16() {
            201 => Ok(stored),
            404 => {
                *session = UploadSession::Lost;
                Err(status_error(&res, "uploading layer to"))
            }
            _ => Err(status_error(&res, "uploading layer to")),
        }
    }

    /// Opens an upload session; its location.
    async fn start_upload(
        &self,
        repository: &str,
        what: &str,
        scopes: &[String],
    ) -> Result<String> {
        let start = self
            .request(
                Method::POST,
                &format!("/v2/{repository}/blobs/uploads/"),
                &[],
                Vec::new(),
                scopes,
            )
            .await?;
        if start.status() != 202 {
            return Err(status_error(&start, "initiating layer upload"));
        }
        location(&start, what)
    }

    /// Where the session at `loc` stands: its location to go on at and the bytes it holds;
    /// `None` when it is gone or cannot say (`Range: 0-0` is both none and one byte).
    async fn upload_offset(&self, loc: &str, scopes: &[String]) -> Option<(String, u64)> {
        let res = self
            .request(Method::GET, loc, &[], Vec::new(), scopes)
            .await
            .ok()?;
        if res.status() != 204 {
            return None;
        }
        let range = res.headers().get("range")?.to_str().ok()?.trim();
        let range = range.strip_prefix("bytes=").unwrap_or(range);
        let end: u64 = range.strip_prefix("0-")?.parse().ok()?;
        if end == 0 {
            return None;
        }
        let at = location(&res, "upload status").unwrap_or_else(|_| loc.to_owned());
        Some((at, end + 1))
    }
}

/// Reads `n` bytes of `stream` and drops them; what the last chunk read held past them.
async fn skip<S: ByteStream>(stream: &mut S, mut n: u64) -> Result<Vec<u8>> {
    while n > 0 {
        let chunk = stream.read_chunk().await?;
        if chunk.is_empty() {
            return Err(Error::Invalid(format!(
                "resuming an upload: the blob ended {n} bytes before the registry's offset"
            )));
        }
        match usize::try_from(n) {
            Ok(short) if short < chunk.len() => return Ok(chunk[short..].to_vec()),
            _ => n -= chunk.len() as u64,
        }
    }
    Ok(Vec::new())
}

/// `first`, then the rest of `inner`.
struct Rest<'s, S> {
    first: Vec<u8>,
    inner: &'s mut S,
}

impl<S: ByteStream> ByteStream for Rest<'_, S> {
    async fn read(&mut self, buf: &mut [u8]) -> std::result::Result<usize, EffectError> {
        if self.first.is_empty() {
            return self.inner.read(buf).await;
        }
        let n = buf.len().min(self.first.len());
        buf[..n].copy_from_slice(&self.first[..n]);
        self.first.drain(..n);
        Ok(n)
    }

    async fn read_chunk(&mut self) -> std::result::Result<Vec<u8>, EffectError> {
        match self.first.is_empty() {
            true => self.inner.read_chunk().await,
            false => Ok(std::mem::take(&mut self.first)),
        }
    }
}
