//! `docker-archive:` as a copy destination: a `docker save` archive written through the
//! host's [`ArchiveWrite`]. Layers are stored uncompressed as `HEX.tar`, streamed straight
//! into the archive one after another when it can take them (else, into a pipe, each staged
//! in a directory and added as soon as it is whole), the config as `HEX.json`; then the legacy per-layer
//! directories (`ID/VERSION`, `ID/json`, `ID/layer.tar` linking to the layer),
//! `manifest.json` and `repositories` are written as containers/image writes them, with the
//! destination's tag and any `--additional-tag`s.

use crate::convert::image::decode_schema2;
use crate::destination::{
    copy_verified, write_then_name, ImageDestination, LayerCompression, StoredBlob,
};
use crate::digest::Digest;
use crate::effects::{ArchiveWrite, ByteStream, FilesystemWrite};
use crate::manifest::mime;
use crate::reference::Reference;
use crate::source::join_path;
use crate::{Error, Result};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};

/// Config attributes copied into the last legacy layer's `json`.
const LEGACY_ATTRIBUTES: [&str; 7] = [
    "architecture",
    "config",
    "container",
    "container_config",
    "created",
    "docker_version",
    "os",
];

/// One image in `manifest.json`, fields in the order docker and containers/image write them.
#[derive(serde::Serialize)]
struct ArchiveItem {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags")]
    repo_tags: Vec<String>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// Where a stored layer is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stored {
    /// Already in the archive as `HEX.tar`.
    InArchive,
    /// Staged at this path, to be added when the manifest is written.
    Staged(String),
}

/// Writes one image as a docker archive.
pub struct DockerArchiveDestination<'a, F: FilesystemWrite, A: ArchiveWrite> {
    fs: &'a F,
    archive: A,
    /// The (empty) directory layers the archive cannot take at once are staged in.
    staging: String,
    /// The tagged names the image is saved under.
    repo_tags: Vec<Reference>,
    layers: RefCell<HashMap<Digest, Stored>>,
    config: RefCell<Option<(Digest, Vec<u8>)>>,
    temps: Cell<u32>,
    written: bool,
}

impl<'a, F: FilesystemWrite, A: ArchiveWrite> DockerArchiveDestination<'a, F, A> {
    /// Writes into `archive` an image saved as `repo_tags` (each must carry a tag), staging
    /// in the empty directory `staging` what cannot be streamed.
    pub fn new(fs: &'a F, archive: A, staging: &str, repo_tags: Vec<Reference>) -> Result<Self> {
        if let Some(r) = repo_tags.iter().find(|r| r.tag().is_none()) {
            return Err(Error::Invalid(format!(
                "Invalid destination reference {r}: docker-archive needs a tagged name"
            )));
        }
        Ok(DockerArchiveDestination {
            fs,
            archive,
            staging: staging.to_owned(),
            repo_tags,
            layers: RefCell::new(HashMap::new()),
            config: RefCell::new(None),
            temps: Cell::new(0),
            written: false,
        })
    }

