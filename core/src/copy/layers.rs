//! Copying one layer: reused when the destination has it, else streamed, verified against
//! the source's digest, and compressed, decompressed or recompressed on the way when the
//! destination (or the user) asks for another compression; and writing those changes into
//! the manifest.

use super::diff_id::DiffIdTap;
use super::progress::{BlobOutcome, Report};
use crate::compression::{
    detect, has_variants, layer_media_type, Algorithm, Encoders, Peeked, Transcoded,
};
use crate::convert::image::{decode_oci, decode_schema2};
use crate::convert::schema1::Schema1LayerFacts;
use crate::destination::{ImageDestination, LayerCompression, StoredBlob, Verifying};
use crate::digest::{Digest, Digester};
use crate::effects::{ByteStream, EffectError};
use crate::manifest::{document, mime, Descriptor};
use crate::source::BlobSource;
use crate::transport::ImageName;
use crate::{Error, Result};
use std::collections::HashMap;

/// How a copy may change layers' compression (`--dest-compress`, `--dest-decompress`,
/// `--dest-compress-format`, `--dest-compress-level`, `--dest-oci-accept-uncompressed-layers`).
#[derive(Debug, Clone, Default)]
pub struct CompressionOptions {
    /// Overrides what the destination wants done.
    pub layers: Option<LayerCompression>,
    /// The algorithm to compress with (gzip when unset); layers compressed with another one
    /// are recompressed when this is set.
    pub format: Option<Algorithm>,
    /// The compression level.
    pub level: Option<u32>,
    /// Hash a layer whose compression changes before storing it, and skip storing it when
    /// the destination has it (`--dest-precompute-digests`, for registries).
    pub precompute_digests: bool,
    /// What compression runs on (the host's other cores and zstd encoder, when it has them).
    pub encoders: Encoders,
}

/// The compression flags of `copy`, as given.
#[derive(Debug, Clone, Default)]
pub struct CompressionFlags<'a> {
    pub compress: bool,
    pub decompress: bool,
    pub format: Option<&'a str>,
    pub level: Option<u32>,
    pub precompute_digests: bool,
    pub oci_accept_uncompressed_layers: bool,
}

impl CompressionOptions {
    /// What the flags ask of the destination `dest`, as containers/image reads them:
    /// `--dest-compress`/`--dest-decompress` for `dir:`, uncompressed layers allowed in `oci:`.
    pub fn from_flags(dest: &ImageName, flags: &CompressionFlags) -> Result<Self> {
        let format = flags.format.map(Algorithm::parse).transpose()?;
        let layers = match dest {
            ImageName::Dir { .. } => match (flags.compress, flags.decompress) {
                (true, true) => {
                    return Err(Error::Invalid(format!(
                        "initializing destination {dest}: Cannot compress and decompress at the same time"
                    )))
                }
                (true, false) => Some(LayerCompression::Compress),
                (false, true) => Some(LayerCompression::Decompress),
                (false, false) => None,
            },
            ImageName::Oci { .. } if flags.oci_accept_uncompressed_layers => {
                Some(LayerCompression::Preserve)
            }
            _ => None,
        };
        Ok(CompressionOptions {
            layers,
            format,
            level: flags.level,
            precompute_digests: flags.precompute_digests
                && matches!(dest, ImageName::Docker { .. }),
            encoders: Encoders::default(),
        })
    }
}

/// A layer stored in another form than the source's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerChange {
    pub digest: Digest,
    pub size: u64,
    /// The compression it is stored with (`None`: uncompressed).
    pub compression: Option<Algorithm>,
}

/// What happens to one layer's bytes.
enum Operation {
    Keep,
    Compress(Algorithm),
    Decompress(Algorithm),
    Recompress(Algorithm, Algorithm),
}

