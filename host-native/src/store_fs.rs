//! The file work of writing a containers/storage store on this host: layers applied with
//! owners, modes, xattrs, device nodes and times (`LayerTree`), and the store's own needs
//! (`StoreWrite`): containers/storage's POSIX record locks and their last-writer tokens,
//! vfs's copies of a parent layer, files replaced in one rename.

use rustix::fs::{AtFlags, Mode, Timespec, Timestamps, XattrFlags, CWD};
use skopeo_core::containers_storage::apply::{LayerTree, Node, NodeMeta};
use skopeo_core::containers_storage::store_write::{StoreLock, StoreWrite};
use skopeo_core::effects::{ByteStream, EffectError, Filesystem, FilesystemWrite};
use skopeo_std_effects::fs::{go_io_error, NativeFs};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// This host's files, as a store writer sees them.
pub struct StoreFs;

fn failed<'p>(op: &'static str, path: &'p str) -> impl FnOnce(std::io::Error) -> EffectError + 'p {
    move |e| go_io_error(op, path, &e)
}

fn errno<'p>(
    op: &'static str,
    path: &'p str,
) -> impl FnOnce(rustix::io::Errno) -> EffectError + 'p {
    move |e| go_io_error(op, path, &std::io::Error::from(e))
}

impl Filesystem for StoreFs {
    type Reader = <NativeFs as Filesystem>::Reader;

    async fn read_file(&self, path: &str) -> Result<Vec<u8>, EffectError> {
        NativeFs.read_file(path).await
    }

    async fn exists(&self, path: &str) -> Result<bool, EffectError> {
        Ok(std::fs::symlink_metadata(path).is_ok())
    }

    async fn open(&self, path: &str) -> Result<Self::Reader, EffectError> {
        NativeFs.open(path).await
    }

    async fn size(&self, path: &str) -> Result<u64, EffectError> {
        NativeFs.size(path).await
    }
}

impl FilesystemWrite for StoreFs {
    type Writer = <NativeFs as FilesystemWrite>::Writer;

    async fn create_dir_all(&self, path: &str) -> Result<(), EffectError> {
        NativeFs.create_dir_all(path).await
    }

    async fn create(&self, path: &str) -> Result<Self::Writer, EffectError> {
        NativeFs.create(path).await
    }

    async fn rename(&self, from: &str, to: &str) -> Result<(), EffectError> {
        NativeFs.rename(from, to).await
    }

    async fn remove_file(&self, path: &str) -> Result<(), EffectError> {
        NativeFs.remove_file(path).await
    }

    async fn remove_dir_all(&self, path: &str) -> Result<(), EffectError> {
        remove_all(path)
    }

    async fn read_dir(&self, path: &str) -> Result<Vec<String>, EffectError> {
        NativeFs.read_dir(path).await
    }
}

fn remove_all(path: &str) -> Result<(), EffectError> {
    let removed = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => Err(e),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
    };
    removed.map_err(failed("unlinkat", path))
}

fn timespec((secs, nanos): (i64, u32)) -> Timespec {
    Timespec {
        tv_sec: secs,
        tv_nsec: i64::from(nanos),
    }
}

/// Owner, xattrs, mode, times: in containers/storage's order (a chown clears set-ID bits).
fn set_meta(path: &str, meta: &NodeMeta) -> Result<(), EffectError> {
    let owner = Some(rustix::fs::Uid::from_raw(meta.uid));
    let group = Some(rustix::fs::Gid::from_raw(meta.gid));
    rustix::fs::chownat(CWD, path, owner, group, AtFlags::SYMLINK_NOFOLLOW)
        .map_err(errno("lchown", path))?;
    for (name, value) in &meta.xattrs {
        set_xattr(path, name, value)?;
    }
    if let Some(mode) = meta.mode {
        rustix::fs::chmodat(CWD, path, Mode::from_raw_mode(mode), AtFlags::empty())
            .map_err(errno("chmod", path))?;
    }
    if let Some((mtime, atime)) = meta.times {
        set_times(path, mtime, atime)?;
    }
    Ok(())
}

