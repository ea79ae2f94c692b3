//! Schema 1 "pretty JWS" signatures (libtrust): recovering the signed payload, which is what a
//! signed schema 1 manifest's digest is computed over, and signing one with a throwaway key
//! (registries refuse unsigned schema 1 manifests; nothing checks who signed).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::SigningKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

#[derive(Deserialize)]
struct ParsedSignature {
    protected: String,
}

/// Strips the `signatures` of a signed schema 1 manifest, returning the payload bytes that
/// were signed. Error texts follow libtrust's.
pub fn payload(content: &[u8]) -> Result<Vec<u8>, String> {
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(content).map_err(|e| format!("error unmarshalling content: {e}"))?;
    let sigs = map
        .get("signatures")
        .ok_or_else(|| "missing signature key".to_owned())?;
    let blocks: Vec<ParsedSignature> = serde_json::from_value(sigs.clone()).map_err(|e| {
        let what = match sigs {
            serde_json::Value::Number(_) => "number",
            serde_json::Value::String(_) => "string",
            serde_json::Value::Bool(_) => "bool",
            serde_json::Value::Object(_) => "object",
            _ => return format!("error unmarshalling signatures: {e}"),
        };
        format!(
            "error unmarshalling signatures: json: cannot unmarshal {what} into Go value of type []libtrust.jsParsedSignature"
        )
    })?;
    let first = blocks
        .first()
        .ok_or_else(|| "missing signatures".to_owned())?;
    let protected =
        decode_b64url(&first.protected).map_err(|e| format!("base64 decode error: {e}"))?;
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&protected)
        .map_err(|e| format!("error unmarshalling protected header: {e}"))?;
    let format_length = header
        .get("formatLength")
        .and_then(serde_json::Value::as_f64)
        .ok_or_else(|| "cannot parse format length".to_owned())? as usize;
    let tail = header
        .get("formatTail")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| "cannot parse format tail".to_owned())?;
    let tail = decode_b64url(tail).map_err(|e| format!("base64 decode error: {e}"))?;
    if format_length > content.len() {
        return Err("invalid format length".to_owned());
    }
    let mut payload = content[..format_length].to_vec();
    payload.extend_from_slice(&tail);
    Ok(payload)
}

fn decode_b64url(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    URL_SAFE_NO_PAD.decode(s.trim_end_matches('='))
}

/// The DER prefix of a P-256 public key's SubjectPublicKeyInfo (algorithm ecPublicKey, curve
/// prime256v1, then the 65-byte uncompressed point as a bit string).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

#[derive(Serialize)]
struct Jwk {
    crv: &'static str,
    kid: String,
    kty: &'static str,
    x: String,
    y: String,
}

#[derive(Serialize)]
struct Header {
    jwk: Jwk,
    alg: &'static str,
}

#[derive(Serialize)]
struct Signature {
    header: Header,
    signature: String,
    protected: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Protected {
    format_length: usize,
    format_tail: String,
    time: String,
}

/// `payload` (compact JSON ending in `}`) signed as libtrust's `PrettySignature("signatures")`
/// does, ES256 with the P-256 key made from `key_seed`, dated `now_unix`.
pub fn sign_with_throwaway_key(
    payload: &[u8],
    key_seed: &[u8; 32],
    now_unix: i64,
) -> Result<Vec<u8>, crate::Error> {
    let invalid =
        |what: &str| crate::Error::Invalid(format!("signing a schema 1 manifest: {what}"));
    let close = payload
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .filter(|&i| payload[i] == b'}')
        .ok_or_else(|| invalid("the payload is not a JSON object"))?;
    let format_length = payload[..close]
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let protected = Protected {
        format_length,
        format_tail: URL_SAFE_NO_PAD.encode(&payload[format_length..]),
        time: crate::gotime::GoTime::from_unix(now_unix).rfc3339_nano(),
    };
    let protected = URL_SAFE_NO_PAD.encode(crate::gojson::to_compact(&protected, true));
    // A seed that is not a valid scalar (zero or past the group order) is hashed until it is.
    let mut seed = *key_seed;
    let key = loop {
        match SigningKey::from_slice(&seed) {
            Ok(key) => break key,
            Err(_) => seed = Sha256::digest(seed).into(),
        }
    };
    let signed = [
        protected.as_bytes(),
        b".",
        URL_SAFE_NO_PAD.encode(payload).as_bytes(),
    ]
    .concat();
    let signature: p256::ecdsa::Signature = key.sign(&signed);
    let point = key.verifying_key().to_sec1_point(false);
    let point = point.as_bytes();
    let spki = [&P256_SPKI_PREFIX[..], point].concat();
    let signatures = [Signature {
        header: Header {
            jwk: Jwk {
                crv: "P-256",
                kid: libtrust_key_id(&spki),
                kty: "EC",
                x: URL_SAFE_NO_PAD.encode(&point[1..33]),
                y: URL_SAFE_NO_PAD.encode(&point[33..65]),
            },
            alg: "ES256",
        },
        signature: URL_SAFE_NO_PAD.encode(signature.to_bytes()),
        protected,
    }];
    let mut out = payload[..format_length].to_vec();
    out.extend_from_slice(b",\"signatures\":");
    out.extend(crate::gojson::to_compact(&signatures, true));
    out.push(b'}');
    Ok(out)
}

/// libtrust's key ID: the first 240 bits of the SHA-256 of the DER public key, in base32, in
/// groups of four separated by colons.
fn libtrust_key_id(spki_der: &[u8]) -> String {
    let hash = Sha256::digest(spki_der);
    let encoded = data_encoding::BASE32_NOPAD.encode(&hash[..30]);
    let groups: Vec<&str> = (0..encoded.len())
        .step_by(4)
        .map(|i| &encoded[i..(i + 4).min(encoded.len())])
        .collect();
    groups.join(":")
}
