//! The copy engine: one image from any source to any destination, through their roles only.
//! It chooses the instance of a multi-platform image, converts the manifest when the
//! destination needs another schema, skips blobs the destination has, streams the rest with
//! their digests and sizes verified, writes the manifest last and commits; on any failure
//! the destination is aborted and left as it was.

mod diff_id;
mod formats;
mod layers;
mod progress;
mod trust;

pub use formats::{parse_format, Unmodifiable};
pub use layers::{CompressionFlags, CompressionOptions, LayerChange};
pub use progress::{BlobKind, BlobOutcome, Report};
pub use trust::{ManifestSigner, Signing};

use crate::concurrent::{now_or_never, race, Raced};
use crate::convert::list::{rewrite_list, InstanceUpdate};
use crate::convert::{convert_image, to_schema1};
use crate::destination::{ImageDestination, LayerCompression};
use crate::digest::Digest;
use crate::manifest::platform::{choose_instance, PlatformChoice};
use crate::manifest::{manifest_digest, mime, Descriptor, Manifest};
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
    /// The manifest type to write (`--format`), converting when the source has another.
    pub force_manifest_type: Option<&'static str>,
    /// Refuse any change to the manifests (`--preserve-digests`).
    pub preserve_digests: bool,
    /// Leave the source's signatures behind (`--remove-signatures`).
    pub remove_signatures: bool,
    /// The destination as messages name it (`oci:/srv/layout:v1`).
    pub destination_name: String,
    /// What a conversion to schema 1 (`--format v2s1`) writes into the manifest besides the
    /// image: the destination's repository and tag, the throwaway signing key and the time.
    pub schema1: to_schema1::Schema1Target,
    /// The policy's judgement of the source (`None`: `--insecure-policy`).
    pub trust: Option<crate::trust::policy_eval::TrustCheck>,
    /// Signatures to add (`--sign-by`, `--sign-by-sigstore-private-key`).
    pub signing: Signing,
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

    /// Why a manifest with `signatures` to keep may not change, if it may not.
    fn unmodifiable_with(
        &self,
        signatures: &[crate::signature::Signature],
    ) -> Option<Unmodifiable> {
        match (self.preserve_digests, signatures.is_empty()) {
            (true, _) => Some(Unmodifiable::PreserveDigests),
            (false, false) => Some(Unmodifiable::WouldInvalidateSignatures),
            (false, true) => None,
        }
    }
}

/// A manifest as written to the destination.
struct Written {
    manifest: Vec<u8>,
    media_type: String,
    digest: Digest,
}

fn interruption(reason: &str) -> Error {
    Error::Interrupted(format!(
        "copy interrupted ({reason}); the destination was left as it was"
    ))
}

/// Copies the image `src` holds into `dest` and commits it; returns the digest of the
/// manifest written. On failure the destination is aborted.
pub async fn copy_image<S: BlobSource, D: ImageDestination>(
    src: &S,
    dest: D,
    opts: &CopyOptions,
    report: &dyn Report,
) -> Result<Digest> {
    copy_image_until(src, dest, opts, report, std::future::pending()).await
}

