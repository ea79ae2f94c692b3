//! A GnuPG home made by a test: keys generated with `gpg --batch --quick-gen-key` (with or
//! without a passphrase, with a signing subkey, expired, revoked), exported for policies,
//! and signatures made by gpg itself.

use crate::{our_skopeo, reference_skopeo, run_with_env, RunResult};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A private GnuPG home.
pub struct GnuPg {
    pub home: PathBuf,
}

impl GnuPg {
    /// A fresh home under `dir`, or `None` (with a message) when gpg is not installed.
    pub fn new(dir: &Path) -> Option<GnuPg> {
        if Command::new("gpg").arg("--version").output().is_err() {
            eprintln!("skipping: gpg is not installed");
            return None;
        }
        let home = dir.join("gnupg-home");
        std::fs::create_dir_all(&home).unwrap();
        let mut perms = std::fs::metadata(&home).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o700);
        std::fs::set_permissions(&home, perms).unwrap();
        Some(GnuPg { home })
    }

    /// `GNUPGHOME` for commands run with this home.
    pub fn env(&self) -> (&'static str, String) {
        ("GNUPGHOME", self.home.display().to_string())
    }

    /// Runs gpg in this home; panics on failure.
    pub fn gpg(&self, args: &[&str]) -> Vec<u8> {
        let out = Command::new("gpg")
            .env("GNUPGHOME", &self.home)
            .args(["--batch", "--no-tty"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Generates a key (`algo`, `usage`, `expire` as `--quick-gen-key` takes them), at the
    /// `faked_time` if given; returns its fingerprint.
    pub fn generate(
        &self,
        uid: &str,
        algo: &str,
        usage: &str,
        expire: &str,
        passphrase: &str,
        faked_time: Option<&str>,
    ) -> String {
        let mut args = vec!["--passphrase", passphrase, "--pinentry-mode", "loopback"];
        if let Some(t) = faked_time {
            args.extend(["--faked-system-time", t]);
        }
        args.extend(["--quick-gen-key", uid, algo, usage, expire]);
        self.gpg(&args);
        self.fingerprint(uid)
    }

    /// The primary fingerprint of the key with `uid`.
    pub fn fingerprint(&self, uid: &str) -> String {
        let listed = String::from_utf8(self.gpg(&["--with-colons", "--list-keys", uid])).unwrap();
        fingerprints(&listed)[0].clone()
    }

    /// Every fingerprint (primary first, then subkeys) of the key with `uid`.
    pub fn all_fingerprints(&self, uid: &str) -> Vec<String> {
        let listed = String::from_utf8(self.gpg(&["--with-colons", "--list-keys", uid])).unwrap();
        fingerprints(&listed)
    }

    /// Stops this home's gpg-agent, so no passphrase stays cached.
    pub fn forget_passphrases(&self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", &self.home)
            .args(["--kill", "gpg-agent"])
            .status();
    }

    /// Adds a signing subkey to `fingerprint` (no passphrase on the primary key).
    pub fn add_signing_subkey(&self, fingerprint: &str) {
        self.gpg(&[
            "--passphrase",
            "",
            "--pinentry-mode",
            "loopback",
            "--quick-add-key",
            fingerprint,
            "ed25519",
            "sign",
            "never",
        ]);
    }

    /// Revokes `fingerprint` with the revocation certificate gpg made with it.
    pub fn revoke(&self, fingerprint: &str) {
        let cert = std::fs::read_to_string(
            self.home
                .join("openpgp-revocs.d")
                .join(format!("{fingerprint}.rev")),
        )
        .unwrap();
        let importable = cert.replace(":-----BEGIN", "-----BEGIN");
        let path = self.home.join(format!("{fingerprint}.rev.asc"));
        std::fs::write(&path, importable).unwrap();
        self.gpg(&["--import", path.to_str().unwrap()]);
    }

    /// Exports `fingerprint`'s public key (armored) to `path`.
    pub fn export(&self, fingerprint: &str, path: &Path) -> String {
        std::fs::write(path, self.gpg(&["--armor", "--export", fingerprint])).unwrap();
        path.display().to_string()
    }

    /// Signs `payload` with `fingerprint` (gpg's binary signed message), at `faked_time` if
    /// given.
    pub fn sign(&self, fingerprint: &str, payload: &[u8], faked_time: Option<&str>, out: &Path) {
        let input = out.with_extension("payload");
        std::fs::write(&input, payload).unwrap();
        let mut args = vec![
            "--yes",
            "--local-user",
            fingerprint,
            "--output",
            out.to_str().unwrap(),
        ];
        if let Some(t) = faked_time {
            args.extend(["--faked-system-time", t]);
        }
        args.extend(["--sign", input.to_str().unwrap()]);
        self.gpg(&args);
    }
}

fn fingerprints(colons: &str) -> Vec<String> {
    colons
        .lines()
        .filter_map(|l| l.strip_prefix("fpr:"))
        .filter_map(|l| l.split(':').find(|f| f.len() == 40).map(str::to_owned))
        .collect()
}

/// The simple signing payload skopeo signs for `digest` under `reference`.
pub fn payload(digest: &str, reference: &str) -> Vec<u8> {
    format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"{reference}"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"atomic container signature"}},"optional":{{}}}}"#
    )
    .into_bytes()
}

/// The identity the trust tests sign for.
pub const IDENTITY: &str = "example.com/demo:1";

/// A policy file whose default is `requirement`.
pub fn policy(dir: &Path, name: &str, requirement: serde_json::Value) -> String {
    let path = dir.join(format!("{name}.json"));
    std::fs::write(
        &path,
        serde_json::json!({ "default": [requirement] }).to_string(),
    )
    .unwrap();
    path.display().to_string()
}

/// A `signedBy` requirement: the key file, signatures for `repository`.
pub fn signed_by(key_path: &str, repository: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "signedBy",
        "keyType": "GPGKeys",
        "keyPath": key_path,
        "signedIdentity": {"type": "exactRepository", "dockerRepository": repository},
    })
}

/// Our binary and, when installed, skopeo 1.9.3.
pub struct Tools {
    pub ours: PathBuf,
    pub skopeo: Option<PathBuf>,
}

impl Default for Tools {
    fn default() -> Self {
        Self::new()
    }
}

impl Tools {
    pub fn new() -> Tools {
        Tools {
            ours: our_skopeo(),
            skopeo: reference_skopeo(),
        }
    }

    pub fn both(&self) -> Vec<(&'static str, &PathBuf)> {
        let mut all = vec![("ours", &self.ours)];
        all.extend(self.skopeo.iter().map(|s| ("skopeo", s)));
        all
    }
}

/// Runs `bin` with this home as `GNUPGHOME`.
pub fn run_in(bin: &Path, gpg: &GnuPg, args: &[&str], cwd: &Path) -> RunResult {
    let (k, v) = gpg.env();
    run_with_env(bin, args, cwd, &[(k, &v)])
}

/// The public keys skopeo 1.9.3's standalone-verify vectors were checked with
/// (`signatures-gpg/expected-standalone-verify.json`), as one key file.
pub fn fixture_public_keys(signatures_gpg: &Path) -> Vec<u8> {
    let mut keys = Vec::new();
    for k in [
        "public-key.gpg",
        "public-key-1.gpg",
        "public-key-2.gpg",
        "public-key-with-subkey.gpg",
        "public-key-with-revoked-subkey.gpg",
    ] {
        keys.extend(std::fs::read(signatures_gpg.join(k)).unwrap());
    }
    keys
}
