//! zstd for layers, pushed a piece at a time like the gzip codecs.
//!
//! Decoding (ruzstd, pure Rust) accepts what the format allows: several frames one after
//! another, skippable frames, content checksums (checked). Encoding writes a frame per
//! [`FRAME_INPUT`] bytes of input, each compressed independently by a [`FrameEncoder`]: a
//! valid zstd stream any decoder reads whole, produced without holding the layer, on every
//! worker at once. The core's frame encoder is ruzstd's fastest level (about zstd's level 1,
//! the only one it implements); a host may bring a stronger one (natively: libzstd, whose
//! levels `--dest-compress-level` picks).

use super::blocks::Pipeline;
use crate::effects::Workers;
use ruzstd::decoding::FrameDecoder;
use ruzstd::encoding::{compress_to_vec, CompressionLevel};
use std::io::{Error, ErrorKind, Result};
use std::sync::Arc;

/// Input bytes per frame written.
pub const FRAME_INPUT: usize = 1 << 20;

/// The longest frame header: magic, descriptor, window, dictionary ID and content size.
const MAX_FRAME_HEADER: usize = 18;

/// Skippable frames' magic numbers, masked.
const SKIPPABLE_MAGIC: u32 = 0x184D_2A50;

/// Compresses one block of input into one whole zstd frame.
pub trait FrameEncoder: Send + Sync {
    /// A frame holding `input`, compressed at `level` (`None`: the encoder's default).
    fn frame(&self, input: &[u8], level: Option<u32>) -> Vec<u8>;
}

/// The core's frame encoder: ruzstd at its one level, whatever level is asked for.
pub struct Ruzstd;

impl FrameEncoder for Ruzstd {
    fn frame(&self, input: &[u8], _level: Option<u32>) -> Vec<u8> {
        compress_to_vec(input, CompressionLevel::Fastest)
    }
}

/// A shared handle to the frame encoder in use ([`Ruzstd`] unless the host brings one).
#[derive(Clone)]
pub struct Frames(Arc<dyn FrameEncoder>);

impl Frames {
    /// Frames from `encoder`.
    pub fn new(encoder: impl FrameEncoder + 'static) -> Self {
        Frames(Arc::new(encoder))
    }
}

impl Default for Frames {
    fn default() -> Self {
        Frames::new(Ruzstd)
    }
}

impl std::fmt::Debug for Frames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Frames")
    }
}

/// Compresses pushed bytes into zstd frames, frames compressing on `workers`.
pub struct Encoder {
    pipeline: Pipeline<Vec<u8>>,
    frames: Frames,
    level: Option<u32>,
    /// Bytes taken so far.
    taken: u64,
}

impl Encoder {
    /// An encoder writing `frames` at `level`, compressing on `workers`.
    pub fn new(frames: Frames, level: Option<u32>, workers: Workers) -> Self {
        Encoder {
            pipeline: Pipeline::new(workers, FRAME_INPUT),
            frames,
            level,
            taken: 0,
        }
    }

    /// Takes `bytes`; returns the frames completed and compressed.
    pub async fn push(&mut self, bytes: Vec<u8>) -> Vec<u8> {
        self.taken += bytes.len() as u64;
        let (frames, level) = (&self.frames, self.level);
        self.pipeline
            .push(bytes, |block| frame_job(frames, level, block))
            .await
            .concat()
    }

    /// The frames still to come and the last one (a whole frame even for empty input, as
    /// zstd writes one; none when the input ended with a whole frame).
    pub async fn finish(self) -> Vec<u8> {
        let ends_with_whole_frame = self.taken > 0;
        let (frames, level) = (&self.frames, self.level);
        let out = self
            .pipeline
            .finish(|rest| match rest.is_empty() && ends_with_whole_frame {
                true => Box::new(Vec::new),
                false => frame_job(frames, level, rest),
            })
            .await;
        out.concat()
    }
}

/// The job compressing `input` into one frame.
fn frame_job(
    frames: &Frames,
    level: Option<u32>,
    input: Vec<u8>,
) -> Box<dyn FnOnce() -> Vec<u8> + Send> {
    let encoder = Arc::clone(&frames.0);
    Box::new(move || encoder.frame(&input, level))
}

/// Where a decoder stands between pushes.
enum State {
    /// Expecting a frame header (or the end).
    BetweenFrames,
    InFrame,
    /// Skipping this many more bytes of a skippable frame.
    Skipping(u64),
}

/// Decompresses pushed zstd bytes.
pub struct Decoder {
    frame: FrameDecoder,
    /// Pushed bytes not consumed yet (at most a block and a header).
    input: Vec<u8>,
    state: State,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder {
            frame: FrameDecoder::new(),
            input: Vec::new(),
            state: State::BetweenFrames,
        }
    }
}

fn invalid(e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidData, format!("zstd: {e}"))
}

fn truncated() -> Error {
    Error::new(
        ErrorKind::UnexpectedEof,
        "zstd: unexpected end of the compressed data",
    )
}

