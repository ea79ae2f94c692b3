//! `skopeo copy SOURCE-IMAGE DESTINATION-IMAGE` between `dir:`, `oci:` and `docker://`,
//! through core's copy engine, printing skopeo's progress lines.

use crate::archive::{self, ScratchDir};
use crate::lookaside::Lookaside;
use crate::registry::{self, DockerOpts};
use crate::transports::{Destination, Source};
use clap::Args;
use skopeo_core::compression::zstd::Frames;
use skopeo_core::compression::Encoders;
use skopeo_core::convert::to_schema1::Schema1Target;
use skopeo_core::copy::{
    copy_image_until, parse_format, CompressionFlags, CompressionOptions, CopyOptions, MultiArch,
};
use skopeo_core::docker_archive::DockerArchiveSource;
use skopeo_core::effects::Workers;
use skopeo_core::layout::{
    dir_dest::DirDestination, oci_dest::OciDestination, open_source, open_source_sharing,
};
use skopeo_core::policy::Policy;
use skopeo_core::reference::Reference;
use skopeo_core::registry::destination::DockerDestination;
use skopeo_core::registry::source::DockerSource;
use skopeo_core::registry::RegistryClient;
use skopeo_core::transport::ImageName;
use skopeo_std_effects::background::Cores;
use skopeo_std_effects::fs::NativeFs;

/// The registry flags of one side of a copy (`--src-…` or `--dest-…`).
macro_rules! side_flags {
    ($name:ident, $prefix:literal, $side:literal, $creds_alias:literal) => {
        #[derive(Args, Debug, Default, Clone)]
        pub struct $name {
            #[arg(id = concat!($prefix, "authfile"), long = concat!($prefix, "authfile"), value_name = "string",
                  help = concat!("path of the authentication file for the ", $side))]
            authfile: Option<String>,
            #[arg(id = concat!($prefix, "creds"), long = concat!($prefix, "creds"), value_name = "USERNAME[:PASSWORD]",
                  alias = $creds_alias,
                  help = concat!("Use USERNAME[:PASSWORD] for accessing the ", $side, " registry"))]
            creds: Option<String>,
            #[arg(id = concat!($prefix, "username"), long = concat!($prefix, "username"), value_name = "string",
                  help = concat!("Username for accessing the ", $side, " registry"))]
            username: Option<String>,
            #[arg(id = concat!($prefix, "password"), long = concat!($prefix, "password"), value_name = "string",
                  help = concat!("Password for accessing the ", $side, " registry"))]
            password: Option<String>,
            #[arg(id = concat!($prefix, "registry-token"), long = concat!($prefix, "registry-token"), value_name = "string",
                  help = concat!("Provide a Bearer token for accessing the ", $side, " registry"))]
            registry_token: Option<String>,
            #[arg(id = concat!($prefix, "cert-dir"), long = concat!($prefix, "cert-dir"), value_name = "PATH",
                  help = concat!("use certificates at PATH to connect to the ", $side, " registry"))]
            cert_dir: Option<String>,
            #[arg(id = concat!($prefix, "tls-verify"), long = concat!($prefix, "tls-verify"), value_name = "bool", num_args = 0..=1,
                  default_missing_value = "true", require_equals = true,
                  help = concat!("require HTTPS and verify certificates when talking to the ", $side, " registry"))]
            tls_verify: Option<bool>,
            #[arg(id = concat!($prefix, "no-creds"), long = concat!($prefix, "no-creds"),
                  help = concat!("Access the ", $side, " registry anonymously"))]
            no_creds: bool,
        }

        impl $name {
            /// These flags with a sync YAML file's settings for one registry on top: its
            /// `tls-verify` and `cert-dir` when given, its credentials when they name a user.
            pub fn with_registry_settings(
                &self,
                tls_verify: Option<bool>,
                cert_dir: Option<&str>,
                creds: Option<String>,
            ) -> Self {
                let mut out = self.clone();
                out.tls_verify = tls_verify.or(out.tls_verify);
                out.cert_dir = cert_dir.map(str::to_owned).or(out.cert_dir);
                if creds.is_some() {
                    (out.creds, out.username, out.password, out.no_creds) = (creds, None, None, false);
                }
                out
            }

            /// The flags as the registry module takes them; `authfile` is the shared one.
            pub fn docker(&self, authfile: &Option<String>) -> DockerOpts {
                DockerOpts {
                    authfile: self.authfile.clone().or_else(|| authfile.clone()),
                    creds: self.creds.clone(),
                    username: self.username.clone(),
                    password: self.password.clone(),
                    registry_token: self.registry_token.clone(),
                    cert_dir: self.cert_dir.clone(),
                    tls_verify: self.tls_verify,
                    no_creds: self.no_creds,
                }
            }
        }
    };
}

