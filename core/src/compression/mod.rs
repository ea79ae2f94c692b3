//! Layer compression: recognising it from a blob's first bytes, the media types that name
//! it, and streams that compress or decompress as they are read (gzip through flate2 over
//! zlib-rs, zstd through ruzstd or the host's encoder), so a layer changes form while it is
//! copied without being held whole. Compression runs block by block on the host's workers
//! ([`blocks`]).

pub mod blocks;
pub mod bzip2;
pub mod gzip;
pub mod xz;
pub mod zstd;

use crate::effects::{ByteStream, EffectError, EffectErrorKind, Workers};
use crate::{Error, Result};
use std::io::Write;

/// What compression runs with: the host's workers, and the zstd frame encoder (the core's
/// pure-Rust one unless the host brings its own).
#[derive(Clone, Default, Debug)]
pub struct Encoders {
    pub workers: Workers,
    pub zstd: zstd::Frames,
}

/// A compression algorithm layers may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

impl Algorithm {
    /// The name skopeo's flags and messages use.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Gzip => "gzip",
            Algorithm::Zstd => "zstd",
            Algorithm::Bzip2 => "bzip2",
            Algorithm::Xz => "xz",
        }
    }

    /// Parses `--dest-compress-format`'s value.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "gzip" => Ok(Algorithm::Gzip),
            "zstd" => Ok(Algorithm::Zstd),
            "bzip2" => Ok(Algorithm::Bzip2),
            "xz" => Ok(Algorithm::Xz),
            other => Err(Error::Invalid(format!(
                "unknown compression algorithm {other}"
            ))),
        }
    }
}

/// The compression of a blob that starts with `prefix`, if it is compressed.
pub fn detect(prefix: &[u8]) -> Option<Algorithm> {
    const MAGIC: [(&[u8], Algorithm); 4] = [
        (&[0x1f, 0x8b, 0x08], Algorithm::Gzip),
        (&[0x28, 0xb5, 0x2f, 0xfd], Algorithm::Zstd),
        (b"BZh", Algorithm::Bzip2),
        (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], Algorithm::Xz),
    ];
    MAGIC
        .iter()
        .find(|(magic, _)| prefix.starts_with(magic))
        .map(|(_, a)| *a)
}

const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
const OCI_NONDISTRIBUTABLE: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar";
const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";

/// The media type a layer of `media_type` gets once stored with `compression` (`None`:
/// uncompressed), as containers/image names them.
pub fn layer_media_type(media_type: &str, compression: Option<Algorithm>) -> Result<String> {
    let oci_base = [OCI_LAYER, OCI_NONDISTRIBUTABLE]
        .into_iter()
        .find(|base| media_type.starts_with(base));
    if let Some(base) = oci_base {
        return match compression {
            None => Ok(base.to_owned()),
            Some(a @ (Algorithm::Gzip | Algorithm::Zstd)) => Ok(format!("{base}+{}", a.name())),
            Some(a) => Err(unsupported_in(a, media_type)),
        };
    }
    if media_type == DOCKER_LAYER_GZIP || media_type == DOCKER_LAYER {
        return match compression {
            None => Ok(DOCKER_LAYER.to_owned()),
            Some(Algorithm::Gzip) => Ok(DOCKER_LAYER_GZIP.to_owned()),
            Some(a) => Err(unsupported_in(a, media_type)),
        };
    }
    Err(Error::Unsupported(format!(
        "changing the compression of a layer of type {media_type} is not supported"
    )))
}

/// Whether layers of `media_type` have variants by compression (so a copy may change it).
pub fn has_variants(media_type: &str) -> bool {
    [OCI_LAYER, OCI_NONDISTRIBUTABLE]
        .iter()
        .any(|base| media_type.starts_with(base))
        || media_type == DOCKER_LAYER_GZIP
        || media_type == DOCKER_LAYER
}

