//! containers/storage's image store: which store `storage.conf` and an image name give, and
//! the store's on-disk formats (images, layers, tar-split metadata) read and written as
//! containers/storage reads and writes them. The host does the file work and takes the locks.

pub mod apply;
mod dest;
mod images;
pub mod layers;
pub mod memory_tree;
mod records;
mod source;
pub mod store_write;
pub mod tar_reader;
pub mod tar_split;

pub use dest::StorageDestination;
pub use images::{big_data_file_name, find, parse_images, StoredImage};
pub use source::{no_match_line, transport_name, StorageBlob, StorageSource, NAME_AND_ID_DISAGREE};

use crate::source::join_path;
use crate::transport::StoreSpec;
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
