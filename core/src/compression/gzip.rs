//! gzip compression in parallel blocks, as pigz and pgzip do it: the input is cut into
//! [`BLOCK`]-byte blocks, each deflated on its own (primed with the 32 KiB before it, so
//! the ratio is that of one stream) and ended with a sync flush so the pieces join into one
//! deflate stream; the CRC-32s of the blocks are combined for the trailer. The bytes depend
//! only on the input and the level, never on how many workers ran.

use super::blocks::Pipeline;
use crate::effects::Workers;
use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use std::io::{Error, Result};

/// Input bytes per block.
pub const BLOCK: usize = 256 * 1024;

/// How far back deflate looks: the dictionary each block is primed with.
const WINDOW: usize = 32 * 1024;

/// The level used when none is asked for: zlib-rs at 3 compresses layers as small as
/// containers/image's default (pgzip at its default level) does, in less time than that
/// takes; zlib's own default, 6, is about 2% smaller at 1.5 times the time.
pub const DEFAULT_LEVEL: u32 = 3;

/// A gzip member header: deflate, no name or time, unknown OS (as Go's writer makes it).
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// One compressed block and the CRC-32 of its input.
type Deflated = Result<(Vec<u8>, Crc)>;

/// Compresses pushed bytes into one gzip member, blocks compressing on `workers`.
pub struct Encoder {
    level: u32,
    pipeline: Pipeline<Deflated>,
    /// The last [`WINDOW`] bytes of the previous block.
    window: Vec<u8>,
    member: Member,
}

/// What of the member has been written.
#[derive(Default)]
struct Member {
    header_written: bool,
    crc: Crc,
}

impl Encoder {
    /// An encoder at `level` (0-9, None: [`DEFAULT_LEVEL`]).
    pub fn new(level: Option<u32>, workers: Workers) -> Self {
        Encoder {
            level: level.map_or(DEFAULT_LEVEL, |l| l.min(9)),
            pipeline: Pipeline::new(workers, BLOCK),
            window: Vec::new(),
            member: Member::default(),
        }
    }

    /// Takes `bytes`; returns the compressed output that is ready.
    pub async fn push(&mut self, bytes: Vec<u8>) -> Result<Vec<u8>> {
        let (level, window) = (self.level, &mut self.window);
        let blocks = self
            .pipeline
            .push(bytes, |block| deflate_job(level, window, block, false))
            .await;
        self.member.append(blocks)
    }

    /// Compresses what is left and ends the member (a whole member even for empty input).
    pub async fn finish(self) -> Result<Vec<u8>> {
        let Encoder {
            level,
            pipeline,
            mut window,
            mut member,
        } = self;
        let blocks = pipeline
            .finish(|block| deflate_job(level, &mut window, block, true))
            .await;
        let mut out = member.append(blocks)?;
        out.extend_from_slice(&member.crc.sum().to_le_bytes());
        out.extend_from_slice(&member.crc.amount().to_le_bytes());
        Ok(out)
    }
}

impl Member {
    /// The header (once) and `blocks`, their CRCs folded into the member's.
    fn append(&mut self, blocks: Vec<Deflated>) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        if !self.header_written {
            out.extend_from_slice(&HEADER);
            self.header_written = true;
        }
        for block in blocks {
            let (bytes, crc) = block?;
            out.extend_from_slice(&bytes);
            self.crc.combine(&crc);
        }
        Ok(out)
    }
}

/// The job compressing `block`, primed with `window` (which becomes the block's tail).
fn deflate_job(
    level: u32,
    window: &mut Vec<u8>,
    block: Vec<u8>,
    last: bool,
) -> Box<dyn FnOnce() -> Deflated + Send> {
    let tail = block[block.len().saturating_sub(WINDOW)..].to_vec();
    let dictionary = std::mem::replace(window, tail);
    Box::new(move || deflate(level, &dictionary, &block, last))
}

/// Bits per byte above which a block is taken to be incompressible (already compressed or
/// random data): deflate would spend its time finding nothing, so the block is stored.
const INCOMPRESSIBLE_ENTROPY: f64 = 7.99;

/// Whether `block`'s bytes are spread so evenly (their order-0 entropy) that deflating it
/// would gain nothing worth the time.
fn looks_incompressible(block: &[u8]) -> bool {
    if block.len() < 16 * 1024 {
        return false;
    }
    let mut counts = [0u32; 256];
    for &b in block {
        counts[usize::from(b)] += 1;
    }
    let n = block.len() as f64;
    let entropy: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum();
    entropy > INCOMPRESSIBLE_ENTROPY
}

