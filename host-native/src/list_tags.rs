//! `skopeo list-tags docker://REPOSITORY`.

use crate::registry::{self, DockerOpts};
use clap::Args;
use skopeo_core::docker_archive;
use skopeo_core::registry::{source, RegistryClient};
use skopeo_core::transport::ImageName;

/// Arguments of `list-tags`.
#[derive(Args)]
pub struct ListTagsArgs {
    #[command(flatten)]
    docker: DockerOpts,
    /// the number of times to possibly retry
    #[arg(long, value_name = "int", default_value_t = 0)]
    retry_times: u32,
    /// The repository
    #[arg(value_name = "SOURCE-IMAGE")]
    images: Vec<String>,
}

/// Runs list-tags; returns what goes to standard output.
pub fn run(global: &crate::GlobalOptions, args: ListTagsArgs) -> Result<(), String> {
    let [name] = args.images.as_slice() else {
        use clap::CommandFactory;
        let mut cmd = crate::Cli::command();
        let _ = cmd.find_subcommand_mut("list-tags").map(|c| c.print_help());
        return Ok(());
    };
    registry::validate(&args.docker)?;
    if name.starts_with("docker-archive:") {
        return print(String::new(), &archive_tags(name)?);
    }
    let reference = source::list_tags_reference(name)?;
    let conf = registry::load_registries_conf(global.registries_conf.as_deref())?;
    let access = registry::access(
        &args.docker,
        &conf,
        reference.domain(),
        &reference.name(),
        None,
    )
    .map_err(|e| format!("Error listing repository tags: {e}"))?;
    let client = RegistryClient::new(&access.http, access.config);
    let tags = crate::retry::if_necessary(args.retry_times, || {
        pollster::block_on(source::list_tags(&client, &reference))
    })
    .map_err(|e| format!("Error listing repository tags: {e}"))?;
    print(reference.name(), &tags)
}

/// The tags of every image in a `docker-archive:` file (`@N` for untagged ones).
fn archive_tags(name: &str) -> Result<Vec<String>, String> {
    let ImageName::DockerArchive { path, .. } =
        ImageName::parse(name).map_err(|e| e.to_string())?
    else {
        unreachable!("the name starts with docker-archive:");
    };
    let manifest = crate::archive::read_component(&path, docker_archive::MANIFEST_FILE)?;
    let items = docker_archive::parse_manifest(&manifest).map_err(|e| e.to_string())?;
    docker_archive::list_tags(&items).map_err(|e| e.to_string())
}

/// Prints skopeo's tag list document.
fn print(repository: String, tags: &[String]) -> Result<(), String> {
    crate::write_stdout(&source::tag_list_document(&repository, tags))
}
