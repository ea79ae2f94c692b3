//! registries.conf (containers-registries.conf(5), version 2): `[[registry]]` entries with
//! prefixes (including `*.domain` wildcards), location rewrites, mirrors, `insecure` and
//! `blocked`. The host reads the files (main file, then drop-ins in order); this module parses,
//! validates and merges them, and answers which registry entry governs a reference.

use crate::reference::Reference;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One endpoint: a registry's primary location or a mirror.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Endpoint {
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub insecure: bool,
    #[serde(default)]
    pub pull_from_mirror: String,
}

/// A `[[registry]]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Registry {
    #[serde(default)]
    pub prefix: String,
    #[serde(flatten)]
    pub endpoint: Endpoint,
    #[serde(default, rename = "mirror")]
    pub mirrors: Vec<Endpoint>,
    #[serde(default)]
    pub blocked: bool,
    #[serde(default)]
    pub mirror_by_digest_only: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct V1Lists {
    #[serde(default)]
    registries: Vec<String>,
}

#[derive(Deserialize, Default)]
struct V1Tables {
    #[serde(default)]
    search: V1Lists,
    #[serde(default)]
    insecure: V1Lists,
    #[serde(default)]
    block: V1Lists,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct File {
    #[serde(default, rename = "registry")]
    registries: Vec<Registry>,
    #[serde(default)]
    unqualified_search_registries: Option<Vec<String>>,
    #[serde(default)]
    credential_helpers: Option<Vec<String>>,
    /// Version 1's `[registries.search|insecure|block]`.
    #[serde(default, rename = "registries")]
    v1: Option<V1Tables>,
}

/// The merged configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistriesConf {
    pub registries: Vec<Registry>,
    pub unqualified_search_registries: Vec<String>,
    /// Credential helpers in order; `containers-auth.json` means the auth files.
    pub credential_helpers: Vec<String>,
    /// Where the configuration came from, as errors name it: the main file and the drop-in
    /// directory (the host sets these; see [`RegistriesConf::with_sources`]).
    pub config_path: String,
    pub config_dir_path: String,
}

/// The pseudo-helper name for "look in the auth files".
pub const AUTH_FILE_HELPER: &str = "containers-auth.json";

fn parse_location(input: &str) -> Result<String, String> {
    let trimmed = input.trim_end_matches('/');
    if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
        return Err(format!(
            "invalid location '{input}': URI schemes are not supported"
        ));
    }
    Ok(trimmed.to_owned())
}

fn post_process(registries: &mut [Registry]) -> Result<(), String> {
    for reg in registries.iter_mut() {
        reg.endpoint.location = parse_location(&reg.endpoint.location)?;
        if reg.prefix.is_empty() {
            if reg.endpoint.location.is_empty() {
                return Err("invalid condition: both location and prefix are unset".into());
            }
            reg.prefix = reg.endpoint.location.clone();
        } else {
            reg.prefix = parse_location(&reg.prefix)?;
            if !reg.prefix.starts_with("*.") && reg.endpoint.location.is_empty() {
                return Err("invalid condition: location is unset and prefix is not in the format: *.example.com".into());
            }
        }
        if !reg.endpoint.pull_from_mirror.is_empty() {
            return Err(format!(
                "pull-from-mirror must not be set for a non-mirror registry {:?}",
                reg.prefix
            ));
        }
        for mirror in &mut reg.mirrors {
            mirror.location = parse_location(&mirror.location)?;
            if mirror.location.is_empty() {
                return Err("invalid condition: mirror location is unset".into());
            }
            if reg.mirror_by_digest_only && !mirror.pull_from_mirror.is_empty() {
                return Err(format!("cannot set mirror usage mirror-by-digest-only for the registry ({:?}) and pull-from-mirror for per-mirror ({:?}) at the same time", reg.prefix, mirror.location));
            }
            if !matches!(
                mirror.pull_from_mirror.as_str(),
                "" | "all" | "digest-only" | "tag-only"
            ) {
                return Err(format!(
                    "unsupported pull-from-mirror value {:?} for mirror {:?}",
                    mirror.pull_from_mirror, mirror.location
                ));
            }
        }
        if reg.prefix.starts_with("*.") && reg.prefix.contains(['/', '@', ':']) {
            return Err(format!("Wildcarded prefix should be in the format: *.example.com. Current prefix {:?} is incorrectly formatted", reg.prefix));
        }
    }
    let key = |r: &Registry| {
        if r.endpoint.location.is_empty() {
            r.prefix.clone()
        } else {
            r.endpoint.location.clone()
        }
    };
    for a in registries.iter() {
        for b in registries.iter().filter(|b| key(b) == key(a)) {
            if a.endpoint.insecure != b.endpoint.insecure {
                return Err(format!(
                    "registry '{}' is defined multiple times with conflicting 'insecure' setting",
                    a.endpoint.location
                ));
            }
            if a.blocked != b.blocked {
                return Err(format!(
                    "registry '{}' is defined multiple times with conflicting 'blocked' setting",
                    a.endpoint.location
                ));
            }
        }
    }
    Ok(())
}

