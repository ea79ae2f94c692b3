//! One image of a store read as an image source: its manifest and config from big data, its
//! layers produced again from their files and tar-split metadata, uncompressed, as
//! containers/storage gives them; a copy therefore names the uncompressed layers.

use super::images::{big_data_file_name, find, parse_images};
use super::layers::{chain, layer_files_dir, parse_layers, tar_split_path, StoredLayer};
use super::tar_split::{self, Regenerated};
use super::Store;
use crate::digest::Digest;
use crate::effects::{ByteStream, EffectError, EffectErrorKind, Filesystem};
use crate::manifest::types::Descriptor;
use crate::manifest::Manifest;
use crate::reference::Reference;
use crate::source::{join_path, BlobSource, ImageSource};
use crate::transport::StorageImage;
use crate::{Error, Result};

/// One image of a store.
pub struct StorageSource<'a, F: Filesystem> {
    fs: &'a F,
    store: Store,
    dir: String,
    reference: Option<Reference>,
    manifest: (Vec<u8>, String),
    top_layer: Option<String>,
    metadata: SignatureSizes,
    /// `layers.json`, read when a layer is first needed.
    layers: std::cell::OnceCell<Vec<StoredLayer>>,
    /// Where the layers produced again may be hashed ([`StorageSource::hashing_on`]).
    workers: Option<crate::effects::Workers>,
}

/// Where an image's signatures are in its big data: the sizes of the signatures stored one
/// after another, for the image (key `signatures`) and per manifest digest
/// (`signature-HEX`), as containers/image records them in the image's metadata.
#[derive(Debug, Default, serde::Deserialize)]
struct SignatureSizes {
    #[serde(default, rename = "signature-sizes")]
    image: Vec<usize>,
    #[serde(default, rename = "signatures-sizes")]
    by_digest: std::collections::HashMap<String, Vec<usize>>,
}

