//! TLS for registries as skopeo (Go's `crypto/tls` and `crypto/x509`) does it: system roots
//! plus the CAs of `--cert-dir` or certs.d, client certificates, `--tls-verify=false`, and
//! Go's rule that a server certificate which is itself one of the trusted roots (the usual
//! self-signed registry certificate, often marked `CA:TRUE`) is trusted as it is, its host
//! name and validity still checked. Handshake failures read as Go words them.
//!
//! ureq's own rustls connector cannot take a custom verifier, so [`GoTlsConnector`] wraps
//! the TCP (or proxy) transport ureq made in rustls with our configuration.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport,
    TransportAdapter,
};

/// What a registry's TLS is made of, as skopeo finds it.
#[derive(Debug, Default)]
pub struct TlsSettings {
    /// `--tls-verify=false`: no verification at all.
    pub skip_verify: bool,
    /// The CAs of `--cert-dir` or the registry's certs.d directory (`*.crt`).
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// A client certificate chain and key (`X.cert` + `X.key`).
    pub client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

/// The directories searched for a registry's certificates when `--cert-dir` is not given.
pub fn certs_d_dirs(host_port: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(
            Path::new(&home)
                .join(".config/containers/certs.d")
                .join(host_port),
        );
    }
    dirs.push(Path::new("/etc/containers/certs.d").join(host_port));
    dirs.push(Path::new("/etc/docker/certs.d").join(host_port));
    dirs
}

/// The system's CA bundle (Go reads the first of these that exists).
fn system_roots() -> Vec<CertificateDer<'static>> {
    let bundles = [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/cert.pem",
    ];
    for path in bundles {
        if let Ok(pem) = std::fs::read(path) {
            return parse_certs(&pem);
        }
    }
    Vec::new()
}

fn parse_certs(pem: &[u8]) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .collect()
}

fn parse_key(pem: &[u8], path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| format!("{}: {e}", path.display()))
}

impl TlsSettings {
    /// Reads a certificate directory as containers/image does: `*.crt` are CAs; `X.cert` +
    /// `X.key` a client pair (either one alone is an error). A missing directory adds nothing.
    pub fn read_cert_dir(&mut self, dir: &Path) -> Result<(), String> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(());
        };
        let mut names: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        names.sort();
        for name in &names {
            let path = dir.join(name);
            if name.ends_with(".crt") {
                let pem = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                self.extra_roots.extend(parse_certs(&pem));
            } else if let Some(base) = name.strip_suffix(".cert") {
                let key_name = format!("{base}.key");
                if !names.contains(&key_name) {
                    return Err(format!(
                        "missing key {key_name} for client certificate {name}. Note that CA certificates should use the extension .crt"
                    ));
                }
                let chain = parse_certs(&std::fs::read(&path).map_err(|e| e.to_string())?);
                let key_path = dir.join(&key_name);
                let key_pem = std::fs::read(&key_path).map_err(|e| e.to_string())?;
                self.client = Some((chain, parse_key(&key_pem, &key_path)?));
            } else if let Some(base) = name.strip_suffix(".key") {
                if !names.contains(&format!("{base}.cert")) {
                    return Err(format!(
                        "missing client certificate {base}.cert for key {name}"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Reads a Docker client's certificate directory (`--*-cert-dir` for `docker-daemon:`):
    /// `ca.pem`, and the client pair `cert.pem` + `key.pem`, each when present.
    pub fn read_docker_cert_dir(&mut self, dir: &Path) -> Result<(), String> {
        let read = |name: &str| {
            let path = dir.join(name);
            match std::fs::read(&path) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(format!("{}: {e}", path.display())),
            }
        };
        if let Some(ca) = read("ca.pem")? {
            self.extra_roots.extend(parse_certs(&ca));
        }
        if let (Some(cert), Some(key)) = (read("cert.pem")?, read("key.pem")?) {
            self.client = Some((parse_certs(&cert), parse_key(&key, &dir.join("key.pem"))?));
        }
        Ok(())
    }

    /// The rustls configuration: system roots and the extra CAs, verified as Go verifies.
    pub fn client_config(&self) -> Result<ClientConfig, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .map_err(|e| e.to_string())?
            .dangerous();
        let verifier: Arc<dyn ServerCertVerifier> = if self.skip_verify {
            Arc::new(NoVerification(provider))
        } else {
            let mut roots = system_roots();
            roots.extend(self.extra_roots.iter().cloned());
            let mut store = RootCertStore::empty();
            store.add_parsable_certificates(roots.iter().cloned());
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider)
                .build()
                .map_err(|e| format!("x509: {e}"))?;
            Arc::new(GoVerifier { webpki, roots })
        };
        let builder = builder.with_custom_certificate_verifier(verifier);
        match &self.client {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(|e| format!("client certificate: {e}")),
            None => Ok(builder.with_no_client_auth()),
        }
    }
}

/// webpki's verification, plus Go's acceptance of a leaf that is itself a trusted root.
#[derive(Debug)]
struct GoVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    /// Every trusted root, to recognise a leaf that is one of them by its bytes.
    roots: Vec<CertificateDer<'static>>,
}

