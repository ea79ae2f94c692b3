//! X.509 for sigstore's certificate-based signers (Fulcio, a private PKI): PEM certificates,
//! a leaf's chain to trusted roots checked as Go's `x509.Certificate.Verify` checks it
//! (issuer names and signatures, validity at a given time, code signing usage), and what the
//! policy then asks of the leaf (e-mail addresses, host names, Fulcio's OIDC issuer).

use p256_013::ecdsa::signature::hazmat::PrehashVerifier;
use rsa::pkcs1::DecodeRsaPublicKey;
use x509_cert::der::{self, Decode, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectAltName};
use x509_cert::Certificate;

const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
const RSA_SHA256: &str = "1.2.840.113549.1.1.11";
const RSA_SHA384: &str = "1.2.840.113549.1.1.12";
const RSA_SHA512: &str = "1.2.840.113549.1.1.13";
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const P256: &str = "1.2.840.10045.3.1.7";
const P384: &str = "1.3.132.0.34";
const CODE_SIGNING: &str = "1.3.6.1.5.5.7.3.3";
const ANY_USAGE: &str = "2.5.29.37.0";
/// Fulcio's OIDC issuer extensions (v1: raw string; v2: a DER UTF8String).
const FULCIO_ISSUER_V1: &str = "1.3.6.1.4.1.57264.1.1";
const FULCIO_ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";

/// A parsed certificate and its DER bytes.
#[derive(Clone)]
pub struct Cert {
    der: Vec<u8>,
    cert: Certificate,
}

/// A certificate's public key, in a form that can check signatures.
pub enum CertKey {
    P256(p256_013::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    Rsa(rsa::RsaPublicKey),
}

/// Every certificate in a PEM bundle.
pub fn certs_from_pem(pem: &[u8]) -> Result<Vec<Cert>, String> {
    let text = std::str::from_utf8(pem).map_err(|_| "certificate data is not PEM".to_string())?;
    let mut certs = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let body_start = start + "-----BEGIN CERTIFICATE-----".len();
        let end = rest[body_start..]
            .find("-----END CERTIFICATE-----")
            .ok_or("unterminated PEM certificate")?
            + body_start;
        let body: String = rest[body_start..end].split_whitespace().collect();
        use base64::Engine as _;
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| format!("decoding PEM certificate: {e}"))?;
        let cert = Certificate::from_der(&der).map_err(|e| format!("x509: {e}"))?;
        certs.push(Cert { der, cert });
        rest = &rest[end + "-----END CERTIFICATE-----".len()..];
    }
    Ok(certs)
}

impl Cert {
    fn tbs_der(&self) -> Vec<u8> {
        self.cert
            .tbs_certificate
            .to_der()
            .expect("a parsed certificate encodes")
    }

    /// The certificate's public key.
    pub fn public_key(&self) -> Result<CertKey, String> {
        let spki = &self.cert.tbs_certificate.subject_public_key_info;
        let bits = spki.subject_public_key.raw_bytes();
        match spki.algorithm.oid.to_string().as_str() {
            EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
                    .map(|o| o.to_string())
                    .unwrap_or_default();
                match curve.as_str() {
                    P256 => p256_013::ecdsa::VerifyingKey::from_sec1_bytes(bits)
                        .map(CertKey::P256)
                        .map_err(|e| format!("x509: invalid P-256 key: {e}")),
                    P384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(bits)
                        .map(CertKey::P384)
                        .map_err(|e| format!("x509: invalid P-384 key: {e}")),
                    other => Err(format!("x509: unsupported elliptic curve {other}")),
                }
            }
            RSA_ENCRYPTION => rsa::RsaPublicKey::from_pkcs1_der(bits)
                .map(CertKey::Rsa)
                .map_err(|e| format!("x509: invalid RSA key: {e}")),
            other => Err(format!("x509: unsupported public key algorithm {other}")),
        }
    }

    /// Whether `issuer` signed this certificate.
    fn signed_by(&self, issuer: &Cert) -> bool {
        let Ok(key) = issuer.public_key() else {
            return false;
        };
        let Some(signature) = self.cert.signature.as_bytes() else {
            return false;
        };
        let algorithm = self.cert.signature_algorithm.oid.to_string();
        verify_with(&key, &algorithm, &self.tbs_der(), signature)
    }

    fn valid_at(&self, time: i64) -> Result<(), String> {
        let validity = &self.cert.tbs_certificate.validity;
        let not_before = validity.not_before.to_unix_duration().as_secs() as i64;
        let not_after = validity.not_after.to_unix_duration().as_secs() as i64;
        let shown = |t: i64| crate::gotime::GoTime::from_unix(t).rfc3339_nano();
        if time < not_before {
            return Err(format!(
                "x509: certificate has expired or is not yet valid: current time {} is before {}",
                shown(time),
                shown(not_before)
            ));
        }
        if time > not_after {
            return Err(format!(
                "x509: certificate has expired or is not yet valid: current time {} is after {}",
                shown(time),
                shown(not_after)
            ));
        }
        Ok(())
    }

    fn extension(&self, oid: &str) -> Option<&[u8]> {
        self.cert
            .tbs_certificate
            .extensions
            .as_ref()?
            .iter()
            .find(|e| e.extn_id.to_string() == oid)
            .map(|e| e.extn_value.as_bytes())
    }

    fn allows_code_signing(&self) -> bool {
        match self.extension("2.5.29.37") {
            None => true,
            Some(value) => ExtendedKeyUsage::from_der(value).is_ok_and(|eku| {
                eku.0
                    .iter()
                    .any(|o| [CODE_SIGNING, ANY_USAGE].contains(&o.to_string().as_str()))
            }),
        }
    }

    fn alt_names(&self) -> Vec<GeneralName> {
        self.extension("2.5.29.17")
            .and_then(|v| SubjectAltName::from_der(v).ok())
            .map(|san| san.0)
            .unwrap_or_default()
    }

    /// The e-mail addresses of the subject alternative names.
    pub fn emails(&self) -> Vec<String> {
        self.alt_names()
            .into_iter()
            .filter_map(|n| match n {
                GeneralName::Rfc822Name(s) => Some(s.to_string()),
                _ => None,
            })
            .collect()
    }

    /// Whether the certificate names `host` (DNS names, `*.` wildcards for one label).
    pub fn names_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_lowercase();
        self.alt_names().into_iter().any(|n| match n {
            GeneralName::DnsName(name) => {
                let name = name.to_string().to_lowercase();
                match name.strip_prefix("*.") {
                    Some(suffix) => host
                        .split_once('.')
                        .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
                    None => name == host,
                }
            }
            _ => false,
        })
    }

    /// Fulcio's OIDC issuer extension, as containers/image reads it.
    pub fn fulcio_issuer(&self) -> Result<String, String> {
        let v1 = self
            .extension(FULCIO_ISSUER_V1)
            .map(|v| String::from_utf8_lossy(v).into_owned());
        let v2 = match self.extension(FULCIO_ISSUER_V2) {
            Some(v) => Some(
                der::asn1::Utf8StringRef::from_der(v)
                    .map(|s| s.as_str().to_owned())
                    .map_err(|e| format!("invalid ASN.1 in OIDC issuer v2 extension: {e}"))?,
            ),
            None => None,
        };
        match (v1, v2) {
            (Some(a), Some(b)) if a != b => Err(format!(
                "inconsistent OIDC issuer extension values: v1 {a:?}, v2 {b:?}"
            )),
            (Some(a), _) | (None, Some(a)) => Ok(a),
            (None, None) => Err("Fulcio certificate is missing the issuer extension".into()),
        }
    }
}

