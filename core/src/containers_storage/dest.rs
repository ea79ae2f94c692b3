//! `containers-storage:` as a copy destination, writing the store as containers/image 5.23 and
//! containers/storage 1.43 write it: blobs staged under the store's `tmp/`, then at commit
//! each layer applied (or one already there reused, by ID or by digest) under `layers.lock`,
//! renamed into place and recorded in `layers.json`; last the image (config and manifests as
//! big data, the signatures, names taken from other images) under `images.lock`.
//! `images.json` is replaced in one rename, so other processes see the whole image or none.

use super::apply::{apply_layer, Applied, Whiteouts};
use super::images::{big_data_file_name, parse_images, StoredImage};
use super::layers::{driver_not_supported, layers_dir, parse_layers, StoredLayer};
use super::records;
use super::store_write::{layer_id, overlay_link_name, StoreLock, StoreWrite};
use super::tar_split::Regenerated;
use super::Store;
use crate::compression::{self, Peeked, Transcoded};
use crate::destination::{write_verified, ImageDestination, StoredBlob};
use crate::digest::Digest;
use crate::effects::{ByteStream, Filesystem, FilesystemWrite};
use crate::manifest::types::Manifest;
use crate::manifest::{manifest_digest, mime};
use crate::signature::Signature;
use crate::source::join_path;
use crate::transport::StorageImage;
use crate::{Error, Result};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};

/// The manifest types written as they are; schema 1 is converted on the way.
const MANIFEST_TYPES: &[&str] = &[mime::OCI_MANIFEST, mime::DOCKER_V2_SCHEMA2];

/// An image being written into a store.
pub struct StorageDestination<'a, W: StoreWrite> {
    w: &'a W,
    store: Store,
    /// The name the image gets (`docker.io/library/x:v1`), if any.
    name: Option<String>,
    /// The ID the name asked for, if any.
    intended_id: Option<String>,
    staging: String,
    staged_paths: RefCell<HashMap<Digest, String>>,
    next_file: Cell<u32>,
    /// The store's layers when the copy began (for [`ImageDestination::has_blob`]).
    known_layers: Vec<StoredLayer>,
    manifest: Option<(Vec<u8>, Digest)>,
    signatures: Vec<u8>,
    signature_sizes: Vec<usize>,
    per_instance: BTreeMap<Digest, (Vec<u8>, Vec<usize>)>,
    writes: Cell<u64>,
    /// The layers' digests in the source, bottom first ([`ImageDestination::plan_layers`]).
    order: RefCell<Vec<Digest>>,
    /// Layers copied and not yet committed, by their digest in the source.
    ready: RefCell<HashMap<Digest, Ready>>,
    /// The IDs of the layers committed so far, bottom first, and the digests they came as.
    committed: RefCell<Vec<(String, Digest)>>,
    /// Whether a layer is being committed (or applied in its turn) right now.
    committing: Cell<bool>,
}

/// A layer copied in, waiting for the ones below it.
enum Ready {
    /// Its blob is staged (under the digest given).
    Staged(Digest),
    /// Applied already (overlay layers are applied as they arrive; vfs ones in their turn).
    Applied(Digest, PreApplied),
}

/// A layer applied into a scratch directory as it was copied.
struct PreApplied {
    scratch: String,
    applied: Applied,
    compression: Option<compression::Algorithm>,
    size: u64,
    /// The layer it was applied on (vfs copies it first).
    parent: Option<String>,
}

