//! Docker image references (`[domain/]path[:tag][@digest]`): parsing with distribution's exact
//! grammar and errors, normalisation to `docker.io` / `library/`, and familiar names.

pub mod grammar;

use crate::digest::{Digest, DigestError};
use std::fmt;

/// The default registry of unqualified names.
pub const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_REPO_PREFIX: &str = "library";
/// The tag assumed when a reference names neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
/// The longest a repository name may be.
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// Why a string is not a valid reference; messages are distribution's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference format")]
    InvalidFormat,
    #[error("invalid tag format")]
    TagInvalidFormat,
    #[error("invalid digest format")]
    DigestInvalidFormat,
    #[error("repository name must be lowercase")]
    NameContainsUppercase,
    #[error("invalid reference format: repository name must be lowercase")]
    NormalizedNameContainsUppercase,
    #[error("repository name must have at least one component")]
    NameEmpty,
    #[error("repository name must not be more than 255 characters")]
    NameTooLong,
    #[error("repository name must be canonical")]
    NameNotCanonical,
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    HexIdentifier(String),
    #[error("{0}")]
    Digest(#[from] DigestError),
}

/// A named reference: a repository name with an optional tag and digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl Reference {
    /// distribution's `Parse`: the reference as written, without normalisation.
    pub fn parse(s: &str) -> Result<Self, ReferenceError> {
        let Some((name, tag, digest)) = grammar::split_reference(s) else {
            if s.is_empty() {
                return Err(ReferenceError::NameEmpty);
            }
            if grammar::split_reference(&s.to_lowercase()).is_some() {
                return Err(ReferenceError::NameContainsUppercase);
            }
            return Err(ReferenceError::InvalidFormat);
        };
        if name.len() > NAME_TOTAL_LENGTH_MAX {
            return Err(ReferenceError::NameTooLong);
        }
        let (domain, path) = grammar::split_name(name).ok_or(ReferenceError::InvalidFormat)?;
        let digest = if digest.is_empty() {
            None
        } else {
            Some(Digest::parse(digest)?.to_string())
        };
        Ok(Reference {
            domain: domain.to_owned(),
            path: path.to_owned(),
            tag: (!tag.is_empty()).then(|| tag.to_owned()),
            digest,
        })
    }

    /// distribution's `WithName`: a name only, no tag or digest allowed.
    pub fn with_name(name: &str) -> Result<Self, ReferenceError> {
        if name.is_empty() {
            return Err(ReferenceError::NameEmpty);
        }
        if name.len() > NAME_TOTAL_LENGTH_MAX {
            return Err(ReferenceError::NameTooLong);
        }
        let (domain, path) = grammar::split_name(name).ok_or(ReferenceError::InvalidFormat)?;
        Ok(Reference {
            domain: domain.to_owned(),
            path: path.to_owned(),
            tag: None,
            digest: None,
        })
    }

    /// distribution's `ParseNamed`: a fully-qualified reference, rejecting familiar forms.
    pub fn parse_named(s: &str) -> Result<Self, ReferenceError> {
        let named = Self::parse_normalized_named(s)?;
        if named.to_string() != s {
            return Err(ReferenceError::NameNotCanonical);
        }
        Ok(named)
    }

    /// distribution's `ParseNormalizedNamed`: accepts familiar names (`busybox`,
    /// `user/repo`) and fills in `docker.io` and `library/`.
    pub fn parse_normalized_named(s: &str) -> Result<Self, ReferenceError> {
        if grammar::is_identifier(s) {
            return Err(ReferenceError::HexIdentifier(s.to_owned()));
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote_name = remainder.split(':').next().unwrap_or("");
        if remote_name.to_lowercase() != remote_name {
            return Err(ReferenceError::NormalizedNameContainsUppercase);
        }
        Self::parse(&format!("{domain}/{remainder}"))
    }

    /// distribution's `ParseDockerRef`: normalised, `:latest` added when neither tag nor digest
    /// is present, and the tag dropped when a digest is.
    pub fn parse_docker_ref(s: &str) -> Result<Self, ReferenceError> {
        let mut named = Self::parse_normalized_named(s)?;
        if named.digest.is_some() {
            named.tag = None;
        }
        Ok(named.tag_name_only())
    }

    /// Adds `:latest` to a reference with neither tag nor digest.
    pub fn tag_name_only(mut self) -> Self {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.to_owned());
        }
        self
    }

    /// This name with `tag` (replacing any tag; a digest is kept).
    pub fn with_tag(&self, tag: &str) -> Result<Self, ReferenceError> {
        if !grammar::is_tag(tag) {
            return Err(ReferenceError::TagInvalidFormat);
        }
        let mut r = self.clone();
        r.tag = Some(tag.to_owned());
        Ok(r)
    }

    /// This name with `digest` (replacing any digest; a tag is kept).
    pub fn with_digest(&self, digest: &str) -> Result<Self, ReferenceError> {
        if !grammar::is_reference_digest(digest) {
            return Err(ReferenceError::DigestInvalidFormat);
        }
        let mut r = self.clone();
        r.digest = Some(digest.to_owned());
        Ok(r)
    }

    /// The repository name without tag or digest (`domain/path`).
    pub fn name(&self) -> String {
        if self.domain.is_empty() {
            self.path.clone()
        } else {
            format!("{}/{}", self.domain, self.path)
        }
    }

    /// The registry part (empty for an un-normalised name without one).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path within the registry.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The tag, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if any, as written.
    pub fn digest_str(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// The digest, if any and valid.
    pub fn digest(&self) -> Option<Digest> {
        self.digest.as_deref().and_then(|d| Digest::parse(d).ok())
    }

    /// How trust policies and registries.d name this image: `name:tag`, or `name@digest`
    /// (a digest wins over a tag; neither gives the bare name).
    pub fn policy_identity(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => format!("{}@{d}", self.name()),
            (None, Some(t)) => format!("{}:{t}", self.name()),
            (None, None) => self.name(),
        }
    }

    /// The scopes above [`Reference::policy_identity`], most specific first: the repository,
    /// each parent namespace up to the registry, then the registry's domain wildcarded
    /// (`*.example.com`, `*.com`; without its port), as containers/image lists them.
    pub fn policy_namespaces(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut name = self.name();
        loop {
            out.push(name.clone());
            match name.rfind('/') {
                Some(i) => name.truncate(i),
                None => break,
            }
        }
        let mut host = name.split(':').next().unwrap_or_default();
        while let Some(i) = host.find('.') {
            host = &host[i + 1..];
            out.push(format!("*.{host}"));
        }
        out
    }

    /// Whether neither tag nor digest is set.
    pub fn is_name_only(&self) -> bool {
        self.tag.is_none() && self.digest.is_none()
    }

    /// The shortest form a docker user would write: no `docker.io/`, no `library/`.
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            match self.path.split_once('/') {
                Some((OFFICIAL_REPO_PREFIX, rest)) if !rest.contains('/') => rest.to_owned(),
                _ => self.path.clone(),
            }
        } else {
            self.name()
        }
    }

    /// The familiar form with tag and digest.
    pub fn familiar_string(&self) -> String {
        let mut s = self.familiar_name();
        self.push_tag_digest(&mut s);
        s
    }

    /// distribution's `FamiliarMatch`: `pattern` (Go `path.Match`) against the familiar
    /// string, or failing that, the familiar name without tag or digest.
    pub fn familiar_match(&self, pattern: &str) -> bool {
        grammar::path_match(pattern, &self.familiar_string())
            || grammar::path_match(pattern, &self.familiar_name())
    }

    fn push_tag_digest(&self, s: &mut String) {
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.name();
        self.push_tag_digest(&mut s);
        f.write_str(&s)
    }
}

