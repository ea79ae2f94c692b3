//! xz decompression, pushed a chunk at a time (xz4rust: a pure-Rust port of xz-embedded, so
//! it builds for every target). Concatenated streams and the zero padding between them are
//! read as Go's xz reader reads them.

use std::io::{Error, ErrorKind, Result};

/// The largest dictionary a stream may ask for: xz's largest preset (`-9`) uses 64 MiB.
const MAX_DICTIONARY: usize = 64 << 20;
/// Output produced per decoder call.
const OUT_STEP: usize = 128 << 10;

/// Decompresses an xz stream (or several, concatenated) as its bytes are pushed.
pub struct Decoder {
    decoder: Box<xz4rust::XzDecoder<'static>>,
    /// Input the decoder could not yet use (it needs more bytes to make progress).
    carry: Vec<u8>,
    /// Between streams: zero padding or the next stream may follow, or the end.
    between_streams: bool,
    /// Padding bytes seen since the last stream ended (must be a multiple of four).
    padding: usize,
    /// Whether any stream has started.
    started: bool,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder {
            decoder: Box::new(xz4rust::XzDecoder::with_alloc_dict_size(
                4096,
                MAX_DICTIONARY,
            )),
            carry: Vec::new(),
            between_streams: false,
            padding: 0,
            started: false,
        }
    }
}

fn corrupt(e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidData, format!("xz: {e}"))
}

impl Decoder {
    /// Takes `input`; returns what it decompresses to so far.
    pub fn push(&mut self, input: &[u8]) -> Result<Vec<u8>> {
        let joined;
        let mut input = if self.carry.is_empty() {
            input
        } else {
            self.carry.extend_from_slice(input);
            joined = std::mem::take(&mut self.carry);
            &joined[..]
        };
        let mut out = Vec::new();
        loop {
            if self.between_streams {
                let zeros = input.iter().take_while(|b| **b == 0).count();
                self.padding += zeros;
                input = &input[zeros..];
                if input.is_empty() {
                    return Ok(out);
                }
                if !self.padding.is_multiple_of(4) {
                    return Err(corrupt("stream padding is not a multiple of four bytes"));
                }
                self.decoder.reset();
                self.between_streams = false;
                self.padding = 0;
            }
            if input.is_empty() {
                return Ok(out);
            }
            self.started = true;
            let start = out.len();
            out.resize(start + OUT_STEP, 0);
            let result = self.decoder.decode(input, &mut out[start..]);
            match result {
                Ok(step) => {
                    out.truncate(start + step.output_produced());
                    input = &input[step.input_consumed()..];
                    if step.is_end_of_stream() {
                        self.between_streams = true;
                    } else if !step.made_progress() {
                        self.carry = input.to_vec();
                        return Ok(out);
                    }
                }
                Err(xz4rust::XzError::NeedsLargerInputBuffer) => {
                    out.truncate(start);
                    self.carry = input.to_vec();
                    return Ok(out);
                }
                Err(e) => return Err(corrupt(e)),
            }
        }
    }

    /// Ends the input: the rest of the output, or why the stream is incomplete.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        // Output the decoder holds back until asked again.
        let mut out = Vec::new();
        if !self.between_streams && self.started {
            loop {
                let start = out.len();
                out.resize(start + OUT_STEP, 0);
                match self.decoder.decode(&[], &mut out[start..]) {
                    Ok(step) => {
                        out.truncate(start + step.output_produced());
                        if step.is_end_of_stream() {
                            self.between_streams = true;
                            break;
                        }
                        if !step.made_progress() {
                            break;
                        }
                    }
                    Err(_) => {
                        out.truncate(start);
                        break;
                    }
                }
            }
        }
        // Input still carried means the decoder was waiting for bytes that never came.
        if !self.started || !self.between_streams || !self.carry.is_empty() {
            return Err(Error::new(ErrorKind::UnexpectedEof, "xz: unexpected EOF"));
        }
        if !self.padding.is_multiple_of(4) {
            return Err(corrupt("stream padding is not a multiple of four bytes"));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `printf 'Hello\n' | xz -9`.
    const HELLO_XZ: &[u8] = &[
        0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x04, 0xe6, 0xd6, 0xb4, 0x46, 0x02, 0x00, 0x21,
        0x01, 0x1c, 0x00, 0x00, 0x00, 0x10, 0xcf, 0x58, 0xcc, 0x01, 0x00, 0x05, 0x48, 0x65, 0x6c,
        0x6c, 0x6f, 0x0a, 0x00, 0x00, 0x00, 0x4d, 0x6c, 0xab, 0xcb, 0x27, 0x24, 0xa2, 0x46, 0x00,
        0x01, 0x1e, 0x06, 0xc1, 0x2f, 0xa4, 0x1d, 0x1f, 0xb6, 0xf3, 0x7d, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x04, 0x59, 0x5a,
    ];

    fn decode_in_pieces(data: &[u8], piece: usize) -> Result<Vec<u8>> {
        crate::compression::decode_in_pieces(crate::compression::Algorithm::Xz, data, piece)
    }

    #[test]
    fn decodes_in_any_piece_size_and_concatenated() {
        for piece in [1, 2, 3, 7, 64, 1000] {
            assert_eq!(decode_in_pieces(HELLO_XZ, piece).unwrap(), b"Hello\n");
        }
        let mut twice = HELLO_XZ.to_vec();
        twice.extend([0, 0, 0, 0]);
        twice.extend(HELLO_XZ);
        for piece in [1, 5, 1000] {
            assert_eq!(decode_in_pieces(&twice, piece).unwrap(), b"Hello\nHello\n");
        }
    }

    #[test]
    fn truncated_bad_padding_and_corrupt_streams_fail() {
        for cut in [1, 10, HELLO_XZ.len() - 1] {
            assert!(
                decode_in_pieces(&HELLO_XZ[..cut], 4).is_err(),
                "cut at {cut}"
            );
        }
        let mut padded = HELLO_XZ.to_vec();
        padded.extend([0, 0, 0]);
        padded.extend(HELLO_XZ);
        assert!(decode_in_pieces(&padded, 8).is_err());
        let mut corrupt = HELLO_XZ.to_vec();
        corrupt[30] ^= 0x55;
        assert!(decode_in_pieces(&corrupt, 8).is_err());
        assert!(decode_in_pieces(b"", 8).is_err());
    }
}
