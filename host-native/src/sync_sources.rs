//! What `sync` copies from: a registry repository (every tag, or the one image named), a
//! `dir:` tree (every directory holding a `manifest.json`), or the repositories of a YAML
//! file; and the plan made of them, with what the destination already holds.

use crate::copy::{DestinationFlags, SourceFlags};
use crate::fatal;
use crate::registry::{self, Access};
use skopeo_core::concurrent::try_for_each_limited;
use skopeo_core::digest::Digest;
use skopeo_core::reference::Reference;
use skopeo_core::registries_conf::RegistriesConf;
use skopeo_core::registry::RegistryClient;
use skopeo_core::sync::in_sync::{layout_digest, refuses_listing, registry_digest, same_image};
use skopeo_core::sync::plan::{
    destination_name, registry_image_suffix, DestinationKind, ImageState, Plan, PlannedImage,
    PlannedSource, SourceKind,
};
use skopeo_core::sync::yaml::{TagChoice, YamlSource};
use std::collections::BTreeMap;
use std::path::Path;

/// One image of a source.
pub struct ListedImage {
    /// The transport name copies read it by.
    pub source: String,
    /// Its name under the destination root.
    pub tail: String,
    /// The registry image, for registry sources.
    pub reference: Option<Reference>,
    /// The directory, for `dir:` sources.
    pub dir: Option<String>,
}

/// One source: its images and, from a YAML file, its registry's own settings.
pub struct ListedSource {
    pub name: String,
    pub images: Vec<ListedImage>,
    pub tls_verify: Option<bool>,
    pub cert_dir: Option<String>,
    /// `USER:PASSWORD` from the YAML file's credentials.
    pub creds: Option<String>,
}

/// Everything listing and planning need from the command line.
pub struct Listing<'a> {
    /// registries.conf, read once for every registry the sync reaches.
    pub conf: RegistriesConf,
    pub authfile: &'a Option<String>,
    pub src: &'a SourceFlags,
    pub dest: &'a DestinationFlags,
    pub scoped: bool,
    pub append_suffix: &'a str,
    pub dest_kind: DestinationKind,
    pub dest_root: &'a str,
    /// YAML repositories whose tags could not be listed (skipped).
    pub unlisted: std::cell::Cell<usize>,
    /// The platform a copy without `--all` takes from a multi-platform source (`None` with
    /// `--all`: the list is copied whole).
    pub single_platform: Option<skopeo_core::manifest::platform::PlatformChoice>,
}

fn registry_access(
    flags: &registry::DockerOpts,
    conf: &RegistriesConf,
    reference: &Reference,
) -> Result<Access, String> {
    registry::access(flags, conf, reference.domain(), &reference.name(), None)
}