impl<'a, W: StoreWrite> StorageDestination<'a, W> {
    /// Opens `store` for writing `wanted`, making the store's directories when missing.
    pub async fn open(w: &'a W, store: &Store, wanted: &StorageImage) -> Result<Self> {
        if !matches!(store.driver.as_str(), "vfs" | "overlay") {
            return Err(driver_not_supported(&store.driver));
        }
        let graph = &store.graph_root;
        let mut dirs = vec![
            graph.clone(),
            layers_dir(store),
            store.images_dir(),
            join_path(graph, &format!("{}-containers", store.driver)),
            join_path(graph, "tmp"),
            join_path(&store.run_root, &format!("{}-layers", store.driver)),
        ];
        match store.driver.as_str() {
            "vfs" => dirs.extend([join_path(graph, "vfs"), join_path(graph, "vfs/dir")]),
            _ => dirs.push(join_path(graph, "overlay")),
        }
        for root in [graph, &store.run_root] {
            if w.lstat_is_dir(root).await? == Some(false) {
                return Err(Error::Effect(crate::effects::EffectError::new(
                    crate::effects::EffectErrorKind::Other,
                    format!("mkdir {root}: not a directory"),
                )));
            }
        }
        if !w.exists(&store.run_root).await? {
            w.create_dir_all(&store.run_root).await?;
        }
        for dir in &dirs {
            if !w.exists(dir).await? {
                w.make_dir_with_mode(dir, 0o700).await?;
            }
        }
        if store.driver == "overlay" && !w.exists(&join_path(graph, "overlay/l")).await? {
            w.make_dir_with_mode(&join_path(graph, "overlay/l"), 0o755)
                .await?;
        }
        // Taken as containers/storage takes it when it opens the store.
        drop(w.lock_file(&join_path(graph, "storage.lock")).await?);
        let known_layers = read_layers(w, store).await?;
        let mut tag = [0u8; 8];
        w.random(&mut tag);
        let staging = join_path(graph, &format!("tmp/copy-{}", hex(&tag)));
        w.make_dir_with_mode(&staging, 0o700).await?;
        Ok(StorageDestination {
            w,
            store: store.clone(),
            name: wanted.reference.as_ref().map(|r| r.to_string()),
            intended_id: wanted.id.clone(),
            staging,
            staged_paths: RefCell::default(),
            next_file: Cell::new(0),
            known_layers,
            manifest: None,
            signatures: Vec::new(),
            signature_sizes: Vec::new(),
            per_instance: BTreeMap::new(),
            writes: Cell::new(0),
            order: RefCell::default(),
            ready: RefCell::default(),
            committed: RefCell::default(),
            committing: Cell::new(false),
        })
    }

    fn scratch_path(&self, what: &str) -> String {
        let n = self.next_file.get();
        self.next_file.set(n + 1);
        join_path(&self.staging, &format!("{what}-{n}"))
    }

    /// Writes a new last-writer token into `lock`.
    fn touch(&self, lock: &mut W::Lock) -> Result<()> {
        let mut random = [0u8; 44];
        self.w.random(&mut random);
        let count = self.writes.get() + 1;
        self.writes.set(count);
        let token = super::store_write::last_writer_token(
            self.w.now_nanos(),
            count,
            self.w.process_id(),
            &random,
        );
        lock.touch(&token)?;
        Ok(())
    }

    /// Puts the layer `digest` on top of `parent` (applied already into `pre`, or from its
    /// staged blob, or produced again from a layer of the store with the same contents),
    /// reusing one already there; its ID.
    async fn commit_layer(
        &self,
        parent: Option<&str>,
        digest: &Digest,
        pre: Option<PreApplied>,
    ) -> Result<String> {
        let lock_path = join_path(&layers_dir(&self.store), "layers.lock");
        let mut lock = self.w.lock_file(&lock_path).await?;
        let mut layers = read_layers(self.w, &self.store).await?;
        let blob_digest = digest.to_string();
        let known = layers
            .iter()
            .find(|l| {
                l.compressed_digest.as_deref() == Some(blob_digest.as_str())
                    || l.uncompressed_digest.as_deref() == Some(blob_digest.as_str())
            })
            .cloned();
        if let Some(diff) = known
            .as_ref()
            .and_then(|l| l.uncompressed_digest.as_deref())
        {
            let id = layer_id(parent, &parse_digest(diff)?);
            if layers.iter().any(|l| l.id == id) {
                return Ok(id);
            }
        }
        let staged = self.staged_paths.borrow().get(digest).cloned();
        let pre = pre.filter(|p| p.parent.as_deref() == parent || self.store.driver == "overlay");
        let scratch = match &pre {
            Some(p) => p.scratch.clone(),
            None => self.scratch_path("layer"),
        };
        let (applied, compression, compressed_size) = match (pre, staged, &known) {
            (Some(pre), _, _) => (pre.applied, pre.compression, pre.size),
            (None, Some(path), _) => {
                let size = self.w.size(&path).await?;
                let file = self.w.open(&path).await?;
                let (applied, compression) = self.apply_blob(parent, &scratch, file).await?;
                (applied, compression, size)
            }
            (None, None, Some(layer)) => {
                // The layer's tar produced again from the one with the same contents.
                let metadata = self
                    .w
                    .read_file(&super::layers::tar_split_path(&self.store, &layer.id))
                    .await?;
                let metadata = super::tar_split::decompress(&metadata)?;
                let root = super::layers::layer_files_dir(&self.store, &layer.id)?;
                let tar = Regenerated::new(self.w, root, metadata);
                let (applied, _) = self.apply_blob(parent, &scratch, tar).await?;
                let size = applied.diff_size;
                (applied, None, size)
            }
            (None, None, None) => {
                return Err(Error::Invalid(format!(
                    "locating layer for blob {blob_digest:?}: not in this copy nor in the store"
                )))
            }
        };
        let id = layer_id(parent, &applied.diff_digest);
        if layers.iter().any(|l| l.id == id) {
            self.w.remove_dir_all(&scratch).await?;
            return Ok(id);
        }
        let place = self.layer_home(&id);
        if self.w.exists(&place).await? {
            // Left by a copy that stopped before recording it.
            self.w.remove_dir_all(&place).await?;
        }
        self.w.rename(&scratch, &place).await?;
        let tar_split = super::tar_split::compress(&applied.tar_split)?;
        self.w
            .write_atomic(&super::layers::tar_split_path(&self.store, &id), &tar_split)
            .await?;
        if self.store.driver == "overlay" {
            self.link_overlay_layer(&id, parent).await?;
        }
        let record = records::new_layer(
            &id,
            parent,
            &blob_digest,
            compressed_size,
            &applied,
            compression,
            &records::now(self.w.now_nanos()),
        );
        layers.push(record);
        self.w
            .write_atomic(
                &join_path(&layers_dir(&self.store), "layers.json"),
                &records::to_go_json(&layers)?,
            )
            .await?;
        self.touch(&mut lock)?;
        Ok(id)
    }

