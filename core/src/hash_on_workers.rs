//! Hashing a stream's bytes on the host's workers, for streams the core produces itself (a
//! layer assembled again from a store) and that so have no reading thread of their own to
//! hash on: the bytes are gathered into batches, and each batch is hashed by a worker while
//! the next one is produced. The digest is that of the bytes in order, as one digester
//! would give it.

use crate::digest::{Algorithm, Digester};
use crate::effects::{Started, Workers};

/// Bytes gathered before a batch is handed to a worker.
const BATCH: usize = 128 << 10;

/// A digester fed in batches on `workers`; at most one batch is being hashed at a time, and
/// its buffer comes back to gather the batch after next (two buffers per stream).
pub struct HashOnWorkers {
    workers: Workers,
    batch: Vec<u8>,
    /// The digester, while no batch is being hashed.
    idle: Option<Digester>,
    running: Option<Started<(Digester, Vec<u8>)>>,
}

impl HashOnWorkers {
    /// Hashing with `algorithm` on `workers`; `None` when the host has no second thread to
    /// hash on (the caller then hashes as it reads).
    pub fn offered(workers: Option<&Workers>, algorithm: Algorithm) -> Option<Self> {
        let workers = workers.filter(|w| w.parallelism() > 1)?;
        Some(HashOnWorkers {
            workers: workers.clone(),
            batch: Vec::with_capacity(BATCH),
            idle: Some(Digester::new(algorithm)),
            running: None,
        })
    }

    /// Takes `bytes` (in order after those fed before).
    pub async fn feed(&mut self, bytes: &[u8]) {
        // A batch is handed over before it would outgrow its buffer.
        if self.batch.len() + bytes.len() > BATCH {
            self.hand_over().await;
        }
        self.batch.extend_from_slice(bytes);
        if self.batch.len() >= BATCH {
            self.hand_over().await;
        }
    }

    /// Hashes what is left and waits for it; [`HashOnWorkers::digester`] then gives the result.
    pub async fn finish(&mut self) {
        self.hand_over().await;
        if let Some(job) = self.running.take() {
            self.idle = Some(job.result().await.0);
        }
    }

    /// The digester fed with everything, once [`HashOnWorkers::finish`] ran.
    pub fn digester(&mut self) -> Option<Digester> {
        self.idle.take()
    }

    /// Starts hashing the gathered batch once the batch before it is done.
    async fn hand_over(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let (mut digester, mut spare) = match self.running.take() {
            Some(job) => job.result().await,
            None => match self.idle.take() {
                Some(digester) => (digester, Vec::with_capacity(BATCH)),
                None => return,
            },
        };
        spare.clear();
        let batch = std::mem::replace(&mut self.batch, spare);
        self.running = Some(self.workers.start(move || {
            digester.update(&batch);
            (digester, batch)
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effects::Offload;
    use std::future::Future;
    use std::pin::Pin;

    /// Two "workers" that run each job at once (the order of batches is what is tested).
    struct TwoInline;

    impl Offload for TwoInline {
        fn parallelism(&self) -> usize {
            2
        }

        fn start(&self, job: Box<dyn FnOnce() + Send>) -> Pin<Box<dyn Future<Output = ()>>> {
            job();
            Box::pin(std::future::ready(()))
        }
    }

    #[test]
    fn the_digest_is_that_of_all_bytes_in_order() {
        let data: Vec<u8> = (0..(3 * BATCH + 12345))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let workers = Workers::new(TwoInline);
        let mut hash = HashOnWorkers::offered(Some(&workers), Algorithm::Sha256).unwrap();
        pollster::block_on(async {
            for piece in data.chunks(100_000) {
                hash.feed(piece).await;
            }
            hash.finish().await;
        });
        let mut whole = Digester::new(Algorithm::Sha256);
        whole.update(&data);
        let got = hash.digester().unwrap();
        assert_eq!(got.len(), data.len() as u64);
        assert_eq!(got.finish(), whole.finish());
    }

    #[test]
    fn one_thread_is_not_offered() {
        assert!(HashOnWorkers::offered(Some(&Workers::default()), Algorithm::Sha256).is_none());
        assert!(HashOnWorkers::offered(None, Algorithm::Sha256).is_none());
    }
}
