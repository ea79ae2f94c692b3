//! registries.d (containers-registries.d(5)): where the signatures of `docker://` images are
//! kept beside the registry ("lookaside" storage). Each `.yaml` file of the directory may
//! set `default-docker` and per-namespace `docker` entries; the most specific entry naming a
//! location wins, and with none the built-in directory is used, as containers/image does.

use crate::digest::Digest;
use crate::reference::Reference;
use crate::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The built-in lookaside for root.
pub const ROOT_LOOKASIDE: &str = "file:///var/lib/containers/sigstore";

/// Where one namespace's signatures are read from and written to. Empty values are unset.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct Namespace {
    /// For reading, and for writing when `lookaside-staging` is not set.
    #[serde(default)]
    pub lookaside: String,
    /// For writing only.
    #[serde(default)]
    pub lookaside_staging: String,
    /// The older name of `lookaside`.
    #[serde(default)]
    pub sigstore: String,
    /// The older name of `lookaside-staging`.
    #[serde(default)]
    pub sigstore_staging: String,
    /// Read and write sigstore signatures as registry attachments instead.
    #[serde(default)]
    pub use_sigstore_attachments: Option<bool>,
}

impl Namespace {
    /// The location this entry names for reading (or writing), if any.
    fn location(&self, write: bool) -> Option<&str> {
        let staging = [&self.lookaside_staging, &self.sigstore_staging];
        let reading = [&self.lookaside, &self.sigstore];
        let candidates = match write {
            true => [staging, reading].concat(),
            false => reading.to_vec(),
        };
        candidates
            .into_iter()
            .find(|s| !s.is_empty())
            .map(String::as_str)
    }
}

#[derive(Deserialize, Default)]
struct File {
    #[serde(default, rename = "default-docker")]
    default_docker: Option<Namespace>,
    #[serde(default)]
    docker: Option<BTreeMap<String, Namespace>>,
}

/// A registries.d directory's files, merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistriesD {
    default_docker: Option<Namespace>,
    docker: BTreeMap<String, Namespace>,
}

impl RegistriesD {
    /// Merges a directory's files, given as (path, contents) in the order the directory
    /// lists them (only names ending in `.yaml` count). An entry defined by two files is an
    /// error naming both.
    pub fn parse(files: &[(String, Vec<u8>)]) -> Result<Self> {
        let mut merged = RegistriesD::default();
        let mut default_from = String::new();
        let mut namespace_from: BTreeMap<String, String> = BTreeMap::new();
        for (path, contents) in files.iter().filter(|(p, _)| p.ends_with(".yaml")) {
            let text = String::from_utf8_lossy(contents);
            let file: File = match text.trim().is_empty() {
                true => File::default(),
                false => serde_saphyr::from_str(&text)
                    .map_err(|e| Error::Invalid(format!("parsing {path}: {e}")))?,
            };
            if let Some(default) = file.default_docker {
                if merged.default_docker.is_some() {
                    return Err(Error::Invalid(format!(
                        "Error parsing signature storage configuration: \"default-docker\" defined both in \"{default_from}\" and \"{path}\""
                    )));
                }
                merged.default_docker = Some(default);
                default_from = path.clone();
            }
            for (name, namespace) in file.docker.unwrap_or_default() {
                if let Some(first) = namespace_from.get(&name) {
                    return Err(Error::Invalid(format!(
                        "Error parsing signature storage configuration: \"docker\" namespace \"{name}\" defined both in \"{first}\" and \"{path}\""
                    )));
                }
                namespace_from.insert(name.clone(), path.clone());
                merged.docker.insert(name, namespace);
            }
        }
        Ok(merged)
    }

    /// The lookaside base for `reference`'s repository: the configured location (for
    /// writing when `write`) or `builtin`, with the repository path appended.
    pub fn lookaside_base(&self, reference: &Reference, write: bool, builtin: &str) -> String {
        let scopes =
            std::iter::once(reference.policy_identity()).chain(reference.policy_namespaces());
        let configured = scopes
            .filter_map(|scope| self.docker.get(&scope))
            .chain(self.default_docker.as_ref())
            .find_map(|ns| ns.location(write));
        format!("{}/{}", configured.unwrap_or(builtin), reference.path())
    }
}

