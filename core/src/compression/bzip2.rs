//! bzip2 decompression, pushed a chunk at a time (the `bzip2` crate over libbz2-rs-sys, a
//! pure-Rust libbzip2, so it builds for every target). Concatenated streams are read one
//! after another, as Go's bzip2 reader reads them.

use ::bzip2::{Decompress, Status};
use std::io::{Error, ErrorKind, Result};

/// Output produced per decoder call.
const OUT_STEP: usize = 128 << 10;

/// Decompresses a bzip2 stream (or several, concatenated) as its bytes are pushed.
pub struct Decoder {
    stream: Decompress,
    /// The current stream has ended; a next one may start.
    between_streams: bool,
    started: bool,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder {
            stream: Decompress::new(false),
            between_streams: false,
            started: false,
        }
    }
}

impl Decoder {
    /// Takes `input`; returns what it decompresses to so far.
    pub fn push(&mut self, mut input: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        while !input.is_empty() {
            if self.between_streams {
                self.stream = Decompress::new(false);
                self.between_streams = false;
            }
            self.started = true;
            out.reserve(OUT_STEP);
            let before = self.stream.total_in();
            let status = self.stream.decompress_vec(input, &mut out).map_err(|e| {
                Error::new(ErrorKind::InvalidData, format!("bzip2 data invalid: {e}"))
            })?;
            let used = (self.stream.total_in() - before) as usize;
            input = &input[used..];
            if status == Status::StreamEnd {
                self.between_streams = true;
            }
        }
        Ok(out)
    }

    /// Ends the input: the rest of the output, or why the stream is incomplete.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        while self.started && !self.between_streams {
            out.reserve(OUT_STEP);
            let before = self.stream.total_out();
            let status = self.stream.decompress_vec(&[], &mut out).map_err(|e| {
                Error::new(ErrorKind::InvalidData, format!("bzip2 data invalid: {e}"))
            })?;
            if status == Status::StreamEnd {
                self.between_streams = true;
            } else if self.stream.total_out() == before {
                break;
            }
        }
        if !self.between_streams {
            return Err(Error::new(ErrorKind::UnexpectedEof, "unexpected EOF"));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compress(data: &[u8]) -> Vec<u8> {
        let mut c = ::bzip2::Compress::new(::bzip2::Compression::best(), 0);
        let mut out = Vec::with_capacity(data.len() + 1024);
        c.compress_vec(data, &mut out, ::bzip2::Action::Finish)
            .unwrap();
        out
    }

    fn decode_in_pieces(data: &[u8], piece: usize) -> Result<Vec<u8>> {
        crate::compression::decode_in_pieces(crate::compression::Algorithm::Bzip2, data, piece)
    }

    #[test]
    fn decodes_in_any_piece_size_and_concatenated() {
        let data: Vec<u8> = (0..300_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let packed = compress(&data);
        assert_eq!(
            crate::compression::detect(&packed),
            Some(crate::compression::Algorithm::Bzip2)
        );
        for piece in [1, 13, 4096, 1 << 20] {
            assert_eq!(
                decode_in_pieces(&packed, piece).unwrap(),
                data,
                "pieces of {piece}"
            );
        }
        let mut twice = compress(b"Hello\n");
        twice.extend(compress(b"World\n"));
        assert_eq!(decode_in_pieces(&twice, 3).unwrap(), b"Hello\nWorld\n");
    }

    #[test]
    fn truncated_and_corrupt_streams_fail() {
        let packed = compress(b"Hello, bzip2\n");
        for cut in [3, 10, packed.len() - 1] {
            assert!(decode_in_pieces(&packed[..cut], 4).is_err(), "cut at {cut}");
        }
        let mut bad = packed.clone();
        bad[12] ^= 0xff;
        assert!(decode_in_pieces(&bad, 4).is_err());
        assert!(decode_in_pieces(b"", 4).is_err());
    }
}