/// distribution's `splitDockerDomain`.
fn split_docker_domain(name: &str) -> (String, String) {
    let (mut domain, mut remainder) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (first.to_owned(), rest.to_owned())
        }
        _ => (DEFAULT_DOMAIN.to_owned(), name.to_owned()),
    };
    if domain == LEGACY_DEFAULT_DOMAIN {
        domain = DEFAULT_DOMAIN.to_owned();
    }
    if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        remainder = format!("{OFFICIAL_REPO_PREFIX}/{remainder}");
    }
    (domain, remainder)
}

/// A reference that may be only a digest (distribution's `ParseAnyReference`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyReference {
    Named(Reference),
    Digest(Digest),
}

impl AnyReference {
    /// A 64-hex identifier or a digest becomes a digest reference; anything else is parsed
    /// as a normalised name.
    pub fn parse(s: &str) -> Result<Self, ReferenceError> {
        if grammar::is_identifier(s) {
            return Ok(AnyReference::Digest(Digest::parse(&format!("sha256:{s}"))?));
        }
        if let Ok(d) = Digest::parse(s) {
            return Ok(AnyReference::Digest(d));
        }
        Reference::parse_normalized_named(s).map(AnyReference::Named)
    }
}

impl fmt::Display for AnyReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnyReference::Named(r) => r.fmt(f),
            AnyReference::Digest(d) => d.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests;