/// [`copy_image`], stopped when `interrupted` completes first (with the reason, such as the
/// signal received): the copy is dropped where it stands and the destination aborted, so
/// it is left as it was.
pub async fn copy_image_until<S: BlobSource, D: ImageDestination>(
    src: &S,
    mut dest: D,
    opts: &CopyOptions,
    report: &dyn Report,
    interrupted: impl std::future::Future<Output = String>,
) -> Result<Digest> {
    let mut interrupted = std::pin::pin!(interrupted);
    let outcome = match race(copy_into(src, &mut dest, opts, report), &mut interrupted).await {
        // A copy that failed because the host stopped its streams reports the interruption.
        Raced::First(Err(e)) => match now_or_never(&mut interrupted) {
            Some(reason) => Err(interruption(&reason)),
            None => Err(e),
        },
        Raced::First(outcome) => outcome,
        Raced::Second(reason) => Err(interruption(&reason)),
    };
    match outcome {
        Ok(digest) => {
            dest.commit()
                .await
                .map_err(|e| e.context("committing the finished image"))?;
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
        _ => {
            let image = SourceImage::new(top, top_type, parsed, None);
            return Ok(copy_one(src, dest, image, false, opts, report)
                .await?
                .digest);
        }
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
        let image = SourceImage::new(bytes, media_type, child, Some(chosen));
        let written = copy_one(src, dest, image, false, opts, report)
            .await
            .map_err(|e| e.context("copying system image from manifest list"))?;
        return Ok(written.digest);
    }

    // The list itself, with all its images or none.
    let dest_types = dest.supported_manifest_types();
    if !dest_types.is_empty() && !dest_types.iter().any(|t| mime::is_multi_image(t)) {
        return Err(Error::Unsupported(format!(
            "copying multiple images: destination transport {:?} does not support copying multiple images as a group",
            dest.transport_name()
        )));
    }
    let signatures = source_signatures(
        src,
        &*dest,
        None,
        opts,
        report,
        [
            "Getting image list signatures",
            "Checking if image list destination supports signatures",
        ],
        None,
    )
    .await?;
    let unmodifiable = opts.unmodifiable_with(&signatures);
    let list_type = formats::list_target(
        &top_type,
        dest.supported_manifest_types(),
        opts.force_manifest_type,
    )?;
    if let (true, Some(why)) = (list_type != top_type, unmodifiable) {
        return Err(cannot_modify_list(list_type, why));
    }
    let copy_all = opts.multi_arch == MultiArch::All;
    let count = if copy_all { list.manifests.len() } else { 0 };
    report.line(&format!(
        "Copying {count} of {} images in list",
        list.manifests.len()
    ));
    let mut updates = Vec::with_capacity(list.manifests.len());
    for (i, instance) in list.manifests.iter().enumerate() {
        if !copy_all {
            updates.push(InstanceUpdate {
                digest: instance.digest.to_string(),
                size: instance.size,
                media_type: instance.media_type.clone(),
            });
            continue;
        }
        report.line(&format!(
            "Copying image {} ({}/{count})",
            instance.digest,
            i + 1
        ));
        let (bytes, media_type) = src.manifest(Some(&instance.digest)).await?;
        let child = parse(&bytes, &media_type)?;
        let image = SourceImage::new(bytes, media_type, child, Some(instance.digest.clone()));
        let written = copy_one(src, dest, image, true, opts, report)
            .await
            .map_err(|e| {
                e.context(format!(
                    "copying image {}/{count} from manifest list",
                    i + 1
                ))
            })?;
        updates.push(InstanceUpdate {
            digest: written.digest.to_string(),
            size: written.manifest.len() as i64,
            media_type: written.media_type,
        });
    }
    let (original, updated) = rewrite_list(
        &top,
        &top_type,
        &updates,
        list_type,
        &opts.platform.host_os,
        &opts.platform.host_arch,
    )?;
    let list_bytes = match (original == updated, unmodifiable) {
        (true, _) => top,
        (false, Some(why)) => return Err(cannot_modify_list(list_type, why)),
        (false, None) => updated,
    };
    report.line("Writing manifest list to image destination");
    dest.put_manifest(&list_bytes, list_type, None)
        .await
        .map_err(|e| {
            e.reworded(|m| {
                format!("Uploading manifest list failed, attempted the following formats: {list_type}({m})")
            })
        })?;
    let mut signatures = signatures;
    signatures.extend(opts.signing.sign(&list_bytes, report)?);
    report.line("Storing list signatures");
    dest.put_signatures(&signatures, None)
        .await
        .map_err(|e| e.context("writing signatures"))?;
    manifest_digest(&list_bytes).map_err(|e| Error::Invalid(e.to_string()))
}

/// One image's manifest as the source has it; `instance` is its digest when it is an entry
/// of a list (where its signatures are kept).
struct SourceImage {
    bytes: Vec<u8>,
    media_type: String,
    manifest: Manifest,
    instance: Option<Digest>,
}

impl SourceImage {
    fn new(
        bytes: Vec<u8>,
        media_type: String,
        manifest: Manifest,
        instance: Option<Digest>,
    ) -> Self {
        SourceImage {
            bytes,
            media_type,
            manifest,
            instance,
        }
    }
}

/// The source's signatures for the image (or list) to copy, unless `--remove-signatures`;
/// a destination that cannot store them is refused up front, with containers/image's lines.
async fn source_signatures<S: BlobSource, D: ImageDestination>(
    src: &S,
    dest: &D,
    instance: Option<&Digest>,
    opts: &CopyOptions,
    report: &dyn Report,
    [getting, checking]: [&str; 2],
    already_read: Option<Vec<crate::signature::Signature>>,
) -> Result<Vec<crate::signature::Signature>> {
    if opts.remove_signatures {
        return Ok(Vec::new());
    }
    report.line(getting);
    let signatures = match already_read {
        Some(signatures) => signatures,
        None => src
            .signatures(instance)
            .await
            .map_err(|e| e.context("reading signatures"))?,
    };
    if !signatures.is_empty() {
        report.line(checking);
        dest.supports_signatures().map_err(|e| {
            e.context(format!(
                "Can not copy signatures to {}",
                opts.destination_name
            ))
        })?;
    }
    Ok(signatures)
}

fn cannot_modify_list(list_type: &str, why: Unmodifiable) -> Error {
    Error::Invalid(format!(
        "Manifest list must be converted to type {list_type:?} to be written to destination, but we cannot modify it: {:?}",
        why.reason()
    ))
}

/// Copies one image and writes its manifest (and signatures): as the destination's top
/// level, or as an entry of a list (`in_list`; then under the digest of what was written).
async fn copy_one<S: BlobSource, D: ImageDestination>(
    src: &S,
    dest: &mut D,
    image: SourceImage,
    in_list: bool,
    opts: &CopyOptions,
    report: &dyn Report,
) -> Result<Written> {
    if in_list && mime::is_multi_image(&image.media_type) {
        return Err(Error::Invalid(
            "Unsupported manifest list type in manifest list: nested lists are not supported"
                .into(),
        ));
    }
    let read_for_policy = trust::check_source(
        opts.trust.as_ref(),
        src,
        &image.bytes,
        image.instance.as_ref(),
    )
    .await?;
    let signatures = source_signatures(
        src,
        &*dest,
        image.instance.as_ref(),
        opts,
        report,
        [
            "Getting image source signatures",
            "Checking if image destination supports signatures",
        ],
        read_for_policy,
    )
    .await?;
    let unmodifiable = opts.unmodifiable_with(&signatures);
    let image = with_layers_for_copy(src, image, unmodifiable).await?;
    let (written, written_type) = copy_blobs(src, dest, &image, unmodifiable, opts, report).await?;
    let mut signatures = signatures;
    let digest = manifest_digest(&written).map_err(|e| Error::Invalid(e.to_string()))?;
    let as_instance = in_list.then_some(&digest);
    report.line("Writing manifest to image destination");
    dest.put_manifest(&written, &written_type, as_instance)
        .await
        .map_err(|e| e.context("writing manifest"))?;
    signatures.extend(opts.signing.sign(&written, report)?);
    report.line("Storing signatures");
    dest.put_signatures(&signatures, as_instance)
        .await
        .map_err(|e| e.context("writing signatures"))?;
    Ok(Written {
        manifest: written,
        media_type: written_type,
        digest,
    })
}

/// `image` naming the layers the source reads in place of the manifest's, when it has such
/// ([`ImageSource::layers_for_copy`]); a manifest that may not change is refused then.
async fn with_layers_for_copy<S: BlobSource>(
    src: &S,
    image: SourceImage,
    unmodifiable: Option<Unmodifiable>,
) -> Result<SourceImage> {
    let Some(replacements) = src.layers_for_copy(image.instance.as_ref()).await? else {
        return Ok(image);
    };
    if let Some(why) = unmodifiable {
        return Err(Error::Invalid(format!(
            "Copying this image would require changing layer representation, which we cannot do: {:?}",
            why.reason()
        )));
    }
    let bytes = layers::replace_layers(&image.bytes, &image.media_type, &replacements)?;
    let manifest = parse(&bytes, &image.media_type)?;
    Ok(SourceImage::new(
        bytes,
        image.media_type,
        manifest,
        image.instance,
    ))
}

/// Copies an image's layers and config; returns the manifest the destination should get
/// (converted when it needs another schema) and its media type.
async fn copy_blobs<S: BlobSource, D: ImageDestination>(
    src: &S,
    dest: &mut D,
    image: &SourceImage,
    unmodifiable: Option<Unmodifiable>,
    opts: &CopyOptions,
    report: &dyn Report,
) -> Result<(Vec<u8>, String)> {
    let (manifest_bytes, media_type, manifest) =
        (&image.bytes[..], image.media_type.as_str(), &image.manifest);
    let schema1_layers;
    let (config, layers): (Option<&Descriptor>, &[Descriptor]) = match manifest {
        Manifest::Schema2(m) | Manifest::Oci(m) => (Some(&m.config), &m.layers),
        Manifest::Schema1(m) => {
            schema1_layers = schema1_layer_descriptors(m);
            (None, &schema1_layers)
        }
        Manifest::DockerList(_) | Manifest::OciIndex(_) => {
            return Err(Error::Invalid(
                "Internal error: a manifest list where an image was expected".into(),
            ))
        }
    };

    // The manifest the destination gets: as is, or converted.
    let target = formats::image_target(
        media_type,
        dest.supported_manifest_types(),
        opts.force_manifest_type,
        unmodifiable,
    )
    // Schema 1 signed and unsigned are one format to convert between: kept as it is.
    .filter(|t| !(mime::is_schema1(t) && matches!(manifest, Manifest::Schema1(_))));
    // Schema 1 names the layers as stored, so that conversion comes after they are; so does
    // the conversion from schema 1, which needs the layers' sizes and diff IDs.
    let to_schema1 = target.is_some_and(mime::is_schema1);
    let from_schema1 = target.filter(|_| matches!(manifest, Manifest::Schema1(_)));
    let (out_manifest, out_type, new_config) = match target {
        None => (manifest_bytes.to_vec(), media_type.to_owned(), None),
        Some(target) if from_schema1.is_some() => (Vec::new(), target.to_owned(), None),
        Some(_) if to_schema1 => {
            to_schema1::check_convertible(manifest_bytes, media_type)?;
            (manifest_bytes.to_vec(), media_type.to_owned(), None)
        }
        Some(target) => converted_to(src, image, config, target).await?,
    };

    // Layers move together; each distinct blob once (a repeated layer is the same file).
    let mut scheduled = std::collections::HashSet::new();
    let changes = RefCell::new(HashMap::new());
    let facts = RefCell::new(HashMap::new());
    // A manifest that may not change keeps its layers exactly as they are.
    let want = match unmodifiable {
        Some(_) => LayerCompression::Preserve,
        None => opts
            .compression
            .layers
            .unwrap_or_else(|| dest.desired_layer_compression()),
    };
    let dest_ref = &*dest;
    dest_ref.plan_layers(&layers.iter().map(|l| l.digest.clone()).collect::<Vec<_>>());
    let parallelism = match dest.one_blob_at_a_time() {
        true => 1,
        false => opts.parallelism(),
    };
    crate::concurrent::try_for_each_limited(layers, parallelism, |layer| {
        let size = u64::try_from(layer.size).ok();
        report.blob_started(BlobKind::Layer, &layer.digest, size);
        let first = scheduled.insert(&layer.digest);
        let (changes, facts) = (&changes, &facts);
        async move {
            if first {
                let compression = &opts.compression;
                let with_diff_id = from_schema1.is_some();
                let (change, fact) = layers::copy_layer(
                    src,
                    dest_ref,
                    layer,
                    want,
                    compression,
                    with_diff_id,
                    report,
                )
                .await?;
                if let Some(change) = change {
                    changes.borrow_mut().insert(layer.digest.clone(), change);
                }
                if let Some(fact) = fact {
                    facts.borrow_mut().insert(layer.digest.clone(), fact);
                }
            }
            Ok::<(), Error>(())
        }
    })
    .await?;
    let changes = changes.into_inner();
    let (out_manifest, out_type, new_config) = match from_schema1 {
        Some(target) => {
            let facts = facts.into_inner();
            let in_order: Vec<_> = layers.iter().map(|l| facts[&l.digest].clone()).collect();
            let converted =
                convert_image(manifest_bytes, media_type, None, target, Some(&in_order))?;
            let out_type = converted.media_type.to_owned();
            (converted.manifest, out_type, converted.config)
        }
        None => (out_manifest, out_type, new_config),
    };
    // As containers/image does, a manifest type that cannot name the new layers' compression
    // (docker's and zstd) gives way to the next type the destination takes: OCI.
    // (Schema 1 has no layer media types: it names zstd layers as containers/image does.)
    let incompatible = changes
        .values()
        .filter_map(|c| c.compression)
        .any(|a| !crate::compression::manifest_takes(&out_type, a));
    let (out_manifest, out_type, new_config) = match incompatible
        && unmodifiable.is_none()
        && formats::takes_as_fallback(dest.supported_manifest_types(), opts.force_manifest_type)
        && !matches!(manifest, Manifest::Schema1(_))
    {
        true => converted_to(src, image, config, mime::OCI_MANIFEST).await?,
        false => (out_manifest, out_type, new_config),
    };
    let out_manifest = match changes.is_empty() {
        true => out_manifest,
        false => layers::apply_layer_changes(&out_manifest, &out_type, &changes)?,
    };
    if to_schema1 {
        let config = config.expect("schema 2 and OCI images have a config");
        let config = src.small_blob(&config.digest, None).await?;
        let layers: Vec<Digest> = match parse(&out_manifest, &out_type)? {
            Manifest::Schema2(m) | Manifest::Oci(m) => {
                m.layers.iter().map(|l| l.digest.clone()).collect()
            }
            _ => unreachable!("only schema 2 and OCI images convert to schema 1"),
        };
        let converted = to_schema1::from_image(&layers, &config, &opts.schema1)?;
        if converted.uses_empty_layer {
            store_empty_layer(dest).await?;
        }
        return Ok((
            converted.manifest,
            mime::DOCKER_V2_SCHEMA1_SIGNED.to_owned(),
        ));
    }
    match (new_config, config) {
        (Some(bytes), _) => {
            let digest = Digest::sha256_of(&bytes);
            let size = Some(bytes.len() as u64);
            report.blob_started(BlobKind::Config, &digest, size);
            let outcome = match dest.has_blob(&digest).await? {
                true => BlobOutcome::Skipped,
                false => {
                    let stream = crate::destination::SliceStream::new(&bytes);
                    let mut stream = progress::Counted::new(stream, &digest, report);
                    dest.put_config(&mut stream, &digest, size).await?;
                    BlobOutcome::Copied
                }
            };
            report.blob_done(&digest, outcome);
        }
        (None, Some(config)) => {
            let size = u64::try_from(config.size).ok();
            report.blob_started(BlobKind::Config, &config.digest, size);
            let outcome = copy_config(src, dest, config, report).await?;
            report.blob_done(&config.digest, outcome);
        }
        // Schema 1 kept as it is: its config is in the manifest.
        (None, None) => {}
    }
    Ok((out_manifest, out_type))
}

/// `image`'s manifest converted to `target`: the manifest, its type and the new config blob
/// when the conversion rewrote the config.
async fn converted_to<S: BlobSource>(
    src: &S,
    image: &SourceImage,
    config: Option<&Descriptor>,
    target: &str,
) -> Result<(Vec<u8>, String, Option<Vec<u8>>)> {
    let config_bytes = match config {
        Some(c) => Some(src.small_blob(&c.digest, None).await?),
        None => None,
    };
    let converted = convert_image(
        &image.bytes,
        &image.media_type,
        config_bytes.as_deref(),
        target,
        None,
    )?;
    Ok((
        converted.manifest,
        converted.media_type.to_owned(),
        converted.config,
    ))
}

/// A schema 1 image's layers in application order (empty "throwaway" ones too: they are
/// blobs like the others); their sizes are unknown.
fn schema1_layer_descriptors(m: &crate::manifest::types::Schema1) -> Vec<Descriptor> {
    m.fs_layers
        .iter()
        .rev()
        .map(|layer| Descriptor {
            media_type: crate::manifest::mime::DOCKER_LAYER_GZIP.into(),
            digest: layer.blob_sum.clone(),
            size: -1,
            urls: None,
            annotations: None,
            platform: None,
        })
        .collect()
}

/// Stores the gzipped empty tar that schema 1 names for history entries without a layer,
/// unless the destination has it.
async fn store_empty_layer<D: ImageDestination>(dest: &D) -> Result<()> {
    let digest = to_schema1::gzipped_empty_layer_digest();
    if dest.has_blob(&digest).await? {
        return Ok(());
    }
    let bytes = to_schema1::GZIPPED_EMPTY_LAYER;
    let mut stream = crate::destination::SliceStream::new(bytes);
    dest.put_blob(&mut stream, Some(&digest), Some(bytes.len() as u64))
        .await
        .map_err(|e| e.context("uploading empty layer"))?;
    Ok(())
}

/// Copies the config blob unless the destination has it.
async fn copy_config<S: BlobSource, D: ImageDestination>(
    src: &S,
    dest: &D,
    blob: &Descriptor,
    report: &dyn Report,
) -> Result<BlobOutcome> {
    if dest.has_blob(&blob.digest).await? {
        return Ok(BlobOutcome::Skipped);
    }
    let size = u64::try_from(blob.size).ok();
    let stream = src.blob(&blob.digest, size).await?;
    let mut stream = progress::Counted::new(stream, &blob.digest, report);
    dest.put_config(&mut stream, &blob.digest, size)
        .await
        .map_err(|e| e.context(format!("writing blob {}", blob.digest)))?;
    Ok(BlobOutcome::Copied)
}

#[cfg(test)]
mod tests;
