//! The requirements of a policy.json (containers-policy.json(5)), read as strictly as
//! containers/image reads them.

use crate::trust::identity::SignedIdentity;
use base64::Engine as _;
use serde_json::{Map, Value};

/// One requirement of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    InsecureAcceptAnything,
    Reject,
    /// `signedBy`: a simple signing signature by one of the keys.
    SignedBy(SignedBy),
    /// `signedBaseLayer`: recognised, never satisfied (as in containers/image).
    SignedBaseLayer,
    /// `sigstoreSigned`: a sigstore signature by one of the keys.
    SigstoreSigned(SigstoreSigned),
}

/// Where a requirement's keys are: files named by path, or inline data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Path(String),
    Paths(Vec<String>),
    Data(Vec<Vec<u8>>),
}

impl KeySource {
    /// The files the keys are read from.
    pub fn paths(&self) -> Vec<&str> {
        match self {
            KeySource::Path(p) => vec![p.as_str()],
            KeySource::Paths(ps) => ps.iter().map(String::as_str).collect(),
            KeySource::Data(_) => Vec::new(),
        }
    }
}

/// `signedBy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBy {
    /// `keyType` (only `GPGKeys` is implemented, as in containers/image).
    pub key_type: String,
    pub keys: KeySource,
    pub identity: SignedIdentity,
}

/// `sigstoreSigned`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigstoreSigned {
    /// The public keys (`None` when `fulcio` or `pki` names the signers instead).
    pub keys: Option<KeySource>,
    /// Rekor's public keys, when signatures must carry a signed entry timestamp.
    pub rekor_keys: Option<KeySource>,
    /// Signers certified by Fulcio.
    pub fulcio: Option<Fulcio>,
    /// Signers certified by a private PKI.
    pub pki: Option<Pki>,
    pub identity: SignedIdentity,
}

/// `fulcio`: which Fulcio CA, OIDC issuer and e-mail a signing certificate must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fulcio {
    pub ca: KeySource,
    pub oidc_issuer: String,
    pub subject_email: String,
}

/// `pki`: the roots (and intermediates) a signing certificate chains to, and its subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pki {
    pub roots: KeySource,
    pub intermediates: Option<KeySource>,
    pub subject_email: Option<String>,
    pub subject_hostname: Option<String>,
}

impl Requirement {
    /// Reads one requirement object.
    pub fn from_json(value: &Value) -> Result<Requirement, String> {
        let object = value
            .as_object()
            .ok_or_else(|| format!("JSON object expected, got \"{value}\""))?;
        let kind = match object.get("type") {
            Some(Value::String(s)) => s.as_str(),
            _ => "",
        };
        match kind {
            "insecureAcceptAnything" | "reject" => {
                only_keys(object, &["type"])?;
                Ok(if kind == "reject" {
                    Requirement::Reject
                } else {
                    Requirement::InsecureAcceptAnything
                })
            }
            "signedBy" => signed_by(object),
            "signedBaseLayer" => {
                only_keys(object, &["type", "baseLayerIdentity"])?;
                let identity = object
                    .get("baseLayerIdentity")
                    .ok_or("Key \"baseLayerIdentity\" missing in a JSON object")?;
                SignedIdentity::from_json(identity)?;
                Ok(Requirement::SignedBaseLayer)
            }
            "sigstoreSigned" => sigstore_signed(object),
            other => Err(format!("Unknown policy requirement type \"{other}\"")),
        }
    }

    /// The key files evaluating this requirement reads.
    pub fn key_paths(&self) -> Vec<&str> {
        match self {
            Requirement::SignedBy(s) => s.keys.paths(),
            Requirement::SigstoreSigned(s) => s
                .keys
                .iter()
                .chain(s.rekor_keys.iter())
                .chain(s.fulcio.iter().map(|f| &f.ca))
                .chain(s.pki.iter().map(|p| &p.roots))
                .chain(s.pki.iter().filter_map(|p| p.intermediates.as_ref()))
                .flat_map(|k| k.paths())
                .collect(),
            _ => Vec::new(),
        }
    }
}

fn only_keys(object: &Map<String, Value>, allowed: &[&str]) -> Result<(), String> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(format!("Unknown key \"{unknown}\"")),
        None => Ok(()),
    }
}

fn string_field(object: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match object.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!(
            "json: cannot unmarshal {key} into Go value of type string"
        )),
    }
}

