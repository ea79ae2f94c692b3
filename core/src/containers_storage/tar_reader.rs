//! A tar reader over a [`ByteStream`] that keeps every byte that is not file contents
//! (headers, extended headers, padding, the end blocks) for tar-split, as Go's
//! `archive/tar` reads a layer for containers/storage: ustar, GNU and PAX headers, GNU long
//! names, base-256 numbers, `SCHILY.xattr.` records; sparse files are refused.

use crate::digest::{Algorithm, Digest, Digester};
use crate::effects::ByteStream;
use crate::{Error, Result};

const BLOCK: usize = 512;

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    HardLink,
    Symlink,
    CharDevice,
    BlockDevice,
    Directory,
    Fifo,
    /// A PAX global header, which containers/storage ignores.
    GlobalHeader,
}

/// One entry's header, with PAX records and GNU long names applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: Vec<u8>,
    pub kind: Kind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: (i64, u32),
    pub atime: Option<(i64, u32)>,
    pub link_name: Vec<u8>,
    pub dev_major: u32,
    pub dev_minor: u32,
    /// `SCHILY.xattr.` records, in the order they came.
    pub xattrs: Vec<(String, Vec<u8>)>,
}

/// Reads a tar stream entry by entry, hashing everything it reads (the layer's diff ID).
pub struct TarReader<S> {
    stream: S,
    buf: Vec<u8>,
    at: usize,
    /// Bytes read since the last file contents that were not contents.
    raw: Vec<u8>,
    /// Contents of the current entry not read yet, and the padding after them.
    left: u64,
    padding: u64,
    digester: Digester,
    ended: bool,
}

impl<S: ByteStream> TarReader<S> {
    pub fn new(stream: S) -> Self {
        TarReader {
            stream,
            buf: Vec::new(),
            at: 0,
            raw: Vec::new(),
            left: 0,
            padding: 0,
            digester: Digester::new(Algorithm::Sha256),
            ended: false,
        }
    }

    /// The raw bytes read since the last call (a tar-split segment).
    pub fn take_raw(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.raw)
    }

    /// Ensures `n` unread bytes are buffered; false when the stream ends first.
    async fn fill(&mut self, n: usize) -> Result<bool> {
        while self.buf.len() - self.at < n {
            if self.at > 0 {
                self.buf.drain(..self.at);
                self.at = 0;
            }
            let chunk = self.stream.read_chunk().await?;
            if chunk.is_empty() {
                return Ok(false);
            }
            self.digester.update(&chunk);
            match self.buf.is_empty() {
                true => self.buf = chunk,
                false => self.buf.extend_from_slice(&chunk),
            }
        }
        Ok(true)
    }

    /// Takes `n` buffered bytes into the raw record.
    async fn raw_bytes(&mut self, n: usize) -> Result<Option<Vec<u8>>> {
        if !self.fill(n).await? {
            return Ok(None);
        }
        let bytes = self.buf[self.at..self.at + n].to_vec();
        self.at += n;
        self.raw.extend_from_slice(&bytes);
        Ok(Some(bytes))
    }

    /// Skips what is left of the current entry (kept raw) and its padding.
    async fn skip_rest(&mut self) -> Result<()> {
        let rest = self.left + self.padding;
        self.left = 0;
        self.padding = 0;
        let mut rest = usize::try_from(rest).map_err(|_| truncated())?;
        while rest > 0 {
            let n = rest.min(1 << 20);
            self.raw_bytes(n).await?.ok_or_else(truncated)?;
            rest -= n;
        }
        Ok(())
    }

    /// The next entry's header; `None` at the end-of-archive blocks (or the stream's end).
    pub async fn next(&mut self) -> Result<Option<Header>> {
        self.skip_rest().await?;
        let mut pax: Vec<(String, Vec<u8>)> = Vec::new();
        let mut long_name = None;
        let mut long_link = None;
        loop {
            let Some(block) = self.raw_bytes(BLOCK).await? else {
                self.ended = true;
                return Ok(None);
            };
            if block.iter().all(|b| *b == 0) {
                // Go reads the second end block with the first.
                self.raw_bytes(BLOCK).await?;
                self.ended = true;
                return Ok(None);
            }
            let header = parse_block(&block)?;
            match header.kind_flag {
                b'x' | b'L' | b'K' => {
                    let padding = padding_after(header.size);
                    let len = usize::try_from(header.size)
                        .ok()
                        .filter(|n| *n <= 1 << 20)
                        .ok_or_else(|| invalid("extended header too large"))?;
                    let data = self.raw_bytes(len).await?.ok_or_else(truncated)?;
                    self.raw_bytes(padding as usize)
                        .await?
                        .ok_or_else(truncated)?;
                    match header.kind_flag {
                        b'x' => pax.extend(parse_pax(&data)?),
                        b'L' => long_name = Some(until_nul(&data).to_vec()),
                        _ => long_link = Some(until_nul(&data).to_vec()),
                    }
                    continue;
                }
                b'S' => return Err(invalid("GNU sparse files are not supported")),
                _ => {}
            }
            if pax.iter().any(|(k, _)| k.starts_with("GNU.sparse.")) {
                return Err(invalid("PAX sparse files are not supported"));
            }
            let mut out = header.into_header(long_name.take(), long_link.take())?;
            apply_pax(&mut out, &pax)?;
            let data_size = match out.kind {
                Kind::File | Kind::GlobalHeader => out.size,
                _ => 0,
            };
            let padding = padding_after(data_size);
            if out.kind == Kind::GlobalHeader {
                // Its records are read as raw bytes; the entry names no contents.
                let len = usize::try_from(data_size).map_err(|_| truncated())?;
                self.raw_bytes(len).await?.ok_or_else(truncated)?;
                self.raw_bytes(padding as usize)
                    .await?
                    .ok_or_else(truncated)?;
                out.size = 0;
                return Ok(Some(out));
            }
            self.left = data_size;
            self.padding = padding;
            return Ok(Some(out));
        }
    }

    /// The next piece of the current entry's contents; empty at their end.
    pub async fn read_contents(&mut self) -> Result<Vec<u8>> {
        if self.left == 0 {
            return Ok(Vec::new());
        }
        if !self.fill(1).await? {
            return Err(truncated());
        }
        let available = self.buf.len() - self.at;
        let n = available.min(usize::try_from(self.left).unwrap_or(usize::MAX));
        self.left -= n as u64;
        if self.at == 0 && n == self.buf.len() {
            return Ok(std::mem::take(&mut self.buf));
        }
        let piece = self.buf[self.at..self.at + n].to_vec();
        self.at += n;
        Ok(piece)
    }

    /// After [`TarReader::next`] returned `None`: everything after the end blocks (a
    /// segment of its own, as tar-split keeps it), then the digest and size of the whole.
    pub async fn finish(mut self) -> Result<(Vec<u8>, Digest, u64)> {
        let mut rest = self.buf[self.at..].to_vec();
        loop {
            let chunk = self.stream.read_chunk().await?;
            if chunk.is_empty() {
                break;
            }
            self.digester.update(&chunk);
            rest.extend_from_slice(&chunk);
        }
        let size = self.digester.len();
        Ok((rest, self.digester.finish(), size))
    }
}