    /// Where the layer `id`'s directory goes.
    fn layer_home(&self, id: &str) -> String {
        match self.store.driver.as_str() {
            "vfs" => join_path(&self.store.graph_root, &format!("vfs/dir/{id}")),
            _ => join_path(&self.store.graph_root, &format!("overlay/{id}")),
        }
    }

    /// Applies the (possibly compressed) layer `stream` into the new directory `scratch`.
    async fn apply_blob<S: ByteStream>(
        &self,
        parent: Option<&str>,
        scratch: &str,
        stream: S,
    ) -> Result<(Applied, Option<compression::Algorithm>)> {
        let root = match self.store.driver.as_str() {
            "vfs" => {
                match parent {
                    Some(p) => self.w.copy_tree(&self.layer_home(p), scratch).await?,
                    None => self.w.make_dir_with_mode(scratch, 0o555).await?,
                }
                scratch.to_owned()
            }
            _ => {
                self.w.make_dir_with_mode(scratch, 0o700).await?;
                let diff = join_path(scratch, "diff");
                self.w.make_dir_with_mode(&diff, 0o555).await?;
                diff
            }
        };
        let whiteouts = match self.store.driver.as_str() {
            "vfs" => Whiteouts::Removed,
            _ => Whiteouts::Overlay,
        };
        let peeked = Peeked::new(stream).await?;
        let algorithm = compression::detect(peeked.first());
        let applied = match algorithm {
            None => apply_layer(self.w, &root, peeked, whiteouts).await,
            Some(a) => {
                let plain = Transcoded::decompress(peeked, a)?;
                apply_layer(self.w, &root, plain, whiteouts).await
            }
        };
        match applied {
            Ok(applied) => Ok((applied, algorithm)),
            Err(e) => {
                let _ = self.w.remove_dir_all(scratch).await;
                Err(e)
            }
        }
    }

    /// overlay's bookkeeping beside a layer's `diff`: its short name (`link`, and `l/NAME`
    /// pointing at the diff), the short names below it (`lower`), `work` and `merged`, and
    /// `empty` for a base layer.
    async fn link_overlay_layer(&self, id: &str, parent: Option<&str>) -> Result<()> {
        let home = self.layer_home(id);
        let mut random = [0u8; 16];
        self.w.random(&mut random);
        let link = overlay_link_name(&random);
        let links = join_path(&self.store.graph_root, "overlay/l");
        self.w
            .symlink(&format!("../{id}/diff"), &join_path(&links, &link))
            .await?;
        write_small(self.w, &join_path(&home, "link"), link.as_bytes()).await?;
        match parent {
            Some(parent) => {
                let parent_home = self.layer_home(parent);
                let parent_link = self.w.read_file(&join_path(&parent_home, "link")).await?;
                let mut lower = format!("l/{}", String::from_utf8_lossy(&parent_link).trim());
                let parent_lower = join_path(&parent_home, "lower");
                if self.w.exists(&parent_lower).await? {
                    let below = self.w.read_file(&parent_lower).await?;
                    lower = format!("{lower}:{}", String::from_utf8_lossy(&below).trim());
                }
                write_small(self.w, &join_path(&home, "lower"), lower.as_bytes()).await?;
            }
            None => {
                self.w
                    .make_dir_with_mode(&join_path(&home, "empty"), 0o700)
                    .await?
            }
        }
        for dir in ["work", "merged"] {
            self.w
                .make_dir_with_mode(&join_path(&home, dir), 0o700)
                .await?;
        }
        Ok(())
    }

