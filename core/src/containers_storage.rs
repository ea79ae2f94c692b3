//! containers/storage's image store, as far as reading an image's manifest and config goes
//! (`inspect containers-storage:…`): `storage.conf`'s store, `DRIVER-images/images.json`,
//! how a name, a name@digest, an ID or an ID prefix finds an image, and where its big-data
//! items (manifests, the config) are kept. The host reads the files; nothing here locks:
//! containers/storage replaces `images.json` by a rename, so a reader sees it whole.

use crate::digest::Digest;
use crate::effects::Filesystem;
use crate::reference::Reference;
use crate::source::{join_path, ImageSource};
use crate::transport::{StorageImage, StoreSpec};
use crate::{Error, Result};
use serde::Deserialize;

/// Where containers/storage keeps images when `storage.conf` says nothing.
pub const DEFAULT_GRAPH_ROOT: &str = "/var/lib/containers/storage";
/// Where it keeps run-time state when `storage.conf` says nothing.
pub const DEFAULT_RUN_ROOT: &str = "/run/containers/storage";

/// A store: its driver and roots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    pub driver: String,
    pub graph_root: String,
    pub run_root: String,
    pub options: Vec<String>,
}

impl Store {
    /// The store `spec` names, completed from `conf` (`storage.conf`'s text, if any): a
    /// missing driver is `conf`'s, else the one whose image directory exists (`exists`).
    pub fn resolve(
        spec: Option<&StoreSpec>,
        conf: Option<&str>,
        exists: impl Fn(&str) -> bool,
    ) -> Result<Store> {
        let conf = match conf {
            Some(text) => parse_conf(text)?,
            None => StorageConf::default(),
        };
        let pick = |given: Option<&str>, configured: Option<String>, default: &str| {
            given
                .filter(|g| !g.is_empty())
                .map(str::to_owned)
                .or(configured.filter(|c| !c.is_empty()))
                .unwrap_or_else(|| default.to_owned())
        };
        let graph_root = pick(
            spec.map(|s| s.graph_root.as_str()),
            conf.graphroot,
            DEFAULT_GRAPH_ROOT,
        );
        let run_root = pick(
            spec.map(|s| s.run_root.as_str()),
            conf.runroot,
            DEFAULT_RUN_ROOT,
        );
        let driver = pick(spec.map(|s| s.driver.as_str()), conf.driver, "");
        let driver = match driver.is_empty() {
            false => driver,
            true => ["overlay", "vfs", "btrfs", "zfs"]
                .into_iter()
                .find(|d| exists(&join_path(&graph_root, &format!("{d}-images"))))
                .unwrap_or("overlay")
                .to_owned(),
        };
        Ok(Store {
            driver,
            graph_root,
            run_root,
            options: spec.map(|s| s.options.clone()).unwrap_or_default(),
        })
    }

    /// The directory the images and their big data are in.
    pub fn images_dir(&self) -> String {
        join_path(&self.graph_root, &format!("{}-images", self.driver))
    }

    /// `[DRIVER@GRAPHROOT+RUNROOT:OPTIONS]`, as containers/image prints a store.
    pub fn spec(&self) -> String {
        let options = match self.options.is_empty() {
            true => String::new(),
            false => format!(":{}", self.options.join(",")),
        };
        format!(
            "[{}@{}+{}{options}]",
            self.driver, self.graph_root, self.run_root
        )
    }
}

#[derive(Debug, Default, Deserialize)]
struct StorageConf {
    driver: Option<String>,
    graphroot: Option<String>,
    runroot: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ConfFile {
    #[serde(default)]
    storage: StorageConf,
}

fn parse_conf(text: &str) -> Result<StorageConf> {
    toml::from_str::<ConfFile>(text)
        .map(|f| f.storage)
        .map_err(|e| Error::Invalid(format!("storage.conf: {e}")))
}

/// One image as `images.json` records it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StoredImage {
    pub id: String,
    #[serde(default)]
    pub digest: Option<String>,
    #[serde(default)]
    pub digests: Vec<String>,
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default, rename = "big-data-names")]
    pub big_data_names: Vec<String>,
}

/// Parses `images.json`.
pub fn parse_images(bytes: &[u8]) -> Result<Vec<StoredImage>> {
    serde_json::from_slice(bytes).map_err(|e| Error::Invalid(format!("images.json: {e}")))
}

/// The file a big-data item `key` is kept in: the key itself when it is only `.`, digits and
/// lower-case letters, else `=` and its base64.
pub fn big_data_file_name(key: &str) -> String {
    let plain = key
        .chars()
        .all(|c| c == '.' || c.is_ascii_digit() || c.is_ascii_lowercase());
    match plain {
        true => key.to_owned(),
        false => {
            use base64::Engine;
            format!("={}", base64::engine::general_purpose::STANDARD.encode(key))
        }
    }
}

