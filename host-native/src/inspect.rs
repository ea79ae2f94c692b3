//! `skopeo inspect IMAGE-NAME`.

use crate::archive::{self, ScratchDir};
use crate::fs::NativeFs;
use crate::registry::{self, DockerOpts};
use crate::retry;
use crate::GlobalOptions;
use clap::Args;
use skopeo_core::docker_archive::DockerArchiveSource;
use skopeo_core::inspect::{self, InspectOptions};
use skopeo_core::layout;
use skopeo_core::reference::Reference;
use skopeo_core::registry::source;
use skopeo_core::registry::RegistryClient;
use skopeo_core::transport::ImageName;

/// Arguments of `inspect`.
#[derive(Args)]
pub struct InspectArgs {
    /// output raw manifest or configuration
    #[arg(long)]
    raw: bool,
    /// output configuration
    #[arg(long)]
    config: bool,
    /// Format the output to a Go template
    #[arg(short = 'f', long, value_name = "string")]
    format: Option<String>,
    /// Do not list the available tags from the repository in the output
    #[arg(short = 'n', long = "no-tags")]
    no_tags: bool,
    /// the number of times to possibly retry
    #[arg(long, value_name = "int", default_value_t = 0)]
    retry_times: u32,
    /// DIRECTORY to use to share blobs across OCI repositories (oci: images)
    #[arg(long, value_name = "DIRECTORY")]
    shared_blob_dir: Option<String>,
    /// use docker daemon host at HOST (docker-daemon: images)
    #[arg(long, value_name = "HOST")]
    daemon_host: Option<String>,
    #[command(flatten)]
    docker: DockerOpts,
    /// The image name
    #[arg(value_name = "IMAGE-NAME")]
    images: Vec<String>,
}

/// Runs inspect on a registry image or a local layout, printing what skopeo prints.
pub fn run(global: &GlobalOptions, args: InspectArgs) -> Result<(), String> {
    let [name] = args.images.as_slice() else {
        return Err("Exactly one argument expected".into());
    };
    let opts = InspectOptions {
        raw: args.raw,
        config: args.config,
        format: args.format.clone(),
        platform: global.platform_choice(),
    };
    opts.validate().map_err(|e| e.to_string())?;
    registry::validate(&args.docker)?;
    let parsed =
        ImageName::parse(name).map_err(|e| format!("Error parsing image name {name:?}: {e}"))?;
    let out = match parsed {
        ImageName::Docker { reference, .. } => {
            inspect_docker(global, &args, name, reference, &opts)?
        }
        parsed @ (ImageName::DockerArchive { .. } | ImageName::OciArchive { .. }) => {
            inspect_archive(&parsed, name, &opts)?
        }
        ImageName::Sif { path } => inspect_sif(&path, name, &opts)?,
        ImageName::ContainersStorage(image) => {
            let wrap = |e: String| format!("Error parsing image name {name:?}: {e}");
            let store = crate::storage::store(image.store.as_ref()).map_err(wrap)?;
            let fs = NativeFs;
            pollster::block_on(async {
                use skopeo_core::containers_storage as cs;
                let src = cs::StorageSource::open(&fs, &store, &image)
                    .await
                    .map_err(|e| {
                        if e.to_string() == cs::NAME_AND_ID_DISAGREE {
                            skopeo_std_effects::log::error_with(
                                &cs::no_match_line(&store, &image),
                                &[],
                            );
                        }
                        wrap(e.to_string())
                    })?;
                inspect::run(&src, &opts, async || Ok(Some(Vec::new())))
                    .await
                    .map_err(|e| e.to_string())
            })?
        }
        ImageName::DockerDaemon(image) => {
            let access = crate::daemon::Access::from_flags(
                args.daemon_host.as_deref(),
                args.docker.cert_dir.as_deref(),
                args.docker.tls_verify,
            )?;
            inspect_daemon(&image, access, name, &opts)?
        }
        parsed => {
            let fs = NativeFs;
            pollster::block_on(async {
                let shared = args.shared_blob_dir.as_deref();
                let src = layout::open_source_sharing(&fs, &parsed, shared)
                    .await
                    .map_err(|e| format!("Error parsing image name {name:?}: {e}"))?;
                inspect::run(&src, &opts, async || Ok(Some(Vec::new())))
                    .await
                    .map_err(|e| e.to_string())
            })?
        }
    };
    crate::write_stdout(&out)
}

/// Inspects a registry image: tried from each pull source (mirrors first) until one opens,
/// each step retried as `--retry-times` allows.
/// Inspects an image in a `docker-archive:` or `oci-archive:` file, unpacked into a scratch
/// directory that goes away afterwards.
fn inspect_archive(
    parsed: &ImageName,
    name: &str,
    opts: &InspectOptions,
) -> Result<Vec<u8>, String> {
    let (ImageName::DockerArchive { path, .. } | ImageName::OciArchive { path, .. }) = parsed
    else {
        unreachable!("called for archives only");
    };
    let wrap = |e: String| format!("Error parsing image name {name:?}: {e}");
    let scratch = ScratchDir::new("inspect-archive")?;
    archive::extract(path, &scratch.0).map_err(wrap)?;
    let fs = NativeFs;
    let no_tags = async || Ok(Some(Vec::new()));
    pollster::block_on(async {
        let out = match parsed {
            ImageName::DockerArchive {
                reference, index, ..
            } => {
                // containers/image finds the image in the archive when the manifest is first
                // asked for, and words a failure so.
                let root = scratch.path();
                let src = DockerArchiveSource::open(&fs, &root, reference.as_ref(), *index)
                    .await
                    .map_err(|e| format!("Error retrieving manifest for image: {e}"))?;
                inspect::run(&src, opts, no_tags).await
            }
            ImageName::OciArchive { image, .. } => {
                let layout = ImageName::Oci {
                    path: scratch.path(),
                    image: image.clone(),
                };
                let src = layout::open_source(&fs, &layout)
                    .await
                    .map_err(|e| wrap(e.to_string()))?;
                inspect::run(&src, opts, no_tags).await
            }
            _ => unreachable!("called for archives only"),
        };
        out.map_err(|e| e.to_string())
    })
}

