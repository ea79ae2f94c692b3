//! One image of an unpacked `docker save` archive as a copy source.

use super::{parse_manifest, ManifestItem, MANIFEST_FILE};
use crate::reference::Reference;
use crate::{Error, Result};
use serde::Deserialize;

/// One image of an unpacked `docker save` archive as an image source: the manifest is
/// generated as containers/image generates it (schema 2; layers named by the config's diff
/// IDs with their sizes), and blobs are the archive's config and layer files.
pub struct DockerArchiveSource<'a, F: crate::effects::Filesystem> {
    fs: &'a F,
    manifest: Vec<u8>,
    /// Digest -> file, for the config and every layer.
    files: Vec<(crate::digest::Digest, String)>,
    reference: Option<Reference>,
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
        let config_path = join_path(root, &item.config);
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
        let mut files = vec![(config_digest.clone(), config_path)];
        let mut layers = Vec::new();
        for (path, diff_id) in item.layers.iter().zip(&parsed.rootfs.diff_ids) {
            let digest = Digest::parse(diff_id)
                .map_err(|e| Error::Invalid(format!("invalid diff ID {diff_id}: {e}")))?;
            let full = join_path(root, path);
            let size = uncompressed_size(fs, &full).await?;
            layers.push(Schema2Descriptor {
                media_type: mime::DOCKER_LAYER_GZIP.into(),
                size: size as i64,
                digest: digest.to_string(),
                urls: None,
            });
            files.push((digest, full));
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

    fn file_of(&self, digest: &crate::digest::Digest) -> Result<&str> {
        self.files
            .iter()
            .find(|(d, _)| d == digest)
            .map(|(_, p)| p.as_str())
            .ok_or_else(|| Error::Invalid(format!("Unknown blob {digest}")))
    }
}

/// A layer file's size; compressed layers (which containers/image decompresses) are not
/// supported yet. Only the first bytes are read.
async fn uncompressed_size<F: crate::effects::Filesystem>(fs: &F, path: &str) -> Result<u64> {
    use crate::effects::ByteStream;
    let mut stream = fs.open(path).await?;
    let mut magic = [0u8; 2];
    let mut got = 0;
    while got < magic.len() {
        let n = stream.read(&mut magic[got..]).await?;
        if n == 0 {
            break;
        }
        got += n;
    }
    if got == 2 && magic == [0x1f, 0x8b] {
        return Err(Error::Unsupported(format!(
            "{path}: compressed layers in docker-archive files are not supported yet"
        )));
    }
    Ok(fs.size(path).await?)
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
        crate::source::read_verified(self.fs, self.file_of(digest)?, digest, size).await
    }

    fn docker_reference(&self) -> Option<&Reference> {
        self.reference.as_ref()
    }
}

impl<F: crate::effects::Filesystem> crate::source::BlobSource for DockerArchiveSource<'_, F> {
    type Blob = F::Reader;

    async fn blob(&self, digest: &crate::digest::Digest, _size: Option<u64>) -> Result<F::Reader> {
        Ok(self.fs.open(self.file_of(digest)?).await?)
    }
}
