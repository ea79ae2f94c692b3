//! `sif:` sources: the SIF file's primary partition (a squashfs) unpacked with `unsquashfs`
//! and packed with `tar` under `fakeroot`, as containers/image does; the core's
//! `sif::SifSource` makes the image (manifest and config) around that tar.

use skopeo_core::digest::{Algorithm, Digester};
use skopeo_core::sif::{self, Header, SifImage, SifSource};
use skopeo_std_effects::fs::{go_io_error, NativeFs};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Reads up to `len` bytes at `offset` (fewer at the end of the file).
fn read_at(file: &mut File, path: &str, offset: u64, len: u64) -> Result<Vec<u8>, String> {
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| go_io_error("seek", path, &e).to_string())?;
    let mut out = Vec::new();
    file.take(len)
        .read_to_end(&mut out)
        .map_err(|e| go_io_error("read", path, &e).to_string())?;
    Ok(out)
}

/// Opens and parses the SIF file (errors worded as `loading SIF file: …`).
fn load(path: &str) -> Result<(File, SifImage), String> {
    let wrap = |e: String| format!("loading SIF file: {e}");
    let mut file = File::open(path).map_err(|e| wrap(go_io_error("open", path, &e).to_string()))?;
    let head = read_at(&mut file, path, 0, sif::HEADER_LEN as u64).map_err(wrap)?;
    let header = Header::parse(&head).map_err(|e| wrap(e.0))?;
    let (offset, size, needed) = header.descriptors_range().map_err(|e| wrap(e.0))?;
    let bytes = read_at(&mut file, path, offset, size.min(needed)).map_err(wrap)?;
    let image = SifImage::parse(header, &bytes).map_err(|e| wrap(e.0))?;
    Ok((file, image))
}

/// The local zone's offset from UTC in seconds, as Go's `time.Local` shows times: from `date`,
/// which reads the same zone database and `TZ` (0 when it cannot tell).
fn local_utc_offset(at: i64) -> i32 {
    let out = std::process::Command::new("date")
        .args(["-d", &format!("@{at}"), "+%z"])
        .output();
    let text = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        _ => return 0,
    };
    let (sign, digits) = match text.split_at_checked(1) {
        Some(("-", d)) => (-1, d),
        Some(("+", d)) => (1, d),
        _ => return 0,
    };
    match (digits.get(..2), digits.get(2..4)) {
        (Some(h), Some(m)) => match (h.parse::<i32>(), m.parse::<i32>()) {
            (Ok(h), Ok(m)) => sign * (h * 3600 + m * 60),
            _ => 0,
        },
        _ => 0,
    }
}

/// Unsquashes `squashfs` into `work/rootfs` (with `script` added) and tars it as
/// `work/rootfs.tar`, both under one `fakeroot` so ownership survives.
fn squashfs_to_tar(work: &Path, injected: Option<&[u8]>) -> Result<(), String> {
    let root = work.join("rootfs");
    let script_path = work.join("script");
    if let Some(script) = injected {
        let target = root.join(sif::INJECTED_SCRIPT_PATH.trim_start_matches('/'));
        let parent = target.parent().expect("the script has a directory");
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("creating {}: {e}", parent.display()))?;
        write_executable(&target, script).map_err(|e| {
            format!(
                "writing {} to {}: {e}",
                sif::INJECTED_SCRIPT_PATH,
                target.display()
            )
        })?;
    }
    let command = format!(
        "unsquashfs -d {root} -f {squashfs} && tar --acls --xattrs -C {root} -cpf {tar} ./",
        root = root.display(),
        squashfs = work.join("rootfs.squashfs").display(),
        tar = work.join("rootfs.tar").display(),
    );
    write_executable(&script_path, format!("#!/bin/sh\n{command}\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let output = std::process::Command::new("fakeroot")
        .arg("--")
        .arg(&script_path)
        .output()
        .map_err(|e| format!("converting image: exec: \"fakeroot\": {e}"))?;
    let _ = std::fs::remove_dir_all(&root);
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        let status = match output.status.code() {
            Some(code) => format!("exit status {code}"),
            None => "signal: killed".to_owned(),
        };
        return Err(format!("converting image: {status}, output: {text}"));
    }
    Ok(())
}

fn write_executable(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o755)
        .open(path)?;
    f.write_all(bytes)
}

/// The digest and size of the file at `path`.
fn digest_file(path: &Path) -> Result<(skopeo_core::digest::Digest, u64), String> {
    let shown = path.display().to_string();
    let mut file = File::open(path).map_err(|e| format!("opening {shown:?} for reading: {e}"))?;
    let mut digester = Digester::new(Algorithm::Sha256);
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| format!("reading {shown:?}: {e}"))?;
        if n == 0 {
            return Ok((digester.finish(), size));
        }
        digester.update(&buf[..n]);
        size += n as u64;
    }
}

/// Converts the SIF file at `path` (its root filesystem packed into a tar inside `scratch`,
/// which also holds the conversion's work files) into a source. Nothing is written outside
/// `scratch`.
pub fn open<'a>(
    path: &str,
    scratch: &Path,
    fs: &'a NativeFs,
) -> Result<SifSource<'a, NativeFs>, String> {
    let (mut file, image) = load(path)?;
    let convert = |e: String| format!("converting rootfs from SquashFS to Tarball: {e}");
    let def_file = match image.def_file() {
        Some(d) => Some(read_at(
            &mut file,
            path,
            d.offset.max(0) as u64,
            d.size.max(0) as u64,
        )?),
        None => None,
    };
    let (command, injected) = sif::command_and_script(def_file.as_deref());
    let root = image.root_fs().map_err(|e| convert(e.0))?;
    let work = scratch.join("sif");
    std::fs::create_dir_all(&work).map_err(|e| format!("creating temp directory: {e}"))?;
    let squashfs = work.join("rootfs.squashfs");
    {
        let mut out = File::create(&squashfs).map_err(|e| convert(e.to_string()))?;
        file.seek(SeekFrom::Start(root.offset.max(0) as u64))
            .map_err(|e| convert(e.to_string()))?;
        let want = root.size.max(0) as u64;
        let copied = std::io::copy(&mut (&mut file).take(want), &mut out)
            .map_err(|e| convert(e.to_string()))?;
        if copied < want {
            return Err(convert("EOF".into()));
        }
    }
    squashfs_to_tar(&work, injected.as_deref()).map_err(convert)?;
    let _ = std::fs::remove_file(&squashfs);
    let tar = work.join("rootfs.tar");
    let (layer, layer_size) =
        digest_file(&tar).map_err(|e| format!("gathering blob information: {e}"))?;
    let offset = local_utc_offset(image.header.modified_at);
    let source = SifSource::new(
        fs,
        &image.header,
        &command,
        layer,
        layer_size,
        tar.display().to_string(),
        offset,
    );
    pollster::block_on(source).map_err(|e| e.to_string())
}
