//! Schema 1 "pretty JWS" signatures (libtrust): recovering the signed payload, which is what a
//! signed schema 1 manifest's digest is computed over.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;

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
