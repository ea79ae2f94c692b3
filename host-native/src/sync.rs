//! `skopeo sync --src docker|dir|yaml --dest docker|dir|oci SOURCE DESTINATION`: the sources are
//! listed (`sync_sources`), the core's plan says where every image goes and which ones the
//! destination already holds, and each image still to copy goes through the copy engine, with
//! skopeo's log lines, `--keep-going`, `--dry-run`, `--digestfile` and `--shard`.

use crate::copy::{CopyArgs, DestinationFlags, SourceFlags, SyncedCopy};
use crate::fatal;
use crate::http::NativeHttp;
use crate::sync_reuse::{RepositoryAccess, Reuse};
use crate::sync_sources::{self, ListedSource};
use clap::Args;
use skopeo_core::registry::RegistryClient;
use skopeo_core::sync::plan::{
    parse_shard, DestinationKind, ImageState, PlannedImage, PlannedSource, SourceKind,
};

/// Arguments of `sync`.
#[derive(Args, Debug)]
pub struct SyncArgs {
    /// path of the authentication file. Default is ${XDG_RUNTIME_DIR}/containers/auth.json
    #[arg(long, value_name = "string", env = "REGISTRY_AUTH_FILE")]
    authfile: Option<String>,
    #[command(flatten)]
    src_flags: SourceFlags,
    #[command(flatten)]
    dest_flags: DestinationFlags,
    /// require HTTPS and verify certificates when accessing the container registry (deprecated)
    #[arg(long, value_name = "bool", num_args = 0..=1, default_missing_value = "true", require_equals = true, hide = true)]
    tls_verify: Option<bool>,
    /// Do not copy signatures from SOURCE images
    #[arg(long)]
    remove_signatures: bool,
    /// Sign the image using a GPG key with the specified FINGERPRINT
    #[arg(long, value_name = "FINGERPRINT")]
    sign_by: Option<String>,
    /// Sign the image using a sigstore private key at PATH
    #[arg(long, value_name = "PATH")]
    sign_by_sigstore_private_key: Option<String>,
    /// File that contains a passphrase for the --sign-by key
    #[arg(long, value_name = "string")]
    sign_passphrase_file: Option<String>,
    /// Sign the image using a sigstore parameter file at PATH
    #[arg(long, value_name = "PATH")]
    sign_by_sigstore: Option<String>,
    /// Take --sign-by's secret key from the OpenPGP key file at PATH instead of GnuPG
    #[arg(long, value_name = "PATH")]
    sign_key_file: Option<String>,
    /// MANIFEST TYPE (oci, v2s1, or v2s2) to use when syncing image(s) to a destination
    #[arg(short = 'f', long, value_name = "MANIFEST TYPE")]
    format: Option<String>,
    /// SOURCE transport type
    #[arg(short = 's', long, value_name = "string")]
    src: Option<String>,
    /// DESTINATION transport type
    #[arg(short = 'd', long, value_name = "string")]
    dest: Option<String>,
    /// Images at DESTINATION are prefix using the full source image path as scope
    #[arg(long)]
    scoped: bool,
    /// String to append to destination tags
    #[arg(
        long,
        value_name = "string",
        default_value = "",
        allow_hyphen_values = true
    )]
    append_suffix: String,
    /// Copy all images if SOURCE-IMAGE is a list
    #[arg(short = 'a', long)]
    all: bool,
    /// Run without actually copying data
    #[arg(long)]
    dry_run: bool,
    /// Write the plan (every image, where it goes, whether it is already there) as JSON to PATH
    #[arg(long, value_name = "PATH")]
    plan_out: Option<String>,
    /// Copy only shard K of N (K/N; or N, with K from JOB_COMPLETION_INDEX), split by destination repository
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Preserve digests of images and lists
    #[arg(long)]
    preserve_digests: bool,
    /// Do not abort the sync if any image copy fails
    #[arg(long)]
    keep_going: bool,
    /// Write the digests of the copied images, one `DIGEST IMAGE` line each, to PATH
    #[arg(long, value_name = "PATH")]
    digestfile: Option<String>,
    /// the number of times to possibly retry
    #[arg(long, value_name = "int", default_value_t = 0)]
    retry_times: u32,
    /// Fixed delay between retries (default: doubling from 1s)
    #[arg(long, value_name = "duration")]
    retry_delay: Option<String>,
    /// Images copied at once (after the first of each source)
    #[arg(long, value_name = "uint", default_value_t = 4)]
    parallel_images: usize,
    /// Maximum number of image layers to be copied (pulled/pushed) simultaneously (default 6)
    #[arg(
        long,
        value_name = "uint",
        default_value_t = 0,
        hide_default_value = true
    )]
    image_parallel_copies: usize,
    /// SOURCE DESTINATION
    #[arg(value_name = "ARG")]
    args: Vec<String>,
}

