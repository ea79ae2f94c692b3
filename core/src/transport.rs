//! Image names with a transport prefix (`docker://…`, `dir:…`, `oci:…`, …), parsed exactly as
//! skopeo's transports parse them, with the same error messages.

use crate::digest::{Algorithm, Digest};
use crate::reference::{grammar, Reference, ReferenceError};
use std::fmt;

/// Transports skopeo lists, in its order; `ostree` and `tarball` are recognised but not
/// implemented.
pub const TRANSPORT_NAMES: &[&str] = &[
    "containers-storage",
    "dir",
    "docker",
    "docker-archive",
    "docker-daemon",
    "oci",
    "oci-archive",
    "ostree",
    "sif",
    "tarball",
];

/// The suffix that marks a docker reference whose digest is not known yet.
pub const UNKNOWN_DIGEST_SUFFIX: &str = "@@unknown-digest@@";

/// A parsed image name: which transport, and what it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageName {
    /// `docker://REF`: a registry image, normalised and tagged `latest` if untagged.
    Docker {
        reference: Reference,
        unknown_digest: bool,
    },
    /// `dir:PATH`.
    Dir { path: String },
    /// `oci:PATH[:REF]`; `image` is empty when no ref name was given.
    Oci { path: String, image: String },
    /// `oci-archive:PATH[:REF]`.
    OciArchive { path: String, image: String },
    /// `docker-archive:PATH[:REF|:@N]`.
    DockerArchive {
        path: String,
        reference: Option<Reference>,
        index: Option<usize>,
    },
    /// `docker-daemon:REF` or `docker-daemon:sha256:HEX`.
    DockerDaemon(DaemonImage),
    /// `containers-storage:[DRIVER@ROOT+RUNROOT:OPTIONS]REF[@ID]`.
    ContainersStorage(StorageImage),
    /// `sif:PATH`: a Singularity/Apptainer image file (read only).
    Sif { path: String },
}

/// What a `docker-daemon:` name points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonImage {
    Id(Digest),
    Named(Reference),
}

/// A `containers-storage:` name: an optional store specification, a name and/or an image ID.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StorageImage {
    pub store: Option<StoreSpec>,
    pub reference: Option<Reference>,
    /// A full 64-hex image ID, or a prefix of one (at least 3 hex digits) to resolve in the store.
    pub id: Option<String>,
}

/// `[DRIVER@ROOT+RUNROOT:OPT,OPT]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoreSpec {
    pub driver: String,
    pub graph_root: String,
    pub run_root: String,
    pub options: Vec<String>,
}

/// Why an image name is invalid. The message is what follows `Error parsing image name "…": `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ImageNameError(pub String);

impl From<ReferenceError> for ImageNameError {
    fn from(e: ReferenceError) -> Self {
        ImageNameError(e.to_string())
    }
}

impl ImageName {
    /// Parses `transport:reference`.
    pub fn parse(name: &str) -> Result<Self, ImageNameError> {
        let Some((transport, within)) = name.split_once(':') else {
            return Err(ImageNameError(format!(
                "Invalid image name \"{name}\", expected colon-separated transport:reference"
            )));
        };
        match transport {
            "docker" => parse_docker(within),
            "dir" => Ok(ImageName::Dir {
                path: within.to_owned(),
            }),
            "oci" => {
                let (path, image) = parse_oci(within)?;
                Ok(ImageName::Oci { path, image })
            }
            "oci-archive" => {
                let (path, image) = parse_oci(within)?;
                Ok(ImageName::OciArchive { path, image })
            }
            "docker-archive" => parse_docker_archive(within),
            "docker-daemon" => parse_docker_daemon(within).map(ImageName::DockerDaemon),
            "containers-storage" => parse_storage(within).map(ImageName::ContainersStorage),
            "sif" => Ok(ImageName::Sif {
                path: within.to_owned(),
            }),
            "ostree" | "tarball" => Err(ImageNameError(format!(
                "the {transport} transport is not supported by this implementation"
            ))),
            _ => Err(ImageNameError(format!(
                "Invalid image name \"{name}\", unknown transport \"{transport}\""
            ))),
        }
    }