side_flags!(SourceFlags, "src-", "source", "screds");
side_flags!(DestinationFlags, "dest-", "destination", "dcreds");

/// Arguments of `copy`.
#[derive(Args, Default)]
pub struct CopyArgs {
    /// path of the authentication file. Default is ${XDG_RUNTIME_DIR}/containers/auth.json
    #[arg(long, value_name = "string", env = "REGISTRY_AUTH_FILE")]
    authfile: Option<String>,
    #[command(flatten)]
    src: SourceFlags,
    #[command(flatten)]
    dest: DestinationFlags,
    /// require HTTPS and verify certificates when accessing the container registry (deprecated:
    /// both sides' default; `--src-tls-verify`/`--dest-tls-verify` win)
    #[arg(long, value_name = "bool", num_args = 0..=1, default_missing_value = "true", require_equals = true, hide = true)]
    tls_verify: Option<bool>,
    /// Suppress output information when copying images
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Copy all images if SOURCE-IMAGE is a list
    #[arg(short = 'a', long)]
    all: bool,
    /// How to handle multi-architecture images (system, all, or index-only)
    #[arg(long, value_name = "LIST")]
    multi_arch: Option<String>,
    /// MANIFEST TYPE (oci, v2s1, or v2s2) to use in the destination (default is manifest type of source, with fallbacks)
    #[arg(short = 'f', long, value_name = "MANIFEST TYPE")]
    format: Option<String>,
    /// DIRECTORY to use to share blobs across OCI repositories
    #[arg(long, value_name = "DIRECTORY")]
    src_shared_blob_dir: Option<String>,
    /// DIRECTORY to use to share blobs across OCI repositories
    #[arg(long, value_name = "DIRECTORY")]
    dest_shared_blob_dir: Option<String>,
    /// Preserve digests of images and lists
    #[arg(long)]
    preserve_digests: bool,
    /// Do not copy signatures from SOURCE-IMAGE
    #[arg(long)]
    remove_signatures: bool,
    /// Write the digest of the pushed image to the specified file
    #[arg(long, value_name = "PATH")]
    digestfile: Option<String>,
    /// Compress tarball image layers when saving to directory using the 'dir' transport. (default is same compression type as source)
    #[arg(long)]
    dest_compress: bool,
    /// Decompress tarball image layers when saving to directory using the 'dir' transport. (default is same compression type as source)
    #[arg(long)]
    dest_decompress: bool,
    /// FORMAT to use for the compression
    #[arg(long, value_name = "FORMAT")]
    dest_compress_format: Option<String>,
    /// LEVEL to use for the compression
    #[arg(long, value_name = "LEVEL")]
    dest_compress_level: Option<u32>,
    /// Precompute digests to prevent uploading layers already on the registry using the 'docker' transport.
    #[arg(long)]
    dest_precompute_digests: bool,
    /// Allow uncompressed image layers when saving to an OCI image using the 'oci' transport. (default is to compress things that aren't compressed)
    #[arg(long)]
    dest_oci_accept_uncompressed_layers: bool,
    /// additional tags (supports docker-archive)
    #[arg(long, value_name = "tags")]
    additional_tag: Vec<String>,
    /// Maximum number of image layers to be copied (pulled/pushed) simultaneously (default 6)
    #[arg(
        long,
        value_name = "uint",
        default_value_t = 0,
        hide_default_value = true
    )]
    image_parallel_copies: usize,
    /// the number of times to possibly retry
    #[arg(
        long,
        value_name = "int",
        default_value_t = 0,
        hide_default_value = true
    )]
    retry_times: u32,
    /// Fixed delay between retries (default: doubling from 1s)
    #[arg(long, value_name = "duration")]
    retry_delay: Option<String>,
    /// use docker daemon host at HOST (docker-daemon: only)
    #[arg(long, value_name = "HOST")]
    src_daemon_host: Option<String>,
    /// use docker daemon host at HOST (docker-daemon: only)
    #[arg(long, value_name = "HOST")]
    dest_daemon_host: Option<String>,
    /// Sign the image using a GPG key with the specified FINGERPRINT
    #[arg(long, value_name = "FINGERPRINT")]
    sign_by: Option<String>,
    /// Sign the image using a sigstore private key at PATH
    #[arg(long, value_name = "PATH")]
    sign_by_sigstore_private_key: Option<String>,
    /// Read a passphrase for signing an image from PATH
    #[arg(long, value_name = "PATH")]
    sign_passphrase_file: Option<String>,
    /// Identity of signed image, must be a fully specified docker reference. Defaults to the target docker reference.
    #[arg(long, value_name = "string")]
    sign_identity: Option<String>,
    /// Sign the image using a sigstore parameter file at PATH
    #[arg(long, value_name = "PATH")]
    sign_by_sigstore: Option<String>,
    /// Take --sign-by's secret key from the OpenPGP key file at PATH instead of GnuPG
    #[arg(long, value_name = "PATH")]
    sign_key_file: Option<String>,
    /// The signing passphrase sync read once for its copies.
    #[arg(skip)]
    sign_passphrase: Option<String>,
    /// *Experimental* key with the encryption protocol to use needed to encrypt the image (e.g. jwe:/path/to/key.pem)
    #[arg(long, value_name = "strings")]
    encryption_key: Vec<String>,
    /// *Experimental* the 0-indexed layer indices, with support for negative indexing (e.g. 0 is the first layer, -1 is the last layer)
    #[arg(
        long,
        value_name = "ints",
        allow_negative_numbers = true,
        value_delimiter = ','
    )]
    encrypt_layer: Vec<i64>,
    /// *Experimental* key needed to decrypt the image
    #[arg(long, value_name = "strings")]
    decryption_key: Vec<String>,
    /// The source and destination
    #[arg(value_name = "IMAGE")]
    images: Vec<String>,
    /// Where sync's copies keep their progress lines (printed once the copy is done).
    #[arg(skip)]
    progress_buffer: Option<std::sync::Arc<std::sync::Mutex<String>>>,
}

