//! tar-split, the metadata containers/storage keeps beside each layer so the layer's tar can be
//! produced again byte for byte from the files on disk: a gzipped stream of JSON entries, each
//! either a raw segment of the tar (headers, padding, the end blocks) or a file whose contents
//! are read from the layer's directory and checked against a CRC-64 (ISO) of them.

use crate::digest::{Algorithm, Digester};
use crate::effects::{ByteStream, EffectError, EffectErrorKind, Filesystem, Workers};
use crate::hash_on_workers::HashOnWorkers;
use crate::source::join_path;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Go's `hash/crc64` with the ISO table, which tar-split sums file contents with.
/// Slice-by-16 tables: layers are checksummed as fast as they are read.
pub const CRC64: crc::Crc<u64, crc::Table<16>> =
    crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_GO_ISO);

/// A running CRC-64 of [`CRC64`].
pub type Crc64Digest = crc::Digest<'static, u64, crc::Table<16>>;

/// An entry's kind: a file read from disk, or raw bytes of the tar.
pub const FILE: u8 = 1;
/// A segment: bytes of the tar kept as they are.
pub const SEGMENT: u8 = 2;

/// One entry as tar-split writes it (one JSON value per line).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(rename = "type")]
    pub kind: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The name's bytes when they are not UTF-8.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "base64_bytes"
    )]
    pub name_raw: Option<Vec<u8>>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub size: i64,
    /// A segment's bytes, or a file's CRC-64 (big-endian); `null` for an empty file.
    #[serde(default, with = "base64_bytes")]
    pub payload: Option<Vec<u8>>,
    pub position: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

mod base64_bytes {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| {
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

impl Entry {
    /// The file's name as the tar names it (`./etc/motd`).
    pub fn file_name(&self) -> String {
        match (&self.name, &self.name_raw) {
            (_, Some(raw)) => String::from_utf8_lossy(raw).into_owned(),
            (Some(name), None) => name.clone(),
            (None, None) => String::new(),
        }
    }

    /// The line tar-split writes for this entry.
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).expect("entries serialize");
        line.push(b'\n');
        line
    }
}

/// Reads the entry starting at `offset` of `metadata`; `None` at the end. Returns the entry
/// and the offset after it.
fn next_entry(metadata: &[u8], offset: usize) -> Result<Option<(Entry, usize)>> {
    let mut stream = serde_json::Deserializer::from_slice(&metadata[offset..]).into_iter::<Entry>();
    match stream.next() {
        None => Ok(None),
        Some(Ok(entry)) => Ok(Some((entry, offset + stream.byte_offset()))),
        Some(Err(e)) => Err(Error::Invalid(format!(
            "tar-split metadata: entry at byte {offset}: {e}"
        ))),
    }
}

/// The path of a file entry inside `root`, refused when it would leave it.
fn path_in(root: &str, name: &str) -> Result<String> {
    let path = join_path(root, name);
    let inside = path
        .strip_prefix(root)
        .is_some_and(|rest| rest.starts_with('/'));
    match inside {
        true => Ok(path),
        false => Err(Error::Invalid(format!(
            "tar-split metadata names {name:?}, which is outside the layer"
        ))),
    }
}

struct OpenFile<R> {
    reader: R,
    name: String,
    left: u64,
    crc: Crc64Digest,
    expected: Option<Vec<u8>>,
}

/// A layer's tar produced again from its tar-split metadata (decompressed) and the files
/// under `root`; each file is checked against its recorded size and checksum as it is read.
pub struct Regenerated<'a, F: Filesystem> {
    fs: &'a F,
    root: String,
    metadata: Vec<u8>,
    offset: usize,
    segment: Vec<u8>,
    segment_at: usize,
    file: Option<OpenFile<F::Reader>>,
    /// Where a reader's hashing may go ([`Regenerated::hashing_on`]).
    workers: Option<Workers>,
    /// The reader's hashing, when it was handed to the workers.
    hashing: Option<HashOnWorkers>,
    started: bool,
}

impl<'a, F: Filesystem> Regenerated<'a, F> {
    /// The tar of the layer whose files are under `root`, as `metadata` records it.
    pub fn new(fs: &'a F, root: String, metadata: Vec<u8>) -> Self {
        Regenerated {
            fs,
            root,
            metadata,
            offset: 0,
            segment: Vec::new(),
            segment_at: 0,
            file: None,
            workers: None,
            hashing: None,
            started: false,
        }
    }

    /// Lets a reader that asks ([`ByteStream::hash_ahead`]) have the tar hashed on `workers`,
    /// beside the reading and checksumming of the files.
    pub fn hashing_on(mut self, workers: Option<Workers>) -> Self {
        self.workers = workers;
        self
    }

    fn invalid(message: String) -> EffectError {
        EffectError::new(EffectErrorKind::Other, message)
    }

