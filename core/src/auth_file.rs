//! Credential files (containers-auth.json(5) and docker's config.json / .dockercfg): reading
//! entries for a registry or repository, and editing them for login/logout. The host finds
//! and reads the files and runs credential helpers.

use base64::Engine;
use serde_json::{Map, Value};

/// Credentials found in a file.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredAuth {
    pub username: String,
    pub password: String,
    /// An OAuth2 refresh token (`identitytoken`), if the entry has one.
    pub identity_token: String,
}

impl std::fmt::Debug for StoredAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoredAuth({}, ***)", self.username)
    }
}

/// Where a lookup found its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Credentials stored in the file.
    Found(StoredAuth),
    /// The file delegates this registry to `docker-credential-HELPER`.
    Helper(String),
    /// Nothing here.
    Missing,
}

/// `docker.io` for Docker Hub's legacy names.
pub fn normalize_registry(registry: &str) -> &str {
    match registry {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        other => other,
    }
}

/// A key as docker writes it (`https://index.docker.io/v1/`) reduced to a registry.
fn normalize_key(key: &str, legacy: bool) -> String {
    let stripped = key
        .strip_prefix("http://")
        .or_else(|| key.strip_prefix("https://"));
    let host = match stripped {
        Some(s) => s.split('/').next().unwrap_or(s),
        None if legacy => key.split('/').next().unwrap_or(key),
        None => key,
    };
    normalize_registry(host).to_owned()
}

/// The keys that may hold credentials for `repository` (`host/ns/repo`), most specific first.
pub fn candidate_keys(repository: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut current = repository;
    loop {
        keys.push(current.to_owned());
        match current.rfind('/') {
            Some(i) => current = &current[..i],
            None => return keys,
        }
    }
}

fn decode_entry(entry: &Value, key: &str) -> Result<Option<StoredAuth>, String> {
    let auth = entry.get("auth").and_then(Value::as_str).unwrap_or("");
    let identity_token = entry
        .get("identitytoken")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if auth.is_empty() {
        if identity_token.is_empty() {
            return Ok(None);
        }
        return Ok(Some(StoredAuth {
            username: String::new(),
            password: String::new(),
            identity_token,
        }));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .map_err(|e| format!("decoding credentials for {key}: {e}"))?;
    let text = String::from_utf8_lossy(&decoded);
    let Some((user, pass)) = text.split_once(':') else {
        return Ok(None);
    };
    Ok(Some(StoredAuth {
        username: user.to_owned(),
        password: pass.trim_matches('\n').to_owned(),
        identity_token,
    }))
}

/// Looks up credentials for `repository` (`host[/path]`) in a file's JSON. `legacy` is the
/// `.dockercfg` format (entries at the top level, no `auths`).
pub fn lookup(text: &[u8], legacy: bool, repository: &str) -> Result<Lookup, String> {
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok(Lookup::Missing);
    }
    let doc: Value = serde_json::from_slice(text).map_err(|e| e.to_string())?;
    let registry = repository.split('/').next().unwrap_or(repository);
    if !legacy {
        if let Some(helper) = doc
            .get("credHelpers")
            .and_then(|h| h.get(registry))
            .and_then(Value::as_str)
        {
            return Ok(Lookup::Helper(helper.to_owned()));
        }
    }
    let empty = Map::new();
    let auths = if legacy {
        doc.as_object().unwrap_or(&empty)
    } else {
        doc.get("auths")
            .and_then(Value::as_object)
            .unwrap_or(&empty)
    };
    let empty_auth = || StoredAuth {
        username: String::new(),
        password: String::new(),
        identity_token: String::new(),
    };
    if !legacy {
        for key in candidate_keys(repository) {
            if let Some(entry) = auths.get(&key) {
                // An unusable entry still ends the search (it is this file's answer).
                return Ok(Lookup::Found(
                    decode_entry(entry, &key)?.unwrap_or_else(empty_auth),
                ));
            }
        }
    }
    for (key, entry) in auths {
        if normalize_key(key, legacy) == normalize_registry(registry) {
            if let Some(found) = decode_entry(entry, key)? {
                return Ok(Lookup::Found(found));
            }
        }
    }
    Ok(Lookup::Missing)
}

fn parse_or_empty(text: &[u8]) -> Result<Map<String, Value>, String> {
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(text).map_err(|e| e.to_string())? {
        Value::Object(m) => Ok(m),
        _ => Err("not a JSON object".into()),
    }
}