/// The image `wanted` names among `images`: by ID (or a unique ID prefix), by name, or by a
/// name's repository and a manifest digest.
pub fn find<'i>(images: &'i [StoredImage], wanted: &StorageImage) -> Option<&'i StoredImage> {
    let by_id = |id: &str| {
        let mut matching = images.iter().filter(|i| i.id.starts_with(id));
        let found = matching.next()?;
        match matching.next().is_some() && found.id != id {
            true => None,
            false => Some(found),
        }
    };
    if let Some(id) = &wanted.id {
        // With a name too, the image must carry that name.
        return by_id(id).filter(|image| {
            wanted
                .reference
                .as_ref()
                .is_none_or(|r| image.names.iter().any(|n| *n == r.to_string()))
        });
    }
    let reference = wanted.reference.as_ref()?;
    // A bare hexadecimal name is an ID (or its prefix) when the store has such an image.
    if let Some(hex) = reference.path().strip_prefix("library/") {
        let is_id = hex.len() >= 3 && hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
        if let Some(found) = is_id.then(|| by_id(hex)).flatten() {
            return Some(found);
        }
    }
    if let Some(digest) = reference.digest_str() {
        let repo = reference.name();
        return images.iter().find(|i| {
            let has_digest =
                i.digest.as_deref() == Some(digest) || i.digests.iter().any(|d| d == digest);
            let in_repo = i
                .names
                .iter()
                .any(|n| Reference::parse_normalized_named(n).is_ok_and(|r| r.name() == repo));
            has_digest && in_repo
        });
    }
    let full = reference.to_string();
    images.iter().find(|i| i.names.contains(&full))
}

/// One image of a store, read for `inspect`.
pub struct StorageSource<'a, F: Filesystem> {
    fs: &'a F,
    dir: String,
    reference: Option<Reference>,
    manifest: (Vec<u8>, String),
}

impl<'a, F: Filesystem> StorageSource<'a, F> {
    /// Opens the image `wanted` names in `store`.
    pub async fn open(fs: &'a F, store: &Store, wanted: &StorageImage) -> Result<Self> {
        let images_dir = store.images_dir();
        let listed = match fs.read_file(&join_path(&images_dir, "images.json")).await {
            Ok(bytes) => parse_images(&bytes)?,
            Err(e) if e.kind == crate::effects::EffectErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e.into()),
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
        let key = match wanted.reference.as_ref().and_then(|r| r.digest_str()) {
            Some(d) => format!("manifest-{d}"),
            None => "manifest".to_owned(),
        };
        let path = join_path(&dir, &big_data_file_name(&key));
        let bytes = fs.read_file(&path).await?;
        let mime = crate::manifest::guess_mime_type(&bytes).to_owned();
        Ok(StorageSource {
            fs,
            dir,
            reference,
            manifest: (bytes, mime),
        })
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
                    .await?;
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_data_names_are_kept_plain_or_in_base64() {
        assert_eq!(big_data_file_name("manifest"), "manifest");
        assert_eq!(
            big_data_file_name("sha256:ab"),
            format!("={}", "c2hhMjU2OmFi")
        );
    }

    #[test]
    fn stores_take_what_the_name_and_storage_conf_leave_open() {
        let conf = "[storage]\ndriver = \"vfs\"\ngraphroot = \"/g\"\n";
        let store = Store::resolve(None, Some(conf), |_| false).unwrap();
        assert_eq!(store.spec(), "[vfs@/g+/run/containers/storage]");
        let found = Store::resolve(None, None, |p| p.ends_with("/vfs-images")).unwrap();
        assert_eq!(found.driver, "vfs");
    }

    #[test]
    fn images_are_found_by_name_digest_and_id_prefix() {
        let images = parse_images(br#"[{"id":"fff46a509d6d","digest":"sha256:e677","names":["docker.io/demo/app:v1"]},{"id":"fff99","names":[]}]"#).unwrap();
        let by = |s: &str| match crate::transport::ImageName::parse(&format!(
            "containers-storage:{s}"
        )) {
            Ok(crate::transport::ImageName::ContainersStorage(w)) => {
                find(&images, &w).map(|i| i.id.clone())
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(by("demo/app:v1").as_deref(), Some("fff46a509d6d"));
        assert_eq!(by("nope:v1"), None);
        assert_eq!(by("fff46a").as_deref(), Some("fff46a509d6d"));
        assert_eq!(by("fff"), None, "ambiguous prefix");
    }
}
