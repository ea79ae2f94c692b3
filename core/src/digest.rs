//! Content digests (`algorithm:hex`), as the OCI image spec and go-digest define them.
//!
//! Parsing and validation follow go-digest's rules and messages so that errors read the same
//! as skopeo's. [`Digester`] hashes bytes as they stream past; [`Verifier`] checks a stream
//! against an expected digest and size.

use crate::effects::ByteStream;
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use std::fmt;
use std::str::FromStr;

/// A supported digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    /// The algorithm's name as it appears before the colon.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// Length of the hex-encoded hash.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha384 => 96,
            Algorithm::Sha512 => 128,
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Algorithm::Sha256),
            "sha384" => Some(Algorithm::Sha384),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }
}

/// Why a string is not a valid digest (go-digest's three errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("invalid checksum digest format")]
    InvalidFormat,
    #[error("invalid checksum digest length")]
    InvalidLength,
    #[error("unsupported digest algorithm")]
    Unsupported,
}

/// A validated digest such as `sha256:e3b0…`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// Parses and validates `algorithm:hex` with go-digest's rules.
    pub fn parse(s: &str) -> Result<Self, DigestError> {
        let colon = match s.find(':') {
            Some(i) if i > 0 && i + 1 < s.len() => i,
            _ => return Err(DigestError::InvalidFormat),
        };
        let (name, hex) = (&s[..colon], &s[colon + 1..]);
        let Some(algorithm) = Algorithm::from_name(name) else {
            return Err(if is_digest_shaped(s) {
                DigestError::Unsupported
            } else {
                DigestError::InvalidFormat
            });
        };
        if hex.len() != algorithm.hex_len() {
            return Err(DigestError::InvalidLength);
        }
        if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(DigestError::InvalidFormat);
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_owned(),
        })
    }

    /// The sha256 digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Self {
        let mut d = Digester::new(Algorithm::Sha256);
        d.update(bytes);
        d.finish()
    }

    /// The algorithm part.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The hex part (go-digest's `Encoded()`).
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

/// Whether `s` matches go-digest's general `DigestRegexp`
/// (`[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+`).
fn is_digest_shaped(s: &str) -> bool {
    let Some((alg, enc)) = s.split_once(':') else {
        return false;
    };
    let alg_ok = !alg.is_empty()
        && alg.split(['.', '+', '_', '-']).all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    let enc_ok = !enc.is_empty()
        && enc
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'));
    alg_ok && enc_ok
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest::parse(&s).map_err(|e| serde::de::Error::custom(format!("{e}: {s:?}")))
    }
}

enum Hasher {
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
}

/// Hashes bytes incrementally, as they stream past.
pub struct Digester {
    hasher: Hasher,
    len: u64,
}

impl Digester {
    /// A digester for `algorithm`.
    pub fn new(algorithm: Algorithm) -> Self {
        let hasher = match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha384 => Hasher::Sha384(Sha384::new()),
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        };
        Digester { hasher, len: 0 }
    }

    /// Feeds more bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.len += bytes.len() as u64;
        match &mut self.hasher {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha384(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    /// How many bytes were fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no bytes were fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digest of everything fed.
    pub fn finish(self) -> Digest {
        let (algorithm, bytes) = match self.hasher {
            Hasher::Sha256(h) => (Algorithm::Sha256, h.finalize().to_vec()),
            Hasher::Sha384(h) => (Algorithm::Sha384, h.finalize().to_vec()),
            Hasher::Sha512(h) => (Algorithm::Sha512, h.finalize().to_vec()),
        };
        Digest {
            algorithm,
            hex: to_hex(&bytes),
        }
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
    out
}

/// Why streamed content did not match what was expected of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("content is larger than the expected size {expected}")]
    TooLarge { expected: u64 },
    #[error("size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch { expected: u64, actual: u64 },
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },
    /// The stream that offered to hash the content did not deliver its digest.
    #[error("the stream did not hash all of the content it handed over")]
    NotHashed,
}

/// Checks streamed content against an expected digest and (optionally) size, or, for
/// content made on the way (a recompressed layer), computes its digest.
///
/// A size overrun is reported as soon as it happens, so a caller can stop reading early. The
/// hashing itself may be left to the stream (see [`Verifier::hash_in`]); the verdict is the
/// verifier's either way.
pub struct Verifier {
    expected: Option<Digest>,
    expected_size: Option<u64>,
    /// `None` while the stream hashes for us.
    digester: Option<Digester>,
    algorithm: Algorithm,
    len: u64,
}

impl Verifier {
    /// A verifier for content that must hash to `expected` and, if given, be `size` bytes.
    pub fn new(expected: Digest, size: Option<u64>) -> Self {
        let algorithm = expected.algorithm();
        Verifier {
            expected: Some(expected),
            expected_size: size,
            digester: Some(Digester::new(algorithm)),
            algorithm,
            len: 0,
        }
    }

