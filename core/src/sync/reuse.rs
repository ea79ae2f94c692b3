//! Images a sync has already written, by source manifest digest. Tags of one repository often
//! name the same manifest: once one of them is copied into a destination repository, every
//! other tag of that manifest going to the same repository is written from what the first copy
//! wrote (the same manifest pushed under one more tag, a `dir:` image copied locally) instead
//! of being read from the source and checked blob by blob again.

use super::plan::{DestinationKind, PlannedImage};
use crate::digest::Digest;
use crate::layout::oci_dest::{name_in_index, REF_NAME};
use crate::manifest::document::OciIndex;
use crate::reference::Reference;
use crate::registry::RegistryClient;
use crate::Result;
use std::collections::HashMap;
use std::sync::Mutex;

/// One image a sync copied: where it went, the digest of the manifest written, and the
/// progress lines the copy printed (a reuse prints the same lines, as a copy would).
#[derive(Debug, Clone)]
pub struct Written {
    pub destination: String,
    pub digest: Digest,
    pub progress: String,
    /// The manifest written and its media type, once read back for a reuse.
    pub manifest: Option<(Vec<u8>, String)>,
}

/// What a sync has written so far, shared by its copying threads.
#[derive(Debug, Default)]
pub struct WrittenImages {
    by_source: Mutex<HashMap<(String, Digest), Written>>,
}

/// The destinations one written image can be reused for: the same registry repository (its
/// blobs are there), the same OCI layout (one more name in its index), or any `dir:` image
/// (files are copied locally).
pub fn reuse_scope(kind: DestinationKind, image: &PlannedImage) -> String {
    match kind {
        DestinationKind::Docker => image.repository.clone(),
        DestinationKind::Dir => "dir:".to_owned(),
        DestinationKind::Oci => format!("oci:{}", image.repository),
    }
}

/// `index` (an OCI layout's `index.json`) with `tag` naming the manifest `digest` it already
/// lists, replacing whatever `tag` named before.
pub fn tag_in_index(index: &[u8], digest: &Digest, tag: &str) -> Result<Vec<u8>> {
    let mut decoded: OciIndex = crate::manifest::document::decode(index)
        .map_err(|e| crate::Error::Invalid(format!("index.json: {e}")))?;
    let wanted = digest.to_string();
    let mut descriptor = decoded
        .manifests
        .iter()
        .find(|d| d.digest == wanted)
        .cloned()
        .ok_or_else(|| crate::Error::Invalid(format!("index.json does not list {digest}")))?;
    descriptor
        .annotations
        .get_or_insert_with(Default::default)
        .insert(REF_NAME.to_owned(), tag.to_owned());
    name_in_index(&mut decoded, descriptor, tag);
    Ok(crate::manifest::document::encode(&decoded))
}

impl WrittenImages {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<(String, Digest), Written>> {
        self.by_source.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records that the image of `source_digest` was written in `scope`; the first record wins.
    pub fn record(&self, scope: &str, source_digest: &Digest, written: Written) {
        self.entries()
            .entry((scope.to_owned(), source_digest.clone()))
            .or_insert(written);
    }

    /// The image of `source_digest` written in `scope`, if any.
    pub fn find(&self, scope: &str, source_digest: &Digest) -> Option<Written> {
        self.entries()
            .get(&(scope.to_owned(), source_digest.clone()))
            .cloned()
    }

    /// The image written earlier from `image`'s source manifest that `image` can be written
    /// from (in the same scope), with that scope.
    pub fn earlier(
        &self,
        kind: DestinationKind,
        image: &PlannedImage,
    ) -> Option<(String, Written)> {
        let scope = reuse_scope(kind, image);
        let written = self.find(&scope, image.source_digest.as_ref()?)?;
        Some((scope, written))
    }

    /// Records that a copy of `image` wrote the manifest `digest`, printing `progress`.
    pub fn record_copy(
        &self,
        kind: DestinationKind,
        image: &PlannedImage,
        digest: &Digest,
        progress: &str,
    ) {
        let Some(source_digest) = &image.source_digest else {
            return;
        };
        self.record(
            &reuse_scope(kind, image),
            source_digest,
            Written {
                destination: image.destination.clone(),
                digest: digest.clone(),
                progress: progress.to_owned(),
                manifest: None,
            },
        );
    }

