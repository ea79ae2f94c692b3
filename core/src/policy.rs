//! The trust policy (`policy.json`, containers-policy.json(5)): which requirements apply to an
//! image, found by transport and scope. What each requirement demands is evaluated in
//! [`crate::trust::policy_eval`].

use crate::transport::ImageName;
use serde::Deserialize;
use std::collections::BTreeMap;

pub use crate::trust::requirement::Requirement;

/// A parsed `policy.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub default: Vec<Requirement>,
    /// transport name -> scope -> requirements (`""` is the transport's default).
    pub transports: BTreeMap<String, BTreeMap<String, Vec<Requirement>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    default: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    transports: BTreeMap<String, BTreeMap<String, Vec<serde_json::Value>>>,
}

fn requirements(raw: Vec<serde_json::Value>) -> Result<Vec<Requirement>, String> {
    if raw.is_empty() {
        return Err("List of verification policy requirements must not be empty".into());
    }
    raw.iter().map(Requirement::from_json).collect()
}

impl Policy {
    /// Parses `bytes` read from `path` (named in errors as containers/image names it).
    pub fn parse(bytes: &[u8], path: &str) -> Result<Policy, String> {
        let invalid = |e: String| format!("invalid policy in {path:?}: {e}");
        let raw: RawPolicy = serde_json::from_slice(bytes)
            .map_err(|e| invalid(crate::gojson::json_error_text(bytes, &e)))?;
        let default = raw
            .default
            .ok_or_else(|| invalid("Default policy is missing".into()))?;
        let mut policy = Policy {
            default: requirements(default).map_err(invalid)?,
            transports: BTreeMap::new(),
        };
        for (transport, scopes) in raw.transports {
            let mut parsed = BTreeMap::new();
            for (scope, reqs) in scopes {
                parsed.insert(scope, requirements(reqs).map_err(invalid)?);
            }
            policy.transports.insert(transport, parsed);
        }
        Ok(policy)
    }

    /// The requirements for `image`: its most specific scope in its transport's section, else
    /// the transport's `""`, else the policy's default.
    pub fn requirements_for(&self, image: &ImageName) -> &[Requirement] {
        if let Some(scopes) = self.transports.get(image.transport()) {
            for scope in policy_scopes(image) {
                if let Some(reqs) = scopes.get(&scope) {
                    return reqs;
                }
            }
            if let Some(reqs) = scopes.get("") {
                return reqs;
            }
        }
        &self.default
    }

    /// Whether copying from `image` may even start: `reject` refuses it at once, as
    /// containers/image words it. Signature requirements are checked once the manifest and
    /// signatures are read ([`crate::trust::policy_eval`]).
    pub fn allows(&self, image: &ImageName) -> Result<(), String> {
        if self.requirements_for(image).contains(&Requirement::Reject) {
            return Err(format!("Running image {image} is rejected by policy."));
        }
        Ok(())
    }
}

/// The scopes a policy can name for `image`, most specific first.
fn policy_scopes(image: &ImageName) -> Vec<String> {
    let mut scopes = Vec::new();
    let parents = |path: &str, scopes: &mut Vec<String>| {
        let mut p = path.trim_end_matches('/');
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            if !p.is_empty() {
                scopes.push(p.to_owned());
            }
        }
    };
    match image {
        ImageName::Docker { reference, .. } => {
            scopes.push(reference.policy_identity());
            scopes.extend(reference.policy_namespaces());
        }
        ImageName::Dir { path } => {
            let path = crate::source::clean_path(path);
            scopes.push(path.clone());
            parents(&path, &mut scopes);
        }
        ImageName::Oci { path, image } => {
            let path = crate::source::clean_path(path);
            scopes.push(format!("{path}:{image}"));
            scopes.push(path.clone());
            parents(&path, &mut scopes);
        }
        _ => {}
    }
    scopes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> ImageName {
        ImageName::parse(s).unwrap()
    }

    #[test]
    fn scopes_pick_the_most_specific_requirements() {
        let policy = Policy::parse(
            br#"{"default":[{"type":"insecureAcceptAnything"}],
                 "transports":{"docker":{"reg.io/team":[{"type":"reject"}],
                                         "reg.io/team/ok":[{"type":"insecureAcceptAnything"}]},
                               "oci":{"":[{"type":"reject"}]}}}"#,
            "p.json",
        )
        .unwrap();
        assert!(policy.allows(&name("docker://reg.io/other/x:1")).is_ok());
        assert_eq!(
            policy
                .allows(&name("docker://reg.io/team/x:1"))
                .unwrap_err(),
            "Running image docker://reg.io/team/x:1 is rejected by policy."
        );
        assert!(policy.allows(&name("docker://reg.io/team/ok:1")).is_ok());
        // Wildcard domains, as containers/image matches them.
        let wild = Policy::parse(
            br#"{"default":[{"type":"insecureAcceptAnything"}],
                 "transports":{"docker":{"*.example.com":[{"type":"reject"}]}}}"#,
            "p.json",
        )
        .unwrap();
        assert!(wild.allows(&name("docker://reg.example.com/a:1")).is_err());
        assert!(wild.allows(&name("docker://reg.example.org/a:1")).is_ok());
        assert!(policy.allows(&name("oci:/l:t")).is_err());
        assert!(policy.allows(&name("dir:/d")).is_ok());
    }

    #[test]
    fn bad_policies_are_named() {
        assert_eq!(
            Policy::parse(br#"{"default":[]}"#, "r4.json").unwrap_err(),
            "invalid policy in \"r4.json\": List of verification policy requirements must not be empty"
        );
        assert!(Policy::parse(br#"{"default":[{"type":"x"}]}"#, "p")
            .unwrap_err()
            .contains("Unknown policy requirement type \"x\""));
        assert!(Policy::parse(br#"{}"#, "p")
            .unwrap_err()
            .ends_with("Default policy is missing"));
        let signed = Policy::parse(
            br#"{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k"}]}"#,
            "p",
        )
        .unwrap();
        assert!(matches!(
            signed.requirements_for(&name("dir:/d"))[0],
            Requirement::SignedBy(_)
        ));
    }
}
