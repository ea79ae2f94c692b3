//! The copy engine: one image from any source to any destination, through their roles only.
//! It chooses the instance of a multi-platform image, converts the manifest when the
//! destination needs another schema, skips blobs the destination has, streams the rest with
//! their digests and sizes verified, writes the manifest last and commits; on any failure
//! the destination is aborted and left as it was.

mod layers;

pub use layers::{CompressionFlags, CompressionOptions, LayerChange};

use crate::convert::convert_image;
use crate::destination::ImageDestination;
use crate::digest::Digest;
use crate::manifest::platform::{choose_instance, PlatformChoice};
use crate::manifest::{manifest_digest, Descriptor, Manifest};
use crate::source::BlobSource;
use crate::{Error, Result};
use std::cell::RefCell;
use std::collections::HashMap;

/// What to copy of a multi-platform image (`--multi-arch`; `--all` is `All`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MultiArch {
    /// Only the image for the chosen platform, written as a single image.
    #[default]
    System,
    /// The list and every image in it.
    All,
    /// The list alone.
    IndexOnly,
}

impl MultiArch {
    /// Parses `--multi-arch`'s value, with skopeo's complaint.
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "system" => Ok(MultiArch::System),
            "all" => Ok(MultiArch::All),
            "index-only" => Ok(MultiArch::IndexOnly),
            other => Err(Error::Invalid(format!(
                "unknown multi-arch option {other:?}. Choose one of the supported options: 'system', 'all', or 'index-only'"
            ))),
        }
    }
}

/// What a copy may change.
#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// Which image of a multi-platform source to copy.
    pub platform: PlatformChoice,
    /// Whether to copy a multi-platform image whole.
    pub multi_arch: MultiArch,
    /// How many blobs move at once (0: [`DEFAULT_PARALLEL_COPIES`]).
    pub parallel_copies: usize,
    /// What may happen to layers' compression.
    pub compression: CompressionOptions,
}

/// Blobs copied at once unless told otherwise (containers/image's default).
pub const DEFAULT_PARALLEL_COPIES: usize = 6;

