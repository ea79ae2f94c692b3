//! The "atomic container signature" payload simple signing signs: which manifest digest, under
//! which docker reference. Read as strictly as containers/image reads it (every field exactly
//! once, nothing unknown in `critical`), written as it writes it.

use crate::gojson;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// The `critical.type` of a simple signing payload.
pub const SIGNATURE_TYPE: &str = "atomic container signature";
/// The `critical.type` of a sigstore (cosign) payload, otherwise the same format.
pub const SIGSTORE_TYPE: &str = "cosign container image signature";

/// A simple signing payload's claims (not yet trusted: its signature says who makes them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleSignature {
    /// `critical.image.docker-manifest-digest`.
    pub manifest_digest: String,
    /// `critical.identity.docker-reference`.
    pub docker_reference: String,
    /// `optional.creator`.
    pub creator: Option<String>,
    /// `optional.timestamp` (Unix seconds).
    pub timestamp: Option<i64>,
}

impl SimpleSignature {
    /// A payload for `manifest_digest` under `docker_reference`, made now by `creator`.
    pub fn new(manifest_digest: &str, docker_reference: &str, creator: &str, now: i64) -> Self {
        SimpleSignature {
            manifest_digest: manifest_digest.to_owned(),
            docker_reference: docker_reference.to_owned(),
            creator: Some(creator.to_owned()),
            timestamp: Some(now),
        }
    }

    /// The JSON to sign, as containers/image marshals it (keys sorted, compact).
    pub fn to_payload(&self) -> Vec<u8> {
        self.to_payload_of(SIGNATURE_TYPE)
    }

    /// [`SimpleSignature::to_payload`] with another `critical.type` (sigstore's).
    pub fn to_payload_of(&self, signature_type: &str) -> Vec<u8> {
        let mut optional = serde_json::Map::new();
        if let Some(creator) = &self.creator {
            optional.insert("creator".into(), creator.clone().into());
        }
        if let Some(timestamp) = self.timestamp {
            optional.insert("timestamp".into(), timestamp.into());
        }
        let value = serde_json::json!({
            "critical": {
                "identity": {"docker-reference": self.docker_reference},
                "image": {"docker-manifest-digest": self.manifest_digest},
                "type": signature_type,
            },
            "optional": optional,
        });
        gojson::to_compact(&value, true)
    }

    /// Reads a signed payload, refusing what containers/image refuses in its words.
    pub fn parse(payload: &[u8]) -> Result<SimpleSignature, String> {
        Self::parse_of(payload, SIGNATURE_TYPE)
    }

    /// [`SimpleSignature::parse`] for a payload of `signature_type` (sigstore's allows a
    /// `null` `optional`).
    pub fn parse_of(payload: &[u8], signature_type: &str) -> Result<SimpleSignature, String> {
        let text = std::str::from_utf8(payload)
            .map_err(|_| "invalid character in the signature payload (not UTF-8)".to_string())?;
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
            return Err(gojson::json_error_text(payload, &e));
        }
        let top = exact_fields(text, &["critical", "optional"])?;
        let mut signature = SimpleSignature {
            manifest_digest: String::new(),
            docker_reference: String::new(),
            creator: None,
            timestamp: None,
        };
        let optional = match top[1].get().trim() {
            "null" if signature_type == SIGSTORE_TYPE => Vec::new(),
            _ => object(top[1])?,
        };
        for (key, value) in optional {
            match key.as_str() {
                "creator" => signature.creator = Some(string(value)?),
                "timestamp" => {
                    let n: f64 = serde_json::from_str(value.get()).map_err(|_| {
                        format!(
                            "json: cannot unmarshal {} into Go value of type float64",
                            kind(value)
                        )
                    })?;
                    if n.fract() != 0.0 || !n.is_finite() {
                        return Err("Field optional.timestamp is not is not an integer".into());
                    }
                    signature.timestamp = Some(n as i64);
                }
                _ => {}
            }
        }
        let critical = exact_fields(top[0].get(), &["type", "image", "identity"])?;
        let kind = string(critical[0])?;
        if kind != signature_type {
            return Err(format!("Unrecognized signature type {kind}"));
        }
        let image = exact_fields(critical[1].get(), &["docker-manifest-digest"])?;
        signature.manifest_digest = string(image[0])?;
        let identity = exact_fields(critical[2].get(), &["docker-reference"])?;
        signature.docker_reference = string(identity[0])?;
        Ok(signature)
    }
}

