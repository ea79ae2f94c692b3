//! The upstream compression vectors (`compression/copy` and `compression/pkg-compression`):
//! each `Hello.*` is recognised by its magic and decompresses to `Hello.uncompressed`, pushed
//! whole and a byte at a time.

mod common;

use skopeo_core::compression::{detect, Algorithm, Decompressor};

fn decompress(algorithm: Algorithm, data: &[u8], piece: usize) -> Vec<u8> {
    let mut d = Decompressor::new(algorithm);
    let mut out = Vec::new();
    for chunk in data.chunks(piece) {
        out.extend(d.push(chunk).unwrap());
    }
    out.extend(d.finish().unwrap());
    out
}

#[test]
fn every_vector_is_detected_and_decompresses_to_the_plain_text() {
    let Some(dir) = common::fixtures_dir() else {
        return;
    };
    let mut checked = 0;
    for sub in ["compression/copy", "compression/pkg-compression"] {
        let plain = std::fs::read(dir.join(sub).join("Hello.uncompressed")).unwrap();
        assert_eq!(detect(&plain), None);
        for (ext, algorithm) in [
            ("gz", Algorithm::Gzip),
            ("bz2", Algorithm::Bzip2),
            ("xz", Algorithm::Xz),
            ("zst", Algorithm::Zstd),
            ("std", Algorithm::Zstd),
        ] {
            let path = dir.join(sub).join(format!("Hello.{ext}"));
            let Ok(data) = std::fs::read(&path) else {
                continue;
            };
            assert_eq!(detect(&data), Some(algorithm), "{}", path.display());
            for piece in [1, data.len()] {
                assert_eq!(
                    decompress(algorithm, &data, piece),
                    plain,
                    "{}",
                    path.display()
                );
            }
            let mut d = Decompressor::new(algorithm);
            let truncated = d.push(&data[..data.len() / 2]).and_then(|_| d.finish());
            assert!(truncated.is_err(), "truncated {} accepted", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 9, "only {checked} vectors found");
}