/// The trust policy (`--policy`, else the user's, else the system's file), or `None` with
/// `--insecure-policy`.
pub fn load_policy(global: &crate::GlobalOptions) -> Result<Option<Policy>, String> {
    if global.insecure_policy {
        return Ok(None);
    }
    let path = match &global.policy {
        Some(p) => std::path::PathBuf::from(p),
        None => {
            let user = std::env::var_os("HOME")
                .map(|h| std::path::Path::new(&h).join(".config/containers/policy.json"));
            user.filter(|p| p.exists())
                .unwrap_or_else(|| "/etc/containers/policy.json".into())
        }
    };
    let shown = path.display().to_string();
    let bytes = std::fs::read(&path).map_err(|e| {
        format!(
            "Error loading trust policy: {}",
            skopeo_std_effects::fs::go_io_error("open", &shown, &e)
        )
    })?;
    Policy::parse(&bytes, &shown)
        .map(Some)
        .map_err(|e| format!("Error loading trust policy: {e}"))
}

/// What sync hands each of its copies: the flags both commands share.
pub struct SyncedCopy<'a> {
    pub authfile: &'a Option<String>,
    pub src: &'a SourceFlags,
    pub dest: &'a DestinationFlags,
    pub format: &'a Option<String>,
    pub all: bool,
    pub preserve_digests: bool,
    pub remove_signatures: bool,
    pub retry_times: u32,
    pub retry_delay: &'a Option<String>,
    pub image_parallel_copies: usize,
    /// `--sign-by*`, the passphrase already read.
    pub sign: &'a crate::signing::SignFlags,
}