/// Inspects an image in a Docker daemon, its `docker save` stream unpacked into a scratch
/// directory that goes away afterwards.
fn inspect_daemon(
    image: &skopeo_core::transport::DaemonImage,
    access: crate::daemon::Access,
    name: &str,
    opts: &InspectOptions,
) -> Result<Vec<u8>, String> {
    let scratch = ScratchDir::new("inspect-daemon")?;
    crate::daemon::save(access, image, &scratch.0)
        .map_err(|e| format!("Error parsing image name {name:?}: {e}"))?;
    let fs = NativeFs;
    pollster::block_on(async {
        let root = scratch.path();
        let named = crate::daemon::archive_reference(image);
        let src = DockerArchiveSource::open(&fs, &root, named, None)
            .await
            .map_err(|e| format!("Error retrieving manifest for image: {e}"))?;
        inspect::run(&src, opts, async || Ok(Some(Vec::new())))
            .await
            .map_err(|e| e.to_string())
    })
}

/// Inspects a SIF file, its root filesystem packed in a scratch directory that goes away
/// afterwards.
fn inspect_sif(path: &str, name: &str, opts: &InspectOptions) -> Result<Vec<u8>, String> {
    let wrap = |e: String| format!("Error parsing image name {name:?}: {e}");
    let fs = NativeFs;
    let parsed = ImageName::Sif {
        path: path.to_owned(),
    };
    pollster::block_on(layout::check_resolvable(&fs, &parsed)).map_err(|e| wrap(e.to_string()))?;
    let scratch = ScratchDir::new("inspect-sif")?;
    let src = crate::sif::open(path, &scratch.0, &fs).map_err(wrap)?;
    let src = layout::LocalSource::Sif(Box::new(src));
    pollster::block_on(inspect::run(&src, opts, async || Ok(Some(Vec::new()))))
        .map_err(|e| e.to_string())
}

fn inspect_docker(
    global: &GlobalOptions,
    args: &InspectArgs,
    name: &str,
    reference: Reference,
    opts: &InspectOptions,
) -> Result<Vec<u8>, String> {
    let docker = &args.docker;
    let conf = registry::load_registries_conf(global.registries_conf.as_deref())?;
    let wrap = |e: String| format!("Error parsing image name {name:?}: {e}");
    let sources = conf.pull_sources_for(&reference).map_err(wrap)?;
    let accesses: Vec<_> = sources
        .into_iter()
        .map(|source| {
            let physical = source.reference;
            let insecure = Some(source.endpoint.insecure);
            let access =
                registry::access(docker, &conf, physical.domain(), &physical.name(), insecure);
            (physical, access)
        })
        .collect();
    let clients: Vec<_> = accesses
        .iter()
        .map(|(physical, access)| {
            let client = access
                .as_ref()
                .map(|a| RegistryClient::new(&a.http, a.config.clone()))
                .map_err(String::clone);
            (physical, client)
        })
        .collect();
    let cache = crate::config_cache::FileConfigCache::for_user();
    // The common case, the image read from the name as given: tags are listed alongside.
    if let [(physical, Ok(client))] = clients.as_slice() {
        if **physical == reference {
            // Opening errors get the prefix once retrying is over, as on the path below.
            let opening_failed = std::cell::Cell::new(false);
            let (out, refused) = retry::if_necessary(args.retry_times, || {
                opening_failed.set(false);
                pollster::block_on(source::open_and_inspect(
                    client,
                    &reference,
                    opts,
                    args.no_tags,
                    |e| {
                        opening_failed.set(true);
                        e
                    },
                    &cache,
                ))
            })
            .map_err(|e| match opening_failed.get() {
                true => wrap(e.to_string()),
                false => e.to_string(),
            })?;
            if refused {
                crate::fatal::warn(source::TAGS_REFUSED_WARNING);
            }
            return Ok(out);
        }
    }
    let (src, client) = retry::if_necessary(args.retry_times, || {
        pollster::block_on(source::open_first(&clients, &reference))
    })
    .map_err(|e| wrap(e.to_string()))?;
    let physical = src.physical_reference();
    // Tags are listed for the name as given, on its own registry, even when the image came
    // from a mirror or a rewritten location (as skopeo does).
    let tags_access = match (args.no_tags, *physical == reference) {
        (false, false) => Some(
            registry::access(docker, &conf, reference.domain(), &reference.name(), None)
                .map_err(|e| format!("Error determining repository tags: {e}"))?,
        ),
        _ => None,
    };
    let own_tags_client = tags_access
        .as_ref()
        .map(|a| RegistryClient::new(&a.http, a.config.clone()));
    let tags_client = own_tags_client.as_ref().unwrap_or(client);
    // The refusal warning is shown only if the rest of inspect succeeds (skopeo lists tags
    // last, so it never warns before an image error).
    let (out, refused) = retry::if_necessary(args.retry_times, || {
        pollster::block_on(source::inspect_image(
            &src,
            tags_client,
            &reference,
            opts,
            args.no_tags,
            &cache,
        ))
    })
    .map_err(|e| e.to_string())?;
    if refused {
        crate::fatal::warn(source::TAGS_REFUSED_WARNING);
    }
    Ok(out)
}
