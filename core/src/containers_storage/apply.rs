//! A layer applied to a directory as containers/storage applies it, with the tar-split
//! metadata recorded on the way: names cleaned and kept inside the layer, what is in the way
//! removed (a directory stays for a directory), missing parents made, whiteouts handled as
//! the driver wants them (removals for `vfs`, character devices and opaque xattrs for
//! `overlay`), directory times set last. The host's [`LayerTree`] does the file work.

use super::tar_reader::{Header, Kind, TarReader};
use super::tar_split::{self, CRC64};
use crate::digest::Digest;
use crate::effects::{ByteStream, EffectError};
use crate::{Error, Result};
use std::collections::{BTreeSet, HashSet};

const WHITEOUT: &str = ".wh.";
const WHITEOUT_META: &str = ".wh..wh.";
const OPAQUE: &str = ".wh..wh..opq";
/// The xattr overlayfs reads as "this directory hides the ones below".
pub const OVERLAY_OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// A node to create in a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node<'a> {
    Directory,
    Symlink(&'a [u8]),
    /// A hard link to the path given (inside the layer).
    HardLink(&'a str),
    CharDevice(u32, u32),
    BlockDevice(u32, u32),
    Fifo,
}

/// What to set on a node once made, in this order: owner, xattrs, mode, times.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeMeta {
    pub uid: u32,
    pub gid: u32,
    pub xattrs: Vec<(String, Vec<u8>)>,
    /// Permission bits (with set-ID and sticky bits); `None` leaves them.
    pub mode: Option<u32>,
    /// Modification and access times (seconds, nanoseconds); `None` leaves them.
    pub times: Option<((i64, u32), (i64, u32))>,
}

/// The file work of applying a layer (the host's side). Paths are absolute.
pub trait LayerTree {
    /// Creates `path` as `node` (an existing directory is kept for a directory), then sets
    /// `meta`. Its parent exists.
    async fn make(&self, path: &str, node: Node<'_>, meta: &NodeMeta) -> Result<(), EffectError>;

    /// Creates the regular file `path` with `contents`, then sets `meta`.
    async fn make_file<S: ByteStream>(
        &self,
        path: &str,
        meta: &NodeMeta,
        contents: &mut S,
    ) -> Result<(), EffectError>;

    /// `Some(is_directory)` for what is at `path` (a last symlink not followed), else `None`.
    async fn lstat_is_dir(&self, path: &str) -> Result<Option<bool>, EffectError>;

    /// Removes `path` and everything under it, if it is there.
    async fn remove_all(&self, path: &str) -> Result<(), EffectError>;

    /// Makes the directory `path` and missing parents (0755).
    async fn make_dirs(&self, path: &str) -> Result<(), EffectError>;

    /// The names in the directory `path`.
    async fn list(&self, path: &str) -> Result<Vec<String>, EffectError>;

    /// Sets the xattr `name` on `path`.
    async fn set_xattr(&self, path: &str, name: &str, value: &[u8]) -> Result<(), EffectError>;

    /// Sets the times of `path`: modification, then access.
    async fn set_times(
        &self,
        path: &str,
        mtime: (i64, u32),
        atime: (i64, u32),
    ) -> Result<(), EffectError>;
}

/// How a driver keeps whiteouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whiteouts {
    /// Applied: the layer's directory is a copy of its parent's, and whiteouts remove (vfs).
    Removed,
    /// Kept for overlayfs: a character device 0/0, or `trusted.overlay.opaque=y`.
    Overlay,
}

/// What applying a layer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The tar-split entries, one JSON line each (not compressed).
    pub tar_split: Vec<u8>,
    pub diff_digest: Digest,
    pub diff_size: u64,
    pub uids: Vec<u32>,
    pub gids: Vec<u32>,
}

/// Applies the uncompressed layer `stream` to the directory `root`.
pub async fn apply_layer<T: LayerTree, S: ByteStream>(
    tree: &T,
    root: &str,
    stream: S,
    whiteouts: Whiteouts,
) -> Result<Applied> {
    let mut reader = TarReader::new(stream);
    let mut split = SplitWriter::default();
    let mut uids = BTreeSet::new();
    let mut gids = BTreeSet::new();
    let mut state = State::default();
    while let Some(header) = reader.next().await? {
        split.segment(reader.take_raw(), false);
        uids.insert(header.uid);
        gids.insert(header.gid);
        let mut contents = Contents {
            reader: &mut reader,
            crc: CRC64.digest(),
            pending: Vec::new(),
        };
        let applied = apply_entry(tree, root, &header, whiteouts, &mut state, &mut contents).await;
        applied?;
        // Whatever was not written is still read, for the checksum.
        while !contents.next_piece().await?.is_empty() {}
        let crc = contents.crc.finalize();
        split.file(&header.name, header.size, crc);
    }
    split.segment(reader.take_raw(), false);
    for (path, mtime, atime) in state.dirs {
        tree.set_times(&path, mtime, atime).await?;
    }
    let (rest, diff_digest, diff_size) = reader.finish().await?;
    // tar-split reads what follows the end blocks in pieces, and records the empty read
    // that ends them too.
    split.segment(rest, false);
    split.segment(Vec::new(), true);
    Ok(Applied {
        tar_split: split.lines,
        diff_digest,
        diff_size,
        uids: uids.into_iter().collect(),
        gids: gids.into_iter().collect(),
    })
}

