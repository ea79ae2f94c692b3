//! The `skopeo:image` library component (`wit/image.wit`): each export runs the same
//! operation as the command component and returns the CLI's bytes or a typed error.

wit_bindgen::generate!({ path: "../../wit", world: "library" });

use exports::skopeo::image::image::{
    Error as WitError, Guest, InspectOptions as WitInspectOptions, RegistryFailure,
    RegistryOptions as WitRegistryOptions,
};
use skopeo_core::inspect::InspectOptions;
use skopeo_core::registry::CredentialFlags;
use skopeo_core::Error;
use skopeo_wasi::ops::{self, RegistryOptions};

struct Component;

fn to_wit(e: Error) -> WitError {
    match e {
        Error::Invalid(m) => WitError::Invalid(m),
        Error::Verification(m) => WitError::Verification(m),
        Error::Unsupported(m) => WitError::Unsupported(m),
        Error::Registry {
            status, message, ..
        } => WitError::Registry(RegistryFailure { status, message }),
        Error::Effect(e) => WitError::Io(e.message),
        // No operation of this component can be interrupted; reported as I/O if one were.
        Error::Interrupted(m) => WitError::Io(m),
    }
}

fn registry_options(o: WitRegistryOptions) -> RegistryOptions {
    RegistryOptions {
        tls_verify: o.tls_verify,
        credentials: CredentialFlags {
            creds: o.creds,
            registry_token: o.registry_token,
            ..Default::default()
        },
    }
}

impl Guest for Component {
    fn manifest_digest(manifest: Vec<u8>) -> Result<String, WitError> {
        ops::manifest_digest(&manifest).map_err(to_wit)
    }

    fn inspect(image: String, options: WitInspectOptions) -> Result<Vec<u8>, WitError> {
        let opts = InspectOptions {
            raw: options.raw,
            config: options.config,
            format: options.format,
            platform: ops::platform(
                options.platform.os,
                options.platform.architecture,
                options.platform.variant,
            ),
        };
        let registry = registry_options(options.registry);
        ops::inspect(&image, &opts, &registry, options.no_tags, &|_| {}).map_err(to_wit)
    }

    fn list_tags(repository: String, options: WitRegistryOptions) -> Result<Vec<String>, WitError> {
        ops::list_tags(&repository, &registry_options(options))
            .map(|(_, tags)| tags)
            .map_err(to_wit)
    }
}

export!(Component);
