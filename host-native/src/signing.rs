//! Where the keys are: the trust policy's key files read for the core's check, GnuPG driven
//! for simple signing (the user's `GNUPGHOME`, else `~/.gnupg`, as gpgme finds it under
//! skopeo), and sigstore private key files opened for the core's signer.

use skopeo_core::copy::{ManifestSigner, Signing};
use skopeo_core::policy::Policy;
use skopeo_core::reference::Reference;
use skopeo_core::signature::Signature;
use skopeo_core::transport::ImageName;
use skopeo_core::trust::policy_eval::TrustCheck;
use skopeo_core::trust::{cosign_key, sigstore::SigstoreSignature};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

/// What signing-related flags copy and sync share.
#[derive(Debug, Default, Clone)]
pub struct SignFlags {
    pub sign_by: Option<String>,
    pub sign_by_sigstore_private_key: Option<String>,
    pub sign_by_sigstore: Option<String>,
    pub sign_passphrase_file: Option<String>,
    pub sign_identity: Option<String>,
    /// `--sign-key-file`: `--sign-by`'s secret key from this OpenPGP key file, not GnuPG.
    pub sign_key_file: Option<String>,
    /// A passphrase already read (sync reads it once for all its copies).
    pub passphrase: Option<String>,
}

/// The `creator` our signatures name.
fn creator(prefix: &str) -> String {
    format!("{prefix}skopeo-rs {}", env!("CARGO_PKG_VERSION"))
}

/// Unix time now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The policy's check of `image`, with the key files its requirements name read.
pub fn trust_check(policy: &Policy, image: &ImageName) -> TrustCheck {
    let mut check = TrustCheck::new(policy, image, now());
    for path in check.key_paths() {
        let contents = std::fs::read(&path)
            .map_err(|e| skopeo_std_effects::fs::go_io_error("open", &path, &e).to_string());
        check.add_key_file(&path, contents);
    }
    check
}

/// skopeo's passphrase file: its first line, without the newline.
pub fn read_passphrase_file(path: &str) -> Result<String, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| skopeo_std_effects::fs::go_io_error("open", path, &e).to_string())?;
    let line = match bytes.iter().position(|b| *b == b'\n') {
        Some(i) => &bytes[..i],
        None => &bytes[..],
    };
    String::from_utf8(line.to_vec())
        .map_err(|_| format!("reading passphrase file: {path} is not UTF-8"))
}

/// Asks for a sigstore key's passphrase on the terminal, as skopeo does.
fn prompt_for_passphrase(key_file: &str) -> Result<String, String> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Err(format!(
            "Cannot prompt for a passphrase for key {key_file}, standard input is not a TTY"
        ));
    }
    rpassword::prompt_password(format!("Passphrase for key {key_file}: "))
        .map_err(|e| format!("reading the passphrase: {e}"))
}

/// The passphrase the flags give: `--sign-passphrase-file`'s, else for a sigstore key one
/// typed on the terminal.
pub fn passphrase_for(flags: &SignFlags) -> Result<Option<String>, String> {
    match (
        &flags.sign_passphrase_file,
        &flags.sign_by_sigstore_private_key,
    ) {
        (Some(file), _) => Ok(Some(read_passphrase_file(file)?)),
        (None, Some(key)) => Ok(Some(prompt_for_passphrase(key)?)),
        (None, None) => Ok(None),
    }
}

/// The identity signatures claim: `--sign-identity`, else the destination's reference.
fn sign_identity(flags: &SignFlags, dest: &ImageName) -> Result<String, String> {
    if let Some(given) = &flags.sign_identity {
        let parsed = Reference::parse_named(given)
            .map_err(|e| format!("Could not parse --sign-identity: {e}"))?;
        if parsed.is_name_only() {
            return Err(format!(
                "Sign identity must be a fully specified reference {given}"
            ));
        }
        return Ok(parsed.to_string());
    }
    let reference = match dest {
        ImageName::Docker { reference, .. } => Some(reference.clone()),
        ImageName::DockerArchive { reference, .. } => reference.clone(),
        _ => None,
    };
    reference.map(|r| r.to_string()).ok_or_else(|| {
        format!("Cannot determine canonical Docker reference for destination {dest}")
    })
}

