//! The native `HttpClient` and `Clock` effects: ureq over rustls, with skopeo's TLS rules
//! (system roots plus `--cert-dir` or certs.d CAs, client certificates, `--tls-verify=false`)
//! and the proxy environment variables.

use crate::tls::{certs_d_dirs, GoTlsConnector, GoTlsError, TlsSettings};
use skopeo_core::effects::{Clock, EffectError, EffectErrorKind, HttpClient};
use skopeo_std_effects::pipe::{pipe, read_ahead, PipeReader};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{ConnectProxyConnector, Connector, TcpConnector};

/// Largest response body read (manifests, tag lists, tokens and configs are far smaller).
const MAX_BODY: u64 = 64 << 20;

/// Where a registry's certificates come from, as skopeo decides it.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// `--tls-verify`: `Some(false)` skips verification (and allows plain HTTP).
    pub verify: Option<bool>,
    /// `--cert-dir`: replaces the certs.d lookup.
    pub cert_dir: Option<PathBuf>,
}

/// When `--command-timeout` runs out: requests still going then, or started after, fail with
/// Go's `context deadline exceeded` (local work is not bounded, as in skopeo).
pub static COMMAND_DEADLINE: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

fn deadline_passed() -> bool {
    COMMAND_DEADLINE
        .get()
        .is_some_and(|d| std::time::Instant::now() >= *d)
}

/// HTTP for one registry (and its token server), configured for that registry's TLS.
pub struct NativeHttp {
    agent: ureq::Agent,
}

impl NativeHttp {
    /// A client for `host_port` (the registry endpoint) with `tls` settings.
    pub fn for_registry(host_port: &str, tls: &TlsOptions) -> Result<Self, String> {
        let mut settings = TlsSettings {
            skip_verify: tls.verify == Some(false),
            ..TlsSettings::default()
        };
        // `--cert-dir`, else the first certs.d directory that exists.
        let dir = match &tls.cert_dir {
            Some(d) => Some(d.clone()),
            None => certs_d_dirs(host_port).into_iter().find(|d| d.is_dir()),
        };
        if let Some(d) = dir {
            settings.read_cert_dir(&d)?;
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(ureq::Proxy::try_from_env())
            .timeout_connect(Some(Duration::from_secs(30)))
            .input_buffer_size(16 * 1024)
            .output_buffer_size(16 * 1024)
            .timeout_global(
                COMMAND_DEADLINE
                    .get()
                    .map(|d| d.saturating_duration_since(std::time::Instant::now())),
            )
            .build();
        let connector =
            ().chain(ConnectProxyConnector::default())
                .chain(TcpConnector::default())
                .chain(GoTlsConnector::new(settings));
        Ok(NativeHttp {
            agent: ureq::Agent::with_parts(config, connector, DefaultResolver::default()),
        })
    }
}

/// Go's resolver wording for a name that does not resolve, naming the first name server.
fn lookup_failure(host: &str) -> String {
    let server = std::fs::read_to_string("/etc/resolv.conf")
        .ok()
        .and_then(|conf| {
            conf.lines().find_map(|l| {
                let mut words = l.split_whitespace();
                (words.next() == Some("nameserver")).then(|| words.next().map(str::to_owned))?
            })
        })
        .map(|ip| {
            if ip.contains(':') {
                format!("[{ip}]:53")
            } else {
                format!("{ip}:53")
            }
        });
    match server {
        Some(s) => format!("dial tcp: lookup {host} on {s}: no such host"),
        None => format!("dial tcp: lookup {host}: no such host"),
    }
}

/// Go's `http.Client` wording for a failed request: `Get "URL": reason`.
fn transport_error(method: &http::Method, uri: &http::Uri, e: &ureq::Error) -> EffectError {
    let verb = {
        let m = method.as_str().to_ascii_lowercase();
        let mut c = m.chars();
        c.next()
            .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
            .unwrap_or_default()
    };
    let host = uri.authority().map(|a| a.as_str()).unwrap_or("");
    let text = e.to_string();
    let reason = match e {
        _ if deadline_passed() => "context deadline exceeded".to_owned(),
        ureq::Error::Io(io) if io.get_ref().is_some_and(|i| i.is::<GoTlsError>()) => {
            io.get_ref().map(|i| i.to_string()).unwrap_or_default()
        }
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("dial tcp {host}: connect: connection refused")
        }
        ureq::Error::ConnectionFailed => format!("dial tcp {host}: connect: connection refused"),
        ureq::Error::HostNotFound => lookup_failure(uri.host().unwrap_or("")),
        ureq::Error::Io(io) if io.to_string().contains("failed to lookup address") => {
            lookup_failure(uri.host().unwrap_or(""))
        }
        _ if text.contains("UnknownIssuer") => {
            "x509: certificate signed by unknown authority".into()
        }
        _ if text.contains("InvalidContentType") || text.contains("corrupt message") => {
            "http: server gave HTTP response to HTTPS client".into()
        }
        _ if text.contains("NotValidForName") => {
            format!("x509: certificate is not valid for {host}")
        }
        _ if text.contains("Expired") => "x509: certificate has expired or is not yet valid".into(),
        _ => text,
    };
    EffectError::new(
        if is_transient(e) {
            EffectErrorKind::Transient
        } else {
            EffectErrorKind::Other
        },
        format!("{verb} \"{uri}\": {reason}"),
    )
}