/// The values of exactly `fields`, in that order; any other, repeated or missing key refused.
fn exact_fields<'a>(text: &'a str, fields: &[&str]) -> Result<Vec<&'a RawValue>, String> {
    let entries = object_of(text)?;
    let mut found: Vec<Option<&RawValue>> = vec![None; fields.len()];
    for (key, value) in entries {
        let Some(i) = fields.iter().position(|f| *f == key) else {
            return Err(format!("Unknown key \"{key}\""));
        };
        found[i] = Some(value);
    }
    fields
        .iter()
        .zip(found)
        .map(|(field, value)| {
            value.ok_or_else(|| format!("Key \"{field}\" missing in a JSON object"))
        })
        .collect()
}

fn object(value: &RawValue) -> Result<Vec<(String, &RawValue)>, String> {
    object_of(value.get())
}

/// An object's entries in order, a repeated key refused.
fn object_of(text: &str) -> Result<Vec<(String, &RawValue)>, String> {
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') {
        let token = trimmed.split([',', '}', ']']).next().unwrap_or("").trim();
        return Err(format!(
            "JSON object expected, got \"{}\"",
            token.trim_matches('"')
        ));
    }
    let entries: Entries = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut seen = std::collections::BTreeSet::new();
    for (key, _) in &entries.0 {
        if !seen.insert(key.as_str()) {
            return Err(format!("Duplicate key \"{key}\""));
        }
    }
    Ok(entries.0)
}

fn string(value: &RawValue) -> Result<String, String> {
    serde_json::from_str(value.get()).map_err(|_| {
        format!(
            "json: cannot unmarshal {} into Go value of type string",
            kind(value)
        )
    })
}

/// Go's name for a JSON value's kind in its unmarshalling errors.
fn kind(value: &RawValue) -> &'static str {
    match value.get().trim_start().as_bytes().first() {
        Some(b'{') => "object",
        Some(b'[') => "array",
        Some(b'"') => "string",
        Some(b't' | b'f') => "bool",
        Some(b'n') => "null",
        _ => "number",
    }
}

/// An object's entries, duplicates kept (serde's maps would hide them).
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Entries<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for EntriesVisitor<'a> {
            type Value = Entries<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Entries<'a>, M::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, &'a RawValue>()? {
                    entries.push((key, value));
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(EntriesVisitor(std::marker::PhantomData))
            .map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55";

    #[test]
    fn payloads_round_trip_in_containers_image_form() {
        let signature = SimpleSignature::new(DIGEST, "example.com/a:b", "atomic x", 1458239713);
        let payload = signature.to_payload();
        assert_eq!(
            String::from_utf8(payload.clone()).unwrap(),
            format!(
                r#"{{"critical":{{"identity":{{"docker-reference":"example.com/a:b"}},"image":{{"docker-manifest-digest":"{DIGEST}"}},"type":"atomic container signature"}},"optional":{{"creator":"atomic x","timestamp":1458239713}}}}"#
            )
        );
        assert_eq!(SimpleSignature::parse(&payload).unwrap(), signature);
    }

    #[test]
    fn malformed_payloads_are_refused_in_containers_image_words() {
        let refuse = |s: &str| SimpleSignature::parse(s.as_bytes()).unwrap_err();
        assert_eq!(
            refuse("This is not JSON"),
            "invalid character 'T' looking for beginning of value"
        );
        assert_eq!(
            refuse(r#"{"critical":{}}"#),
            "Key \"optional\" missing in a JSON object"
        );
        assert_eq!(
            refuse(r#"{"critical":{},"optional":{},"x":1}"#),
            "Unknown key \"x\""
        );
        assert_eq!(
            refuse(r#"{"critical":{},"critical":{},"optional":{}}"#),
            "Duplicate key \"critical\""
        );
        let with_type = |t: &str| {
            format!(
                r#"{{"critical":{{"type":"{t}","image":{{"docker-manifest-digest":"d"}},"identity":{{"docker-reference":"r"}}}},"optional":{{"timestamp":1.5}}}}"#
            )
        };
        assert_eq!(
            refuse(&with_type(SIGNATURE_TYPE)),
            "Field optional.timestamp is not is not an integer"
        );
        assert_eq!(
            refuse(&with_type("other").replace("1.5", "1")),
            "Unrecognized signature type other"
        );
    }
}
