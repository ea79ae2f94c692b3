//! `skopeo`: inspect, copy and manage container images. The native host of `skopeo-core`.

mod archive;
mod archive_writer;
mod config_cache;
mod copy;
mod daemon;
mod delete;
use skopeo_std_effects::fs;
use skopeo_std_effects::log as fatal;
mod http;
mod inspect;
mod interrupt;
mod libzstd;
mod list_tags;
mod login;
mod lookaside;
mod manifest_digest;
mod pending_commands;
mod progress;
mod registry;
mod retry;
mod sif;
mod signing;
mod standalone;
mod storage;
mod store_fs;
mod sync;
mod sync_reuse;
mod sync_sources;
mod tls;
mod transports;
mod unsupported;

use clap::{Args, Parser, Subcommand};
use skopeo_core::manifest::platform::{go_arch, PlatformChoice};

/// Pipe chunks page-aligned, so layers are written to disk straight from the chunks they
/// were read into (see `skopeo_std_effects::direct`).
#[global_allocator]
static ALLOCATOR: skopeo_std_effects::aligned_alloc::ChunksPageAligned =
    skopeo_std_effects::aligned_alloc::ChunksPageAligned;

/// The skopeo release whose behaviour this tool reproduces.
const COMPATIBLE_SKOPEO: &str = "1.9.3";

#[derive(Parser)]
#[command(
    name = "skopeo",
    about = "Various operations with container images and container image registries",
    disable_version_flag = true
)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalOptions,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Flags every command accepts.
#[derive(Args, Debug, Default)]
pub struct GlobalOptions {
    /// enable debug output
    #[arg(long, global = true)]
    debug: bool,
    /// Path to a trust policy file
    #[arg(long, global = true, value_name = "string")]
    policy: Option<String>,
    /// run the tool without any policy check
    #[arg(long, global = true)]
    insecure_policy: bool,
    /// use ARCH instead of the architecture of the machine for choosing images
    #[arg(long, global = true, value_name = "ARCH")]
    override_arch: Option<String>,
    /// use OS instead of the running OS for choosing images
    #[arg(long, global = true, value_name = "OS")]
    override_os: Option<String>,
    /// use VARIANT instead of the running architecture variant for choosing images
    #[arg(long, global = true, value_name = "VARIANT")]
    override_variant: Option<String>,
    /// use registry configuration files in DIR (e.g. for container signature storage)
    #[arg(long = "registries.d", global = true, value_name = "DIR")]
    registries_d: Option<String>,
    /// path to the registries.conf file
    #[arg(
        long = "registries-conf",
        global = true,
        value_name = "string",
        hide = true
    )]
    registries_conf: Option<String>,
    /// directory used to store temporary files
    #[arg(long, global = true, value_name = "string")]
    tmpdir: Option<String>,
    /// timeout for the command execution
    #[arg(long, global = true, value_name = "duration")]
    command_timeout: Option<String>,
    /// Version for Skopeo
    #[arg(short = 'v', long)]
    version: bool,
    /// Require HTTPS and verify certificates when accessing the registry (deprecated: before
    /// the command, the default of the command's own `--tls-verify`)
    #[arg(id = "global-tls-verify", long = "tls-verify", value_name = "bool", num_args = 0..=1,
          default_missing_value = "true", require_equals = true, hide = true)]
    tls_verify: Option<bool>,
}

impl GlobalOptions {
    /// The platform to pick from manifest lists: the host's, with any overrides.
    pub fn platform_choice(&self) -> PlatformChoice {
        PlatformChoice {
            host_os: std::env::consts::OS.to_owned(),
            host_arch: go_arch(std::env::consts::ARCH).to_owned(),
            host_variant: String::new(),
            override_os: self.override_os.clone(),
            override_arch: self.override_arch.clone(),
            override_variant: self.override_variant.clone(),
        }
    }
}

/// The shells `completion` writes a script for (cobra's set).
#[derive(Subcommand)]
enum CompletionShell {
    /// Generate the autocompletion script for bash
    Bash(CompletionArgs),
    /// Generate the autocompletion script for zsh
    Zsh(CompletionArgs),
    /// Generate the autocompletion script for fish
    Fish(CompletionArgs),
    /// Generate the autocompletion script for powershell
    Powershell(CompletionArgs),
}

#[derive(Args)]
struct CompletionArgs {
    /// disable completion descriptions (the scripts written here have none to disable)
    #[arg(long)]
    no_descriptions: bool,
}

/// Writes the completion script for `shell` to standard output.
fn completion(shell: CompletionShell) -> Result<(), String> {
    use clap::CommandFactory;
    use clap_complete::Shell;
    let shell = match shell {
        CompletionShell::Bash(_) => Shell::Bash,
        CompletionShell::Zsh(_) => Shell::Zsh,
        CompletionShell::Fish(_) => Shell::Fish,
        CompletionShell::Powershell(_) => Shell::PowerShell,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "skopeo", &mut script);
    write_stdout(&script)
}

