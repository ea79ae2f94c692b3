//! The host's I/O surface. The core never touches files, sockets, threads or clocks itself: it
//! asks the host through these traits, which every host (native CLI, WASI component, browser)
//! implements. Operations are `async fn`s so that a blocking host can complete them at once
//! (and drive the core with a trivial executor) while the browser awaits real promises.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

/// What kind of failure an effect reported, for decisions the core makes on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EffectErrorKind {
    NotFound,
    PermissionDenied,
    /// A network failure that may go away (refused, reset, timed out): worth retrying.
    Transient,
    Other,
}

/// A failed effect, with the host's message (already naming the operation and path, Go-style:
/// `open /x/index.json: no such file or directory`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectError {
    pub kind: EffectErrorKind,
    pub message: String,
}

impl EffectError {
    /// An error of `kind` with `message`.
    pub fn new(kind: EffectErrorKind, message: impl Into<String>) -> Self {
        EffectError {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for EffectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EffectError {}

/// A stream of bytes from the host (a file, an HTTP body). Chunks are the host's buffers, so
/// memory stays bounded by buffer size, never by blob size.
pub trait ByteStream {
    /// Fills `buf` with up to `buf.len()` bytes; `Ok(0)` at the end.
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, EffectError>;

    /// The next piece of the stream as a buffer of its own, of a size the stream chooses;
    /// empty at the end. Streams that already hold their data in buffers hand them over
    /// instead of copying (pair with [`ByteSink::write_chunk`]).
    async fn read_chunk(&mut self) -> Result<Vec<u8>, EffectError> {
        let mut chunk = vec![0u8; DEFAULT_CHUNK];
        let n = self.read(&mut chunk).await?;
        chunk.truncate(n);
        Ok(chunk)
    }

    /// Offers to hash what this stream hands over with `algorithm` on the host's side of it
    /// (the worker that reads ahead), so that hashing runs beside the caller instead of on its
    /// thread. Only a stream nothing was read from yet can take it; `false` (the default)
    /// leaves the hashing to the caller. Streams that pass bytes through unchanged forward it.
    fn hash_ahead(&mut self, algorithm: crate::digest::Algorithm) -> bool {
        let _ = algorithm;
        false
    }

    /// [`ByteStream::hash_ahead`] going on from `digester`, which already holds what came
    /// before this stream (a download resumed part-way keeps one digest over the whole blob).
    /// Hands the digester back when the stream cannot take it (`None`: taken).
    fn hash_ahead_from(
        &mut self,
        digester: crate::digest::Digester,
    ) -> Option<crate::digest::Digester> {
        Some(digester)
    }

    /// After the end of a stream that took [`ByteStream::hash_ahead`], or after it failed: the
    /// digester fed with every byte handed over. `None` before then or when it was not taken.
    fn hashed(&mut self) -> Option<crate::digest::Digester> {
        None
    }
}

/// A stream borrowed is a stream: whoever holds it reads from the one it points at.
impl<S: ByteStream + ?Sized> ByteStream for &mut S {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, EffectError> {
        (**self).read(buf).await
    }

    async fn read_chunk(&mut self) -> Result<Vec<u8>, EffectError> {
        (**self).read_chunk().await
    }

    fn hash_ahead(&mut self, algorithm: crate::digest::Algorithm) -> bool {
        (**self).hash_ahead(algorithm)
    }

    fn hash_ahead_from(
        &mut self,
        digester: crate::digest::Digester,
    ) -> Option<crate::digest::Digester> {
        (**self).hash_ahead_from(digester)
    }

    fn hashed(&mut self) -> Option<crate::digest::Digester> {
        (**self).hashed()
    }
}

/// The size of the pieces [`ByteStream::read_chunk`] reads by default.
pub const DEFAULT_CHUNK: usize = 256 * 1024;

/// Read access to the host's files. Paths are the user's, `/`-separated.
pub trait Filesystem {
    /// The stream [`Filesystem::open`] returns.
    type Reader: ByteStream;

    /// Reads a whole small file (manifests, index.json, configs).
    async fn read_file(&self, path: &str) -> Result<Vec<u8>, EffectError>;

    /// Whether `path` exists (without following a final symlink).
    async fn exists(&self, path: &str) -> Result<bool, EffectError>;

    /// Opens a file for streaming (layers and other large blobs).
    async fn open(&self, path: &str) -> Result<Self::Reader, EffectError>;

    /// A file's size in bytes (following symlinks).
    async fn size(&self, path: &str) -> Result<u64, EffectError>;
}

/// A file being written, in the caller's chunk sizes.
pub trait ByteSink {
    /// Writes all of `buf`.
    async fn write_all(&mut self, buf: &[u8]) -> Result<(), EffectError>;

    /// Writes `chunk`, which the sink may keep instead of copying.
    async fn write_chunk(&mut self, chunk: Vec<u8>) -> Result<(), EffectError> {
        self.write_all(&chunk).await
    }

    /// Flushes the data to stable storage and closes the file.
    async fn finish(self) -> Result<(), EffectError>;
}

/// Memory as a sink, for small blobs kept in memory (a docker archive's config).
impl ByteSink for &mut Vec<u8> {
    async fn write_all(&mut self, buf: &[u8]) -> Result<(), EffectError> {
        self.extend_from_slice(buf);
        Ok(())
    }

    async fn finish(self) -> Result<(), EffectError> {
        Ok(())
    }
}

/// Write access to the host's files, for copy destinations. Destinations write under
/// temporary names and rename into place, so a failed copy leaves nothing behind.
pub trait FilesystemWrite: Filesystem {
    /// The sink [`FilesystemWrite::create`] returns.
    type Writer: ByteSink;

    /// Creates `path` and missing parents (mode 0755).
    async fn create_dir_all(&self, path: &str) -> Result<(), EffectError>;

    /// Creates or truncates `path` for writing (mode 0644).
    async fn create(&self, path: &str) -> Result<Self::Writer, EffectError>;

    /// Renames `from` to `to`, replacing a file at `to`.
    async fn rename(&self, from: &str, to: &str) -> Result<(), EffectError>;

    /// Removes a file.
    async fn remove_file(&self, path: &str) -> Result<(), EffectError>;

    /// Removes a directory and everything in it.
    async fn remove_dir_all(&self, path: &str) -> Result<(), EffectError>;

    /// The names in a directory (not `.` and `..`), in no particular order.
    async fn read_dir(&self, path: &str) -> Result<Vec<String>, EffectError>;

    /// A name part no other writer uses at the same time (the process, natively), for
    /// temporary files several processes may write side by side in one directory.
    fn writer_tag(&self) -> String {
        String::new()
    }

    /// Takes an exclusive advisory lock on `path` (a directory, or a file created if
    /// missing), held until the guard is dropped, so processes writing the same layout take
    /// turns. Hosts without
    /// file locks (one writer per sandbox) keep the default, which holds nothing.
    async fn lock(&self, path: &str) -> Result<LockGuard, EffectError> {
        let _ = path;
        Ok(Box::new(()))
    }
}

/// Holds a [`FilesystemWrite::lock`] until dropped.
pub type LockGuard = Box<dyn std::any::Any>;

/// A tar archive being written entry by entry (a `docker-archive:` destination). The host
/// owns the file and the tar format (writing to a temporary file it renames into place at
/// [`ArchiveWrite::finish`]); the core decides the entries' names and contents. Entries are
/// written one at a time.
pub trait ArchiveWrite {
    /// A regular file streamed into the archive, its size filled in at its end.
    type Entry: ByteSink;

    /// Whether [`ArchiveWrite::begin_entry`] can ever succeed: the archive can be rewound to
    /// fill in an entry's size (a file can, a pipe cannot).
    fn streams_entries(&self) -> bool;

    /// Starts a regular file whose size is known only at its end, written straight into the
    /// archive; `None` when the archive cannot take one now (another entry is being
    /// streamed, or it cannot be rewound): the caller stages the file and adds it later.
    async fn begin_entry(&self) -> Result<Option<Self::Entry>, EffectError>;

    /// Finishes writing a streamed entry and names it `name`, or with `None` takes it back
    /// out of the archive (a duplicate, or a failed copy).
    async fn end_entry(&self, entry: Self::Entry, name: Option<&str>) -> Result<(), EffectError>;

    /// Appends a regular file holding `bytes`.
    async fn add_file(&self, name: &str, bytes: &[u8]) -> Result<(), EffectError>;

    /// Appends the file at `path` (a staged blob) as `name`.
    async fn add_file_from(&self, name: &str, path: &str) -> Result<(), EffectError>;

    /// Appends a symbolic link `name` pointing at `target`.
    async fn add_symlink(&self, name: &str, target: &str) -> Result<(), EffectError>;

    /// Ends the archive and puts it in place. Dropped without this, the archive is
    /// discarded and whatever was at its place stays.
    async fn finish(self) -> Result<(), EffectError>;
}

/// HTTP for the registry protocol. The core builds every request (URL, headers, credentials)
/// and decides on every response; the host only moves bytes, applying the transport settings
/// (TLS roots, client certificates, verification, proxies) it knows for the request's host.
/// Bodies are whole: manifests, tag lists, tokens and configs are small.
pub trait HttpClient {
    /// The body of a response read as a stream (blobs).
    type Body: ByteStream;

    /// Sends `request` and returns the response whatever its status. `Err` only when no
    /// response arrived (connection refused, TLS failure, timeout), Go-style message.
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, EffectError>;

    /// Sends `request` with its body read from `body` while it is sent (uploads), `length`
    /// bytes when known. Memory stays bounded by the host's buffers.
    async fn send_streamed_body<S: ByteStream>(
        &self,
        request: http::Request<()>,
        body: &mut S,
        length: Option<u64>,
    ) -> Result<http::Response<Vec<u8>>, EffectError>;

    /// Like [`HttpClient::send`], but the body is left unread, to be streamed.
    async fn send_streaming(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Self::Body>, EffectError>;
}

/// Where the core's CPU-heavy work runs (compressing a layer block by block): on the host's
/// other cores when it has some, else inline. The result is the same either way; only the
/// time it takes differs.
pub trait Offload {
    /// How many jobs can usefully run at once.
    fn parallelism(&self) -> usize;

    /// Starts `job` now (not when the future is first polled); the future completes once it
    /// has run.
    fn start(&self, job: Box<dyn FnOnce() + Send>) -> Pin<Box<dyn Future<Output = ()>>>;
}

/// Runs each job at once on the caller's thread: hosts without threads.
pub struct Inline;

impl Offload for Inline {
    fn parallelism(&self) -> usize {
        1
    }

    fn start(&self, job: Box<dyn FnOnce() + Send>) -> Pin<Box<dyn Future<Output = ()>>> {
        job();
        Box::pin(std::future::ready(()))
    }
}

/// A shared handle to the host's [`Offload`] ([`Inline`] by default).
#[derive(Clone)]
pub struct Workers(Arc<dyn Offload + Send + Sync>);

impl Workers {
    /// A handle to `offload`.
    pub fn new(offload: impl Offload + Send + Sync + 'static) -> Self {
        Workers(Arc::new(offload))
    }

    /// How many jobs can usefully run at once.
    pub fn parallelism(&self) -> usize {
        self.0.parallelism().max(1)
    }

    /// Starts `work`; [`Started::result`] waits for what it returns.
    pub fn start<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Started<T> {
        let slot = Arc::new(Mutex::new(None));
        let filled = Arc::clone(&slot);
        let done = self.0.start(Box::new(move || {
            let value = work();
            *filled.lock().unwrap_or_else(|p| p.into_inner()) = Some(value);
        }));
        Started { done, slot }
    }
}

impl Default for Workers {
    fn default() -> Self {
        Workers::new(Inline)
    }
}

impl fmt::Debug for Workers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Workers({})", self.parallelism())
    }
}

/// A job started with [`Workers::start`].
pub struct Started<T> {
    done: Pin<Box<dyn Future<Output = ()>>>,
    slot: Arc<Mutex<Option<T>>>,
}

impl<T> Started<T> {
    /// Waits for the job and returns what it returned.
    pub async fn result(mut self) -> T {
        (&mut self.done).await;
        self.take()
    }

    /// What the job returned, if it has finished.
    pub fn try_result(&mut self) -> Option<T> {
        crate::concurrent::now_or_never(&mut self.done)?;
        Some(self.take())
    }

    fn take(&self) -> T {
        let value = self.slot.lock().unwrap_or_else(|p| p.into_inner()).take();
        value.expect("an offloaded job fills its slot before it completes")
    }
}

/// Reads all of `stream` (for hosts that send bodies whole).
pub async fn read_all<S: ByteStream>(stream: &mut S) -> Result<Vec<u8>, EffectError> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// Owned bytes as a stream, for hosts that receive bodies whole.
pub struct VecStream {
    bytes: Vec<u8>,
    at: usize,
}

impl VecStream {
    /// A stream over `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        VecStream { bytes, at: 0 }
    }
}

impl ByteStream for VecStream {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, EffectError> {
        let n = buf.len().min(self.bytes.len() - self.at);
        buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The host's wall clock, for token expiry and retry delays.
pub trait Clock {
    /// Seconds since the Unix epoch.
    fn now_unix(&self) -> i64;

    /// Waits `seconds` (a registry asked to retry later).
    async fn sleep(&self, seconds: u64);
}

/// Drains `stream` into `sink`, chunk by chunk, using a buffer of `buf_size` bytes.
pub async fn for_each_chunk<S: ByteStream>(
    stream: &mut S,
    buf_size: usize,
    mut sink: impl FnMut(&[u8]) -> Result<(), crate::Error>,
) -> Result<(), crate::Error> {
    let mut buf = vec![0u8; buf_size];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        sink(&buf[..n])?;
    }
}
