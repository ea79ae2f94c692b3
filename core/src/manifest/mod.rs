//! Image manifests of every schema: media types, digests, parsed views, platform choice.

pub mod document;
pub mod jws;
pub mod mime;
pub mod platform;
pub mod schema1;
pub mod types;

pub use mime::guess_mime_type;
pub use types::{Descriptor, Manifest, ManifestError};

use crate::digest::Digest;

/// A manifest's digest as registries compute it: the sha256 of its bytes, except that a signed
/// schema 1 manifest is digested without its JWS signatures.
pub fn manifest_digest(manifest: &[u8]) -> Result<Digest, String> {
    if guess_mime_type(manifest) == mime::DOCKER_V2_SCHEMA1_SIGNED {
        let payload = jws::payload(manifest)?;
        return Ok(Digest::sha256_of(&payload));
    }
    Ok(Digest::sha256_of(manifest))
}

/// Whether `manifest` matches `expected` (used to verify manifests fetched by digest).
pub fn matches_digest(manifest: &[u8], expected: &Digest) -> Result<bool, String> {
    if expected.algorithm() != crate::digest::Algorithm::Sha256 {
        let mut d = crate::digest::Digester::new(expected.algorithm());
        d.update(manifest);
        return Ok(&d.finish() == expected);
    }
    Ok(&manifest_digest(manifest)? == expected)
}
