//! skopeo 1.9.3's commands this build does not run yet (`sync`, the standalone signature
//! commands, and the hidden `layers` and `experimental-image-proxy`): every flag they take is
//! parsed as skopeo parses it, so scripts fail with a message naming the command instead of
//! an unknown-flag error, and the command stops before doing anything.

use crate::copy::{DestinationFlags, SourceFlags};
use crate::registry::DockerOpts;
use clap::Args;

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
    /// Copy all images if SOURCE-IMAGE is a list
    #[arg(short = 'a', long)]
    all: bool,
    /// Run without actually copying data
    #[arg(long)]
    dry_run: bool,
    /// Preserve digests of images and lists
    #[arg(long)]
    preserve_digests: bool,
    /// Do not abort the sync if any image copy fails
    #[arg(long)]
    keep_going: bool,
    /// the number of times to possibly retry
    #[arg(long, value_name = "int", default_value_t = 0)]
    retry_times: u32,
    /// SOURCE DESTINATION
    #[arg(value_name = "ARG")]
    args: Vec<String>,
}

/// Arguments of `standalone-sign`.
#[derive(Args, Debug)]
pub struct StandaloneSignArgs {
    /// output the signature to SIGNATURE
    #[arg(short = 'o', long, value_name = "SIGNATURE")]
    output: Option<String>,
    /// file that contains a passphrase for the --sign-by key
    #[arg(long, value_name = "string")]
    passphrase_file: Option<String>,
    /// MANIFEST DOCKER-REFERENCE KEY-FINGERPRINT
    #[arg(value_name = "ARG")]
    args: Vec<String>,
}

/// Arguments of the commands that take positional arguments only.
#[derive(Args, Debug)]
pub struct PositionalArgs {
    #[arg(value_name = "ARG")]
    args: Vec<String>,
}

/// Arguments of the hidden `layers` (deprecated) and `experimental-image-proxy`.
#[derive(Args, Debug)]
pub struct ImageCommandArgs {
    #[command(flatten)]
    docker: DockerOpts,
    /// DIRECTORY to use to share blobs across OCI repositories
    #[arg(long, value_name = "DIRECTORY")]
    shared_blob_dir: Option<String>,
    /// use docker daemon host at HOST (docker-daemon: only)
    #[arg(long, value_name = "HOST")]
    daemon_host: Option<String>,
    /// the number of times to possibly retry (layers)
    #[arg(long, value_name = "int", default_value_t = 0)]
    retry_times: u32,
    /// Serve on opened socket pair (default 0/stdin) (experimental-image-proxy)
    #[arg(long, value_name = "int")]
    sockfd: Option<i32>,
    #[arg(value_name = "ARG")]
    args: Vec<String>,
}

/// Whether a sync command line uses the deprecated unprefixed `--tls-verify`.
pub fn sync_uses_deprecated_tls_verify(args: &SyncArgs) -> bool {
    args.tls_verify.is_some()
}

/// The refusal every pending command gives once its flags have parsed.
pub fn refuse(command: &str) -> Result<(), String> {
    Err(format!(
        "skopeo {command} is not implemented in this build yet (its flags are accepted so that scripts fail here, not on parsing)"
    ))
}
