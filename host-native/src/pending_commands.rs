//! skopeo 1.9.3's commands this build does not run (the hidden `layers` and `experimental-image-proxy`): every flag they take is
//! parsed as skopeo parses it, so scripts fail with a message naming the command instead of
//! an unknown-flag error, and the command stops before doing anything.

use crate::registry::DockerOpts;
use clap::Args;

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

/// The refusal every pending command gives once its flags have parsed.
pub fn refuse(command: &str) -> Result<(), String> {
    Err(format!(
        "skopeo {command} is not implemented in this build yet (its flags are accepted so that scripts fail here, not on parsing)"
    ))
}
