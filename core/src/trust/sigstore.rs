//! Sigstore (cosign) signatures: a payload in simple signing's format, an ECDSA P-256
//! signature over it in an annotation, kept as an OCI attachment (`sha256-HEX.sig`) or in
//! the tagged signature form. Verified with a public key, made with a private one.

use crate::trust::simple_signing::{SimpleSignature, SIGSTORE_TYPE};
use base64::Engine as _;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::pkcs8::{DecodePublicKey, EncodePublicKey};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The media type of a sigstore signature's payload layer.
pub const SIGNATURE_MIME_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The annotation holding the base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";

/// A sigstore signature as stored in the tagged form (`\0sigstore-json\n` + this JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigstoreSignature {
    #[serde(rename = "mimeType")]
    pub mime_type: String,
    /// The signed payload (base64 in JSON).
    #[serde(with = "super::base64_field")]
    pub payload: Vec<u8>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl SigstoreSignature {
    /// Reads the JSON after the tagged form's format line.
    pub fn from_json(data: &[u8]) -> Result<SigstoreSignature, String> {
        serde_json::from_slice(data).map_err(|e| format!("parsing sigstore signature: {e}"))
    }

    /// The JSON to store after the format line.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a map of strings serialises")
    }

    /// Whether this attachment is a signature (cosign attaches other things too).
    pub fn is_signature(&self) -> bool {
        self.mime_type == SIGNATURE_MIME_TYPE
    }

    /// Signs `manifest_digest` under `docker_reference` with `key`, made now by `creator`.
    pub fn sign(
        key: &p256::ecdsa::SigningKey,
        manifest_digest: &str,
        docker_reference: &str,
        creator: &str,
        now: i64,
    ) -> SigstoreSignature {
        let claims = SimpleSignature::new(manifest_digest, docker_reference, creator, now);
        let payload = claims.to_payload_of(SIGSTORE_TYPE);
        let signature: p256::ecdsa::DerSignature = key.sign(&payload);
        SigstoreSignature {
            mime_type: SIGNATURE_MIME_TYPE.into(),
            payload,
            annotations: BTreeMap::from([(
                SIGNATURE_ANNOTATION.to_owned(),
                base64::engine::general_purpose::STANDARD.encode(signature.as_bytes()),
            )]),
        }
    }

    /// Checks the signature with one of `keys` and returns the payload's claims.
    pub fn verify(&self, keys: &[p256::ecdsa::VerifyingKey]) -> Result<SimpleSignature, String> {
        let encoded = self
            .annotations
            .get(SIGNATURE_ANNOTATION)
            .ok_or_else(|| format!("missing {SIGNATURE_ANNOTATION} annotation"))?;
        let raw = super::go_base64_decode(encoded).map_err(|e| format!("base64 decoding: {e}"))?;
        let signature = p256::ecdsa::DerSignature::from_bytes(&raw)
            .ok()
            .and_then(|d| p256::ecdsa::Signature::from_der(d.as_bytes()).ok());
        let verified =
            signature.is_some_and(|s| keys.iter().any(|k| k.verify(&self.payload, &s).is_ok()));
        if !verified {
            return Err(
                "cryptographic signature verification failed: invalid signature when validating ASN.1 encoded signature"
                    .into(),
            );
        }
        SimpleSignature::parse_of(&self.payload, SIGSTORE_TYPE)
    }
}

impl SigstoreSignature {
    /// Checks the signature with a certificate's key and returns the payload's claims.
    pub fn verify_with_certificate(
        &self,
        key: &crate::trust::x509::CertKey,
    ) -> Result<SimpleSignature, String> {
        let encoded = self
            .annotations
            .get(SIGNATURE_ANNOTATION)
            .ok_or_else(|| format!("missing {SIGNATURE_ANNOTATION} annotation"))?;
        let raw = super::go_base64_decode(encoded).map_err(|e| format!("base64 decoding: {e}"))?;
        if !key.verifies(&self.payload, &raw) {
            return Err("cryptographic signature verification failed: invalid signature".into());
        }
        SimpleSignature::parse_of(&self.payload, SIGSTORE_TYPE)
    }
}

/// Reads a PEM `PUBLIC KEY` (ECDSA P-256), with containers/image's complaint.
pub fn public_key_from_pem(pem: &[u8]) -> Result<p256::ecdsa::VerifyingKey, String> {
    let text = std::str::from_utf8(pem)
        .map_err(|_| "parsing public key: PEM decoding failed".to_string())?;
    if !text.contains("-----BEGIN PUBLIC KEY-----") {
        return Err("parsing public key: PEM decoding failed".into());
    }
    p256::ecdsa::VerifyingKey::from_public_key_pem(text.trim())
        .map_err(|e| format!("parsing public key: unsupported public key type or encoding ({e})"))
}

/// The PEM `PUBLIC KEY` of a signing key, as cosign writes `*.pub`.
pub fn public_key_pem(key: &p256::ecdsa::SigningKey) -> String {
    verifying_key_pem(key.verifying_key())
}

/// The PEM `PUBLIC KEY` of a public key.
pub fn verifying_key_pem(key: &p256::ecdsa::VerifyingKey) -> String {
    key.to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .expect("a P-256 key encodes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_made_here_verify_with_the_key_and_only_with_it() {
        let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let other = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
        let digest = format!("sha256:{}", "a".repeat(64));
        let signature = SigstoreSignature::sign(&key, &digest, "example.com/a:b", "test", 1);
        let round = SigstoreSignature::from_json(&signature.to_json()).unwrap();
        let pem = public_key_pem(&key);
        let public = public_key_from_pem(pem.as_bytes()).unwrap();
        let claims = round.verify(&[public]).unwrap();
        assert_eq!(claims.manifest_digest, digest);
        assert_eq!(claims.docker_reference, "example.com/a:b");
        assert!(round.verify(&[*other.verifying_key()]).is_err());
    }
}