/// `block` as raw deflate: ended with a sync flush, or as the stream's final block.
fn deflate(level: u32, dictionary: &[u8], block: &[u8], last: bool) -> Deflated {
    let level = match looks_incompressible(block) {
        true => 0,
        false => level,
    };
    let mut compress = Compress::new(Compression::new(level), false);
    if !dictionary.is_empty() {
        compress.set_dictionary(dictionary).map_err(Error::other)?;
    }
    let flush = match last {
        true => FlushCompress::Finish,
        false => FlushCompress::Sync,
    };
    let mut out = Vec::with_capacity(block.len() + block.len() / 8 + 64);
    loop {
        let consumed = usize::try_from(compress.total_in()).expect("a block fits in memory");
        let status = compress
            .compress_vec(&block[consumed..], &mut out, flush)
            .map_err(Error::other)?;
        let all_in = compress.total_in() == block.len() as u64;
        let room_left = out.len() < out.capacity();
        match status {
            Status::StreamEnd => break,
            // A sync flush is complete once all input went in and output did not fill up.
            _ if !last && all_in && room_left => break,
            _ => out.reserve(64 * 1024),
        }
    }
    let mut crc = Crc::new();
    crc.update(block);
    Ok((out, crc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effects::Offload;
    use std::future::Future;
    use std::io::Read;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};

    /// Letters from a xorshift generator: compressible to about half, with no long repeats.
    fn sample(len: usize) -> Vec<u8> {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b'a' + (x % 16) as u8
            })
            .collect()
    }

    fn encode(data: &[u8], piece: usize, workers: Workers) -> Vec<u8> {
        pollster::block_on(async {
            let mut e = Encoder::new(None, workers);
            let mut out = Vec::new();
            for chunk in data.chunks(piece) {
                out.extend(e.push(chunk.to_vec()).await.unwrap());
            }
            out.extend(e.finish().await.unwrap());
            out
        })
    }

    fn gunzip(gz: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    /// Holds jobs back until one is awaited, then runs every one held, newest first: results
    /// arrive out of order and several are in flight, without threads.
    #[derive(Default)]
    struct Deferred(Arc<Mutex<Vec<Job>>>);

    type Job = Box<dyn FnOnce() + Send>;

    impl Offload for Deferred {
        fn parallelism(&self) -> usize {
            3
        }

        fn start(&self, job: Box<dyn FnOnce() + Send>) -> Pin<Box<dyn Future<Output = ()>>> {
            self.0.lock().unwrap().push(job);
            let held = Arc::clone(&self.0);
            Box::pin(async move {
                let jobs = std::mem::take(&mut *held.lock().unwrap());
                jobs.into_iter().rev().for_each(|job| job());
            })
        }
    }

    #[test]
    fn blocks_join_into_one_member_that_decodes_back() {
        let data = sample(3 * BLOCK + 12_345);
        let gz = encode(&data, 100_000, Workers::default());
        assert_eq!(&gz[..2], &[0x1f, 0x8b]);
        assert_eq!(gunzip(&gz), data);
        // Each block is primed with the one before: what repeats across a boundary
        // compresses away as in one stream (without, the repeat would cost ~10 KiB).
        let tail = sample(20_000);
        let one = [data[..BLOCK - tail.len()].to_vec(), tail.clone()].concat();
        let repeated = [one.clone(), tail].concat();
        let grown = encode(&repeated, BLOCK, Workers::default()).len()
            - encode(&one, BLOCK, Workers::default()).len();
        assert!(grown < 500, "{grown}");
    }

    #[test]
    fn incompressible_blocks_are_stored_and_the_rest_deflated() {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let random: Vec<u8> = (0..2 * BLOCK)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        assert!(looks_incompressible(&random[..BLOCK]));
        assert!(!looks_incompressible(&sample(BLOCK)));
        let data = [random.clone(), sample(BLOCK)].concat();
        let gz = encode(&data, BLOCK, Workers::default());
        assert_eq!(gunzip(&gz), data);
        // Stored blocks cost a few bytes each; the letters still shrink to about half.
        let overhead = gz.len() as i64 - (2 * BLOCK + BLOCK / 2) as i64;
        assert!(overhead.abs() < (BLOCK / 10) as i64, "{}", gz.len());
    }

    #[test]
    fn output_is_the_same_whatever_the_workers_and_piece_sizes() {
        let data = sample(5 * BLOCK + 7);
        let inline = encode(&data, BLOCK, Workers::default());
        assert_eq!(
            encode(&data, 4096, Workers::new(Deferred::default())),
            inline
        );
        assert_eq!(
            encode(&data, 3 * BLOCK + 1, Workers::new(Deferred::default())),
            inline
        );
        assert_eq!(gunzip(&inline), data);
    }

    #[test]
    fn empty_and_exact_block_inputs_are_whole_members() {
        assert_eq!(
            gunzip(&encode(&[], 1, Workers::default())),
            Vec::<u8>::new()
        );
        let data = sample(2 * BLOCK);
        assert_eq!(gunzip(&encode(&data, BLOCK, Workers::default())), data);
    }
}