fn unsupported_in(a: Algorithm, media_type: &str) -> Error {
    Error::Unsupported(format!(
        "{} compression is not supported for type {media_type:?}",
        a.name()
    ))
}

/// Whether manifests of `manifest_type` can name layers compressed with `algorithm` (asked
/// of [`layer_media_type`] for the manifest type's plain layer).
pub fn manifest_takes(manifest_type: &str, algorithm: Algorithm) -> bool {
    let layer = match manifest_type {
        crate::manifest::mime::OCI_MANIFEST => OCI_LAYER,
        _ => DOCKER_LAYER,
    };
    layer_media_type(layer, Some(algorithm)).is_ok()
}

/// A stream with one chunk already read from it put back in front.
pub struct Peeked<S> {
    first: Option<Vec<u8>>,
    inner: S,
    /// What `inner` hashes on its side (taken before the first chunk was read).
    hashing: Option<crate::digest::Algorithm>,
}

impl<S: ByteStream> Peeked<S> {
    /// Reads `inner`'s first chunk; [`Peeked::first`] shows it, reading returns it again.
    pub async fn new(inner: S) -> std::result::Result<Self, EffectError> {
        Self::peek(inner, None).await
    }

    /// [`Peeked::new`], having first offered `inner` to hash with `algorithm` as it reads
    /// ([`ByteStream::hash_ahead`]), so that whoever reads the peeked stream can still leave
    /// the hashing to the reading side (the first chunk included).
    pub async fn hashing(
        mut inner: S,
        algorithm: crate::digest::Algorithm,
    ) -> std::result::Result<Self, EffectError> {
        let hashing = inner.hash_ahead(algorithm).then_some(algorithm);
        Self::peek(inner, hashing).await
    }

    async fn peek(
        mut inner: S,
        hashing: Option<crate::digest::Algorithm>,
    ) -> std::result::Result<Self, EffectError> {
        let first = inner.read_chunk().await?;
        Ok(Peeked {
            first: Some(first),
            inner,
            hashing,
        })
    }

    /// The first bytes of the stream.
    pub fn first(&self) -> &[u8] {
        self.first.as_deref().unwrap_or_default()
    }

    /// The stream read from.
    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }
}

impl<S: ByteStream> ByteStream for Peeked<S> {
    async fn read(&mut self, buf: &mut [u8]) -> std::result::Result<usize, EffectError> {
        match self.first.as_mut() {
            Some(first) if !first.is_empty() => {
                let n = buf.len().min(first.len());
                buf[..n].copy_from_slice(&first[..n]);
                first.drain(..n);
                Ok(n)
            }
            _ => self.inner.read(buf).await,
        }
    }

    async fn read_chunk(&mut self) -> std::result::Result<Vec<u8>, EffectError> {
        match self.first.take() {
            Some(first) if !first.is_empty() => Ok(first),
            _ => self.inner.read_chunk().await,
        }
    }

    fn hash_ahead(&mut self, algorithm: crate::digest::Algorithm) -> bool {
        self.hashing == Some(algorithm)
    }

    fn hashed(&mut self) -> Option<crate::digest::Digester> {
        self.hashing.and_then(|_| self.inner.hashed())
    }
}

/// Decompresses pushed bytes: for streams read through [`Transcoded`], and for callers that
/// watch a stream go by (a layer's diff ID computed while it is copied as it is).
pub enum Decompressor {
    /// Every member of a gzip stream, as Go's reader takes them.
    Gzip(Box<flate2::write::MultiGzDecoder<Vec<u8>>>),
    Zstd(Box<zstd::Decoder>),
    Bzip2(Box<bzip2::Decoder>),
    Xz(Box<xz::Decoder>),
}

/// `data` decompressed through a [`Decompressor`] fed `piece` bytes at a time (the decoders'
/// tests: output must not depend on how the input is split).
#[cfg(test)]
pub(crate) fn decode_in_pieces(
    algorithm: Algorithm,
    data: &[u8],
    piece: usize,
) -> std::io::Result<Vec<u8>> {
    let mut d = Decompressor::new(algorithm);
    let mut out = Vec::new();
    for chunk in data.chunks(piece) {
        out.extend(d.push(chunk)?);
    }
    out.extend(d.finish()?);
    Ok(out)
}

