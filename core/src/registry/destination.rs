//! `docker://` as a copy destination: blobs the repository has are skipped, the rest
//! uploaded; the manifest is pushed last, by tag or by digest.

use super::client::RegistryClient;
use super::source::tag_or_digest;
use super::upload::UploadSession;
use crate::destination::{ImageDestination, LayerCompression, StoredBlob};
use crate::digest::Digest;
use crate::effects::{ByteStream, Clock, HttpClient};
use crate::manifest::mime;
use crate::reference::Reference;
use crate::Result;

/// One image in a registry, being written.
pub struct DockerDestination<'c, 'h, H> {
    client: &'c RegistryClient<'h, H>,
    reference: Reference,
    /// A repository on the same registry that has the blobs (the copy's source): missing
    /// blobs are mounted from it instead of uploaded.
    mount_from: Option<String>,
    /// The digest of the top-level manifest pushed, once it is.
    pushed: Option<Digest>,
    /// Uploads cut part-way, by the copy's layer key, for the copy's next attempt; `true`
    /// until the copy asks ([`ImageDestination::resumes_layer`] answers once per cut).
    interrupted: std::cell::RefCell<std::collections::HashMap<Digest, (UploadSession, bool)>>,
}

impl<'c, 'h, H: HttpClient + Clock> DockerDestination<'c, 'h, H> {
    /// A destination for `reference` (tagged or digested) served by `client`. `source` is
    /// the copy's source when it is a registry image: on the same registry, blobs are
    /// mounted from it.
    pub fn new(
        client: &'c RegistryClient<'h, H>,
        reference: Reference,
        source: Option<&Reference>,
    ) -> Self {
        let mount_from = source
            .filter(|s| s.domain() == reference.domain() && s.path() != reference.path())
            .map(|s| s.path().to_owned());
        DockerDestination {
            client,
            reference,
            mount_from,
            pushed: None,
            interrupted: Default::default(),
        }
    }

    /// The client the image is written through.
    pub fn client(&self) -> &'c RegistryClient<'h, H> {
        self.client
    }

    /// The image being written.
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// The digest of the top-level manifest, once pushed (what its signatures are filed
    /// under in lookaside storage).
    pub fn pushed_manifest(&self) -> Option<&Digest> {
        self.pushed.as_ref()
    }
}

impl<H: HttpClient + Clock> ImageDestination for DockerDestination<'_, '_, H> {
    fn transport_name(&self) -> &'static str {
        "docker"
    }

    fn supported_manifest_types(&self) -> &[&'static str] {
        &[
            mime::OCI_MANIFEST,
            mime::DOCKER_V2_SCHEMA2,
            mime::OCI_INDEX,
            mime::DOCKER_V2_LIST,
            mime::DOCKER_V2_SCHEMA1_SIGNED,
            mime::DOCKER_V2_SCHEMA1,
        ]
    }

    fn desired_layer_compression(&self) -> LayerCompression {
        LayerCompression::Compress
    }

    async fn has_blob(&self, digest: &Digest) -> Result<bool> {
        if self
            .client
            .blob_exists(self.reference.path(), digest)
            .await?
        {
            return Ok(true);
        }
        match &self.mount_from {
            Some(from) => {
                self.client
                    .mount_blob(self.reference.path(), digest, from)
                    .await
            }
            None => Ok(false),
        }
    }

    async fn put_blob<S: ByteStream>(
        &self,
        stream: &mut S,
        digest: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<StoredBlob> {
        self.client
            .upload_blob(self.reference.path(), stream, digest, size)
            .await
    }

    async fn put_layer<S: ByteStream>(
        &self,
        key: &Digest,
        stream: &mut S,
        digest: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<StoredBlob> {
        let taken = self.interrupted.borrow_mut().remove(key);
        let mut session = taken.map(|(s, _)| s).unwrap_or_default();
        let result = self
            .client
            .upload_blob_resuming(self.reference.path(), stream, digest, size, &mut session)
            .await;
        if result.is_err() && session.resumable() {
            self.interrupted
                .borrow_mut()
                .insert(key.clone(), (session, true));
        }
        result
    }

    fn resumes_layer(&self, key: &Digest) -> bool {
        match self.interrupted.borrow_mut().get_mut(key) {
            Some((_, unasked)) => std::mem::take(unasked),
            None => false,
        }
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
            .map_err(|e| {
                e.context(format!(
                    "uploading manifest {reference} to {}",
                    self.reference.name()
                ))
            })?;
        if instance.is_none() {
            self.pushed =
                Some(crate::manifest::manifest_digest(manifest).map_err(|e| {
                    crate::Error::Invalid(format!("computing manifest digest: {e}"))
                })?);
        }
        Ok(())
    }

    /// Signatures go to lookaside storage, which the host handles (see `registry::lookaside`).
    fn supports_signatures(&self) -> Result<()> {
        Err(crate::Error::Unsupported(
            "storing signatures of registry images needs lookaside storage, which this host does not provide".into(),
        ))
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
