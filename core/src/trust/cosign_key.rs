//! Sigstore private keys in cosign's format: a PKCS#8 P-256 key sealed with NaCl secretbox
//! under a key scrypt derives from the passphrase, as JSON inside an `ENCRYPTED SIGSTORE
//! PRIVATE KEY` PEM block (cosign's older `ENCRYPTED COSIGN PRIVATE KEY` reads too).

use base64::Engine as _;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::XSalsa20Poly1305;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use serde::{Deserialize, Serialize};

/// The PEM label skopeo and current cosign write.
pub const PEM_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
const OLD_PEM_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";

/// scrypt's cost as cosign generates keys.
const SCRYPT_LOG_N: u8 = 16;
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Sealed {
    kdf: Kdf,
    cipher: Cipher,
    #[serde(with = "super::base64_field")]
    ciphertext: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    #[serde(with = "super::base64_field")]
    salt: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    #[serde(with = "super::base64_field")]
    nonce: Vec<u8>,
}

fn derive_key(passphrase: &[u8], salt: &[u8], params: &ScryptParams) -> Result<[u8; 32], String> {
    if !params.n.is_power_of_two() || params.n < 2 {
        return Err(format!("invalid scrypt N {}", params.n));
    }
    let log_n = params.n.trailing_zeros() as u8;
    let scrypt = scrypt::Params::new(log_n, params.r, params.p)
        .map_err(|e| format!("invalid scrypt parameters: {e}"))?;
    let mut key = [0u8; 32];
    scrypt::scrypt(passphrase, salt, &scrypt, &mut key).map_err(|e| e.to_string())?;
    Ok(key)
}

/// Opens a sealed private key with `passphrase`.
pub fn decrypt(pem: &[u8], passphrase: &[u8]) -> Result<p256::ecdsa::SigningKey, String> {
    let text = std::str::from_utf8(pem).map_err(|_| "invalid private key: not PEM".to_string())?;
    let body = [PEM_LABEL, OLD_PEM_LABEL]
        .iter()
        .find_map(|label| pem_body(text, label))
        .ok_or_else(|| {
            format!("unsupported private key: expected a PEM block of type {PEM_LABEL:?}")
        })?;
    let json = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| format!("invalid private key: {e}"))?;
    let sealed: Sealed =
        serde_json::from_slice(&json).map_err(|e| format!("invalid private key: {e}"))?;
    if sealed.kdf.name != "scrypt" || sealed.cipher.name != "nacl/secretbox" {
        return Err(format!(
            "unsupported private key encryption {}/{}",
            sealed.kdf.name, sealed.cipher.name
        ));
    }
    let key = derive_key(passphrase, &sealed.kdf.salt, &sealed.kdf.params)?;
    let nonce: [u8; 24] = sealed
        .cipher
        .nonce
        .as_slice()
        .try_into()
        .map_err(|_| "invalid private key: nonce is not 24 bytes".to_string())?;
    let der = XSalsa20Poly1305::new(&key.into())
        .decrypt(&nonce.into(), sealed.ciphertext.as_slice())
        .map_err(|_| "decrypt: encrypted: decryption failed".to_string())?;
    p256::ecdsa::SigningKey::from_pkcs8_der(&der)
        .map_err(|e| format!("parsing private key: {e} (only ECDSA P-256 keys are supported)"))
}

/// Seals `key` with `passphrase` (`salt` and `nonce` are fresh random bytes).
pub fn encrypt(
    key: &p256::ecdsa::SigningKey,
    passphrase: &[u8],
    salt: [u8; 32],
    nonce: [u8; 24],
) -> Result<String, String> {
    let der = key
        .to_pkcs8_der()
        .map_err(|e| format!("encoding private key: {e}"))?;
    let params = ScryptParams {
        n: 1 << SCRYPT_LOG_N,
        r: SCRYPT_R,
        p: SCRYPT_P,
    };
    let box_key = derive_key(passphrase, &salt, &params)?;
    let ciphertext = XSalsa20Poly1305::new(&box_key.into())
        .encrypt(&nonce.into(), der.as_bytes())
        .map_err(|_| "encrypting private key failed".to_string())?;
    let sealed = Sealed {
        kdf: Kdf {
            name: "scrypt".into(),
            params,
            salt: salt.to_vec(),
        },
        cipher: Cipher {
            name: "nacl/secretbox".into(),
            nonce: nonce.to_vec(),
        },
        ciphertext,
    };
    let json = serde_json::to_vec(&sealed).expect("plain data serialises");
    Ok(pem_block(PEM_LABEL, &json))
}

fn pem_body(text: &str, label: &str) -> Option<String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = text[start..].find(&end)? + start;
    Some(text[start..stop].split_whitespace().collect())
}

fn pem_block(label: &str, der: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_with_their_passphrase_only() {
        let key = p256::ecdsa::SigningKey::from_slice(&[3u8; 32]).unwrap();
        let pem = encrypt(&key, b"pw", [1; 32], [2; 24]).unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        assert_eq!(decrypt(pem.as_bytes(), b"pw").unwrap(), key);
        assert_eq!(
            decrypt(pem.as_bytes(), b"other").unwrap_err(),
            "decrypt: encrypted: decryption failed"
        );
    }
}