/// Sets an xattr; file systems without xattrs are passed over, as containers/storage does.
fn set_xattr(path: &str, name: &str, value: &[u8]) -> Result<(), EffectError> {
    match rustix::fs::lsetxattr(path, name, value, XattrFlags::empty()) {
        Err(e) if e == rustix::io::Errno::NOTSUP => Ok(()),
        other => other.map_err(errno("lsetxattr", path)),
    }
}

fn set_times(path: &str, mtime: (i64, u32), atime: (i64, u32)) -> Result<(), EffectError> {
    let times = Timestamps {
        last_access: timespec(atime),
        last_modification: timespec(mtime),
    };
    rustix::fs::utimensat(CWD, path, &times, AtFlags::SYMLINK_NOFOLLOW)
        .map_err(errno("utimensat", path))
}

fn mknod(path: &str, kind: rustix::fs::FileType, mode: u32, dev: u64) -> Result<(), EffectError> {
    rustix::fs::mknodat(CWD, path, kind, Mode::from_raw_mode(mode & 0o7777), dev)
        .map_err(errno("mknod", path))
}

impl LayerTree for StoreFs {
    async fn make(&self, path: &str, node: Node<'_>, meta: &NodeMeta) -> Result<(), EffectError> {
        use rustix::fs::FileType;
        let mode = meta.mode.unwrap_or(0o755);
        match node {
            Node::Directory => {
                if !std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
                    std::fs::DirBuilder::new()
                        .mode(mode)
                        .create(path)
                        .map_err(failed("mkdir", path))?;
                }
            }
            Node::Symlink(target) => std::os::unix::fs::symlink(OsStr::from_bytes(target), path)
                .map_err(failed("symlink", path))?,
            Node::HardLink(target) => {
                std::fs::hard_link(target, path).map_err(failed("link", path))?
            }
            Node::CharDevice(major, minor) => mknod(
                path,
                FileType::CharacterDevice,
                mode,
                rustix::fs::makedev(major, minor),
            )?,
            Node::BlockDevice(major, minor) => mknod(
                path,
                FileType::BlockDevice,
                mode,
                rustix::fs::makedev(major, minor),
            )?,
            Node::Fifo => mknod(path, FileType::Fifo, mode, 0)?,
        }
        set_meta(path, meta)
    }

    async fn make_file<S: ByteStream>(
        &self,
        path: &str,
        meta: &NodeMeta,
        contents: &mut S,
    ) -> Result<(), EffectError> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(meta.mode.unwrap_or(0o644) & 0o777)
            .open(path)
            .map_err(failed("open", path))?;
        loop {
            let chunk = contents.read_chunk().await?;
            if chunk.is_empty() {
                break;
            }
            file.write_all(&chunk).map_err(failed("write", path))?;
        }
        drop(file);
        set_meta(path, meta)
    }

    async fn lstat_is_dir(&self, path: &str) -> Result<Option<bool>, EffectError> {
        match std::fs::symlink_metadata(path) {
            Ok(m) => Ok(Some(m.is_dir())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(go_io_error("lstat", path, &e)),
        }
    }

    async fn remove_all(&self, path: &str) -> Result<(), EffectError> {
        remove_all(path)
    }

    async fn make_dirs(&self, path: &str) -> Result<(), EffectError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(path)
            .map_err(failed("mkdir", path))
    }

    async fn list(&self, path: &str) -> Result<Vec<String>, EffectError> {
        NativeFs.read_dir(path).await
    }

    async fn set_xattr(&self, path: &str, name: &str, value: &[u8]) -> Result<(), EffectError> {
        set_xattr(path, name, value)
    }

    async fn set_times(
        &self,
        path: &str,
        mtime: (i64, u32),
        atime: (i64, u32),
    ) -> Result<(), EffectError> {
        set_times(path, mtime, atime)
    }
}

/// A held containers/storage lock (closing the file releases it).
pub struct StoreFileLock(std::fs::File, String);

impl StoreLock for StoreFileLock {
    fn touch(&mut self, token: &[u8; 64]) -> Result<(), EffectError> {
        self.0
            .write_all_at(token, 0)
            .map_err(failed("pwrite", &self.1))
    }
}

impl StoreWrite for StoreFs {
    type Lock = StoreFileLock;