impl Decompressor {
    /// A decompressor for `algorithm` (every one skopeo reads).
    pub fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Gzip => {
                Decompressor::Gzip(Box::new(flate2::write::MultiGzDecoder::new(Vec::new())))
            }
            Algorithm::Zstd => Decompressor::Zstd(Box::default()),
            Algorithm::Bzip2 => Decompressor::Bzip2(Box::default()),
            Algorithm::Xz => Decompressor::Xz(Box::default()),
        }
    }

    /// Takes `input`; returns what it decompresses to so far.
    pub fn push(&mut self, input: &[u8]) -> std::io::Result<Vec<u8>> {
        match self {
            Decompressor::Gzip(d) => {
                d.write_all(input)?;
                Ok(std::mem::take(d.get_mut()))
            }
            Decompressor::Zstd(d) => d.push(input),
            Decompressor::Bzip2(d) => d.push(input),
            Decompressor::Xz(d) => d.push(input),
        }
    }

    /// Ends the input: the rest of the output, or why the stream is incomplete or corrupt.
    pub fn finish(self) -> std::io::Result<Vec<u8>> {
        match self {
            Decompressor::Gzip(d) => d.finish(),
            Decompressor::Zstd(d) => d.finish(),
            Decompressor::Bzip2(d) => d.finish(),
            Decompressor::Xz(d) => d.finish(),
        }
    }
}

/// A push codec: bytes in, transformed bytes out.
enum Codec {
    GzipEncode(gzip::Encoder),
    ZstdEncode(zstd::Encoder),
    Decode(Decompressor),
}

impl Codec {
    async fn push(&mut self, input: Vec<u8>) -> std::io::Result<Vec<u8>> {
        match self {
            Codec::GzipEncode(e) => e.push(input).await,
            Codec::ZstdEncode(e) => Ok(e.push(input).await),
            Codec::Decode(d) => d.push(&input),
        }
    }

    async fn end(self) -> std::io::Result<Vec<u8>> {
        match self {
            Codec::GzipEncode(e) => e.finish().await,
            Codec::ZstdEncode(e) => Ok(e.finish().await),
            Codec::Decode(d) => d.finish(),
        }
    }
}

/// `inner` compressed or decompressed as it is read.
pub struct Transcoded<S> {
    inner: S,
    codec: Option<Codec>,
    what: &'static str,
    /// Output produced but not yet read (plain reads smaller than a chunk).
    pending: Vec<u8>,
}

impl<S: ByteStream> Transcoded<S> {
    /// `inner` compressed with `algorithm` at `level` (None: the algorithm's default) by
    /// `encoders`.
    pub fn compress(
        inner: S,
        algorithm: Algorithm,
        level: Option<u32>,
        encoders: &Encoders,
    ) -> Result<Self> {
        let workers = encoders.workers.clone();
        let codec = match algorithm {
            Algorithm::Gzip => Codec::GzipEncode(gzip::Encoder::new(level, workers)),
            Algorithm::Zstd => {
                Codec::ZstdEncode(zstd::Encoder::new(encoders.zstd.clone(), level, workers))
            }
            other => return Err(not_here(other, "compressing")),
        };
        Ok(Transcoded {
            inner,
            codec: Some(codec),
            what: "compressing",
            pending: Vec::new(),
        })
    }

    /// `inner` (compressed with `algorithm`) decompressed.
    pub fn decompress(inner: S, algorithm: Algorithm) -> Result<Self> {
        Ok(Transcoded {
            inner,
            codec: Some(Codec::Decode(Decompressor::new(algorithm))),
            what: "decompressing",
            pending: Vec::new(),
        })
    }