fn v1_to_v2(v1: &V1Tables) -> Vec<Registry> {
    let mut by_location: BTreeMap<String, Registry> = BTreeMap::new();
    let mut order = Vec::new();
    let mut entry = |loc: &str| -> String {
        let loc = loc.trim_end_matches('/').to_owned();
        if !by_location.contains_key(&loc) {
            order.push(loc.clone());
            by_location.insert(
                loc.clone(),
                Registry {
                    prefix: loc.clone(),
                    endpoint: Endpoint {
                        location: loc.clone(),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            );
        }
        loc
    };
    let insecure: Vec<String> = v1.insecure.registries.iter().map(|l| entry(l)).collect();
    let blocked: Vec<String> = v1.block.registries.iter().map(|l| entry(l)).collect();
    for l in insecure {
        by_location.get_mut(&l).expect("added").endpoint.insecure = true;
    }
    for l in blocked {
        by_location.get_mut(&l).expect("added").blocked = true;
    }
    order
        .into_iter()
        .map(|l| by_location.remove(&l).expect("added"))
        .collect()
}

impl RegistriesConf {
    /// Records where the configuration was read from, for error messages.
    pub fn with_sources(mut self, config_path: &str, config_dir_path: &str) -> Self {
        self.config_path = config_path.to_owned();
        self.config_dir_path = config_dir_path.to_owned();
        self
    }

    /// The refusal to use `entry`, a `blocked` registry, naming where it is configured.
    pub fn blocked_error(&self, entry: &Registry) -> String {
        format!(
            "registry {} is blocked in {} or {}",
            entry.prefix, self.config_path, self.config_dir_path
        )
    }

    /// Parses and merges the main file and the drop-ins (`(path, text)`, in reading order).
    /// Errors name the file, as containers/image does.
    pub fn load(main: Option<(&str, &str)>, drop_ins: &[(&str, &str)]) -> Result<Self, String> {
        let mut conf = RegistriesConf::default();
        let mut registries: BTreeMap<String, Registry> = BTreeMap::new();
        let mut first = true;
        let files = main
            .into_iter()
            .map(|f| (f, false))
            .chain(drop_ins.iter().map(|f| (*f, true)));
        for ((path, text), is_drop_in) in files {
            let describe = |e: String| {
                if is_drop_in {
                    format!("loading drop-in registries configuration {path:?}: {e}")
                } else {
                    format!("loading registries configuration {path:?}: {e}")
                }
            };
            let file: File =
                toml::from_str(text).map_err(|e| describe(e.to_string().trim().to_owned()))?;
            let mut regs = file.registries;
            if let Some(v1) = &file.v1 {
                let v1_nonempty = !v1.search.registries.is_empty()
                    || !v1.insecure.registries.is_empty()
                    || !v1.block.registries.is_empty();
                if v1_nonempty {
                    if is_drop_in {
                        return Err(describe(
                            "registry must be in v2 format but is in v1".into(),
                        ));
                    }
                    if !regs.is_empty() || file.unqualified_search_registries.is_some() {
                        return Err(describe("mixing sysregistry v1/v2 is not supported".into()));
                    }
                    regs = v1_to_v2(v1);
                    conf.unqualified_search_registries = v1.search.registries.clone();
                }
            }
            post_process(&mut regs).map_err(describe)?;
            if first && !is_drop_in {
                conf.registries = regs.clone();
            }
            for r in regs {
                registries.insert(r.prefix.clone(), r);
            }
            if let Some(u) = file.unqualified_search_registries {
                conf.unqualified_search_registries = u;
            }
            if let Some(h) = file.credential_helpers {
                conf.credential_helpers = h;
            }
            first = false;
        }
        if !drop_ins.is_empty() {
            conf.registries = registries.into_values().collect();
        }
        if conf.credential_helpers.is_empty() {
            conf.credential_helpers = vec![AUTH_FILE_HELPER.into()];
        }
        Ok(conf)
    }

    /// The entry with the longest prefix matching `name` (a registry, repository or image
    /// reference string starting with its host).
    pub fn find_registry(&self, name: &str) -> Option<&Registry> {
        let mut best: Option<&Registry> = None;
        for r in &self.registries {
            if prefix_match_len(name, &r.prefix).is_some()
                && best.is_none_or(|b| r.prefix.len() > b.prefix.len())
            {
                best = Some(r);
            }
        }
        best
    }
}

impl RegistriesConf {
    /// Where to read `reference` from, in order (mirrors first, then the primary location; the
    /// reference itself when no entry matches). A blocked registry is refused.
    pub fn pull_sources_for(&self, reference: &Reference) -> Result<Vec<PullSource>, String> {
        match self.find_registry(&reference.name()) {
            Some(entry) if entry.blocked => Err(self.blocked_error(entry)),
            Some(entry) => entry.pull_sources(reference),
            None => Ok(vec![PullSource {
                endpoint: Endpoint::default(),
                reference: reference.clone(),
            }]),
        }
    }
}

/// The error when every pull source failed, given `(reference, error)` per source in the order
/// tried (the primary last), worded as containers/image words it.
pub fn all_sources_failed(mut failures: Vec<(String, String)>) -> String {
    let (primary, error) = failures.pop().unwrap_or_default();
    if failures.is_empty() {
        return error;
    }
    let mirrors: Vec<String> = failures.iter().map(|(r, e)| format!("{r}: {e}")).collect();
    format!(
        "(Mirrors also failed: [{}]): {primary}: {error}",
        mirrors.join("\n")
    )
}

/// How much of `reference` the registry `prefix` matches, or `None`.
pub fn prefix_match_len(reference: &str, prefix: &str) -> Option<usize> {
    let boundary = |rest: &str| rest.is_empty() || rest.starts_with([':', '/', '@']);
    if let Some(domain) = prefix.strip_prefix('*') {
        let index = reference.find(domain)?;
        if reference[..index].contains('/') {
            return None;
        }
        let end = index + domain.len();
        return boundary(&reference[end..]).then_some(end);
    }
    let rest = reference.strip_prefix(prefix)?;
    boundary(rest).then_some(prefix.len())
}

/// Where to pull an image from: one endpoint and the reference rewritten for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullSource {
    pub endpoint: Endpoint,
    pub reference: Reference,
}

impl Registry {
    /// The pull sources for `reference`: usable mirrors first, then the primary location.
    pub fn pull_sources(&self, reference: &Reference) -> Result<Vec<PullSource>, String> {
        let digested = reference.digest_str().is_some();
        let mut endpoints: Vec<&Endpoint> = Vec::new();
        if self.mirror_by_digest_only {
            if digested {
                endpoints.extend(&self.mirrors);
            }
        } else {
            for m in &self.mirrors {
                match m.pull_from_mirror.as_str() {
                    "digest-only" if !digested => continue,
                    "tag-only" if digested => continue,
                    _ => endpoints.push(m),
                }
            }
        }
        endpoints.push(&self.endpoint);
        let text = reference.to_string();
        endpoints
            .into_iter()
            .map(|ep| {
                let len = prefix_match_len(&text, &self.prefix).ok_or_else(|| {
                    format!("invalid prefix '{}' for reference '{text}'", self.prefix)
                })?;
                let rewritten = if ep.location.is_empty() {
                    reference.clone()
                } else {
                    let new = format!("{}{}", ep.location, &text[len..]);
                    Reference::parse_named(&new).map_err(|e| format!("rewriting reference: {e}"))?
                };
                Ok(PullSource {
                    endpoint: ep.clone(),
                    reference: rewritten,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = r#"
unqualified-search-registries = ["example.com"]

[[registry]]
prefix = "example.com/foo"
location = "mirror.local:5000/bar/"
insecure = true

[[registry]]
location = "example.com"
mirror-by-digest-only = true
[[registry.mirror]]
location = "m1.example.com"

[[registry]]
prefix = "*.blocked.io"
blocked = true

[[registry]]
location = "tagged.io"
[[registry.mirror]]
location = "t1.io"
pull-from-mirror = "tag-only"
[[registry.mirror]]
location = "d1.io"
pull-from-mirror = "digest-only"
"#;

    fn conf() -> RegistriesConf {
        RegistriesConf::load(Some(("/etc/containers/registries.conf", CONF)), &[]).unwrap()
    }

    #[test]
    fn longest_prefix_and_wildcards() {
        let c = conf();
        assert_eq!(
            c.find_registry("example.com/foo/img:1").unwrap().prefix,
            "example.com/foo"
        );
        assert_eq!(
            c.find_registry("example.com/other").unwrap().prefix,
            "example.com"
        );
        assert!(c.find_registry("example.community/x").is_none());
        assert!(c.find_registry("a.b.blocked.io/x").unwrap().blocked);
        assert!(c.find_registry("blocked.io/x").is_none());
        assert_eq!(c.credential_helpers, [AUTH_FILE_HELPER]);
        assert_eq!(c.unqualified_search_registries, ["example.com"]);
    }

    #[test]
    fn rewrites_and_mirrors() {
        let c = conf();
        let r = Reference::parse_named("example.com/foo/img:1").unwrap();
        let s = c
            .find_registry(&r.to_string())
            .unwrap()
            .pull_sources(&r)
            .unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].reference.to_string(), "mirror.local:5000/bar/img:1");
        assert!(s[0].endpoint.insecure);

        let tagged = Reference::parse_named("example.com/x:1").unwrap();
        let reg = c.find_registry("example.com/x").unwrap();
        assert_eq!(
            reg.pull_sources(&tagged).unwrap().len(),
            1,
            "digest-only mirrors skipped"
        );
        let digested =
            Reference::parse_named(&format!("example.com/x@sha256:{}", "a".repeat(64))).unwrap();
        let s = reg.pull_sources(&digested).unwrap();
        assert_eq!(s[0].reference.domain(), "m1.example.com");

        let reg = c.find_registry("tagged.io/x").unwrap();
        let names = |r: &Reference| -> Vec<String> {
            reg.pull_sources(r)
                .unwrap()
                .iter()
                .map(|s| s.reference.domain().to_owned())
                .collect()
        };
        assert_eq!(
            names(&Reference::parse_named("tagged.io/x:1").unwrap()),
            ["t1.io", "tagged.io"]
        );
        let d = Reference::parse_named(&format!("tagged.io/x@sha256:{}", "a".repeat(64))).unwrap();
        assert_eq!(names(&d), ["d1.io", "tagged.io"]);
    }

    #[test]
    fn pull_sources_and_failures() {
        let c = conf();
        let blocked = Reference::parse_named("x.blocked.io/a:1").unwrap();
        assert!(c
            .pull_sources_for(&blocked)
            .unwrap_err()
            .starts_with("registry *.blocked.io is blocked in"));
        let plain = Reference::parse_named("other.io/a:1").unwrap();
        assert_eq!(c.pull_sources_for(&plain).unwrap()[0].reference, plain);
        assert_eq!(all_sources_failed(vec![("p".into(), "e".into())]), "e");
        assert_eq!(
            all_sources_failed(vec![("m".into(), "x".into()), ("p".into(), "e".into())]),
            "(Mirrors also failed: [m: x]): p: e"
        );
    }

    #[test]
    fn drop_ins_override_by_prefix() {
        let drop = r#"
[[registry]]
location = "example.com"
blocked = true
"#;
        let c = RegistriesConf::load(Some(("main", CONF)), &[("/d/01.conf", drop)]).unwrap();
        assert!(c.find_registry("example.com/x").unwrap().blocked);
        assert!(!c.find_registry("example.com/foo/x").unwrap().blocked);
    }

    #[test]
    fn invalid_files_are_named() {
        let err = RegistriesConf::load(Some(("/r.conf", "[[registry]]\ninsecure = true\n")), &[])
            .unwrap_err();
        assert_eq!(err, "loading registries configuration \"/r.conf\": invalid condition: both location and prefix are unset");
        let err = RegistriesConf::load(
            Some(("/r.conf", "[[registry]]\nlocation = \"https://x\"\n")),
            &[],
        )
        .unwrap_err();
        assert!(err.ends_with("invalid location 'https://x': URI schemes are not supported"));
        let v1 = "[registries.insecure]\nregistries = ['old.io']\n[registries.block]\nregistries = ['bad.io']\n";
        let c = RegistriesConf::load(Some(("/r.conf", v1)), &[]).unwrap();
        assert!(c.find_registry("old.io/x").unwrap().endpoint.insecure);
        assert!(c.find_registry("bad.io/x").unwrap().blocked);
        let err = RegistriesConf::load(None, &[("/d/x.conf", v1)]).unwrap_err();
        assert!(err.contains("registry must be in v2 format but is in v1"));
    }
}
