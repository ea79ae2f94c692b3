//! `skopeo copy SOURCE-IMAGE DESTINATION-IMAGE` between local layouts (`dir:`, `oci:`),
//! through core's copy engine, printing skopeo's progress lines.

use clap::Args;
use skopeo_core::copy::{copy_image, CopyOptions};
use skopeo_core::layout::{dir_dest::DirDestination, oci_dest::OciDestination, open_source};
use skopeo_core::transport::ImageName;
use skopeo_std_effects::fs::NativeFs;
use std::io::Write;

/// Arguments of `copy`.
#[derive(Args)]
pub struct CopyArgs {
    /// Suppress output information when copying images
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Write the digest of the pushed image to the specified file
    #[arg(long, value_name = "PATH")]
    digestfile: Option<String>,
    /// The source and destination
    #[arg(value_name = "IMAGE")]
    images: Vec<String>,
}

/// Where the progress lines go: standard output, as skopeo prints them, unless the image
/// itself is being written there.
fn report_to(dest: &str) -> Box<dyn Fn(&str)> {
    if dest.contains("/dev/stdout") || dest.contains("/proc/self/fd/1") {
        Box::new(|line: &str| eprintln!("{line}"))
    } else {
        Box::new(|line: &str| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        })
    }
}

/// Runs copy.
pub fn run(global: &crate::GlobalOptions, args: CopyArgs) -> Result<(), String> {
    let [src_name, dest_name] = args.images.as_slice() else {
        return Err("Exactly two arguments expected".into());
    };
    let src =
        ImageName::parse(src_name).map_err(|e| format!("Invalid source name {src_name}: {e}"))?;
    let dest = ImageName::parse(dest_name)
        .map_err(|e| format!("Invalid destination name {dest_name}: {e}"))?;
    let opts = CopyOptions {
        platform: global.platform_choice(),
    };
    let quiet = args.quiet;
    let print = report_to(dest_name);
    let report = move |line: &str| {
        if !quiet {
            print(line)
        }
    };
    let fs = NativeFs;
    let digest = pollster::block_on(async {
        let source = open_source(&fs, &src)
            .await
            .map_err(|e| format!("initializing source {src}: {e}"))?;
        let init_dest = |e: skopeo_core::Error| format!("initializing destination {dest}: {e}");
        match &dest {
            ImageName::Dir { path } => {
                let d = DirDestination::new(&fs, path).await.map_err(init_dest)?;
                copy_image(&source, d, &opts, &report).await
            }
            ImageName::Oci { path, image } => {
                let d = OciDestination::new(&fs, path, image)
                    .await
                    .map_err(init_dest)?;
                copy_image(&source, d, &opts, &report).await
            }
            other => {
                return Err(format!(
                    "copying to the {} transport is not supported yet",
                    other.transport()
                ))
            }
        }
        .map_err(|e| e.to_string())
    })?;
    if let Some(path) = &args.digestfile {
        std::fs::write(path, digest.to_string())
            .map_err(|e| format!("Failed to write digest to file {path:?}: {e}"))?;
    }
    Ok(())
}