fn padding_after(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

fn truncated() -> Error {
    invalid("unexpected EOF")
}

fn invalid(what: &str) -> Error {
    Error::Invalid(format!("archive/tar: {what}"))
}

fn until_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// A header block's fields before extended headers apply.
struct RawHeader {
    name: Vec<u8>,
    kind_flag: u8,
    mode: u64,
    uid: u64,
    gid: u64,
    size: u64,
    mtime: i64,
    link_name: Vec<u8>,
    dev_major: u64,
    dev_minor: u64,
}

fn parse_block(block: &[u8]) -> Result<RawHeader> {
    let stored = parse_number(&block[148..156])?;
    let unsigned: u64 = block
        .iter()
        .enumerate()
        .map(|(i, b)| match (148..156).contains(&i) {
            true => u64::from(b' '),
            false => u64::from(*b),
        })
        .sum();
    let signed: i64 = block
        .iter()
        .enumerate()
        .map(|(i, b)| match (148..156).contains(&i) {
            true => i64::from(b' '),
            false => i64::from(*b as i8),
        })
        .sum();
    if stored != unsigned as i64 && stored != signed {
        return Err(invalid("invalid tar header"));
    }
    let magic = &block[257..265];
    let ustar = magic == b"ustar\x0000";
    let mut name = until_nul(&block[..100]).to_vec();
    if ustar {
        let prefix = until_nul(&block[345..500]);
        if !prefix.is_empty() {
            name = [prefix, b"/", &name].concat();
        }
    }
    let number = |range: std::ops::Range<usize>| parse_number(&block[range]);
    Ok(RawHeader {
        name,
        kind_flag: block[156],
        mode: number(100..108)? as u64,
        uid: number(108..116)? as u64,
        gid: number(116..124)? as u64,
        size: u64::try_from(number(124..136)?).map_err(|_| invalid("negative size"))?,
        mtime: number(136..148)?,
        link_name: until_nul(&block[157..257]).to_vec(),
        dev_major: number(329..337)? as u64,
        dev_minor: number(337..345)? as u64,
    })
}

/// An octal field (space or NUL padded) or a base-256 one (high bit of the first byte set).
fn parse_number(field: &[u8]) -> Result<i64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let mut value: i64 = i64::from(field[0] & 0x7f);
        if field[0] & 0x40 != 0 {
            return Err(invalid("negative base-256 number"));
        }
        for b in &field[1..] {
            value = value
                .checked_mul(256)
                .and_then(|v| v.checked_add(i64::from(*b)))
                .ok_or_else(|| invalid("numeric field overflows"))?;
        }
        return Ok(value);
    }
    let text = until_nul(field);
    let text = std::str::from_utf8(text).map_err(|_| invalid("invalid tar header"))?;
    let text = text.trim_matches(|c| c == ' ' || c == '\0');
    if text.is_empty() {
        return Ok(0);
    }
    i64::from_str_radix(text, 8).map_err(|_| invalid("invalid tar header"))
}