/// The shard this run copies: `--shard K/N`, or `--shard N` with K from the
/// `JOB_COMPLETION_INDEX` a Kubernetes Indexed Job gives each pod.
fn shard(flag: &Option<String>) -> Result<Option<(u32, u32)>, String> {
    let Some(text) = flag else { return Ok(None) };
    let spec = match text.contains('/') {
        true => text.clone(),
        false => {
            let index = std::env::var("JOB_COMPLETION_INDEX").map_err(|_| {
                format!("--shard {text}: no shard index given (K/N) and JOB_COMPLETION_INDEX is not set")
            })?;
            format!("{index}/{text}")
        }
    };
    parse_shard(&spec).map(Some).map_err(|e| e.to_string())
}

/// Runs sync.
pub fn run(global: &crate::GlobalOptions, args: SyncArgs) -> Result<(), String> {
    if args.tls_verify.is_some() {
        fatal::warn(
            "'--tls-verify' is deprecated, instead use: --src-tls-verify, --dest-tls-verify",
        );
    }
    let [source_arg, dest_arg] = args.args.as_slice() else {
        use clap::CommandFactory;
        let mut cmd = crate::Cli::command();
        let _ = cmd.find_subcommand_mut("sync").map(|c| c.print_help());
        return Ok(());
    };
    let mut sign = crate::signing::SignFlags {
        sign_by: args.sign_by.clone(),
        sign_by_sigstore_private_key: args.sign_by_sigstore_private_key.clone(),
        sign_by_sigstore: args.sign_by_sigstore.clone(),
        sign_passphrase_file: args.sign_passphrase_file.clone(),
        sign_key_file: args.sign_key_file.clone(),
        ..Default::default()
    };
    crate::signing::check_flags(&sign)?;
    if sign.sign_by.is_some() || sign.sign_by_sigstore_private_key.is_some() {
        // Read (or asked for) once, not once per image.
        sign.passphrase = crate::signing::passphrase_for(&sign)?;
    }
    let src_kind = match &args.src {
        Some(s) if !s.is_empty() => SourceKind::parse(s).map_err(|e| e.to_string())?,
        _ => return Err("A source transport must be specified".into()),
    };
    let dest_kind = match &args.dest {
        Some(d) if !d.is_empty() => DestinationKind::parse(d).map_err(|e| e.to_string())?,
        _ => return Err("A destination transport must be specified".into()),
    };
    if src_kind == SourceKind::Dir && dest_kind == DestinationKind::Dir {
        return Err(
            "sync from 'dir' to 'dir' not implemented, consider using rsync instead".into(),
        );
    }
    let shard = shard(&args.shard)?;
    if let Some(f) = &args.format {
        skopeo_core::copy::parse_format(f).map_err(|e| e.to_string())?;
    }
    let mut src_flags = args.src_flags.clone();
    let mut dest_flags = args.dest_flags.clone();
    if args.tls_verify.is_some() {
        src_flags = src_flags.with_registry_settings(args.tls_verify, None, None);
        dest_flags = dest_flags.with_registry_settings(args.tls_verify, None, None);
    }
    crate::registry::validate(&src_flags.docker(&args.authfile))?;
    crate::registry::validate(&dest_flags.docker(&args.authfile))?;
    // The policy is read before anything is listed, as skopeo reads it.
    crate::copy::load_policy(global)?;

    let listing = sync_sources::Listing {
        conf: crate::registry::load_registries_conf(global.registries_conf.as_deref())?,
        authfile: &args.authfile,
        src: &src_flags,
        dest: &dest_flags,
        scoped: args.scoped,
        append_suffix: &args.append_suffix,
        dest_kind,
        dest_root: dest_arg,
        unlisted: std::cell::Cell::new(0),
        single_platform: (!args.all).then(|| global.platform_choice()),
    };
    let listed = listing.list(src_kind, source_arg)?;
    let mut plan = listing.plan(&listed)?;
    if let Some((index, count)) = shard {
        plan = plan.shard(index, count);
    }
    // A converted copy's manifest differs from the source's: only plain copies can be
    // recognised as already there.
    if args.format.is_none() {
        listing.mark_in_sync(&mut plan, &listed);
    }
    refuse_unusable_directories(&plan)?;
    if let Some(path) = &args.plan_out {
        std::fs::write(path, plan.to_json())
            .map_err(|e| format!("writing the plan to {path}: {e}"))?;
    }
    let settings = |source: &ListedSource| {
        src_flags.with_registry_settings(
            source.tls_verify,
            source.cert_dir.as_deref(),
            source.creds.clone(),
        )
    };
    if args.dry_run {
        fatal::warn("Running in dry-run mode");
    }
    let written = skopeo_core::sync::reuse::WrittenImages::default();
    let reuse = Reuse {
        written: &written,
        dest_kind,
        dest_opts: dest_flags.docker(&args.authfile),
        conf: &listing.conf,
    };
    let mut synced = 0;
    let mut failed = 0;
    let mut digests = Vec::new();
    // Sharding may have dropped sources; the rest are found by their (unique) names.
    let pairs = plan
        .sources
        .iter()
        .filter_map(|p| listed.iter().find(|l| l.name == p.name).map(|l| (p, l)));
    for (planned, listed) in pairs {
        let src_for_source = settings(listed);
        let shared = SyncedCopy {
            authfile: &args.authfile,
            src: &src_for_source,
            dest: &dest_flags,
            format: &args.format,
            all: args.all,
            preserve_digests: args.preserve_digests,
            remove_signatures: args.remove_signatures,
            retry_times: args.retry_times,
            retry_delay: &args.retry_delay,
            image_parallel_copies: args.image_parallel_copies,
            sign: &sign,
        };
        // An OCI layout's index is rewritten by each copy into it: one at a time.
        let workers = match dest_kind {
            DestinationKind::Oci => 1,
            _ => args.parallel_images.max(1),
        };
        // One bound on blob transfers for the whole sync: the first image alone gets the
        // copy engine's default, the workers share it (unless --image-parallel-copies says).
        let worker_shared = SyncedCopy {
            image_parallel_copies: match args.image_parallel_copies {
                0 => (skopeo_core::copy::DEFAULT_PARALLEL_COPIES / workers).max(1),
                n => n,
            },
            ..shared
        };
        let count = planned.images.len();
        let copies = Copies::start(planned, args.dry_run);
        let outcome = std::thread::scope(|scope| {
            copies.run_workers(scope, global, [&shared, &worker_shared], &reuse, workers);
            for (i, image) in planned.images.iter().enumerate() {
                let fields = [
                    ("from", image.source.as_str()),
                    ("to", image.destination.as_str()),
                ];
                let n = i + 1;
                if image.state == ImageState::InSync {
                    fatal::info_with(
                        &format!("Image ref {n}/{count} is already in sync"),
                        &fields,
                    );
                    if let Some(d) = &image.source_digest {
                        digests.push(format!("{d} {}\n", image.destination));
                    }
                    synced += 1;
                    continue;
                }
                if args.dry_run {
                    fatal::info_with(&format!("Would have copied image ref {n}/{count}"), &fields);
                    synced += 1;
                    continue;
                }
                let (result, progress) = copies.wait(i);
                fatal::info_with(&format!("Copying image ref {n}/{count}"), &fields);
                crate::write_stdout(progress.as_bytes())?;
                match result {
                    Ok(digest) => {
                        digests.push(format!("{digest} {}\n", image.destination));
                        synced += 1;
                    }
                    Err(e) if args.keep_going => {
                        let what = format!("Error copying ref {}", go_quote(&image.source));
                        fatal::error_with(&what, &[("error", &e)]);
                        failed += 1;
                    }
                    Err(e) => {
                        copies.stop();
                        return Err(format!(
                            "Error copying ref {}: {e}",
                            go_quote(&image.source)
                        ));
                    }
                }
            }
            Ok(())
        });
        if let Err(e) = outcome {
            write_digests(&args.digestfile, &digests)?;
            return Err(e);
        }
    }
    write_digests(&args.digestfile, &digests)?;
    let sources = plan.sources.len();
    match args.dry_run {
        true => fatal::info_with(
            &format!("Would have synced {synced} images from {sources} sources"),
            &[],
        ),
        false => fatal::info_with(
            &format!("Synced {synced} images from {sources} sources"),
            &[],
        ),
    }
    if listing.unlisted.get() > 0 {
        return Err(format!(
            "Sync failed: the tags of {} source repositories could not be listed",
            listing.unlisted.get()
        ));
    }
    if failed > 0 {
        return Err(format!(
            "Sync failed due to previous reported error(s) for one or more images ({failed} of {} failed)",
            plan.image_count()
        ));
    }
    Ok(())
}