    /// Stages a layer the archive cannot take now.
    async fn stage<S: ByteStream>(
        &self,
        stream: &mut S,
        digest: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<StoredBlob> {
        let n = self.temps.get();
        self.temps.set(n + 1);
        self.fs.create_dir_all(&self.staging).await?;
        let tmp = join_path(&self.staging, &format!(".new-{n}"));
        let stored = write_then_name(self.fs, &tmp, stream, digest, size, |d| {
            join_path(&self.staging, d.hex())
        })
        .await?;
        let path = join_path(&self.staging, stored.digest.hex());
        let known = self.layers.borrow().contains_key(&stored.digest);
        if !self.archive.streams_entries() {
            // An archive that cannot be rewound takes the layer now, whole.
            if !known {
                let name = format!("{}.tar", stored.digest.hex());
                self.archive.add_file_from(&name, &path).await?;
                self.layers
                    .borrow_mut()
                    .insert(stored.digest.clone(), Stored::InArchive);
            }
            self.fs.remove_file(&path).await?;
            return Ok(stored);
        }
        if !known {
            self.layers
                .borrow_mut()
                .insert(stored.digest.clone(), Stored::Staged(path));
        }
        Ok(stored)
    }

    /// Streams a layer into the archive as `entry`; a layer already there is taken back out.
    async fn stream_into<S: ByteStream>(
        &self,
        mut entry: A::Entry,
        stream: &mut S,
        digest: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<StoredBlob> {
        let what = digest.map_or_else(|| "layer".to_owned(), Digest::to_string);
        let stored = match copy_verified(stream, &mut entry, digest, size, &what).await {
            Ok(stored) => stored,
            Err(e) => {
                let _ = self.archive.end_entry(entry, None).await;
                return Err(e);
            }
        };
        let known = self.layers.borrow().contains_key(&stored.digest);
        let name = format!("{}.tar", stored.digest.hex());
        self.archive
            .end_entry(entry, (!known).then_some(name.as_str()))
            .await?;
        if !known {
            self.layers
                .borrow_mut()
                .insert(stored.digest.clone(), Stored::InArchive);
        }
        Ok(stored)
    }
}

/// One legacy layer's `json` and its ID, as containers/image derives them: a Go map
/// (sorted keys) of the parent's ID, the config's attributes for the last layer, and the
/// chain ID, hashed without the `id` and then written with it.
fn legacy_layer(
    parent: Option<&str>,
    attributes: Option<&BTreeMap<&str, String>>,
    chain_id: &Digest,
) -> (String, String) {
    let mut fields: BTreeMap<&str, String> = BTreeMap::new();
    if let Some(parent) = parent {
        fields.insert("parent", json_string(parent));
    }
    if let Some(attrs) = attributes {
        fields.extend(attrs.iter().map(|(k, v)| (*k, v.clone())));
    }
    fields.insert("layer_id", json_string(&chain_id.to_string()));
    let id = Digest::sha256_of(render(&fields).as_bytes())
        .hex()
        .to_owned();
    fields.remove("layer_id");
    fields.insert("id", json_string(&id));
    (id, render(&fields))
}

fn json_string(s: &str) -> String {
    String::from_utf8(crate::gojson::to_compact(s, true)).expect("JSON is UTF-8")
}

/// A JSON object of already-encoded values, keys in order.
fn render(fields: &BTreeMap<&str, String>) -> String {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{v}", json_string(k)))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// The config attributes the last legacy layer carries, encoded as Go re-encodes raw JSON
/// (`null` for missing ones).
fn legacy_attributes(config: &[u8]) -> Result<BTreeMap<&'static str, String>> {
    let parsed: BTreeMap<String, Box<serde_json::value::RawValue>> = serde_json::from_slice(config)
        .map_err(|e| Error::Invalid(format!("unmarshaling config: {e}")))?;
    Ok(LEGACY_ATTRIBUTES
        .iter()
        .map(|a| {
            let value = parsed.get(*a).map_or_else(
                || "null".to_owned(),
                |raw| crate::gojson::compact_raw(raw.get()),
            );
            (*a, value)
        })
        .collect())
}

impl<F: FilesystemWrite, A: ArchiveWrite> ImageDestination for DockerArchiveDestination<'_, F, A> {
    fn transport_name(&self) -> &'static str {
        "docker-archive"
    }

    fn supported_manifest_types(&self) -> &[&'static str] {
        &[mime::DOCKER_V2_SCHEMA2]
    }

    fn desired_layer_compression(&self) -> LayerCompression {
        LayerCompression::Decompress
    }

    /// Layers go in one after another: streamed into a file, or (into a pipe) staged one at a
    /// time and added as soon as they are whole, so at most one layer waits on disk.
    fn one_blob_at_a_time(&self) -> bool {
        true
    }

    async fn has_blob(&self, digest: &Digest) -> Result<bool> {
        let is_config = matches!(&*self.config.borrow(), Some((d, _)) if d == digest);
        Ok(is_config || self.layers.borrow().contains_key(digest))
    }

