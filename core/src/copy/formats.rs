//! Which manifest type a copy writes: kept when the destination takes it, converted to the
//! forced (`--format`) or the destination's preferred type otherwise, never converted when
//! the manifest must not change (`--preserve-digests`, signatures to keep). The rules are
//! containers/image's, for single images and for lists.

use crate::manifest::mime;
use crate::{Error, Result};

/// Why the manifest may not change, if it may not; containers/image's wording, which ends
/// up in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmodifiable {
    /// The source's signatures sign the manifest as it is.
    WouldInvalidateSignatures,
    /// `--preserve-digests`.
    PreserveDigests,
}

impl Unmodifiable {
    /// The reason as containers/image words it.
    pub fn reason(self) -> &'static str {
        match self {
            Unmodifiable::WouldInvalidateSignatures => "Would invalidate signatures",
            Unmodifiable::PreserveDigests => "Instructed to preserve digests",
        }
    }
}

/// Parses `--format`'s value into the manifest type it forces, with skopeo's complaint.
pub fn parse_format(value: &str) -> Result<&'static str> {
    match value {
        "oci" => Ok(mime::OCI_MANIFEST),
        "v2s1" => Ok(mime::DOCKER_V2_SCHEMA1_SIGNED),
        "v2s2" => Ok(mime::DOCKER_V2_SCHEMA2),
        other => Err(Error::Invalid(format!(
            "unknown format {other:?}. Choose one of the supported formats: 'oci', 'v2s1', or 'v2s2'"
        ))),
    }
}

/// Types to convert to when the source's does not do, before the destination's own order.
const PREFERRED: &[&str] = &[mime::DOCKER_V2_SCHEMA2, mime::DOCKER_V2_SCHEMA1_SIGNED];

/// The list types a destination that names none takes.
const LIST_TYPES: &[&str] = &[mime::DOCKER_V2_LIST, mime::OCI_INDEX];

/// The manifest type to write for an image whose manifest is `source_type`: `None` keeps it
/// as it is, `Some(t)` converts it to `t`.
pub fn image_target(
    source_type: &str,
    dest_supported: &[&'static str],
    forced: Option<&'static str>,
    unmodifiable: Option<Unmodifiable>,
) -> Option<&'static str> {
    let forced_only;
    let supported: &[&'static str] = match forced {
        Some(forced) => {
            forced_only = [forced];
            &forced_only
        }
        None => dest_supported,
    };
    if supported.is_empty() || supported.contains(&source_type) || unmodifiable.is_some() {
        return None;
    }
    PREFERRED
        .iter()
        .find(|t| supported.contains(t))
        .or_else(|| supported.first())
        .copied()
}

