//! Judging one source image against the policy, as containers/image's `IsRunningImageAllowed`
//! does: every requirement of the image's scope must hold; a signature requirement holds
//! when one of the image's signatures is accepted, and the refusal names why each was not.

use crate::policy::Policy;
use crate::reference::Reference;
use crate::signature::Signature;
use crate::transport::ImageName;
use crate::trust::identity::SignedIdentity;
use crate::trust::openpgp::Keyring;
use crate::trust::requirement::{KeySource, Requirement, SignedBy, SigstoreSigned};
use crate::trust::sigstore::SigstoreSignature;
use crate::trust::sigstore_eval;
use crate::trust::simple_signing::SimpleSignature;
use std::collections::BTreeMap;

/// What one image is judged by: its requirements, its identity, the key files they name
/// (read by the host) and the time.
#[derive(Debug, Clone)]
pub struct TrustCheck {
    requirements: Vec<Requirement>,
    image_name: String,
    docker_reference: Option<Reference>,
    key_files: BTreeMap<String, Result<Vec<u8>, String>>,
    now: i64,
}

impl TrustCheck {
    /// The check of `image` under `policy` at `now` (Unix seconds).
    pub fn new(policy: &Policy, image: &ImageName, now: i64) -> TrustCheck {
        let docker_reference = match image {
            ImageName::Docker { reference, .. } => Some(reference.clone()),
            ImageName::DockerArchive { reference, .. } => reference.clone(),
            _ => None,
        };
        TrustCheck {
            requirements: policy.requirements_for(image).to_vec(),
            image_name: image.to_string(),
            docker_reference,
            key_files: BTreeMap::new(),
            now,
        }
    }