impl GoVerifier {
    /// Go's verifier takes a leaf found in the root pool as a chain of its own: its validity
    /// period and host name are checked, its issuer is not looked for. webpki refuses such
    /// a certificate when it is marked as a CA (after checking its validity period, which
    /// comes first), so only that refusal is reconsidered here.
    fn trusted_root_as_leaf(
        &self,
        end_entity: &CertificateDer<'_>,
        server_name: &ServerName<'_>,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = webpki::EndEntityCert::try_from(end_entity)
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
        cert.verify_is_valid_for_subject_name(server_name)
            .map_err(|_| {
                rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
                    expected: server_name.to_owned(),
                    presented: presented_names(&cert),
                })
            })?;
        if !allows_server_auth(end_entity.as_ref()) {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::InvalidPurpose,
            ));
        }
        Ok(ServerCertVerified::assertion())
    }
}

/// The DNS names a certificate is valid for (its subjectAltName entries).
fn presented_names(cert: &webpki::EndEntityCert<'_>) -> Vec<String> {
    cert.valid_dns_names().map(str::to_owned).collect()
}

impl ServerCertVerifier for GoVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(other)))
                if is_ca_used_as_end_entity(&other) =>
            {
                if self.roots.iter().any(|r| r.as_ref() == end_entity.as_ref()) {
                    self.trusted_root_as_leaf(end_entity, server_name)
                } else {
                    // An unknown self-signed CA: Go has no chain for it.
                    Err(rustls::Error::InvalidCertificate(
                        CertificateError::UnknownIssuer,
                    ))
                }
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

fn is_ca_used_as_end_entity(other: &rustls::OtherError) -> bool {
    let error: &(dyn std::error::Error + 'static) = &*other.0;
    matches!(
        error.downcast_ref::<webpki::Error>(),
        Some(webpki::Error::CaUsedAsEndEntity)
    )
}

/// Whether a certificate's extended key usage (if it has one) allows TLS servers, as Go
/// checks for every certificate of a chain: serverAuth or anyExtendedKeyUsage listed.
fn allows_server_auth(cert_der: &[u8]) -> bool {
    const EKU_OID: &[u8] = &[0x55, 0x1d, 0x25]; // 2.5.29.37
    const SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
    const ANY_EKU: &[u8] = &[0x55, 0x1d, 0x25, 0x00];
    let Some(extensions) = der::extensions(cert_der) else {
        return true;
    };
    for extension in der::Items(extensions) {
        let mut fields = der::Items(extension.1);
        let (Some((der::OID, oid)), rest) = (fields.next(), fields) else {
            continue;
        };
        if oid != EKU_OID {
            continue;
        }
        // [critical BOOLEAN] OCTET STRING { SEQUENCE OF OID }
        let Some((_, value)) = rest.into_iter().find(|(tag, _)| *tag == der::OCTET_STRING) else {
            return false;
        };
        let Some((der::SEQUENCE, purposes)) = der::Items(value).next() else {
            return false;
        };
        return der::Items(purposes)
            .any(|(tag, p)| tag == der::OID && (p == SERVER_AUTH || p == ANY_EKU));
    }
    true
}

/// Just enough DER to find a certificate's extensions.
mod der {
    pub const SEQUENCE: u8 = 0x30;
    pub const OID: u8 = 0x06;
    pub const OCTET_STRING: u8 = 0x04;
    const EXTENSIONS: u8 = 0xa3;

    /// The DER items of a byte string, in order, as (tag, contents); stops at bad DER.
    pub struct Items<'a>(pub &'a [u8]);

    impl<'a> Iterator for Items<'a> {
        type Item = (u8, &'a [u8]);
        fn next(&mut self) -> Option<Self::Item> {
            let (&tag, rest) = self.0.split_first()?;
            let (&first, rest) = rest.split_first()?;
            let (len, rest) = if first < 0x80 {
                (first as usize, rest)
            } else {
                let n = (first & 0x7f) as usize;
                if n == 0 || n > 4 || rest.len() < n {
                    self.0 = &[];
                    return None;
                }
                let len = rest[..n].iter().fold(0usize, |a, b| (a << 8) | *b as usize);
                (len, &rest[n..])
            };
            if rest.len() < len {
                self.0 = &[];
                return None;
            }
            self.0 = &rest[len..];
            Some((tag, &rest[..len]))
        }
    }

    /// The `SEQUENCE OF Extension` of a certificate, if it has extensions.
    pub fn extensions(cert: &[u8]) -> Option<&[u8]> {
        let (SEQUENCE, certificate) = Items(cert).next()? else {
            return None;
        };
        let (SEQUENCE, tbs) = Items(certificate).next()? else {
            return None;
        };
        let (_, explicit) = Items(tbs).find(|(tag, _)| *tag == EXTENSIONS)?;
        match Items(explicit).next()? {
            (SEQUENCE, list) => Some(list),
            _ => None,
        }
    }
}

/// `--tls-verify=false`: any certificate is taken; handshake signatures are still checked
/// against the certificate's key so the connection is well formed.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A handshake failure in Go's words (`x509: ...`), carried inside the I/O error ureq
/// returns so `http::transport_error` can print it as it is.
#[derive(Debug)]
pub struct GoTlsError(pub String);

impl std::fmt::Display for GoTlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GoTlsError {}

/// Go's `time.Time` in the form its x509 errors print (RFC 3339, UTC).
fn go_time(t: UnixTime) -> String {
    skopeo_core::gotime::GoTime::from_unix(t.as_secs() as i64).rfc3339_nano()
}

/// Go's wording of a failed handshake.
fn go_wording(error: &rustls::Error, host: &str) -> String {
    use CertificateError as C;
    let rustls::Error::InvalidCertificate(cert) = error else {
        return match error {
            rustls::Error::InvalidMessage(_) => {
                "http: server gave HTTP response to HTTPS client".into()
            }
            other => format!("tls: {other}"),
        };
    };
    match cert {
        C::UnknownIssuer | C::BadSignature => {
            "x509: certificate signed by unknown authority".into()
        }
        C::ExpiredContext { time, not_after } => format!(
            "x509: certificate has expired or is not yet valid: current time {} is after {}",
            go_time(*time),
            go_time(*not_after)
        ),
        C::NotValidYetContext { time, not_before } => format!(
            "x509: certificate has expired or is not yet valid: current time {} is before {}",
            go_time(*time),
            go_time(*not_before)
        ),
        C::Expired | C::NotValidYet => "x509: certificate has expired or is not yet valid".into(),
        C::NotValidForNameContext {
            expected,
            presented,
        } => not_valid_for_name(expected, presented, host),
        C::NotValidForName => format!("x509: certificate is not valid for {host}"),
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "x509: certificate specifies an incompatible key usage".into()
        }
        other => format!("x509: {other:?}"),
    }
}

/// Go's `HostnameError`: an IP address against a certificate without IP names, or the names
/// the certificate is valid for.
fn not_valid_for_name(expected: &ServerName<'_>, presented: &[String], host: &str) -> String {
    let bare = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let bare = bare.trim_start_matches('[').trim_end_matches(']');
    let is_ip = matches!(expected, ServerName::IpAddress(_));
    let ips: Vec<&String> = presented
        .iter()
        .filter(|n| n.parse::<std::net::IpAddr>().is_ok())
        .collect();
    let dns: Vec<&String> = presented
        .iter()
        .filter(|n| n.parse::<std::net::IpAddr>().is_err())
        .collect();
    if is_ip && ips.is_empty() {
        return format!(
            "x509: cannot validate certificate for {bare} because it doesn't contain any IP SANs"
        );
    }
    let valid: Vec<&str> = if is_ip { ips } else { dns }
        .into_iter()
        .map(String::as_str)
        .collect();
    if valid.is_empty() {
        return "x509: certificate is not valid for any names, but wanted to match ".to_owned()
            + bare;
    }
    format!(
        "x509: certificate is valid for {}, not {bare}",
        valid.join(", ")
    )
}

/// Wraps connections to `https://` URLs in rustls with Go's verification; plain HTTP passes.
#[derive(Debug)]
pub struct GoTlsConnector {
    settings: TlsSettings,
    /// Built on the first TLS connection, so plain-HTTP clients never load the roots.
    config: OnceLock<Result<Arc<ClientConfig>, String>>,
}

impl GoTlsConnector {
    pub fn new(settings: TlsSettings) -> Self {
        GoTlsConnector {
            settings,
            config: OnceLock::new(),
        }
    }

    fn config(&self) -> Result<Arc<ClientConfig>, ureq::Error> {
        self.config
            .get_or_init(|| self.settings.client_config().map(Arc::new))
            .clone()
            .map_err(|e| ureq::Error::Io(std::io::Error::other(GoTlsError(e))))
    }
}

impl<In: Transport> Connector<In> for GoTlsConnector {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let authority = details.uri.authority().map_or("", |a| a.as_str());
        let host = details.uri.host().unwrap_or("");
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| tls_failure(format!("invalid server name {host}")))?;
        let mut conn = ClientConnection::new(self.config()?, name)
            .map_err(|e| tls_failure(go_wording(&e, authority)))?;
        let mut sock = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        sock.set_timeout(details.timeout);
        if let Err(e) = conn.complete_io(&mut sock) {
            let rustls_error = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>());
            return Err(match rustls_error {
                Some(r) => tls_failure(go_wording(r, authority)),
                None => ureq::Error::Io(e),
            });
        }
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(Either::B(TlsTransport {
            buffers,
            stream: StreamOwned { conn, sock },
        })))
    }
}

