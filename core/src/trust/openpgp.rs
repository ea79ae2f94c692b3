//! OpenPGP for simple signing: public keyrings and signed messages, verified the way GnuPG
//! (under gpgme, as skopeo uses it) verifies them. Refusals are worded as containers/image
//! reports gpgme's answer, `Invalid GPG signature: gpgme.Signature{…}` included, so scripts
//! matching skopeo's messages keep working.

use crate::gotime::GoTime;
use pgp::composed::{Deserializable, SignedPublicKey};
use pgp::packet::{Packet, PacketParser, Signature, SignatureType};
use pgp::types::KeyDetails;

/// The public keys signatures may be checked against.
#[derive(Debug, Default)]
pub struct Keyring {
    keys: Vec<SignedPublicKey>,
}

/// What a good signature says: the signed bytes and who signed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The literal data the signature covers.
    pub payload: Vec<u8>,
    /// Fingerprint of the key that made the signature (a subkey's own, if a subkey did).
    pub signing_fingerprint: String,
    /// Fingerprint of that key's primary key.
    pub primary_fingerprint: String,
}

impl Keyring {
    /// Reads every key in each blob (binary keyrings, exported keys, ASCII-armored blocks).
    pub fn from_blobs<B: AsRef<[u8]>>(blobs: &[B]) -> Result<Keyring, String> {
        let mut keys = Vec::new();
        for blob in blobs {
            keys.extend(read_keys(blob.as_ref())?);
        }
        Ok(Keyring { keys })
    }

    /// The primary keys' fingerprints (what importing the blobs into GnuPG reports).
    pub fn fingerprints(&self) -> Vec<String> {
        self.keys.iter().map(hex_fingerprint).collect()
    }

    /// Whether the keyring holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks a signed message: exactly one signature, made by a key here, valid now
    /// (`now_unix`), by a key neither revoked nor expired.
    pub fn verify(&self, blob: &[u8], now_unix: i64) -> Result<Verified, String> {
        let message = SignedMessage::parse(blob)?;
        if message.signatures.len() != 1 {
            return Err(format!(
                "Unexpected GPG signature count {}",
                message.signatures.len()
            ));
        }
        let signature = &message.signatures[0];
        let payload = message.literal.ok_or("No data")?;
        let report = GpgmeReport::of(signature);
        let Some((key, signer)) = self.find_signer(signature) else {
            return Err(report.refusal(128, &report.missing_key, 0x9));
        };
        if !signer.checks(signature, &payload) {
            return Err(GpgmeReport::bad(&report.key_id).refusal(4, &report.key_id, 0x700_0008));
        }
        let signing_fingerprint = signer.fingerprint();
        if signer.revoked {
            return Err(report.refusal(16, &signing_fingerprint, 0x700_005e));
        }
        if signer.expires_at.is_some_and(|t| t <= now_unix) {
            return Err(report.refusal(32, &signing_fingerprint, 0x700_0099));
        }
        if report.expires != 0 && report.expires <= now_unix {
            return Err(report.refusal(64, &signing_fingerprint, 0x700_009a));
        }
        Ok(Verified {
            payload,
            signing_fingerprint,
            primary_fingerprint: hex_fingerprint(key),
        })
    }

    /// The key (primary or a bound subkey) that made `signature`, with its state.
    fn find_signer(&self, signature: &Signature) -> Option<(&SignedPublicKey, Signer)> {
        let fingerprints = signature.issuer_fingerprint();
        let key_ids = signature.issuer_key_id();
        let matches = |k: &dyn KeyDetails| {
            fingerprints.iter().any(|f| **f == k.fingerprint())
                || key_ids.iter().any(|id| **id == k.legacy_key_id())
        };
        for key in &self.keys {
            let primary_revoked = !key.details.revocation_signatures.is_empty();
            if matches(&key.primary_key) {
                return Some((
                    key,
                    Signer {
                        key: SignerKey::Primary(key.primary_key.clone()),
                        revoked: primary_revoked,
                        expires_at: primary_expiry(key),
                    },
                ));
            }
            for sub in &key.public_subkeys {
                if !matches(&sub.key) || sub.verify_bindings(&key.primary_key).is_err() {
                    continue;
                }
                let revoked = primary_revoked
                    || sub
                        .signatures
                        .iter()
                        .any(|s| s.typ() == Some(SignatureType::SubkeyRevocation));
                let binding = sub
                    .signatures
                    .iter()
                    .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding))
                    .max_by_key(|s| s.created().map(|t| t.as_secs()));
                let expires_at = binding
                    .and_then(|b| b.key_expiration_time())
                    .map(|d| i64::from(sub.key.created_at().as_secs()) + i64::from(d.as_secs()));
                return Some((
                    key,
                    Signer {
                        key: SignerKey::Subkey(sub.key.clone()),
                        revoked,
                        expires_at,
                    },
                ));
            }
        }
        None
    }
}