    /// Keeps the manifest bytes read back for `source_digest` in `scope`.
    pub fn remember_manifest(
        &self,
        scope: &str,
        source_digest: &Digest,
        manifest: (Vec<u8>, String),
    ) {
        if let Some(w) = self
            .entries()
            .get_mut(&(scope.to_owned(), source_digest.clone()))
        {
            w.manifest.get_or_insert(manifest);
        }
    }
}

/// Pushes `written`'s manifest (read back from the repository by digest unless known) to
/// `destination`'s tag in the same repository; returns the manifest and its media type.
pub async fn retag<H: crate::effects::HttpClient + crate::effects::Clock>(
    client: &RegistryClient<'_, H>,
    written: &Written,
    destination: &Reference,
) -> Result<(Vec<u8>, String)> {
    let repository = destination.path();
    let (manifest, media_type) = match &written.manifest {
        Some(m) => m.clone(),
        None => {
            client
                .get_manifest(repository, &written.digest.to_string(), &destination.name())
                .await?
        }
    };
    let reference = match destination.tag() {
        Some(tag) => tag.to_owned(),
        None => written.digest.to_string(),
    };
    client
        .put_manifest(repository, &reference, &manifest, &media_type)
        .await
        .map_err(|e| {
            e.context(format!(
                "uploading manifest {reference} to {}",
                destination.name()
            ))
        })?;
    Ok((manifest, media_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(dest: &str) -> Written {
        Written {
            destination: dest.into(),
            digest: format!("sha256:{}", "b".repeat(64)).parse().unwrap(),
            progress: "Copying blob\n".into(),
            manifest: None,
        }
    }

    fn planned(destination: &str, repository: &str) -> PlannedImage {
        PlannedImage {
            source: "docker://src.example/a:1".into(),
            destination: destination.into(),
            repository: repository.into(),
            source_digest: None,
            state: super::super::plan::ImageState::Copy,
        }
    }

    #[test]
    fn scopes_are_repositories_layouts_or_any_dir() {
        let docker = planned("docker://reg:5000/a/b:t1", "reg:5000/a/b");
        assert_eq!(
            reuse_scope(DestinationKind::Docker, &docker),
            "reg:5000/a/b"
        );
        let dir = planned("dir:/x/a:1", "/x/a");
        assert_eq!(reuse_scope(DestinationKind::Dir, &dir), "dir:");
        let oci = planned("oci:/x/a:1", "/x/a");
        assert_eq!(reuse_scope(DestinationKind::Oci, &oci), "oci:/x/a");
    }

    #[test]
    fn a_tag_is_added_to_an_index_beside_the_others() {
        let d = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        let index = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":10,"annotations":{{"org.opencontainers.image.ref.name":"v1"}}}},{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":11,"annotations":{{"org.opencontainers.image.ref.name":"v2"}}}}]}}"#,
            d('a'),
            d('b')
        );
        let out = tag_in_index(index.as_bytes(), &d('a').parse().unwrap(), "v2").unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let names: Vec<(String, String)> = v["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["digest"].as_str().unwrap().to_owned(),
                    m["annotations"][REF_NAME].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(names, vec![(d('a'), "v1".into()), (d('a'), "v2".into())]);
        assert!(tag_in_index(index.as_bytes(), &d('c').parse().unwrap(), "v3").is_err());
    }

    #[test]
    fn the_first_record_of_a_source_digest_wins_per_scope() {
        let images = WrittenImages::default();
        let source: Digest = format!("sha256:{}", "a".repeat(64)).parse().unwrap();
        assert!(images.find("r/a", &source).is_none());
        images.record("r/a", &source, written("docker://r/a:1"));
        images.record("r/a", &source, written("docker://r/a:2"));
        assert_eq!(
            images.find("r/a", &source).unwrap().destination,
            "docker://r/a:1"
        );
        assert!(images.find("r/b", &source).is_none());
        images.remember_manifest("r/a", &source, (b"{}".to_vec(), "m".into()));
        assert_eq!(
            images.find("r/a", &source).unwrap().manifest,
            Some((b"{}".to_vec(), "m".to_owned()))
        );
    }
}
