//! `docker://` images as an [`ImageSource`], and the repository-level operations skopeo
//! offers on them (tag listing, deletion).

use super::client::RegistryClient;
use crate::digest::Digest;
use crate::effects::{Clock, HttpClient};
use crate::reference::Reference;
use crate::source::ImageSource;
use crate::Result;

/// One image in a registry, read through a [`RegistryClient`].
pub struct DockerSource<'c, 'h, H> {
    client: &'c RegistryClient<'h, H>,
    reference: Reference,
}

impl<'c, 'h, H: HttpClient + Clock> DockerSource<'c, 'h, H> {
    /// The image `reference` (tagged or digested) served by `client`.
    pub fn new(client: &'c RegistryClient<'h, H>, reference: Reference) -> Self {
        DockerSource { client, reference }
    }

    /// The tag or digest the reference names (`latest` when it names neither).
    pub fn tag_or_digest(&self) -> String {
        self.reference
            .digest_str()
            .or(self.reference.tag())
            .unwrap_or("latest")
            .to_owned()
    }
}

impl<H: HttpClient + Clock> ImageSource for DockerSource<'_, '_, H> {
    async fn manifest(&self, instance: Option<&Digest>) -> Result<(Vec<u8>, String)> {
        let wanted = match instance {
            Some(d) => d.to_string(),
            None => self.tag_or_digest(),
        };
        let (bytes, mut mime_type) = self
            .client
            .get_manifest(self.reference.path(), &wanted, &self.reference.name())
            .await?;
        // Registries may send a generic type; trust the content then, as containers/image does.
        if !crate::manifest::mime::ALL_MANIFEST_TYPES.contains(&mime_type.as_str()) {
            mime_type = crate::manifest::guess_mime_type(&bytes).to_owned();
        }
        Ok((bytes, mime_type))
    }

    async fn small_blob(&self, digest: &Digest, _size: Option<u64>) -> Result<Vec<u8>> {
        self.client.get_blob(self.reference.path(), digest).await
    }

    fn docker_reference(&self) -> Option<&Reference> {
        Some(&self.reference)
    }
}

/// The tags of the repository `reference` names; a reference with a tag or digest is refused
/// as skopeo refuses it.
pub async fn list_tags<H: HttpClient + Clock>(
    client: &RegistryClient<'_, H>,
    reference: &Reference,
) -> Result<Vec<String>> {
    client.list_tags(reference.path()).await
}

/// Deletes the image `reference` names (a tag is resolved to its digest first), returning
/// the digest deleted.
pub async fn delete_image<H: HttpClient + Clock>(
    client: &RegistryClient<'_, H>,
    reference: &Reference,
) -> Result<Digest> {
    let tag_or_digest = reference
        .digest_str()
        .or(reference.tag())
        .unwrap_or("latest")
        .to_owned();
    client
        .delete_image(reference.path(), &tag_or_digest, &reference.to_string())
        .await
}
