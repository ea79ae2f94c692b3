//! A layer's diff ID (the digest of its uncompressed content) computed from its bytes as they
//! are copied, whatever their compression: what converting a schema 1 image needs, since its
//! manifest names only the stored blobs.

use crate::compression::{detect, Decompressor};
use crate::digest::{Algorithm, Digest, Digester};
use crate::effects::{ByteStream, EffectError};
use crate::{Error, Result};

/// The longest compression magic [`detect`] looks for.
const MAGIC_LEN: usize = 6;

enum State {
    /// Not asked for: bytes pass untouched.
    Off,
    /// Too few bytes seen to tell the compression.
    Sniffing(Vec<u8>),
    Plain(Digester),
    Compressed(Decompressor, Digester),
    /// The end was seen.
    Done(Digest),
    Failed(String),
}

/// `inner` read as it is, with its diff ID computed on the way when asked for.
pub struct DiffIdTap<S> {
    inner: S,
    state: State,
}

impl<S: ByteStream> DiffIdTap<S> {
    /// Wraps `inner`; computes its diff ID only when `wanted`.
    pub fn new(inner: S, wanted: bool) -> Self {
        let state = match wanted {
            true => State::Sniffing(Vec::new()),
            false => State::Off,
        };
        DiffIdTap { inner, state }
    }

    /// The diff ID: what is left of the stream (normally nothing: its reader stopped at the
    /// end) is read first.
    pub async fn finish(&mut self) -> Result<Digest> {
        while !matches!(self.state, State::Done(_) | State::Failed(_) | State::Off) {
            if self.read_chunk().await?.is_empty() {
                break;
            }
        }
        self.diff_id()
    }

    /// The diff ID, once the stream has been read to its end.
    pub fn diff_id(&self) -> Result<Digest> {
        match &self.state {
            State::Done(d) => Ok(d.clone()),
            State::Failed(e) => Err(Error::Invalid(format!("computing layer DiffID: {e}"))),
            _ => Err(Error::Invalid(
                "Internal error: layer DiffID asked for before the layer was read".into(),
            )),
        }
    }

    fn observe(&mut self, bytes: &[u8]) {
        let result = match &mut self.state {
            State::Off | State::Done(_) | State::Failed(_) => Ok(()),
            State::Sniffing(seen) => {
                seen.extend_from_slice(bytes);
                match seen.len() >= MAGIC_LEN {
                    true => {
                        let seen = std::mem::take(seen);
                        self.start(&seen);
                        Ok(())
                    }
                    false => Ok(()),
                }
            }
            State::Plain(d) => {
                d.update(bytes);
                Ok(())
            }
            State::Compressed(decompressor, d) => decompressor
                .push(bytes)
                .map(|out| d.update(&out))
                .map_err(|e| e.to_string()),
        };
        if let Err(e) = result {
            self.state = State::Failed(e);
        }
    }

    /// Picks the decompression from the first bytes and hashes them.
    fn start(&mut self, first: &[u8]) {
        let digester = Digester::new(Algorithm::Sha256);
        self.state = match detect(first) {
            None => State::Plain(digester),
            Some(a) => State::Compressed(Decompressor::new(a), digester),
        };
        self.observe(first);
    }

    fn end(&mut self) {
        if let State::Sniffing(seen) = &mut self.state {
            let seen = std::mem::take(seen);
            self.start(&seen);
        }
        self.state = match std::mem::replace(&mut self.state, State::Off) {
            State::Plain(d) => State::Done(d.finish()),
            State::Compressed(decompressor, mut d) => match decompressor.finish() {
                Ok(rest) => {
                    d.update(&rest);
                    State::Done(d.finish())
                }
                Err(e) => State::Failed(e.to_string()),
            },
            other => other,
        };
    }
}

impl<S: ByteStream> ByteStream for DiffIdTap<S> {
    async fn read(&mut self, buf: &mut [u8]) -> std::result::Result<usize, EffectError> {
        let n = self.inner.read(buf).await?;
        match n {
            0 => self.end(),
            n => self.observe(&buf[..n]),
        }
        Ok(n)
    }

    async fn read_chunk(&mut self) -> std::result::Result<Vec<u8>, EffectError> {
        let chunk = self.inner.read_chunk().await?;
        match chunk.is_empty() {
            true => self.end(),
            false => self.observe(&chunk),
        }
        Ok(chunk)
    }

    fn hash_ahead(&mut self, algorithm: Algorithm) -> bool {
        self.inner.hash_ahead(algorithm)
    }

    fn hashed(&mut self) -> Option<Digester> {
        self.inner.hashed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compression::{Encoders, Transcoded};
    use crate::effects::{read_all, VecStream};

    fn tapped(bytes: Vec<u8>) -> Result<Digest> {
        pollster::block_on(async {
            let mut tap = DiffIdTap::new(VecStream::new(bytes.clone()), true);
            assert_eq!(
                read_all(&mut tap).await.unwrap(),
                bytes,
                "bytes pass unchanged"
            );
            tap.diff_id()
        })
    }

    fn compressed(data: &[u8], a: crate::compression::Algorithm) -> Vec<u8> {
        pollster::block_on(async {
            let input = VecStream::new(data.to_vec());
            let mut s = Transcoded::compress(input, a, None, &Encoders::default()).unwrap();
            read_all(&mut s).await.unwrap()
        })
    }

    #[test]
    fn the_diff_id_is_the_digest_of_the_uncompressed_bytes() {
        use crate::compression::Algorithm::{Gzip, Zstd};
        let tar: Vec<u8> = (0..300_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let want = Digest::sha256_of(&tar);
        assert_eq!(tapped(tar.clone()).unwrap(), want);
        assert_eq!(tapped(compressed(&tar, Gzip)).unwrap(), want);
        assert_eq!(tapped(compressed(&tar, Zstd)).unwrap(), want);
        // Shorter than any magic number: plain.
        assert_eq!(tapped(b"ab".to_vec()).unwrap(), Digest::sha256_of(b"ab"));
    }

    #[test]
    fn corrupt_layers_and_unread_ones_have_no_diff_id() {
        let mut gz = compressed(&[7u8; 100_000], crate::compression::Algorithm::Gzip);
        gz.truncate(gz.len() - 10);
        let err = tapped(gz).unwrap_err().to_string();
        assert!(err.starts_with("computing layer DiffID: "), "{err}");
        let tap = DiffIdTap::new(VecStream::new(vec![1, 2, 3]), true);
        assert!(tap.diff_id().is_err());
    }
}
