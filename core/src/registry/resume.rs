//! Blob downloads that survive a cut connection: when the body fails part-way (reset, timed
//! out, closed early), the rest is asked for with `Range: bytes=N-` and checked against the
//! answer's `Content-Range`; a registry that ignores `Range` and sends the whole blob again is
//! read from the start, what it repeats discarded. The stream's caller sees one unbroken
//! body, and a digest taken by the host ([`ByteStream::hash_ahead`]) goes on over the whole.

use super::client::{status_error, RegistryClient};
use super::retry;
use crate::digest::{Algorithm, Digester};
use crate::effects::{ByteStream, Clock, EffectError, EffectErrorKind, HttpClient};
use http::{Method, Response};

/// Resumes in a row that bring no new byte before the download gives up.
pub const MAX_RESUMES_WITHOUT_PROGRESS: u32 = retry::MAX_ATTEMPTS - 1;

/// A blob body that resumes itself; see the module.
pub struct ResumingBlob<'c, 'h, H: HttpClient> {
    client: &'c RegistryClient<'h, H>,
    path: String,
    scopes: Vec<String>,
    body: H::Body,
    /// Bytes handed over so far.
    offset: u64,
    /// The whole blob's length, when the registry said it.
    length: Option<u64>,
    /// Whether the caller handed the hashing to the host.
    hashing: Option<Algorithm>,
    /// The digest of what was handed over, kept here after a resume the host could not hash.
    own_digester: Option<Digester>,
    /// Resumes since the last byte arrived.
    fruitless: u32,
    /// Bytes since the last resume (a resume after progress asks again at once).
    since_resume: u64,
    /// The registry said nothing is left: the stream is at its end.
    ended: bool,
}

impl<'c, 'h, H: HttpClient + Clock> ResumingBlob<'c, 'h, H> {
    /// Wraps the first answer (`200`) to a GET of `path` (needing `scopes`).
    pub fn new(
        client: &'c RegistryClient<'h, H>,
        path: String,
        scopes: Vec<String>,
        first: Response<H::Body>,
    ) -> Self {
        let length = content_length(&first);
        ResumingBlob {
            client,
            path,
            scopes,
            body: first.into_body(),
            offset: 0,
            length,
            hashing: None,
            own_digester: None,
            fruitless: 0,
            since_resume: 0,
            ended: false,
        }
    }

    /// Counts `n` bytes handed over from `bytes`.
    fn passed(&mut self, bytes: &[u8]) {
        if let Some(d) = &mut self.own_digester {
            d.update(bytes);
        }
        self.offset += bytes.len() as u64;
        self.since_resume += bytes.len() as u64;
        if !bytes.is_empty() {
            self.fruitless = 0;
        }
    }

    /// What to do with the body's answer `outcome` (`Ok(0)`: it ended): `Ok(true)` when it
    /// stands, `Ok(false)` after resuming (read again), or the failure.
    async fn settle(&mut self, outcome: Result<usize, EffectError>) -> Result<bool, EffectError> {
        let cut = match outcome {
            Ok(0) if self.length.is_some_and(|l| self.offset < l) => EffectError::new(
                EffectErrorKind::Transient,
                format!(
                    "reading blob {}: unexpected EOF after {} of {} bytes",
                    self.path,
                    self.offset,
                    self.length.unwrap_or_default()
                ),
            ),
            Ok(_) => return Ok(true),
            Err(e) if retry::transport_heals(&e) => e,
            Err(e) => return Err(e),
        };
        if self.fruitless >= MAX_RESUMES_WITHOUT_PROGRESS {
            return Err(cut);
        }
        self.resume(cut).await?;
        Ok(false)
    }

