//! The transports `copy` can read and write, as one source type and one destination type, so
//! the core's generic engine is instantiated once for every pair.

use crate::http::NativeHttp;
use crate::lookaside::Lookaside;
use skopeo_core::containers_storage::{StorageBlob, StorageDestination, StorageSource};
use skopeo_core::destination::{ImageDestination, LayerCompression, StoredBlob};
use skopeo_core::digest::Digest;
use skopeo_core::docker_archive::{DockerArchiveDestination, DockerArchiveSource};
use skopeo_core::effects::{ByteStream, EffectError};
use skopeo_core::layout::{dir_dest::DirDestination, oci_dest::OciDestination, LocalSource};
use skopeo_core::manifest::manifest_digest;
use skopeo_core::reference::Reference;
use skopeo_core::registry::attachments;
use skopeo_core::registry::destination::DockerDestination;
use skopeo_core::registry::resume::ResumingBlob;
use skopeo_core::registry::source::DockerSource;
use skopeo_core::signature::Signature;
use skopeo_core::source::{BlobSource, ImageSource};
use skopeo_core::trust::sigstore::SigstoreSignature;
use skopeo_core::Result;
use skopeo_std_effects::fs::{FileStream, NativeFs};

/// Any image source.
pub enum Source<'a> {
    Local(LocalSource<'a, NativeFs>),
    DockerArchive(Box<DockerArchiveSource<'a, NativeFs>>),
    /// With where its signatures are kept (none: the signatures are not wanted).
    Docker(Box<DockerSource<'a, 'a, NativeHttp>>, Option<Lookaside>),
    Storage(Box<StorageSource<'a, NativeFs>>),
}

/// A blob from any source.
pub enum Blob<'a> {
    File(FileStream),
    ArchiveLayer(skopeo_core::docker_archive::LayerStream<FileStream>),
    Http(Box<ResumingBlob<'a, 'a, NativeHttp>>),
    Storage(StorageBlob<'a, NativeFs>),
}

impl ByteStream for Blob<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> std::result::Result<usize, EffectError> {
        match self {
            Blob::File(f) => f.read(buf).await,
            Blob::ArchiveLayer(l) => l.read(buf).await,
            Blob::Http(h) => h.read(buf).await,
            Blob::Storage(l) => l.read(buf).await,
        }
    }

    async fn read_chunk(&mut self) -> std::result::Result<Vec<u8>, EffectError> {
        match self {
            Blob::File(f) => f.read_chunk().await,
            Blob::ArchiveLayer(l) => l.read_chunk().await,
            Blob::Http(h) => h.read_chunk().await,
            Blob::Storage(l) => l.read_chunk().await,
        }
    }

    fn hash_ahead(&mut self, algorithm: skopeo_core::digest::Algorithm) -> bool {
        match self {
            Blob::File(f) => f.hash_ahead(algorithm),
            Blob::ArchiveLayer(l) => l.hash_ahead(algorithm),
            Blob::Http(h) => h.hash_ahead(algorithm),
            Blob::Storage(l) => l.hash_ahead(algorithm),
        }
    }

    fn hashed(&mut self) -> Option<skopeo_core::digest::Digester> {
        match self {
            Blob::File(f) => f.hashed(),
            Blob::ArchiveLayer(l) => l.hashed(),
            Blob::Http(h) => h.hashed(),
            Blob::Storage(l) => l.hashed(),
        }
    }
}

impl ImageSource for Source<'_> {
    async fn manifest(&self, instance: Option<&Digest>) -> Result<(Vec<u8>, String)> {
        match self {
            Source::Local(s) => s.manifest(instance).await,
            Source::DockerArchive(s) => s.manifest(instance).await,
            Source::Docker(s, _) => s.manifest(instance).await,
            Source::Storage(s) => s.manifest(instance).await,
        }
    }

    async fn small_blob(&self, digest: &Digest, size: Option<u64>) -> Result<Vec<u8>> {
        match self {
            Source::Local(s) => s.small_blob(digest, size).await,
            Source::DockerArchive(s) => s.small_blob(digest, size).await,
            Source::Docker(s, _) => s.small_blob(digest, size).await,
            Source::Storage(s) => s.small_blob(digest, size).await,
        }
    }

    fn docker_reference(&self) -> Option<&Reference> {
        match self {
            Source::Local(s) => s.docker_reference(),
            Source::DockerArchive(s) => s.docker_reference(),
            Source::Docker(s, _) => s.docker_reference(),
            Source::Storage(s) => s.docker_reference(),
        }
    }

    async fn signatures(
        &self,
        instance: Option<&Digest>,
    ) -> Result<Vec<skopeo_core::signature::Signature>> {
        match self {
            Source::Local(s) => s.signatures(instance).await,
            Source::DockerArchive(s) => s.signatures(instance).await,
            Source::Storage(s) => s.signatures(instance).await,
            Source::Docker(s, Some(lookaside)) => {
                let digest = match instance {
                    Some(d) => d.clone(),
                    None => manifest_digest(&s.manifest(None).await?.0)
                        .map_err(|e| skopeo_core::Error::Invalid(e.to_string()))?,
                };
                let mut signatures = lookaside.read(&digest).await?;
                if lookaside.sigstore_attachments {
                    let repository = s.physical_reference().path();
                    signatures.extend(
                        attachments::read_signatures(s.client(), repository, &digest).await?,
                    );
                }
                Ok(signatures)
            }
            Source::Docker(s, None) => s.signatures(instance).await,
        }
    }

    async fn layers_for_copy(
        &self,
        instance: Option<&Digest>,
    ) -> Result<Option<Vec<skopeo_core::manifest::Descriptor>>> {
        match self {
            Source::Storage(s) => s.layers_for_copy(instance).await,
            _ => Ok(None),
        }
    }
}

