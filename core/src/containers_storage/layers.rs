//! The layer store: `DRIVER-layers/layers.json`, each layer's tar-split file beside it, and
//! where each driver keeps a layer's files.

use super::Store;
use crate::source::join_path;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// One layer as `layers.json` records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLayer {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(
        default,
        rename = "compressed-diff-digest",
        skip_serializing_if = "Option::is_none"
    )]
    pub compressed_digest: Option<String>,
    #[serde(
        default,
        rename = "compressed-size",
        skip_serializing_if = "Option::is_none"
    )]
    pub compressed_size: Option<i64>,
    #[serde(
        default,
        rename = "diff-digest",
        skip_serializing_if = "Option::is_none"
    )]
    pub uncompressed_digest: Option<String>,
    #[serde(default, rename = "diff-size", skip_serializing_if = "Option::is_none")]
    pub uncompressed_size: Option<i64>,
    /// The compression the layer came in: 0 none, 1 bzip2, 2 gzip, 3 xz, 4 zstd.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uidset: Option<Vec<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gidset: Option<Vec<u32>>,
    /// Everything else containers/storage records, kept as it was when rewriting the file.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// Parses `layers.json`.
pub fn parse_layers(bytes: &[u8]) -> Result<Vec<StoredLayer>> {
    serde_json::from_slice(bytes).map_err(|e| Error::Invalid(format!("layers.json: {e}")))
}

/// Where a layer's files are: the layer's whole tree for `vfs`, its own changes for `overlay`.
pub fn layer_files_dir(store: &Store, id: &str) -> Result<String> {
    let graph = &store.graph_root;
    match store.driver.as_str() {
        "vfs" => Ok(join_path(graph, &format!("vfs/dir/{id}"))),
        "overlay" | "overlay2" => Ok(join_path(graph, &format!("overlay/{id}/diff"))),
        other => Err(driver_not_supported(other)),
    }
}

/// The error for a driver whose layers are not read or written here.
pub fn driver_not_supported(driver: &str) -> Error {
    Error::Unsupported(format!(
        "storage driver {driver:?} is not supported (only \"vfs\" and \"overlay\" are)"
    ))
}

/// The directory of `layers.json` and the tar-split files.
pub fn layers_dir(store: &Store) -> String {
    join_path(&store.graph_root, &format!("{}-layers", store.driver))
}

/// A layer's tar-split file.
pub fn tar_split_path(store: &Store, id: &str) -> String {
    join_path(&layers_dir(store), &format!("{id}.tar-split.gz"))
}

/// The layers from `top` down to the base, bottom first; an error names a missing link.
pub fn chain<'l>(layers: &'l [StoredLayer], top: &str) -> Result<Vec<&'l StoredLayer>> {
    let mut chain = Vec::new();
    let mut next = Some(top);
    while let Some(id) = next.filter(|id| !id.is_empty()) {
        let layer = layers
            .iter()
            .find(|l| l.id == id)
            .ok_or_else(|| Error::Invalid(format!("layer not known: {id:?}")))?;
        if chain.len() > layers.len() {
            return Err(Error::Invalid(format!("layer {id:?} is its own ancestor")));
        }
        chain.push(layer);
        next = layer.parent.as_deref();
    }
    chain.reverse();
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_run_from_the_base_up_and_refuse_cycles() {
        let layers = parse_layers(
            br#"[{"id":"b","parent":"a","diff-digest":"sha256:bb"},{"id":"a"},{"id":"x","parent":"y"},{"id":"y","parent":"x"}]"#,
        )
        .unwrap();
        let ids: Vec<_> = chain(&layers, "b")
            .unwrap()
            .iter()
            .map(|l| l.id.as_str())
            .collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(chain(&layers, "x").is_err());
        assert!(chain(&layers, "nope").is_err());
    }

    #[test]
    fn unknown_fields_survive_a_rewrite() {
        let text = br#"[{"id":"a","flags":{"k":1},"names":["n"]}]"#;
        let layers = parse_layers(text).unwrap();
        let again = serde_json::to_string(&layers).unwrap();
        assert!(again.contains(r#""flags":{"k":1}"#) && again.contains(r#""names":["n"]"#));
    }
}
