//! `skopeo delete docker://IMAGE`.

use crate::registry::{self, DockerOpts};
use clap::Args;
use skopeo_core::registry::{source, RegistryClient};
use skopeo_core::transport::ImageName;

/// Arguments of `delete`.
#[derive(Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    docker: DockerOpts,
    /// the number of times to possibly retry
    #[arg(long, value_name = "int", default_value_t = 0)]
    retry_times: u32,
    /// DIRECTORY to use to share blobs across OCI repositories (oci: images only, which
    /// delete refuses as skopeo 1.9.3 does)
    #[arg(long, value_name = "DIRECTORY")]
    shared_blob_dir: Option<String>,
    /// use docker daemon host at HOST (docker-daemon: images only, which delete refuses as
    /// skopeo 1.9.3 does)
    #[arg(long, value_name = "HOST")]
    daemon_host: Option<String>,
    /// The image
    #[arg(value_name = "IMAGE-NAME")]
    images: Vec<String>,
}

/// Runs delete: no output on success.
pub fn run(global: &crate::GlobalOptions, args: DeleteArgs) -> Result<(), String> {
    let [name] = args.images.as_slice() else {
        return Err("Usage: delete imageReference".into());
    };
    let parsed = ImageName::parse(name).map_err(|e| format!("Invalid source name {name}: {e}"))?;
    registry::validate(&args.docker)?;
    let ImageName::Docker { reference, .. } = parsed else {
        let transport = name.split(':').next().unwrap_or("");
        return Err(format!(
            "Deleting images not implemented for {transport}: images"
        ));
    };
    let conf = registry::load_registries_conf(global.registries_conf.as_deref())?;
    let access = registry::access(
        &args.docker,
        &conf,
        reference.domain(),
        &reference.name(),
        None,
    )?;
    let client = RegistryClient::new(&access.http, access.config);
    crate::retry::if_necessary(args.retry_times, || {
        pollster::block_on(source::delete_image(&client, &reference))
    })
    .map_err(|e| e.to_string())?;
    Ok(())
}