fn strings_field(object: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, String> {
    match object.get(key) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str().map(str::to_owned).ok_or_else(|| {
                    format!("json: cannot unmarshal {key} into Go value of type string")
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(Value::Null) => Ok(None),
        Some(_) => Err(format!(
            "json: cannot unmarshal {key} into Go value of type []string"
        )),
    }
}

/// Go decodes a JSON string into `[]byte` as standard base64.
fn bytes_of(key: &str, text: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("decoding {key}: illegal base64 data ({e})"))
}

/// `signedIdentity`, `matchRepoDigestOrExact` when absent.
fn identity(object: &Map<String, Value>) -> Result<SignedIdentity, String> {
    match object.get("signedIdentity") {
        Some(v) => SignedIdentity::from_json(v),
        None => Ok(SignedIdentity::MatchRepoDigestOrExact),
    }
}

fn signed_by(object: &Map<String, Value>) -> Result<Requirement, String> {
    only_keys(
        object,
        &[
            "type",
            "keyType",
            "keyPath",
            "keyPaths",
            "keyData",
            "signedIdentity",
        ],
    )?;
    let key_type = string_field(object, "keyType")?.unwrap_or_default();
    if ![
        "GPGKeys",
        "signedByGPGKeys",
        "X509Certificates",
        "signedByX509CAs",
    ]
    .contains(&key_type.as_str())
    {
        return Err(format!("Unrecognized keyType value \"{key_type}\""));
    }
    let path = string_field(object, "keyPath")?;
    let paths = strings_field(object, "keyPaths")?;
    let data = string_field(object, "keyData")?;
    let keys = match (path, paths, data) {
        (Some(p), None, None) => KeySource::Path(p),
        (None, Some(ps), None) => KeySource::Paths(ps),
        (None, None, Some(d)) => KeySource::Data(vec![bytes_of("keyData", &d)?]),
        (None, None, None) => return Err(
            "Exactly one of keyPath, keyPaths and keyData must be specified, none of them present"
                .into(),
        ),
        _ => return Err(
            "Exactly one of keyPath, keyPaths and keyData must be specified, more than one present"
                .into(),
        ),
    };
    Ok(Requirement::SignedBy(SignedBy {
        key_type,
        keys,
        identity: identity(object)?,
    }))
}

fn sigstore_signed(object: &Map<String, Value>) -> Result<Requirement, String> {
    only_keys(
        object,
        &[
            "type",
            "keyPath",
            "keyPaths",
            "keyData",
            "keyDatas",
            "fulcio",
            "pki",
            "rekorPublicKeyPath",
            "rekorPublicKeyPaths",
            "rekorPublicKeyData",
            "rekorPublicKeyDatas",
            "signedIdentity",
        ],
    )?;
    if let Some(Value::Array(a)) = object.get("keyPaths") {
        if a.is_empty() {
            return Err("\"keyPaths\" contains no entries".into());
        }
    }
    if let Some(Value::Array(a)) = object.get("keyDatas") {
        if a.is_empty() {
            return Err("\"keyDatas\" contains no entries".into());
        }
    }
    let mut sources = Vec::new();
    if let Some(p) = string_field(object, "keyPath")? {
        sources.push(KeySource::Path(p));
    }
    if let Some(ps) = strings_field(object, "keyPaths")? {
        sources.push(KeySource::Paths(ps));
    }
    if let Some(d) = string_field(object, "keyData")? {
        sources.push(KeySource::Data(vec![bytes_of("keyData", &d)?]));
    }
    if let Some(ds) = strings_field(object, "keyDatas")? {
        let decoded = ds
            .iter()
            .map(|d| bytes_of("keyDatas", d))
            .collect::<Result<Vec<_>, _>>()?;
        sources.push(KeySource::Data(decoded));
    }
    let has_fulcio = object.contains_key("fulcio");
    let has_pki = object.contains_key("pki");
    let signer_kinds = sources.len() + usize::from(has_fulcio) + usize::from(has_pki);
    if signer_kinds != 1 {
        return Err(
            "exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio, and pki must be specified"
                .into(),
        );
    }
    let rekor = [
        "rekorPublicKeyPath",
        "rekorPublicKeyPaths",
        "rekorPublicKeyData",
        "rekorPublicKeyDatas",
    ]
    .iter()
    .filter(|k| object.contains_key(**k))
    .count();
    if rekor > 1 {
        return Err("at most one of rekorPublickeyPath, rekorPublicKeyPaths, rekorPublickeyData and rekorPublicKeyDatas can be used simultaneously".into());
    }
    if has_fulcio && rekor == 0 {
        return Err("At least one of rekorPublickeyPath, rekorPublicKeyPaths, rekorPublickeyData and rekorPublicKeyDatas must be specified if fulcio is used".into());
    }
    if has_pki && rekor > 0 {
        return Err("rekorPublickeyPath, rekorPublicKeyPaths, rekorPublickeyData and rekorPublicKeyDatas are not supported for pki".into());
    }
    let fulcio = object.get("fulcio").map(fulcio_of).transpose()?;
    let pki = object.get("pki").map(pki_of).transpose()?;
    let mut rekor_keys = None;
    if let Some(p) = string_field(object, "rekorPublicKeyPath")? {
        rekor_keys = Some(KeySource::Path(p));
    }
    if let Some(ps) = strings_field(object, "rekorPublicKeyPaths")? {
        rekor_keys = Some(KeySource::Paths(ps));
    }
    if let Some(d) = string_field(object, "rekorPublicKeyData")? {
        rekor_keys = Some(KeySource::Data(vec![bytes_of("rekorPublicKeyData", &d)?]));
    }
    if let Some(ds) = strings_field(object, "rekorPublicKeyDatas")? {
        let decoded = ds
            .iter()
            .map(|d| bytes_of("rekorPublicKeyDatas", d))
            .collect::<Result<Vec<_>, _>>()?;
        rekor_keys = Some(KeySource::Data(decoded));
    }
    Ok(Requirement::SigstoreSigned(SigstoreSigned {
        keys: sources.pop(),
        rekor_keys,
        fulcio,
        pki,
        identity: identity(object)?,
    }))
}

/// One of a path or inline (base64) data naming a file's contents.
fn file_or_data(
    object: &Map<String, Value>,
    path_key: &str,
    data_key: &str,
) -> Result<Option<KeySource>, String> {
    match (
        string_field(object, path_key)?,
        string_field(object, data_key)?,
    ) {
        (Some(_), Some(_)) => Err(format!(
            "{path_key} and {data_key} cannot be used simultaneously"
        )),
        (Some(p), None) => Ok(Some(KeySource::Path(p))),
        (None, Some(d)) => Ok(Some(KeySource::Data(vec![bytes_of(data_key, &d)?]))),
        (None, None) => Ok(None),
    }
}

fn fulcio_of(value: &Value) -> Result<Fulcio, String> {
    let object = value
        .as_object()
        .ok_or_else(|| format!("JSON object expected, got \"{value}\""))?;
    only_keys(object, &["caPath", "caData", "oidcIssuer", "subjectEmail"])?;
    let ca = file_or_data(object, "caPath", "caData")?
        .ok_or("At least one of caPath and caData must be specified")?;
    let oidc_issuer = string_field(object, "oidcIssuer")?
        .filter(|s| !s.is_empty())
        .ok_or("oidcIssuer not specified")?;
    let subject_email = string_field(object, "subjectEmail")?
        .filter(|s| !s.is_empty())
        .ok_or("subjectEmail not specified")?;
    Ok(Fulcio {
        ca,
        oidc_issuer,
        subject_email,
    })
}

fn pki_of(value: &Value) -> Result<Pki, String> {
    let object = value
        .as_object()
        .ok_or_else(|| format!("JSON object expected, got \"{value}\""))?;
    only_keys(
        object,
        &[
            "caRootsPath",
            "caRootsData",
            "caIntermediatesPath",
            "caIntermediatesData",
            "subjectEmail",
            "subjectHostname",
        ],
    )?;
    let roots = file_or_data(object, "caRootsPath", "caRootsData")?
        .ok_or("At least one of caRootsPath and caRootsData must be specified")?;
    let intermediates = file_or_data(object, "caIntermediatesPath", "caIntermediatesData")?;
    let subject_email = string_field(object, "subjectEmail")?.filter(|s| !s.is_empty());
    let subject_hostname = string_field(object, "subjectHostname")?.filter(|s| !s.is_empty());
    if subject_email.is_none() && subject_hostname.is_none() {
        return Err("At least one of subjectEmail, subjectHostname must be specified".into());
    }
    Ok(Pki {
        roots,
        intermediates,
        subject_email,
        subject_hostname,
    })
}
