//! Reading `docker save` and OCI archives from disk: plain tar files or tar files compressed
//! whole with gzip, zstd, bzip2 or xz (decompressed as they are read, by the core's
//! decompressors), one named component at a time, as containers/image reads them.

use crate::archive_writer::ArchiveWriter;
use skopeo_core::compression::{detect, Decompressor};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The archive as a tar stream, decompressed on the fly when it is compressed.
fn open_tar(path: &str) -> Result<tar::Archive<Box<dyn Read>>, String> {
    let file = std::fs::File::open(path).map_err(|e| {
        format!(
            "opening file {path:?}: {}",
            crate::fs::go_io_error("open", path, &e)
        )
    })?;
    let mut reader = BufReader::with_capacity(128 << 10, file);
    let head = reader
        .fill_buf()
        .map_err(|e| format!("detecting compression for file {path:?}: {e}"))?;
    let stream: Box<dyn Read> = match detect(head) {
        Some(algorithm) => Box::new(Decompressing {
            inner: reader,
            decoder: Some(Decompressor::new(algorithm)),
            out: Vec::new(),
            pos: 0,
        }),
        None => Box::new(reader),
    };
    Ok(tar::Archive::new(stream))
}

/// `inner` decompressed by one of the core's push decompressors as it is read.
struct Decompressing<R> {
    inner: R,
    /// `None` once the input has ended and the decoder finished.
    decoder: Option<Decompressor>,
    out: Vec<u8>,
    pos: usize,
}

impl<R: BufRead> Read for Decompressing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.out.len() {
            let Some(decoder) = self.decoder.as_mut() else {
                return Ok(0);
            };
            let input = self.inner.fill_buf()?;
            self.pos = 0;
            if input.is_empty() {
                self.out = self.decoder.take().expect("checked above").finish()?;
            } else {
                let n = input.len();
                self.out = decoder.push(input)?;
                self.inner.consume(n);
            }
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Lexically cleans a tar member name as Go's `path.Clean` does for the cases archives have
/// (`./x`, `x/`, `a//b`).
fn clean(name: &str) -> String {
    let parts: Vec<&str> = name
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    parts.join("/")
}

/// A scratch directory removed (with its contents) when dropped, or by
/// [`remove_scratch_dirs`] when the process must exit at once.
pub struct ScratchDir(pub PathBuf);

/// `--tmpdir`: where scratch directories go instead of the system's temporary directory.
pub static SCRATCH_ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// The scratch directories that exist now.
static LIVE_SCRATCH: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn live_scratch() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE_SCRATCH.lock().unwrap_or_else(|p| p.into_inner())
}

