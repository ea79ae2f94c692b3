//! `standalone-sign`, `standalone-verify`, `untrusted-signature-dump-without-verification`
//! and `generate-sigstore-key`: signatures and keys as local files.

use crate::signing::{gnupg_public_keys, now, read_passphrase_file, GpgSigner, KeyFileSigner};
use clap::Args;
use skopeo_core::trust::openpgp;
use skopeo_core::trust::simple_signing::SimpleSignature;
use skopeo_core::trust::{cosign_key, sigstore, standalone};
use skopeo_std_effects::fs::go_io_error;

/// Arguments of `standalone-sign`.
#[derive(Args, Debug)]
pub struct StandaloneSignArgs {
    /// output the signature to SIGNATURE
    #[arg(short = 'o', long, value_name = "SIGNATURE")]
    output: Option<String>,
    /// file that contains a passphrase for the --sign-by key
    #[arg(long, value_name = "string")]
    passphrase_file: Option<String>,
    /// Take the secret key from the OpenPGP key file at PATH instead of GnuPG
    #[arg(long, value_name = "PATH")]
    key_file: Option<String>,
    /// MANIFEST DOCKER-REFERENCE KEY-FINGERPRINT
    #[arg(value_name = "ARG")]
    args: Vec<String>,
}

/// Arguments of `standalone-verify`.
#[derive(Args, Debug)]
pub struct StandaloneVerifyArgs {
    /// File containing public keys. If not specified, will use local GPG keys.
    #[arg(long, value_name = "string")]
    public_key_file: Option<String>,
    /// MANIFEST DOCKER-REFERENCE KEY-FINGERPRINTS SIGNATURE
    #[arg(value_name = "ARG")]
    args: Vec<String>,
}

/// Arguments of `untrusted-signature-dump-without-verification`.
#[derive(Args, Debug)]
pub struct SignatureDumpArgs {
    /// SIGNATURE
    #[arg(value_name = "ARG")]
    args: Vec<String>,
}

/// Arguments of `generate-sigstore-key`.
#[derive(Args, Debug)]
pub struct GenerateSigstoreKeyArgs {
    /// Write the keys to PREFIX.pub and PREFIX.private
    #[arg(long, value_name = "PREFIX")]
    output_prefix: Option<String>,
    /// Read a passphrase for the private key from PATH
    #[arg(long, value_name = "PATH")]
    passphrase_file: Option<String>,
    #[arg(value_name = "ARG", hide = true)]
    args: Vec<String>,
}

fn read(path: &str, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{what} {path}: {}", go_io_error("open", path, &e)))
}

/// `standalone-sign MANIFEST REFERENCE FINGERPRINT -o SIGNATURE`.
pub fn sign(args: StandaloneSignArgs) -> Result<(), String> {
    let (Some(output), [manifest_path, reference, fingerprint]) =
        (&args.output, args.args.as_slice())
    else {
        return Err(
            "Usage: skopeo standalone-sign manifest docker-reference key-fingerprint -o signature"
                .into(),
        );
    };
    let manifest = read(manifest_path, "Error reading")?;
    let passphrase = match &args.passphrase_file {
        Some(file) => read_passphrase_file(file)?,
        None => String::new(),
    };
    let creator = format!("atomic skopeo-rs {}", env!("CARGO_PKG_VERSION"));
    let payload = standalone::payload(&manifest, reference, &creator, now())
        .map_err(|e| format!("Error creating signature: {e}"))?;
    let signature = match &args.key_file {
        Some(file) => KeyFileSigner {
            key_file: read(file, "Error reading")?,
            fingerprint: fingerprint.clone(),
            passphrase,
        }
        .sign_bytes(&payload),
        None => GpgSigner {
            key: fingerprint.clone(),
            passphrase: Some(passphrase).filter(|p| !p.is_empty()),
        }
        .sign_bytes(&payload),
    }
    .map_err(|e| format!("Error creating signature: {e}"))?;
    std::fs::write(output, signature)
        .map_err(|e| format!("Error writing signature to {output}: {e}"))
}

/// `standalone-verify MANIFEST REFERENCE FINGERPRINTS SIGNATURE`.
pub fn verify(args: StandaloneVerifyArgs) -> Result<(), String> {
    let [manifest_path, reference, fingerprints, signature_path] = args.args.as_slice() else {
        return Err(
            "Usage: skopeo standalone-verify manifest docker-reference key-fingerprint signature"
                .into(),
        );
    };
    if fingerprints == "any" && args.public_key_file.is_none() {
        return Err("Cannot use any fingerprint without a public key file".into());
    }
    let manifest = read(manifest_path, "Error reading manifest from")?;
    let signature = read(signature_path, "Error reading signature from")?;
    let keys = match &args.public_key_file {
        Some(file) => read(file, "Error reading public keys from")?,
        None => gnupg_public_keys()?,
    };
    let line = standalone::verify_command(
        &keys,
        args.public_key_file.is_some(),
        &manifest,
        reference,
        fingerprints,
        &signature,
        now(),
    )?;
    crate::write_stdout(line.as_bytes())
}