fn operation(
    want: LayerCompression,
    detected: Option<Algorithm>,
    opts: &CompressionOptions,
) -> Operation {
    match (want, detected) {
        (LayerCompression::Compress, None) => {
            Operation::Compress(opts.format.unwrap_or(Algorithm::Gzip))
        }
        (LayerCompression::Compress, Some(from)) => match opts.format {
            Some(to) if to != from => Operation::Recompress(from, to),
            _ => Operation::Keep,
        },
        (LayerCompression::Decompress, Some(from)) => Operation::Decompress(from),
        _ => Operation::Keep,
    }
}

/// Attempts after the first at a layer whose transfer the destination can go on from.
const MAX_LAYER_RESUMES: u32 = crate::registry::retry::MAX_ATTEMPTS - 1;

/// Copies `layer` unless the destination has it; returns how it was stored when that
/// differs from the source, and with `with_diff_id` its stored size and diff ID (then the
/// layer is copied even when the destination has it, as containers/image does: the diff ID
/// needs its bytes).
pub(super) async fn copy_layer<S: BlobSource, D: ImageDestination>(
    src: &S,
    dest: &D,
    layer: &Descriptor,
    want: LayerCompression,
    opts: &CompressionOptions,
    with_diff_id: bool,
    report: &dyn Report,
) -> Result<(Option<LayerChange>, Option<Schema1LayerFacts>)> {
    if !with_diff_id && dest.has_blob(&layer.digest).await? {
        report.blob_done(&layer.digest, BlobOutcome::Skipped);
        return Ok((None, None));
    }
    // A transfer the destination can go on from (an upload cut part-way) is made again
    // from a fresh read of the source; the destination skips what it holds.
    let mut resumes = 0;
    let (change, outcome, facts) = loop {
        match transfer_layer(src, dest, layer, want, opts, with_diff_id, report).await {
            Err(_) if resumes < MAX_LAYER_RESUMES && dest.resumes_layer(&layer.digest) => {
                resumes += 1;
            }
            done => break done?,
        }
    };
    report.blob_done(&layer.digest, outcome);
    Ok((change, facts))
}

/// A layer's source stream with its compression changed (one per layer in flight, so the
/// size of the larger variant does not matter).
#[allow(clippy::large_enum_variant)]
enum Transformed<S> {
    Once(Transcoded<S>),
    Twice(Transcoded<Transcoded<S>>),
}

impl<S: ByteStream> Transformed<S> {
    fn new(op: &Operation, input: S, opts: &CompressionOptions) -> Result<Self> {
        let (level, encoders) = (opts.level, &opts.encoders);
        Ok(match *op {
            Operation::Compress(to) => {
                Transformed::Once(Transcoded::compress(input, to, level, encoders)?)
            }
            Operation::Decompress(from) => Transformed::Once(Transcoded::decompress(input, from)?),
            Operation::Recompress(from, to) => Transformed::Twice(Transcoded::compress(
                Transcoded::decompress(input, from)?,
                to,
                level,
                encoders,
            )?),
            Operation::Keep => unreachable!("kept layers are not transformed"),
        })
    }
}

impl<S: ByteStream> ByteStream for Transformed<S> {
    async fn read(&mut self, buf: &mut [u8]) -> std::result::Result<usize, EffectError> {
        match self {
            Transformed::Once(s) => s.read(buf).await,
            Transformed::Twice(s) => s.read(buf).await,
        }
    }

    async fn read_chunk(&mut self) -> std::result::Result<Vec<u8>, EffectError> {
        match self {
            Transformed::Once(s) => s.read_chunk().await,
            Transformed::Twice(s) => s.read_chunk().await,
        }
    }
}

