//! The tar file a `docker-archive:` destination writes, entry by entry ([`ArchiveWrite`]):
//! layers are streamed straight into it (each entry's header rewritten with its size once
//! the entry ends), so a pulled image is written once rather than staged and then packed.
//! A regular file is written under a temporary name next to the target and renamed into
//! place by [`ArchiveWriter::close`]; dropped unfinished, the temporary file goes away. A
//! target that is not a regular file (a pipe, `/dev/stdout`) is written in place and cannot
//! be rewound, so there every entry is added whole. oci-archive packing writes through the
//! same writer.

use skopeo_core::effects::{ArchiveWrite, ByteSink, EffectError, EffectErrorKind};
use skopeo_std_effects::fs::go_io_error;
use skopeo_std_effects::streams::FileSink;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Tar's block size: headers are one block, contents are padded to whole blocks.
const BLOCK: u64 = 512;

/// An archive being written.
pub struct ArchiveWriter {
    target: PathBuf,
    /// The target as the user named it, for messages.
    shown: String,
    /// The temporary file renamed to `target` by `finish`; `None` when written in place.
    temp: Option<PathBuf>,
    state: Mutex<State>,
    finished: bool,
    /// Set once the archive ends well (a pipe's reader tells a whole archive from a cut one).
    ended: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

struct State {
    file: File,
    /// The header offset of the entry being streamed, if one is.
    streaming: Option<u64>,
}

/// A layer being streamed into the archive.
pub struct StreamedEntry {
    sink: FileSink,
    header_at: u64,
}

impl ByteSink for StreamedEntry {
    async fn write_all(&mut self, buf: &[u8]) -> Result<(), EffectError> {
        self.sink.write_all(buf).await
    }

    async fn write_chunk(&mut self, chunk: Vec<u8>) -> Result<(), EffectError> {
        self.sink.write_chunk(chunk).await
    }

    async fn finish(self) -> Result<(), EffectError> {
        self.sink.finish().await
    }
}

impl ArchiveWriter {
    /// Starts the archive at `path`: a temporary file beside it (registered for removal on a
    /// forced exit), or `path` itself when it exists and is not a regular file.
    pub fn create(path: &str) -> Result<Self, EffectError> {
        let target = PathBuf::from(path);
        let in_place = std::fs::metadata(&target).is_ok_and(|m| !m.is_file() && !m.is_dir());
        let (file, temp) = match in_place {
            true => {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&target)
                    .map_err(|e| go_io_error("open", path, &e))?;
                (file, None)
            }
            false => {
                let temp = target.with_file_name(format!(
                    ".{}.partial-{}",
                    target.file_name().unwrap_or_default().to_string_lossy(),
                    std::process::id()
                ));
                let file = File::create(&temp).map_err(|e| go_io_error("open", path, &e))?;
                crate::archive::register_scratch(&temp);
                (file, Some(temp))
            }
        };
        Ok(ArchiveWriter {
            target,
            shown: path.to_owned(),
            temp,
            state: Mutex::new(State {
                file,
                streaming: None,
            }),
            finished: false,
            ended: None,
        })
    }