#[derive(Subcommand)]
enum Command {
    /// Copy an IMAGE-NAME from one location to another
    Copy(Box<copy::CopyArgs>),
    /// Delete image IMAGE-NAME
    Delete(delete::DeleteArgs),
    /// Inspect image IMAGE-NAME
    Inspect(inspect::InspectArgs),
    /// List tags in the transport/repository specified by the SOURCE-IMAGE
    ListTags(list_tags::ListTagsArgs),
    /// Login to a container registry
    Login(login::LoginArgs),
    /// Logout of a container registry
    Logout(login::LogoutArgs),
    /// Compute a manifest digest of a file
    ManifestDigest(manifest_digest::ManifestDigestArgs),
    /// Synchronize one or more images from one location to another
    Sync(Box<sync::SyncArgs>),
    /// Create a signature using local files
    StandaloneSign(standalone::StandaloneSignArgs),
    /// Verify a signature using local files
    StandaloneVerify(standalone::StandaloneVerifyArgs),
    /// Generate a sigstore public/private key pair
    GenerateSigstoreKey(standalone::GenerateSigstoreKeyArgs),
    /// Dump contents of a signature WITHOUT VERIFYING IT
    #[command(hide = true)]
    UntrustedSignatureDumpWithoutVerification(standalone::SignatureDumpArgs),
    /// Generate the autocompletion script for the specified shell
    #[command(hide = true, subcommand)]
    Completion(CompletionShell),
    /// Get layers of IMAGE-NAME (deprecated in skopeo)
    #[command(hide = true)]
    Layers(pending_commands::ImageCommandArgs),
    /// Interactive proxy for fetching container images (EXPERIMENTAL)
    #[command(hide = true)]
    ExperimentalImageProxy(pending_commands::ImageCommandArgs),
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => match e.kind() {
            clap::error::ErrorKind::DisplayHelp
            | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            | clap::error::ErrorKind::DisplayVersion => e.exit(),
            _ => {
                let text = e.to_string();
                let first = text.lines().next().unwrap_or("invalid arguments");
                fatal::fatal(first.trim_start_matches("error: "))
            }
        },
    };
    if cli.global.version {
        println!(
            "skopeo version {COMPATIBLE_SKOPEO} (skopeo-rs {})",
            env!("CARGO_PKG_VERSION")
        );
        return;
    }
    if let Some(timeout) = &cli.global.command_timeout {
        let Some(d) = retry::parse_go_duration(timeout) else {
            fatal::fatal(&format!(
                "invalid argument {timeout:?} for \"--command-timeout\" flag: time: invalid duration {timeout:?}"
            ))
        };
        if !d.is_zero() {
            let _ = http::COMMAND_DEADLINE.set(std::time::Instant::now() + d);
        }
    }
    if let Some(dir) = cli.global.tmpdir.as_deref().filter(|d| !d.is_empty()) {
        let _ = archive::SCRATCH_ROOT.set(dir.into());
    }
    if let Some(verify) = cli.global.tls_verify {
        fatal::warn("'--tls-verify' is deprecated, please set this on the specific subcommand");
        let _ = registry::DEPRECATED_GLOBAL_TLS_VERIFY.set(verify);
    }
    let result = match cli.command {
        Some(Command::Copy(args)) => {
            interrupt::install();
            copy::run(&cli.global, *args)
        }
        Some(Command::Delete(args)) => delete::run(&cli.global, args),
        Some(Command::Inspect(args)) => inspect::run(&cli.global, args),
        Some(Command::ListTags(args)) => list_tags::run(&cli.global, args),
        Some(Command::Login(args)) => login::login(&cli.global, args),
        Some(Command::Logout(args)) => login::logout(&cli.global, args),
        Some(Command::ManifestDigest(args)) => manifest_digest::run(args),
        Some(Command::Sync(args)) => sync::run(&cli.global, *args),
        Some(Command::StandaloneSign(args)) => standalone::sign(args),
        Some(Command::StandaloneVerify(args)) => standalone::verify(args),
        Some(Command::GenerateSigstoreKey(args)) => standalone::generate_sigstore_key(args),
        Some(Command::UntrustedSignatureDumpWithoutVerification(args)) => standalone::dump(args),
        Some(Command::Completion(shell)) => completion(shell),
        Some(Command::Layers(_)) => pending_commands::refuse("layers"),
        Some(Command::ExperimentalImageProxy(_)) => {
            pending_commands::refuse("experimental-image-proxy")
        }
        None => {
            use clap::CommandFactory;
            let _ = Cli::command().print_help();
            Ok(())
        }
    };
    if let Err(msg) = result {
        match interrupt::received() {
            Some(signal) => fatal::fatal_with_status(&msg, 128 + signal),
            None => fatal::fatal(&msg),
        }
    }
}

/// Writes command output to standard output; a closed pipe is not an error worth a message.
pub fn write_stdout(bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!("writing to standard output: {e}")),
    }
}

#[cfg(test)]
mod cli_tests {
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