    fn failed(&self, e: std::io::Error) -> EffectError {
        EffectError::new(EffectErrorKind::Other, format!("{}: {e}", self.what))
    }
}

fn not_here(a: Algorithm, doing: &str) -> Error {
    Error::Unsupported(format!("{doing} {} layers is not supported", a.name()))
}

impl<S: ByteStream> ByteStream for Transcoded<S> {
    async fn read(&mut self, buf: &mut [u8]) -> std::result::Result<usize, EffectError> {
        if self.pending.is_empty() {
            self.pending = self.read_chunk().await?;
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }

    async fn read_chunk(&mut self) -> std::result::Result<Vec<u8>, EffectError> {
        if !self.pending.is_empty() {
            return Ok(std::mem::take(&mut self.pending));
        }
        loop {
            let Some(codec) = self.codec.as_mut() else {
                return Ok(Vec::new());
            };
            let input = self.inner.read_chunk().await?;
            if input.is_empty() {
                let codec = self.codec.take().expect("checked above");
                let last = codec.end().await;
                return last.map_err(|e| self.failed(e));
            }
            let out = codec.push(input).await;
            let out = out.map_err(|e| self.failed(e))?;
            if !out.is_empty() {
                return Ok(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effects::{read_all, VecStream};

    #[test]
    fn gzip_round_trips_through_streams_and_is_recognised() {
        let data: Vec<u8> = (0..700_000u32)
            .flat_map(|i| (i % 97).to_le_bytes())
            .collect();
        let compressed = pollster::block_on(async {
            let mut s = Transcoded::compress(
                VecStream::new(data.clone()),
                Algorithm::Gzip,
                None,
                &Encoders::default(),
            )
            .unwrap();
            read_all(&mut s).await.unwrap()
        });
        assert_eq!(detect(&compressed), Some(Algorithm::Gzip));
        assert!(compressed.len() < data.len());
        let back = pollster::block_on(async {
            let peeked = Peeked::new(VecStream::new(compressed)).await.unwrap();
            assert_eq!(detect(peeked.first()), Some(Algorithm::Gzip));
            let mut s = Transcoded::decompress(peeked, Algorithm::Gzip).unwrap();
            read_all(&mut s).await.unwrap()
        });
        assert_eq!(back, data);
        assert_eq!(detect(b"plain tar"), None);
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let compressed = pollster::block_on(async {
            let mut s = Transcoded::compress(
                VecStream::new(vec![7u8; 100_000]),
                Algorithm::Gzip,
                None,
                &Encoders::default(),
            )
            .unwrap();
            read_all(&mut s).await.unwrap()
        });
        let cut = compressed[..compressed.len() - 6].to_vec();
        let err = pollster::block_on(async {
            let mut s = Transcoded::decompress(VecStream::new(cut), Algorithm::Gzip).unwrap();
            read_all(&mut s).await.unwrap_err()
        });
        assert!(err.message.starts_with("decompressing"), "{}", err.message);
    }

    #[test]
    fn media_types_follow_the_compression() {
        let gz = Some(Algorithm::Gzip);
        assert_eq!(
            layer_media_type(OCI_LAYER, gz).unwrap(),
            format!("{OCI_LAYER}+gzip")
        );
        assert_eq!(
            layer_media_type(&format!("{OCI_LAYER}+gzip"), None).unwrap(),
            OCI_LAYER
        );
        assert_eq!(
            layer_media_type(&format!("{OCI_LAYER}+gzip"), Some(Algorithm::Zstd)).unwrap(),
            format!("{OCI_LAYER}+zstd")
        );
        assert_eq!(
            layer_media_type(DOCKER_LAYER_GZIP, None).unwrap(),
            DOCKER_LAYER
        );
        assert_eq!(
            layer_media_type(DOCKER_LAYER, gz).unwrap(),
            DOCKER_LAYER_GZIP
        );
        assert!(layer_media_type(DOCKER_LAYER, Some(Algorithm::Zstd)).is_err());
    }
}