/// Streams a layer the destination lacks, changing its compression when `want` says so.
/// With `precompute_digests`, a changed layer is first only hashed, and not stored when the
/// destination turns out to have it. With `with_diff_id`, the source's bytes are also
/// decompressed and hashed on the way.
async fn transfer_layer<S: BlobSource, D: ImageDestination>(
    src: &S,
    dest: &D,
    layer: &Descriptor,
    want: LayerCompression,
    opts: &CompressionOptions,
    with_diff_id: bool,
    report: &dyn Report,
) -> Result<(Option<LayerChange>, BlobOutcome, Option<Schema1LayerFacts>)> {
    let context = |e: Error| e.context(format!("writing blob {}", layer.digest));
    let size = u64::try_from(layer.size).ok();
    let open = |tap: bool| async move {
        let stream = src.blob(&layer.digest, size).await?;
        let counted = super::progress::Counted::new(stream, &layer.digest, report);
        Ok::<_, Error>(DiffIdTap::new(counted, tap))
    };
    let mut stream = open(with_diff_id).await?;
    if want == LayerCompression::Preserve {
        let stored = dest
            .put_layer(&layer.digest, &mut stream, Some(&layer.digest), size)
            .await
            .map_err(context)?;
        let facts = facts_of(&mut stream, with_diff_id, stored.size).await?;
        return Ok((None, BlobOutcome::Copied, facts));
    }
    // The source's bytes are hashed where they are read (for the destination's check).
    let algorithm = layer.digest.algorithm();
    let mut peeked = Peeked::hashing(stream, algorithm)
        .await
        .map_err(Error::from)?;
    let detected = detect(peeked.first());
    let mut op = operation(want, detected, opts);
    let stored_as = match op {
        Operation::Keep => None,
        Operation::Compress(to) | Operation::Recompress(_, to) => Some(Some(to)),
        Operation::Decompress(_) => Some(None),
    };
    // Layers of types without compressed (or uncompressed) variants stay as they are; a
    // manifest type that cannot name the new compression is dealt with at the manifest.
    if !has_variants(&layer.media_type) {
        op = Operation::Keep;
    }
    if let Operation::Keep = op {
        // Stored as is: the destination verifies the digest (hashing it once).
        let stored = dest
            .put_layer(&layer.digest, &mut peeked, Some(&layer.digest), size)
            .await
            .map_err(context)?;
        let facts = facts_of(peeked.inner_mut(), with_diff_id, stored.size).await?;
        return Ok((None, BlobOutcome::Copied, facts));
    }
    let changed = |stored: StoredBlob| LayerChange {
        digest: stored.digest,
        size: stored.size,
        compression: stored_as.flatten(),
    };
    // The source's digest is checked as the bytes are read, before any transformation.
    let verified = Verifying::new(&mut peeked, Some(&layer.digest), size);
    let mut output = Transformed::new(&op, verified, opts)?;
    if !opts.precompute_digests {
        let stored = dest
            .put_layer(&layer.digest, &mut output, None, None)
            .await
            .map_err(context)?;
        drop(output);
        let facts = facts_of(peeked.inner_mut(), with_diff_id, stored.size).await?;
        return Ok((Some(changed(stored)), BlobOutcome::Copied, facts));
    }
    let known = digest_of(&mut output).await.map_err(context)?;
    drop(output);
    let facts = facts_of(peeked.inner_mut(), with_diff_id, known.size).await?;
    if dest.has_blob(&known.digest).await? {
        return Ok((Some(changed(known)), BlobOutcome::Skipped, facts));
    }
    // Made again (the same bytes: the same compressor and level), now stored.
    let mut again = Peeked::hashing(open(false).await?, algorithm)
        .await
        .map_err(Error::from)?;
    let verified = Verifying::new(&mut again, Some(&layer.digest), size);
    let mut output = Transformed::new(&op, verified, opts)?;
    let stored = dest
        .put_layer(
            &layer.digest,
            &mut output,
            Some(&known.digest),
            Some(known.size),
        )
        .await
        .map_err(context)?;
    Ok((Some(changed(stored)), BlobOutcome::Copied, facts))
}

