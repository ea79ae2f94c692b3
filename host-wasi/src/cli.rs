//! The command component's command line: `manifest-digest`, `inspect`, `list-tags` and
//! `sync` between registries, with skopeo's flags for them, printing what the native CLI
//! prints.

use crate::ops::{self, RegistryOptions};
use clap::{Args, Parser, Subcommand};
use skopeo_core::inspect::InspectOptions;
use skopeo_core::registry::source;
use skopeo_core::registry::CredentialFlags;
use skopeo_std_effects::fs::go_io_error;
use skopeo_std_effects::log;
use std::io::Write;

#[derive(Parser)]
#[command(
    name = "skopeo",
    about = "Inspect container images and registries (the WASI component's subset of skopeo)",
    disable_version_flag = true
)]
struct Cli {
    /// use ARCH instead of amd64 for choosing images
    #[arg(long, global = true, value_name = "ARCH")]
    override_arch: Option<String>,
    /// use OS instead of linux for choosing images
    #[arg(long, global = true, value_name = "OS")]
    override_os: Option<String>,
    /// use VARIANT for choosing images
    #[arg(long, global = true, value_name = "VARIANT")]
    override_variant: Option<String>,
    /// enable debug output
    #[arg(long, global = true)]
    debug: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Inspect image IMAGE-NAME
    Inspect(InspectArgs),
    /// List tags in the transport/repository specified by the SOURCE-IMAGE
    ListTags(ListTagsArgs),
    /// Compute a manifest digest of a file
    ManifestDigest {
        /// The manifest file
        #[arg(value_name = "MANIFEST")]
        files: Vec<String>,
    },
    /// Synchronize one or more images from one location to another
    Sync(crate::sync::SyncArgs),
    /// Verify a signature using local files (with --public-key-file: there is no GnuPG here)
    StandaloneVerify {
        /// File containing public keys
        #[arg(long, value_name = "string")]
        public_key_file: Option<String>,
        /// MANIFEST DOCKER-REFERENCE KEY-FINGERPRINTS SIGNATURE
        #[arg(value_name = "ARG")]
        args: Vec<String>,
    },
}

/// The registry flags the component honours.
#[derive(Args)]
struct RegistryArgs {
    /// require HTTPS and verify certificates when talking to the container registry or daemon
    #[arg(long, value_name = "bool", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    tls_verify: Option<bool>,
    /// Use `USERNAME[:PASSWORD]` for accessing the registry
    #[arg(long, value_name = "USERNAME[:PASSWORD]")]
    creds: Option<String>,
    /// The Username to access the registry
    #[arg(long, value_name = "string")]
    username: Option<String>,
    /// The Password to access the registry
    #[arg(long, value_name = "string")]
    password: Option<String>,
    /// Provide a Bearer token for accessing the registry
    #[arg(long, value_name = "TOKEN")]
    registry_token: Option<String>,
    /// Access the registry anonymously
    #[arg(long)]
    no_creds: bool,
}

impl RegistryArgs {
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

#[derive(Args)]
struct InspectArgs {
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
    #[command(flatten)]
    registry: RegistryArgs,
    /// The image name
    #[arg(value_name = "IMAGE-NAME")]
    images: Vec<String>,
}

#[derive(Args)]
struct ListTagsArgs {
    #[command(flatten)]
    registry: RegistryArgs,
    /// The repository
    #[arg(value_name = "SOURCE-IMAGE")]
    images: Vec<String>,
}

pub(crate) fn write_stdout(bytes: &[u8]) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!("writing output: {e}")),
        _ => Ok(()),
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Some(Command::ManifestDigest { files }) => {
            let [path] = files.as_slice() else {
                return Err("Usage: skopeo manifest-digest manifest".into());
            };
            let bytes = std::fs::read(path).map_err(|e| {
                format!(
                    "Error reading manifest from {path}: {}",
                    go_io_error("open", path, &e)
                )
            })?;
            let digest = ops::manifest_digest(&bytes).map_err(|e| e.to_string())?;
            write_stdout(format!("{digest}\n").as_bytes())
        }
        Some(Command::StandaloneVerify {
            public_key_file,
            args,
        }) => standalone_verify(public_key_file, &args),
        Some(Command::Inspect(args)) => {
            let [name] = args.images.as_slice() else {
                return Err("Exactly one argument expected".into());
            };
            let opts = InspectOptions {
                raw: args.raw,
                config: args.config,
                format: args.format.clone(),
                platform: ops::platform(cli.override_os, cli.override_arch, cli.override_variant),
            };
            let out = ops::inspect(
                name,
                &opts,
                &args.registry.options(),
                args.no_tags,
                &log::warn,
            )
            .map_err(|e| e.to_string())?;
            write_stdout(&out)
        }
        Some(Command::ListTags(args)) => {
            let [name] = args.images.as_slice() else {
                use clap::CommandFactory;
                let mut cmd = Cli::command();
                let _ = cmd.find_subcommand_mut("list-tags").map(|c| c.print_help());
                return Ok(());
            };
            let (repository, tags) =
                ops::list_tags(name, &args.registry.options()).map_err(|e| e.to_string())?;
            write_stdout(&source::tag_list_document(&repository, &tags))
        }
        Some(Command::Sync(args)) => {
            let platform = ops::platform(cli.override_os, cli.override_arch, cli.override_variant);
            crate::sync::run(args, platform)
        }
        None => {
            use clap::CommandFactory;
            let _ = Cli::command().print_help();
            Ok(())
        }
    }
}

/// The command line's definition (for printing a subcommand's help).
/// `standalone-verify` over preopened files, with the native CLI's outputs; the keys must
/// come from `--public-key-file` (the component has no GnuPG home).
fn standalone_verify(public_key_file: Option<String>, args: &[String]) -> Result<(), String> {
    let [manifest, reference, fingerprints, signature] = args else {
        return Err(
            "Usage: skopeo standalone-verify manifest docker-reference key-fingerprint signature"
                .into(),
        );
    };
    let read = |path: &str, what: &str| {
        std::fs::read(path).map_err(|e| format!("{what} {path}: {}", go_io_error("open", path, &e)))
    };
    if fingerprints == "any" && public_key_file.is_none() {
        return Err("Cannot use any fingerprint without a public key file".into());
    }
    let manifest = read(manifest, "Error reading manifest from")?;
    let signature = read(signature, "Error reading signature from")?;
    let Some(key_file) = public_key_file else {
        return Err("Error initializing GPG: the component has no GnuPG home; give the keys with --public-key-file".into());
    };
    let keys = read(&key_file, "Error reading public keys from")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let line = skopeo_core::trust::standalone::verify_command(
        &keys,
        true,
        &manifest,
        reference,
        fingerprints,
        &signature,
        now,
    )?;
    write_stdout(line.as_bytes())
}

pub(crate) fn command() -> clap::Command {
    use clap::CommandFactory;
    Cli::command()
}

/// Runs the command line `args` (program name first); returns the exit status.
pub fn main(args: Vec<String>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => match e.kind() {
            clap::error::ErrorKind::DisplayHelp
            | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                let _ = e.print();
                return 0;
            }
            _ => {
                let text = e.to_string();
                let first = text.lines().next().unwrap_or("invalid arguments");
                log::fatal(first.trim_start_matches("error: "))
            }
        },
    };
    match run(cli) {
        Ok(()) => 0,
        Err(msg) => log::fatal(&msg),
    }
}
