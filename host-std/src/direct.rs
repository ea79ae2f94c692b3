//! Writing large files past the page cache. On Linux, the bytes of a file the core writes (a
//! layer, mostly) go to the disk with `O_DIRECT`, straight from our memory: the kernel neither
//! copies them into page-cache pages nor allocates those pages (on a virtual machine, pages it
//! has not touched before cost a fault in the hypervisor each), and the sync at the end has
//! little left to wait for. Direct writes need memory, file offset and length aligned to the
//! disk's blocks: chunks that start on a page boundary (the native binary's allocator gives
//! pipe chunks that alignment, see [`crate::aligned_alloc`]) are written as they are; other
//! bytes are gathered in an aligned staging buffer first. Small files, the tail of every file
//! and file systems that refuse `O_DIRECT` are written the ordinary way, so nothing about the
//! bytes or the errors changes: a refused or short direct write is simply written again
//! through the page cache.

use std::fs::File;
use std::io::{ErrorKind, Write};

/// What direct writes are aligned to, in memory and in the file: the largest logical block
/// size of common disks.
pub const ALIGN: usize = 4096;

/// Bytes gathered before a staged write: as large as a pipe chunk.
const STAGE: usize = crate::pipe::CHUNK;
const _: () = assert!(STAGE + ALIGN <= crate::pipe::CHUNK_ALLOCATION);

/// The first direct write is made for at least this many bytes: a file that never has that
/// many to write at once stays in the page cache.
const DIRECT_FROM: usize = 64 * 1024;

/// Whether direct writes are still worth trying on this file.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Direct {
    /// Not tried yet: nothing large has been written.
    Untried,
    /// `O_DIRECT` is set on the file.
    On,
    /// Refused or not available: everything goes through the page cache.
    Off,
}

/// A file written with direct writes where its bytes allow, through the page cache elsewhere.
pub struct DirectWriter {
    file: File,
    /// Gathers bytes that cannot be written directly as they come; taken when first needed.
    stage: Option<Stage>,
    /// Bytes that went through the staging buffer.
    copied: u64,
    /// Bytes still to write through the page cache before the file offset is aligned (when
    /// writing starts mid-file).
    lead: usize,
    direct: Direct,
}

impl DirectWriter {
    /// Writes `file` (just created) from its start.
    pub fn new(file: File) -> Self {
        Self::appending(file, 0)
    }

    /// Writes `file` from its current offset, `offset` (an entry of an archive): up to the
    /// next aligned offset through the page cache, the rest as [`DirectWriter::new`] does.
    pub fn appending(file: File, offset: u64) -> Self {
        DirectWriter {
            file,
            stage: None,
            copied: 0,
            lead: (ALIGN - (offset % ALIGN as u64) as usize) % ALIGN,
            direct: if cfg!(target_os = "linux") {
                Direct::Untried
            } else {
                Direct::Off
            },
        }
    }

    /// Writes `data` after what came before: its aligned part directly when it starts on a
    /// block boundary and nothing is staged, the rest through the staging buffer.
    pub fn write_all(&mut self, mut data: &[u8]) -> std::io::Result<()> {
        if self.lead > 0 {
            let n = self.lead.min(data.len());
            self.file.write_all(&data[..n])?;
            self.lead -= n;
            data = &data[n..];
        }
        if self.direct == Direct::Off {
            // Nothing to align for: what is staged, then `data` as it is.
            if let Some(stage) = &mut self.stage {
                self.file.write_all(stage.bytes())?;
                stage.len = 0;
            }
            return self.file.write_all(data);
        }
        let staged = self.stage.as_ref().map_or(0, |s| s.len);
        if staged == 0 && is_aligned(data.as_ptr()) {
            let aligned = data.len() / ALIGN * ALIGN;
            if aligned > 0 {
                self.write_blocks(&data[..aligned])?;
                data = &data[aligned..];
            }
        }
        while !data.is_empty() {
            let stage = self.stage.get_or_insert_with(Stage::take);
            let n = stage.push(data);
            self.copied += n as u64;
            data = &data[n..];
            if stage.len == STAGE {
                self.write_staged(STAGE)?;
            }
        }
        Ok(())
    }

    /// Writes what is still staged (its aligned part directly when direct writes are on, the
    /// rest through the page cache) and clears `O_DIRECT`; the owner syncs [`Self::file`].
    /// Dropped without it, the writer only clears `O_DIRECT` (staged bytes are lost), so an
    /// owner sharing the file description can go on writing either way.
    pub fn finish(&mut self) -> std::io::Result<()> {
        let staged = self.stage.as_ref().map_or(0, |s| s.len);
        let aligned = staged / ALIGN * ALIGN;
        if self.direct == Direct::On && aligned > 0 {
            self.write_staged(aligned)?;
        }
        self.buffered()?;
        if let Some(stage) = &mut self.stage {
            self.file.write_all(stage.bytes())?;
            stage.len = 0;
        }
        Ok(())
    }