/// The signed bytes of a message and its signer's key ID, without checking anything
/// (`untrusted-signature-dump-without-verification`).
pub fn untrusted_contents(blob: &[u8]) -> Result<(Vec<u8>, String), String> {
    let message = SignedMessage::parse(blob)?;
    let payload = message.literal.ok_or("No data")?;
    let key_id = message
        .signatures
        .first()
        .map(|s| GpgmeReport::of(s).key_id)
        .unwrap_or_default();
    Ok((payload, key_id))
}

/// Signs `payload` with a key of the OpenPGP secret key file `key_file` (armored or binary):
/// the key or subkey `fingerprint` names (or whose key ID it ends with); for a primary key
/// with a signing subkey, that subkey, as gpg chooses. The message is what `gpg --sign`
/// makes: compressed, one-pass signed, binary literal data. `seed` seeds the randomness
/// some algorithms use.
pub fn sign_with_key_file(
    key_file: &[u8],
    fingerprint: &str,
    passphrase: &str,
    payload: &[u8],
    seed: [u8; 32],
) -> Result<Vec<u8>, String> {
    use pgp::composed::{MessageBuilder, SignedSecretKey};
    use pgp::crypto::hash::HashAlgorithm;
    use pgp::types::{CompressionAlgorithm, Password};
    use rand_chacha::rand_core::SeedableRng;

    let trimmed = key_file.trim_ascii_start();
    let keys: Vec<SignedSecretKey> = if trimmed.starts_with(b"-----BEGIN PGP") {
        SignedSecretKey::from_armor_many(trimmed)
            .map_err(|e| format!("reading the secret key file: {e}"))?
            .0
            .collect::<Result<_, _>>()
            .map_err(|e| format!("reading the secret key file: {e}"))?
    } else {
        SignedSecretKey::from_bytes_many(key_file)
            .map_err(|e| format!("reading the secret key file: {e}"))?
            .filter_map(Result::ok)
            .collect()
    };
    let wanted = fingerprint.to_uppercase();
    let names = |fp: &[u8]| {
        let hex = hex(fp);
        hex == wanted || (wanted.len() >= 16 && hex.ends_with(&wanted))
    };
    enum Chosen<'k> {
        Primary(&'k pgp::packet::SecretKey),
        Subkey(&'k pgp::packet::SecretSubkey),
    }
    let chosen = keys.iter().find_map(|key| {
        let signing_sub = key.secret_subkeys.iter().find(|sub| {
            sub.signatures
                .iter()
                .any(|s| s.typ() == Some(SignatureType::SubkeyBinding) && s.key_flags().sign())
        });
        if names(key.primary_key.fingerprint().as_bytes()) {
            return Some(match signing_sub {
                Some(sub) => Chosen::Subkey(&sub.key),
                None => Chosen::Primary(&key.primary_key),
            });
        }
        key.secret_subkeys
            .iter()
            .find(|sub| names(sub.key.fingerprint().as_bytes()))
            .map(|sub| Chosen::Subkey(&sub.key))
    });
    let Some(chosen) = chosen else {
        return Err(format!("key {fingerprint:?} not found"));
    };
    let password = Password::from(passphrase);
    let unlocked = match &chosen {
        Chosen::Primary(k) => k.unlock(&password, |_, _| Ok(())),
        Chosen::Subkey(k) => k.unlock(&password, |_, _| Ok(())),
    };
    if !matches!(unlocked, Ok(Ok(()))) {
        return Err("Bad passphrase".into());
    }
    let mut builder = MessageBuilder::from_bytes("", payload.to_vec());
    builder.compression(CompressionAlgorithm::ZLIB);
    match chosen {
        Chosen::Primary(k) => builder.sign(k, password, HashAlgorithm::Sha256),
        Chosen::Subkey(k) => builder.sign(k, password, HashAlgorithm::Sha256),
    };
    builder
        .to_vec(rand_chacha::ChaCha20Rng::from_seed(seed))
        .map_err(|e| format!("signing: {e}"))
}

/// A signing key found in the keyring, and whether it may still sign.
struct Signer {
    key: SignerKey,
    revoked: bool,
    /// When the key expires (Unix seconds), if it does.
    expires_at: Option<i64>,
}

enum SignerKey {
    Primary(pgp::packet::PublicKey),
    Subkey(pgp::packet::PublicSubkey),
}

impl Signer {
    fn checks(&self, signature: &Signature, data: &[u8]) -> bool {
        match &self.key {
            SignerKey::Primary(k) => signature.verify(k, data).is_ok(),
            SignerKey::Subkey(k) => signature.verify(k, data).is_ok(),
        }
    }

    fn fingerprint(&self) -> String {
        match &self.key {
            SignerKey::Primary(k) => hex(k.fingerprint().as_bytes()),
            SignerKey::Subkey(k) => hex(k.fingerprint().as_bytes()),
        }
    }
}

/// When the primary key expires, per its newest self-signature that says.
fn primary_expiry(key: &SignedPublicKey) -> Option<i64> {
    let newest = key
        .details
        .users
        .iter()
        .flat_map(|u| u.signatures.iter())
        .chain(key.details.direct_signatures.iter())
        .filter(|s| s.key_expiration_time().is_some())
        .max_by_key(|s| s.created().map(|t| t.as_secs()))?;
    let lifetime = newest.key_expiration_time()?;
    Some(i64::from(key.primary_key.created_at().as_secs()) + i64::from(lifetime.as_secs()))
}

/// The parts of a signed message simple signing uses.
struct SignedMessage {
    literal: Option<Vec<u8>>,
    signatures: Vec<Signature>,
}

impl SignedMessage {
    /// Reads the packets, inside one compressed-data packet if the message has one.
    fn parse(blob: &[u8]) -> Result<SignedMessage, String> {
        let mut message = SignedMessage {
            literal: None,
            signatures: Vec::new(),
        };
        let mut any = false;
        message.read_packets(blob, 0, &mut any)?;
        if !any {
            return Err("No data".into());
        }
        Ok(message)
    }

    fn read_packets(&mut self, bytes: &[u8], depth: u8, any: &mut bool) -> Result<(), String> {
        for packet in PacketParser::new(bytes) {
            let Ok(packet) = packet else {
                // gpg stops at what it cannot read; what came before still counts.
                break;
            };
            *any = true;
            match packet {
                Packet::CompressedData(compressed) if depth < 2 => {
                    let mut inner = Vec::new();
                    let mut reader = compressed.decompress().map_err(|e| e.to_string())?;
                    std::io::Read::read_to_end(&mut reader, &mut inner)
                        .map_err(|e| format!("decompressing the signature: {e}"))?;
                    self.read_packets(&inner, depth + 1, any)?;
                }
                Packet::LiteralData(literal) if self.literal.is_none() => {
                    self.literal = Some(literal.data().to_vec());
                }
                Packet::Signature(signature) => self.signatures.push(signature),
                _ => {}
            }
        }
        Ok(())
    }
}

/// The fields of gpgme's `Signature` that containers/image prints when it refuses one.
struct GpgmeReport {
    /// The signer's long key ID (how gpg names it in a bad signature).
    key_id: String,
    /// How gpg names a signer it has no key for.
    missing_key: String,
    created: i64,
    expires: i64,
    pubkey_algo: u16,
    hash_algo: u8,
}

impl GpgmeReport {
    fn of(signature: &Signature) -> GpgmeReport {
        let created = signature.created().map_or(0, |t| i64::from(t.as_secs()));
        let expires = signature
            .signature_expiration_time()
            .map_or(0, |d| created + i64::from(d.as_secs()));
        let (pubkey_algo, hash_algo) = signature.config().map_or((0, 0), |c| {
            (gpgme_pubkey_algo(u8::from(c.pub_alg)), u8::from(c.hash_alg))
        });
        let key_id = signature
            .issuer_key_id()
            .first()
            .map(|id| hex(id.as_ref()))
            .or_else(|| {
                signature.issuer_fingerprint().first().map(|f| {
                    let bytes = f.as_bytes();
                    hex(&bytes[bytes.len().saturating_sub(8)..])
                })
            })
            .unwrap_or_default();
        // A missing key is named by its fingerprint when the signature carries one.
        let missing_key = signature
            .issuer_fingerprint()
            .first()
            .map(|f| hex(f.as_bytes()))
            .unwrap_or_else(|| key_id.clone());
        GpgmeReport {
            key_id,
            missing_key,
            created,
            expires,
            pubkey_algo,
            hash_algo,
        }
    }

    /// What gpgme reports for a bad signature: only the key ID, no times or algorithms.
    fn bad(key_id: &str) -> GpgmeReport {
        GpgmeReport {
            key_id: key_id.to_owned(),
            missing_key: key_id.to_owned(),
            created: 0,
            expires: 0,
            pubkey_algo: 0,
            hash_algo: 0,
        }
    }

    fn refusal(&self, summary: u32, fingerprint: &str, status: u32) -> String {
        format!(
            "Invalid GPG signature: gpgme.Signature{{Summary:{summary}, Fingerprint:\"{fingerprint}\", \
             Status:gpgme.Error{{err:{status:#x}}}, Timestamp:{}, ExpTimestamp:{}, \
             WrongKeyUsage:false, PKATrust:0x0, ChainModel:false, Validity:0, \
             ValidityReason:error(nil), PubkeyAlgo:{}, HashAlgo:{}}}",
            GoTime::from_unix(self.created).go_syntax_local(),
            GoTime::from_unix(self.expires).go_syntax_local(),
            self.pubkey_algo,
            self.hash_algo
        )
    }
}

/// gpgme's numbering of public-key algorithms (OpenPGP's, except the elliptic curves).
fn gpgme_pubkey_algo(openpgp: u8) -> u16 {
    match openpgp {
        19 => 301,      // ECDSA
        18 => 302,      // ECDH
        22 | 27 => 303, // EdDSA
        other => u16::from(other),
    }
}

/// Every public key in `blob`: binary packets, ASCII-armored blocks, or both one after the
/// other (key files concatenated), as `gpg --import` takes them.
fn read_keys(blob: &[u8]) -> Result<Vec<SignedPublicKey>, String> {
    const BEGIN: &[u8] = b"-----BEGIN PGP";
    const END: &[u8] = b"-----END PGP";
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let mut keys = Vec::new();
    let mut rest = blob;
    while !rest.is_empty() {
        let binary_len = find(rest, BEGIN).unwrap_or(rest.len());
        let binary = &rest[..binary_len];
        if !binary.trim_ascii().is_empty() {
            let parsed = SignedPublicKey::from_bytes_many(binary)
                .map_err(|e| format!("reading a key: {e}"))?;
            // Keyrings carry trust packets and secret keys GnuPG skips; keep what parses.
            keys.extend(parsed.filter_map(Result::ok));
        }
        rest = &rest[binary_len..];
        if rest.is_empty() {
            break;
        }
        // One armored block: through the line of its END marker.
        let end = find(rest, END).ok_or("reading an armored key: no END line")?;
        let line_end = rest[end..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(rest.len(), |i| end + i + 1);
        let block = &rest[..line_end];
        let armored = SignedPublicKey::from_armor_many(block)
            .map_err(|e| format!("reading an armored key: {e}"))?
            .0
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("reading an armored key: {e}"))?;
        keys.extend(armored);
        rest = &rest[line_end..];
    }
    Ok(keys)
}

fn hex_fingerprint(key: &SignedPublicKey) -> String {
    hex(key.primary_key.fingerprint().as_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
