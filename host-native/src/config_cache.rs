//! The native [`ConfigCache`]: image configs kept as files under the user's cache directory
//! (`$XDG_CACHE_HOME/skopeo-rs/configs`, else `~/.cache/skopeo-rs/configs`), one directory per
//! repository. Entries are content-addressed and verified by the core when read, so a damaged
//! or tampered file costs one refetch, never a wrong answer. `SKOPEO_RS_NO_CACHE=1` turns the
//! cache off. Every failure here is ignored: the cache only ever saves a request.

use skopeo_core::config_cache::ConfigCache;
use skopeo_core::digest::Digest;
use std::path::PathBuf;

/// Entries kept per cache before the oldest half is pruned.
const MAX_ENTRIES: usize = 2048;

/// Configs kept as files in one directory tree.
pub struct FileConfigCache {
    root: Option<PathBuf>,
}

impl FileConfigCache {
    /// The user's cache, or one that keeps nothing when it is turned off or has no home.
    pub fn for_user() -> Self {
        let off = std::env::var_os("SKOPEO_RS_NO_CACHE").is_some_and(|v| !v.is_empty() && v != "0");
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
        FileConfigCache {
            root: base
                .filter(|_| !off)
                .map(|b| b.join("skopeo-rs").join("configs")),
        }
    }

    fn scope_dir(&self, scope: &str) -> Option<PathBuf> {
        // Repository names may hold ports and slashes: the directory is named by its digest.
        let name = Digest::sha256_of(scope.as_bytes());
        Some(self.root.as_ref()?.join(name.hex()))
    }

    fn entry(&self, scope: &str, digest: &Digest) -> Option<PathBuf> {
        let file = format!("{}-{}", digest.algorithm().name(), digest.hex());
        Some(self.scope_dir(scope)?.join(file))
    }

    /// Deletes the older half of the entries once there are more than [`MAX_ENTRIES`].
    fn prune(&self) {
        let Some(root) = &self.root else { return };
        let mut entries: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
        let Ok(scopes) = std::fs::read_dir(root) else {
            return;
        };
        for scope in scopes.flatten() {
            let Ok(files) = std::fs::read_dir(scope.path()) else {
                continue;
            };
            for file in files.flatten() {
                let modified = file.metadata().and_then(|m| m.modified());
                if let Ok(modified) = modified {
                    entries.push((modified, file.path()));
                }
            }
        }
        if entries.len() <= MAX_ENTRIES {
            return;
        }
        entries.sort();
        for (_, path) in &entries[..entries.len() / 2] {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl ConfigCache for FileConfigCache {
    async fn load(&self, scope: &str, digest: &Digest) -> Option<Vec<u8>> {
        std::fs::read(self.entry(scope, digest)?).ok()
    }

    async fn store(&self, scope: &str, digest: &Digest, bytes: &[u8]) {
        let (Some(dir), Some(path)) = (self.scope_dir(scope), self.entry(scope, digest)) else {
            return;
        };
        let fresh_dir = !dir.exists();
        if std::fs::create_dir_all(&dir).is_err() {
            return;
        }
        // Written beside the entry and renamed into place, so a reader never sees half a file.
        let tmp = dir.join(format!(".tmp-{}-{}", std::process::id(), digest.hex()));
        if std::fs::write(&tmp, bytes).is_err() || std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
            return;
        }
        // Counting entries costs a directory walk: done only when a repository is new.
        if fresh_dir {
            self.prune();
        }
    }

    async fn forget(&self, scope: &str, digest: &Digest) {
        if let Some(path) = self.entry(scope, digest) {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache_in(dir: &std::path::Path) -> FileConfigCache {
        FileConfigCache {
            root: Some(dir.to_path_buf()),
        }
    }

    #[test]
    fn stores_loads_and_forgets_per_repository() {
        let dir = tempdir();
        let cache = cache_in(&dir);
        let digest = Digest::sha256_of(b"{}");
        pollster::block_on(cache.store("localhost:5000/a", &digest, b"{}"));
        let loaded = pollster::block_on(cache.load("localhost:5000/a", &digest));
        assert_eq!(loaded.as_deref(), Some(&b"{}"[..]));
        assert_eq!(
            pollster::block_on(cache.load("localhost:5000/b", &digest)),
            None
        );
        pollster::block_on(cache.forget("localhost:5000/a", &digest));
        assert_eq!(
            pollster::block_on(cache.load("localhost:5000/a", &digest)),
            None
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn prunes_the_oldest_half_when_full() {
        let dir = tempdir();
        let cache = cache_in(&dir);
        let scope_dir = cache.scope_dir("r").unwrap();
        std::fs::create_dir_all(&scope_dir).unwrap();
        for i in 0..=MAX_ENTRIES {
            std::fs::write(scope_dir.join(format!("sha256-{i}")), b"x").unwrap();
        }
        cache.prune();
        let left = std::fs::read_dir(&scope_dir).unwrap().count();
        // 2049 entries: the oldest 1024 go.
        assert_eq!(left, MAX_ENTRIES + 1 - MAX_ENTRIES / 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempdir() -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("config-cache-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