impl CopyArgs {
    /// The signing flags.
    fn sign_flags(&self) -> crate::signing::SignFlags {
        crate::signing::SignFlags {
            sign_by: self.sign_by.clone(),
            sign_by_sigstore_private_key: self.sign_by_sigstore_private_key.clone(),
            sign_by_sigstore: self.sign_by_sigstore.clone(),
            sign_passphrase_file: self.sign_passphrase_file.clone(),
            sign_identity: self.sign_identity.clone(),
            sign_key_file: self.sign_key_file.clone(),
            passphrase: self.sign_passphrase.clone(),
        }
    }

    /// The arguments of one of sync's copies, `source` to `destination`.
    pub fn for_sync(
        shared: &SyncedCopy,
        source: String,
        destination: String,
        progress: std::sync::Arc<std::sync::Mutex<String>>,
    ) -> CopyArgs {
        CopyArgs {
            authfile: shared.authfile.clone(),
            src: shared.src.clone(),
            dest: shared.dest.clone(),
            all: shared.all,
            format: shared.format.clone(),
            preserve_digests: shared.preserve_digests,
            remove_signatures: shared.remove_signatures,
            retry_times: shared.retry_times,
            retry_delay: shared.retry_delay.clone(),
            image_parallel_copies: shared.image_parallel_copies,
            images: vec![source, destination],
            progress_buffer: Some(progress),
            sign_by: shared.sign.sign_by.clone(),
            sign_by_sigstore_private_key: shared.sign.sign_by_sigstore_private_key.clone(),
            sign_by_sigstore: shared.sign.sign_by_sigstore.clone(),
            sign_passphrase: shared.sign.passphrase.clone(),
            sign_key_file: shared.sign.sign_key_file.clone(),
            ..CopyArgs::default()
        }
    }
}

/// Runs copy.
pub fn run(global: &crate::GlobalOptions, args: CopyArgs) -> Result<(), String> {
    if args.images.len() != 2 {
        // skopeo prints the command's help and succeeds.
        use clap::CommandFactory;
        let mut cmd = crate::Cli::command();
        let _ = cmd.find_subcommand_mut("copy").map(|c| c.print_help());
        return Ok(());
    }
    let digestfile = args.digestfile.clone();
    let digest = copy_one(global, args)?;
    if let Some(path) = &digestfile {
        std::fs::write(path, digest.to_string())
            .map_err(|e| format!("Failed to write digest to file {path:?}: {e}"))?;
    }
    Ok(())
}