/// A time as seconds and nanoseconds.
type Time = (i64, u32);
type Times = (Time, Time);

/// What applying remembers across entries.
#[derive(Default)]
struct State {
    /// The paths this layer made (an opaque directory keeps only those).
    unpacked: HashSet<String>,
    /// Directories and their times, set once nothing more is made in them.
    dirs: Vec<(String, Time, Time)>,
}

async fn apply_entry<T: LayerTree, S: ByteStream>(
    tree: &T,
    root: &str,
    header: &Header,
    whiteouts: Whiteouts,
    state: &mut State,
    contents: &mut Contents<'_, S>,
) -> Result<()> {
    if header.kind == Kind::GlobalHeader {
        return Ok(());
    }
    let name = String::from_utf8_lossy(&header.name).into_owned();
    let clean = clean_name(&name).ok_or_else(|| outside(&name, root))?;
    if whiteouts == Whiteouts::Removed && clean.starts_with(WHITEOUT_META) && clean != OPAQUE {
        // aufs metadata directories are not part of the tree.
        return Ok(());
    }
    let path = match clean.is_empty() {
        true => root.to_owned(),
        false => format!("{root}/{clean}"),
    };
    let (dir, base) = match clean.rsplit_once('/') {
        Some((dir, base)) => (format!("{root}/{dir}"), base),
        None => (root.to_owned(), clean.as_str()),
    };
    if !clean.is_empty() && tree.lstat_is_dir(&dir).await?.is_none() {
        tree.make_dirs(&dir).await?;
    }
    if let Some(hidden) = base.strip_prefix(WHITEOUT) {
        return apply_whiteout(tree, &dir, hidden, header, whiteouts, &state.unpacked).await;
    }
    let existing = tree.lstat_is_dir(&path).await?;
    if existing == Some(true) && clean.is_empty() {
        return Ok(());
    }
    if existing.is_some() && !(existing == Some(true) && header.kind == Kind::Directory) {
        tree.remove_all(&path).await?;
    }
    let times = entry_times(header);
    let mut meta = NodeMeta {
        uid: header.uid,
        gid: header.gid,
        xattrs: header.xattrs.clone(),
        mode: Some(header.mode),
        times: Some(times),
    };
    match header.kind {
        Kind::File => tree.make_file(&path, &meta, contents).await?,
        Kind::Directory => {
            meta.times = None;
            tree.make(&path, Node::Directory, &meta).await?;
            let atime = header.atime.unwrap_or((0, 0));
            state.dirs.push((path.clone(), header.mtime, atime));
        }
        Kind::Symlink => {
            let target = String::from_utf8_lossy(&header.link_name);
            let resolved = match target.starts_with('/') {
                true => target.to_string(),
                false => format!("{}/{target}", dir.strip_prefix(root).unwrap_or("")),
            };
            if clean_name(&resolved).is_none() {
                return Err(Error::Invalid(format!(
                    "invalid symlink {path:?} -> {target:?}"
                )));
            }
            meta.mode = None;
            tree.make(&path, Node::Symlink(&header.link_name), &meta)
                .await?;
        }
        Kind::HardLink => {
            let target = String::from_utf8_lossy(&header.link_name);
            let clean_target = clean_name(&target).ok_or_else(|| {
                Error::Invalid(format!("invalid hardlink {path:?} -> {target:?}"))
            })?;
            let target = format!("{root}/{clean_target}");
            meta.mode = None;
            meta.times = None;
            tree.make(&path, Node::HardLink(&target), &meta).await?;
        }
        Kind::CharDevice => {
            let node = Node::CharDevice(header.dev_major, header.dev_minor);
            tree.make(&path, node, &meta).await?;
        }
        Kind::BlockDevice => {
            let node = Node::BlockDevice(header.dev_major, header.dev_minor);
            tree.make(&path, node, &meta).await?;
        }
        Kind::Fifo => tree.make(&path, Node::Fifo, &meta).await?,
        Kind::GlobalHeader => {}
    }
    state.unpacked.insert(path);
    Ok(())
}

