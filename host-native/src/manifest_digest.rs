//! `skopeo manifest-digest FILE`.

use clap::Args;
use skopeo_core::manifest::manifest_digest;

/// Arguments of `manifest-digest`.
#[derive(Args)]
pub struct ManifestDigestArgs {
    /// The manifest file
    #[arg(value_name = "MANIFEST")]
    files: Vec<String>,
}

/// Prints the digest of the manifest in the one named file.
pub fn run(args: ManifestDigestArgs) -> Result<(), String> {
    let [path] = args.files.as_slice() else {
        return Err("Usage: skopeo manifest-digest manifest".into());
    };
    let bytes = std::fs::read(path).map_err(|e| {
        let e = crate::fs::go_io_error("open", path, &e);
        format!("Error reading manifest from {path}: {e}")
    })?;
    let digest = manifest_digest(&bytes).map_err(|e| format!("Error computing digest: {e}"))?;
    crate::write_stdout(format!("{digest}\n").as_bytes())
}
