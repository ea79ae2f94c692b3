//! The filesystem effect over `std::fs`, with Go-style error messages.

use skopeo_core::effects::{ByteStream, EffectError, EffectErrorKind, Filesystem};
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

/// An open file, read in the caller's buffer sizes.
pub struct FileStream {
    file: std::fs::File,
    path: String,
}

impl ByteStream for FileStream {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, EffectError> {
        self.file
            .read(buf)
            .map_err(|e| go_io_error("read", &self.path, &e))
    }
}

impl Filesystem for NativeFs {
    type Reader = FileStream;

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
        let file = std::fs::File::open(path).map_err(|e| go_io_error("open", path, &e))?;
        Ok(FileStream {
            file,
            path: path.to_owned(),
        })
    }
}
