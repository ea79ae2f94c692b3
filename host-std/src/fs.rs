//! The filesystem effect over `std::fs`, with Go-style error messages.

use skopeo_core::effects::{EffectError, EffectErrorKind, Filesystem, FilesystemWrite};
use std::io::{ErrorKind, Read};

/// Files on the local machine.
pub struct NativeFs;

/// Formats an I/O error as Go's `*PathError` does: `open PATH: no such file or directory`.
pub fn go_io_error(op: &str, path: &str, e: &std::io::Error) -> EffectError {
    let kind = match e.kind() {
        ErrorKind::NotFound => EffectErrorKind::NotFound,
        ErrorKind::PermissionDenied => EffectErrorKind::PermissionDenied,
        _ => EffectErrorKind::Other,
    };
    EffectError::new(kind, format!("{op} {path}: {}", errno_text(e)))
}

/// The lower-case strerror text Go prints (Rust's adds a capital and "(os error N)").
fn errno_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = match s.find(" (os error") {
        Some(i) => &s[..i],
        None => &s,
    };
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

pub use crate::streams::{FileSink, FileStream};

impl Filesystem for NativeFs {
    type Reader = FileStream;

    async fn size(&self, path: &str) -> Result<u64, EffectError> {
        std::fs::metadata(path)
            .map(|m| m.len())
            .map_err(|e| go_io_error("stat", path, &e))
    }

    async fn read_file(&self, path: &str) -> Result<Vec<u8>, EffectError> {
        let mut file = std::fs::File::open(path).map_err(|e| go_io_error("open", path, &e))?;
        let mut out = Vec::new();
        file.read_to_end(&mut out)
            .map_err(|e| go_io_error("read", path, &e))?;
        Ok(out)
    }

    async fn exists(&self, path: &str) -> Result<bool, EffectError> {
        match std::fs::symlink_metadata(path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(go_io_error("lstat", path, &e)),
        }
    }

    async fn open(&self, path: &str) -> Result<Self::Reader, EffectError> {
        FileStream::open(path)
    }
}

impl FilesystemWrite for NativeFs {
    type Writer = FileSink;

    async fn create_dir_all(&self, path: &str) -> Result<(), EffectError> {
        std::fs::create_dir_all(path).map_err(|e| go_io_error("mkdir", path, &e))
    }

    async fn create(&self, path: &str) -> Result<Self::Writer, EffectError> {
        FileSink::create(path)
    }

    async fn rename(&self, from: &str, to: &str) -> Result<(), EffectError> {
        std::fs::rename(from, to).map_err(|e| {
            let base = go_io_error("rename", from, &e);
            EffectError::new(base.kind, format!("rename {from} {to}: {}", errno_text(&e)))
        })
    }

    async fn remove_file(&self, path: &str) -> Result<(), EffectError> {
        std::fs::remove_file(path).map_err(|e| go_io_error("remove", path, &e))
    }

    async fn remove_dir_all(&self, path: &str) -> Result<(), EffectError> {
        std::fs::remove_dir_all(path).map_err(|e| go_io_error("remove", path, &e))
    }

    async fn read_dir(&self, path: &str) -> Result<Vec<String>, EffectError> {
        let entries = std::fs::read_dir(path).map_err(|e| go_io_error("open", path, &e))?;
        entries
            .map(|e| {
                e.map(|e| e.file_name().to_string_lossy().into_owned())
                    .map_err(|e| go_io_error("readdirent", path, &e))
            })
            .collect()
    }

    fn writer_tag(&self) -> String {
        // The process and a count: unique across processes and across this one's threads.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!(".{}-{n}", std::process::id())
    }

    async fn lock(&self, path: &str) -> Result<skopeo_core::effects::LockGuard, EffectError> {
        let is_dir = std::fs::metadata(path).is_ok_and(|m| m.is_dir());
        let file = match is_dir {
            true => std::fs::File::open(path),
            false => std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(path),
        }
        .map_err(|e| go_io_error("open", path, &e))?;
        lock_exclusive(&file).map_err(|e| go_io_error("flock", path, &e))?;
        // Closing the file releases the lock.
        Ok(Box::new(file))
    }
}

#[cfg(not(target_family = "wasm"))]
fn lock_exclusive(file: &std::fs::File) -> std::io::Result<()> {
    rustix::fs::flock(file, rustix::fs::FlockOperation::LockExclusive).map_err(std::io::Error::from)
}

/// WASI has no file locks: a sandbox is one writer.
#[cfg(target_family = "wasm")]
fn lock_exclusive(_file: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}
