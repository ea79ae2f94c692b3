//! `sync --src docker --dest docker` as one engine over any host's HTTP effects: the source
//! repository listed (or the one image named), the plan made, the destination's state read
//! (one tag listing, one manifest digest per tag on each side), and every image still to copy
//! copied through the copy engine, or retagged when the run already copied its manifest into
//! the repository. Hosts without threads (the WASI component) run it as it is; its log lines,
//! progress and errors are the native CLI's.

use super::in_sync::{refuses_listing, registry_digest, same_image};
use super::plan::{
    destination_name, registry_image_suffix, DestinationKind, ImageState, Plan, PlannedImage,
    PlannedSource,
};
use super::reuse::{retag, WrittenImages};
use crate::copy::{copy_image, CopyOptions, MultiArch};
use crate::digest::Digest;
use crate::effects::{Clock, HttpClient};
use crate::gojson::go_quote;
use crate::manifest::platform::PlatformChoice;
use crate::reference::Reference;
use crate::registry::destination::DockerDestination;
use crate::registry::source::DockerSource;
use crate::registry::{RegistryClient, RegistryConfig};
use crate::{Error, Result};

/// What a registry-to-registry sync does, from its flags.
pub struct RegistrySyncOptions {
    pub scoped: bool,
    pub append_suffix: String,
    pub dry_run: bool,
    pub keep_going: bool,
    /// The copy engine's options for every image (`destination_name` and the schema 1
    /// target are filled in per image).
    pub copy: CopyOptions,
}

/// Where the sync's lines go: skopeo's log lines (standard error) and each copy's progress
/// lines (standard output).
pub trait SyncLog {
    fn info(&self, message: &str, fields: &[(&str, &str)]);
    fn warn(&self, message: &str);
    fn error(&self, message: &str, fields: &[(&str, &str)]);
    fn progress(&self, line: &str);
}

/// How a sync ended: the `DIGEST IMAGE` lines of what the destination now holds (for
/// `--digestfile`).
#[derive(Debug, Default)]
pub struct SyncOutcome {
    pub digests: Vec<String>,
}

/// Syncs the repository (or image) `source` names into the registry path `dest_root`;
/// `src_config` and `dest_config` give each side's settings for its registry (by name,
/// `docker.io` style).
pub async fn sync_registries<H: HttpClient + Clock>(
    host: &H,
    src_config: &dyn Fn(&str) -> Result<RegistryConfig>,
    dest_config: &dyn Fn(&str) -> Result<RegistryConfig>,
    source: &str,
    dest_root: &str,
    opts: &RegistrySyncOptions,
    log: &dyn SyncLog,
) -> Result<SyncOutcome> {
    let reference = Reference::parse_normalized_named(source).map_err(|e| {
        Error::Invalid(format!(
            "Cannot obtain a valid image reference for transport \"docker\" and reference {}: {e}",
            go_quote(source)
        ))
    })?;
    let tagged = reference.tag().is_some() || reference.digest_str().is_some();
    log.info(
        "Tag presence check",
        &[
            ("imagename", source),
            ("tagged", if tagged { "true" } else { "false" }),
        ],
    );
    let src = RegistryClient::new(host, src_config(reference.domain())?);
    let images = match tagged {
        true => vec![reference.clone()],
        false => list_images(&src, &reference, log).await?,
    };
    if images.is_empty() {
        return Err(Error::Invalid(format!(
            "No images to sync found in {}",
            go_quote(source)
        )));
    }
    let mut planned = Vec::new();
    for image in &images {
        let tail = registry_image_suffix(image, opts.scoped, &opts.append_suffix);
        let (destination, repository) =
            destination_name(DestinationKind::Docker, dest_root, &tail)?;
        planned.push(PlannedImage {
            source: format!("docker://{}", image.familiar_string()),
            destination,
            repository,
            source_digest: None,
            state: ImageState::Copy,
        });
    }
    let dest_roots: Vec<Reference> = planned
        .iter()
        .map(|p| destination_reference(&p.destination))
        .collect::<Result<_>>()?;
    let dest_registry = dest_roots[0].domain().to_owned();
    let dest = RegistryClient::new(host, dest_config(&dest_registry)?);
    let mut plan = Plan {
        sources: vec![PlannedSource {
            name: reference.name(),
            images: planned,
        }],
    };
    // A converted copy's manifest differs from the source's: only plain copies can be
    // recognised as already there.
    if opts.copy.force_manifest_type.is_none() {
        let platform = (opts.copy.multi_arch == MultiArch::System).then_some(&opts.copy.platform);
        mark_in_sync(
            &src,
            &dest,
            &images,
            &dest_roots,
            &mut plan.sources[0],
            platform,
        )
        .await;
    }
    if opts.dry_run {
        log.warn("Running in dry-run mode");
    }
    let written = WrittenImages::default();
    let mut outcome = SyncOutcome::default();
    let (mut synced, mut failed) = (0, 0);
    let planned = &plan.sources[0].images;
    let count = planned.len();
    for (i, image) in planned.iter().enumerate() {
        let fields = [
            ("from", image.source.as_str()),
            ("to", image.destination.as_str()),
        ];
        let n = i + 1;
        if image.state == ImageState::InSync {
            log.info(
                &format!("Image ref {n}/{count} is already in sync"),
                &fields,
            );
            if let Some(d) = &image.source_digest {
                outcome.digests.push(format!("{d} {}\n", image.destination));
            }
            synced += 1;
            continue;
        }
        if opts.dry_run {
            log.info(&format!("Would have copied image ref {n}/{count}"), &fields);
            synced += 1;
            continue;
        }
        log.info(&format!("Copying image ref {n}/{count}"), &fields);
        let copied = copy_one(
            &src,
            &dest,
            &images[i],
            &dest_roots[i],
            image,
            &written,
            opts,
            log,
        )
        .await;
        match copied {
            Ok(digest) => {
                outcome
                    .digests
                    .push(format!("{digest} {}\n", image.destination));
                synced += 1;
            }
            Err(e) if opts.keep_going => {
                let what = format!("Error copying ref {}", go_quote(&image.source));
                log.error(&what, &[("error", &e.to_string())]);
                failed += 1;
            }
            Err(e) => {
                return Err(Error::Invalid(format!(
                    "Error copying ref {}: {e}",
                    go_quote(&image.source)
                )))
            }
        }
    }
    let verb = if opts.dry_run {
        "Would have synced"
    } else {
        "Synced"
    };
    log.info(&format!("{verb} {synced} images from 1 sources"), &[]);
    if failed > 0 {
        return Err(Error::Invalid(format!(
            "Sync failed due to previous reported error(s) for one or more images ({failed} of {count} failed)"
        )));
    }
    Ok(outcome)
}

