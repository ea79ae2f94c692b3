//! podman on a private store under a test's directory, and the layer tars the store tests
//! build images from.

use std::path::Path;
use std::process::Command;

/// Whether podman can be run here (root and `/usr/bin/podman`); prints why not.
pub fn available() -> bool {
    let ok = rustix::process::geteuid().is_root() && Path::new("/usr/bin/podman").exists();
    if !ok {
        eprintln!("skipping: needs root and /usr/bin/podman");
    }
    ok
}

/// Whether the kernel has overlayfs; prints why not.
pub fn overlay_supported() -> bool {
    let supported = std::fs::read_to_string("/proc/filesystems")
        .is_ok_and(|f| f.lines().any(|l| l.ends_with("\toverlay")));
    if !supported {
        eprintln!("skipping: this kernel has no overlay filesystem");
    }
    supported
}

/// `[DRIVER@ROOT/graph+ROOT/run]`, the store [`podman_on`] uses.
pub fn store_spec(root: &Path, driver: &str) -> String {
    format!(
        "[{driver}@{}+{}]",
        root.join("graph").display(),
        root.join("run").display()
    )
}

/// Runs podman on the store at `root` with `driver`: its status and output (both streams).
pub fn podman_status(root: &Path, driver: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new("/usr/bin/podman")
        .arg(format!("--root={}", root.join("graph").display()))
        .arg(format!("--runroot={}", root.join("run").display()))
        .arg(format!("--storage-driver={driver}"))
        .args(args)
        .output()
        .expect("podman runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs podman on the store at `root` with `driver`; its standard output (a failure panics).
pub fn podman_on(root: &Path, driver: &str, args: &[&str]) -> Option<String> {
    match podman_status(root, driver, args) {
        (0, stdout, _) => Some(stdout),
        (_, _, stderr) => panic!("podman {args:?}: {stderr}"),
    }
}

/// `podman run --rm IMAGE ARGS…` with resource limits this machine lets a container have
/// (podman's defaults ask for more open files than the hard limit here).
pub fn podman_run(root: &Path, driver: &str, image: &str, args: &[&str]) -> (i32, String) {
    let limits = [
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
    ];
    let all = [
        &["run", "--rm", "--network=none"][..],
        &limits,
        &[image],
        args,
    ]
    .concat();
    let (code, stdout, stderr) = podman_status(root, driver, &all);
    (code, stdout + &stderr)
}

/// A layer tar of `entries`: (path, kind, contents) with kind `f` file, `d` directory, `l`
/// symlink to the contents, `h` hard link to the contents, `x` an executable file.
pub fn layer_tar(entries: &[(&str, char, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, kind, contents) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(1_700_000_000);
        header.set_uid(0);
        header.set_gid(0);
        let (entry_type, mode, data): (_, _, &[u8]) = match kind {
            'f' => (tar::EntryType::Regular, 0o644, contents),
            'x' => (tar::EntryType::Regular, 0o755, contents),
            'd' => (tar::EntryType::Directory, 0o755, b""),
            'l' => (tar::EntryType::Symlink, 0o777, b""),
            _ => (tar::EntryType::Link, 0o644, b""),
        };
        header.set_entry_type(entry_type);
        header.set_mode(mode);
        header.set_size(data.len() as u64);
        if matches!(kind, 'l' | 'h') {
            header
                .set_link_name(std::str::from_utf8(contents).unwrap())
                .unwrap();
        }
        builder.append_data(&mut header, path, data).unwrap();
    }
    builder.into_inner().unwrap()
}