/// Refuses combinations of signing flags that cannot work, before anything is copied.
pub fn check_flags(flags: &SignFlags) -> Result<(), String> {
    if flags.sign_by_sigstore.is_some() {
        return Err("--sign-by-sigstore: signing through Fulcio and Rekor needs their servers, which this build does not reach; sign with --sign-by-sigstore-private-key instead".into());
    }
    if flags.sign_passphrase_file.is_some()
        && flags.sign_by.is_some()
        && flags.sign_by_sigstore_private_key.is_some()
    {
        return Err(
            "Only one of --sign-by and sign-by-sigstore-private-key can be used with sign-passphrase-file"
                .into(),
        );
    }
    Ok(())
}

/// The signers copy's flags ask for, checked before anything is copied.
pub fn signing(flags: &SignFlags, dest: &ImageName) -> Result<Signing, String> {
    check_flags(flags)?;
    if flags.sign_by.is_none() && flags.sign_by_sigstore_private_key.is_none() {
        return Ok(Signing::default());
    }
    let passphrase = match &flags.passphrase {
        Some(given) => Some(given.clone()),
        None => passphrase_for(flags)?,
    };
    let identity = sign_identity(flags, dest)?;
    let mut signers: Vec<Arc<dyn ManifestSigner>> = Vec::new();
    match (&flags.sign_by, &flags.sign_key_file) {
        (Some(fingerprint), Some(file)) => signers.push(Arc::new(KeyFileSigner {
            key_file: std::fs::read(file)
                .map_err(|e| format!("reading the secret key file {file}: {e}"))?,
            fingerprint: fingerprint.clone(),
            passphrase: passphrase.clone().unwrap_or_default(),
        })),
        (Some(fingerprint), None) => signers.push(Arc::new(GpgSigner {
            key: fingerprint.clone(),
            passphrase: passphrase.clone().filter(|p| !p.is_empty()),
        })),
        (None, Some(_)) => return Err("--sign-key-file needs --sign-by FINGERPRINT".into()),
        (None, None) => {}
    }
    if let Some(key_file) = &flags.sign_by_sigstore_private_key {
        let pem = std::fs::read(key_file)
            .map_err(|e| format!("creating signature: reading private key from {key_file}: {e}"))?;
        let key = cosign_key::decrypt(&pem, passphrase.unwrap_or_default().as_bytes())
            .map_err(|e| format!("creating signature: initializing private key: {e}"))?;
        signers.push(Arc::new(SigstoreKeySigner { key }));
    }
    Ok(Signing { signers, identity })
}

/// Simple signing with a key in the user's GnuPG home, by `gpg` itself (as gpgme does):
/// secret keys never leave GnuPG, and its agent, smartcards and keyring formats all work.
pub struct GpgSigner {
    pub key: String,
    /// Given to gpg through its loopback pinentry; never printed.
    pub passphrase: Option<String>,
}

impl GpgSigner {
    /// An OpenPGP signed message over `payload`, made by `gpg --sign`.
    pub fn sign_bytes(&self, payload: &[u8]) -> Result<Vec<u8>, String> {
        if self.passphrase.as_deref().is_some_and(|p| p.contains('\n')) {
            return Err("invalid passphrase: must not contain a line break".into());
        }
        let input = tempfile_with(payload)?;
        let mut command = Command::new("gpg");
        command.args(["--batch", "--no-tty", "--yes", "--local-user", &self.key]);
        if self.passphrase.is_some() {
            command.args(["--pinentry-mode", "loopback", "--passphrase-fd", "0"]);
        }
        command
            .args(["--output", "-", "--sign"])
            .arg(input.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|e| format!("initializing GPG: running gpg: {e}"))?;
        let mut stdin = child.stdin.take().expect("piped");
        if let Some(p) = &self.passphrase {
            stdin
                .write_all(format!("{p}\n").as_bytes())
                .map_err(|e| format!("giving gpg the passphrase: {e}"))?;
        }
        drop(stdin);
        let out = child
            .wait_with_output()
            .map_err(|e| format!("running gpg: {e}"))?;
        if !out.status.success() || out.stdout.is_empty() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            if stderr.contains("No secret key") {
                // gpgme's words for a key the home does not hold.
                return Err(format!("key {:?} not found", self.key));
            }
            // gpgme reports gpg's reason ("Bad passphrase"), as skopeo shows it.
            if let Some(reason) = stderr
                .lines()
                .find_map(|l| l.strip_prefix("gpg: signing failed: "))
            {
                return Err(reason.trim().to_owned());
            }
            let reason = stderr
                .lines()
                .filter(|l| l.starts_with("gpg: ") && !l.contains("WARNING"))
                .map(|l| l.trim_start_matches("gpg: "))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(format!("signing with key {}: {reason}", self.key));
        }
        Ok(out.stdout)
    }
}