    /// The transport's name.
    pub fn transport(&self) -> &'static str {
        match self {
            ImageName::Docker { .. } => "docker",
            ImageName::Dir { .. } => "dir",
            ImageName::Oci { .. } => "oci",
            ImageName::OciArchive { .. } => "oci-archive",
            ImageName::DockerArchive { .. } => "docker-archive",
            ImageName::DockerDaemon(_) => "docker-daemon",
            ImageName::ContainersStorage(_) => "containers-storage",
            ImageName::Sif { .. } => "sif",
        }
    }

    /// The docker reference this name carries, if any (used for inspect's `Name`).
    pub fn docker_reference(&self) -> Option<&Reference> {
        match self {
            ImageName::Docker { reference, .. } => Some(reference),
            ImageName::DockerArchive { reference, .. } => reference.as_ref(),
            ImageName::DockerDaemon(DaemonImage::Named(r)) => Some(r),
            ImageName::ContainersStorage(s) => s.reference.as_ref(),
            _ => None,
        }
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageName::Docker {
                reference,
                unknown_digest,
            } => {
                let suffix = if *unknown_digest {
                    UNKNOWN_DIGEST_SUFFIX
                } else {
                    ""
                };
                write!(f, "docker://{}{suffix}", reference.familiar_string())
            }
            ImageName::Dir { path } => write!(f, "dir:{path}"),
            ImageName::Sif { path } => write!(f, "sif:{path}"),
            ImageName::Oci { path, image } => write!(f, "oci:{path}:{image}"),
            ImageName::OciArchive { path, image } => write!(f, "oci-archive:{path}:{image}"),
            ImageName::DockerArchive {
                path,
                reference,
                index,
            } => match (reference, index) {
                (Some(r), _) => write!(f, "docker-archive:{path}:{r}"),
                (None, Some(i)) => write!(f, "docker-archive:{path}:@{i}"),
                (None, None) => write!(f, "docker-archive:{path}"),
            },
            ImageName::DockerDaemon(DaemonImage::Id(d)) => write!(f, "docker-daemon:{d}"),
            ImageName::DockerDaemon(DaemonImage::Named(r)) => {
                write!(f, "docker-daemon:{}", r.familiar_string())
            }
            ImageName::ContainersStorage(s) => {
                write!(f, "containers-storage:")?;
                if let Some(spec) = &s.store {
                    write!(f, "[{}@{}", spec.driver, spec.graph_root)?;
                    if !spec.run_root.is_empty() {
                        write!(f, "+{}", spec.run_root)?;
                    }
                    if !spec.options.is_empty() {
                        write!(f, ":{}", spec.options.join(","))?;
                    }
                    write!(f, "]")?;
                }
                if let Some(r) = &s.reference {
                    write!(f, "{r}")?;
                }
                if let Some(id) = &s.id {
                    write!(f, "@{id}")?;
                }
                Ok(())
            }
        }
    }
}

