//! One image of an unpacked `docker save` archive as a copy source.

use super::{parse_manifest, ManifestItem, MANIFEST_FILE};
use crate::compression::{detect, Algorithm, Transcoded};
use crate::effects::{ByteStream, EffectError};
use crate::reference::Reference;
use crate::{Error, Result};
use serde::Deserialize;

/// One image of an unpacked `docker save` archive as an image source: the manifest is
/// generated as containers/image generates it (schema 2; layers named by the config's diff
/// IDs with their uncompressed sizes), and blobs are the archive's config and layer files,
/// a compressed layer file decompressed as it is read (as containers/image does).
pub struct DockerArchiveSource<'a, F: crate::effects::Filesystem> {
    fs: &'a F,
    manifest: Vec<u8>,
    /// Digest -> file and its compression, for the config and every layer.
    files: Vec<(crate::digest::Digest, String, Option<Algorithm>)>,
    reference: Option<Reference>,
}

/// A layer file as its uncompressed tar.
pub enum LayerStream<S> {
    Plain(S),
    Decompressed(Box<Transcoded<S>>),
}

impl<S: ByteStream> ByteStream for LayerStream<S> {
    async fn read(&mut self, buf: &mut [u8]) -> std::result::Result<usize, EffectError> {
        match self {
            LayerStream::Plain(s) => s.read(buf).await,
            LayerStream::Decompressed(s) => s.read(buf).await,
        }
    }

    async fn read_chunk(&mut self) -> std::result::Result<Vec<u8>, EffectError> {
        match self {
            LayerStream::Plain(s) => s.read_chunk().await,
            LayerStream::Decompressed(s) => s.read_chunk().await,
        }
    }

    fn hash_ahead(&mut self, algorithm: crate::digest::Algorithm) -> bool {
        match self {
            LayerStream::Plain(s) => s.hash_ahead(algorithm),
            LayerStream::Decompressed(_) => false,
        }
    }

    fn hashed(&mut self) -> Option<crate::digest::Digester> {
        match self {
            LayerStream::Plain(s) => s.hashed(),
            LayerStream::Decompressed(_) => None,
        }
    }
}

/// The item `reference` (a tag) or `index` (`@N`) names, or the only one.
pub fn choose_item<'m>(
    items: &'m [ManifestItem],
    reference: Option<&Reference>,
    index: Option<usize>,
) -> Result<&'m ManifestItem> {
    match (reference, index) {
        (Some(r), _) => {
            let wanted = r.to_string();
            for (i, item) in items.iter().enumerate() {
                for tag in item.repo_tags.as_deref().unwrap_or_default() {
                    let parsed = Reference::parse_normalized_named(tag).map_err(|e| {
                        Error::Invalid(format!(
                            "Invalid tag {} in manifest.json item @{i}: {e}",
                            crate::gojson::go_quote(tag)
                        ))
                    })?;
                    if parsed.to_string() == wanted {
                        return Ok(item);
                    }
                }
            }
            Err(Error::Invalid(format!(
                "Tag {} not found",
                crate::gojson::go_quote(&wanted)
            )))
        }
        (None, Some(i)) => items.get(i).ok_or_else(|| {
            Error::Invalid(format!(
                "Invalid source index @{i}, only {} manifest items available",
                items.len()
            ))
        }),
        (None, None) if items.len() == 1 => Ok(&items[0]),
        (None, None) => Err(Error::Invalid(format!(
            "Unexpected tar manifest.json: expected 1 item, got {}",
            items.len()
        ))),
    }
}