/// Reads `path`, or `None` when it does not exist.
async fn read_if_there<F: Filesystem>(fs: &F, path: &str) -> Result<Option<Vec<u8>>> {
    match fs.read_file(path).await {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind == EffectErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

impl<'a, F: Filesystem> StorageSource<'a, F> {
    /// Opens the image `wanted` names in `store`.
    pub async fn open(fs: &'a F, store: &Store, wanted: &StorageImage) -> Result<Self> {
        let images_dir = store.images_dir();
        let listed = match read_if_there(fs, &join_path(&images_dir, "images.json")).await? {
            Some(bytes) => parse_images(&bytes)?,
            None => Vec::new(),
        };
        let Some(image) = find(&listed, wanted) else {
            return Err(Error::Invalid(match (&wanted.reference, &wanted.id) {
                (Some(_), Some(_)) => NAME_AND_ID_DISAGREE.to_owned(),
                _ => format!(
                    "reference \"{}{}\" does not resolve to an image ID: identifier is not an image",
                    store.spec(),
                    shown(wanted)
                ),
            }));
        };
        // A bare hexadecimal name that found the image by its ID names no repository.
        let found_by_id = wanted.reference.as_ref().is_some_and(|r| {
            r.digest_str().is_none() && !image.names.iter().any(|n| *n == r.to_string())
        });
        let reference = match found_by_id {
            true => None,
            false => wanted.reference.clone(),
        };
        let dir = join_path(&images_dir, &image.id);
        // The manifest of the digest asked for, else (an image stored before such keys
        // existed) the image's one manifest.
        let by_digest = match wanted.reference.as_ref().and_then(|r| r.digest_str()) {
            Some(d) => {
                let key = format!("manifest-{d}");
                read_if_there(fs, &join_path(&dir, &big_data_file_name(&key))).await?
            }
            None => None,
        };
        let bytes = match by_digest {
            Some(bytes) => bytes,
            None => fs.read_file(&join_path(&dir, "manifest")).await?,
        };
        let mime = crate::manifest::guess_mime_type(&bytes).to_owned();
        Ok(StorageSource {
            fs,
            store: store.clone(),
            dir,
            reference,
            manifest: (bytes, mime),
            top_layer: image.layer.clone().filter(|l| !l.is_empty()),
            metadata: image
                .metadata
                .as_deref()
                .filter(|m| !m.is_empty())
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| Error::Invalid(format!("metadata of image {}: {e}", image.id)))?
                .unwrap_or_default(),
            layers: std::cell::OnceCell::new(),
            workers: None,
        })
    }

    /// Lets the layers this source produces again be hashed on `workers` (when the copy
    /// verifying them asks), beside their reading.
    pub fn hashing_on(mut self, workers: crate::effects::Workers) -> Self {
        self.workers = Some(workers);
        self
    }

    async fn layers(&self) -> Result<&[StoredLayer]> {
        if let Some(layers) = self.layers.get() {
            return Ok(layers);
        }
        let path = join_path(&super::layers::layers_dir(&self.store), "layers.json");
        let read = match read_if_there(self.fs, &path).await? {
            Some(bytes) => parse_layers(&bytes)?,
            None => Vec::new(),
        };
        Ok(self.layers.get_or_init(|| read))
    }
}

/// The error when a name and an ID were both given and the image with that ID does not
/// carry that name; containers/image logs [`no_match_line`] before it.
pub const NAME_AND_ID_DISAGREE: &str = "identifier is not an image";

/// The error-level line containers/image logs when a name and an ID disagree.
pub fn no_match_line(store: &Store, wanted: &StorageImage) -> String {
    format!(
        "no image matching reference \"{}{}\" found",
        store.spec(),
        shown(wanted)
    )
}

/// `containers-storage:[STORE]NAME` for the image `wanted` names in `store`, as
/// containers/image prints it in messages (the store resolved, the name normalized).
pub fn transport_name(store: &Store, wanted: &StorageImage) -> String {
    format!("containers-storage:{}{}", store.spec(), shown(wanted))
}

/// The name part of a `containers-storage:` reference, as containers/image prints it.
fn shown(wanted: &StorageImage) -> String {
    match (&wanted.reference, &wanted.id) {
        (Some(r), Some(id)) => format!("{r}@{id}"),
        (Some(r), None) => r.to_string(),
        (None, Some(id)) => format!("@{id}"),
        (None, None) => String::new(),
    }
}

impl<F: Filesystem> ImageSource for StorageSource<'_, F> {
    async fn manifest(&self, instance: Option<&Digest>) -> Result<(Vec<u8>, String)> {
        match instance {
            None => Ok(self.manifest.clone()),
            Some(d) => {
                let key = format!("manifest-{d}");
                let bytes = self
                    .fs
                    .read_file(&join_path(&self.dir, &big_data_file_name(&key)))
                    .await
                    .map_err(|e| {
                        Error::from(e).context(format!("reading manifest for image instance {d}"))
                    })?;
                let mime = crate::manifest::guess_mime_type(&bytes).to_owned();
                Ok((bytes, mime))
            }
        }
    }

    async fn small_blob(&self, digest: &Digest, size: Option<u64>) -> Result<Vec<u8>> {
        let path = join_path(&self.dir, &big_data_file_name(&digest.to_string()));
        crate::source::read_verified(self.fs, &path, digest, size).await
    }

    fn docker_reference(&self) -> Option<&Reference> {
        self.reference.as_ref()
    }

    async fn signatures(
        &self,
        instance: Option<&Digest>,
    ) -> Result<Vec<crate::signature::Signature>> {
        let (sizes, key, shown): (&[usize], _, _) = match instance {
            None => (
                &self.metadata.image,
                "signatures".to_owned(),
                "default instance".to_owned(),
            ),
            Some(d) => (
                self.metadata
                    .by_digest
                    .get(&d.to_string())
                    .map_or(&[], Vec::as_slice),
                format!("signature-{}", d.hex()),
                d.hex().to_owned(),
            ),
        };
        if sizes.is_empty() {
            return Ok(Vec::new());
        }
        let blobs = self
            .fs
            .read_file(&join_path(&self.dir, &big_data_file_name(&key)))
            .await
            .map_err(|e| {
                Error::from(e).context(format!("looking up signatures data for image ({shown})"))
            })?;
        let mut offset = 0;
        let mut signatures = Vec::new();
        for &size in sizes {
            let blob = blobs.get(offset..offset + size).ok_or_else(|| {
                Error::Invalid(format!(
                    "looking up signatures data for image ({shown}): expected at least {} bytes, only found {}",
                    offset + size,
                    blobs.len()
                ))
            })?;
            let signature = crate::signature::Signature::from_blob(blob).map_err(|e| {
                Error::Invalid(format!("parsing signature at ({offset}, {size}): {e}"))
            })?;
            signatures.push(signature);
            offset += size;
        }
        if offset != blobs.len() {
            return Err(Error::Invalid(format!(
                "signatures data ({shown}) contained {} extra bytes",
                blobs.len() - offset
            )));
        }
        Ok(signatures)
    }

    async fn layers_for_copy(&self, instance: Option<&Digest>) -> Result<Option<Vec<Descriptor>>> {
        let (bytes, media_type) = self.manifest(instance).await?;
        let manifest = Manifest::parse(&bytes, &media_type)
            .map_err(|e| Error::Invalid(format!("parsing image manifest: {e}")))?;
        let named = match &manifest {
            Manifest::Schema2(m) | Manifest::Oci(m) => &m.layers,
            _ => return Ok(None),
        };
        let layers = self.layers().await?;
        let physical = match &self.top_layer {
            Some(top) => chain(layers, top)?,
            None => Vec::new(),
        };
        if named.len() != physical.len() {
            return Err(Error::Invalid(format!(
                "the manifest names {} layers, the store holds {} for the image",
                named.len(),
                physical.len()
            )));
        }
        named
            .iter()
            .zip(physical)
            .map(|(named, stored)| {
                let (Some(digest), Some(size)) =
                    (&stored.uncompressed_digest, stored.uncompressed_size)
                else {
                    return Err(Error::Invalid(format!(
                        "uncompressed digest or size for layer {:?} is unknown",
                        stored.id
                    )));
                };
                // As containers/image does, the media type stays the manifest's, even where it
                // names a compression the stored layer no longer has.
                Ok(Descriptor {
                    media_type: named.media_type.clone(),
                    digest: Digest::parse(digest)
                        .map_err(|e| Error::Invalid(format!("layer {:?}: {e}", stored.id)))?,
                    size,
                    urls: None,
                    annotations: None,
                    platform: None,
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }
}

/// A blob of a store: a big-data file, or a layer produced again.
pub enum StorageBlob<'a, F: Filesystem> {
    File(F::Reader),
    Layer(Box<Regenerated<'a, F>>),
}

impl<F: Filesystem> ByteStream for StorageBlob<'_, F> {
    async fn read(&mut self, buf: &mut [u8]) -> std::result::Result<usize, EffectError> {
        match self {
            StorageBlob::File(f) => f.read(buf).await,
            StorageBlob::Layer(l) => l.read(buf).await,
        }
    }

    fn hash_ahead(&mut self, algorithm: crate::digest::Algorithm) -> bool {
        match self {
            StorageBlob::File(f) => f.hash_ahead(algorithm),
            StorageBlob::Layer(l) => l.hash_ahead(algorithm),
        }
    }

    fn hashed(&mut self) -> Option<crate::digest::Digester> {
        match self {
            StorageBlob::File(f) => f.hashed(),
            StorageBlob::Layer(l) => l.hashed(),
        }
    }
}

impl<'a, F: Filesystem> BlobSource for StorageSource<'a, F> {
    type Blob = StorageBlob<'a, F>;

    async fn blob(&self, digest: &Digest, _size: Option<u64>) -> Result<StorageBlob<'a, F>> {
        let wanted = digest.to_string();
        let layers = self.layers().await?;
        let Some(layer) = layers
            .iter()
            .find(|l| l.uncompressed_digest.as_deref() == Some(&wanted))
        else {
            // Not a layer: a big-data item of the image (its config).
            let path = join_path(&self.dir, &big_data_file_name(&wanted));
            return Ok(StorageBlob::File(self.fs.open(&path).await?));
        };
        let root = layer_files_dir(&self.store, &layer.id)?;
        let gzipped = self
            .fs
            .read_file(&tar_split_path(&self.store, &layer.id))
            .await
            .map_err(|e| {
                Error::from(e).context(format!("reading tar-split metadata of layer {}", layer.id))
            })?;
        let metadata = tar_split::decompress(&gzipped)?;
        let layer = Regenerated::new(self.fs, root, metadata).hashing_on(self.workers.clone());
        Ok(StorageBlob::Layer(Box::new(layer)))
    }
}