/// Whether `signature` over `message` is `key`'s, for the signature algorithm `algorithm`.
fn verify_with(key: &CertKey, algorithm: &str, message: &[u8], signature: &[u8]) -> bool {
    use sha2::Digest as _;
    let digest: Vec<u8> = match algorithm {
        ECDSA_SHA256 | RSA_SHA256 => sha2::Sha256::digest(message).to_vec(),
        ECDSA_SHA384 | RSA_SHA384 => sha2::Sha384::digest(message).to_vec(),
        RSA_SHA512 => sha2::Sha512::digest(message).to_vec(),
        _ => return false,
    };
    match (key, algorithm) {
        (CertKey::P256(k), ECDSA_SHA256 | ECDSA_SHA384) => {
            p256_013::ecdsa::Signature::from_der(signature)
                .is_ok_and(|s| k.verify_prehash(&digest, &s).is_ok())
        }
        (CertKey::P384(k), ECDSA_SHA256 | ECDSA_SHA384) => {
            p384::ecdsa::Signature::from_der(signature)
                .is_ok_and(|s| k.verify_prehash(&digest, &s).is_ok())
        }
        (CertKey::Rsa(k), RSA_SHA256) => k
            .verify(
                rsa::Pkcs1v15Sign::new::<sha2_010::Sha256>(),
                &digest,
                signature,
            )
            .is_ok(),
        (CertKey::Rsa(k), RSA_SHA384) => k
            .verify(
                rsa::Pkcs1v15Sign::new::<sha2_010::Sha384>(),
                &digest,
                signature,
            )
            .is_ok(),
        (CertKey::Rsa(k), RSA_SHA512) => k
            .verify(
                rsa::Pkcs1v15Sign::new::<sha2_010::Sha512>(),
                &digest,
                signature,
            )
            .is_ok(),
        _ => false,
    }
}

impl CertKey {
    /// Checks a sigstore signature over `payload` (SHA-256, as cosign signs).
    pub fn verifies(&self, payload: &[u8], signature: &[u8]) -> bool {
        let algorithm = match self {
            CertKey::Rsa(_) => RSA_SHA256,
            _ => ECDSA_SHA256,
        };
        verify_with(self, algorithm, payload, signature)
    }
}

/// Checks that `leaf` chains to one of `roots` through `intermediates`, every certificate
/// valid at `time` and the leaf usable for code signing; worded as Go words refusals.
pub fn verify_chain(
    leaf: &Cert,
    intermediates: &[Cert],
    roots: &[Cert],
    time: i64,
) -> Result<(), String> {
    leaf.valid_at(time)?;
    if !leaf.allows_code_signing() {
        return Err("x509: certificate specifies an incompatible key usage".into());
    }
    let mut current = leaf.clone();
    for _ in 0..8 {
        if roots.iter().any(|r| r.der == current.der) {
            return Ok(());
        }
        let issuer_name = &current.cert.tbs_certificate.issuer;
        let named = |c: &&Cert| &c.cert.tbs_certificate.subject == issuer_name;
        if let Some(root) = roots.iter().filter(named).find(|r| current.signed_by(r)) {
            return root.valid_at(time);
        }
        let Some(next) = intermediates
            .iter()
            .filter(named)
            .find(|i| current.signed_by(i) && i.valid_at(time).is_ok() && i.allows_code_signing())
        else {
            return Err("x509: certificate signed by unknown authority".into());
        };
        current = next.clone();
    }
    Err("x509: too many intermediates".into())
}
