//! `skopeo inspect IMAGE-NAME`.

use crate::fs::NativeFs;
use crate::GlobalOptions;
use clap::Args;
use skopeo_core::inspect::{self, InspectOptions};
use skopeo_core::layout;
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
    /// number of times to retry
    #[arg(long, value_name = "int", default_value_t = 0)]
    retry_times: u32,
    /// use certificates at the specified path to access the registry
    #[arg(long, value_name = "string")]
    cert_dir: Option<String>,
    /// require HTTPS and verify certificates when talking to the container registry or daemon
    #[arg(long, value_name = "bool", num_args = 0..=1, default_missing_value = "true")]
    tls_verify: Option<bool>,
    /// path of the authentication file
    #[arg(long, value_name = "string")]
    authfile: Option<String>,
    /// Use `USERNAME[:PASSWORD]` for accessing the registry
    #[arg(long, value_name = "USERNAME[:PASSWORD]")]
    creds: Option<String>,
    /// The image name
    #[arg(value_name = "IMAGE-NAME")]
    images: Vec<String>,
}

/// Runs inspect on a local layout, printing what skopeo prints.
pub fn run(global: &GlobalOptions, args: InspectArgs) -> Result<(), String> {
    let [name] = args.images.as_slice() else {
        return Err("Exactly one argument expected".into());
    };
    let opts = InspectOptions {
        raw: args.raw,
        config: args.config,
        format: args.format,
        platform: global.platform_choice(),
    };
    opts.validate().map_err(|e| e.to_string())?;
    let fs = NativeFs;
    let out = pollster::block_on(async {
        let parsed = ImageName::parse(name)
            .map_err(|e| format!("Error parsing image name {name:?}: {e}"))?;
        let src = layout::open_source(&fs, &parsed)
            .await
            .map_err(|e| format!("Error parsing image name {name:?}: {e}"))?;
        inspect::run(&src, &opts, Vec::new())
            .await
            .map_err(|e| e.to_string())
    })?;
    crate::write_stdout(&out)
}
