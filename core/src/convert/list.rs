//! Docker manifest list <-> OCI image index conversion. Entries keep their own media types;
//! the copy updates them once the instances themselves are converted.

use crate::manifest::document::{
    OciDescriptor, OciIndex, OciPlatform, Schema2Descriptor, Schema2List, Schema2ListEntry,
    Schema2PlatformSpec,
};
use crate::manifest::mime;

/// A docker manifest list as an OCI index (platform `features` have no OCI equivalent).
pub fn docker_list_to_oci_index(list: &Schema2List) -> OciIndex {
    let manifests = list
        .manifests
        .iter()
        .map(|entry| OciDescriptor {
            media_type: entry.descriptor.media_type.clone(),
            digest: entry.descriptor.digest.clone(),
            size: entry.descriptor.size,
            urls: entry.descriptor.urls.clone(),
            platform: Some(OciPlatform {
                architecture: entry.platform.architecture.clone(),
                os: entry.platform.os.clone(),
                os_version: entry.platform.os_version.clone(),
                os_features: entry.platform.os_features.clone(),
                variant: entry.platform.variant.clone(),
            }),
            ..Default::default()
        })
        .collect();
    OciIndex {
        schema_version: 2,
        media_type: mime::OCI_INDEX.into(),
        manifests,
        annotations: None,
    }
}

/// An OCI index as a docker manifest list. Entries without a platform get the host's
/// (`host_os`/`host_arch` in Go's naming), as containers/image does; annotations are dropped.
pub fn oci_index_to_docker_list(index: &OciIndex, host_os: &str, host_arch: &str) -> Schema2List {
    let manifests = index
        .manifests
        .iter()
        .map(|d| {
            let platform = match &d.platform {
                Some(p) => Schema2PlatformSpec {
                    architecture: p.architecture.clone(),
                    os: p.os.clone(),
                    os_version: p.os_version.clone(),
                    os_features: p.os_features.clone(),
                    variant: p.variant.clone(),
                    features: None,
                },
                None => Schema2PlatformSpec {
                    architecture: host_arch.into(),
                    os: host_os.into(),
                    ..Default::default()
                },
            };
            Schema2ListEntry {
                descriptor: Schema2Descriptor {
                    media_type: d.media_type.clone(),
                    size: d.size,
                    digest: d.digest.clone(),
                    urls: d.urls.clone(),
                },
                platform,
            }
        })
        .collect();
    Schema2List {
        schema_version: 2,
        media_type: mime::DOCKER_V2_LIST.into(),
        manifests,
    }
}

/// An entry's manifest after its image was copied (converted or not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceUpdate {
    pub digest: String,
    pub size: i64,
    pub media_type: String,
}

/// A list re-encoded as it is, and re-encoded with `updates` applied (one per entry, in
/// order) and converted to `target_type`. containers/image compares the two to decide
/// whether the original bytes can be written unchanged.
pub fn rewrite_list(
    bytes: &[u8],
    source_type: &str,
    updates: &[InstanceUpdate],
    target_type: &str,
    host_os: &str,
    host_arch: &str,
) -> crate::Result<(Vec<u8>, Vec<u8>)> {
    use crate::manifest::document::{decode, encode};
    let invalid = crate::Error::Invalid;
    let count_mismatch = |entries: usize| {
        crate::Error::Invalid(format!(
            "incorrect number of update entries passed to UpdateInstances: expected {entries}, got {}",
            updates.len()
        ))
    };
    let (original, docker, oci) = if source_type == mime::OCI_INDEX {
        let mut index: OciIndex = decode(bytes).map_err(invalid)?;
        let original = encode(&index);
        if index.manifests.len() != updates.len() {
            return Err(count_mismatch(index.manifests.len()));
        }
        for (entry, update) in index.manifests.iter_mut().zip(updates) {
            entry.digest = update.digest.clone();
            entry.size = update.size;
            entry.media_type = update.media_type.clone();
        }
        (original, None, Some(index))
    } else {
        let mut list: Schema2List = decode(bytes).map_err(invalid)?;
        let original = encode(&list);
        if list.manifests.len() != updates.len() {
            return Err(count_mismatch(list.manifests.len()));
        }
        for (entry, update) in list.manifests.iter_mut().zip(updates) {
            entry.descriptor.digest = update.digest.clone();
            entry.descriptor.size = update.size;
            entry.descriptor.media_type = update.media_type.clone();
        }
        (original, Some(list), None)
    };
    let updated = match (target_type, docker, oci) {
        (mime::OCI_INDEX, Some(list), _) => encode(&docker_list_to_oci_index(&list)),
        (mime::DOCKER_V2_LIST, _, Some(index)) => {
            encode(&oci_index_to_docker_list(&index, host_os, host_arch))
        }
        (_, Some(list), _) => encode(&list),
        (_, _, Some(index)) => encode(&index),
        (_, None, None) => unreachable!("one of the two was decoded"),
    };
    Ok((original, updated))
}