    /// A verifier for `expected` when given, else one that computes the sha256 digest.
    pub fn for_blob(expected: Option<&Digest>, size: Option<u64>) -> Self {
        match expected {
            Some(d) => Verifier::new(d.clone(), size),
            None => Verifier {
                expected: None,
                expected_size: size,
                digester: Some(Digester::new(Algorithm::Sha256)),
                algorithm: Algorithm::Sha256,
                len: 0,
            },
        }
    }

    /// Lets `stream` do the hashing where it reads, if it can and nothing was fed yet (see
    /// [`ByteStream::hash_ahead`]); [`Verifier::finish_from`] then takes its result.
    pub fn hash_in<S: ByteStream>(&mut self, stream: &mut S) {
        if self.len == 0 && self.digester.is_some() && stream.hash_ahead(self.algorithm) {
            self.digester = None;
        }
    }

    /// How many bytes were fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no bytes were fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Feeds more bytes; fails once more bytes than the expected size have arrived.
    pub fn update(&mut self, bytes: &[u8]) -> Result<(), VerifyError> {
        self.len += bytes.len() as u64;
        if let Some(digester) = &mut self.digester {
            digester.update(bytes);
        }
        match self.expected_size {
            Some(expected) if self.len > expected => Err(VerifyError::TooLarge { expected }),
            _ => Ok(()),
        }
    }

    /// Checks the size and digest of everything fed, taking the digest from `stream` when it
    /// hashed for us.
    pub fn finish_from<S: ByteStream>(mut self, stream: &mut S) -> Result<Digest, VerifyError> {
        if self.digester.is_none() {
            match stream.hashed() {
                Some(hashed) if hashed.len() == self.len => self.digester = Some(hashed),
                _ => return Err(VerifyError::NotHashed),
            }
        }
        self.finish()
    }

    /// Checks the size and digest of everything fed (hashed by the verifier itself).
    pub fn finish(self) -> Result<Digest, VerifyError> {
        if let Some(expected) = self.expected_size {
            if self.len != expected {
                return Err(VerifyError::SizeMismatch {
                    expected,
                    actual: self.len,
                });
            }
        }
        let actual = self.digester.ok_or(VerifyError::NotHashed)?.finish();
        match self.expected {
            Some(expected) if expected != actual => {
                Err(VerifyError::DigestMismatch { expected, actual })
            }
            _ => Ok(actual),
        }
    }
}

/// Verifies a complete in-memory buffer.
pub fn verify_bytes(bytes: &[u8], expected: &Digest, size: Option<u64>) -> Result<(), VerifyError> {
    let mut v = Verifier::new(expected.clone(), size);
    v.update(bytes)?;
    v.finish().map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_formats() {
        let d = Digest::parse(EMPTY).unwrap();
        assert_eq!(d.to_string(), EMPTY);
        assert_eq!(d.algorithm(), Algorithm::Sha256);
        assert_eq!(Digest::sha256_of(b""), d);
    }

    #[test]
    fn rejects_like_go_digest() {
        use DigestError::*;
        let cases = [
            ("", InvalidFormat),
            ("sha256", InvalidFormat),
            ("sha256:", InvalidFormat),
            (":abc", InvalidFormat),
            ("sha256:abc", InvalidLength),
            ("md5:d41d8cd98f00b204e9800998ecf8427e", Unsupported),
            ("SHA256:abc", InvalidFormat),
            (
                "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                InvalidFormat,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(Digest::parse(input), Err(want), "{input:?}");
        }
    }

    #[test]
    fn sha512_and_384() {
        let mut d = Digester::new(Algorithm::Sha512);
        d.update(b"abc");
        let s = d.finish().to_string();
        assert!(s.starts_with("sha512:ddaf35a193617aba"), "{s}");
        let mut d = Digester::new(Algorithm::Sha384);
        d.update(b"abc");
        assert!(d
            .finish()
            .to_string()
            .starts_with("sha384:cb00753f45a35e8b"));
    }

    #[test]
    fn streaming_equals_one_shot() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
        let mut d = Digester::new(Algorithm::Sha256);
        for chunk in data.chunks(4093) {
            d.update(chunk);
        }
        assert_eq!(d.finish(), Digest::sha256_of(&data));
    }

    #[test]
    fn verifier_catches_size_and_digest() {
        let good = Digest::sha256_of(b"hello");
        assert!(verify_bytes(b"hello", &good, Some(5)).is_ok());
        assert!(verify_bytes(b"hello", &good, None).is_ok());
        assert_eq!(
            verify_bytes(b"hello!", &good, Some(5)),
            Err(VerifyError::TooLarge { expected: 5 })
        );
        assert!(matches!(
            verify_bytes(b"hell", &good, Some(5)),
            Err(VerifyError::SizeMismatch {
                expected: 5,
                actual: 4
            })
        ));
        assert!(matches!(
            verify_bytes(b"jello", &good, Some(5)),
            Err(VerifyError::DigestMismatch { .. })
        ));
    }
}
