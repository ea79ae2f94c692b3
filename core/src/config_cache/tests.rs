use super::*;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// A source serving one config, counting how often it is asked.
struct OneConfig {
    config: Vec<u8>,
    reads: Cell<usize>,
}

impl ImageSource for OneConfig {
    async fn manifest(&self, _instance: Option<&Digest>) -> Result<(Vec<u8>, String)> {
        Ok((b"{}".to_vec(), String::new()))
    }
    async fn small_blob(&self, digest: &Digest, _size: Option<u64>) -> Result<Vec<u8>> {
        self.reads.set(self.reads.get() + 1);
        assert_eq!(*digest, Digest::sha256_of(&self.config));
        Ok(self.config.clone())
    }
    fn docker_reference(&self) -> Option<&Reference> {
        None
    }
}

#[derive(Default)]
struct MemoryCache(RefCell<HashMap<(String, String), Vec<u8>>>);

impl ConfigCache for MemoryCache {
    async fn load(&self, scope: &str, digest: &Digest) -> Option<Vec<u8>> {
        let key = (scope.to_owned(), digest.to_string());
        self.0.borrow().get(&key).cloned()
    }
    async fn store(&self, scope: &str, digest: &Digest, bytes: &[u8]) {
        let key = (scope.to_owned(), digest.to_string());
        self.0.borrow_mut().insert(key, bytes.to_vec());
    }
    async fn forget(&self, scope: &str, digest: &Digest) {
        let key = (scope.to_owned(), digest.to_string());
        self.0.borrow_mut().remove(&key);
    }
}

fn fixture() -> (OneConfig, Digest, Reference, Reference) {
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let digest = Digest::sha256_of(&config);
    let here = Reference::parse_normalized_named("localhost:5000/a/b").unwrap();
    let there = Reference::parse_normalized_named("localhost:5000/other").unwrap();
    let source = OneConfig {
        config,
        reads: Cell::new(0),
    };
    (source, digest, here, there)
}

#[test]
fn a_config_read_once_comes_from_the_cache_after() {
    let (source, digest, here, _) = fixture();
    let cache = MemoryCache::default();
    let cached = CachedConfigs::new(&source, &cache, &here);
    for _ in 0..3 {
        let bytes = pollster::block_on(cached.small_blob(&digest, None)).unwrap();
        assert_eq!(bytes, source.config);
    }
    assert_eq!(source.reads.get(), 1);
}

#[test]
fn entries_are_kept_per_repository() {
    let (source, digest, here, there) = fixture();
    let cache = MemoryCache::default();
    pollster::block_on(CachedConfigs::new(&source, &cache, &here).small_blob(&digest, None))
        .unwrap();
    pollster::block_on(CachedConfigs::new(&source, &cache, &there).small_blob(&digest, None))
        .unwrap();
    assert_eq!(source.reads.get(), 2);
}

#[test]
fn a_tampered_entry_is_dropped_and_fetched_again() {
    let (source, digest, here, _) = fixture();
    let cache = MemoryCache::default();
    pollster::block_on(cache.store(&here.name(), &digest, b"{\"os\":\"evil\"}"));
    let cached = CachedConfigs::new(&source, &cache, &here);
    let bytes = pollster::block_on(cached.small_blob(&digest, None)).unwrap();
    assert_eq!(bytes, source.config);
    assert_eq!(source.reads.get(), 1);
    let kept = pollster::block_on(cache.load(&here.name(), &digest)).unwrap();
    assert_eq!(
        kept, source.config,
        "the good bytes replace the tampered ones"
    );
}

#[test]
fn nothing_is_kept_without_a_cache() {
    let (source, digest, here, _) = fixture();
    let cached = CachedConfigs::new(&source, &NoConfigCache, &here);
    for _ in 0..2 {
        pollster::block_on(cached.small_blob(&digest, None)).unwrap();
    }
    assert_eq!(source.reads.get(), 2);
}
