//! Which key a sigstore signature is checked with, per its `sigstoreSigned` requirement, as
//! containers/image decides it: the policy's public keys (the one a Rekor SET vouches for,
//! when Rekor keys are given), or the certificate in the signature, chained to Fulcio's CA
//! (at the time Rekor logged it) or to a private PKI's roots (now).

use crate::trust::rekor;
use crate::trust::requirement::{Fulcio, KeySource, Pki, SigstoreSigned};
use crate::trust::sigstore::{
    public_key_from_pem, verifying_key_pem, SigstoreSignature, SIGNATURE_ANNOTATION,
};
use crate::trust::simple_signing::SimpleSignature;
use crate::trust::x509::{self, Cert};

/// The annotation holding the signing certificate (PEM).
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
/// The annotation holding the certificate's chain (PEM, root last).
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";

type KeyBlobs<'a> = dyn Fn(&KeySource) -> Result<Vec<Vec<u8>>, String> + 'a;

fn annotation<'s>(signature: &'s SigstoreSignature, key: &str) -> Result<&'s str, String> {
    signature
        .annotations
        .get(key)
        .map(String::as_str)
        .ok_or_else(|| format!("missing {key} annotation"))
}

/// The signature's claims once its signature is checked with the key `r` says.
pub fn verified_claims(
    r: &SigstoreSigned,
    signature: &SigstoreSignature,
    key_blobs: &KeyBlobs,
    now: i64,
) -> Result<SimpleSignature, String> {
    let encoded = annotation(signature, SIGNATURE_ANNOTATION)?;
    let rekor_keys = match &r.rekor_keys {
        Some(source) => Some(public_keys(source, key_blobs, "Rekor public key")?),
        None => None,
    };
    if let Some(fulcio) = &r.fulcio {
        let rekor_keys = rekor_keys
            .ok_or("Internal inconsistency: Fulcio CA specified without a Rekor public key")?;
        let set = annotation(signature, rekor::SET_ANNOTATION)?;
        let cert = annotation(signature, CERTIFICATE_ANNOTATION)?;
        let logged_at = rekor::verify_set(
            &rekor_keys,
            set.as_bytes(),
            cert.as_bytes(),
            encoded,
            &signature.payload,
        )?;
        let leaf = fulcio_leaf(fulcio, signature, cert, key_blobs, logged_at)?;
        return signature.verify_with_certificate(&leaf.public_key()?);
    }
    if let Some(pki) = &r.pki {
        let cert = annotation(signature, CERTIFICATE_ANNOTATION)?;
        let leaf = pki_leaf(pki, signature, cert, key_blobs, now)?;
        return signature.verify_with_certificate(&leaf.public_key()?);
    }
    let source = r
        .keys
        .as_ref()
        .ok_or("Internal inconsistency: A public key, Fulcio, or PKI must be specified.")?;
    let mut keys = public_keys(source, key_blobs, "public key")?;
    if let Some(rekor_keys) = rekor_keys {
        let set = annotation(signature, rekor::SET_ANNOTATION)?;
        let mut failures = Vec::new();
        let vouched = keys.into_iter().find(|key| {
            let pem = verifying_key_pem(key);
            match rekor::verify_set(
                &rekor_keys,
                set.as_bytes(),
                pem.as_bytes(),
                encoded,
                &signature.payload,
            ) {
                Ok(_) => true,
                Err(e) => {
                    failures.push(e);
                    false
                }
            }
        });
        keys = match vouched {
            Some(key) => vec![key],
            None => {
                return Err(format!(
                    "No public key verified against the RekorSET: {}",
                    failures.join(", ")
                ))
            }
        };
    }
    signature.verify(&keys)
}

/// The PEM public keys `source` names, numbered in errors as containers/image numbers them
/// (`parsing public key 2: …`, `parsing Rekor public key 1: …`).
fn public_keys(
    source: &KeySource,
    key_blobs: &KeyBlobs,
    what: &str,
) -> Result<Vec<p256::ecdsa::VerifyingKey>, String> {
    let mut keys = Vec::new();
    for (i, pem) in key_blobs(source)?.iter().enumerate() {
        keys.push(public_key_from_pem(pem).map_err(|e| {
            e.replacen(
                "parsing public key",
                &format!("parsing {what} {}", i + 1),
                1,
            )
        })?);
    }
    Ok(keys)
}

