//! `signedIdentity`: which docker reference a signature may claim for an image, as
//! containers-policy.json(5) defines each kind.

use crate::reference::Reference;
use serde_json::Value;

/// One `signedIdentity` of a policy requirement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SignedIdentity {
    /// The same name and tag (or digest) as the image.
    MatchExact,
    /// The default: the same tag, or for an image named by digest, the same repository.
    #[default]
    MatchRepoDigestOrExact,
    /// The same repository, whatever the tag.
    MatchRepository,
    /// Exactly this reference (with a tag or digest).
    ExactReference(String),
    /// This repository, whatever the tag.
    ExactRepository(String),
    /// `matchRepoDigestOrExact` after replacing `prefix` in the image's name by `signed_prefix`.
    RemapIdentity {
        prefix: String,
        signed_prefix: String,
    },
}

fn same_repository(a: &Reference, b: &Reference) -> bool {
    a.name() == b.name()
}

fn match_repo_digest_or_exact(intended: &Reference, signed: &Reference) -> bool {
    if signed.is_name_only() {
        return false;
    }
    match (intended.tag(), intended.digest_str()) {
        (Some(_), _) => signed.to_string() == intended.to_string(),
        (None, Some(_)) => same_repository(intended, signed),
        (None, None) => false,
    }
}

impl SignedIdentity {
    /// Reads a `signedIdentity` object, with containers/image's complaints.
    pub fn from_json(value: &Value) -> Result<SignedIdentity, String> {
        let object = value
            .as_object()
            .ok_or_else(|| format!("JSON object expected, got \"{value}\""))?;
        let kind = object.get("type").and_then(Value::as_str).unwrap_or("");
        let field = |name: &str| -> Result<String, String> {
            object
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("Key \"{name}\" missing in a JSON object"))
        };
        let allowed: &[&str] = match kind {
            "matchExact" | "matchRepoDigestOrExact" | "matchRepository" => &["type"],
            "exactReference" => &["type", "dockerReference"],
            "exactRepository" => &["type", "dockerRepository"],
            "remapIdentity" => &["type", "prefix", "signedPrefix"],
            other => return Err(format!("Unknown policy reference match type \"{other}\"")),
        };
        if let Some(unknown) = object.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(format!("Unknown key \"{unknown}\""));
        }
        Ok(match kind {
            "matchExact" => SignedIdentity::MatchExact,
            "matchRepoDigestOrExact" => SignedIdentity::MatchRepoDigestOrExact,
            "matchRepository" => SignedIdentity::MatchRepository,
            "exactReference" => {
                let r = field("dockerReference")?;
                let parsed = Reference::parse_normalized_named(&r)
                    .map_err(|e| format!("Invalid format of dockerReference {r}: {e}"))?;
                if parsed.is_name_only() {
                    return Err(format!(
                        "dockerReference {r} contains neither a tag nor digest"
                    ));
                }
                SignedIdentity::ExactReference(r)
            }
            "exactRepository" => {
                let r = field("dockerRepository")?;
                Reference::parse_normalized_named(&r)
                    .map_err(|e| format!("Invalid format of dockerRepository {r}: {e}"))?;
                SignedIdentity::ExactRepository(r)
            }
            _ => {
                let prefix = field("prefix")?;
                let signed_prefix = field("signedPrefix")?;
                for p in [&prefix, &signed_prefix] {
                    if !valid_remap_prefix(p) {
                        return Err(format!(
                            "prefix {} is not valid",
                            crate::gojson::go_quote(p)
                        ));
                    }
                }
                SignedIdentity::RemapIdentity {
                    prefix,
                    signed_prefix,
                }
            }
        })
    }

    /// Whether a signature claiming `signed` is acceptable for an image known as `image`
    /// (`None`: the image's transport has no docker reference, such as `dir:`).
    pub fn accepts(&self, image: Option<&Reference>, signed: &str) -> bool {
        let Ok(signed_ref) = Reference::parse_normalized_named(signed) else {
            return false;
        };
        let exact = |intended: &Reference| {
            !intended.is_name_only()
                && !signed_ref.is_name_only()
                && intended.to_string() == signed_ref.to_string()
        };
        match self {
            SignedIdentity::ExactReference(r) => {
                Reference::parse_normalized_named(r).is_ok_and(|r| exact(&r))
            }
            SignedIdentity::ExactRepository(r) => {
                Reference::parse_normalized_named(r).is_ok_and(|r| same_repository(&r, &signed_ref))
            }
            _ => {
                let Some(intended) = image else { return false };
                match self {
                    SignedIdentity::MatchExact => exact(intended),
                    SignedIdentity::MatchRepository => same_repository(intended, &signed_ref),
                    SignedIdentity::RemapIdentity {
                        prefix,
                        signed_prefix,
                    } => match remap(intended, prefix, signed_prefix) {
                        Some(remapped) => match_repo_digest_or_exact(&remapped, &signed_ref),
                        None => false,
                    },
                    _ => match_repo_digest_or_exact(intended, &signed_ref),
                }
            }
        }
    }
}