/// `untrusted-signature-dump-without-verification SIGNATURE`.
pub fn dump(args: SignatureDumpArgs) -> Result<(), String> {
    let [path] = args.args.as_slice() else {
        return Err("Usage: skopeo untrusted-signature-dump-without-verification signature".into());
    };
    let blob = read(path, "Error reading untrusted signature from")?;
    let decode = |blob: &[u8]| -> Result<(SimpleSignature, String), String> {
        let (payload, key_id) = openpgp::untrusted_contents(blob)?;
        Ok((SimpleSignature::parse(&payload)?, key_id))
    };
    let (claims, key_id) =
        decode(&blob).map_err(|e| format!("Error decoding untrusted signature: {e}"))?;
    let timestamp = claims
        .timestamp
        .map(|t| skopeo_core::gotime::GoTime::from_unix(t).rfc3339_nano());
    /// containers/image's `UntrustedSignatureInformation`, fields in its order.
    #[derive(serde::Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Information {
        untrusted_docker_manifest_digest: String,
        untrusted_docker_reference: String,
        #[serde(rename = "UntrustedCreatorID")]
        untrusted_creator_id: Option<String>,
        untrusted_timestamp: Option<String>,
        untrusted_short_key_identifier: String,
    }
    let info = Information {
        untrusted_docker_manifest_digest: claims.manifest_digest,
        untrusted_docker_reference: claims.docker_reference,
        untrusted_creator_id: claims.creator,
        untrusted_timestamp: timestamp,
        untrusted_short_key_identifier: key_id,
    };
    let mut text = String::from_utf8(skopeo_core::gojson::to_indented(&info)).expect("JSON");
    text.push('\n');
    crate::write_stdout(text.as_bytes())
}

/// `generate-sigstore-key --output-prefix PREFIX [--passphrase-file FILE]`.
pub fn generate_sigstore_key(args: GenerateSigstoreKeyArgs) -> Result<(), String> {
    let Some(prefix) = args
        .output_prefix
        .filter(|p| !p.is_empty() && args.args.is_empty())
    else {
        return Err("Usage: generate-sigstore-key --output-prefix PREFIX".into());
    };
    let public_path = format!("{prefix}.pub");
    let private_path = format!("{prefix}.private");
    for path in [&public_path, &private_path] {
        match std::fs::symlink_metadata(path) {
            Ok(_) => return Err(format!("Refusing to overwrite existing {path:?}")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("Error checking existence of {path:?}: {e}")),
        }
    }
    let passphrase = match &args.passphrase_file {
        Some(file) => read_passphrase_file(file)?,
        None => {
            use std::io::IsTerminal;
            if !std::io::stdin().is_terminal() {
                return Err(format!(
                    "Cannot prompt for a passphrase for key {private_path}, standard input is not a TTY"
                ));
            }
            rpassword::prompt_password(format!("Passphrase for key {private_path}: "))
                .map_err(|e| format!("reading the passphrase: {e}"))?
        }
    };
    let mut random = [0u8; 32 + 32 + 24];
    getrandom::fill(&mut random).map_err(|e| format!("Error generating key pair: {e}"))?;
    let key = p256::ecdsa::SigningKey::from_slice(&random[..32])
        .map_err(|e| format!("Error generating key pair: {e}"))?;
    let salt: [u8; 32] = random[32..64].try_into().expect("32 bytes");
    let nonce: [u8; 24] = random[64..].try_into().expect("24 bytes");
    let private = cosign_key::encrypt(&key, passphrase.as_bytes(), salt, nonce)
        .map_err(|e| format!("Error generating key pair: {e}"))?;
    write_new(&private_path, private.as_bytes(), 0o600)
        .map_err(|e| format!("Error writing private key to {private_path:?}: {e}"))?;
    write_new(
        &public_path,
        sigstore::public_key_pem(&key).as_bytes(),
        0o644,
    )
    .map_err(|e| format!("Error writing private key to {public_path:?}: {e}"))?;
    println!("Key written to {private_path:?} and {public_path:?}");
    Ok(())
}

/// Creates `path` (never replacing a file) with `mode` and writes `bytes`.
fn write_new(path: &str, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    file.write_all(bytes)
}
