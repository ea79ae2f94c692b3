//! A [`LayerTree`] in memory: what applying a layer would make, without a file system. Tests
//! and the fuzzers use it to see where a layer writes (everything must stay under the root).

use super::apply::{LayerTree, Node, NodeMeta};
use crate::effects::{ByteStream, EffectError, EffectErrorKind};
use std::cell::RefCell;
use std::collections::BTreeMap;

/// What a path holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Directory,
    File(Vec<u8>),
    /// A symlink, hard link, device or fifo, as made.
    Other(String),
}

/// Paths to what they hold; `root` exists from the start.
pub struct MemoryTree {
    root: String,
    pub entries: RefCell<BTreeMap<String, Entry>>,
}

impl MemoryTree {
    /// A tree holding only the directory `root`.
    pub fn new(root: &str) -> Self {
        let entries = BTreeMap::from([(root.to_owned(), Entry::Directory)]);
        MemoryTree {
            root: root.to_owned(),
            entries: RefCell::new(entries),
        }
    }

    /// Fails for a path outside the root: applying must never ask for one.
    fn inside(&self, path: &str) -> Result<(), EffectError> {
        let under = path == self.root
            || path
                .strip_prefix(&self.root)
                .is_some_and(|rest| rest.starts_with('/') && !rest.split('/').any(|p| p == ".."));
        match under {
            true => Ok(()),
            false => panic!("{path:?} is outside {:?}", self.root),
        }
    }

    fn parent_exists(&self, path: &str) -> Result<(), EffectError> {
        let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
        match self.entries.borrow().get(parent) {
            Some(Entry::Directory) => Ok(()),
            _ => Err(EffectError::new(
                EffectErrorKind::NotFound,
                format!("open {path}: no such file or directory"),
            )),
        }
    }
}

impl LayerTree for MemoryTree {
    async fn make(&self, path: &str, node: Node<'_>, _meta: &NodeMeta) -> Result<(), EffectError> {
        self.inside(path)?;
        self.parent_exists(path)?;
        let entry = match node {
            Node::Directory => Entry::Directory,
            Node::HardLink(target) => {
                self.inside(target)?;
                Entry::Other(format!("link to {target}"))
            }
            other => Entry::Other(format!("{other:?}")),
        };
        let mut entries = self.entries.borrow_mut();
        if !(entry == Entry::Directory && entries.get(path) == Some(&Entry::Directory)) {
            entries.insert(path.to_owned(), entry);
        }
        Ok(())
    }

    async fn make_file<S: ByteStream>(
        &self,
        path: &str,
        _meta: &NodeMeta,
        contents: &mut S,
    ) -> Result<(), EffectError> {
        self.inside(path)?;
        self.parent_exists(path)?;
        let mut bytes = Vec::new();
        loop {
            let chunk = contents.read_chunk().await?;
            if chunk.is_empty() {
                break;
            }
            bytes.extend_from_slice(&chunk);
        }
        self.entries
            .borrow_mut()
            .insert(path.to_owned(), Entry::File(bytes));
        Ok(())
    }

    async fn lstat_is_dir(&self, path: &str) -> Result<Option<bool>, EffectError> {
        self.inside(path)?;
        Ok(self
            .entries
            .borrow()
            .get(path)
            .map(|e| *e == Entry::Directory))
    }

    async fn remove_all(&self, path: &str) -> Result<(), EffectError> {
        self.inside(path)?;
        let below = format!("{path}/");
        self.entries
            .borrow_mut()
            .retain(|p, _| p != path && !p.starts_with(&below));
        Ok(())
    }

    async fn make_dirs(&self, path: &str) -> Result<(), EffectError> {
        self.inside(path)?;
        let mut at = self.root.clone();
        for part in path[self.root.len()..].split('/').filter(|p| !p.is_empty()) {
            at = format!("{at}/{part}");
            let mut entries = self.entries.borrow_mut();
            match entries.get(&at) {
                Some(Entry::Directory) => {}
                Some(_) => {
                    return Err(EffectError::new(
                        EffectErrorKind::Other,
                        format!("mkdir {at}: not a directory"),
                    ))
                }
                None => {
                    entries.insert(at.clone(), Entry::Directory);
                }
            }
        }
        Ok(())
    }

    async fn list(&self, path: &str) -> Result<Vec<String>, EffectError> {
        self.inside(path)?;
        let below = format!("{path}/");
        Ok(self
            .entries
            .borrow()
            .keys()
            .filter_map(|p| p.strip_prefix(&below))
            .filter(|rest| !rest.contains('/'))
            .map(str::to_owned)
            .collect())
    }

    async fn set_xattr(&self, path: &str, _name: &str, _value: &[u8]) -> Result<(), EffectError> {
        self.inside(path)
    }

    async fn set_times(
        &self,
        path: &str,
        _mtime: (i64, u32),
        _atime: (i64, u32),
    ) -> Result<(), EffectError> {
        self.inside(path)
    }
}
