//! Whether a destination already holds what a copy of a source image would write, when that
//! is not the source manifest itself: a copy without `--all` writes one platform's image out
//! of a multi-platform source.

use crate::digest::Digest;
use crate::effects::{Clock, HttpClient};
use crate::manifest::platform::{choose_instance, PlatformChoice};
use crate::manifest::Manifest;
use crate::reference::Reference;
use crate::registry::RegistryClient;

/// The digest of the image a single-platform copy takes from the source manifest
/// `source_digest` of `reference`'s repository: its instance for `platform` when it is a
/// list or index, `None` when it is an image (the copy writes it as it is) or cannot be read.
pub async fn chosen_instance<H: HttpClient + Clock>(
    client: &RegistryClient<'_, H>,
    reference: &Reference,
    source_digest: &Digest,
    platform: &PlatformChoice,
) -> Option<Digest> {
    let (bytes, media_type) = client
        .get_manifest(
            reference.path(),
            &source_digest.to_string(),
            &reference.name(),
        )
        .await
        .ok()?;
    match Manifest::parse(&bytes, &media_type).ok()? {
        Manifest::DockerList(list) => choose_instance(&list.manifests, platform, false).ok(),
        Manifest::OciIndex(list) => choose_instance(&list.manifests, platform, true).ok(),
        _ => None,
    }
}