/// Failures that containers/common retries: refused, reset, aborted, unreachable, timed out,
/// or a connection closed before any response.
fn is_transient(e: &ureq::Error) -> bool {
    use std::io::ErrorKind as K;
    match e {
        ureq::Error::ConnectionFailed | ureq::Error::Timeout(_) => true,
        ureq::Error::Io(io) => matches!(
            io.kind(),
            K::ConnectionRefused
                | K::ConnectionReset
                | K::ConnectionAborted
                | K::TimedOut
                | K::Interrupted
                | K::WouldBlock
                | K::NetworkDown
                | K::NetworkUnreachable
                | K::HostUnreachable
                | K::UnexpectedEof
        ),
        _ => false,
    }
}

/// A response body, read ahead of the core on a worker thread.
pub type NativeBody = PipeReader;

/// Response bodies are read this many chunks ahead.
const BODY_DEPTH: usize = 1;

/// How long a blob transfer may make no progress (no byte read, or none written) before it
/// counts as a dropped connection (and a download resumes): `SKOPEO_STALL_TIMEOUT` seconds,
/// 60 by default.
fn stall_timeout() -> Duration {
    static STALL: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *STALL.get_or_init(|| {
        let seconds = std::env::var("SKOPEO_STALL_TIMEOUT")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|s| *s > 0)
            .unwrap_or(60);
        Duration::from_secs(seconds)
    })
}

impl HttpClient for NativeHttp {
    type Body = NativeBody;

    /// The request runs on a worker thread reading from a bounded channel that this side
    /// fills from `body`, so at most a few buffers are in memory.
    async fn send_streamed_body<S: skopeo_core::effects::ByteStream>(
        &self,
        request: http::Request<()>,
        body: &mut S,
        length: Option<u64>,
    ) -> Result<http::Response<Vec<u8>>, EffectError> {
        let (tx, rx) = pipe(BODY_DEPTH);
        let agent = self.agent.clone();
        let (mut parts, ()) = request.into_parts();
        if let Some(len) = length {
            parts
                .headers
                .insert(http::header::CONTENT_LENGTH, len.into());
        }
        let response = skopeo_std_effects::background::on_thread(move || {
            let request = http::Request::from_parts(parts, ureq::SendBody::from_owned_reader(rx));
            let request = agent
                .configure_request(request)
                .timeout_per_write(Some(stall_timeout()))
                .build();
            run(&agent, request)
        });
        let mut failure = None;
        loop {
            match body.read_chunk().await {
                Ok(chunk) if chunk.is_empty() => break,
                Ok(chunk) => {
                    // The worker stopped reading (the request failed): its error tells why.
                    if tx.send(chunk).await.is_err() {
                        break;
                    }
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        drop(tx);
        let result = response.await;
        match failure {
            Some(e) => Err(e),
            None => result,
        }
    }

    async fn send_streaming(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<NativeBody>, EffectError> {
        let agent = self.agent.clone();
        skopeo_std_effects::background::on_thread(move || {
            let (method, uri) = (request.method().clone(), request.uri().clone());
            let request = agent
                .configure_request(request)
                .timeout_per_read(Some(stall_timeout()))
                .build();
            let (parts, body) = send_once(&agent, request)?.into_parts();
            let reader = body.into_reader();
            let body = read_ahead(reader, BODY_DEPTH, move |e| {
                transport_error(&method, &uri, &ureq::Error::from(e))
            });
            Ok(http::Response::from_parts(parts, body))
        })
        .await
    }

    /// Runs the request on its own thread, so requests the core joins overlap.
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, EffectError> {
        let agent = self.agent.clone();
        skopeo_std_effects::background::on_thread(move || run(&agent, request)).await
    }
}

/// Sends `request` unless `--command-timeout` has run out; failures in Go's words.
fn send_once(
    agent: &ureq::Agent,
    request: http::Request<impl ureq::AsSendBody>,
) -> Result<http::Response<ureq::Body>, EffectError> {
    let (method, uri) = (request.method().clone(), request.uri().clone());
    if deadline_passed() {
        // Worded by transport_error, which names the deadline whatever the error.
        return Err(transport_error(
            &method,
            &uri,
            &ureq::Error::ConnectionFailed,
        ));
    }
    agent
        .run(request)
        .map_err(|e| transport_error(&method, &uri, &e))
}

/// Sends `request` (any body ureq can send) and reads the whole response.
fn run(
    agent: &ureq::Agent,
    request: http::Request<impl ureq::AsSendBody>,
) -> Result<http::Response<Vec<u8>>, EffectError> {
    let (method, uri) = (request.method().clone(), request.uri().clone());
    let (parts, mut body) = send_once(agent, request)?.into_parts();
    let bytes = if method == http::Method::HEAD {
        Vec::new()
    } else {
        body.with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| transport_error(&method, &uri, &e))?
    };
    Ok(http::Response::from_parts(parts, bytes))
}

impl Clock for NativeHttp {
    fn now_unix(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }

    async fn sleep(&self, seconds: u64) {
        std::thread::sleep(Duration::from_secs(seconds));
    }
}