/// `.wh.NAME` hides `NAME`; `.wh..wh..opq` hides everything the layers below have in its
/// directory.
async fn apply_whiteout<T: LayerTree>(
    tree: &T,
    dir: &str,
    hidden: &str,
    header: &Header,
    whiteouts: Whiteouts,
    unpacked: &HashSet<String>,
) -> Result<()> {
    let opaque = hidden == &OPAQUE[WHITEOUT.len()..];
    match (whiteouts, opaque) {
        (Whiteouts::Overlay, true) => tree.set_xattr(dir, OVERLAY_OPAQUE_XATTR, b"y").await?,
        (Whiteouts::Overlay, false) => {
            let meta = NodeMeta {
                uid: header.uid,
                gid: header.gid,
                mode: Some(0),
                ..NodeMeta::default()
            };
            let path = format!("{dir}/{hidden}");
            tree.make(&path, Node::CharDevice(0, 0), &meta).await?;
        }
        (Whiteouts::Removed, true) => {
            Box::pin(remove_not_unpacked(tree, dir, unpacked)).await?;
        }
        (Whiteouts::Removed, false) => tree.remove_all(&format!("{dir}/{hidden}")).await?,
    }
    Ok(())
}

/// Removes everything under `dir` this layer did not put there.
async fn remove_not_unpacked<T: LayerTree>(
    tree: &T,
    dir: &str,
    unpacked: &HashSet<String>,
) -> Result<()> {
    for name in tree.list(dir).await? {
        let path = format!("{dir}/{name}");
        if !unpacked.contains(&path) {
            tree.remove_all(&path).await?;
        } else if tree.lstat_is_dir(&path).await? == Some(true) {
            Box::pin(remove_not_unpacked(tree, &path, unpacked)).await?;
        }
    }
    Ok(())
}

/// Modification and access times as containers/storage sets them: the access time is never
/// before the modification time.
fn entry_times(header: &Header) -> Times {
    let atime = header.atime.filter(|a| *a >= header.mtime);
    (header.mtime, atime.unwrap_or(header.mtime))
}

/// `name` cleaned as Go's `filepath.Clean` cleans it, relative to the layer's root (empty
/// for the root itself); `None` when it leaves the root.
pub fn clean_name(name: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

fn outside(name: &str, root: &str) -> Error {
    Error::Invalid(format!("{name:?} is outside of {root:?}"))
}

/// tar-split's lines, written as the layer is read.
#[derive(Default)]
struct SplitWriter {
    lines: Vec<u8>,
    position: i64,
}

impl SplitWriter {
    /// A raw segment; empty ones are left out unless `always`.
    fn segment(&mut self, bytes: Vec<u8>, always: bool) {
        if bytes.is_empty() && !always {
            return;
        }
        self.push(tar_split::Entry {
            kind: tar_split::SEGMENT,
            payload: Some(bytes),
            ..tar_split::Entry::default()
        });
    }

    fn file(&mut self, name: &[u8], size: u64, crc: u64) {
        let (name, name_raw) = match std::str::from_utf8(name) {
            Ok(text) => (Some(text.to_owned()), None),
            Err(_) => (None, Some(name.to_vec())),
        };
        self.push(tar_split::Entry {
            kind: tar_split::FILE,
            name,
            name_raw,
            size: size as i64,
            payload: (size > 0).then(|| crc.to_be_bytes().to_vec()),
            ..tar_split::Entry::default()
        });
    }

    fn push(&mut self, mut entry: tar_split::Entry) {
        entry.position = self.position;
        self.position += 1;
        self.lines.extend_from_slice(&entry.to_line());
    }
}

/// The current entry's contents as a stream, summed for tar-split as they pass.
struct Contents<'r, S> {
    reader: &'r mut TarReader<S>,
    crc: tar_split::Crc64Digest,
    pending: Vec<u8>,
}

impl<S: ByteStream> Contents<'_, S> {
    async fn next_piece(&mut self) -> Result<Vec<u8>> {
        let piece = self.reader.read_contents().await?;
        self.crc.update(&piece);
        Ok(piece)
    }
}