impl Listing<'_> {
    /// The sources `arg` names for `kind`, with skopeo's log lines.
    pub fn list(&self, kind: SourceKind, arg: &str) -> Result<Vec<ListedSource>, String> {
        match kind {
            SourceKind::Docker => self.list_repository(arg).map(|s| vec![s]),
            SourceKind::Dir => list_dir(arg).map(|s| vec![s]),
            SourceKind::Yaml => self.list_yaml(arg),
        }
    }

    fn source(&self, name: String, images: Vec<ListedImage>) -> ListedSource {
        ListedSource {
            name,
            images,
            tls_verify: None,
            cert_dir: None,
            creds: None,
        }
    }

    fn image(&self, reference: Reference) -> ListedImage {
        ListedImage {
            source: format!("docker://{}", reference.familiar_string()),
            tail: registry_image_suffix(&reference, self.scoped, self.append_suffix),
            reference: Some(reference),
            dir: None,
        }
    }

    fn tags(&self, flags: &SourceFlags, repository: &Reference) -> Result<Vec<String>, String> {
        fatal::info_with("Getting tags", &[("image", &repository.name())]);
        let failed = |e: String| {
            format!(
                "Error determining repository tags for image {}: {e}",
                repository.name()
            )
        };
        let access = registry_access(&flags.docker(self.authfile), &self.conf, repository)
            .map_err(failed)?;
        let client = RegistryClient::new(&access.http, access.config.clone());
        match pollster::block_on(client.list_tags(repository.path())) {
            Ok(tags) => Ok(tags),
            // Registries may refuse to list tags: as skopeo, a warning and no tags.
            Err(e) if refuses_listing(&e.to_string()) => {
                fatal::warn(&format!("Registry disallows tag list retrieval: {e}"));
                Ok(Vec::new())
            }
            Err(e) => Err(failed(e.to_string())),
        }
    }

    fn list_repository(&self, arg: &str) -> Result<ListedSource, String> {
        let reference = Reference::parse_normalized_named(arg).map_err(|e| {
            format!("Cannot obtain a valid image reference for transport \"docker\" and reference {}: {e}", skopeo_core::gojson::go_quote(arg))
        })?;
        let tagged = reference.tag().is_some() || reference.digest_str().is_some();
        fatal::info_with(
            "Tag presence check",
            &[
                ("imagename", arg),
                ("tagged", if tagged { "true" } else { "false" }),
            ],
        );
        let images = match tagged {
            true => vec![self.image(reference.clone())],
            false => self
                .tags(self.src, &reference)?
                .into_iter()
                .filter_map(|tag| with_tag(&reference, &tag))
                .map(|r| self.image(r))
                .collect(),
        };
        if images.is_empty() {
            return Err(format!(
                "No images to sync found in {}",
                skopeo_core::gojson::go_quote(arg)
            ));
        }
        Ok(self.source(reference.name(), images))
    }

    fn list_yaml(&self, path: &str) -> Result<Vec<ListedSource>, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| skopeo_std_effects::fs::go_io_error("open", path, &e).to_string())?;
        let yaml = YamlSource::parse(path, &text).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for repo in yaml.repositories().map_err(|e| e.to_string())? {
            let registry = &yaml.registries[&repo.registry];
            let fields = [
                ("registry", repo.registry.as_str()),
                ("repo", repo.repository.as_str()),
            ];
            fatal::info_with("Processing repo", &fields);
            let name = format!("{}/{}", repo.registry, repo.repository);
            let base = Reference::parse_normalized_named(&name)
                .map_err(|e| format!("Error parsing repository name {name:?} in {path}: {e}"))?;
            let creds = (!registry.credentials.username.is_empty()).then(|| {
                format!(
                    "{}:{}",
                    registry.credentials.username, registry.credentials.password
                )
            });
            let flags = self.src.with_registry_settings(
                registry.tls_verify,
                registry.cert_dir.as_deref(),
                creds.clone(),
            );
            let refs: Vec<Reference> = match &repo.choice {
                TagChoice::Listed(items) => items
                    .iter()
                    .map(|item| {
                        with_tag_or_digest(&base, item).ok_or_else(|| {
                            format!("Error parsing image reference {name}:{item} in {path}")
                        })
                    })
                    .collect::<Result<_, _>>()?,
                choice => {
                    fatal::info_with("Querying registry for image tags", &fields);
                    // As skopeo does, a repository that cannot be listed is logged and
                    // skipped; unlike skopeo, the sync fails at the end because of it.
                    let tags = match self.tags(&flags, &base) {
                        Ok(tags) => tags,
                        Err(e) => {
                            fatal::error_with("Error processing repo, skipping", &fields);
                            fatal::error_with(&e, &[]);
                            self.unlisted.set(self.unlisted.get() + 1);
                            continue;
                        }
                    };
                    match choice {
                        TagChoice::Regex(r) => fatal::info_with(
                            &format!(
                                "Start filtering using the regular expression: {}",
                                r.as_str()
                            ),
                            &fields,
                        ),
                        TagChoice::Semver(_) => fatal::info_with(
                            "Start filtering using the semantic version constraint",
                            &fields,
                        ),
                        _ => {}
                    }
                    tags.iter()
                        .filter(|t| choice.keeps(t))
                        .filter_map(|t| with_tag(&base, t))
                        .collect()
                }
            };
            if refs.is_empty() {
                fatal::warn_with("No refs to sync found", &fields);
                continue;
            }
            let images = refs.into_iter().map(|r| self.image(r)).collect();
            out.push(ListedSource {
                tls_verify: registry.tls_verify,
                cert_dir: registry.cert_dir.clone(),
                creds,
                ..self.source(name, images)
            });
        }
        Ok(out)
    }

    /// The plan: every listed image with its destination, and whether the destination
    /// already has it (its manifest digest, read up front, is the source's).
    pub fn plan(&self, listed: &[ListedSource]) -> Result<Plan, String> {
        let mut sources = Vec::new();
        for source in listed {
            let mut images = Vec::new();
            for image in &source.images {
                let (destination, repository) =
                    destination_name(self.dest_kind, self.dest_root, &image.tail)
                        .map_err(|e| e.to_string())?;
                images.push(PlannedImage {
                    source: image.source.clone(),
                    destination,
                    repository,
                    source_digest: None,
                    state: ImageState::Copy,
                });
            }
            sources.push(PlannedSource {
                name: source.name.clone(),
                images,
            });
        }
        Ok(Plan { sources })
    }

    /// Marks the images the destination already holds as in sync: each destination
    /// repository's tags are listed once, and a tag both sides have is compared by manifest
    /// digest (HEAD requests, several at a time, over one client per side).
    pub fn mark_in_sync(&self, plan: &mut Plan, listed: &[ListedSource]) {
        let dest_opts = self.dest.docker(self.authfile);
        for planned in plan.sources.iter_mut() {
            let Some(source) = listed.iter().find(|l| l.name == planned.name) else {
                continue;
            };
            let src_opts = self
                .src
                .with_registry_settings(
                    source.tls_verify,
                    source.cert_dir.as_deref(),
                    source.creds.clone(),
                )
                .docker(self.authfile);
            let sources: Vec<Option<&ListedImage>> = planned
                .images
                .iter()
                .map(|image| source.images.iter().find(|l| l.source == image.source))
                .collect();
            let dests: Vec<Option<Reference>> = planned
                .images
                .iter()
                .map(|image| match self.dest_kind {
                    DestinationKind::Docker => Reference::parse_normalized_named(
                        image.destination.trim_start_matches("docker://"),
                    )
                    .ok(),
                    DestinationKind::Dir | DestinationKind::Oci => None,
                })
                .collect();
            let first_src = sources.iter().flatten().find_map(|l| l.reference.as_ref());
            let first_dest = dests.iter().flatten().next();
            let dest_access =
                first_dest.and_then(|r| registry_access(&dest_opts, &self.conf, r).ok());
            let dest_client = dest_access
                .as_ref()
                .map(|a| RegistryClient::new(&a.http, a.config.clone()));
            // The destination repositories' tags, listed once each.
            let repos: BTreeMap<String, &Reference> =
                dests.iter().flatten().map(|r| (r.name(), r)).collect();
            let held: std::cell::RefCell<BTreeMap<String, Vec<String>>> = Default::default();
            if let Some(client) = &dest_client {
                let _ = pollster::block_on(try_for_each_limited(repos.into_values(), 8, |r| {
                    let held = &held;
                    async move {
                        if let Ok(tags) = client.list_tags(r.path()).await {
                            held.borrow_mut().insert(r.name(), tags);
                        }
                        Ok::<(), ()>(())
                    }
                }));
            }
            let held = held.into_inner();
            // The comparisons, on threads of their own (one client per side each).
            let n = planned.images.len();
            let threads = COMPARING_THREADS.min(n).max(1);
            let (conf, dest_kind) = (&self.conf, self.dest_kind);
            let single_platform = self.single_platform.as_ref();
            let destinations: Vec<(&str, &str)> = planned
                .images
                .iter()
                .map(|i| (i.destination.as_str(), i.repository.as_str()))
                .collect();
            let found: Vec<(usize, Option<Digest>, bool)> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let (held, sources, dests) = (&held, &sources, &dests);
                        let (src_opts, dest_opts, destinations) =
                            (&src_opts, &dest_opts, &destinations);
                        scope.spawn(move || {
                            let src =
                                first_src.and_then(|r| registry_access(src_opts, conf, r).ok());
                            let dest =
                                first_dest.and_then(|r| registry_access(dest_opts, conf, r).ok());
                            let src_client = src
                                .as_ref()
                                .map(|a| RegistryClient::new(&a.http, a.config.clone()));
                            let dest_client = dest
                                .as_ref()
                                .map(|a| RegistryClient::new(&a.http, a.config.clone()));
                            let (src_client, dest_client) = (&src_client, &dest_client);
                            let compare = |i: usize| async move {
                                let source_digest = match sources[i] {
                                    Some(ListedImage {
                                        reference: Some(r), ..
                                    }) => match (r.digest(), src_client) {
                                        (Some(d), _) => Some(d),
                                        (None, Some(c)) => registry_digest(c, r).await,
                                        (None, None) => None,
                                    },
                                    Some(ListedImage { dir: Some(dir), .. }) => {
                                        dir_manifest_digest(dir)
                                    }
                                    _ => None,
                                };
                                let dest_digest = match (&dests[i], dest_client) {
                                    (Some(d), Some(c)) => {
                                        let tagged = d.tag().is_none_or(|t| {
                                            held.get(&d.name())
                                                .is_some_and(|tags| tags.iter().any(|x| x == t))
                                        });
                                        match tagged {
                                            true => registry_digest(c, d).await,
                                            false => None,
                                        }
                                    }
                                    _ if dest_kind == DestinationKind::Dir => dir_manifest_digest(
                                        destinations[i].0.trim_start_matches("dir:"),
                                    ),
                                    _ if dest_kind == DestinationKind::Oci => {
                                        let (name, layout) = destinations[i];
                                        let tag = name.strip_prefix(&format!("oci:{layout}:"));
                                        std::fs::read(Path::new(layout).join("index.json"))
                                            .ok()
                                            .and_then(|index| {
                                                layout_digest(&index, tag, source_digest.as_ref())
                                            })
                                    }
                                    _ => None,
                                };
                                let source = match (sources[i], src_client) {
                                    (
                                        Some(ListedImage {
                                            reference: Some(r), ..
                                        }),
                                        Some(c),
                                    ) => Some((c, r)),
                                    _ => None,
                                };
                                let same = same_image(
                                    source_digest.as_ref(),
                                    dest_digest.as_ref(),
                                    source,
                                    single_platform,
                                )
                                .await;
                                (i, source_digest, same)
                            };
                            (t..n)
                                .step_by(threads)
                                .map(|i| pollster::block_on(compare(i)))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_default())
                    .collect()
            });
            for (i, digest, same) in found {
                let image = &mut planned.images[i];
                image.source_digest = digest;
                if same {
                    image.state = ImageState::InSync;
                }
            }
        }
    }
}