    /// Moves to the next entry with bytes to give; false at the end.
    async fn advance(&mut self) -> std::result::Result<bool, EffectError> {
        loop {
            let next = next_entry(&self.metadata, self.offset)
                .map_err(|e| Self::invalid(e.to_string()))?;
            let Some((entry, after)) = next else {
                return Ok(false);
            };
            self.offset = after;
            match entry.kind {
                SEGMENT => {
                    let bytes = entry.payload.unwrap_or_default();
                    if !bytes.is_empty() {
                        self.segment = bytes;
                        self.segment_at = 0;
                        return Ok(true);
                    }
                }
                FILE if entry.size > 0 => {
                    let name = entry.file_name();
                    let path =
                        path_in(&self.root, &name).map_err(|e| Self::invalid(e.to_string()))?;
                    let reader = self.fs.open(&path).await.map_err(|e| {
                        Self::invalid(format!("reading {name:?} of the layer: {}", e.message))
                    })?;
                    self.file = Some(OpenFile {
                        reader,
                        name,
                        left: entry.size as u64,
                        crc: CRC64.digest(),
                        expected: entry.payload,
                    });
                    return Ok(true);
                }
                FILE => {}
                other => {
                    return Err(Self::invalid(format!(
                        "tar-split metadata: unknown entry type {other}"
                    )))
                }
            }
        }
    }
}

impl<F: Filesystem> ByteStream for Regenerated<'_, F> {
    async fn read(&mut self, buf: &mut [u8]) -> std::result::Result<usize, EffectError> {
        self.started = true;
        let n = self.produce(buf).await?;
        if let Some(hashing) = &mut self.hashing {
            match n {
                0 => hashing.finish().await,
                n => hashing.feed(&buf[..n]).await,
            }
        }
        Ok(n)
    }

    fn hash_ahead(&mut self, algorithm: Algorithm) -> bool {
        if self.started || self.hashing.is_some() {
            return false;
        }
        self.hashing = HashOnWorkers::offered(self.workers.as_ref(), algorithm);
        self.hashing.is_some()
    }

    fn hashed(&mut self) -> Option<Digester> {
        self.hashing.as_mut()?.digester()
    }
}

impl<F: Filesystem> Regenerated<'_, F> {
    /// The next bytes of the tar.
    async fn produce(&mut self, buf: &mut [u8]) -> std::result::Result<usize, EffectError> {
        loop {
            if self.segment_at < self.segment.len() {
                let n = buf.len().min(self.segment.len() - self.segment_at);
                buf[..n].copy_from_slice(&self.segment[self.segment_at..self.segment_at + n]);
                self.segment_at += n;
                return Ok(n);
            }
            if let Some(file) = &mut self.file {
                if file.left > 0 {
                    let want = buf
                        .len()
                        .min(usize::try_from(file.left).unwrap_or(usize::MAX));
                    let n = file.reader.read(&mut buf[..want]).await?;
                    if n == 0 {
                        return Err(Self::invalid(format!(
                            "{:?} of the layer is shorter than its tar-split metadata records",
                            file.name
                        )));
                    }
                    file.crc.update(&buf[..n]);
                    file.left -= n as u64;
                    return Ok(n);
                }
                let file = self.file.take().expect("a file is open");
                let sum = file.crc.finalize().to_be_bytes();
                if file.expected.as_deref().is_some_and(|e| e != sum) {
                    return Err(Self::invalid(format!(
                        "file integrity checksum failed for {:?}",
                        file.name
                    )));
                }
                continue;
            }
            if !self.advance().await? {
                return Ok(0);
            }
        }
    }
}

/// Decompresses a `.tar-split.gz` file's bytes.
pub fn decompress(gzipped: &[u8]) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(gzipped)
        .read_to_end(&mut out)
        .map_err(|e| Error::Invalid(format!("tar-split metadata: {e}")))?;
    Ok(out)
}

/// Gzips tar-split lines into a `.tar-split.gz` file's bytes (fastest level, as
/// containers/storage writes them).
pub fn compress(lines: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder
        .write_all(lines)
        .and_then(|()| encoder.finish())
        .map_err(|e| Error::Invalid(format!("tar-split metadata: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    /// The CRC-64 of `bytes` as tar-split stores it.
    fn checksum(bytes: &[u8]) -> Vec<u8> {
        CRC64.checksum(bytes).to_be_bytes().to_vec()
    }

    #[test]
    fn checksums_are_go_crc64_iso() {
        // The value tar-split recorded for a 29-byte file podman stored.
        let motd = b"hello from the example image\n";
        assert_eq!(motd.len(), 29);
        let expected = base64::engine::general_purpose::STANDARD
            .decode("fMH2t9BDfc0=")
            .unwrap();
        assert_eq!(checksum(motd), expected);
        assert_eq!(checksum(b""), vec![0; 8]);
    }

    #[test]
    fn entries_read_and_write_as_tar_split_writes_them() {
        let line =
            br#"{"type":1,"name":"./etc/motd","size":29,"payload":"fMH2t9BDfc0=","position":5}"#;
        let (entry, after) = next_entry(line, 0).unwrap().unwrap();
        assert_eq!(entry.file_name(), "./etc/motd");
        assert_eq!(entry.size, 29);
        assert_eq!(after, line.len());
        assert_eq!(&entry.to_line()[..line.len()], &line[..]);
        let dir = br#"{"type":1,"name":"./","payload":null,"position":1}"#;
        let (entry, _) = next_entry(dir, 0).unwrap().unwrap();
        assert_eq!(entry.to_line(), [&dir[..], b"\n"].concat());
    }

    #[test]
    fn names_leaving_the_layer_are_refused() {
        assert_eq!(path_in("/l", "./etc/motd").unwrap(), "/l/etc/motd");
        assert!(path_in("/l", "../../etc/shadow").is_err());
        assert!(path_in("/l", "./").is_err());
    }
}