impl<'a, F: crate::effects::Filesystem> DockerArchiveSource<'a, F> {
    /// Opens the image in the archive unpacked at `root`.
    pub async fn open(
        fs: &'a F,
        root: &str,
        reference: Option<&Reference>,
        index: Option<usize>,
    ) -> Result<Self> {
        use crate::digest::Digest;
        use crate::manifest::document::{self, Schema2Descriptor, Schema2Manifest};
        use crate::manifest::mime;
        use crate::source::join_path;
        let items = parse_manifest(&fs.read_file(&join_path(root, MANIFEST_FILE)).await?)?;
        let item = choose_item(&items, reference, index)?;
        let config_path = join_path(root, &super::paths::member(&item.config)?);
        let config = fs.read_file(&config_path).await?;
        let config_digest = Digest::sha256_of(&config);
        #[derive(Deserialize)]
        struct RootFs {
            #[serde(default)]
            diff_ids: Vec<String>,
        }
        #[derive(Deserialize)]
        struct Config {
            rootfs: RootFs,
        }
        let parsed: Config = serde_json::from_slice(&config)
            .map_err(|e| Error::Invalid(format!("decoding image config {}: {e}", item.config)))?;
        if parsed.rootfs.diff_ids.len() != item.layers.len() {
            return Err(Error::Invalid(format!(
                "Inconsistent layer count: {} in manifest, {} in config",
                item.layers.len(),
                parsed.rootfs.diff_ids.len()
            )));
        }
        let mut files = vec![(config_digest.clone(), config_path, None)];
        let mut layers = Vec::new();
        for (path, diff_id) in item.layers.iter().zip(&parsed.rootfs.diff_ids) {
            let digest = Digest::parse(diff_id)
                .map_err(|e| Error::Invalid(format!("invalid diff ID {diff_id}: {e}")))?;
            let full = join_path(root, &super::paths::member(path)?);
            let (size, compression) = uncompressed_size(fs, &full).await?;
            layers.push(Schema2Descriptor {
                media_type: mime::DOCKER_LAYER_GZIP.into(),
                size: size as i64,
                digest: digest.to_string(),
                urls: None,
            });
            files.push((digest, full, compression));
        }
        let manifest = Schema2Manifest {
            schema_version: 2,
            media_type: mime::DOCKER_V2_SCHEMA2.into(),
            config: Schema2Descriptor {
                media_type: mime::DOCKER_V2_SCHEMA2_CONFIG.into(),
                size: config.len() as i64,
                digest: config_digest.to_string(),
                urls: None,
            },
            layers: Some(layers),
        };
        Ok(DockerArchiveSource {
            fs,
            manifest: document::encode(&manifest),
            files,
            reference: reference.cloned(),
        })
    }

    fn file_of(&self, digest: &crate::digest::Digest) -> Result<(&str, Option<Algorithm>)> {
        self.files
            .iter()
            .find(|(d, _, _)| d == digest)
            .map(|(_, p, c)| (p.as_str(), *c))
            .ok_or_else(|| Error::Invalid(format!("Unknown blob {digest}")))
    }
}

/// A layer file's uncompressed size and compression: a compressed file is decompressed once
/// to count its bytes (containers/image does the same to build the manifest).
async fn uncompressed_size<F: crate::effects::Filesystem>(
    fs: &F,
    path: &str,
) -> Result<(u64, Option<Algorithm>)> {
    let mut stream = fs.open(path).await?;
    let mut head = [0u8; 8];
    let mut got = 0;
    while got < head.len() {
        let n = stream.read(&mut head[got..]).await?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let Some(algorithm) = detect(&head[..got]) else {
        return Ok((fs.size(path).await?, None));
    };
    let failed = |e: Error| e.context(format!("decompressing {path}"));
    let mut plain = Transcoded::decompress(fs.open(path).await?, algorithm).map_err(failed)?;
    let mut size = 0u64;
    loop {
        let chunk = plain
            .read_chunk()
            .await
            .map_err(|e| failed(Error::from(e)))?;
        if chunk.is_empty() {
            return Ok((size, Some(algorithm)));
        }
        size += chunk.len() as u64;
    }
}

impl<F: crate::effects::Filesystem> crate::source::ImageSource for DockerArchiveSource<'_, F> {
    async fn manifest(
        &self,
        instance: Option<&crate::digest::Digest>,
    ) -> Result<(Vec<u8>, String)> {
        match instance {
            None => Ok((
                self.manifest.clone(),
                crate::manifest::mime::DOCKER_V2_SCHEMA2.into(),
            )),
            Some(_) => Err(Error::Invalid(
                "Manifest lists are not supported by \"docker-archive:\"".into(),
            )),
        }
    }

    async fn small_blob(
        &self,
        digest: &crate::digest::Digest,
        size: Option<u64>,
    ) -> Result<Vec<u8>> {
        crate::source::read_verified(self.fs, self.file_of(digest)?.0, digest, size).await
    }

    fn docker_reference(&self) -> Option<&Reference> {
        self.reference.as_ref()
    }
}

impl<F: crate::effects::Filesystem> crate::source::BlobSource for DockerArchiveSource<'_, F> {
    type Blob = LayerStream<F::Reader>;

    async fn blob(
        &self,
        digest: &crate::digest::Digest,
        _size: Option<u64>,
    ) -> Result<LayerStream<F::Reader>> {
        let (path, compression) = self.file_of(digest)?;
        let file = self.fs.open(path).await?;
        Ok(match compression {
            None => LayerStream::Plain(file),
            Some(a) => LayerStream::Decompressed(Box::new(Transcoded::decompress(file, a)?)),
        })
    }
}
