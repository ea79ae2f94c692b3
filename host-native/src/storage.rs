//! `containers-storage:` on this host: the `storage.conf` containers/storage reads
//! (`CONTAINERS_STORAGE_CONF`, else the user's when not root, else /etc/containers, else
//! /usr/share/containers) and the store an image name leaves open resolved from it.

use skopeo_core::containers_storage::Store;
use skopeo_core::transport::StoreSpec;

/// The `storage.conf` text in force, if any.
fn storage_conf() -> Option<String> {
    let mut candidates = Vec::new();
    if let Ok(path) = std::env::var("CONTAINERS_STORAGE_CONF") {
        candidates.push(std::path::PathBuf::from(path));
    } else {
        if !rustix::process::geteuid().is_root() {
            let config = std::env::var_os("XDG_CONFIG_HOME")
                .map(std::path::PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".config"))
                });
            if let Some(dir) = config {
                candidates.push(dir.join("containers/storage.conf"));
            }
        }
        candidates.push("/etc/containers/storage.conf".into());
        candidates.push("/usr/share/containers/storage.conf".into());
    }
    candidates
        .into_iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
}

/// The store `spec` (from the image name) names, completed from `storage.conf`.
pub fn store(spec: Option<&StoreSpec>) -> Result<Store, String> {
    let conf = storage_conf();
    Store::resolve(spec, conf.as_deref(), |p| std::path::Path::new(p).is_dir())
        .map_err(|e| e.to_string())
}