/// A `dir:` or `oci:` destination under a path that is not a directory (a file in the way)
/// is refused in skopeo's words before anything is copied.
fn refuse_unusable_directories(plan: &skopeo_core::sync::plan::Plan) -> Result<(), String> {
    let images = plan.sources.iter().flat_map(|s| &s.images);
    for image in images.filter(|i| i.state == ImageState::Copy) {
        let path = match image.destination.strip_prefix("dir:") {
            Some(path) => path,
            None if image.destination.starts_with("oci:") => image.repository.as_str(),
            None => continue,
        };
        match std::fs::metadata(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!(
                    "Destination directory could not be used: {}",
                    skopeo_std_effects::fs::go_io_error("stat", path, &e)
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

fn go_quote(s: &str) -> String {
    skopeo_core::gojson::go_quote(s)
}

/// What one copy ended with, and the progress lines it printed.
type Copied = (Result<skopeo_core::digest::Digest, String>, String);

/// The copies of one source's images: the first copied alone (its blobs are then there
/// for every later tag that shares them), the rest by `--parallel-images` workers; results
/// are taken in plan order, so the output reads as a serial run's.
struct Copies<'p> {
    images: &'p [PlannedImage],
    /// Indexes of the images to copy, in order.
    queue: Vec<usize>,
    next: std::sync::atomic::AtomicUsize,
    stopped: std::sync::atomic::AtomicBool,
    results: Vec<std::sync::OnceLock<Copied>>,
    done: (std::sync::Mutex<()>, std::sync::Condvar),
}

impl<'p> Copies<'p> {
    fn start(planned: &'p PlannedSource, dry_run: bool) -> Self {
        let queue = match dry_run {
            true => Vec::new(),
            false => (0..planned.images.len())
                .filter(|&i| planned.images[i].state == ImageState::Copy)
                .collect(),
        };
        Copies {
            images: &planned.images,
            queue,
            next: Default::default(),
            stopped: Default::default(),
            results: planned.images.iter().map(|_| Default::default()).collect(),
            done: Default::default(),
        }
    }

    /// Copies the first image (with `shared`), then starts `workers` threads for the rest
    /// (with `worker_shared`).
    fn run_workers<'s>(
        &'s self,
        scope: &'s std::thread::Scope<'s, '_>,
        global: &'s crate::GlobalOptions,
        [shared, worker_shared]: [&'s SyncedCopy<'s>; 2],
        reuse: &'s Reuse<'s>,
        workers: usize,
    ) {
        if self.queue.is_empty() {
            return;
        }
        self.next.store(1, std::sync::atomic::Ordering::SeqCst);
        let first = &self.images[self.queue[0]];
        self.finish(
            self.queue[0],
            copy_planned(global, shared, first, reuse, None),
        );
        for _ in 0..workers.max(1).min(self.queue.len() - 1) {
            scope.spawn(move || {
                let access = reuse.repository_access(std::slice::from_ref(first));
                let client = access.as_ref().map(|a| (a, a.client()));
                loop {
                    let k = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if k >= self.queue.len()
                        || self.stopped.load(std::sync::atomic::Ordering::SeqCst)
                    {
                        return;
                    }
                    let i = self.queue[k];
                    let client = client.as_ref().map(|(a, c)| (*a, c));
                    self.finish(
                        i,
                        copy_planned(global, worker_shared, &self.images[i], reuse, client),
                    );
                }
            });
        }
    }

    fn finish(&self, i: usize, copied: Copied) {
        let _ = self.results[i].set(copied);
        let _guard = self.done.0.lock().unwrap_or_else(|p| p.into_inner());
        self.done.1.notify_all();
    }

    /// Waits for image `i`'s copy and takes its result.
    fn wait(&self, i: usize) -> Copied {
        let mut guard = self.done.0.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some((result, progress)) = self.results[i].get() {
                return (result.clone(), progress.clone());
            }
            guard = self.done.1.wait(guard).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// No further copies start (a copy failed and sync stops).
    fn stop(&self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Writes one image of the plan: from an image this run already wrote from the same source
/// manifest when there is one, else through the copy engine; its progress kept.
fn copy_planned(
    global: &crate::GlobalOptions,
    shared: &SyncedCopy,
    image: &PlannedImage,
    reuse: &Reuse,
    client: Option<(&RepositoryAccess, &RegistryClient<'_, NativeHttp>)>,
) -> Copied {
    if let Some(written) = reuse.try_reuse(image, client) {
        return (Ok(written.digest), written.progress);
    }
    let progress = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let result = copy_image(global, shared, image, progress.clone());
    let lines = std::mem::take(&mut *progress.lock().unwrap_or_else(|p| p.into_inner()));
    if let Ok(digest) = &result {
        reuse.record(image, digest, &lines);
    }
    (result, lines)
}

fn copy_image(
    global: &crate::GlobalOptions,
    shared: &SyncedCopy,
    image: &PlannedImage,
    progress: std::sync::Arc<std::sync::Mutex<String>>,
) -> Result<skopeo_core::digest::Digest, String> {
    // A dir: destination is made first, parents included, as skopeo makes it.
    if let Some(path) = image.destination.strip_prefix("dir:") {
        std::fs::create_dir_all(path).map_err(|e| format!("creating {path}: {e}"))?;
    }
    // An OCI layout's parent is made first; the layout itself appears when a copy commits.
    if image.destination.starts_with("oci:") {
        if let Some(parent) = std::path::Path::new(&image.repository).parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("creating {}: {e}", parent.display()))?;
        }
    }
    let args = CopyArgs::for_sync(
        shared,
        image.source.clone(),
        image.destination.clone(),
        progress,
    );
    crate::copy::copy_one(global, args)
}

/// Writes `--digestfile` (what was copied so far, also when a copy failed).
fn write_digests(path: &Option<String>, lines: &[String]) -> Result<(), String> {
    let Some(path) = path else { return Ok(()) };
    std::fs::write(path, lines.concat())
        .map_err(|e| format!("Failed to write digest to file {path:?}: {e}"))
}