/// Removes every scratch directory and file still there (before an exit that skips
/// destructors).
pub fn remove_scratch_dirs() {
    for path in live_scratch().drain(..) {
        if std::fs::remove_dir_all(&path).is_err() {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Adds a scratch file (an archive being written) for [`remove_scratch_dirs`].
pub fn register_scratch(path: &Path) {
    live_scratch().push(path.to_owned());
}

/// Forgets a scratch file its owner has removed or kept.
pub fn unregister_scratch(path: &Path) {
    live_scratch().retain(|p| p != path);
}

impl ScratchDir {
    /// A new empty directory under the system's temporary directory.
    pub fn new(label: &str) -> Result<Self, String> {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let root = SCRATCH_ROOT
            .get()
            .cloned()
            .unwrap_or_else(std::env::temp_dir);
        let dir = root.join(format!("skopeo-{label}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("creating temporary directory {}: {e}", dir.display()))?;
        live_scratch().push(dir.clone());
        Ok(ScratchDir(dir))
    }

    /// The directory as a `/`-separated path.
    pub fn path(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        live_scratch().retain(|d| d != &self.0);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Refuses a symbolic or hard link whose target is outside the archive: absolute, or above
/// the archive's root from where the link is.
fn refuse_links_out<R: std::io::Read>(entry: &tar::Entry<R>) -> Result<(), String> {
    let kind = entry.header().entry_type();
    if !kind.is_symlink() && !kind.is_hard_link() {
        return Ok(());
    }
    let name = entry
        .path()
        .map_err(|e| e.to_string())?
        .to_string_lossy()
        .into_owned();
    let target = match entry.link_name() {
        Ok(Some(t)) => t.to_string_lossy().into_owned(),
        _ => return Err(format!("link {name:?} has no target")),
    };
    if skopeo_core::docker_archive::paths::link_leaves_archive(&name, &target, kind.is_symlink()) {
        return Err(format!(
            "link {name:?} points outside the archive ({target:?})"
        ));
    }
    Ok(())
}

/// Unpacks the archive at `path` (plain or gzip tar) into `into`; entries may not leave it.
pub fn extract(path: &str, into: &Path) -> Result<(), String> {
    unpack(open_tar(path)?, path, into)
}

/// Unpacks the plain tar `stream` gives (`what`, for errors) into `into`, as it arrives.
pub fn extract_stream(stream: impl Read, what: &str, into: &Path) -> Result<(), String> {
    unpack(tar::Archive::new(stream), what, into)
}

fn unpack<R: Read>(mut archive: tar::Archive<R>, path: &str, into: &Path) -> Result<(), String> {
    archive.set_preserve_permissions(false);
    let entries = archive
        .entries()
        .map_err(|e| format!("reading {path}: {}", tar_error(&e)))?;
    for entry in entries {
        crate::interrupt::check().map_err(|e| format!("reading {path}: {e}"))?;
        let mut entry = entry.map_err(|e| format!("reading {path}: {}", tar_error(&e)))?;
        refuse_links_out(&entry).map_err(|e| format!("extracting {path}: {e}"))?;
        // `unpack_in` refuses paths that would escape `into`.
        entry
            .unpack_in(into)
            .map_err(|e| format!("extracting {path}: {e}"))?;
    }
    Ok(())
}

/// Writes the contents of `dir` as an uncompressed tar at `path` (names sorted, symlinks
/// kept as links), through the same [`ArchiveWriter`] docker archives are written with: a
/// temporary file renamed into place, so a failure leaves any previous archive as it was, or
/// a target that is not a file (a pipe, /dev/stdout) written in place.
pub fn create(dir: &Path, path: &str) -> Result<(), String> {
    let failed = |e: skopeo_core::effects::EffectError| format!("writing archive {path}: {e}");
    let archive = ArchiveWriter::create(path).map_err(failed)?;
    append_sorted(&archive, dir, Path::new("")).map_err(failed)?;
    archive.close().map_err(failed)
}

/// Appends what is under `dir/rel`, in name order, directories before what they hold.
fn append_sorted(
    archive: &ArchiveWriter,
    dir: &Path,
    rel: &Path,
) -> Result<(), skopeo_core::effects::EffectError> {
    use skopeo_std_effects::fs::go_io_error;
    let listed = dir.join(rel);
    let shown = listed.display().to_string();
    let mut names: Vec<_> = std::fs::read_dir(&listed)
        .and_then(|entries| entries.map(|e| e.map(|e| e.file_name())).collect())
        .map_err(|e| go_io_error("open", &shown, &e))?;
    names.sort();
    for name in names {
        skopeo_std_effects::interrupt::check()?;
        let rel_path = rel.join(&name);
        let full = dir.join(&rel_path);
        let entry = rel_path.to_string_lossy();
        let meta = std::fs::symlink_metadata(&full)
            .map_err(|e| go_io_error("lstat", &full.display().to_string(), &e))?;
        if meta.is_dir() {
            archive.append_dir(&entry)?;
            append_sorted(archive, dir, &rel_path)?;
        } else if meta.is_symlink() {
            let target = std::fs::read_link(&full)
                .map_err(|e| go_io_error("readlink", &full.display().to_string(), &e))?;
            archive.append_symlink(&entry, &target.to_string_lossy())?;
        } else {
            archive.append_file_from(&entry, &full)?;
        }
    }
    Ok(())
}

/// A tar reading failure in Go's `archive/tar` words.
fn tar_error(e: &std::io::Error) -> String {
    let text = e.to_string();
    if e.kind() == std::io::ErrorKind::UnexpectedEof || text.contains("failed to read entire block")
    {
        "unexpected EOF".into()
    } else if text.contains("checksum") {
        "archive/tar: invalid tar header".into()
    } else {
        text
    }
}

/// The whole content of the member `component` of the archive at `path`.
pub fn read_component(path: &str, component: &str) -> Result<Vec<u8>, String> {
    let wrap = |e: String| format!("loading tar component {component}: {e}");
    let mut archive = open_tar(path)?;
    let entries = archive.entries().map_err(|e| wrap(tar_error(&e)))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| wrap(tar_error(&e)))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if clean(&name) != clean(component) {
            continue;
        }
        if !entry.header().entry_type().is_file() {
            return Err(wrap(format!(
                "Error reading tar archive component {name}: not a regular file"
            )));
        }
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| wrap(tar_error(&e)))?;
        return Ok(bytes);
    }
    Err(wrap("file does not exist".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_found_by_cleaned_name_in_plain_and_gzip_archives() {
        let dir = std::env::temp_dir().join(format!("archive-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(2);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, "./manifest.json", &b"[]"[..])
            .unwrap();
        let plain = builder.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &plain).unwrap();
        for (name, bytes) in [
            ("plain.tar", plain.clone()),
            ("packed.tar.gz", gz.finish().unwrap()),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            let p = path.to_str().unwrap();
            assert_eq!(read_component(p, "manifest.json").unwrap(), b"[]");
            assert_eq!(
                read_component(p, "repositories").unwrap_err(),
                "loading tar component repositories: file does not exist"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