fn parse_docker(within: &str) -> Result<ImageName, ImageNameError> {
    let Some(rest) = within.strip_prefix("//") else {
        return Err(ImageNameError(format!(
            "docker: image reference {within} does not start with //"
        )));
    };
    let (rest, unknown_digest) = match rest.strip_suffix(UNKNOWN_DIGEST_SUFFIX) {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let named = Reference::parse_normalized_named(rest)?;
    if unknown_digest {
        if !named.is_name_only() {
            return Err(ImageNameError(format!(
                "docker: image reference \"{named}{UNKNOWN_DIGEST_SUFFIX}\" has unknown digest set but it contains either a tag or digest"
            )));
        }
        return Ok(ImageName::Docker {
            reference: named,
            unknown_digest,
        });
    }
    let reference = named.tag_name_only();
    if reference.tag().is_some() && reference.digest_str().is_some() {
        return Err(ImageNameError(
            "Docker references with both a tag and digest are currently not supported".into(),
        ));
    }
    Ok(ImageName::Docker {
        reference,
        unknown_digest,
    })
}

/// The `oci:` / `oci-archive:` split: the path is everything before the first colon.
fn parse_oci(within: &str) -> Result<(String, String), ImageNameError> {
    let (path, image) = within.split_once(':').unwrap_or((within, ""));
    if !image.is_empty() && !is_oci_ref_name(image) {
        return Err(ImageNameError(format!("Invalid image {image}")));
    }
    Ok((path.to_owned(), image.to_owned()))
}

/// containers/image's OCI ref-name rule: components of alphanumerics joined by `-._:@+` or
/// `--`, separated by `/`.
pub fn is_oci_ref_name(s: &str) -> bool {
    s.split('/').all(|component| {
        let b = component.as_bytes();
        if b.is_empty() || !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric()
        {
            return false;
        }
        let mut i = 0;
        while i < b.len() {
            if b[i].is_ascii_alphanumeric() {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && !b[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let sep = &component[start..i];
            let single = sep.len() == 1 && "-._:@+".contains(sep);
            if !(single || sep == "--") {
                return false;
            }
        }
        true
    })
}

fn parse_docker_archive(within: &str) -> Result<ImageName, ImageNameError> {
    if within.is_empty() {
        return Err(ImageNameError(format!(
            "docker-archive reference {within} isn't of the form <path>[:<reference>]"
        )));
    }
    let (path, rest) = match within.split_once(':') {
        Some((p, r)) => (p, Some(r)),
        None => (within, None),
    };
    let (mut reference, mut index) = (None, None);
    if let Some(rest) = rest {
        if let Some(num) = rest.strip_prefix('@') {
            let i: i64 = num.parse().map_err(|_| {
                ImageNameError(format!(
                    "Invalid source index {rest}: strconv.Atoi: parsing \"{num}\": invalid syntax"
                ))
            })?;
            if i < 0 {
                return Err(ImageNameError(format!(
                    "Invalid source index @{i}: must not be negative"
                )));
            }
            index = Some(i as usize);
        } else {
            let named = Reference::parse_normalized_named(rest)
                .map_err(|e| ImageNameError(format!("docker-archive parsing reference: {e}")))?
                .tag_name_only();
            if named.tag().is_none() || named.digest_str().is_some() {
                return Err(ImageNameError(format!(
                    "reference does not include a tag: {named}"
                )));
            }
            reference = Some(named);
        }
    }
    Ok(ImageName::DockerArchive {
        path: path.to_owned(),
        reference,
        index,
    })
}

fn parse_docker_daemon(within: &str) -> Result<DaemonImage, ImageNameError> {
    if let Ok(d) = Digest::parse(within) {
        if d.algorithm() != Algorithm::Sha256 {
            return Err(ImageNameError(format!(
                "Invalid docker-daemon: reference {within}: only digest algorithm sha256 accepted"
            )));
        }
        return Ok(DaemonImage::Id(d));
    }
    let named = Reference::parse_normalized_named(within)?;
    if named.familiar_name() == "sha256" {
        return Err(ImageNameError(format!(
            "Invalid docker-daemon: reference {within}: The sha256 repository name is reserved for (non-shortened) digest references"
        )));
    }
    if named.is_name_only() {
        return Err(ImageNameError(format!(
            "docker-daemon: reference {} has neither a tag nor a digest",
            named.familiar_string()
        )));
    }
    if named.tag().is_some() && named.digest_str().is_some() {
        return Err(ImageNameError(
            "docker-daemon: references with both a tag and digest are currently not supported"
                .into(),
        ));
    }
    Ok(DaemonImage::Named(named))
}

const INVALID_REFERENCE: &str = "invalid reference";

fn parse_storage(within: &str) -> Result<StorageImage, ImageNameError> {
    let invalid = || ImageNameError(INVALID_REFERENCE.into());
    let mut rest = within;
    let mut store = None;
    if let Some(spec_and_rest) = rest.strip_prefix('[') {
        let close = spec_and_rest
            .find(']')
            .filter(|&i| i > 0)
            .ok_or_else(invalid)?;
        let spec = &spec_and_rest[..close];
        rest = &spec_and_rest[close + 1..];
        let (driver, spec) = match spec.split_once('@') {
            Some((d, s)) if d.is_empty() || s.is_empty() => return Err(invalid()),
            Some((d, s)) => (d, s),
            None => ("", spec),
        };
        let (spec, options) = match spec.split_once(':') {
            Some((s, o)) => (s, o.split(',').map(str::to_owned).collect()),
            None => (spec, Vec::new()),
        };
        let (root, run_root) = spec.split_once('+').unwrap_or((spec, ""));
        if (!root.is_empty() && !root.starts_with('/'))
            || (!run_root.is_empty() && !run_root.starts_with('/'))
        {
            return Err(ImageNameError("path name is not absolute".into()));
        }
        store = Some(StoreSpec {
            driver: driver.to_owned(),
            graph_root: root.to_owned(),
            run_root: run_root.to_owned(),
            options,
        });
    }
    if rest.is_empty() {
        return Err(ImageNameError(format!(
            "\"{rest}\" is an empty reference: {INVALID_REFERENCE}"
        )));
    }
    let mut id = None;
    if let Some(split) = rest.rfind('@') {
        let possible = &rest[split + 1..];
        if possible.is_empty() {
            return Err(ImageNameError(format!(
                "empty trailing digest or ID in \"{rest}\": {INVALID_REFERENCE}"
            )));
        }
        if Digest::parse(possible).is_err() {
            let is_hex = possible
                .bytes()
                .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
            if !(is_hex && (grammar::is_identifier(possible) || possible.len() >= 3)) {
                return Err(ImageNameError(format!(
                    "\"{possible}\" does not look like an image ID or digest: {INVALID_REFERENCE}"
                )));
            }
            id = Some(possible.to_owned());
            rest = &rest[..split];
        }
    }
    // A whole name that is a full image ID names the image by it.
    if id.is_none() && grammar::is_identifier(rest) {
        id = Some(rest.to_owned());
        rest = "";
    }
    let reference = if rest.is_empty() {
        None
    } else {
        let named = Reference::parse_normalized_named(rest)
            .map_err(|e| ImageNameError(format!("parsing named reference \"{rest}\": {e}")))?;
        Some(named.tag_name_only())
    };
    if reference.is_none() && id.is_none() {
        return Err(invalid());
    }
    Ok(StorageImage {
        store,
        reference,
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(name: &str) -> String {
        ImageName::parse(name).unwrap_err().to_string()
    }

    #[test]
    fn skopeo_messages() {
        assert_eq!(
            err("nocolon"),
            "Invalid image name \"nocolon\", expected colon-separated transport:reference"
        );
        assert_eq!(
            err("foo:bar"),
            "Invalid image name \"foo:bar\", unknown transport \"foo\""
        );
        assert_eq!(
            err("docker:busybox"),
            "docker: image reference busybox does not start with //"
        );
        assert_eq!(
            err("docker-archive:"),
            "docker-archive reference  isn't of the form <path>[:<reference>]"
        );
        assert_eq!(err("oci:/tmp/a:Bad$"), "Invalid image Bad$");
    }

    #[test]
    fn forms() {
        let n = ImageName::parse("docker://busybox").unwrap();
        assert_eq!(
            n.docker_reference().unwrap().to_string(),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            ImageName::parse("oci:/tmp/a:b:c").unwrap(),
            ImageName::Oci {
                path: "/tmp/a".into(),
                image: "b:c".into()
            }
        );
        assert_eq!(
            ImageName::parse("docker-archive:/x.tar:@2").unwrap(),
            ImageName::DockerArchive {
                path: "/x.tar".into(),
                reference: None,
                index: Some(2)
            }
        );
        let s = ImageName::parse("containers-storage:[vfs@/r+/run:a=b,c]busybox@0123abcd").unwrap();
        let ImageName::ContainersStorage(s) = s else {
            panic!()
        };
        assert_eq!(s.store.unwrap().options, vec!["a=b", "c"]);
        assert_eq!(s.id.as_deref(), Some("0123abcd"));
    }
}
