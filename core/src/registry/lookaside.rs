//! Signatures of registry images kept in lookaside storage (see [`crate::registries_d`]):
//! `BASE@ALGO=HEX/signature-N` for N from 1, read until the first one missing; written to
//! `file://` locations only (web servers are written through their staging directory).

use crate::digest::Digest;
use crate::effects::{ByteSink, EffectErrorKind, Filesystem, FilesystemWrite, HttpClient};
use crate::registries_d::signature_url;
use crate::signature::Signature;
use crate::{Error, Result};

/// More signatures than this for one image means the storage is broken.
const MAX_SIGNATURES: usize = 128;

/// The largest signature read from a web server.
const MAX_SIGNATURE_SIZE: usize = 4 << 20;

/// Where a lookaside URL points.
enum Location<'a> {
    File(&'a str),
    Web,
}

fn location<'a>(url: &'a str, doing: &str) -> Result<Location<'a>> {
    if let Some(path) = url.strip_prefix("file://") {
        return Ok(Location::File(path));
    }
    if url.starts_with("http://") || url.starts_with("https://") {
        return Ok(Location::Web);
    }
    Err(Error::Unsupported(format!(
        "Unsupported scheme when {doing} signature {} {url}",
        if doing == "reading" { "from" } else { "to" }
    )))
}

/// The signatures of the manifest `digest` under `base`, in order (`http` reads them from
/// web servers).
pub async fn read_signatures<F: Filesystem, H: HttpClient>(
    fs: &F,
    http: Option<&H>,
    base: &str,
    digest: &Digest,
) -> Result<Vec<Signature>> {
    let mut signatures = Vec::new();
    for index in 0.. {
        if index >= MAX_SIGNATURES {
            return Err(Error::Invalid(format!(
                "server provided {MAX_SIGNATURES} signatures, assuming that's unreasonable and a server error"
            )));
        }
        let url = signature_url(base, digest, index);
        let blob = match location(&url, "reading")? {
            Location::File(path) => match fs.read_file(path).await {
                Ok(blob) => blob,
                Err(e) if e.kind == EffectErrorKind::NotFound => break,
                Err(e) => return Err(e.into()),
            },
            Location::Web => {
                let http = http.ok_or_else(|| {
                    Error::Unsupported(format!(
                        "reading signatures from {url} is not supported here"
                    ))
                })?;
                let request = http::Request::get(&url)
                    .body(Vec::new())
                    .map_err(|e| Error::Invalid(format!("{url}: {e}")))?;
                let res = http.send(request).await?;
                match res.status().as_u16() {
                    200 if res.body().len() > MAX_SIGNATURE_SIZE => {
                        return Err(Error::Invalid(format!(
                            "reading signature from {url}: larger than {MAX_SIGNATURE_SIZE} bytes"
                        )))
                    }
                    200 => res.into_body(),
                    404 => break,
                    status => {
                        return Err(Error::Registry {
                            status,
                            message: format!(
                                "Error reading signature from {url}: status {status} ({})",
                                super::errors::status_text(status)
                            ),
                            retryable: false,
                        })
                    }
                }
            }
        };
        let signature = Signature::from_blob(&blob)
            .map_err(|e| Error::Invalid(format!("reading signature from {url}: {e}")))?;
        signatures.push(signature);
    }
    Ok(signatures)
}

/// Stores `signatures` as those of the manifest `digest` under `base`, removing any further
/// ones left from before (up to the first one missing).
pub async fn write_signatures<F: FilesystemWrite>(
    fs: &F,
    base: &str,
    digest: &Digest,
    signatures: &[Signature],
) -> Result<()> {
    if signatures.is_empty() {
        return Ok(());
    }
    // Sigstore signatures travel as registry attachments, never in lookaside storage.
    if signatures
        .iter()
        .any(|s| matches!(s, Signature::Sigstore(_)))
    {
        return Err(Error::Unsupported(
            "writing sigstore attachments is disabled by configuration".into(),
        ));
    }
    for (index, signature) in signatures.iter().enumerate() {
        let url = signature_url(base, digest, index);
        let path = file_path(&url, "writing")?;
        let dir = &path[..path.rfind('/').unwrap_or(0)];
        fs.create_dir_all(dir).await?;
        // Written whole under a temporary name, then renamed: a reader never sees half of one.
        let partial = format!("{path}.partial");
        let mut file = fs.create(&partial).await?;
        file.write_all(&signature.to_blob()).await?;
        file.finish().await?;
        fs.rename(&partial, path).await?;
    }
    for index in signatures.len().. {
        let url = signature_url(base, digest, index);
        match fs.remove_file(file_path(&url, "writing")?).await {
            Ok(()) => {}
            Err(e) if e.kind == EffectErrorKind::NotFound => break,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Whether signatures can be written under `base` (only to files), and if not why.
pub fn check_writable(base: &str) -> Result<()> {
    file_path(base, "writing").map(|_| ())
}

fn file_path<'a>(url: &'a str, doing: &str) -> Result<&'a str> {
    match location(url, doing)? {
        Location::File(path) => Ok(path),
        Location::Web => Err(Error::Unsupported(format!(
            "Writing directly to a {} lookaside {url} is not supported. Configure a lookaside-staging: location",
            url.split(':').next().unwrap_or_default()
        ))),
    }
}