impl CopyOptions {
    fn parallelism(&self) -> usize {
        match self.parallel_copies {
            0 => DEFAULT_PARALLEL_COPIES,
            n => n,
        }
    }
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
    match copy_into(src, &mut dest, opts, report).await {
        Ok(digest) => {
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

async fn copy_into<S: BlobSource, D: ImageDestination>(
    src: &S,
    dest: &mut D,
    opts: &CopyOptions,
    report: &dyn Report,
) -> Result<Digest> {
    let (top, top_type) = src.manifest(None).await?;
    let parsed = parse(&top, &top_type)?;
    let list = match &parsed {
        Manifest::DockerList(list) | Manifest::OciIndex(list) => list,
        _ => return copy_single(src, dest, top, top_type, parsed, opts, report).await,
    };
    if opts.multi_arch == MultiArch::System {
        let is_oci = matches!(parsed, Manifest::OciIndex(_));
        let chosen = choose_instance(&list.manifests, &opts.platform, is_oci).map_err(|e| {
            Error::Invalid(format!(
                "copying system image from manifest list: choosing an image from manifest list: {e}"
            ))
        })?;
        let (bytes, media_type) = src.manifest(Some(&chosen)).await?;
        let child = parse(&bytes, &media_type)?;
        return copy_single(src, dest, bytes, media_type, child, opts, report).await;
    }

    // The list itself, with all its images or none.
    let supported = dest.supported_manifest_types();
    if !supported.is_empty() && !supported.contains(&top_type.as_str()) {
        return Err(Error::Unsupported(format!(
            "copying a {top_type} list to a destination that needs another list type is not supported yet"
        )));
    }
    report.line("Getting image list signatures");
    let instances: &[Descriptor] = match opts.multi_arch {
        MultiArch::All => &list.manifests,
        _ => &[],
    };
    report.line(&format!(
        "Copying {} of {} images in list",
        instances.len(),
        list.manifests.len()
    ));
    for (i, instance) in instances.iter().enumerate() {
        report.line(&format!(
            "Copying image {} ({}/{})",
            instance.digest,
            i + 1,
            instances.len()
        ));
        let (bytes, media_type) = src.manifest(Some(&instance.digest)).await?;
        let child = parse(&bytes, &media_type)?;
        report.line("Getting image source signatures");
        let (written, written_type) =
            copy_blobs(src, dest, &bytes, &media_type, &child, opts, report).await?;
        if written != bytes {
            return Err(Error::Unsupported(format!(
                "copying {} into a list needs a conversion, which is not supported yet",
                instance.digest
            )));
        }
        report.line("Writing manifest to image destination");
        dest.put_manifest(&written, &written_type, Some(&instance.digest))
            .await?;
        report.line("Storing signatures");
    }
    report.line("Writing manifest list to image destination");
    dest.put_manifest(&top, &top_type, None).await?;
    report.line("Storing list signatures");
    manifest_digest(&top).map_err(|e| Error::Invalid(e.to_string()))
}

/// Copies one image and writes its manifest as the destination's top level.
async fn copy_single<S: BlobSource, D: ImageDestination>(
    src: &S,
    dest: &mut D,
    bytes: Vec<u8>,
    media_type: String,
    manifest: Manifest,
    opts: &CopyOptions,
    report: &dyn Report,
) -> Result<Digest> {
    report.line("Getting image source signatures");
    let (written, written_type) =
        copy_blobs(src, dest, &bytes, &media_type, &manifest, opts, report).await?;
    report.line("Writing manifest to image destination");
    dest.put_manifest(&written, &written_type, None).await?;
    report.line("Storing signatures");
    manifest_digest(&written).map_err(|e| Error::Invalid(e.to_string()))
}

/// Copies an image's layers and config; returns the manifest the destination should get
/// (converted when it needs another schema) and its media type.
async fn copy_blobs<S: BlobSource, D: ImageDestination>(
    src: &S,
    dest: &mut D,
    manifest_bytes: &[u8],
    media_type: &str,
    manifest: &Manifest,
    opts: &CopyOptions,
    report: &dyn Report,
) -> Result<(Vec<u8>, String)> {
    let (config, layers): (Option<&Descriptor>, &[Descriptor]) = match manifest {
        Manifest::Schema2(m) | Manifest::Oci(m) => (Some(&m.config), &m.layers),
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
        types if types.contains(&media_type) => None,
        [first, ..] => Some(*first),
    };
    let (out_manifest, out_type, new_config) = match target {
        None => (manifest_bytes.to_vec(), media_type.to_owned(), None),
        Some(target) => {
            let config_bytes = match config {
                Some(c) => Some(src.small_blob(&c.digest, None).await?),
                None => None,
            };
            let converted = convert_image(
                manifest_bytes,
                media_type,
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

    // Layers move together; each distinct blob once (a repeated layer is the same file).
    let mut scheduled = std::collections::HashSet::new();
    let changes = RefCell::new(HashMap::new());
    let want = opts
        .compression
        .layers
        .unwrap_or_else(|| dest.desired_layer_compression());
    let dest_ref = &*dest;
    crate::concurrent::try_for_each_limited(layers, opts.parallelism(), |layer| {
        report.line(&format!("Copying blob {}", layer.digest));
        let first = scheduled.insert(&layer.digest);
        let changes = &changes;
        async move {
            if first {
                let change =
                    layers::copy_layer(src, dest_ref, layer, want, &opts.compression).await?;
                if let Some(change) = change {
                    changes.borrow_mut().insert(layer.digest.clone(), change);
                }
            }
            Ok::<(), Error>(())
        }
    })
    .await?;
    let changes = changes.into_inner();
    let out_manifest = match changes.is_empty() {
        true => out_manifest,
        false => layers::apply_layer_changes(&out_manifest, &out_type, &changes)?,
    };
    if let Some(config) = config {
        match new_config {
            Some(bytes) => {
                let digest = Digest::sha256_of(&bytes);
                report.line(&format!("Copying config {digest}"));
                if !dest.has_blob(&digest).await? {
                    let mut stream = crate::destination::SliceStream::new(&bytes);
                    dest.put_blob(&mut stream, Some(&digest), Some(bytes.len() as u64))
                        .await?;
                }
            }
            None => {
                report.line(&format!("Copying config {}", config.digest));
                copy_blob(src, dest, config).await?;
            }
        }
    }
    Ok((out_manifest, out_type))
}

/// Copies one blob unless the destination has it.
async fn copy_blob<S: BlobSource, D: ImageDestination>(
    src: &S,
    dest: &D,
    blob: &Descriptor,
) -> Result<()> {
    if dest.has_blob(&blob.digest).await? {
        return Ok(());
    }
    let size = u64::try_from(blob.size).ok();
    let mut stream = src.blob(&blob.digest, size).await?;
    dest.put_blob(&mut stream, Some(&blob.digest), size)
        .await
        .map_err(|e| e.context(format!("writing blob {}", blob.digest)))?;
    Ok(())
}

#[cfg(test)]
mod tests;