/// Whether OCI is among the other manifest types containers/image would try when the first
/// cannot be written: the destination names OCI and `--format` forces nothing.
pub fn takes_as_fallback(dest_supported: &[&'static str], forced: Option<&'static str>) -> bool {
    forced.is_none() && dest_supported.contains(&mime::OCI_MANIFEST)
}

/// The list type a manifest list is written as (`--format` forces the list type that goes
/// with the image type it names).
pub fn list_target(
    source_type: &str,
    dest_supported: &[&'static str],
    forced_image_type: Option<&str>,
) -> Result<&'static str> {
    let forced = match forced_image_type {
        Some(mime::OCI_MANIFEST) => Some(mime::OCI_INDEX),
        Some(_) => Some(mime::DOCKER_V2_LIST),
        None => None,
    };
    let candidates: Vec<&'static str> = match forced {
        Some(forced) => vec![forced],
        None if dest_supported.is_empty() => LIST_TYPES.to_vec(),
        None => dest_supported
            .iter()
            .copied()
            .filter(|t| mime::is_multi_image(t))
            .collect(),
    };
    candidates
        .iter()
        .find(|t| **t == source_type)
        .or_else(|| candidates.first())
        .copied()
        .ok_or_else(|| {
            Error::Unsupported(format!(
                "determining manifest list type to write to destination: destination does not support any supported manifest list types ([{}])",
                LIST_TYPES.join(" ")
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mime::*;

    const REGISTRY: &[&str] = &[
        OCI_MANIFEST,
        DOCKER_V2_SCHEMA2,
        OCI_INDEX,
        DOCKER_V2_LIST,
        DOCKER_V2_SCHEMA1_SIGNED,
        DOCKER_V2_SCHEMA1,
    ];

    #[test]
    fn a_type_the_destination_takes_is_kept() {
        assert_eq!(image_target(DOCKER_V2_SCHEMA2, REGISTRY, None, None), None);
        assert_eq!(image_target(OCI_MANIFEST, &[], None, None), None);
        assert_eq!(
            image_target(DOCKER_V2_SCHEMA2, &[OCI_MANIFEST, OCI_INDEX], None, None),
            Some(OCI_MANIFEST)
        );
        assert_eq!(
            image_target(OCI_MANIFEST, &[DOCKER_V2_SCHEMA2], None, None),
            Some(DOCKER_V2_SCHEMA2)
        );
    }

    #[test]
    fn schema2_is_preferred_over_the_destinations_own_order() {
        assert_eq!(
            image_target(
                DOCKER_V2_SCHEMA1_SIGNED,
                &[OCI_MANIFEST, DOCKER_V2_SCHEMA2],
                None,
                None
            ),
            Some(DOCKER_V2_SCHEMA2)
        );
    }

    #[test]
    fn a_forced_format_applies_even_where_anything_goes() {
        assert_eq!(
            image_target(OCI_MANIFEST, &[], Some(DOCKER_V2_SCHEMA2), None),
            Some(DOCKER_V2_SCHEMA2)
        );
        assert_eq!(
            image_target(OCI_MANIFEST, REGISTRY, Some(OCI_MANIFEST), None),
            None
        );
        // A destination that cannot take the forced type still gets it (and refuses it).
        assert_eq!(
            image_target(
                DOCKER_V2_SCHEMA2,
                &[DOCKER_V2_SCHEMA2],
                Some(OCI_MANIFEST),
                None
            ),
            Some(OCI_MANIFEST)
        );
    }

    #[test]
    fn an_unmodifiable_manifest_is_never_converted() {
        let keep = Some(Unmodifiable::PreserveDigests);
        assert_eq!(
            image_target(OCI_MANIFEST, &[], Some(DOCKER_V2_SCHEMA2), keep),
            None
        );
        assert_eq!(
            image_target(DOCKER_V2_SCHEMA2, &[OCI_MANIFEST], None, keep),
            None
        );
    }

    #[test]
    fn list_types_follow_the_forced_image_type_or_the_destination() {
        assert_eq!(list_target(OCI_INDEX, REGISTRY, None).unwrap(), OCI_INDEX);
        assert_eq!(
            list_target(DOCKER_V2_LIST, &[OCI_MANIFEST, OCI_INDEX], None).unwrap(),
            OCI_INDEX
        );
        assert_eq!(
            list_target(OCI_INDEX, &[], Some(DOCKER_V2_SCHEMA2)).unwrap(),
            DOCKER_V2_LIST
        );
        assert_eq!(
            list_target(DOCKER_V2_LIST, REGISTRY, Some(OCI_MANIFEST)).unwrap(),
            OCI_INDEX
        );
        assert!(list_target(OCI_INDEX, &[DOCKER_V2_SCHEMA2], None).is_err());
    }

    #[test]
    fn formats_parse_with_skopeos_complaint() {
        assert_eq!(parse_format("v2s2").unwrap(), DOCKER_V2_SCHEMA2);
        assert_eq!(
            parse_format("xyz").unwrap_err().to_string(),
            "unknown format \"xyz\". Choose one of the supported formats: 'oci', 'v2s1', or 'v2s2'"
        );
    }
}