/// The image's reference with `prefix` replaced by `signed_prefix` (unchanged when the name
/// does not start with `prefix` at a path boundary; `None` when the result does not parse).
fn remap(intended: &Reference, prefix: &str, signed_prefix: &str) -> Option<Reference> {
    let name = intended.name();
    let matches = name == prefix
        || (name.starts_with(prefix) && name.as_bytes().get(prefix.len()) == Some(&b'/'));
    if !matches {
        return Some(intended.clone());
    }
    let rewritten = intended.to_string().replacen(prefix, signed_prefix, 1);
    Reference::parse_named(&rewritten).ok()
}

/// A remapping prefix, as containers/image validates it: a registry domain, or a repository
/// name whose first component reads as a domain.
fn valid_remap_prefix(p: &str) -> bool {
    const COMPONENT: &str = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    const PATH: &str = "[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*";
    let domain = format!(r"{COMPONENT}(?:\.{COMPONENT})*(?::[0-9]+)?");
    let whole_domain = regex::Regex::new(&format!("^{domain}$")).expect("valid regex");
    let domain_first = regex::Regex::new(&format!("^{domain}/")).expect("valid regex");
    let name =
        regex::Regex::new(&format!("^(?:{domain}/)?{PATH}(?:/{PATH})*$")).expect("valid regex");
    whole_domain.is_match(p) || (name.is_match(p) && domain_first.is_match(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(s: &str) -> Reference {
        Reference::parse_normalized_named(s).unwrap()
    }

    #[test]
    fn each_kind_matches_as_the_policy_format_says() {
        let tagged = image("example.com/ns/app:v1");
        let by_digest = image(&format!("example.com/ns/app@sha256:{}", "a".repeat(64)));
        let d = SignedIdentity::MatchRepoDigestOrExact;
        assert!(d.accepts(Some(&tagged), "example.com/ns/app:v1"));
        assert!(!d.accepts(Some(&tagged), "example.com/ns/app:v2"));
        assert!(d.accepts(Some(&by_digest), "example.com/ns/app:anything"));
        assert!(!d.accepts(Some(&by_digest), "example.com/ns/app"));
        assert!(!d.accepts(None, "example.com/ns/app:v1"));
        assert!(SignedIdentity::MatchRepository.accepts(Some(&tagged), "example.com/ns/app:v9"));
        assert!(!SignedIdentity::MatchExact.accepts(Some(&by_digest), "example.com/ns/app:v1"));
        let repo = SignedIdentity::ExactRepository("example.com/ns/app".into());
        assert!(repo.accepts(None, "example.com/ns/app:v3"));
        let exact = SignedIdentity::ExactReference("example.com/ns/app:v3".into());
        assert!(exact.accepts(None, "example.com/ns/app:v3"));
        assert!(!exact.accepts(None, "example.com/ns/app:v4"));
        let remap = SignedIdentity::RemapIdentity {
            prefix: "mirror.local/ns".into(),
            signed_prefix: "example.com/ns".into(),
        };
        assert!(remap.accepts(
            Some(&image("mirror.local/ns/app:v1")),
            "example.com/ns/app:v1"
        ));
        assert!(!remap.accepts(
            Some(&image("mirror.local/nsx/app:v1")),
            "example.com/nsx/app:v1"
        ));
    }

    #[test]
    fn malformed_identities_are_refused() {
        let parse = |s: &str| SignedIdentity::from_json(&serde_json::from_str(s).unwrap());
        assert_eq!(
            parse(r#"{"type":"exactReference","dockerReference":"example.com/a"}"#).unwrap_err(),
            "dockerReference example.com/a contains neither a tag nor digest"
        );
        assert_eq!(
            parse(r#"{"type":"nope"}"#).unwrap_err(),
            "Unknown policy reference match type \"nope\""
        );
        assert_eq!(
            parse(r#"{"type":"remapIdentity","prefix":"Ex/Y","signedPrefix":"example.com"}"#)
                .unwrap_err(),
            "prefix \"Ex/Y\" is not valid"
        );
        assert!(parse(
            r#"{"type":"remapIdentity","prefix":"docker.io","signedPrefix":"example.com/ns"}"#
        )
        .is_ok());
    }
}
