//! What writing into a store asks of the host beyond files: containers/storage's locks, tree
//! copies, symlinks, the clock and randomness; and the formats those carry (the lock files'
//! last-writer token, overlay's short link names, the layer and image IDs).

use super::apply::LayerTree;
use crate::digest::Digest;
use crate::effects::{EffectError, FilesystemWrite};

/// The host's side of writing a store.
pub trait StoreWrite: FilesystemWrite + LayerTree {
    /// A held lock.
    type Lock: StoreLock;

    /// Takes containers/storage's write lock on the file `path` (a POSIX record lock on the
    /// whole file, the file created 0644 with its parents if missing), waiting for it.
    async fn lock_file(&self, path: &str) -> Result<Self::Lock, EffectError>;

    /// Copies the tree `from` to the new directory `to`, keeping contents, hard links,
    /// devices, owners, modes, xattrs and times (how `vfs` starts a layer from its parent).
    async fn copy_tree(&self, from: &str, to: &str) -> Result<(), EffectError>;

    /// Makes the directory `path` with exactly `mode` (parents must exist).
    async fn make_dir_with_mode(&self, path: &str, mode: u32) -> Result<(), EffectError>;

    /// Makes the symlink `path` pointing at `target`.
    async fn symlink(&self, target: &str, path: &str) -> Result<(), EffectError>;

    /// Writes `bytes` to `path` (mode 0600) through a temporary file renamed over it, synced
    /// first, so readers see the old file or the new one.
    async fn write_atomic(&self, path: &str, bytes: &[u8]) -> Result<(), EffectError>;

    /// Nanoseconds since the Unix epoch.
    fn now_nanos(&self) -> i128;

    /// Fills `buf` with random bytes.
    fn random(&self, buf: &mut [u8]);

    /// This process's ID (for the last-writer token).
    fn process_id(&self) -> u32;
}

/// A held lock of [`StoreWrite::lock_file`], released when dropped.
pub trait StoreLock {
    /// Records that the locked data changed: writes a new last-writer token (see
    /// [`last_writer_token`]) into the lock file, which is how other containers/storage
    /// processes notice they must read the data again.
    fn touch(&mut self, token: &[u8; 64]) -> Result<(), EffectError>;
}

/// containers/storage's last-writer token: nanoseconds since the epoch, a per-process
/// counter (both little-endian u64), the process ID (little-endian u32) and 44 random bytes.
pub fn last_writer_token(nanos: i128, counter: u64, pid: u32, random: &[u8; 44]) -> [u8; 64] {
    let mut token = [0u8; 64];
    token[..8].copy_from_slice(&(nanos as u64).to_le_bytes());
    token[8..16].copy_from_slice(&counter.to_le_bytes());
    token[16..20].copy_from_slice(&pid.to_le_bytes());
    token[20..].copy_from_slice(random);
    token
}

/// The ID containers/image gives a layer: its diff ID's hex for a base layer, else the
/// SHA-256 of `PARENT+DIFFHEX`.
pub fn layer_id(parent: Option<&str>, diff_id: &Digest) -> String {
    match parent {
        None => diff_id.hex().to_owned(),
        Some(parent) => Digest::sha256_of(format!("{parent}+{}", diff_id.hex()).as_bytes())
            .hex()
            .to_owned(),
    }
}

/// overlay's short name for a layer (its `link` file and `l/` symlink): 26 characters of
/// base32 of 16 random bytes.
pub fn overlay_link_name(random: &[u8; 16]) -> String {
    let mut name = data_encoding::BASE32.encode(random);
    name.truncate(26);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_ids_chain_as_containers_image_chains_them() {
        let diff = Digest::parse(
            "sha256:4e6152537589c6501230b523d133dbc86dcb48c51e63f2e6129d3d56bfb6ec1d",
        )
        .unwrap();
        let base = layer_id(None, &diff);
        assert_eq!(base, diff.hex());
        // Seen in a store skopeo 1.9.3 wrote: the second layer of the same image.
        let top_diff = Digest::parse(
            "sha256:bd9419ad74cbaf0b0580bf6156ffe075ea21079f4bf2a977215d37dbbf4e8c41",
        )
        .unwrap();
        assert_eq!(
            layer_id(Some(&base), &top_diff),
            "24bce0bce1001148b01ed3b890a174d76e3b61aa320d3def9d4e26f0c876f807"
        );
    }

    #[test]
    fn tokens_and_link_names_have_containers_storage_shapes() {
        let token = last_writer_token(0x0102, 3, 7, &[9; 44]);
        assert_eq!(&token[..10], &[2, 1, 0, 0, 0, 0, 0, 0, 3, 0]);
        assert_eq!(&token[16..21], &[7, 0, 0, 0, 9]);
        let name = overlay_link_name(&[0xff; 16]);
        assert_eq!(name.len(), 26);
        assert!(name
            .bytes()
            .all(|c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(&c)));
    }
}