/// Writes the file as containers/image does: only `auths` and `credHelpers`, tab-indented,
/// no trailing newline.
fn serialize(doc: Map<String, Value>) -> Vec<u8> {
    use serde::Serialize;
    let mut kept = Map::new();
    kept.insert(
        "auths".into(),
        doc.get("auths")
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new())),
    );
    if let Some(h) = doc
        .get("credHelpers")
        .filter(|h| h.as_object().is_some_and(|m| !m.is_empty()))
    {
        kept.insert("credHelpers".into(), h.clone());
    }
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    Value::Object(kept)
        .serialize(&mut ser)
        .expect("serialising to memory cannot fail");
    out
}

/// The file with `key`'s credentials set (what `login` writes), indented as Go writes it.
pub fn with_credentials(
    text: &[u8],
    key: &str,
    username: &str,
    password: &str,
) -> Result<Vec<u8>, String> {
    let mut doc = parse_or_empty(text)?;
    let auths = doc
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    if !auths.is_object() {
        *auths = Value::Object(Map::new());
    }
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    let mut entry = Map::new();
    entry.insert("auth".into(), Value::String(encoded));
    auths
        .as_object_mut()
        .expect("object")
        .insert(key.to_owned(), Value::Object(entry));
    Ok(serialize(doc))
}

/// What `logout` does to the file: the rewritten file (containers/image rewrites it even when
/// nothing was removed) and whether `key` had credentials in it.
pub fn without_credentials(text: &[u8], key: &str) -> Result<(Vec<u8>, bool), String> {
    let mut doc = parse_or_empty(text)?;
    let removed = doc
        .get_mut("auths")
        .and_then(Value::as_object_mut)
        .and_then(|a| a.remove(key))
        .is_some();
    Ok((serialize(doc), removed))
}

/// The credential helper `credHelpers` names for exactly `key`, if any (login and logout
/// store into and erase from it instead of the file).
pub fn cred_helper_for(text: &[u8], key: &str) -> Result<Option<String>, String> {
    let doc = parse_or_empty(text)?;
    Ok(doc
        .get("credHelpers")
        .and_then(|h| h.get(key))
        .and_then(Value::as_str)
        .map(str::to_owned))
}

/// The file with every stored credential removed (`logout --all`).
pub fn without_all_credentials(text: &[u8]) -> Result<Vec<u8>, String> {
    let mut doc = parse_or_empty(text)?;
    doc.insert("auths".into(), Value::Object(Map::new()));
    Ok(serialize(doc))
}

/// The user name stored for `key` (`login --get-login`).
pub fn login_for(text: &[u8], key: &str) -> Result<Option<String>, String> {
    match lookup(text, false, key)? {
        Lookup::Found(a) => Ok(Some(a.username)),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_specific_key_wins() {
        let f = br#"{"auths":{
            "reg.io":{"auth":"dTE6cDE="},
            "reg.io/team":{"auth":"dTI6cDI="},
            "https://index.docker.io/v1/":{"auth":"aHViOnB3"}
        },"credHelpers":{"helped.io":"pass"}}"#;
        let user = |repo: &str| match lookup(f, false, repo).unwrap() {
            Lookup::Found(a) => a.username,
            other => format!("{other:?}"),
        };
        assert_eq!(user("reg.io/team/app"), "u2");
        assert_eq!(user("reg.io/other"), "u1");
        assert_eq!(user("docker.io/library/busybox"), "hub");
        assert_eq!(user("helped.io/x"), "Helper(\"pass\")");
        assert_eq!(user("none.io/x"), "Missing");
    }

    #[test]
    fn login_and_logout_edit_entries() {
        let text = with_credentials(b"", "127.0.0.1:5000", "alice", "secret").unwrap();
        assert_eq!(
            String::from_utf8(text.clone()).unwrap(),
            "{\n\t\"auths\": {\n\t\t\"127.0.0.1:5000\": {\n\t\t\t\"auth\": \"YWxpY2U6c2VjcmV0\"\n\t\t}\n\t}\n}"
        );
        assert_eq!(
            login_for(&text, "127.0.0.1:5000").unwrap().as_deref(),
            Some("alice")
        );
        let (out, removed) = without_credentials(&text, "127.0.0.1:5000").unwrap();
        assert!(removed);
        assert_eq!(String::from_utf8(out).unwrap(), "{\n\t\"auths\": {}\n}");
        assert_eq!(without_credentials(&text, "other").unwrap(), (text, false));
        let helped = br#"{"credHelpers":{"reg.io":"pass"},"auths":{}}"#;
        assert_eq!(
            cred_helper_for(helped, "reg.io").unwrap().as_deref(),
            Some("pass")
        );
        assert_eq!(cred_helper_for(helped, "reg.io/ns").unwrap(), None);
        let legacy = br#"{"https://old.io":{"auth":"dTpw","email":"x"}}"#;
        assert!(matches!(
            lookup(legacy, true, "old.io/x").unwrap(),
            Lookup::Found(_)
        ));
        assert!(lookup(b"{", false, "x").is_err());
    }
}