    /// An archive written into the pipe `pipe` (not rewindable: every entry added whole),
    /// named `shown` in messages; `ended` is set when it ends well.
    pub fn into_pipe(
        pipe: File,
        shown: &str,
        ended: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> Self {
        ArchiveWriter {
            target: PathBuf::from(shown),
            shown: shown.to_owned(),
            temp: None,
            state: Mutex::new(State {
                file: pipe,
                streaming: None,
            }),
            finished: false,
            ended: Some(ended),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The archive's file, unless an entry is still being streamed into it.
    fn idle(&self) -> Result<MutexGuard<'_, State>, EffectError> {
        let state = self.lock();
        match state.streaming {
            Some(_) => Err(EffectError::new(
                EffectErrorKind::Other,
                format!(
                    "writing archive {}: an entry is still being written",
                    self.shown
                ),
            )),
            None => Ok(state),
        }
    }

    fn write_error(&self, e: &std::io::Error) -> EffectError {
        go_io_error("write", &self.shown, e)
    }

    /// Appends a header and `contents` (`len` bytes), padded to a whole block.
    fn append(
        &self,
        header: &tar::Header,
        contents: &mut dyn std::io::Read,
        len: u64,
    ) -> Result<(), EffectError> {
        let mut state = self.idle()?;
        let file = &mut state.file;
        file.write_all(header.as_bytes())
            .map_err(|e| self.write_error(&e))?;
        let copied = std::io::copy(contents, file).map_err(|e| self.write_error(&e))?;
        if copied != len {
            return Err(EffectError::new(
                EffectErrorKind::Other,
                format!(
                    "writing archive {}: a file changed while it was archived",
                    self.shown
                ),
            ));
        }
        file.write_all(&[0u8; BLOCK as usize][..padding(len)])
            .map_err(|e| self.write_error(&e))
    }

    /// Appends the file at `path` as `name`.
    pub fn append_file_from(&self, name: &str, path: &Path) -> Result<(), EffectError> {
        let shown = path.display().to_string();
        let mut file = File::open(path).map_err(|e| go_io_error("open", &shown, &e))?;
        let len = file
            .metadata()
            .map_err(|e| go_io_error("stat", &shown, &e))?
            .len();
        let header = header(name, tar::EntryType::Regular, 0o644, len)?;
        self.append(&header, &mut file, len)
    }

    /// Appends a directory.
    pub fn append_dir(&self, name: &str) -> Result<(), EffectError> {
        let header = header(&format!("{name}/"), tar::EntryType::Directory, 0o755, 0)?;
        self.append(&header, &mut std::io::empty(), 0)
    }

    /// Appends a symbolic link `name` pointing at `target`.
    pub fn append_symlink(&self, name: &str, target: &str) -> Result<(), EffectError> {
        let mut header = header(name, tar::EntryType::Symlink, 0o777, 0)?;
        header
            .set_link_name(target)
            .map_err(|e| EffectError::new(EffectErrorKind::Other, format!("{name}: {e}")))?;
        header.set_cksum();
        self.append(&header, &mut std::io::empty(), 0)
    }

    /// Ends the archive (two empty blocks), syncs it and renames it into place.
    pub fn close(mut self) -> Result<(), EffectError> {
        let state = self.idle()?;
        let mut file = &state.file;
        file.write_all(&[0u8; 2 * BLOCK as usize])
            .map_err(|e| self.write_error(&e))?;
        if let Some(temp) = &self.temp {
            file.sync_all()
                .map_err(|e| go_io_error("sync", &self.shown, &e))?;
            std::fs::rename(temp, &self.target)
                .map_err(|e| go_io_error("rename", &self.shown, &e))?;
        }
        drop(state);
        self.finished = true;
        if let Some(ended) = &self.ended {
            ended.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(())
    }
}

impl Drop for ArchiveWriter {
    fn drop(&mut self) {
        if let Some(temp) = &self.temp {
            crate::archive::unregister_scratch(temp);
            if !self.finished {
                let _ = std::fs::remove_file(temp);
            }
        }
    }
}

/// Bytes of zeroes that pad `len` bytes to a whole block.
fn padding(len: u64) -> usize {
    ((BLOCK - len % BLOCK) % BLOCK) as usize
}

/// A header for `name`, as archives are packed here (owner root, a fixed time).
fn header(
    name: &str,
    kind: tar::EntryType,
    mode: u32,
    size: u64,
) -> Result<tar::Header, EffectError> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(tar::DETERMINISTIC_TIMESTAMP);
    header.set_size(size);
    // Names are written as given (a directory's with its slash); they all fit a header.
    let bytes = name.as_bytes();
    let field = &mut header.as_old_mut().name;
    if bytes.len() > field.len() {
        return Err(EffectError::new(
            EffectErrorKind::Other,
            format!(
                "archive entry name {name:?} is longer than {} bytes",
                field.len()
            ),
        ));
    }
    field[..bytes.len()].copy_from_slice(bytes);
    header.set_cksum();
    Ok(header)
}

impl ArchiveWrite for ArchiveWriter {
    type Entry = StreamedEntry;

    fn streams_entries(&self) -> bool {
        self.temp.is_some()
    }

    async fn begin_entry(&self) -> Result<Option<StreamedEntry>, EffectError> {
        if !self.streams_entries() {
            return Ok(None);
        }
        let mut state = self.lock();
        if state.streaming.is_some() {
            return Ok(None);
        }
        let header_at = state
            .file
            .stream_position()
            .map_err(|e| self.write_error(&e))?;
        // A placeholder until the size is known.
        state
            .file
            .write_all(&[0u8; BLOCK as usize])
            .map_err(|e| self.write_error(&e))?;
        let writer = state.file.try_clone().map_err(|e| self.write_error(&e))?;
        state.streaming = Some(header_at);
        Ok(Some(StreamedEntry {
            sink: FileSink::appending(writer, &self.shown),
            header_at,
        }))
    }

    async fn end_entry(&self, entry: StreamedEntry, name: Option<&str>) -> Result<(), EffectError> {
        let StreamedEntry { sink, header_at } = entry;
        let flushed = sink.finish().await;
        let mut state = self.lock();
        if state.streaming != Some(header_at) {
            return Err(EffectError::new(
                EffectErrorKind::Other,
                format!(
                    "writing archive {}: not the entry being written",
                    self.shown
                ),
            ));
        }
        flushed?;
        let file = &mut state.file;
        match name {
            None => {
                file.set_len(header_at)
                    .and_then(|()| file.seek(SeekFrom::Start(header_at)).map(drop))
                    .map_err(|e| self.write_error(&e))?;
            }
            Some(name) => {
                let end = file.stream_position().map_err(|e| self.write_error(&e))?;
                let size = end - header_at - BLOCK;
                let header = header(name, tar::EntryType::Regular, 0o644, size)?;
                file.write_all(&[0u8; BLOCK as usize][..padding(size)])
                    .and_then(|()| file.write_all_at(header.as_bytes(), header_at))
                    .map_err(|e| self.write_error(&e))?;
            }
        }
        state.streaming = None;
        Ok(())
    }

    async fn add_file(&self, name: &str, bytes: &[u8]) -> Result<(), EffectError> {
        let len = bytes.len() as u64;
        let header = header(name, tar::EntryType::Regular, 0o644, len)?;
        self.append(&header, &mut &bytes[..], len)
    }

    async fn add_file_from(&self, name: &str, path: &str) -> Result<(), EffectError> {
        self.append_file_from(name, Path::new(path))
    }

    async fn add_symlink(&self, name: &str, target: &str) -> Result<(), EffectError> {
        self.append_symlink(name, target)
    }

    async fn finish(self) -> Result<(), EffectError> {
        self.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(path: &Path) -> Vec<(String, tar::EntryType, Vec<u8>)> {
        let file = File::open(path).unwrap();
        tar::Archive::new(file)
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let name = e.path().unwrap().display().to_string();
                let kind = e.header().entry_type();
                let mut body = Vec::new();
                std::io::Read::read_to_end(&mut e, &mut body).unwrap();
                if kind.is_symlink() {
                    body = e.link_name_bytes().unwrap().into_owned();
                }
                (name, kind, body)
            })
            .collect()
    }

    #[test]
    fn streamed_entries_get_their_size_and_name_at_the_end_and_can_be_taken_back() {
        let dir = std::env::temp_dir().join(format!("archive-writer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.tar");
        let staged = dir.join("staged");
        std::fs::write(&staged, b"staged bytes").unwrap();
        let archive = ArchiveWriter::create(path.to_str().unwrap()).unwrap();
        pollster::block_on(async {
            let mut entry = archive.begin_entry().await.unwrap().unwrap();
            // One entry at a time: others are added whole later.
            assert!(archive.begin_entry().await.unwrap().is_none());
            assert!(archive.add_file("x", b"y").await.is_err());
            entry.write_all(&[7u8; 1000]).await.unwrap();
            archive.end_entry(entry, Some("a.tar")).await.unwrap();

            let mut dropped = archive.begin_entry().await.unwrap().unwrap();
            dropped.write_all(b"duplicate").await.unwrap();
            archive.end_entry(dropped, None).await.unwrap();

            archive
                .add_file_from("b.tar", staged.to_str().unwrap())
                .await
                .unwrap();
            archive
                .add_symlink("id/layer.tar", "../a.tar")
                .await
                .unwrap();
            archive.add_file("manifest.json", b"[]").await.unwrap();
        });
        // Nothing at the target until the archive is finished.
        assert!(!path.exists());
        pollster::block_on(archive.finish()).unwrap();
        let got = entries(&path);
        let names: Vec<_> = got.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(names, ["a.tar", "b.tar", "id/layer.tar", "manifest.json"]);
        assert_eq!(got[0].2, vec![7u8; 1000]);
        assert_eq!(got[1].2, b"staged bytes");
        assert_eq!(got[2].2, b"../a.tar");
        assert_eq!(std::fs::metadata(&path).unwrap().len() % 512, 0);

        // Dropped unfinished: the temporary file goes, the target stays as it was.
        let again = ArchiveWriter::create(path.to_str().unwrap()).unwrap();
        pollster::block_on(again.add_file("c", b"d")).unwrap();
        drop(again);
        assert_eq!(entries(&path).len(), 4);
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 2, "{left:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