impl<S: ByteStream> ByteStream for Contents<'_, S> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, EffectError> {
        if self.pending.is_empty() {
            self.pending = self.read_chunk().await?;
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }

    async fn read_chunk(&mut self) -> Result<Vec<u8>, EffectError> {
        if !self.pending.is_empty() {
            return Ok(std::mem::take(&mut self.pending));
        }
        self.next_piece().await.map_err(|e| match e {
            Error::Effect(e) => e,
            other => EffectError::new(crate::effects::EffectErrorKind::Other, other.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::containers_storage::memory_tree::{Entry, MemoryTree};
    use crate::effects::VecStream;

    fn tar_of(entries: &[(&str, tar::EntryType, &[u8], &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, kind, data, link) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(1_700_000_000);
            if !link.is_empty() {
                builder.append_link(&mut header, path, link).unwrap();
            } else {
                builder.append_data(&mut header, path, *data).unwrap();
            }
        }
        builder.into_inner().unwrap()
    }

    fn apply(tree: &MemoryTree, tar: &[u8], whiteouts: Whiteouts) -> Result<Applied> {
        pollster::block_on(apply_layer(
            tree,
            "/l",
            VecStream::new(tar.to_vec()),
            whiteouts,
        ))
    }

    #[test]
    fn tar_split_and_the_files_give_the_layer_back_byte_for_byte() {
        use tar::EntryType::*;
        let long = format!("deep/{}/file", "d".repeat(120));
        let tar = tar_of(&[
            ("etc/", Directory, b"", ""),
            ("etc/motd", Regular, b"hello\n", ""),
            (&long, Regular, &[7; 3000], ""),
            ("etc/link", Symlink, b"", "motd"),
            ("etc/hard", Link, b"", "etc/motd"),
        ]);
        let tree = MemoryTree::new("/l");
        let applied = apply(&tree, &tar, Whiteouts::Overlay).unwrap();
        assert_eq!(applied.diff_digest, Digest::sha256_of(&tar));
        assert_eq!(applied.diff_size, tar.len() as u64);
        let mut again = Vec::new();
        for line in applied
            .tar_split
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
        {
            let entry: tar_split::Entry = serde_json::from_slice(line).unwrap();
            match entry.kind {
                tar_split::SEGMENT => again.extend(entry.payload.unwrap()),
                _ if entry.size > 0 => {
                    match &tree.entries.borrow()[&format!("/l/{}", entry.file_name())] {
                        Entry::File(bytes) => again.extend(bytes),
                        other => panic!("{other:?}"),
                    }
                }
                _ => {}
            }
        }
        assert_eq!(again, tar);
        assert!(tree.entries.borrow().contains_key(&format!("/l/{long}")));
    }

    #[test]
    fn whiteouts_remove_on_vfs_and_become_devices_and_xattrs_on_overlay() {
        use tar::EntryType::*;
        let top = tar_of(&[
            ("etc/.wh.motd", Regular, b"", ""),
            ("opt/", Directory, b"", ""),
            ("opt/.wh..wh..opq", Regular, b"", ""),
            ("opt/new", Regular, b"n", ""),
        ]);
        let vfs = MemoryTree::new("/l");
        let base = tar_of(&[
            ("etc/motd", Regular, b"m", ""),
            ("etc/keep", Regular, b"k", ""),
            ("opt/old/x", Regular, b"o", ""),
        ]);
        apply(&vfs, &base, Whiteouts::Removed).unwrap();
        apply(&vfs, &top, Whiteouts::Removed).unwrap();
        let paths: Vec<String> = vfs.entries.borrow().keys().cloned().collect();
        assert_eq!(
            paths,
            ["/l", "/l/etc", "/l/etc/keep", "/l/opt", "/l/opt/new"]
        );
        let overlay = MemoryTree::new("/l");
        apply(&overlay, &top, Whiteouts::Overlay).unwrap();
        let entries = overlay.entries.borrow();
        assert_eq!(
            entries["/l/etc/motd"],
            Entry::Other("CharDevice(0, 0)".into())
        );
        assert!(!entries.contains_key("/l/opt/.wh..wh..opq"));
    }

    #[test]
    fn names_and_links_that_leave_the_layer_are_refused() {
        use tar::EntryType::*;
        let mut escape = tar::Header::new_old();
        escape.as_old_mut().name[..9].copy_from_slice(b"../escape");
        escape.set_size(0);
        escape.set_cksum();
        let mut outside = escape.as_bytes().to_vec();
        outside.extend([0; 1024]);
        let cases = [
            outside,
            tar_of(&[("a", Symlink, b"", "../../../etc/passwd")]),
            tar_of(&[("a", Link, b"", "../../etc/passwd")]),
        ];
        for tar in cases {
            let tree = MemoryTree::new("/l");
            let refused = apply(&tree, &tar, Whiteouts::Overlay)
                .unwrap_err()
                .to_string();
            assert!(
                refused.contains("outside") || refused.contains("invalid"),
                "{refused}"
            );
            assert_eq!(tree.entries.borrow().len(), 1, "nothing was made");
        }
    }
}