    /// Creates or updates the image record over `top` with the config, manifest and
    /// signatures, and gives it the name.
    async fn commit_image(&self, manifest: &Manifest, top: Option<&str>) -> Result<()> {
        let (bytes, digest) = self.manifest.as_ref().expect("manifest put before commit");
        let config = match manifest {
            Manifest::Schema2(m) | Manifest::Oci(m) => &m.config,
            _ => return Err(Error::Unsupported("this manifest type in a store".into())),
        };
        let config_path = self.staged_paths.borrow().get(&config.digest).cloned();
        let config_bytes = match config_path {
            Some(path) => self.w.read_file(&path).await?,
            None => Vec::new(),
        };
        let id = self
            .intended_id
            .clone()
            .unwrap_or_else(|| config.digest.hex().to_owned());
        let images_dir = self.store.images_dir();
        let mut lock = self
            .w
            .lock_file(&join_path(&images_dir, "images.lock"))
            .await?;
        let json_path = join_path(&images_dir, "images.json");
        let mut images = match self.w.exists(&json_path).await? {
            true => parse_images(&self.w.read_file(&json_path).await?)?,
            false => Vec::new(),
        };
        let now = records::now(self.w.now_nanos());
        let position = images.iter().position(|i| i.id == id);
        let mut image = match position {
            Some(at) => {
                let existing = images.remove(at);
                if existing.layer.as_deref() != top {
                    return Err(Error::Invalid(format!(
                        "image with ID {id:?} already exists, but uses a different top layer: \
                         that ID is already in use"
                    )));
                }
                existing
            }
            None => StoredImage {
                id: id.clone(),
                layer: top.map(str::to_owned),
                created: Some(records::image_created(&config_bytes).unwrap_or(now)),
                ..StoredImage::default()
            },
        };
        let mut items: Vec<(String, Vec<u8>, Digest)> = Vec::new();
        if !config_bytes.is_empty() {
            let d = Digest::sha256_of(&config_bytes);
            items.push((config.digest.to_string(), config_bytes, d));
        }
        items.push((format!("manifest-{digest}"), bytes.clone(), digest.clone()));
        items.push(("manifest".into(), bytes.clone(), digest.clone()));
        if !self.signatures.is_empty() {
            let d = Digest::sha256_of(&self.signatures);
            items.push(("signatures".into(), self.signatures.clone(), d));
        }
        let mut per_instance = self.per_instance.clone();
        per_instance
            .entry(digest.clone())
            .or_insert_with(|| (Vec::new(), Vec::new()));
        for (instance, (blob, _)) in &per_instance {
            let d = Digest::sha256_of(blob);
            items.push((format!("signature-{}", instance.hex()), blob.clone(), d));
        }
        let data_dir = join_path(&images_dir, &id);
        if !self.w.exists(&data_dir).await? {
            self.w.make_dir_with_mode(&data_dir, 0o700).await?;
        }
        for (key, data, item_digest) in items {
            let path = join_path(&data_dir, &big_data_file_name(&key));
            self.w.write_atomic(&path, &data).await?;
            image.big_data_sizes.insert(key.clone(), data.len() as i64);
            image
                .big_data_digests
                .insert(key.clone(), item_digest.to_string());
            if !image.big_data_names.contains(&key) {
                image.big_data_names.push(key);
            }
        }
        image.digest = Some(digest.to_string());
        image.metadata = Some(records::image_metadata(
            &self.signature_sizes,
            &per_instance,
        ));
        if let Some(name) = &self.name {
            for other in images.iter_mut() {
                other.names.retain(|n| n != name);
            }
            if !image.names.contains(name) {
                image.names.push(name.clone());
            }
            image.names_history.retain(|n| n != name);
            image.names_history.insert(0, name.clone());
        }
        images.insert(position.unwrap_or(images.len()), image);
        self.w
            .write_atomic(&json_path, &records::to_go_json(&images)?)
            .await?;
        self.touch(&mut lock)?;
        Ok(())
    }
}

