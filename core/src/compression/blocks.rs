//! Compressing a stream block by block on the host's workers, output kept in input order: the
//! encoders cut their input into fixed-size blocks that compress independently, so a layer
//! compresses on every core while it is read, and the bytes do not depend on how many there
//! are.

use crate::effects::{Started, Workers};
use std::collections::VecDeque;

/// Blocks in flight per stream for each job the host can run at once: enough that a worker
/// finishing a block finds the next one waiting.
const QUEUED_PER_WORKER: usize = 2;

/// Input cut into blocks of a fixed size, each compressed by a job on the workers.
pub struct Pipeline<T> {
    workers: Workers,
    block_size: usize,
    /// Input not yet making a whole block.
    input: Vec<u8>,
    in_flight: VecDeque<Started<T>>,
}

impl<T: Send + 'static> Pipeline<T> {
    /// A pipeline cutting blocks of `block_size` bytes.
    pub fn new(workers: Workers, block_size: usize) -> Self {
        Pipeline {
            workers,
            block_size,
            input: Vec::new(),
            in_flight: VecDeque::new(),
        }
    }

    /// Takes `bytes`, starting `compress(block)` for every block they complete, and returns
    /// the results ready in order (waiting for the oldest while too many are in flight).
    pub async fn push<F>(&mut self, bytes: Vec<u8>, mut compress: F) -> Vec<T>
    where
        F: FnMut(Vec<u8>) -> Box<dyn FnOnce() -> T + Send>,
    {
        if self.input.is_empty() && bytes.len() == self.block_size {
            self.input = bytes;
        } else {
            self.input.extend_from_slice(&bytes);
        }
        while self.input.len() >= self.block_size {
            let rest = self.input.split_off(self.block_size);
            let block = std::mem::replace(&mut self.input, rest);
            self.in_flight
                .push_back(self.workers.start(compress(block)));
        }
        let limit = self.workers.parallelism() * QUEUED_PER_WORKER;
        let mut ready = Vec::new();
        while self.in_flight.len() > limit {
            let oldest = self.in_flight.pop_front().expect("more than the limit");
            ready.push(oldest.result().await);
        }
        while let Some(done) = self.in_flight.front_mut().and_then(Started::try_result) {
            self.in_flight.pop_front();
            ready.push(done);
        }
        ready
    }

    /// Starts `compress` on the input left (possibly empty: the last block), and returns
    /// every result still to come, in order.
    pub async fn finish<F>(mut self, compress: F) -> Vec<T>
    where
        F: FnOnce(Vec<u8>) -> Box<dyn FnOnce() -> T + Send>,
    {
        let last = std::mem::take(&mut self.input);
        self.in_flight.push_back(self.workers.start(compress(last)));
        let mut ready = Vec::with_capacity(self.in_flight.len());
        for started in self.in_flight {
            ready.push(started.result().await);
        }
        ready
    }
}