    async fn lock_file(&self, path: &str) -> Result<Self::Lock, EffectError> {
        if let Some(parent) = Path::new(path).parent() {
            std::fs::create_dir_all(parent).map_err(failed("mkdir", path))?;
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(path)
            .map_err(failed("open", path))?;
        rustix::fs::fcntl_lock(&file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(errno("fcntl", path))?;
        Ok(StoreFileLock(file, path.to_owned()))
    }

    async fn copy_tree(&self, from: &str, to: &str) -> Result<(), EffectError> {
        copy_tree(Path::new(from), Path::new(to), &mut HashMap::new())
    }

    async fn make_dir_with_mode(&self, path: &str, mode: u32) -> Result<(), EffectError> {
        std::fs::DirBuilder::new()
            .mode(mode)
            .create(path)
            .map_err(failed("mkdir", path))?;
        rustix::fs::chmodat(CWD, path, Mode::from_raw_mode(mode), AtFlags::empty())
            .map_err(errno("chmod", path))
    }

    async fn symlink(&self, target: &str, path: &str) -> Result<(), EffectError> {
        std::os::unix::fs::symlink(target, path).map_err(failed("symlink", path))
    }

    async fn write_atomic(&self, path: &str, bytes: &[u8]) -> Result<(), EffectError> {
        let tmp = format!("{path}.tmp-{}", std::process::id());
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
            .and_then(|()| std::fs::rename(&tmp, path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written.map_err(failed("write", path))
    }

    fn now_nanos(&self) -> i128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128)
    }

    fn random(&self, buf: &mut [u8]) {
        getrandom::fill(buf).expect("the system's random numbers");
    }

    fn process_id(&self) -> u32 {
        std::process::id()
    }
}

/// Copies `from` to the new `to` with everything a layer keeps; files linked more than once
/// are linked again in the copy (`seen`: inode to its first copy).
fn copy_tree(
    from: &Path,
    to: &Path,
    seen: &mut HashMap<(u64, u64), std::path::PathBuf>,
) -> Result<(), EffectError> {
    let shown = to.display().to_string();
    let meta = std::fs::symlink_metadata(from).map_err(failed("lstat", &shown))?;
    let kind = meta.file_type();
    if kind.is_dir() {
        std::fs::create_dir(to).map_err(failed("mkdir", &shown))?;
        for entry in std::fs::read_dir(from).map_err(failed("open", &shown))? {
            let entry = entry.map_err(failed("readdirent", &shown))?;
            copy_tree(&entry.path(), &to.join(entry.file_name()), seen)?;
        }
    } else if meta.nlink() > 1 && seen.contains_key(&(meta.dev(), meta.ino())) {
        let first = &seen[&(meta.dev(), meta.ino())];
        return std::fs::hard_link(first, to).map_err(failed("link", &shown));
    } else if kind.is_symlink() {
        let target = std::fs::read_link(from).map_err(failed("readlink", &shown))?;
        std::os::unix::fs::symlink(target, to).map_err(failed("symlink", &shown))?;
    } else if kind.is_file() {
        std::fs::copy(from, to).map_err(failed("copy", &shown))?;
    } else {
        let file_type = rustix::fs::FileType::from_raw_mode(meta.mode());
        mknod(&shown, file_type, meta.mode(), meta.rdev())?;
    }
    if meta.nlink() > 1 && !kind.is_dir() {
        seen.insert((meta.dev(), meta.ino()), to.to_path_buf());
    }
    let mut xattrs = Vec::new();
    for name in list_xattrs(from) {
        if let Ok(value) = get_xattr(from, &name) {
            xattrs.push((name, value));
        }
    }
    let times = (
        (meta.mtime(), meta.mtime_nsec() as u32),
        (meta.atime(), meta.atime_nsec() as u32),
    );
    set_meta(
        &shown,
        &NodeMeta {
            uid: meta.uid(),
            gid: meta.gid(),
            xattrs,
            mode: (!kind.is_symlink()).then_some(meta.mode() & 0o7777),
            times: Some(times),
        },
    )
}

fn list_xattrs(path: &Path) -> Vec<String> {
    let mut buf = vec![0u8; 4096];
    let Ok(n) = rustix::fs::llistxattr(path, &mut buf) else {
        return Vec::new();
    };
    buf[..n]
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect()
}

fn get_xattr(path: &Path, name: &str) -> rustix::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 65536];
    let n = rustix::fs::lgetxattr(path, name, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}