impl<W: StoreWrite> ImageDestination for StorageDestination<'_, W> {
    fn transport_name(&self) -> &'static str {
        "containers-storage"
    }

    fn supported_manifest_types(&self) -> &[&'static str] {
        MANIFEST_TYPES
    }

    async fn has_blob(&self, digest: &Digest) -> Result<bool> {
        Ok(self.stored_before(digest))
    }

    async fn put_blob<S: ByteStream>(
        &self,
        stream: &mut S,
        digest: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<StoredBlob> {
        let path = self.scratch_path("blob");
        let stored = write_verified(self.w, &path, stream, digest, size).await?;
        self.staged_paths
            .borrow_mut()
            .insert(stored.digest.clone(), path);
        Ok(stored)
    }

    /// vfs builds each layer on a copy of the one below, so its layers are copied in order,
    /// each applied as it streams in (staging them instead would write every layer twice).
    fn one_blob_at_a_time(&self) -> bool {
        self.store.driver == "vfs"
    }

    fn plan_layers(&self, layers: &[Digest]) {
        *self.order.borrow_mut() = layers.to_vec();
    }

    async fn put_layer<S: ByteStream>(
        &self,
        key: &Digest,
        stream: &mut S,
        digest: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<StoredBlob> {
        self.put_planned_layer(key, stream, digest, size).await
    }

    async fn put_manifest(
        &mut self,
        manifest: &[u8],
        _media_type: &str,
        instance: Option<&Digest>,
    ) -> Result<()> {
        if instance.is_some() {
            return Err(Error::Unsupported(
                "copying more than one image of a list into containers-storage".into(),
            ));
        }
        let digest = manifest_digest(manifest).map_err(Error::Invalid)?;
        self.manifest = Some((manifest.to_vec(), digest));
        Ok(())
    }

    fn supports_signatures(&self) -> Result<()> {
        Ok(())
    }

    async fn put_signatures(
        &mut self,
        signatures: &[Signature],
        instance: Option<&Digest>,
    ) -> Result<()> {
        let blobs: Vec<Vec<u8>> = signatures.iter().map(Signature::to_blob).collect();
        let sizes: Vec<usize> = blobs.iter().map(Vec::len).collect();
        let joined = blobs.concat();
        let instance = match instance {
            Some(i) => Some(i.clone()),
            None => {
                self.signatures = joined.clone();
                self.signature_sizes = sizes.clone();
                self.manifest.as_ref().map(|(_, d)| d.clone())
            }
        };
        if let Some(instance) = instance {
            self.per_instance.insert(instance, (joined, sizes));
        }
        Ok(())
    }

    async fn commit(self) -> Result<()> {
        let result = self.commit_all().await;
        let _ = self.w.remove_dir_all(&self.staging).await;
        result
    }

    async fn abort(self) {
        let _ = self.w.remove_dir_all(&self.staging).await;
    }
}

impl<W: StoreWrite> StorageDestination<'_, W> {
    async fn commit_all(&self) -> Result<()> {
        let (bytes, _) = self
            .manifest
            .as_ref()
            .ok_or_else(|| Error::Invalid("commit without a manifest".into()))?;
        let manifest = Manifest::parse(bytes, "")
            .map_err(|e| Error::Invalid(format!("parsing manifest: {e}")))?;
        let layers = match &manifest {
            Manifest::Schema2(m) | Manifest::Oci(m) => m.layers.clone(),
            _ => return Err(Error::Unsupported("this manifest type in a store".into())),
        };
        self.commit_ready().await?;
        let committed = self.committed.borrow().clone();
        let as_planned = committed.len() == layers.len()
            && committed
                .iter()
                .zip(&layers)
                .all(|((_, d), l)| *d == l.digest);
        if as_planned {
            return self
                .commit_image(&manifest, committed.last().map(|(id, _)| id.as_str()))
                .await;
        }
        // The manifest names other layers than those planned (a conversion changed them):
        // each is found by its digest, staged or in the store.
        let mut top: Option<String> = None;
        for layer in &layers {
            top = Some(
                self.commit_layer(top.as_deref(), &layer.digest, None)
                    .await?,
            );
        }
        self.commit_image(&manifest, top.as_deref()).await
    }

    /// Commits, bottom up, every layer whose turn has come and that is there: copied in, or
    /// found in the store. One commit runs at a time; whoever runs it takes the later ones too.
    async fn commit_ready(&self) -> Result<()> {
        if self.committing.replace(true) {
            return Ok(());
        }
        let result = loop {
            let (index, parent) = {
                let committed = self.committed.borrow();
                (committed.len(), committed.last().map(|(id, _)| id.clone()))
            };
            let Some(key) = self.order.borrow().get(index).cloned() else {
                break Ok(());
            };
            let ready = self.ready.borrow_mut().remove(&key);
            let (digest, pre) = match ready {
                Some(Ready::Staged(d)) => (d, None),
                Some(Ready::Applied(d, pre)) => (d, Some(pre)),
                None if self.in_store(&key) => (key, None),
                None => break Ok(()),
            };
            match self.commit_layer(parent.as_deref(), &digest, pre).await {
                Ok(id) => self.committed.borrow_mut().push((id, digest)),
                Err(e) => break Err(e),
            }
        };
        self.committing.set(false);
        result
    }

    /// Whether the layer `key` needs no copy: the store had it, or this copy committed it.
    fn in_store(&self, key: &Digest) -> bool {
        self.stored_before(key) || self.committed.borrow().iter().any(|(_, d)| d == key)
    }

    /// Whether the store had a layer with `digest` (compressed or not) when the copy began.
    fn stored_before(&self, digest: &Digest) -> bool {
        let digest = digest.to_string();
        let wanted = Some(digest.as_str());
        self.known_layers.iter().any(|l| {
            l.compressed_digest.as_deref() == wanted || l.uncompressed_digest.as_deref() == wanted
        })
    }

    /// Copies the layer `key` in: applied at once when it can be (overlay always; vfs when
    /// the layers below are in), else staged; then commits what is ready.
    async fn put_planned_layer<S: ByteStream>(
        &self,
        key: &Digest,
        stream: &mut S,
        digest: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<StoredBlob> {
        let index = self.order.borrow().iter().position(|d| d == key);
        let in_turn = index == Some(self.committed.borrow().len()) && !self.committing.get();
        let overlay = self.store.driver == "overlay";
        if !(overlay || in_turn) {
            let stored = self.put_blob(stream, digest, size).await?;
            self.ready
                .borrow_mut()
                .insert(key.clone(), Ready::Staged(stored.digest.clone()));
            self.commit_ready().await?;
            return Ok(stored);
        }
        let parent = match overlay {
            true => None,
            false => {
                self.committing.set(true);
                self.committed.borrow().last().map(|(id, _)| id.clone())
            }
        };
        let scratch = self.scratch_path("layer");
        let mut verifying = crate::destination::Verifying::new(stream, digest, size);
        let applied = self
            .apply_blob(parent.as_deref(), &scratch, &mut verifying)
            .await;
        if !overlay {
            self.committing.set(false);
        }
        let verified = verifying
            .finish()
            .map_err(|e| Error::Verification(format!("{key}: {e}")));
        let ((applied, compression), stored) = match (applied, verified) {
            (Ok(a), Ok(v)) => (a, v),
            (Err(e), _) | (_, Err(e)) => {
                let _ = self.w.remove_dir_all(&scratch).await;
                return Err(e);
            }
        };
        let pre = PreApplied {
            scratch,
            applied,
            compression,
            size: stored.size,
            parent,
        };
        self.ready
            .borrow_mut()
            .insert(key.clone(), Ready::Applied(stored.digest.clone(), pre));
        self.commit_ready().await?;
        Ok(stored)
    }
}

async fn read_layers<F: Filesystem>(fs: &F, store: &Store) -> Result<Vec<StoredLayer>> {
    let path = join_path(&layers_dir(store), "layers.json");
    match fs.exists(&path).await? {
        true => parse_layers(&fs.read_file(&path).await?),
        false => Ok(Vec::new()),
    }
}

async fn write_small<W: FilesystemWrite>(w: &W, path: &str, bytes: &[u8]) -> Result<()> {
    use crate::effects::ByteSink;
    let mut sink = w.create(path).await?;
    sink.write_all(bytes).await?;
    sink.finish().await?;
    Ok(())
}

fn parse_digest(text: &str) -> Result<Digest> {
    Digest::parse(text).map_err(|e| Error::Invalid(format!("layers.json: {text:?}: {e}")))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
