//! `docker-archive:` as a copy destination: the files of a `docker save` archive, staged in a
//! directory the host then packs into the archive (through a temporary file renamed into
//! place). Layers are stored uncompressed as `HEX.tar`, the config as `HEX.json`; then
//! `manifest.json`, `repositories` and the legacy per-layer directories (`ID/VERSION`,
//! `ID/json`, `ID/layer.tar` linking to the layer) are written as containers/image writes
//! them, with the destination's tag and any `--additional-tag`s.

use crate::convert::image::decode_schema2;
use crate::destination::{write_then_name, ImageDestination, LayerCompression, StoredBlob};
use crate::digest::Digest;
use crate::effects::{ByteSink, ByteStream, FilesystemWrite};
use crate::manifest::mime;
use crate::reference::Reference;
use crate::source::join_path;
use crate::{Error, Result};
use std::cell::Cell;
use std::collections::BTreeMap;

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

/// Writes one image as the files of a docker archive.
pub struct DockerArchiveDestination<'a, F: FilesystemWrite> {
    fs: &'a F,
    /// The (empty) directory the archive's files are staged in.
    root: String,
    /// The tagged names the image is saved under.
    repo_tags: Vec<Reference>,
    temps: Cell<u32>,
    written: bool,
}

impl<'a, F: FilesystemWrite> DockerArchiveDestination<'a, F> {
    /// Stages into `root` an image saved as `repo_tags` (each must carry a tag).
    pub fn new(fs: &'a F, root: &str, repo_tags: Vec<Reference>) -> Result<Self> {
        if let Some(r) = repo_tags.iter().find(|r| r.tag().is_none()) {
            return Err(Error::Invalid(format!(
                "Invalid destination reference {r}: docker-archive needs a tagged name"
            )));
        }
        Ok(DockerArchiveDestination {
            fs,
            root: root.to_owned(),
            repo_tags,
            temps: Cell::new(0),
            written: false,
        })
    }

    fn blob_path(&self, digest: &Digest) -> String {
        join_path(&self.root, &format!("blobs/{}", digest.hex()))
    }

    async fn write_file(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let mut sink = self.fs.create(&join_path(&self.root, name)).await?;
        sink.write_all(bytes).await?;
        sink.finish().await?;
        Ok(())
    }

    /// Moves a staged blob to its name in the archive (once; a repeated layer is one file).
    async fn place(&self, digest: &Digest, name: &str) -> Result<()> {
        let target = join_path(&self.root, name);
        if !self.fs.exists(&target).await? {
            self.fs.rename(&self.blob_path(digest), &target).await?;
        }
        Ok(())
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

impl<F: FilesystemWrite> ImageDestination for DockerArchiveDestination<'_, F> {
    fn transport_name(&self) -> &'static str {
        "docker-archive"
    }

    fn supported_manifest_types(&self) -> &[&'static str] {
        &[mime::DOCKER_V2_SCHEMA2]
    }

    fn desired_layer_compression(&self) -> LayerCompression {
        LayerCompression::Decompress
    }

    async fn has_blob(&self, digest: &Digest) -> Result<bool> {
        Ok(self.fs.exists(&self.blob_path(digest)).await?)
    }

    async fn put_blob<S: ByteStream>(
        &self,
        stream: &mut S,
        digest: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<StoredBlob> {
        let n = self.temps.get();
        self.temps.set(n + 1);
        self.fs
            .create_dir_all(&join_path(&self.root, "blobs"))
            .await?;
        let tmp = join_path(&self.root, &format!("blobs/.new-{n}"));
        write_then_name(self.fs, &tmp, stream, digest, size, |d| self.blob_path(d)).await
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
        let config_name = format!("{}.json", config_digest.hex());
        self.place(&config_digest, &config_name).await?;
        let config = self
            .fs
            .read_file(&join_path(&self.root, &config_name))
            .await?;

        let mut layer_names = Vec::new();
        let mut parent: Option<String> = None;
        let mut chain: Option<Digest> = None;
        let attributes = legacy_attributes(&config)?;
        for (i, layer) in m.layers().iter().enumerate() {
            let digest = Digest::parse(&layer.digest)
                .map_err(|e| Error::Invalid(format!("layer digest: {e}")))?;
            let name = format!("{}.tar", digest.hex());
            self.place(&digest, &name).await?;
            let chain_id = match chain {
                None => digest.clone(),
                Some(c) => Digest::sha256_of(format!("{c} {digest}").as_bytes()),
            };
            let last = i + 1 == m.layers().len();
            let (id, json) =
                legacy_layer(parent.as_deref(), last.then_some(&attributes), &chain_id);
            if !self.fs.exists(&join_path(&self.root, &id)).await? {
                self.fs.create_dir_all(&join_path(&self.root, &id)).await?;
                self.fs
                    .symlink(
                        &format!("../{name}"),
                        &join_path(&self.root, &format!("{id}/layer.tar")),
                    )
                    .await?;
                self.write_file(&format!("{id}/VERSION"), b"1.0").await?;
                self.write_file(&format!("{id}/json"), json.as_bytes())
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
        self.write_file(
            super::MANIFEST_FILE,
            &crate::gojson::to_compact(&item, true),
        )
        .await?;
        self.write_file(
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

    async fn commit(self) -> Result<()> {
        if !self.written {
            return Err(Error::Invalid("no manifest was written".into()));
        }
        // Blobs not named in the manifest (none in a normal copy) are not archived.
        let _ = self
            .fs
            .remove_dir_all(&join_path(&self.root, "blobs"))
            .await;
        Ok(())
    }

    async fn abort(self) {
        let _ = self.fs.remove_dir_all(&self.root).await;
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
