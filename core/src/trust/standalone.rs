//! `standalone-sign` and `standalone-verify`: a simple signing signature over a manifest
//! file for a docker reference, made or checked without any image transport.

use crate::reference::Reference;
use crate::trust::openpgp::Keyring;
use crate::trust::simple_signing::SimpleSignature;

/// Checks `signature` over `manifest` for `reference`, made by one of `fingerprints` (keys
/// in `keyring`), as skopeo 1.9.3's `standalone-verify` does; returns the signed claims.
pub fn verify(
    keyring: &Keyring,
    manifest: &[u8],
    reference: &str,
    fingerprints: &[String],
    signature: &[u8],
    now: i64,
) -> Result<SimpleSignature, String> {
    let expected = Reference::parse_normalized_named(reference).map_err(|e| e.to_string())?;
    let verified = keyring.verify(signature, now)?;
    if !fingerprints.contains(&verified.signing_fingerprint) {
        return Err(match fingerprints {
            [one] => format!(
                "Signature by {} does not match expected fingerprint {one}",
                verified.signing_fingerprint
            ),
            many => format!(
                "Signature by {} does not match expected fingerprints [{}]",
                verified.signing_fingerprint,
                many.join(" ")
            ),
        });
    }
    let claims = SimpleSignature::parse(&verified.payload)?;
    let actual = crate::manifest::manifest_digest(manifest)?;
    if actual.to_string() != claims.manifest_digest {
        return Err(format!(
            "Signature for docker digest {} does not match",
            crate::gojson::go_quote(&claims.manifest_digest)
        ));
    }
    let signed = Reference::parse_normalized_named(&claims.docker_reference).map_err(|_| {
        format!(
            "Invalid docker reference {} in signature",
            claims.docker_reference
        )
    })?;
    if signed.to_string() != expected.to_string() {
        return Err(format!(
            "Docker reference {} does not match {reference}",
            claims.docker_reference
        ));
    }
    Ok(claims)
}

/// The payload `standalone-sign` signs: `manifest`'s digest under `reference`.
pub fn payload(
    manifest: &[u8],
    reference: &str,
    creator: &str,
    now: i64,
) -> Result<Vec<u8>, String> {
    let digest = crate::manifest::manifest_digest(manifest)?;
    Ok(SimpleSignature::new(&digest.to_string(), reference, creator, now).to_payload())
}

/// `standalone-verify` once its files are read: `fingerprints` as given (comma-separated, or
/// `any` when the keys come from a public key file), `keys` the keyring to trust. Returns
/// the line to print, or the fatal message, both in skopeo's words.
pub fn verify_command(
    keys: &[u8],
    keys_from_file: bool,
    manifest: &[u8],
    reference: &str,
    fingerprints: &str,
    signature: &[u8],
    now: i64,
) -> Result<String, String> {
    let keyring =
        Keyring::from_blobs(&[keys]).map_err(|e| format!("Error initializing GPG: {e}"))?;
    let expected: Vec<String> = match fingerprints {
        "any" if keys_from_file => keyring.fingerprints(),
        "any" => return Err("Cannot use any fingerprint without a public key file".into()),
        list => list.split(',').map(str::to_owned).collect(),
    };
    let claims = verify(&keyring, manifest, reference, &expected, signature, now)
        .map_err(|e| format!("Error verifying signature: {e}"))?;
    Ok(format!(
        "Signature verified, digest {}\n",
        claims.manifest_digest
    ))
}