fn certs_of(source: &KeySource, key_blobs: &KeyBlobs, what: &str) -> Result<Vec<Cert>, String> {
    let mut certs = Vec::new();
    for blob in key_blobs(source)? {
        certs
            .extend(x509::certs_from_pem(&blob).map_err(|e| format!("error loading {what}: {e}"))?);
    }
    if certs.is_empty() {
        return Err(format!("error loading {what}"));
    }
    Ok(certs)
}

/// The one certificate of the signature, and the chain it brings (without its root).
fn leaf_and_chain(signature: &SigstoreSignature, cert: &str) -> Result<(Cert, Vec<Cert>), String> {
    let leaves = x509::certs_from_pem(cert.as_bytes())
        .map_err(|e| format!("parsing leaf certificate: {e}"))?;
    let leaf = match leaves.as_slice() {
        [] => return Err("no certificate found in signature certificate data".into()),
        [one] => one.clone(),
        _ => {
            return Err(
                "unexpected multiple certificates present in signature certificate data".into(),
            )
        }
    };
    let mut chain = match signature.annotations.get(CHAIN_ANNOTATION) {
        Some(pem) => x509::certs_from_pem(pem.as_bytes())
            .map_err(|e| format!("loading certificate chain: {e}"))?,
        None => Vec::new(),
    };
    chain.pop();
    Ok((leaf, chain))
}

/// Go's `%q` of a list of strings: `["a" "b"]`.
fn quoted_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| crate::gojson::go_quote(s)).collect();
    format!("[{}]", quoted.join(" "))
}

fn require_email(leaf: &Cert, email: &str) -> Result<(), String> {
    let emails = leaf.emails();
    if emails.iter().any(|e| e == email) {
        return Ok(());
    }
    Err(format!(
        "Required email {} not found (got {})",
        crate::gojson::go_quote(email),
        quoted_list(&emails)
    ))
}

fn fulcio_leaf(
    fulcio: &Fulcio,
    signature: &SigstoreSignature,
    cert: &str,
    key_blobs: &KeyBlobs,
    logged_at: i64,
) -> Result<Cert, String> {
    let roots = certs_of(&fulcio.ca, key_blobs, "Fulcio CA certificates")?;
    let (leaf, chain) = leaf_and_chain(signature, cert)?;
    x509::verify_chain(&leaf, &chain, &roots, logged_at)
        .map_err(|e| format!("veryfing leaf certificate failed: {e}"))?;
    let issuer = leaf.fulcio_issuer()?;
    if issuer != fulcio.oidc_issuer {
        return Err(format!(
            "Unexpected Fulcio OIDC issuer {}",
            crate::gojson::go_quote(&issuer)
        ));
    }
    require_email(&leaf, &fulcio.subject_email)?;
    Ok(leaf)
}

fn pki_leaf(
    pki: &Pki,
    signature: &SigstoreSignature,
    cert: &str,
    key_blobs: &KeyBlobs,
    now: i64,
) -> Result<Cert, String> {
    let roots = certs_of(&pki.roots, key_blobs, "PKI CA Roots certificates")?;
    let (leaf, mut chain) = leaf_and_chain(signature, cert)?;
    if let Some(intermediates) = &pki.intermediates {
        chain.extend(certs_of(
            intermediates,
            key_blobs,
            "trusted intermediate certificates",
        )?);
    }
    x509::verify_chain(&leaf, &chain, &roots, now)
        .map_err(|e| format!("veryfing leaf certificate failed: {e}"))?;
    if let Some(email) = &pki.subject_email {
        require_email(&leaf, email)?;
    }
    if let Some(host) = &pki.subject_hostname {
        if !leaf.names_host(host) {
            return Err(format!(
                "Unexpected subject hostname: x509: certificate is not valid for {host}"
            ));
        }
    }
    Ok(leaf)
}