impl RegistriesD {
    /// Whether `reference`'s sigstore signatures are registry attachments: the most specific
    /// entry that says, else `default-docker`'s, else not.
    pub fn uses_sigstore_attachments(&self, reference: &Reference) -> bool {
        std::iter::once(reference.policy_identity())
            .chain(reference.policy_namespaces())
            .filter_map(|scope| self.docker.get(&scope))
            .chain(self.default_docker.as_ref())
            .find_map(|ns| ns.use_sigstore_attachments)
            .unwrap_or(false)
    }
}

/// The built-in lookaside: root's under /var/lib, other users' under their home.
pub fn builtin_lookaside(is_root: bool, home: &str) -> String {
    match is_root {
        true => ROOT_LOOKASIDE.to_owned(),
        false => format!("file://{home}/.local/share/containers/sigstore"),
    }
}

/// The URL of signature `index` (0-based) of the manifest `digest` under `base`.
pub fn signature_url(base: &str, digest: &Digest, index: usize) -> String {
    format!(
        "{base}@{}={}/signature-{}",
        digest.algorithm().name(),
        digest.hex(),
        index + 1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        list.iter()
            .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
            .collect()
    }

    fn reference(s: &str) -> Reference {
        Reference::parse_docker_ref(s).unwrap()
    }

    #[test]
    fn the_most_specific_location_wins() {
        let d = RegistriesD::parse(&files(&[
            (
                "/d/default.yaml",
                "default-docker:\n  lookaside: https://sigs.example/default\n",
            ),
            (
                "/d/team.yaml",
                "docker:\n  reg.example.com/team:\n    lookaside: https://sigs.example/team\n    lookaside-staging: file:///srv/staging\n  reg.example.com/team/app:v2:\n    sigstore: https://old.example/app\n  \"*.example.com\":\n    lookaside: https://wild.example\n",
            ),
            ("/d/notes.txt", "not: [yaml"),
        ]))
        .unwrap();
        let base = |r: &str, write| d.lookaside_base(&reference(r), write, ROOT_LOOKASIDE);
        assert_eq!(
            base("reg.example.com/team/app:v1", false),
            "https://sigs.example/team/team/app"
        );
        assert_eq!(
            base("reg.example.com/team/app:v1", true),
            "file:///srv/staging/team/app"
        );
        assert_eq!(
            base("reg.example.com/team/app:v2", false),
            "https://old.example/app/team/app"
        );
        assert_eq!(
            base("reg.example.com/other/app", false),
            "https://wild.example/other/app"
        );
        assert_eq!(
            base("quay.io/x/y", false),
            "https://sigs.example/default/x/y"
        );
        let none = RegistriesD::default();
        assert_eq!(
            none.lookaside_base(&reference("busybox"), true, ROOT_LOOKASIDE),
            "file:///var/lib/containers/sigstore/library/busybox"
        );
        let digest: Digest =
            "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                .parse()
                .unwrap();
        assert_eq!(
            signature_url("file:///s/library/busybox", &digest, 1),
            "file:///s/library/busybox@sha256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef/signature-2"
        );
    }

    #[test]
    fn entries_defined_twice_and_bad_yaml_are_errors_naming_the_files() {
        let twice = RegistriesD::parse(&files(&[
            (
                "/d/a.yaml",
                "docker:\n  reg.io:\n    lookaside: file:///a\n",
            ),
            (
                "/d/b.yaml",
                "docker:\n  reg.io:\n    lookaside: file:///b\n",
            ),
        ]))
        .unwrap_err();
        assert_eq!(
            twice.to_string(),
            "Error parsing signature storage configuration: \"docker\" namespace \"reg.io\" defined both in \"/d/a.yaml\" and \"/d/b.yaml\""
        );
        let defaults = RegistriesD::parse(&files(&[
            ("/d/a.yaml", "default-docker:\n  lookaside: file:///a\n"),
            ("/d/b.yaml", "default-docker:\n  lookaside: file:///b\n"),
        ]))
        .unwrap_err();
        assert!(defaults
            .to_string()
            .contains("\"default-docker\" defined both in \"/d/a.yaml\" and \"/d/b.yaml\""));
        let bad =
            RegistriesD::parse(&files(&[("/d/bad.yaml", "docker: [unclosed\n")])).unwrap_err();
        assert!(
            bad.to_string().starts_with("parsing /d/bad.yaml: "),
            "{bad}"
        );
        assert_eq!(
            RegistriesD::parse(&files(&[("/d/empty.yaml", "# only a comment\n")])).unwrap(),
            RegistriesD::default()
        );
    }
}
