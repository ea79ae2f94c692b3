//! `docker://` as a copy destination: blobs the repository has are skipped, the rest
//! uploaded; the manifest is pushed last, by tag or by digest.

use super::client::RegistryClient;
use super::source::tag_or_digest;
use crate::destination::ImageDestination;
use crate::digest::Digest;
use crate::effects::{ByteStream, Clock, HttpClient};
use crate::reference::Reference;
use crate::Result;

/// One image in a registry, being written.
pub struct DockerDestination<'c, 'h, H> {
    client: &'c RegistryClient<'h, H>,
    reference: Reference,
}

impl<'c, 'h, H: HttpClient + Clock> DockerDestination<'c, 'h, H> {
    /// A destination for `reference` (tagged or digested) served by `client`.
    pub fn new(client: &'c RegistryClient<'h, H>, reference: Reference) -> Self {
        DockerDestination { client, reference }
    }
}

impl<H: HttpClient + Clock> ImageDestination for DockerDestination<'_, '_, H> {
    fn supported_manifest_types(&self) -> &[&'static str] {
        &[]
    }

    async fn has_blob(&self, digest: &Digest) -> Result<bool> {
        self.client.blob_exists(self.reference.path(), digest).await
    }

    async fn put_blob<S: ByteStream>(
        &mut self,
        stream: &mut S,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<()> {
        self.client
            .upload_blob(self.reference.path(), stream, digest, size)
            .await
    }

    async fn put_manifest(
        &mut self,
        manifest: &[u8],
        media_type: &str,
        instance: Option<&Digest>,
    ) -> Result<()> {
        let reference = match instance {
            Some(d) => d.to_string(),
            None => tag_or_digest(&self.reference).to_owned(),
        };
        self.client
            .put_manifest(self.reference.path(), &reference, manifest, media_type)
            .await
    }

    async fn commit(self) -> Result<()> {
        // The registry made each blob and the manifest visible as they were pushed; the
        // manifest went last.
        Ok(())
    }

    async fn abort(self) {
        // Uploaded blobs without a manifest are unreferenced; the registry collects them.
    }
}