    async fn put_blob<S: ByteStream>(
        &self,
        stream: &mut S,
        digest: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<StoredBlob> {
        match self.archive.begin_entry().await? {
            Some(entry) => self.stream_into(entry, stream, digest, size).await,
            None => self.stage(stream, digest, size).await,
        }
    }

    /// The config is kept in memory (it is small, and its attributes go into the legacy
    /// layer directories) until the manifest names it.
    async fn put_config<S: ByteStream>(
        &self,
        stream: &mut S,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<StoredBlob> {
        let mut bytes = Vec::new();
        let stored = copy_verified(
            stream,
            &mut &mut bytes,
            Some(digest),
            size,
            &digest.to_string(),
        )
        .await?;
        *self.config.borrow_mut() = Some((digest.clone(), bytes));
        Ok(stored)
    }

    async fn put_manifest(
        &mut self,
        manifest: &[u8],
        media_type: &str,
        instance: Option<&Digest>,
    ) -> Result<()> {
        if instance.is_some() {
            return Err(Error::Unsupported(
                "Manifest lists are not supported for docker tar files".into(),
            ));
        }
        if media_type != mime::DOCKER_V2_SCHEMA2 {
            return Err(Error::Unsupported(
                "Unsupported manifest type, need a Docker schema 2 manifest".into(),
            ));
        }
        let m = decode_schema2(manifest)?;
        let config_digest = Digest::parse(&m.config.digest)
            .map_err(|e| Error::Invalid(format!("config digest: {e}")))?;
        let config = match self.config.take() {
            Some((digest, bytes)) if digest == config_digest => bytes,
            _ => {
                return Err(Error::Invalid(format!(
                    "config {config_digest} was not written"
                )))
            }
        };
        let config_name = format!("{}.json", config_digest.hex());
        self.archive.add_file(&config_name, &config).await?;

        let mut layer_names = Vec::new();
        let mut parent: Option<String> = None;
        let mut chain: Option<Digest> = None;
        let mut legacy_ids = std::collections::HashSet::new();
        let attributes = legacy_attributes(&config)?;
        for (i, layer) in m.layers().iter().enumerate() {
            let digest = Digest::parse(&layer.digest)
                .map_err(|e| Error::Invalid(format!("layer digest: {e}")))?;
            let name = format!("{}.tar", digest.hex());
            let stored = self.layers.borrow().get(&digest).cloned();
            match stored {
                Some(Stored::InArchive) => {}
                Some(Stored::Staged(path)) => {
                    self.archive.add_file_from(&name, &path).await?;
                    self.layers
                        .borrow_mut()
                        .insert(digest.clone(), Stored::InArchive);
                }
                None => return Err(Error::Invalid(format!("layer {digest} was not written"))),
            }
            let chain_id = match chain {
                None => digest.clone(),
                Some(c) => Digest::sha256_of(format!("{c} {digest}").as_bytes()),
            };
            let last = i + 1 == m.layers().len();
            let (id, json) =
                legacy_layer(parent.as_deref(), last.then_some(&attributes), &chain_id);
            if legacy_ids.insert(id.clone()) {
                // No directory entry: skopeo leaves the legacy layer directories implied.
                self.archive
                    .add_symlink(&format!("{id}/layer.tar"), &format!("../{name}"))
                    .await?;
                self.archive
                    .add_file(&format!("{id}/VERSION"), b"1.0")
                    .await?;
                self.archive
                    .add_file(&format!("{id}/json"), json.as_bytes())
                    .await?;
            }
            chain = Some(chain_id);
            parent = Some(id);
            layer_names.push(name);
        }

        let mut repo_tags: Vec<String> = Vec::new();
        let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for r in &self.repo_tags {
            let tag = r.tag().unwrap_or_default().to_owned();
            let entry = format!("{}:{tag}", r.name());
            if !repo_tags.contains(&entry) {
                repo_tags.push(entry);
            }
            if let Some(last) = &parent {
                repositories
                    .entry(r.name())
                    .or_default()
                    .insert(tag, last.clone());
            }
        }
        let item = [ArchiveItem {
            config: config_name,
            repo_tags,
            layers: layer_names,
        }];
        self.archive
            .add_file(
                super::MANIFEST_FILE,
                &crate::gojson::to_compact(&item, true),
            )
            .await?;
        self.archive
            .add_file(
                "repositories",
                &crate::gojson::to_compact(&repositories, true),
            )
            .await?;
        self.written = true;
        Ok(())
    }

    fn supports_signatures(&self) -> Result<()> {
        Err(crate::Error::Unsupported(
            "Storing signatures for docker tar files is not supported".into(),
        ))
    }

    /// Ends the archive and puts it in place.
    async fn commit(self) -> Result<()> {
        if !self.written {
            return Err(Error::Invalid("no manifest was written".into()));
        }
        let _ = self.fs.remove_dir_all(&self.staging).await;
        Ok(self.archive.finish().await?)
    }

    /// Removes what was staged and discards the unfinished archive.
    async fn abort(self) {
        let _ = self.fs.remove_dir_all(&self.staging).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_ids_are_containers_images() {
        // From an archive skopeo 1.9.3 wrote for a one-layer image.
        let config = br#"{"created":"2026-01-15T10:00:00.123456789Z","author":"example","architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/bin:/bin","GREETING=hello <world> & co"],"Cmd":["/bin/cat","/etc/motd"],"Labels":{"org.opencontainers.image.title":"hello","org.example.purpose":"demo"},"ExposedPorts":{"8080/tcp":{}}},"rootfs":{"type":"layers","diff_ids":["sha256:0db86b60a0e8a0115e9b47f49e82ea8506bba1303d5c9f197984e5e8636aa0cf"]},"history":[{"created":"2026-01-15T10:00:00.123456789Z","created_by":"COPY rootfs /"}]}"#;
        let layer = Digest::parse(
            "sha256:0db86b60a0e8a0115e9b47f49e82ea8506bba1303d5c9f197984e5e8636aa0cf",
        )
        .unwrap();
        let attrs = legacy_attributes(config).unwrap();
        let (id, json) = legacy_layer(None, Some(&attrs), &layer);
        assert_eq!(
            id,
            "78b7cd1abc73ce570c6d518c931e0997475a8ec075d09b0f51d91362b49638cb"
        );
        assert_eq!(
            json,
            r#"{"architecture":"amd64","config":{"Env":["PATH=/usr/bin:/bin","GREETING=hello \u003cworld\u003e \u0026 co"],"Cmd":["/bin/cat","/etc/motd"],"Labels":{"org.opencontainers.image.title":"hello","org.example.purpose":"demo"},"ExposedPorts":{"8080/tcp":{}}},"container":null,"container_config":null,"created":"2026-01-15T10:00:00.123456789Z","docker_version":null,"id":"78b7cd1abc73ce570c6d518c931e0997475a8ec075d09b0f51d91362b49638cb","os":"linux"}"#
        );
    }
}