    /// The file being written.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Writes the first `len` staged bytes (a multiple of `ALIGN` while direct writes are on)
    /// and keeps the rest staged at the window's start.
    fn write_staged(&mut self, len: usize) -> std::io::Result<()> {
        let Some(mut stage) = self.stage.take() else {
            return Ok(());
        };
        let written = self.write_blocks(&stage.bytes()[..len]);
        stage.consume(len);
        self.stage = Some(stage);
        written
    }

    /// Writes `blocks` (aligned in memory and length) directly when direct writes can be
    /// had, else (or for what a direct write refused) through the page cache.
    fn write_blocks(&mut self, blocks: &[u8]) -> std::io::Result<()> {
        if self.direct == Direct::Untried && blocks.len() >= DIRECT_FROM {
            self.direct = if set_direct(&self.file, true).is_ok() {
                Direct::On
            } else {
                Direct::Off
            };
        }
        let mut written = 0;
        if self.direct == Direct::On && blocks.len() >= ALIGN {
            written = write_direct(&mut self.file, blocks);
            if written < blocks.len() {
                // Refused (EINVAL), short (the disk filling up) or failed: the page cache
                // write below reports what is really wrong, in the usual words.
                self.buffered()?;
            }
        }
        self.file.write_all(&blocks[written..])
    }

    /// Turns direct writes off for the rest of the file.
    fn buffered(&mut self) -> std::io::Result<()> {
        let was = std::mem::replace(&mut self.direct, Direct::Off);
        if was == Direct::On {
            set_direct(&self.file, false)?;
        }
        Ok(())
    }
}

impl Drop for DirectWriter {
    fn drop(&mut self) {
        let _ = self.buffered();
    }
}

fn is_aligned(p: *const u8) -> bool {
    (p as usize).is_multiple_of(ALIGN)
}

/// An aligned staging window of `STAGE` bytes inside a reused buffer.
struct Stage {
    /// `STAGE + ALIGN` bytes or more; the window starts `start` bytes in, on an `ALIGN`
    /// boundary.
    buffer: Vec<u8>,
    start: usize,
    /// Bytes staged in the window.
    len: usize,
}

impl Stage {
    /// A staging buffer: a chunk buffer from the pipes' pool (page-aligned by the native
    /// binary's allocator, and with a page to spare for aligning the window elsewhere).
    fn take() -> Self {
        let mut buffer = crate::pipe::full_buffer();
        buffer.resize(crate::pipe::CHUNK_ALLOCATION, 0);
        let start = buffer.as_ptr().align_offset(ALIGN);
        Stage {
            buffer,
            start,
            len: 0,
        }
    }

    /// Stages as much of `data` as fits; how much that was.
    fn push(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(STAGE - self.len);
        let at = self.start + self.len;
        self.buffer[at..at + n].copy_from_slice(&data[..n]);
        self.len += n;
        n
    }

    fn bytes(&self) -> &[u8] {
        &self.buffer[self.start..self.start + self.len]
    }

    /// Drops the first `n` staged bytes, moving the rest to the window's start.
    fn consume(&mut self, n: usize) {
        let from = self.start + n;
        self.buffer
            .copy_within(from..self.start + self.len, self.start);
        self.len -= n;
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        crate::pipe::recycle(std::mem::take(&mut self.buffer));
    }
}

/// Writes `data` with direct writes; how much was written before one was refused or short.
fn write_direct(file: &mut File, data: &[u8]) -> usize {
    let mut written = 0;
    while written < data.len() {
        match file.write(&data[written..]) {
            Ok(n) if n > 0 && n % ALIGN == 0 => written += n,
            Ok(n) => return written + n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return written,
        }
    }
    written
}

/// Sets or clears `O_DIRECT` on `file`. Only regular files take it (on a pipe the flag means
/// something else: packets).
#[cfg(target_os = "linux")]
fn set_direct(file: &File, on: bool) -> std::io::Result<()> {
    use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
    if on && !file.metadata()?.is_file() {
        return Err(ErrorKind::Unsupported.into());
    }
    let flags = fcntl_getfl(file)?;
    let flags = if on {
        flags | OFlags::DIRECT
    } else {
        flags - OFlags::DIRECT
    };
    Ok(fcntl_setfl(file, flags)?)
}