fn tls_failure(text: String) -> ureq::Error {
    ureq::Error::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        GoTlsError(text),
    ))
}

/// A rustls session over the transport ureq connected.
pub struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl std::fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsTransport")
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_name_errors_read_as_go_words_them() {
        let localhost = ServerName::try_from("localhost".to_owned()).unwrap();
        let ip = ServerName::try_from("127.0.0.1".to_owned()).unwrap();
        let other = ServerName::try_from("other.example".to_owned()).unwrap();
        assert_eq!(
            not_valid_for_name(&ip, &["localhost".into()], "127.0.0.1:5000"),
            "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs"
        );
        assert_eq!(
            not_valid_for_name(
                &other,
                &["localhost".into(), "reg.example".into()],
                "other.example:443"
            ),
            "x509: certificate is valid for localhost, reg.example, not other.example"
        );
        assert_eq!(
            not_valid_for_name(&localhost, &["10.0.0.1".into()], "localhost:5000"),
            "x509: certificate is not valid for any names, but wanted to match localhost"
        );
    }

    #[test]
    fn der_items_stop_at_truncated_input() {
        let items: Vec<_> = der::Items(&[0x02, 0x01, 0x05, 0x04, 0x05, 0x01]).collect();
        assert_eq!(items, vec![(0x02, &[0x05][..])]);
        assert!(der::extensions(&[0x30, 0x82, 0xff]).is_none());
    }
}