impl<'a> BlobSource for Source<'a> {
    type Blob = Blob<'a>;

    async fn blob(&self, digest: &Digest, size: Option<u64>) -> Result<Blob<'a>> {
        Ok(match self {
            Source::Local(s) => Blob::File(s.blob(digest, size).await?),
            Source::DockerArchive(s) => Blob::ArchiveLayer(s.blob(digest, size).await?),
            Source::Docker(s, _) => Blob::Http(Box::new(s.blob(digest, size).await?)),
            Source::Storage(s) => Blob::Storage(s.blob(digest, size).await?),
        })
    }
}

/// Any image destination.
pub enum Destination<'a> {
    Dir(DirDestination<'a, NativeFs>),
    Oci(Box<OciDestination<'a, NativeFs>>),
    /// With where signatures are stored.
    Docker(DockerDestination<'a, 'a, NativeHttp>, Lookaside),
    DockerArchive(DockerArchiveDestination<'a, NativeFs, crate::archive_writer::ArchiveWriter>),
    Storage(Box<StorageDestination<'a, crate::store_fs::StoreFs>>),
}

/// Runs `$body` with `$d` bound to whichever destination `$self` holds.
macro_rules! each_destination {
    ($self:expr, $d:ident => $body:expr) => {
        match $self {
            Destination::Dir($d) => $body,
            Destination::Oci($d) => $body,
            Destination::Docker($d, _) => $body,
            Destination::DockerArchive($d) => $body,
            Destination::Storage($d) => $body,
        }
    };
}

impl ImageDestination for Destination<'_> {
    fn transport_name(&self) -> &'static str {
        each_destination!(self, d => d.transport_name())
    }

    fn supported_manifest_types(&self) -> &[&'static str] {
        each_destination!(self, d => d.supported_manifest_types())
    }

    fn desired_layer_compression(&self) -> LayerCompression {
        each_destination!(self, d => d.desired_layer_compression())
    }

    async fn has_blob(&self, digest: &Digest) -> Result<bool> {
        each_destination!(self, d => d.has_blob(digest).await)
    }

    async fn put_blob<S: ByteStream>(
        &self,
        stream: &mut S,
        digest: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<StoredBlob> {
        each_destination!(self, d => d.put_blob(stream, digest, size).await)
    }

    async fn put_layer<S: ByteStream>(
        &self,
        key: &Digest,
        stream: &mut S,
        digest: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<StoredBlob> {
        each_destination!(self, d => d.put_layer(key, stream, digest, size).await)
    }

    fn resumes_layer(&self, key: &Digest) -> bool {
        each_destination!(self, d => d.resumes_layer(key))
    }

    async fn put_config<S: ByteStream>(
        &self,
        stream: &mut S,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<StoredBlob> {
        each_destination!(self, d => d.put_config(stream, digest, size).await)
    }

    fn one_blob_at_a_time(&self) -> bool {
        each_destination!(self, d => d.one_blob_at_a_time())
    }

    fn plan_layers(&self, layers: &[Digest]) {
        each_destination!(self, d => d.plan_layers(layers))
    }

    async fn put_manifest(
        &mut self,
        manifest: &[u8],
        media_type: &str,
        instance: Option<&Digest>,
    ) -> Result<()> {
        each_destination!(self, d => d.put_manifest(manifest, media_type, instance).await)
    }

    fn supports_signatures(&self) -> Result<()> {
        match self {
            Destination::Docker(_, lookaside) => lookaside.check_writable(),
            _ => each_destination!(self, d => d.supports_signatures()),
        }
    }

    async fn put_signatures(
        &mut self,
        signatures: &[skopeo_core::signature::Signature],
        instance: Option<&Digest>,
    ) -> Result<()> {
        match self {
            // The engine asked `supports_signatures` before (only with signatures to store).
            Destination::Docker(d, lookaside) => {
                let digest = instance.or(d.pushed_manifest()).ok_or_else(|| {
                    skopeo_core::Error::Invalid(
                        "Unknown manifest digest, can't add signatures".into(),
                    )
                })?;
                let (sigstore, simple): (Vec<_>, Vec<_>) = signatures
                    .iter()
                    .cloned()
                    .partition(|s| matches!(s, Signature::Sigstore(_)));
                if !sigstore.is_empty() && lookaside.sigstore_attachments {
                    let parsed = sigstore
                        .iter()
                        .map(|s| match s {
                            Signature::Sigstore(json) => SigstoreSignature::from_json(json)
                                .map_err(skopeo_core::Error::Invalid),
                            Signature::SimpleSigning(_) => unreachable!("partitioned"),
                        })
                        .collect::<Result<Vec<_>>>()?;
                    let digest = digest.clone();
                    let repository = d.reference().path().to_owned();
                    attachments::write_signatures(d.client(), &repository, &digest, &parsed)
                        .await?;
                    return lookaside.write(&digest, &simple).await;
                }
                lookaside.write(digest, signatures).await
            }
            _ => each_destination!(self, d => d.put_signatures(signatures, instance).await),
        }
    }

    async fn commit(self) -> Result<()> {
        each_destination!(self, d => d.commit().await)
    }

    async fn abort(self) {
        each_destination!(self, d => d.abort().await)
    }
}
