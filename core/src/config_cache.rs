//! Image configs kept across runs, by repository and digest. A config is content-addressed, so
//! an entry is verified against its digest when read back, never trusted; one that does not
//! match is dropped and fetched again. The store itself is a host effect ([`ConfigCache`]):
//! the native CLI keeps files in the user's cache directory, other hosts keep nothing.

use crate::digest::{verify_bytes, Digest};
use crate::reference::Reference;
use crate::source::ImageSource;
use crate::Result;

/// Configs larger than this are not kept (real ones are a few KiB).
pub const MAX_CACHED_CONFIG: usize = 1 << 20;

/// Where configs read before are kept. `scope` names the repository the config was read
/// from (`host[:port]/path`): an entry is only reused for the repository that served it.
pub trait ConfigCache {
    /// The bytes stored for `digest` in `scope`, if any (unverified).
    async fn load(&self, scope: &str, digest: &Digest) -> Option<Vec<u8>>;
    /// Keeps `bytes` (already verified against `digest`); failures are ignored.
    async fn store(&self, scope: &str, digest: &Digest, bytes: &[u8]);
    /// Forgets a stored entry that failed verification.
    async fn forget(&self, scope: &str, digest: &Digest);
}

/// A cache that keeps nothing (hosts without a place for one).
pub struct NoConfigCache;

impl ConfigCache for NoConfigCache {
    async fn load(&self, _scope: &str, _digest: &Digest) -> Option<Vec<u8>> {
        None
    }
    async fn store(&self, _scope: &str, _digest: &Digest, _bytes: &[u8]) {}
    async fn forget(&self, _scope: &str, _digest: &Digest) {}
}

/// An [`ImageSource`] whose configs come from `cache` when it has them (verified), and are
/// put there when read from the source.
pub struct CachedConfigs<'a, S, C> {
    source: &'a S,
    cache: &'a C,
    scope: String,
}

impl<'a, S: ImageSource, C: ConfigCache> CachedConfigs<'a, S, C> {
    /// Wraps `source`, whose configs are read from the repository `physical`.
    pub fn new(source: &'a S, cache: &'a C, physical: &Reference) -> Self {
        CachedConfigs {
            source,
            cache,
            scope: physical.name(),
        }
    }
}

impl<S: ImageSource, C: ConfigCache> ImageSource for CachedConfigs<'_, S, C> {
    async fn manifest(&self, instance: Option<&Digest>) -> Result<(Vec<u8>, String)> {
        self.source.manifest(instance).await
    }

    async fn small_blob(&self, digest: &Digest, size: Option<u64>) -> Result<Vec<u8>> {
        if let Some(bytes) = self.cache.load(&self.scope, digest).await {
            if verify_bytes(&bytes, digest, size).is_ok() {
                return Ok(bytes);
            }
            self.cache.forget(&self.scope, digest).await;
        }
        let bytes = self.source.small_blob(digest, size).await?;
        if bytes.len() <= MAX_CACHED_CONFIG {
            self.cache.store(&self.scope, digest, &bytes).await;
        }
        Ok(bytes)
    }

    fn docker_reference(&self) -> Option<&Reference> {
        self.source.docker_reference()
    }

    async fn signatures(
        &self,
        instance: Option<&Digest>,
    ) -> Result<Vec<crate::signature::Signature>> {
        self.source.signatures(instance).await
    }
}

#[cfg(test)]
mod tests;