impl RawHeader {
    fn into_header(self, long_name: Option<Vec<u8>>, long_link: Option<Vec<u8>>) -> Result<Header> {
        let name = long_name.unwrap_or(self.name);
        let kind = match self.kind_flag {
            b'0' | b'7' => Kind::File,
            0 if name.ends_with(b"/") => Kind::Directory,
            0 => Kind::File,
            b'1' => Kind::HardLink,
            b'2' => Kind::Symlink,
            b'3' => Kind::CharDevice,
            b'4' => Kind::BlockDevice,
            b'5' => Kind::Directory,
            b'6' => Kind::Fifo,
            b'g' => Kind::GlobalHeader,
            other => {
                return Err(invalid(&format!(
                    "entry {:?} has a type this store cannot hold ({:?})",
                    String::from_utf8_lossy(&name),
                    other as char
                )))
            }
        };
        let id = |n: u64| u32::try_from(n).map_err(|_| invalid("ID out of range"));
        Ok(Header {
            name,
            kind,
            mode: (self.mode & 0o7777) as u32,
            uid: id(self.uid)?,
            gid: id(self.gid)?,
            size: self.size,
            mtime: (self.mtime, 0),
            atime: None,
            link_name: long_link.unwrap_or(self.link_name),
            dev_major: id(self.dev_major)?,
            dev_minor: id(self.dev_minor)?,
            xattrs: Vec::new(),
        })
    }
}

/// PAX records: `LEN KEY=VALUE\n` each.
fn parse_pax(mut data: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut records = Vec::new();
    while !data.is_empty() && data[0] != 0 {
        let space = data
            .iter()
            .position(|b| *b == b' ')
            .ok_or_else(|| invalid("invalid PAX record"))?;
        let len: usize = std::str::from_utf8(&data[..space])
            .ok()
            .and_then(|n| n.parse().ok())
            .filter(|n| *n > space + 1 && *n <= data.len())
            .ok_or_else(|| invalid("invalid PAX record"))?;
        let record = &data[space + 1..len];
        let record = record
            .strip_suffix(b"\n")
            .ok_or_else(|| invalid("invalid PAX record"))?;
        let eq = record
            .iter()
            .position(|b| *b == b'=')
            .ok_or_else(|| invalid("invalid PAX record"))?;
        let key = String::from_utf8_lossy(&record[..eq]).into_owned();
        records.push((key, record[eq + 1..].to_vec()));
        data = &data[len..];
    }
    Ok(records)
}

fn pax_time(value: &[u8]) -> Result<(i64, u32)> {
    let text = std::str::from_utf8(value).map_err(|_| invalid("invalid PAX time"))?;
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    let secs: i64 = secs.parse().map_err(|_| invalid("invalid PAX time"))?;
    let digits: String = frac.chars().take(9).collect();
    let nanos = match digits.is_empty() {
        true => 0,
        false => {
            let n: u32 = digits.parse().map_err(|_| invalid("invalid PAX time"))?;
            n * 10u32.pow(9 - digits.len() as u32)
        }
    };
    Ok((secs, nanos))
}

fn apply_pax(header: &mut Header, records: &[(String, Vec<u8>)]) -> Result<()> {
    let number = |v: &[u8]| -> Result<u64> {
        std::str::from_utf8(v)
            .ok()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| invalid("invalid PAX number"))
    };
    for (key, value) in records {
        match key.as_str() {
            "path" => header.name = value.clone(),
            "linkpath" => header.link_name = value.clone(),
            "size" => header.size = number(value)?,
            "uid" => header.uid = u32::try_from(number(value)?).map_err(|_| invalid("uid"))?,
            "gid" => header.gid = u32::try_from(number(value)?).map_err(|_| invalid("gid"))?,
            "mtime" => header.mtime = pax_time(value)?,
            "atime" => header.atime = Some(pax_time(value)?),
            _ => {
                if let Some(name) = key.strip_prefix("SCHILY.xattr.") {
                    header.xattrs.retain(|(n, _)| n != name);
                    header.xattrs.push((name.to_owned(), value.clone()));
                }
            }
        }
    }
    Ok(())
}