    /// The key files the requirements read: the host reads each and hands it to
    /// [`TrustCheck::add_key_file`].
    pub fn key_paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self
            .requirements
            .iter()
            .flat_map(|r| r.key_paths())
            .map(str::to_owned)
            .collect();
        paths.sort();
        paths.dedup();
        paths
    }

    /// Gives the contents of a key file (or why it could not be read, in Go's words).
    pub fn add_key_file(&mut self, path: &str, contents: Result<Vec<u8>, String>) {
        self.key_files.insert(path.to_owned(), contents);
    }

    /// Whether any requirement looks at signatures.
    pub fn needs_signatures(&self) -> bool {
        self.requirements.iter().any(|r| {
            matches!(
                r,
                Requirement::SignedBy(_)
                    | Requirement::SigstoreSigned(_)
                    | Requirement::SignedBaseLayer
            )
        })
    }

    /// Whether the image with `manifest` and `signatures` may be copied; the refusal reads
    /// as containers/image words it (without the caller's "Source image rejected: ").
    pub fn check(&self, manifest: &[u8], signatures: &[Signature]) -> Result<(), String> {
        for requirement in &self.requirements {
            match requirement {
                Requirement::InsecureAcceptAnything => {}
                Requirement::Reject => {
                    return Err(format!(
                        "Running image {} is rejected by policy.",
                        self.image_name
                    ))
                }
                Requirement::SignedBaseLayer => {
                    return Err("signedBaseLayer not implemented yet!".into())
                }
                Requirement::SignedBy(r) => self.signed_by(r, manifest, signatures)?,
                Requirement::SigstoreSigned(r) => self.sigstore_signed(r, manifest, signatures)?,
            }
        }
        Ok(())
    }

    fn key_blobs(&self, source: &KeySource) -> Result<Vec<Vec<u8>>, String> {
        match source {
            KeySource::Data(blobs) => Ok(blobs.clone()),
            _ => source
                .paths()
                .into_iter()
                .map(|p| match self.key_files.get(p) {
                    Some(result) => result.clone(),
                    None => Err(format!("open {p}: the key file was not read")),
                })
                .collect(),
        }
    }

    /// The checks both signature kinds make on the signed claims.
    fn claims_accepted(
        &self,
        identity: &SignedIdentity,
        manifest: &[u8],
        claims: &SimpleSignature,
    ) -> Result<(), String> {
        let actual = crate::manifest::manifest_digest(manifest)?;
        if actual.to_string() != claims.manifest_digest {
            return Err(format!(
                "Signature for digest {} does not match",
                claims.manifest_digest
            ));
        }
        if !identity.accepts(self.docker_reference.as_ref(), &claims.docker_reference) {
            return Err(format!(
                "Signature for identity {} is not accepted",
                claims.docker_reference
            ));
        }
        Ok(())
    }

    fn signed_by(
        &self,
        r: &SignedBy,
        manifest: &[u8],
        signatures: &[Signature],
    ) -> Result<(), String> {
        let simple: Vec<&[u8]> = signatures
            .iter()
            .filter_map(|s| match s {
                Signature::SimpleSigning(blob) => Some(blob.as_slice()),
                Signature::Sigstore(_) => None,
            })
            .collect();
        let accept = |blob: &[u8]| -> Result<(), String> {
            if r.key_type != "GPGKeys" {
                return Err(format!(
                    "Unimplemented \"keyType\" value \"{}\"",
                    r.key_type
                ));
            }
            let keyring = Keyring::from_blobs(&self.key_blobs(&r.keys)?)?;
            let trusted = keyring.fingerprints();
            if trusted.is_empty() {
                return Err("No public keys imported".into());
            }
            let verified = keyring.verify(blob, self.now)?;
            if !trusted.contains(&verified.primary_fingerprint) {
                return Err(format!(
                    "Signature by key {} is not accepted",
                    verified.signing_fingerprint
                ));
            }
            let claims = SimpleSignature::parse(&verified.payload)?;
            self.claims_accepted(&r.identity, manifest, &claims)
        };
        let mut reasons = Vec::new();
        for blob in simple {
            match accept(blob) {
                Ok(()) => return Ok(()),
                Err(reason) => reasons.push(reason),
            }
        }
        Err(summary(reasons, None))
    }

    fn sigstore_signed(
        &self,
        r: &SigstoreSigned,
        manifest: &[u8],
        signatures: &[Signature],
    ) -> Result<(), String> {
        let mut other_kinds = 0;
        let mut attachments = 0;
        let mut reasons = Vec::new();
        for signature in signatures {
            let Signature::Sigstore(data) = signature else {
                other_kinds += 1;
                continue;
            };
            let parsed = match SigstoreSignature::from_json(data) {
                Ok(parsed) if !parsed.is_signature() => {
                    attachments += 1;
                    continue;
                }
                Ok(parsed) => parsed,
                Err(e) => {
                    reasons.push(e);
                    continue;
                }
            };
            let accept = || -> Result<(), String> {
                let key_blobs = |source: &KeySource| self.key_blobs(source);
                let claims = sigstore_eval::verified_claims(r, &parsed, &key_blobs, self.now)?;
                self.claims_accepted(&r.identity, manifest, &claims)
            };
            match accept() {
                Ok(()) => return Ok(()),
                Err(reason) => reasons.push(reason),
            }
        }
        let counts = (other_kinds > 0 || attachments > 0).then_some((other_kinds, attachments));
        Err(summary(reasons, counts))
    }
}

/// containers/image's summary of why no signature was accepted.
fn summary(reasons: Vec<String>, sigstore_counts: Option<(usize, usize)>) -> String {
    match reasons.len() {
        0 => match sigstore_counts {
            None => "A signature was required, but no signature exists".into(),
            Some((others, attachments)) => format!(
                "A signature was required, but no signature exists ({others} non-sigstore signatures, {attachments} sigstore non-signature attachments)"
            ),
        },
        1 => reasons.into_iter().next().expect("one reason"),
        _ => format!(
            "None of the signatures were accepted, reasons: {}",
            reasons.join("; ")
        ),
    }
}