/// Copies the one image `args` names, returning the digest of the manifest written.
pub fn copy_one(
    global: &crate::GlobalOptions,
    args: CopyArgs,
) -> Result<skopeo_core::digest::Digest, String> {
    let [src_name, dest_name] = args.images.as_slice() else {
        return Err("Exactly two arguments expected".into());
    };
    if args.tls_verify.is_some() {
        crate::fatal::warn(
            "'--tls-verify' is deprecated, instead use: --src-tls-verify, --dest-tls-verify",
        );
    }
    use crate::unsupported::{refuse_given, ENCRYPTION};
    refuse_given(
        &[
            ("encryption-key", !args.encryption_key.is_empty()),
            ("encrypt-layer", !args.encrypt_layer.is_empty()),
            ("decryption-key", !args.decryption_key.is_empty()),
        ],
        ENCRYPTION,
    )?;
    let policy = load_policy(global)?;
    let src =
        ImageName::parse(src_name).map_err(|e| format!("Invalid source name {src_name}: {e}"))?;
    let dest = ImageName::parse(dest_name)
        .map_err(|e| format!("Invalid destination name {dest_name}: {e}"))?;
    for (name, given, side) in [
        (&src, src_name, "source"),
        (&dest, dest_name, "destination"),
    ] {
        pollster::block_on(skopeo_core::layout::check_resolvable(&NativeFs, name))
            .map_err(|e| format!("Invalid {side} name {given}: {e}"))?;
    }
    let mut src_flags = args.src.docker(&args.authfile);
    let mut dest_flags = args.dest.docker(&args.authfile);
    src_flags.tls_verify = src_flags.tls_verify.or(args.tls_verify);
    dest_flags.tls_verify = dest_flags.tls_verify.or(args.tls_verify);
    registry::validate(&src_flags)?;
    registry::validate(&dest_flags)?;
    let multi_arch = match (&args.multi_arch, args.all) {
        (Some(_), true) => return Err("Cannot use --all and --multi-arch flags together".into()),
        (Some(v), false) => MultiArch::parse(v).map_err(|e| e.to_string())?,
        (None, true) => MultiArch::All,
        (None, false) => MultiArch::System,
    };
    let mut compression = CompressionOptions::from_flags(
        &dest,
        &CompressionFlags {
            compress: args.dest_compress,
            decompress: args.dest_decompress,
            format: args.dest_compress_format.as_deref(),
            level: args.dest_compress_level,
            oci_accept_uncompressed_layers: args.dest_oci_accept_uncompressed_layers,
            precompute_digests: args.dest_precompute_digests,
        },
    )
    .map_err(|e| e.to_string())?;
    compression.encoders = Encoders {
        workers: Workers::new(Cores),
        zstd: Frames::new(crate::libzstd::LibZstd),
    };
    let force_manifest_type = match &args.format {
        Some(f) => Some(parse_format(f).map_err(|e| e.to_string())?),
        None => None,
    };
    let opts = CopyOptions {
        platform: global.platform_choice(),
        multi_arch,
        parallel_copies: args.image_parallel_copies,
        compression,
        force_manifest_type,
        preserve_digests: args.preserve_digests,
        remove_signatures: args.remove_signatures,
        destination_name: dest.to_string(),
        schema1: schema1_target(&dest)?,
        trust: policy
            .as_ref()
            .map(|p| crate::signing::trust_check(p, &src)),
        signing: crate::signing::signing(&args.sign_flags(), &dest)?,
    };
    let report = match &args.progress_buffer {
        Some(buffer) => crate::progress::Progress::Buffered(buffer.clone()),
        None => crate::progress::Progress::for_copy(dest_name, args.quiet),
    };

    // Registry access for whichever sides are registries.
    let needs_conf =
        matches!(src, ImageName::Docker { .. }) || matches!(dest, ImageName::Docker { .. });
    let conf = if needs_conf {
        Some(registry::load_registries_conf(
            global.registries_conf.as_deref(),
        )?)
    } else {
        None
    };
    let access = |name: &ImageName,
                  flags: &DockerOpts|
     -> Result<Option<registry::Access>, String> {
        match (name, &conf) {
            (ImageName::Docker { reference, .. }, Some(conf)) => {
                registry::access(flags, conf, reference.domain(), &reference.name(), None).map(Some)
            }
            _ => Ok(None),
        }
    };
    let src_access =
        access(&src, &src_flags).map_err(|e| format!("initializing source {src}: {e}"))?;
    let dest_access =
        access(&dest, &dest_flags).map_err(|e| format!("initializing destination {dest}: {e}"))?;
    let src_client = src_access
        .as_ref()
        .map(|a| RegistryClient::new(&a.http, a.config.clone()));
    let dest_client = dest_access
        .as_ref()
        .map(|a| RegistryClient::new(&a.http, a.config.clone()));

    // Archive sources are unpacked into a scratch directory, an oci-archive destination is
    // packed from a scratch layout, a docker-archive destination stages there what it cannot
    // stream into the archive; the scratch directories go away when the copy ends.
    let src_scratch = match &src {
        ImageName::OciArchive { path, .. } | ImageName::DockerArchive { path, .. } => {
            let scratch = ScratchDir::new("oci-archive-src")?;
            archive::extract(path, &scratch.0)
                .map_err(|e| format!("initializing source {src}: {e}"))?;
            Some(scratch)
        }
        // The daemon's `docker save` stream is unpacked as it arrives, then read as an archive.
        ImageName::DockerDaemon(image) => {
            let scratch = ScratchDir::new("docker-daemon-src")?;
            crate::daemon::Access::from_flags(
                args.src_daemon_host.as_deref(),
                src_flags.cert_dir.as_deref(),
                src_flags.tls_verify,
            )
            .and_then(|access| crate::daemon::save(access, image, &scratch.0))
            .map_err(|e| format!("initializing source {src}: {e}"))?;
            Some(scratch)
        }
        _ => None,
    };
    if let ImageName::Sif { .. } = &dest {
        return Err(format!(
            "initializing destination {dest}: \"sif:\" locations can only be read from, not written to"
        ));
    }
    // A SIF file's root filesystem is packed into a tar in a scratch directory, once (retries
    // read the same conversion).
    let sif_scratch = match &src {
        ImageName::Sif { .. } => Some(ScratchDir::new("sif-src")?),
        _ => None,
    };
    let sif_source = match (&src, &sif_scratch) {
        (ImageName::Sif { path }, Some(scratch)) => Some(
            crate::sif::open(path, &scratch.0, &NativeFs)
                .map_err(|e| format!("initializing source {src}: {e}"))?,
        ),
        _ => None,
    };
    let src_layout = match (&src, &src_scratch) {
        (ImageName::OciArchive { image, .. }, Some(s)) => ImageName::Oci {
            path: s.path(),
            image: image.clone(),
        },
        _ => src.clone(),
    };
    let archive_tags = pollster::block_on(skopeo_core::docker_archive::destination_tags(
        &NativeFs,
        &dest,
        &args.additional_tag,
    ))
    .map_err(|e| e.to_string())?;
    let dest_scratch = match &dest {
        ImageName::OciArchive { .. } => Some(ScratchDir::new("oci-archive-dest")?),
        ImageName::DockerArchive { .. } => Some(ScratchDir::new("docker-archive-dest")?),
        ImageName::DockerDaemon(_) => Some(ScratchDir::new("docker-daemon-dest")?),
        _ => None,
    };
    // A daemon image is written as a docker archive loaded into the daemon, under its name.
    let daemon_tags = match &dest {
        ImageName::DockerDaemon(image) => match crate::daemon::archive_reference(image) {
            Some(named) => vec![named.clone()],
            None => {
                return Err(format!(
                    "initializing destination {dest}: Invalid destination {dest}: a destination must be a name:tag"
                ))
            }
        },
        _ => Vec::new(),
    };

    let retry_delay = match &args.retry_delay {
        Some(d) => Some(crate::retry::parse_go_duration(d).ok_or_else(|| {
            format!(
                "invalid argument {d:?} for \"--retry-delay\" flag: time: invalid duration {d:?}"
            )
        })?),
        None => None,
    };
    // Signatures of registry images live in lookaside storage, configured in registries.d.
    let registries_d = match (&src, &dest) {
        (ImageName::Docker { .. }, _) | (_, ImageName::Docker { .. }) => {
            Some(crate::lookaside::load(global.registries_d.as_deref())?)
        }
        _ => None,
    };
    let lookaside = |reference: &Reference, write: bool| {
        let config = registries_d.as_ref().expect("loaded for docker references");
        Lookaside::new(config, reference, write).map_err(skopeo_core::Error::Invalid)
    };
    // A store is resolved once; messages name it as resolved.
    let src_store = resolve_store(&src, "source")?;
    let dest_store = resolve_store(&dest, "destination")?;
    let src_shown = match &src_store {
        Some((name, _)) => name.clone(),
        None => src.to_string(),
    };
    let fs = NativeFs;
    let attempt = || {
        // The daemon's answer to a load this attempt started.
        let loading: std::cell::RefCell<Option<crate::daemon::Load>> = Default::default();
        let copied = pollster::block_on(async {
            let source = match (&src, &src_client) {
                (ImageName::Sif { .. }, _) => {
                    let sif = sif_source.clone().expect("converted for sif:");
                    Ok(Source::Local(skopeo_core::layout::LocalSource::Sif(
                        Box::new(sif),
                    )))
                }
                (ImageName::DockerDaemon(image), _) => {
                    let root = src_scratch.as_ref().expect("made for docker-daemon").path();
                    let named = crate::daemon::archive_reference(image);
                    DockerArchiveSource::open(&fs, &root, named, None)
                        .await
                        .map(|s| Source::DockerArchive(Box::new(s)))
                }
                (
                    ImageName::DockerArchive {
                        reference, index, ..
                    },
                    _,
                ) => {
                    let root = src_scratch
                        .as_ref()
                        .expect("made for docker-archive")
                        .path();
                    // containers/image reads the archive's index when it first needs the
                    // manifest, and words failures accordingly.
                    let opened = DockerArchiveSource::open(&fs, &root, reference.as_ref(), *index)
                        .await
                        .map_err(|e| {
                            e.context(format!("determining manifest MIME type for {src}"))
                        })?;
                    Ok(Source::DockerArchive(Box::new(opened)))
                }
                (ImageName::Docker { reference, .. }, Some(client)) => {
                    // The policy reads signatures even when they are not copied.
                    let policy_reads = opts.trust.as_ref().is_some_and(|t| t.needs_signatures());
                    let signatures = match args.remove_signatures && !policy_reads {
                        true => None,
                        false => Some(lookaside(reference, false)?),
                    };
                    DockerSource::open(client, reference.clone(), reference.clone())
                        .await
                        .map(|s| Source::Docker(Box::new(s), signatures))
                }
                (ImageName::ContainersStorage(image), _) => {
                    use skopeo_core::containers_storage as cs;
                    let (_, store) = src_store
                        .as_ref()
                        .expect("resolved for containers-storage:");
                    cs::StorageSource::open(&fs, store, image)
                        .await
                        .inspect_err(|e| {
                            if e.to_string() == cs::NAME_AND_ID_DISAGREE {
                                skopeo_std_effects::log::error_with(
                                    &cs::no_match_line(store, image),
                                    &[],
                                );
                            }
                        })
                        .map(|s| s.hashing_on(opts.compression.encoders.workers.clone()))
                        .map(|s| Source::Storage(Box::new(s)))
                }
                (ImageName::Oci { .. }, _) => {
                    open_source_sharing(&fs, &src_layout, args.src_shared_blob_dir.as_deref())
                        .await
                        .map(Source::Local)
                }
                _ => open_source(&fs, &src_layout).await.map(Source::Local),
            }
            .map_err(|e| e.context(format!("initializing source {src_shown}")))?;
            if let Some(policy) = &policy {
                policy.allows(&src).map_err(|e| {
                    skopeo_core::Error::Invalid(format!("Source image rejected: {e}"))
                })?;
            }
            let init_dest =
                |e: skopeo_core::Error| e.context(format!("initializing destination {dest}"));
            let destination = match (&dest, &dest_client) {
                (ImageName::Dir { path }, _) => {
                    Destination::Dir(DirDestination::new(&fs, path).await.map_err(init_dest)?)
                }
                (ImageName::Oci { path, image }, _) => {
                    let d = OciDestination::new(&fs, path, image)
                        .await
                        .map_err(init_dest)?
                        .with_shared_blob_dir(args.dest_shared_blob_dir.as_deref());
                    Destination::Oci(Box::new(d))
                }
                (ImageName::OciArchive { image, .. }, _) => {
                    let scratch = dest_scratch.as_ref().expect("made for oci-archive");
                    let layout = format!("{}/layout", scratch.path());
                    let d = OciDestination::new(&fs, &layout, image)
                        .await
                        .map_err(init_dest)?;
                    Destination::Oci(Box::new(d))
                }
                (ImageName::DockerArchive { path, .. }, _) => {
                    let scratch = dest_scratch.as_ref().expect("made for docker-archive");
                    let staging = format!("{}/staging", scratch.path());
                    let archive = crate::archive_writer::ArchiveWriter::create(path)
                        .map_err(|e| init_dest(e.into()))?;
                    let d = skopeo_core::docker_archive::DockerArchiveDestination::new(
                        &fs,
                        archive,
                        &staging,
                        archive_tags.clone(),
                    )
                    .map_err(init_dest)?;
                    Destination::DockerArchive(d)
                }
                (ImageName::DockerDaemon(_), _) => {
                    let scratch = dest_scratch.as_ref().expect("made for docker-daemon");
                    let staging = format!("{}/staging", scratch.path());
                    let (archive, load) = crate::daemon::Access::from_flags(
                        args.dest_daemon_host.as_deref(),
                        dest_flags.cert_dir.as_deref(),
                        dest_flags.tls_verify,
                    )
                    .and_then(crate::daemon::start_load)
                    .map_err(|e| init_dest(skopeo_core::Error::Invalid(e)))?;
                    *loading.borrow_mut() = Some(load);
                    let d = skopeo_core::docker_archive::DockerArchiveDestination::new(
                        &fs,
                        archive,
                        &staging,
                        daemon_tags.clone(),
                    )
                    .map_err(init_dest)?;
                    Destination::DockerArchive(d)
                }
                (ImageName::Docker { reference, .. }, Some(client)) => {
                    let source_ref = match &src {
                        ImageName::Docker { reference, .. } => Some(reference),
                        _ => None,
                    };
                    Destination::Docker(
                        DockerDestination::new(client, reference.clone(), source_ref),
                        lookaside(reference, true).map_err(init_dest)?,
                    )
                }
                (ImageName::ContainersStorage(image), _) => {
                    let (shown, store) = dest_store.as_ref().expect("resolved for the store");
                    let d = skopeo_core::containers_storage::StorageDestination::open(
                        &crate::store_fs::StoreFs,
                        store,
                        image,
                    )
                    .await
                    .map_err(|e| match e {
                        // The store is made when containers/image parses the name.
                        skopeo_core::Error::Effect(_) => {
                            e.context(format!("Invalid destination name {dest_name}"))
                        }
                        _ => e.context(format!("initializing destination {shown}")),
                    })?;
                    Destination::Storage(Box::new(d))
                }
                (other, _) => {
                    return Err(skopeo_core::Error::Unsupported(format!(
                        "copying to the {} transport is not supported yet",
                        other.transport()
                    )))
                }
            };
            copy_image_until(
                &source,
                destination,
                &opts,
                &report,
                crate::interrupt::signalled(),
            )
            .await
        });
        // The destination is gone (its archive ended, or cut off): the daemon has answered.
        use crate::daemon::LoadFailure;
        match (copied, loading.take().map(crate::daemon::Load::wait)) {
            (copied, None | Some(Ok(()))) => copied,
            // The copy failed first and its error says why; the daemon got no whole image.
            (Err(e), Some(Err(LoadFailure::Unfinished))) => Err(e),
            (Ok(_), Some(Err(LoadFailure::Unfinished))) => Err(skopeo_core::Error::Invalid(
                format!("writing to destination {dest}: the archive was not sent whole"),
            )),
            (_, Some(Err(LoadFailure::Daemon(e)))) => Err(skopeo_core::Error::Invalid(format!(
                "writing to destination {dest}: {e}"
            ))),
        }
    };
    let digest = crate::retry::if_necessary_with_delay(args.retry_times, retry_delay, attempt)
        .map_err(|e| e.to_string())?;
    if let (ImageName::OciArchive { path, .. }, Some(scratch)) = (&dest, &dest_scratch) {
        archive::create(&scratch.0.join("layout"), path)
            .map_err(|e| format!("writing to destination {dest}: {e}"))?;
    }
    Ok(digest)
}

/// What a conversion to schema 1 writes besides the image: a fresh throwaway signing key
/// and the time (the core takes the repository and tag from `dest`).
/// The store a `containers-storage:` name uses, and the name as resolved in it (as messages
/// show it); `None` for other transports. `side` is "source" or "destination".
fn resolve_store(
    name: &ImageName,
    side: &str,
) -> Result<Option<(String, skopeo_core::containers_storage::Store)>, String> {
    let ImageName::ContainersStorage(image) = name else {
        return Ok(None);
    };
    let store = crate::storage::store(image.store.as_ref())
        .map_err(|e| format!("initializing {side} {name}: {e}"))?;
    let shown = skopeo_core::containers_storage::transport_name(&store, image);
    Ok(Some((shown, store)))
}

fn schema1_target(dest: &ImageName) -> Result<Schema1Target, String> {
    let mut key_seed = [0u8; 32];
    getrandom::fill(&mut key_seed).map_err(|e| format!("reading random bytes for a key: {e}"))?;
    let now_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    Ok(Schema1Target::for_destination(dest, key_seed, now_unix))
}
