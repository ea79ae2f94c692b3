//! What a copy does about trust: the source image judged by the policy before anything is
//! written, and new signatures (`--sign-by*`) made over the manifests it writes.

use crate::signature::Signature;
use crate::trust::policy_eval::TrustCheck;
use crate::{Error, Result};
use std::fmt;
use std::sync::Arc;

/// Makes a signature for a manifest a copy wrote; hosts implement it where the keys are
/// (GnuPG's home, a key file).
pub trait ManifestSigner: Send + Sync {
    /// The progress line before signing (containers/image's).
    fn announcement(&self) -> &'static str;
    /// Signs `manifest` for `identity` (a docker reference with a tag or digest).
    fn sign(&self, manifest: &[u8], identity: &str) -> std::result::Result<Signature, String>;
}

/// The signers of a copy, and the identity their signatures claim.
#[derive(Clone, Default)]
pub struct Signing {
    pub signers: Vec<Arc<dyn ManifestSigner>>,
    /// `--sign-identity`, else the destination's docker reference.
    pub identity: String,
}

impl fmt::Debug for Signing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signing")
            .field("signers", &self.signers.len())
            .field("identity", &self.identity)
            .finish()
    }
}

impl Signing {
    /// Whether the copy adds signatures.
    pub fn is_active(&self) -> bool {
        !self.signers.is_empty()
    }

    /// The new signatures for `manifest`, each announced on `report`.
    pub fn sign(&self, manifest: &[u8], report: &dyn super::Report) -> Result<Vec<Signature>> {
        self.signers
            .iter()
            .map(|signer| {
                report.line(signer.announcement());
                signer
                    .sign(manifest, &self.identity)
                    .map_err(|e| Error::Invalid(format!("creating signature: {e}")))
            })
            .collect()
    }
}

/// Judges one image before any of it is copied: `Ok` with the signatures read for the
/// check (so they are not read twice), or the policy's refusal.
pub(super) async fn check_source<S: crate::source::BlobSource>(
    trust: Option<&TrustCheck>,
    src: &S,
    manifest: &[u8],
    instance: Option<&crate::digest::Digest>,
) -> Result<Option<Vec<Signature>>> {
    let Some(trust) = trust else {
        return Ok(None);
    };
    let signatures = match trust.needs_signatures() {
        true => Some(
            src.signatures(instance)
                .await
                .map_err(|e| e.context("reading signatures"))?,
        ),
        false => None,
    };
    trust
        .check(manifest, signatures.as_deref().unwrap_or_default())
        .map_err(|e| Error::Invalid(format!("Source image rejected: {e}")))?;
    Ok(signatures)
}
