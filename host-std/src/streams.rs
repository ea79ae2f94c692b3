//! Open files as the core's byte streams and sinks. Natively a worker thread reads ahead of
//! (or writes and syncs behind) the core, so concurrent blob copies overlap their disk work
//! and the caller's thread is left to hash; in a WASI component, which has one thread, the
//! file is read and written in place.

use crate::fs::go_io_error;
use skopeo_core::effects::{ByteSink, ByteStream, EffectError};

#[cfg(not(target_family = "wasm"))]
mod imp {
    use super::*;
    use crate::direct::DirectWriter;
    use crate::pipe::{pipe, read_ahead, PipeReader, PipeWriter};
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    /// Chunks a file's worker may hold ahead of the reader (or behind the writer).
    const DEPTH: usize = 1;

    /// An open file, read ahead on a worker thread.
    pub struct FileStream(PipeReader);

    impl FileStream {
        pub(crate) fn open(path: &str) -> Result<Self, EffectError> {
            let file = std::fs::File::open(path).map_err(|e| go_io_error("open", path, &e))?;
            let shown = path.to_owned();
            Ok(FileStream(read_ahead(file, DEPTH, move |e| {
                go_io_error("read", &shown, &e)
            })))
        }
    }

    impl ByteStream for FileStream {
        async fn read(&mut self, buf: &mut [u8]) -> Result<usize, EffectError> {
            self.0.read(buf).await
        }

        async fn read_chunk(&mut self) -> Result<Vec<u8>, EffectError> {
            self.0.read_chunk().await
        }

        fn hash_ahead(&mut self, algorithm: skopeo_core::digest::Algorithm) -> bool {
            self.0.hash_ahead(algorithm)
        }

        fn hashed(&mut self) -> Option<skopeo_core::digest::Digester> {
            self.0.hashed()
        }
    }

    type Outcome = Pin<Box<dyn Future<Output = Result<(), EffectError>> + Send>>;

    /// A file being written by a worker thread (and, for a whole file, synced at `finish`).
    pub struct FileSink {
        chunks: Option<PipeWriter>,
        finished: Arc<AtomicBool>,
        outcome: Outcome,
        /// The worker's result once awaited: a failed write awaits it before `finish` does.
        ended: Option<Result<(), EffectError>>,
    }

    impl FileSink {
        pub(crate) fn create(path: &str) -> Result<Self, EffectError> {
            let file = std::fs::File::create(path).map_err(|e| go_io_error("open", path, &e))?;
            Ok(Self::writing(DirectWriter::new(file), true, path))
        }

        /// Writes what comes at `file`'s current offset (errors name `path`), without
        /// syncing at `finish`: for a part of a larger file its owner syncs. Direct writes
        /// set `O_DIRECT` on the file description `file` shares with its owner's handle, so
        /// the owner writes nothing through that handle until `finish` returns or the sink
        /// is dropped (either clears it).
        pub fn appending(file: std::fs::File, path: &str) -> Self {
            use std::io::Seek;
            let mut file = file;
            // Not seekable (a pipe): no offset to align to, and no direct writes either.
            let offset = file.stream_position().unwrap_or(0);
            Self::writing(DirectWriter::appending(file, offset), false, path)
        }

        /// Writes through `writer` on a worker; at `finish`, syncs the file when `sync`.
        fn writing(writer: DirectWriter, sync: bool, path: &str) -> Self {
            let (tx, rx) = pipe(DEPTH);
            let finished = Arc::new(AtomicBool::new(false));
            let done = Arc::clone(&finished);
            let path = path.to_owned();
            let outcome = crate::background::on_thread(move || {
                let mut file = writer;
                while let Some(chunk) = rx.recv_blocking() {
                    file.write_all(&chunk)
                        .map_err(|e| go_io_error("write", &path, &e))?;
                    crate::pipe::recycle(chunk);
                }
                // Dropped without `finish`: the copy was abandoned, the file is discarded.
                if done.load(Ordering::Acquire) {
                    file.finish().map_err(|e| go_io_error("write", &path, &e))?;
                    if sync {
                        file.file()
                            .sync_all()
                            .map_err(|e| go_io_error("sync", &path, &e))?;
                    }
                }
                Ok(())
            });
            FileSink {
                chunks: Some(tx),
                finished,
                outcome: Box::pin(outcome),
                ended: None,
            }
        }

        /// What the worker ended with (awaited once, then remembered).
        async fn ended(&mut self) -> Result<(), EffectError> {
            if self.ended.is_none() {
                self.ended = Some((&mut self.outcome).await);
            }
            self.ended.clone().unwrap_or(Ok(()))
        }
    }

    impl ByteSink for FileSink {
        async fn write_all(&mut self, buf: &[u8]) -> Result<(), EffectError> {
            let mut chunk = crate::pipe::buffer();
            chunk.extend_from_slice(buf);
            self.write_chunk(chunk).await
        }

        async fn write_chunk(&mut self, chunk: Vec<u8>) -> Result<(), EffectError> {
            let Some(chunks) = &self.chunks else {
                return Err(crate::pipe::broken("write"));
            };
            if chunks.send(chunk).await.is_err() {
                // The worker stopped on an error: that error tells why.
                self.chunks = None;
                return match self.ended().await {
                    Err(e) => Err(e),
                    Ok(()) => Err(crate::pipe::broken("write")),
                };
            }
            Ok(())
        }

        async fn finish(mut self) -> Result<(), EffectError> {
            self.finished.store(true, Ordering::Release);
            drop(self.chunks.take());
            self.ended().await
        }
    }
}

#[cfg(target_family = "wasm")]
mod imp {
    use super::*;
    use std::io::{Read, Write};

    /// An open file, read in the caller's buffer sizes.
    pub struct FileStream {
        file: std::fs::File,
        path: String,
    }

    impl FileStream {
        pub(crate) fn open(path: &str) -> Result<Self, EffectError> {
            let file = std::fs::File::open(path).map_err(|e| go_io_error("open", path, &e))?;
            Ok(FileStream {
                file,
                path: path.to_owned(),
            })
        }
    }

    impl ByteStream for FileStream {
        async fn read(&mut self, buf: &mut [u8]) -> Result<usize, EffectError> {
            self.file
                .read(buf)
                .map_err(|e| go_io_error("read", &self.path, &e))
        }
    }

    /// A file being written.
    pub struct FileSink {
        file: std::io::BufWriter<std::fs::File>,
        path: String,
    }

    impl FileSink {
        pub(crate) fn create(path: &str) -> Result<Self, EffectError> {
            let file = std::fs::File::create(path).map_err(|e| go_io_error("open", path, &e))?;
            Ok(FileSink {
                file: std::io::BufWriter::with_capacity(256 * 1024, file),
                path: path.to_owned(),
            })
        }
    }

    impl ByteSink for FileSink {
        async fn write_all(&mut self, buf: &[u8]) -> Result<(), EffectError> {
            self.file
                .write_all(buf)
                .map_err(|e| go_io_error("write", &self.path, &e))
        }

        async fn finish(self) -> Result<(), EffectError> {
            let path = self.path;
            let file = self
                .file
                .into_inner()
                .map_err(|e| go_io_error("write", &path, e.error()))?;
            file.sync_all().map_err(|e| go_io_error("sync", &path, &e))
        }
    }
}

pub use imp::{FileSink, FileStream};