impl ManifestSigner for GpgSigner {
    fn announcement(&self) -> &'static str {
        "Signing manifest using simple signing"
    }

    fn sign(&self, manifest: &[u8], identity: &str) -> Result<Signature, String> {
        simple_signature(manifest, identity, |payload| self.sign_bytes(payload))
    }
}

/// The simple signing signature of `manifest` for `identity`, its payload signed by `sign`.
fn simple_signature(
    manifest: &[u8],
    identity: &str,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, String>,
) -> Result<Signature, String> {
    let payload =
        skopeo_core::trust::standalone::payload(manifest, identity, &creator("atomic "), now())?;
    Ok(Signature::SimpleSigning(sign(&payload)?))
}

/// Simple signing in the core with a secret key read from an OpenPGP key file (no GnuPG).
pub struct KeyFileSigner {
    pub key_file: Vec<u8>,
    pub fingerprint: String,
    pub passphrase: String,
}

impl KeyFileSigner {
    /// An OpenPGP signed message over `payload`.
    pub fn sign_bytes(&self, payload: &[u8]) -> Result<Vec<u8>, String> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| format!("reading random bytes: {e}"))?;
        skopeo_core::trust::openpgp::sign_with_key_file(
            &self.key_file,
            &self.fingerprint,
            &self.passphrase,
            payload,
            seed,
        )
    }
}

impl ManifestSigner for KeyFileSigner {
    fn announcement(&self) -> &'static str {
        "Signing manifest using simple signing"
    }

    fn sign(&self, manifest: &[u8], identity: &str) -> Result<Signature, String> {
        simple_signature(manifest, identity, |payload| self.sign_bytes(payload))
    }
}

/// Sigstore signing with a cosign-format private key (opened once, before the copy).
struct SigstoreKeySigner {
    key: p256::ecdsa::SigningKey,
}

impl ManifestSigner for SigstoreKeySigner {
    fn announcement(&self) -> &'static str {
        "Signing manifest using a sigstore signature"
    }

    fn sign(&self, manifest: &[u8], identity: &str) -> Result<Signature, String> {
        let digest = skopeo_core::manifest::manifest_digest(manifest)?;
        let signature = SigstoreSignature::sign(
            &self.key,
            &digest.to_string(),
            identity,
            &creator(""),
            now(),
        );
        Ok(Signature::Sigstore(signature.to_json()))
    }
}

/// A private temporary file holding `bytes`, removed when dropped.
pub struct TempFile(std::path::PathBuf);

impl TempFile {
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn tempfile_with(bytes: &[u8]) -> Result<TempFile, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| format!("reading random bytes: {e}"))?;
    let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let path = std::env::temp_dir().join(format!("skopeo-sign-{name}"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("creating {}: {e}", path.display()))?;
    let temp = TempFile(path);
    file.write_all(bytes)
        .map_err(|e| format!("writing {}: {e}", temp.0.display()))?;
    Ok(temp)
}

/// The public keys of the user's GnuPG home, as `gpg --export` gives them.
pub fn gnupg_public_keys() -> Result<Vec<u8>, String> {
    let out = Command::new("gpg")
        .args(["--batch", "--no-tty", "--export"])
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("Error initializing GPG: running gpg: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "Error initializing GPG: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}