    /// Asks for the rest after `cut`; on failure, `cut` (or what the registry said) is the
    /// error.
    async fn resume(&mut self, cut: EffectError) -> Result<(), EffectError> {
        // The digest of what was handed over, when the host hashed it.
        let carried = match (self.hashing, self.own_digester.take()) {
            (None, _) => None,
            (Some(_), Some(own)) => Some(own),
            (Some(_), None) => match self.body.hashed() {
                Some(d) if d.len() == self.offset => Some(d),
                // The host kept no digest of the part read: the whole cannot be verified.
                _ => return Err(cut),
            },
        };
        self.fruitless += 1;
        if self.since_resume == 0 {
            let clock = self.client.clock();
            let seed = clock.now_unix() as u64 ^ self.offset;
            clock.sleep(retry::delay(self.fruitless, None, seed)).await;
        }
        self.since_resume = 0;
        let range = format!("bytes={}-", self.offset);
        let res = self
            .client
            .request_streaming(Method::GET, &self.path, &[("Range", &range)], &self.scopes)
            .await
            .map_err(|e| match e {
                crate::Error::Effect(effect) => effect,
                other => EffectError::new(EffectErrorKind::Other, other.to_string()),
            })?;
        match res.status().as_u16() {
            // Nothing is left past the offset (the cut came after the last byte).
            416 if content_range_total(&res) == Some(self.offset) => {
                self.length = Some(self.offset);
                self.body = res.into_body();
                self.own_digester = carried;
                self.ended = true;
            }
            206 => {
                let start = content_range_start(&res);
                if start != Some(self.offset) {
                    return Err(EffectError::new(
                        EffectErrorKind::Other,
                        format!(
                            "resuming blob {} from byte {}: the registry sent Content-Range {:?}",
                            self.path,
                            self.offset,
                            header(&res, "content-range").unwrap_or_default()
                        ),
                    ));
                }
                self.body = res.into_body();
                if let Some(d) = carried {
                    self.own_digester = self.body.hash_ahead_from(d);
                }
            }
            200 => {
                // The registry ignored the range: read past what was handed over already.
                self.length = content_length(&res).or(self.length);
                self.body = res.into_body();
                self.own_digester = carried;
                let mut left = self.offset;
                let mut scratch = vec![0u8; 64 * 1024];
                while left > 0 {
                    let want = scratch
                        .len()
                        .min(usize::try_from(left).unwrap_or(usize::MAX));
                    match self.body.read(&mut scratch[..want]).await? {
                        0 => return Err(cut),
                        n => left -= n as u64,
                    }
                }
            }
            _ => {
                let (parts, _) = res.into_parts();
                let head = Response::from_parts(parts, Vec::new());
                let e = status_error(&head, "resuming a blob download");
                return Err(EffectError::new(EffectErrorKind::Other, e.to_string()));
            }
        }
        Ok(())
    }
}

impl<H: HttpClient + Clock> ByteStream for ResumingBlob<'_, '_, H> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, EffectError> {
        if buf.is_empty() || self.ended {
            return Ok(0);
        }
        loop {
            let outcome = self.body.read(buf).await;
            if self.settle(outcome.clone()).await? {
                let n = outcome?;
                self.passed(&buf[..n]);
                return Ok(n);
            }
        }
    }

    async fn read_chunk(&mut self) -> Result<Vec<u8>, EffectError> {
        if self.ended {
            return Ok(Vec::new());
        }
        loop {
            let outcome = self.body.read_chunk().await;
            let standing = outcome.as_ref().map(Vec::len).map_err(Clone::clone);
            if self.settle(standing).await? {
                let chunk = outcome?;
                self.passed(&chunk);
                return Ok(chunk);
            }
        }
    }

    fn hash_ahead(&mut self, algorithm: Algorithm) -> bool {
        let taken = self.offset == 0 && self.body.hash_ahead(algorithm);
        if taken {
            self.hashing = Some(algorithm);
        }
        taken
    }

    fn hashed(&mut self) -> Option<Digester> {
        self.hashing?;
        match self.own_digester.take() {
            Some(d) => Some(d),
            None => self.body.hashed(),
        }
    }
}

fn header<'r, T>(res: &'r Response<T>, name: &str) -> Option<&'r str> {
    res.headers().get(name).and_then(|v| v.to_str().ok())
}

fn content_length<T>(res: &Response<T>) -> Option<u64> {
    header(res, "content-length").and_then(|v| v.trim().parse().ok())
}

/// The whole length a `Content-Range: bytes */TOTAL` (or `START-END/TOTAL`) answer names.
fn content_range_total<T>(res: &Response<T>) -> Option<u64> {
    let value = header(res, "content-range")?.trim();
    value.rsplit_once('/')?.1.trim().parse().ok()
}

/// The first byte a `Content-Range: bytes START-END/TOTAL` answer holds.
fn content_range_start<T>(res: &Response<T>) -> Option<u64> {
    let value = header(res, "content-range")?.trim();
    let range = value.strip_prefix("bytes ")?;
    range.split('-').next()?.trim().parse().ok()
}
