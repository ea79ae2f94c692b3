//! Trust: signatures checked against policy.json's requirements, and the signing that makes
//! them. Pure computation: keys, signatures and manifests come in as bytes, the time as a
//! number; hosts read files, drive GnuPG and talk to registries.

pub mod cosign_key;
pub mod identity;
pub mod openpgp;
pub mod policy_eval;
pub mod rekor;
pub mod requirement;
pub mod sigstore;
pub mod sigstore_eval;
pub mod simple_signing;
pub mod standalone;

/// Byte strings as base64 JSON strings (Go's `[]byte` encoding).
mod base64_field {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        base64::engine::general_purpose::STANDARD
            .decode(String::deserialize(d)?)
            .map_err(serde::de::Error::custom)
    }
}
pub mod x509;

/// Go's `base64.StdEncoding.DecodeString`, which skips line breaks.
pub(crate) fn go_base64_decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine as _;
    let joined: String = text.chars().filter(|c| *c != '\n' && *c != '\r').collect();
    base64::engine::general_purpose::STANDARD.decode(joined)
}