/// Threads comparing source and destination digests while planning.
const COMPARING_THREADS: usize = 8;

/// The digest of a `dir:` image's manifest, if it has one.
fn dir_manifest_digest(dir: &str) -> Option<Digest> {
    let bytes = std::fs::read(Path::new(dir).join("manifest.json")).ok()?;
    skopeo_core::manifest::manifest_digest(&bytes).ok()
}

fn with_tag(repository: &Reference, tag: &str) -> Option<Reference> {
    Reference::parse(&format!("{}:{tag}", repository.name())).ok()
}

fn with_tag_or_digest(repository: &Reference, item: &str) -> Option<Reference> {
    match item.parse::<Digest>() {
        Ok(_) if item.contains(':') => {
            Reference::parse(&format!("{}@{item}", repository.name())).ok()
        }
        _ => with_tag(repository, item),
    }
}

/// Every directory under `root` holding a `manifest.json`, in name order, as one source.
fn list_dir(root: &str) -> Result<ListedSource, String> {
    let meta = std::fs::metadata(root)
        .map_err(|e| skopeo_std_effects::fs::go_io_error("lstat", root, &e).to_string())?;
    if !meta.is_dir() {
        return Err(format!("{root} is not a directory"));
    }
    let mut images = Vec::new();
    walk(Path::new(root), Path::new(root), &mut images)
        .map_err(|e| format!("Error walking {root}: {e}"))?;
    if images.is_empty() {
        return Err(format!(
            "No images to sync found in {}",
            skopeo_core::gojson::go_quote(root)
        ));
    }
    Ok(ListedSource {
        name: root.to_owned(),
        images,
        tls_verify: None,
        cert_dir: None,
        creds: None,
    })
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<ListedImage>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    if entries.iter().any(|e| e.file_name() == "manifest.json") {
        let path = dir.to_string_lossy().into_owned();
        let tail = dir
            .strip_prefix(root)
            .unwrap_or(dir)
            .to_string_lossy()
            .into_owned();
        out.push(ListedImage {
            source: format!("dir:{path}"),
            tail,
            reference: None,
            dir: Some(path),
        });
        return Ok(());
    }
    for entry in entries {
        if entry.file_type()?.is_dir() {
            walk(root, &entry.path(), out)?;
        }
    }
    Ok(())
}
