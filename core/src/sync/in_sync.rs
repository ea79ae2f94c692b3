//! Whether a destination already holds what a copy of a source image would write: the
//! manifest digests each side reports (a registry's HEAD, an OCI layout's index), compared,
//! and for a copy without `--all` the platform's image a multi-platform source gives.

use crate::digest::Digest;
use crate::effects::{Clock, HttpClient};
use crate::layout::oci_dest::REF_NAME;
use crate::manifest::document::OciIndex;
use crate::manifest::platform::{choose_instance, PlatformChoice};
use crate::manifest::Manifest;
use crate::reference::Reference;
use crate::registry::RegistryClient;

/// Registries that refuse to list tags answer with one of these (skopeo then warns and goes
/// on with no tags).
pub fn refuses_listing(error: &str) -> bool {
    ["invalid username/password", "401", "403", "unauthorized"]
        .iter()
        .any(|s| error.contains(s))
}

/// The manifest digest a registry reports for `image` (by tag or digest), from a HEAD
/// request; `None` when it has no such manifest or does not say.
pub async fn registry_digest<H: HttpClient + Clock>(
    client: &RegistryClient<'_, H>,
    image: &Reference,
) -> Option<Digest> {
    let reference = image.tag().or(image.digest_str())?;
    client
        .manifest_digest(image.path(), reference)
        .await
        .ok()
        .flatten()
}

/// The digest of the manifest an OCI layout's `index` names `tag`, or (untagged) `untagged`
/// itself when the index lists it.
pub fn layout_digest(index: &[u8], tag: Option<&str>, untagged: Option<&Digest>) -> Option<Digest> {
    let index: OciIndex = crate::manifest::document::decode(index).ok()?;
    index
        .manifests
        .iter()
        .find(|d| match tag {
            Some(tag) => d
                .annotations
                .as_ref()
                .and_then(|a| a.get(REF_NAME))
                .is_some_and(|n| n == tag),
            None => untagged.is_some_and(|u| d.digest == u.to_string()),
        })
        .and_then(|d| d.digest.parse().ok())
}

/// Whether the destination's `dest_digest` is what a copy of the source manifest
/// `source_digest` writes: the same manifest, or, copying one `platform`'s image (no
/// `--all`) out of a registry list or index (`source`, read through `client`), that instance.
pub async fn same_image<H: HttpClient + Clock>(
    source_digest: Option<&Digest>,
    dest_digest: Option<&Digest>,
    source: Option<(&RegistryClient<'_, H>, &Reference)>,
    platform: Option<&PlatformChoice>,
) -> bool {
    let (Some(source_digest), Some(dest_digest)) = (source_digest, dest_digest) else {
        return false;
    };
    if source_digest == dest_digest {
        return true;
    }
    match (source, platform) {
        (Some((client, reference)), Some(platform)) => {
            chosen_instance(client, reference, source_digest, platform)
                .await
                .as_ref()
                == Some(dest_digest)
        }
        _ => false,
    }
}

/// The digest of the image a single-platform copy takes from the source manifest
/// `source_digest` of `reference`'s repository: its instance for `platform` when it is a
/// list or index, `None` when it is an image (the copy writes it as it is) or cannot be read.
async fn chosen_instance<H: HttpClient + Clock>(
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
