//! `sync --src docker --dest docker SOURCE DESTINATION` in the component: core's registry
//! sync engine over wasi:http, with the native CLI's flags (those that apply without config
//! files), log lines, progress and exit codes.

use crate::ops::{client_config, RegistryOptions};
use clap::Args;
use skopeo_core::convert::to_schema1::Schema1Target;
use skopeo_core::copy::{parse_format, CopyOptions};
use skopeo_core::manifest::platform::PlatformChoice;
use skopeo_core::registry::CredentialFlags;
use skopeo_core::sync::plan::{DestinationKind, SourceKind};
use skopeo_core::sync::registry_sync::{multi_arch, sync_registries, RegistrySyncOptions, SyncLog};
use skopeo_std_effects::log;

/// One side's registry flags (`--src-…` or `--dest-…`).
macro_rules! side {
    ($name:ident, $prefix:literal, $side:literal) => {
        #[derive(Args, Debug, Default)]
        pub struct $name {
            #[arg(id = concat!($prefix, "creds"), long = concat!($prefix, "creds"), value_name = "USERNAME[:PASSWORD]",
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
            #[arg(id = concat!($prefix, "tls-verify"), long = concat!($prefix, "tls-verify"), value_name = "bool", num_args = 0..=1,
                  default_missing_value = "true", require_equals = true,
                  help = concat!("require HTTPS and verify certificates when talking to the ", $side, " registry"))]
            tls_verify: Option<bool>,
            #[arg(id = concat!($prefix, "no-creds"), long = concat!($prefix, "no-creds"),
                  help = concat!("Access the ", $side, " registry anonymously"))]
            no_creds: bool,
        }

        impl $name {
            fn options(&self) -> RegistryOptions {
                RegistryOptions {
                    tls_verify: self.tls_verify,
                    credentials: CredentialFlags {
                        creds: self.creds.clone(),
                        username: self.username.clone(),
                        password: self.password.clone(),
                        registry_token: self.registry_token.clone(),
                        no_creds: self.no_creds,
                    },
                }
            }
        }
    };
}

side!(SourceFlags, "src-", "source");
side!(DestinationFlags, "dest-", "destination");

/// Arguments of `sync`.
#[derive(Args, Debug)]
pub struct SyncArgs {
    #[command(flatten)]
    src_flags: SourceFlags,
    #[command(flatten)]
    dest_flags: DestinationFlags,
    /// SOURCE transport type (docker in the component)
    #[arg(short = 's', long, value_name = "string")]
    src: Option<String>,
    /// DESTINATION transport type (docker in the component)
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
    /// Preserve digests of images and lists
    #[arg(long)]
    preserve_digests: bool,
    /// Do not copy signatures from SOURCE images
    #[arg(long)]
    remove_signatures: bool,
    /// Do not abort the sync if any image copy fails
    #[arg(long)]
    keep_going: bool,
    /// MANIFEST TYPE (oci, v2s1, or v2s2) to use when syncing image(s) to a destination
    #[arg(short = 'f', long, value_name = "MANIFEST TYPE")]
    format: Option<String>,
    /// Write the digests of the copied images, one `DIGEST IMAGE` line each, to PATH
    #[arg(long, value_name = "PATH")]
    digestfile: Option<String>,
    /// SOURCE DESTINATION
    #[arg(value_name = "ARG")]
    args: Vec<String>,
}

/// skopeo's log lines on standard error, progress on standard output.
struct Lines;

impl SyncLog for Lines {
    fn info(&self, message: &str, fields: &[(&str, &str)]) {
        log::info_with(message, fields);
    }
    fn warn(&self, message: &str) {
        log::warn(message);
    }
    fn error(&self, message: &str, fields: &[(&str, &str)]) {
        log::error_with(message, fields);
    }
    fn progress(&self, line: &str) {
        let _ = crate::cli::write_stdout(format!("{line}\n").as_bytes());
    }
}

/// Runs sync.
pub fn run(args: SyncArgs, platform: PlatformChoice) -> Result<(), String> {
    let [source, destination] = args.args.as_slice() else {
        let mut cmd = crate::cli::command();
        let _ = cmd.find_subcommand_mut("sync").map(|c| c.print_help());
        return Ok(());
    };
    let src_kind = match &args.src {
        Some(s) if !s.is_empty() => SourceKind::parse(s).map_err(|e| e.to_string())?,
        _ => return Err("A source transport must be specified".into()),
    };
    let dest_kind = match &args.dest {
        Some(d) if !d.is_empty() => DestinationKind::parse(d).map_err(|e| e.to_string())?,
        _ => return Err("A destination transport must be specified".into()),
    };
    if src_kind != SourceKind::Docker || dest_kind != DestinationKind::Docker {
        return Err(
            "the component syncs between registries only (--src docker --dest docker)".into(),
        );
    }
    let force_manifest_type = match &args.format {
        Some(f) => Some(parse_format(f).map_err(|e| e.to_string())?),
        None => None,
    };
    let (src_opts, dest_opts) = (args.src_flags.options(), args.dest_flags.options());
    src_opts.credentials.resolve()?;
    dest_opts.credentials.resolve()?;
    let opts = RegistrySyncOptions {
        scoped: args.scoped,
        append_suffix: args.append_suffix.clone(),
        dry_run: args.dry_run,
        keep_going: args.keep_going,
        copy: CopyOptions {
            platform,
            multi_arch: multi_arch(args.all),
            force_manifest_type,
            preserve_digests: args.preserve_digests,
            remove_signatures: args.remove_signatures,
            schema1: Schema1Target {
                key_seed: key_seed(),
                now_unix: now_unix(),
                ..Default::default()
            },
            ..Default::default()
        },
    };
    let http = crate::http::WasiHttp;
    let src_config = |registry: &str| client_config(registry, &src_opts);
    let dest_config = |registry: &str| client_config(registry, &dest_opts);
    let outcome = pollster::block_on(sync_registries(
        &http,
        &src_config,
        &dest_config,
        source,
        destination,
        &opts,
        &Lines,
    ))
    .map_err(|e| e.to_string())?;
    if let Some(path) = &args.digestfile {
        std::fs::write(path, outcome.digests.concat())
            .map_err(|e| format!("Failed to write digest to file {path:?}: {e}"))?;
    }
    Ok(())
}

/// Secret bytes for a schema 1 conversion's throwaway key, from wasi:random.
fn key_seed() -> [u8; 32] {
    let bytes = wasi::random::random::get_random_bytes(32);
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&bytes[..32]);
    seed
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
