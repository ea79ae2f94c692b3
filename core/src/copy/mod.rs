//! The copy engine: one image from any source to any destination, through their roles only.
//! It chooses the instance of a multi-platform image, converts the manifest when the
//! destination needs another schema, skips blobs the destination has, streams the rest with
//! their digests and sizes verified, writes the manifest last and commits; on any failure
//! the destination is aborted and left as it was.

use crate::convert::convert_image;
use crate::destination::ImageDestination;
use crate::digest::Digest;
use crate::manifest::platform::{choose_instance, PlatformChoice};
use crate::manifest::{manifest_digest, Descriptor, Manifest};
use crate::source::BlobSource;
use crate::{Error, Result};

/// What a copy may change.
#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// Which image of a multi-platform source to copy.
    pub platform: PlatformChoice,
}

/// Where progress lines go (skopeo's "Copying blob …" lines).
pub trait Report {
    fn line(&self, text: &str);
}

impl<F: Fn(&str)> Report for F {
    fn line(&self, text: &str) {
        self(text)
    }
}

/// Copies the image `src` holds into `dest` and commits it; returns the digest of the
/// manifest written. On failure the destination is aborted.
pub async fn copy_image<S: BlobSource, D: ImageDestination>(
    src: &S,
    mut dest: D,
    opts: &CopyOptions,
    report: &dyn Report,
) -> Result<Digest> {
    report.line("Getting image source signatures");
    match copy_into(src, &mut dest, opts, report).await {
        Ok(digest) => {
            report.line("Storing signatures");
            dest.commit().await?;
            Ok(digest)
        }
        Err(e) => {
            dest.abort().await;
            Err(e)
        }
    }
}

fn parse(bytes: &[u8], media_type: &str) -> Result<Manifest> {
    Manifest::parse(bytes, media_type).map_err(|e| Error::Invalid(e.to_string()))
}

/// The single image to copy: the source's image, or the platform's instance of its list.
async fn single_image<S: BlobSource>(
    src: &S,
    opts: &CopyOptions,
) -> Result<(Vec<u8>, String, Manifest)> {
    let (bytes, media_type) = src.manifest(None).await?;
    let parsed = parse(&bytes, &media_type)?;
    match &parsed {
        Manifest::DockerList(list) | Manifest::OciIndex(list) => {
            let is_oci = matches!(parsed, Manifest::OciIndex(_));
            let chosen = choose_instance(&list.manifests, &opts.platform, is_oci).map_err(|e| {
                Error::Invalid(format!(
                    "copying system image from manifest list: choosing an image from manifest list: {e}"
                ))
            })?;
            let (bytes, media_type) = src.manifest(Some(&chosen)).await?;
            let child = parse(&bytes, &media_type)?;
            Ok((bytes, media_type, child))
        }
        _ => Ok((bytes, media_type, parsed)),
    }
}

async fn copy_into<S: BlobSource, D: ImageDestination>(
    src: &S,
    dest: &mut D,
    opts: &CopyOptions,
    report: &dyn Report,
) -> Result<Digest> {
    let (manifest_bytes, media_type, manifest) = single_image(src, opts).await?;
    let (config, layers): (Option<&Descriptor>, Vec<Descriptor>) = match &manifest {
        Manifest::Schema2(m) | Manifest::Oci(m) => (Some(&m.config), m.layers.clone()),
        Manifest::Schema1(_) => {
            return Err(Error::Unsupported(
                "copying schema 1 images is not supported yet".into(),
            ))
        }
        Manifest::DockerList(_) | Manifest::OciIndex(_) => {
            return Err(Error::Invalid(
                "Internal error: a manifest list where an image was expected".into(),
            ))
        }
    };

    // The manifest the destination gets: as is, or converted to the first type it takes.
    let supported = dest.supported_manifest_types();
    let target = match supported {
        [] => None,
        types if types.contains(&media_type.as_str()) => None,
        [first, ..] => Some(*first),
    };
    let config_descriptor = config.cloned();
    let (out_manifest, out_type, new_config) = match target {
        None => (manifest_bytes.clone(), media_type.clone(), None),
        Some(target) => {
            let config_bytes = match &config_descriptor {
                Some(c) => Some(src.small_blob(&c.digest, None).await?),
                None => None,
            };
            let converted = convert_image(
                &manifest_bytes,
                &media_type,
                config_bytes.as_deref(),
                target,
                None,
            )?;
            (
                converted.manifest,
                converted.media_type.to_owned(),
                converted.config,
            )
        }
    };

    for layer in &layers {
        report.line(&format!("Copying blob {}", layer.digest));
        if dest.has_blob(&layer.digest).await? {
            continue;
        }
        let size = u64::try_from(layer.size).ok();
        let mut stream = src.blob(&layer.digest, size).await?;
        dest.put_blob(&mut stream, &layer.digest, size)
            .await
            .map_err(|e| e.context(format!("writing blob {}", layer.digest)))?;
    }

    if let Some(config) = &config_descriptor {
        match new_config {
            Some(bytes) => {
                let digest = Digest::sha256_of(&bytes);
                report.line(&format!("Copying config {digest}"));
                if !dest.has_blob(&digest).await? {
                    let mut stream = crate::destination::SliceStream::new(&bytes);
                    dest.put_blob(&mut stream, &digest, Some(bytes.len() as u64))
                        .await?;
                }
            }
            None => {
                report.line(&format!("Copying config {}", config.digest));
                if !dest.has_blob(&config.digest).await? {
                    let size = u64::try_from(config.size).ok();
                    let mut stream = src.blob(&config.digest, size).await?;
                    dest.put_blob(&mut stream, &config.digest, size)
                        .await
                        .map_err(|e| e.context(format!("writing blob {}", config.digest)))?;
                }
            }
        }
    }

    report.line("Writing manifest to image destination");
    dest.put_manifest(&out_manifest, &out_type, None).await?;
    manifest_digest(&out_manifest).map_err(|e| Error::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests;
