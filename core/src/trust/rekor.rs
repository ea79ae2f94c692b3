//! Rekor's signed entry timestamps (SETs), as cosign attaches them in the
//! `dev.sigstore.cosign/bundle` annotation: the transparency log's ECDSA signature over its
//! entry, whose `hashedrekord` body must name the same key (or certificate), signature and
//! payload hash as the signature it vouches for. Checked as containers/image checks them.

use base64::Engine as _;
use p256::ecdsa::signature::Verifier as _;
use serde_json::Value;
use sha2::Digest as _;

/// The annotation holding the SET.
pub const SET_ANNOTATION: &str = "dev.sigstore.cosign/bundle";

fn invalid(what: impl Into<String>) -> String {
    what.into()
}

/// The PEM block's DER bytes, and whether anything follows it.
pub fn pem_der(pem: &[u8]) -> Option<(Vec<u8>, bool)> {
    let text = std::str::from_utf8(pem).ok()?;
    let begin = text.find("-----BEGIN ")?;
    let after_label = text[begin..]
        .find("-----\n")
        .or_else(|| text[begin..].find("-----\r\n"))?;
    let body_start = begin + after_label + 5;
    let end = text[body_start..].find("-----END ")? + body_start;
    let end_line = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
    let body: String = text[body_start..end].split_whitespace().collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    Some((der, !text[end_line..].trim().is_empty()))
}

/// Checks the SET `set_json` with one of `rekor_keys` against the signature it should vouch
/// for: `key_or_cert_pem` (the signer's public key or certificate, PEM), the base64 signature
/// and the payload. Returns the entry's integrated time (Unix seconds).
pub fn verify_set(
    rekor_keys: &[p256::ecdsa::VerifyingKey],
    set_json: &[u8],
    key_or_cert_pem: &[u8],
    base64_signature: &str,
    payload: &[u8],
) -> Result<i64, String> {
    let set: Value = serde_json::from_slice(set_json).map_err(|e| invalid(e.to_string()))?;
    let set = set
        .as_object()
        .ok_or_else(|| invalid("JSON object expected in the Rekor SET"))?;
    for key in set.keys() {
        if key != "SignedEntryTimestamp" && key != "Payload" {
            return Err(format!("Unknown key \"{key}\""));
        }
    }
    let timestamp = set
        .get("SignedEntryTimestamp")
        .and_then(Value::as_str)
        .ok_or("Key \"SignedEntryTimestamp\" missing in a JSON object")?;
    let timestamp = base64::engine::general_purpose::STANDARD
        .decode(timestamp)
        .map_err(|e| format!("illegal base64 data in SignedEntryTimestamp: {e}"))?;
    let payload_value = set
        .get("Payload")
        .ok_or("Key \"Payload\" missing in a JSON object")?;
    // RFC 8785 for these plain fields: keys sorted, no whitespace.
    let canonical = serde_json::to_vec(payload_value).expect("JSON");
    let signature = p256::ecdsa::DerSignature::from_bytes(&timestamp)
        .ok()
        .and_then(|d| p256::ecdsa::Signature::from_der(d.as_bytes()).ok());
    let matched =
        signature.is_some_and(|s| rekor_keys.iter().any(|k| k.verify(&canonical, &s).is_ok()));
    if !matched {
        return Err("cryptographic signature verification of Rekor SET failed".into());
    }
    let fields = payload_value
        .as_object()
        .ok_or("parsing Rekor SET payload: JSON object expected")?;
    for key in ["body", "integratedTime", "logIndex", "logID"] {
        if !fields.contains_key(key) {
            return Err(format!(
                "parsing Rekor SET payload: Key \"{key}\" missing in a JSON object"
            ));
        }
    }
    let integrated_time = fields["integratedTime"]
        .as_i64()
        .ok_or("parsing Rekor SET payload: integratedTime is not an integer")?;
    let body = fields["body"]
        .as_str()
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .ok_or("parsing Rekor SET payload: body is not base64")?;
    let rekord: Value = serde_json::from_slice(&body)
        .map_err(|e| format!("decoding the body of a Rekor SET payload: {e}"))?;
    match rekord.get("apiVersion").and_then(Value::as_str) {
        None => return Err("missing Rekor SET Payload API version".into()),
        Some("0.0.1") => {}
        Some(other) => {
            return Err(format!(
                "unsupported Rekor SET Payload hashedrekord version {other:?}"
            ))
        }
    }
    let spec = rekord.get("spec").cloned().unwrap_or(Value::Null);
    let signature = spec
        .get("signature")
        .ok_or(r#"Missing "signature" field in hashedrekord"#)?;
    let public_key = signature
        .get("publicKey")
        .ok_or(r#"Missing "signature.publicKey" field in hashedrekord"#)?;
    let decode = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
            .unwrap_or_default()
    };
    let (logged_der, trailing) = pem_der(&decode(public_key.get("content")))
        .ok_or("publicKey in Rekor SET is not in PEM format")?;
    if trailing {
        return Err("publicKey in Rekor SET has trailing data".into());
    }
    let (given_der, trailing) = pem_der(key_or_cert_pem).ok_or(
        "public key or cert to be matched against publicKey in Rekor SET is not in PEM format",
    )?;
    if trailing {
        return Err(
            "public key or cert to be matched against publicKey in Rekor SET has trailing data"
                .into(),
        );
    }
    if logged_der != given_der {
        return Err("publicKey in Rekor SET does not match".into());
    }
    let given_signature = super::go_base64_decode(base64_signature)
        .map_err(|e| format!("decoding signature base64: {e}"))?;
    if decode(signature.get("content")) != given_signature {
        return Err("signature in Rekor SET does not match".into());
    }
    let hash = spec
        .get("data")
        .ok_or(r#"Missing "data" field in hashedrekord"#)?
        .get("hash")
        .ok_or(r#"Missing "data.hash" field in hashedrekord"#)?;
    match hash.get("algorithm").and_then(Value::as_str) {
        None => return Err(r#"Missing "data.hash.algorithm" field in hashedrekord"#.into()),
        Some("sha256") => {}
        Some(other) => {
            return Err(format!(
                r#"Unexpected "data.hash.algorithm" value {other:?}"#
            ))
        }
    }
    let value = hash
        .get("value")
        .and_then(Value::as_str)
        .ok_or(r#"Missing "data.hash.value" field in hashedrekord"#)?;
    let actual: String = sha2::Sha256::digest(payload)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if !value.eq_ignore_ascii_case(&actual) {
        return Err("payload in Rekor SET does not match".into());
    }
    Ok(integrated_time)
}
