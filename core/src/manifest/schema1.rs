//! Docker v2 schema 1 specifics: the `v1Compatibility` history entries and the layer
//! de-duplication containers/image applies when it reads such a manifest.

use super::types::Schema1;
use crate::gojson::go_quote;
use crate::gotime::GoTime;
use serde::Deserialize;
use std::collections::HashSet;

/// The parts of a `v1Compatibility` entry that describe one history step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct V1Compatibility {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub parent: String,
    #[serde(default)]
    pub comment: String,
    #[serde(default)]
    pub created: Option<GoTime>,
    #[serde(default)]
    pub container_config: Option<V1ContainerConfig>,
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub throwaway: bool,
}

/// The command a history step ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct V1ContainerConfig {
    #[serde(rename = "Cmd", default)]
    pub cmd: Option<Vec<String>>,
}

impl V1Compatibility {
    /// The step's command line (`created_by` in a schema 2 history).
    pub fn created_by(&self) -> String {
        self.container_config
            .as_ref()
            .and_then(|c| c.cmd.as_ref())
            .map(|c| c.join(" "))
            .unwrap_or_default()
    }
}

/// Decodes every history entry and drops consecutive duplicates (the same v1 ID listed twice),
/// after checking that IDs are well formed and parents chain up, as `Schema1FromManifest` does.
pub fn normalize(m: &mut Schema1) -> Result<(), String> {
    let mut compat = Vec::with_capacity(m.history.len());
    for (i, h) in m.history.iter().enumerate() {
        let entry: V1Compatibility = serde_json::from_str(&h.v1_compatibility)
            .map_err(|e| format!("parsing v2s1 history entry {i}: {e}"))?;
        compat.push(entry);
    }
    for entry in &compat {
        let valid = entry.id.len() == 64
            && entry
                .id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !valid {
            return Err(format!("image ID {} is invalid", go_quote(&entry.id)));
        }
    }
    if compat.last().is_some_and(|base| !base.parent.is_empty()) {
        return Err("Invalid parent ID in the base layer of the image".into());
    }
    let mut seen = HashSet::new();
    let mut last_id = "";
    for entry in &compat {
        if entry.id != last_id && seen.contains(entry.id.as_str()) {
            return Err(format!(
                "ID {} appears multiple times in manifest",
                entry.id
            ));
        }
        last_id = &entry.id;
        seen.insert(entry.id.as_str());
    }
    for i in (0..compat.len().saturating_sub(1)).rev() {
        if compat[i].id == compat[i + 1].id {
            m.fs_layers.remove(i);
            m.history.remove(i);
            compat.remove(i);
        } else if compat[i].parent != compat[i + 1].id {
            return Err(format!(
                "Invalid parent ID. Expected {}, got {}",
                compat[i + 1].id,
                compat[i].parent
            ));
        }
    }
    m.compat = compat;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{mime, Manifest};

    fn id(c: char) -> String {
        std::iter::repeat_n(c, 64).collect()
    }

    fn manifest(entries: &[(String, String)]) -> Vec<u8> {
        let history: Vec<_> = entries
            .iter()
            .map(|(id, parent)| {
                let v1 = serde_json::json!({"id": id, "parent": parent}).to_string();
                serde_json::json!({ "v1Compatibility": v1 })
            })
            .collect();
        let layers: Vec<_> = (0..entries.len())
            .map(|i| serde_json::json!({ "blobSum": format!("sha256:{}", id(char::from(b'0' + i as u8))) }))
            .collect();
        serde_json::json!({"schemaVersion": 1, "fsLayers": layers, "history": history})
            .to_string()
            .into_bytes()
    }

    fn parse(bytes: &[u8]) -> Result<Schema1, String> {
        match Manifest::parse(bytes, mime::DOCKER_V2_SCHEMA1) {
            Ok(Manifest::Schema1(m)) => Ok(m),
            Ok(_) => unreachable!(),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn drops_repeated_ids() {
        let (a, b) = (id('a'), id('b'));
        let m = parse(&manifest(&[
            (a.clone(), b.clone()),
            (b.clone(), String::new()),
            (b.clone(), String::new()),
        ]))
        .unwrap();
        assert_eq!(m.fs_layers.len(), 2);
        assert_eq!(m.compat.len(), 2);
        assert_eq!(m.compat[1].id, b);
    }

    #[test]
    fn rejects_broken_chains() {
        let (a, b, c) = (id('a'), id('b'), id('c'));
        let err = parse(&manifest(&[
            (a.clone(), c.clone()),
            (b.clone(), String::new()),
        ]));
        assert_eq!(
            err.unwrap_err(),
            format!("Invalid parent ID. Expected {b}, got {c}")
        );
        let err = parse(&manifest(&[(a.clone(), b.clone())]));
        assert_eq!(
            err.unwrap_err(),
            "Invalid parent ID in the base layer of the image"
        );
        let err = parse(&manifest(&[("short".into(), String::new())]));
        assert_eq!(err.unwrap_err(), "image ID \"short\" is invalid");
        let err = parse(&manifest(&[
            (a.clone(), b.clone()),
            (b.clone(), a.clone()),
            (a.clone(), String::new()),
        ]));
        assert_eq!(
            err.unwrap_err(),
            format!("ID {a} appears multiple times in manifest")
        );
    }
}
