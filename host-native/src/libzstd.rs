//! zstd frames from libzstd (the reference C library): stronger and faster than the core's
//! pure-Rust encoder, with every level `--dest-compress-level` may ask for.

use skopeo_core::compression::zstd::FrameEncoder;
use std::cell::RefCell;

/// The level when none is asked for: zstd's own default, as skopeo's encoder uses.
pub const DEFAULT_LEVEL: i32 = 3;

/// Frames from libzstd, each with its content size and checksum.
pub struct LibZstd;

thread_local! {
    /// Each worker's compression context, kept between frames (with the level it was set to).
    static CONTEXT: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
        const { RefCell::new(None) };
}

/// The libzstd level for `--dest-compress-level` (clamped to the levels libzstd has).
fn level(asked: Option<u32>) -> i32 {
    let max = *zstd::compression_level_range().end();
    asked.map_or(DEFAULT_LEVEL, |l| l.clamp(1, max as u32) as i32)
}

fn compressor(level: i32) -> std::io::Result<zstd::bulk::Compressor<'static>> {
    let mut c = zstd::bulk::Compressor::new(level)?;
    c.include_checksum(true)?;
    c.include_contentsize(true)?;
    Ok(c)
}

impl FrameEncoder for LibZstd {
    fn frame(&self, input: &[u8], asked: Option<u32>) -> Vec<u8> {
        let level = level(asked);
        CONTEXT.with_borrow_mut(|context| {
            if context.as_ref().is_none_or(|(l, _)| *l != level) {
                *context = Some((level, compressor(level).expect("libzstd context")));
            }
            let (_, c) = context.as_mut().expect("set above");
            c.compress(input)
                .expect("libzstd compresses into a growing buffer")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_decode_with_the_core_and_levels_matter() {
        let input: Vec<u8> = (0..3_000_000u32)
            .map(|i| (i % 251) as u8 ^ (i / 7919) as u8)
            .collect();
        let fast = LibZstd.frame(&input, Some(1));
        let default = LibZstd.frame(&input, None);
        let strong = LibZstd.frame(&input, Some(19));
        assert!(
            strong.len() < fast.len(),
            "{} vs {}",
            strong.len(),
            fast.len()
        );
        assert_eq!(default, LibZstd.frame(&input, Some(3)));
        for frame in [fast, default, strong] {
            let mut d = skopeo_core::compression::zstd::Decoder::default();
            let mut out = d.push(&frame).unwrap();
            out.extend(d.finish().unwrap());
            assert_eq!(out, input);
        }
        assert_eq!(level(Some(0)), 1);
        assert_eq!(level(Some(99)), 22);
    }
}
