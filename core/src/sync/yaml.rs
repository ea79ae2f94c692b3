//! The YAML source of `sync --src yaml`: registries, each with repositories to copy by tag
//! or digest list (`images`; an empty list means every tag), by a tag regex
//! (`images-by-tag-regex`, unanchored as Go's regexp matches) or by a semver constraint
//! (`images-by-semver`), and how to reach the registry (`tls-verify`, `cert-dir`,
//! `credentials`). Scalars are read as Go reads them into strings: an unquoted `1.10` tag
//! is the string "1.10".

use super::semver::{Constraint, Version};
use crate::{Error, Result};
use regex::Regex;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Credentials of one registry.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Credentials {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
}

/// One registry of the file.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RegistrySource {
    /// Repository → the tags or digests to copy (empty: every tag).
    #[serde(default)]
    pub images: BTreeMap<String, Option<Vec<String>>>,
    /// Repository → a regular expression the tags to copy match.
    #[serde(default, rename = "images-by-tag-regex")]
    pub images_by_tag_regex: BTreeMap<String, String>,
    /// Repository → a semver constraint the tags to copy satisfy.
    #[serde(default, rename = "images-by-semver")]
    pub images_by_semver: BTreeMap<String, String>,
    #[serde(default)]
    pub credentials: Credentials,
    #[serde(default, rename = "tls-verify")]
    pub tls_verify: Option<bool>,
    #[serde(default, rename = "cert-dir")]
    pub cert_dir: Option<String>,
}

/// How the tags of one repository are chosen.
#[derive(Debug, Clone)]
pub enum TagChoice {
    /// These tags or digests, as written (no listing).
    Listed(Vec<String>),
    /// Every tag the registry lists.
    All,
    /// Listed tags matching the expression.
    Regex(Regex),
    /// Listed tags that parse as versions satisfying the constraint.
    Semver(Constraint),
}

impl TagChoice {
    /// Whether a listed tag is chosen.
    pub fn keeps(&self, tag: &str) -> bool {
        match self {
            TagChoice::Listed(_) | TagChoice::All => true,
            TagChoice::Regex(r) => r.is_match(tag),
            TagChoice::Semver(c) => Version::parse(tag).is_some_and(|v| c.matches(&v)),
        }
    }
}

/// One repository to copy from, with its registry's settings.
#[derive(Debug, Clone)]
pub struct RepositorySource {
    pub registry: String,
    pub repository: String,
    pub choice: TagChoice,
}

/// A parsed YAML source: registries in name order.
#[derive(Debug, Clone, Default)]
pub struct YamlSource {
    pub registries: BTreeMap<String, RegistrySource>,
}

impl YamlSource {
    /// Parses the file named `path` (for errors) holding `text`.
    pub fn parse(path: &str, text: &str) -> Result<YamlSource> {
        let quoted = crate::gojson::go_quote(path);
        if text.trim().is_empty() {
            return Ok(YamlSource::default());
        }
        let registries: BTreeMap<String, Option<RegistrySource>> = serde_saphyr::from_str(text)
            .map_err(|e| Error::Invalid(format!("Failed to unmarshal {quoted}: {e}")))?;
        Ok(YamlSource {
            registries: registries
                .into_iter()
                .map(|(name, r)| (name, r.unwrap_or_default()))
                .collect(),
        })
    }

    /// Every repository to copy from, per registry: `images` first, then
    /// `images-by-tag-regex`, then `images-by-semver`, each in repository order. A regex or
    /// constraint that does not compile is an error naming it.
    pub fn repositories(&self) -> Result<Vec<RepositorySource>> {
        let mut out = Vec::new();
        for (registry, source) in &self.registries {
            let mut push = |repository: &str, choice| {
                out.push(RepositorySource {
                    registry: registry.clone(),
                    repository: repository.to_owned(),
                    choice,
                })
            };
            for (repository, refs) in &source.images {
                match refs.as_deref().unwrap_or_default() {
                    [] => push(repository, TagChoice::All),
                    refs => push(repository, TagChoice::Listed(refs.to_vec())),
                }
            }
            for (repository, expression) in &source.images_by_tag_regex {
                let regex = Regex::new(expression).map_err(|e| {
                    Error::Invalid(format!(
                        "Error parsing regex {expression:?} for {registry}/{repository}: {}",
                        first_line(&e.to_string())
                    ))
                })?;
                push(repository, TagChoice::Regex(regex));
            }
            for (repository, constraint) in &source.images_by_semver {
                let compiled = Constraint::parse(constraint).map_err(|e| {
                    Error::Invalid(format!(
                        "Error parsing semver constraint {constraint:?} for {registry}/{repository}: {e}"
                    ))
                })?;
                push(repository, TagChoice::Semver(compiled));
            }
        }
        Ok(out)
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or(s)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_go_typed_scalars_and_every_section() {
        let text = "\
registry.example.com:5000:
  tls-verify: false
  cert-dir: /etc/certs
  credentials:
    username: alice
    password: secret
  images:
    busybox: [1.10, latest, \"sha256:0123456789012345678901234567890123456789012345678901234567890123\"]
    alpine: []
    nginx:
  images-by-tag-regex:
    app: ^v[0-9]+
  images-by-semver:
    lib: \">= 1.2, < 2\"
";
        let yaml = YamlSource::parse("f.yaml", text).unwrap();
        let reg = &yaml.registries["registry.example.com:5000"];
        assert_eq!(reg.tls_verify, Some(false));
        assert_eq!(reg.cert_dir.as_deref(), Some("/etc/certs"));
        assert_eq!(reg.credentials.username, "alice");
        let repos = yaml.repositories().unwrap();
        let names: Vec<_> = repos.iter().map(|r| r.repository.as_str()).collect();
        assert_eq!(names, ["alpine", "busybox", "nginx", "app", "lib"]);
        match &repos[1].choice {
            TagChoice::Listed(tags) => assert_eq!(tags[0], "1.10"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(repos[0].choice, TagChoice::All));
        assert!(matches!(repos[2].choice, TagChoice::All));
        assert!(!repos[3].choice.keeps("xv12") && repos[3].choice.keeps("v12-rc"));
        assert!(repos[4].choice.keeps("1.5") && !repos[4].choice.keeps("2.0.0"));
        assert!(!repos[4].choice.keeps("latest"));
    }

    #[test]
    fn bad_files_and_expressions_are_errors_naming_them() {
        let e = YamlSource::parse("bad.yaml", "r:\n  images:\n    a: [x\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("Failed to unmarshal \"bad.yaml\": "),
            "{e}"
        );
        assert!(e.to_string().contains("line"), "{e}");
        let e = YamlSource::parse("t.yaml", "r:\n  tls-verify: maybe\n").unwrap_err();
        assert!(e.to_string().contains("t.yaml"), "{e}");
        let bad_regex = YamlSource::parse("y", "r:\n  images-by-tag-regex:\n    a: \"([\"\n");
        let e = bad_regex.unwrap().repositories().unwrap_err();
        assert!(
            e.to_string().contains("Error parsing regex \"([\" for r/a"),
            "{e}"
        );
        let bad_semver = YamlSource::parse("y", "r:\n  images-by-semver:\n    a: \"latest\"\n");
        let e = bad_semver.unwrap().repositories().unwrap_err();
        assert!(
            e.to_string().contains("improper constraint: \"latest\""),
            "{e}"
        );
    }
}
