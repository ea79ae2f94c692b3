//! Reading `docker save` archives from disk: plain or gzip-compressed tar files, one named
//! component at a time (as containers/image reads them). xz, zstd and bzip2 archives are
//! refused with a clear error for now.

use std::io::{BufRead, BufReader, Read};

/// The archive as a tar stream, decompressing gzip on the fly.
fn open_tar(path: &str) -> Result<tar::Archive<Box<dyn Read>>, String> {
    let file = std::fs::File::open(path).map_err(|e| {
        format!(
            "opening file {path:?}: {}",
            crate::fs::go_io_error("open", path, &e)
        )
    })?;
    let mut reader = BufReader::new(file);
    let head = reader
        .fill_buf()
        .map_err(|e| format!("detecting compression for file {path:?}: {e}"))?;
    let unsupported = [
        (&b"\xfd7zXZ\x00"[..], "xz"),
        (&b"\x28\xb5\x2f\xfd"[..], "zstd"),
        (&b"BZh"[..], "bzip2"),
    ];
    if let Some((_, kind)) = unsupported
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
    {
        return Err(format!(
            "auto-decompressing input: {kind}-compressed archives are not supported yet (gzip and uncompressed are)"
        ));
    }
    let stream: Box<dyn Read> = if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    Ok(tar::Archive::new(stream))
}

/// Lexically cleans a tar member name as Go's `path.Clean` does for the cases archives have
/// (`./x`, `x/`, `a//b`).
fn clean(name: &str) -> String {
    let parts: Vec<&str> = name
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    parts.join("/")
}

/// A tar reading failure in Go's `archive/tar` words.
fn tar_error(e: &std::io::Error) -> String {
    let text = e.to_string();
    if e.kind() == std::io::ErrorKind::UnexpectedEof || text.contains("failed to read entire block")
    {
        "unexpected EOF".into()
    } else if text.contains("checksum") {
        "archive/tar: invalid tar header".into()
    } else {
        text
    }
}

/// The whole content of the member `component` of the archive at `path`.
pub fn read_component(path: &str, component: &str) -> Result<Vec<u8>, String> {
    let wrap = |e: String| format!("loading tar component {component}: {e}");
    let mut archive = open_tar(path)?;
    let entries = archive.entries().map_err(|e| wrap(tar_error(&e)))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| wrap(tar_error(&e)))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if clean(&name) != clean(component) {
            continue;
        }
        if !entry.header().entry_type().is_file() {
            return Err(wrap(format!(
                "Error reading tar archive component {name}: not a regular file"
            )));
        }
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| wrap(tar_error(&e)))?;
        return Ok(bytes);
    }
    Err(wrap("file does not exist".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_found_by_cleaned_name_in_plain_and_gzip_archives() {
        let dir = std::env::temp_dir().join(format!("archive-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(2);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, "./manifest.json", &b"[]"[..])
            .unwrap();
        let plain = builder.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &plain).unwrap();
        for (name, bytes) in [
            ("plain.tar", plain.clone()),
            ("packed.tar.gz", gz.finish().unwrap()),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            let p = path.to_str().unwrap();
            assert_eq!(read_component(p, "manifest.json").unwrap(), b"[]");
            assert_eq!(
                read_component(p, "repositories").unwrap_err(),
                "loading tar component repositories: file does not exist"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