impl Decoder {
    /// Takes `bytes`; returns what they decode to so far.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<u8>> {
        self.input.extend_from_slice(bytes);
        self.run(false)
    }

    /// Ends the stream: fails when it stops inside a frame.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        let out = self.run(true)?;
        match (&self.state, self.input.is_empty()) {
            (State::BetweenFrames, true) => Ok(out),
            _ => Err(truncated()),
        }
    }

    fn run(&mut self, at_end: bool) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = 0;
        loop {
            let pending = &self.input[at..];
            match self.state {
                State::Skipping(left) => {
                    let n = left.min(pending.len() as u64);
                    at += n as usize;
                    if n < left {
                        self.state = State::Skipping(left - n);
                        break;
                    }
                    self.state = State::BetweenFrames;
                }
                State::BetweenFrames => {
                    if pending.is_empty() {
                        break;
                    }
                    if pending.len() < 8 && !at_end {
                        break;
                    }
                    let magic = pending
                        .get(..4)
                        .map(|m| u32::from_le_bytes([m[0], m[1], m[2], m[3]]))
                        .ok_or_else(truncated)?;
                    if magic & 0xFFFF_FFF0 == SKIPPABLE_MAGIC {
                        let size = pending.get(4..8).ok_or_else(truncated)?;
                        let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]);
                        at += 8;
                        self.state = State::Skipping(u64::from(size));
                        continue;
                    }
                    if pending.len() < MAX_FRAME_HEADER && !at_end {
                        break;
                    }
                    let mut header = pending;
                    self.frame.reset(&mut header).map_err(invalid)?;
                    at += pending.len() - header.len();
                    self.state = State::InFrame;
                }
                State::InFrame => {
                    // A block needs its 3-byte header; a frame's checksum is 4 bytes.
                    if pending.len() < 4 && !at_end {
                        break;
                    }
                    let (read, _) = self
                        .frame
                        .decode_from_to(pending, &mut [])
                        .map_err(invalid)?;
                    // ruzstd may claim bytes it was not given (a checksum, at the end).
                    let consumed = read.min(pending.len());
                    at += consumed;
                    if self.frame.is_finished() {
                        out.extend(self.frame.collect().unwrap_or_default());
                        if let (Some(stored), Some(computed)) = (
                            self.frame.get_checksum_from_data(),
                            self.frame.get_calculated_checksum(),
                        ) {
                            if stored != computed {
                                return Err(invalid("content checksum mismatch"));
                            }
                        }
                        self.state = State::BetweenFrames;
                        continue;
                    }
                    let produced = self.frame.collect().unwrap_or_default();
                    let progressed = consumed > 0 || !produced.is_empty();
                    out.extend(produced);
                    if !progressed {
                        if at_end {
                            return Err(truncated());
                        }
                        break;
                    }
                }
            }
        }
        self.input.drain(..at);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_cut_before_its_checksum_ends_in_an_error_not_a_loop() {
        // Found by the `archives` fuzzer: ruzstd claims a checksum it was never given.
        let cut = [
            0x28, 0xb5, 0x2f, 0xfd, 0x5d, 0x86, 0, 0, 0, 0x11, 0, 0, 0xbb, 0x0d,
        ];
        let mut decoder = Decoder::default();
        assert!(decoder.push(&cut).unwrap().is_empty());
        let e = decoder.finish().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnexpectedEof, "{e}");
    }

    fn sample(len: usize) -> Vec<u8> {
        (0..len as u32)
            .flat_map(|i| ((i / 7) % 251).to_le_bytes())
            .take(len)
            .collect()
    }

    fn decode_in_pieces(compressed: &[u8], piece: usize) -> Result<Vec<u8>> {
        crate::compression::decode_in_pieces(crate::compression::Algorithm::Zstd, compressed, piece)
    }

    #[test]
    fn what_is_encoded_decodes_back_whatever_the_piece_sizes() {
        let data = sample(3 * FRAME_INPUT + 12345);
        let compressed = pollster::block_on(async {
            let mut e = Encoder::new(Frames::default(), None, Workers::default());
            let mut compressed = Vec::new();
            for part in data.chunks(256 * 1024) {
                compressed.extend(e.push(part.to_vec()).await);
            }
            compressed.extend(e.finish().await);
            compressed
        });
        assert!(compressed.len() < data.len() / 2);
        for piece in [1, 3, 1000, 128 * 1024, 1 << 22] {
            assert_eq!(
                decode_in_pieces(&compressed, piece).unwrap(),
                data,
                "{piece}"
            );
        }
    }

    #[test]
    fn empty_input_is_one_empty_frame() {
        let compressed =
            pollster::block_on(Encoder::new(Frames::default(), None, Workers::default()).finish());
        assert!(!compressed.is_empty());
        assert_eq!(decode_in_pieces(&compressed, 5).unwrap(), b"");
    }

    #[test]
    fn skippable_frames_are_skipped_and_truncation_or_corruption_fails() {
        let data = sample(300_000);
        let frame = compress_to_vec(&data[..], CompressionLevel::Fastest);
        let mut stream = vec![0x5A, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 9, 9, 9];
        stream.extend_from_slice(&frame);
        stream.extend_from_slice(&frame);
        let mut twice = data.clone();
        twice.extend_from_slice(&data);
        assert_eq!(decode_in_pieces(&stream, 4096).unwrap(), twice);

        let cut = &frame[..frame.len() - 10];
        assert!(decode_in_pieces(cut, 4096).is_err());
        let mut bad = frame.clone();
        let n = bad.len();
        bad[n - 2] ^= 0xff;
        assert!(decode_in_pieces(&bad, 4096).is_err());
    }
}