#[cfg(not(target_os = "linux"))]
fn set_direct(_file: &File, _on: bool) -> std::io::Result<()> {
    Err(ErrorKind::Unsupported.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory removed when dropped.
    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    /// `data` copied to where its first byte lies `offset` bytes past a block boundary.
    fn placed(data: &[u8], offset: usize) -> (Vec<u8>, usize) {
        let mut buffer = vec![0u8; data.len() + 2 * ALIGN];
        let start = buffer.as_ptr().align_offset(ALIGN) + offset;
        buffer[start..start + data.len()].copy_from_slice(data);
        (buffer, start)
    }

    /// Writes `data` through a `DirectWriter` in pieces of `piece` bytes, each placed
    /// `offset` bytes past a block boundary; the writer's direct state and the file's bytes.
    fn write_pieces(dir: &Scratch, data: &[u8], piece: usize, offset: usize) -> (Direct, Vec<u8>) {
        let path = dir.0.join("file");
        let mut writer = DirectWriter::new(File::create(&path).unwrap());
        for part in data.chunks(piece.max(1)) {
            let (buffer, start) = placed(part, offset);
            writer
                .write_all(&buffer[start..start + part.len()])
                .unwrap();
        }
        let direct = writer.direct;
        writer.finish().unwrap();
        writer.file().sync_all().unwrap();
        (direct, std::fs::read(&path).unwrap())
    }

    #[test]
    fn writing_can_start_mid_file() {
        let dir = Scratch::new("direct-appending");
        let path = dir.0.join("archive");
        let data = pattern(3 * STAGE + 77, 5);
        for start in [0usize, 512, 1000, ALIGN, ALIGN + 512] {
            let mut file = File::create(&path).unwrap();
            file.write_all(&pattern(start, 9)).unwrap();
            let mut writer = DirectWriter::appending(file, start as u64);
            for part in data.chunks(STAGE) {
                let (buffer, at) = placed(part, 0);
                writer.write_all(&buffer[at..at + part.len()]).unwrap();
            }
            writer.finish().unwrap();
            // The file's offset is where the writing ended: what follows lands after it.
            let mut file = writer.file();
            file.write_all(b"end").unwrap();
            let mut want = pattern(start, 9);
            want.extend_from_slice(&data);
            want.extend_from_slice(b"end");
            assert!(std::fs::read(&path).unwrap() == want, "from {start}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_writer_dropped_unfinished_leaves_o_direct_clear_for_the_owner() {
        use rustix::fs::{fcntl_getfl, OFlags};
        let dir = Scratch::new("direct-dropped");
        let owner = File::create(dir.0.join("archive")).unwrap();
        let mut writer = DirectWriter::appending(owner.try_clone().unwrap(), 0);
        let (buffer, at) = placed(&pattern(STAGE, 1), 0);
        writer.write_all(&buffer[at..at + STAGE]).unwrap();
        // The owner's handle shares the file description and its flags.
        let set = fcntl_getfl(&owner).unwrap().contains(OFlags::DIRECT);
        assert_eq!(set, writer.direct == Direct::On);
        drop(writer);
        assert!(!fcntl_getfl(&owner).unwrap().contains(OFlags::DIRECT));
    }

    #[test]
    fn files_of_every_shape_are_written_exactly() {
        let dir = Scratch::new("direct-writer");
        let sizes = [
            0,
            1,
            ALIGN - 1,
            ALIGN,
            STAGE - 1,
            STAGE,
            STAGE + 1,
            2 * STAGE + ALIGN + 17,
            3 * STAGE,
        ];
        // Whole, in pipe-sized chunks, and in odd pieces that straddle the blocks; starting
        // on a block boundary (written directly) or not (staged).
        for (i, &size) in sizes.iter().enumerate() {
            let data = pattern(size, i as u8);
            for piece in [size, STAGE, 3 * ALIGN + 7, 1000] {
                for offset in [0, 1, 16] {
                    let (_, written) = write_pieces(&dir, &data, piece, offset);
                    assert!(
                        written == data,
                        "size {size}, pieces of {piece} at offset {offset}"
                    );
                }
            }
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn large_files_are_written_directly() {
        use rustix::fs::{fcntl_getfl, OFlags};
        let dir = Scratch::new("direct-flag");
        let data = pattern(2 * STAGE + 5, 3);
        for offset in [0, 16] {
            let path = dir.0.join("large");
            let mut writer = DirectWriter::new(File::create(&path).unwrap());
            let (buffer, start) = placed(&data, offset);
            writer
                .write_all(&buffer[start..start + data.len()])
                .unwrap();
            // Either the file system took O_DIRECT, or it refused it and the writer went on
            // through the page cache: never a half state.
            let flags = fcntl_getfl(&writer.file).unwrap();
            assert_eq!(flags.contains(OFlags::DIRECT), writer.direct == Direct::On);
            assert_ne!(writer.direct, Direct::Untried);
            // Aligned bytes need no staging buffer but for the tail; others go through one.
            let tail = (data.len() % ALIGN) as u64;
            let copied = if offset == 0 { tail } else { data.len() as u64 };
            assert_eq!(writer.copied, copied);
            writer.finish().unwrap();
            assert!(!fcntl_getfl(writer.file()).unwrap().contains(OFlags::DIRECT));
            drop(writer);
            assert!(std::fs::read(&path).unwrap() == data);
        }
        // A small file is written through the page cache alone.
        let (direct, written) = write_pieces(&dir, &pattern(3000, 1), 3000, 0);
        assert_eq!((direct, written), (Direct::Untried, pattern(3000, 1)));
    }
}