/// The tags of `repository` as images, with skopeo's log line and errors.
async fn list_images<H: HttpClient + Clock>(
    client: &RegistryClient<'_, H>,
    repository: &Reference,
    log: &dyn SyncLog,
) -> Result<Vec<Reference>> {
    log.info("Getting tags", &[("image", &repository.name())]);
    let tags = match client.list_tags(repository.path()).await {
        Ok(tags) => tags,
        Err(e) if refuses_listing(&e.to_string()) => {
            log.warn(&format!("Registry disallows tag list retrieval: {e}"));
            Vec::new()
        }
        Err(e) => {
            return Err(Error::Invalid(format!(
                "Error determining repository tags for image {}: {e}",
                repository.name()
            )))
        }
    };
    Ok(tags
        .iter()
        .filter_map(|t| repository.with_tag(t).ok())
        .collect())
}

fn destination_reference(destination: &str) -> Result<Reference> {
    let name = destination.trim_start_matches("docker://");
    Reference::parse_normalized_named(name).map_err(|e| Error::Invalid(format!("{name}: {e}")))
}

/// Fills in each image's source digest, and marks those whose destination tag already names
/// that digest (the destination's tags listed once, a HEAD per tag it has), or, copying one
/// `platform`'s image, the digest of the instance a copy would take from a source list.
async fn mark_in_sync<H: HttpClient + Clock>(
    src: &RegistryClient<'_, H>,
    dest: &RegistryClient<'_, H>,
    sources: &[Reference],
    dests: &[Reference],
    planned: &mut PlannedSource,
    platform: Option<&PlatformChoice>,
) {
    let held = match dests.first() {
        Some(d) => dest.list_tags(d.path()).await.unwrap_or_default(),
        None => Vec::new(),
    };
    for ((image, source), destination) in planned.images.iter_mut().zip(sources).zip(dests) {
        let source_digest = match source.digest() {
            Some(d) => Some(d),
            None => registry_digest(src, source).await,
        };
        let listed = destination
            .tag()
            .is_none_or(|t| held.iter().any(|h| h == t));
        let dest_digest = match listed {
            true => registry_digest(dest, destination).await,
            false => None,
        };
        let same = same_image(
            source_digest.as_ref(),
            dest_digest.as_ref(),
            Some((src, source)),
            platform,
        )
        .await;
        if same {
            image.state = ImageState::InSync;
        }
        image.source_digest = source_digest;
    }
}

/// Writes one image: retagged from an image this run wrote from the same source manifest
/// into the same repository, else copied; its progress lines logged either way.
#[allow(clippy::too_many_arguments)]
async fn copy_one<H: HttpClient + Clock>(
    src: &RegistryClient<'_, H>,
    dest: &RegistryClient<'_, H>,
    source: &Reference,
    destination: &Reference,
    image: &PlannedImage,
    written: &WrittenImages,
    opts: &RegistrySyncOptions,
    log: &dyn SyncLog,
) -> Result<Digest> {
    if let (Some((scope, earlier)), Some(source_digest)) = (
        written.earlier(DestinationKind::Docker, image),
        &image.source_digest,
    ) {
        if let Ok(manifest) = retag(dest, &earlier, destination).await {
            written.remember_manifest(&scope, source_digest, manifest);
            for line in earlier.progress.lines() {
                log.progress(line);
            }
            return Ok(earlier.digest);
        }
    }
    let progress = std::cell::RefCell::new(String::new());
    let report = |line: &str| {
        log.progress(line);
        let mut p = progress.borrow_mut();
        p.push_str(line);
        p.push('\n');
    };
    let mut copy_opts = opts.copy.clone();
    copy_opts.destination_name = image.destination.clone();
    copy_opts.schema1.name = destination.path().to_owned();
    copy_opts.schema1.tag = destination.tag().unwrap_or_default().to_owned();
    let opened = DockerSource::open(src, source.clone(), source.clone())
        .await
        .map_err(|e| e.context(format!("initializing source {}", image.source)))?;
    let target = DockerDestination::new(dest, destination.clone(), Some(source));
    let digest = copy_image(&opened, target, &copy_opts, &report).await?;
    written.record_copy(
        DestinationKind::Docker,
        image,
        &digest,
        &progress.into_inner(),
    );
    Ok(digest)
}

/// The multi-platform choice of `--all`.
pub fn multi_arch(all: bool) -> MultiArch {
    match all {
        true => MultiArch::All,
        false => MultiArch::System,
    }
}
