//! Signature lookaside storage for `docker://` images: the registries.d directory read from
//! disk, and the files and web servers the core's `registry::lookaside` reads and writes.

use crate::http::{NativeHttp, TlsOptions};
use skopeo_core::digest::Digest;
use skopeo_core::reference::Reference;
use skopeo_core::registries_d::{builtin_lookaside, RegistriesD};
use skopeo_core::registry::lookaside;
use skopeo_core::signature::Signature;
use skopeo_core::Result;
use skopeo_std_effects::fs::NativeFs;
use std::path::PathBuf;

/// The registries.d directory: `--registries.d`, else the user's when it exists, else
/// /etc/containers/registries.d.
fn directory(explicit: Option<&str>) -> PathBuf {
    if let Some(dir) = explicit {
        return PathBuf::from(dir);
    }
    let user = crate::registry::home().join(".config/containers/registries.d");
    match user.exists() {
        true => user,
        false => PathBuf::from("/etc/containers/registries.d"),
    }
}

/// Reads and merges the registries.d directory (a missing one configures nothing).
pub fn load(explicit: Option<&str>) -> std::result::Result<RegistriesD, String> {
    let dir = directory(explicit);
    let mut names = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Vec<_>>(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(format!("reading {}: {e}", dir.display())),
    };
    names.sort();
    let mut files = Vec::new();
    for name in names.into_iter().filter(|n| n.ends_with(".yaml")) {
        let path = dir.join(&name);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        files.push((path.display().to_string(), bytes));
    }
    RegistriesD::parse(&files).map_err(|e| e.to_string())
}

/// Where one registry image's signatures are kept.
pub struct Lookaside {
    base: String,
    /// Whether sigstore signatures are registry attachments (`use-sigstore-attachments`).
    pub sigstore_attachments: bool,
    /// For a web server's signatures (none for files).
    http: Option<NativeHttp>,
}

impl Lookaside {
    /// The lookaside of `reference` per `config` (for writing when `write`).
    pub fn new(
        config: &RegistriesD,
        reference: &Reference,
        write: bool,
    ) -> std::result::Result<Self, String> {
        let is_root = rustix::process::geteuid().is_root();
        let home = crate::registry::home().display().to_string();
        let base = config.lookaside_base(reference, write, &builtin_lookaside(is_root, &home));
        let web_host = ["http://", "https://"]
            .iter()
            .find_map(|scheme| base.strip_prefix(scheme))
            .map(|rest| rest.split('/').next().unwrap_or_default());
        let http = match web_host {
            Some(host) => Some(NativeHttp::for_registry(host, &TlsOptions::default())?),
            None => None,
        };
        Ok(Lookaside {
            base,
            sigstore_attachments: config.uses_sigstore_attachments(reference),
            http,
        })
    }

    /// The signatures of the manifest `digest`.
    pub async fn read(&self, digest: &Digest) -> Result<Vec<Signature>> {
        lookaside::read_signatures(&NativeFs, self.http.as_ref(), &self.base, digest).await
    }

    /// Whether signatures can be stored here, and if not why (with attachments enabled,
    /// sigstore signatures can always be).
    pub fn check_writable(&self) -> Result<()> {
        match self.sigstore_attachments {
            true => Ok(()),
            false => lookaside::check_writable(&self.base),
        }
    }

    /// Stores `signatures` as those of the manifest `digest`.
    pub async fn write(&self, digest: &Digest, signatures: &[Signature]) -> Result<()> {
        lookaside::write_signatures(&NativeFs, &self.base, digest, signatures).await
    }
}
