//! The operations the WASI components offer, with the CLI's output bytes and error wording:
//! manifest-digest, inspect (`docker://`, `dir:`, `oci:`) and list-tags (`docker://`).
//! Registry settings come from the caller (no config files are read inside the sandbox).

use crate::http::WasiHttp;
use skopeo_core::inspect::{self, InspectOptions};
use skopeo_core::layout;
use skopeo_core::manifest::platform::PlatformChoice;
use skopeo_core::registry::source;
use skopeo_core::registry::{
    CredentialFlags, Credentials, RegistryClient, RegistryConfig, USER_AGENT,
};
use skopeo_core::transport::ImageName;
use skopeo_core::{Error, Result};
use skopeo_std_effects::fs::NativeFs;

/// The platform assumed for choosing from multi-platform images when the caller does not
/// override it: a component does not know its runtime's machine.
pub const DEFAULT_OS: &str = "linux";
pub const DEFAULT_ARCH: &str = "amd64";

/// How to reach registries: skopeo's TLS and credential flags.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    pub tls_verify: Option<bool>,
    pub credentials: CredentialFlags,
}

/// A platform choice with the component's defaults and the caller's overrides.
pub fn platform(
    os: Option<String>,
    arch: Option<String>,
    variant: Option<String>,
) -> PlatformChoice {
    PlatformChoice {
        host_os: DEFAULT_OS.into(),
        host_arch: DEFAULT_ARCH.into(),
        host_variant: String::new(),
        override_os: os,
        override_arch: arch,
        override_variant: variant,
    }
}

/// `manifest-digest`'s answer for the bytes of a manifest.
pub fn manifest_digest(bytes: &[u8]) -> Result<String> {
    skopeo_core::manifest::manifest_digest(bytes)
        .map(|d| d.to_string())
        .map_err(|e| Error::Invalid(format!("Error computing digest: {e}")))
}

/// The settings of one registry for a client, from the caller's flags.
pub fn client_config(registry: &str, opts: &RegistryOptions) -> Result<RegistryConfig> {
    let credentials = opts
        .credentials
        .resolve()
        .map_err(Error::Invalid)?
        .unwrap_or(Credentials::Anonymous);
    Ok(RegistryConfig {
        registry: registry.to_owned(),
        insecure: opts.tls_verify == Some(false),
        credentials,
        user_agent: USER_AGENT.into(),
    })
}

/// What `skopeo inspect` prints for `name`; a refused tag list is reported through `warn`.
pub fn inspect(
    name: &str,
    opts: &InspectOptions,
    registry: &RegistryOptions,
    no_tags: bool,
    warn: &dyn Fn(&str),
) -> Result<Vec<u8>> {
    opts.validate()?;
    registry.credentials.resolve().map_err(Error::Invalid)?;
    let wrap = |e: Error| e.context(format!("Error parsing image name {name:?}"));
    let parsed = ImageName::parse(name).map_err(|e| wrap(Error::Invalid(e.to_string())))?;
    pollster::block_on(async {
        match parsed {
            ImageName::Docker { reference, .. } => {
                let config = client_config(reference.domain(), registry).map_err(wrap)?;
                let http = WasiHttp;
                let client = RegistryClient::new(&http, config);
                let (out, refused) = source::open_and_inspect(
                    &client,
                    &reference,
                    opts,
                    no_tags,
                    wrap,
                    &skopeo_core::config_cache::NoConfigCache,
                )
                .await?;
                if refused {
                    warn(source::TAGS_REFUSED_WARNING);
                }
                Ok(out)
            }
            parsed => {
                let src = layout::open_source(&NativeFs, &parsed)
                    .await
                    .map_err(wrap)?;
                inspect::run(&src, opts, async || Ok(Some(Vec::new()))).await
            }
        }
    })
}

/// The tags of the repository a `list-tags` argument names.
pub fn list_tags(name: &str, registry: &RegistryOptions) -> Result<(String, Vec<String>)> {
    registry.credentials.resolve().map_err(Error::Invalid)?;
    if name.starts_with("docker-archive:") {
        return Err(Error::Unsupported(
            "Tag listing of docker-archive files is not available in the component".into(),
        ));
    }
    let reference = source::list_tags_reference(name).map_err(Error::Invalid)?;
    let wrap = |e: Error| e.context("Error listing repository tags");
    let config = client_config(reference.domain(), registry).map_err(wrap)?;
    let http = WasiHttp;
    let client = RegistryClient::new(&http, config);
    let tags = pollster::block_on(source::list_tags(&client, &reference)).map_err(wrap)?;
    Ok((reference.name(), tags))
}