/// A layer's stored size and, read to its end, its diff ID (when `wanted`).
async fn facts_of<S: ByteStream>(
    tap: &mut DiffIdTap<S>,
    wanted: bool,
    stored_size: u64,
) -> Result<Option<Schema1LayerFacts>> {
    if !wanted {
        return Ok(None);
    }
    Ok(Some(Schema1LayerFacts {
        size: stored_size as i64,
        diff_id: tap.finish().await?.to_string(),
    }))
}

/// The sha256 digest and size of everything `stream` yields.
async fn digest_of<S: ByteStream>(stream: &mut S) -> Result<StoredBlob> {
    let mut digester = Digester::new(crate::digest::Algorithm::Sha256);
    loop {
        let chunk = stream.read_chunk().await?;
        if chunk.is_empty() {
            break;
        }
        digester.update(&chunk);
    }
    let size = digester.len();
    Ok(StoredBlob {
        digest: digester.finish(),
        size,
    })
}

/// `manifest` (of `media_type`) with the layers in `changes` (by source digest) replaced by
/// what was stored.
pub(super) fn apply_layer_changes(
    manifest: &[u8],
    media_type: &str,
    changes: &HashMap<Digest, LayerChange>,
) -> Result<Vec<u8>> {
    let update = |digest: &str, media: &mut String, size: &mut i64, new_digest: &mut String| {
        let Some(change) = Digest::parse(digest).ok().and_then(|d| changes.get(&d)) else {
            return Ok(());
        };
        *media = layer_media_type(media, change.compression).map_err(|e| {
            e.context(format!(
                "creating an updated image manifest: preparing updated manifest, layer {:?}",
                change.digest.to_string()
            ))
        })?;
        *size = change.size as i64;
        *new_digest = change.digest.to_string();
        Ok::<(), Error>(())
    };
    match media_type {
        mime::DOCKER_V2_SCHEMA2 => {
            let mut m = decode_schema2(manifest)?;
            for l in m.layers.iter_mut().flatten() {
                let digest = l.digest.clone();
                update(&digest, &mut l.media_type, &mut l.size, &mut l.digest)?;
            }
            Ok(document::encode(&m))
        }
        mime::OCI_MANIFEST => {
            let mut m = decode_oci(manifest)?;
            for l in m.layers.iter_mut().flatten() {
                let digest = l.digest.clone();
                update(&digest, &mut l.media_type, &mut l.size, &mut l.digest)?;
            }
            Ok(document::encode(&m))
        }
        other => Err(Error::Unsupported(format!(
            "changing layers of a {other} manifest is not supported"
        ))),
    }
}

/// `manifest` (of `media_type`) naming `replacements` as its layers, in order: the layers a
/// source reads in place of the named ones ([`ImageSource::layers_for_copy`]).
///
/// [`ImageSource::layers_for_copy`]: crate::source::ImageSource::layers_for_copy
pub(super) fn replace_layers(
    manifest: &[u8],
    media_type: &str,
    replacements: &[Descriptor],
) -> Result<Vec<u8>> {
    let replace = |media: &mut String, size: &mut i64, digest: &mut String, with: &Descriptor| {
        *media = with.media_type.clone();
        *size = with.size;
        *digest = with.digest.to_string();
    };
    match media_type {
        mime::DOCKER_V2_SCHEMA2 => {
            let mut m = decode_schema2(manifest)?;
            for (l, with) in m.layers.iter_mut().flatten().zip(replacements) {
                replace(&mut l.media_type, &mut l.size, &mut l.digest, with);
                l.urls = None;
            }
            Ok(document::encode(&m))
        }
        mime::OCI_MANIFEST => {
            let mut m = decode_oci(manifest)?;
            for (l, with) in m.layers.iter_mut().flatten().zip(replacements) {
                replace(&mut l.media_type, &mut l.size, &mut l.digest, with);
                l.urls = None;
            }
            Ok(document::encode(&m))
        }
        other => Err(Error::Unsupported(format!(
            "changing layers of a {other} manifest is not supported"
        ))),
    }
}
