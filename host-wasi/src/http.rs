//! The `HttpClient` and `Clock` effects over wasi:http's outgoing handler. TLS, when the
//! registry speaks it, is the runtime's: the component sends `https` requests and the host
//! connects.

use skopeo_core::effects::{
    ByteStream, Clock, EffectError, EffectErrorKind, HttpClient, VecStream,
};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, Scheme,
};
use wasi::io::streams::StreamError;

/// Largest response body read (manifests, tag lists, tokens and configs are far smaller).
const MAX_BODY: usize = 64 << 20;

/// HTTP through the component's wasi:http import.
pub struct WasiHttp;

fn io_error(message: String) -> EffectError {
    EffectError::new(EffectErrorKind::Other, message)
}

/// Go's wording for the failures a wasi:http host reports, where one exists.
fn describe(code: &ErrorCode, host: &str) -> (EffectErrorKind, String) {
    match code {
        ErrorCode::ConnectionRefused => (
            EffectErrorKind::Transient,
            format!("dial tcp {host}: connect: connection refused"),
        ),
        ErrorCode::ConnectionTimeout | ErrorCode::ConnectionReadTimeout => (
            EffectErrorKind::Transient,
            format!("dial tcp {host}: i/o timeout"),
        ),
        ErrorCode::ConnectionTerminated => (EffectErrorKind::Transient, "EOF".into()),
        ErrorCode::DnsError(_) => (
            EffectErrorKind::Other,
            format!(
                "dial tcp: lookup {}: no such host",
                host.rsplit_once(':').map_or(host, |(h, _)| h)
            ),
        ),
        ErrorCode::TlsCertificateError => (
            EffectErrorKind::Other,
            "x509: certificate signed by unknown authority".into(),
        ),
        ErrorCode::TlsProtocolError => (
            EffectErrorKind::Other,
            "http: server gave HTTP response to HTTPS client".into(),
        ),
        other => (EffectErrorKind::Other, format!("{other:?}")),
    }
}

fn method(m: &http::Method) -> Method {
    match m.as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "PATCH" => Method::Patch,
        other => Method::Other(other.to_owned()),
    }
}

fn read_body(body: IncomingBody, what: &str) -> Result<Vec<u8>, EffectError> {
    let stream = body
        .stream()
        .map_err(|()| io_error(format!("{what}: response body unavailable")))?;
    let mut out = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => {
                out.extend_from_slice(&chunk);
                if out.len() > MAX_BODY {
                    return Err(io_error(format!("{what}: response body too large")));
                }
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(io_error(format!("{what}: {}", e.to_debug_string())))
            }
        }
    }
    drop(stream);
    let _ = IncomingBody::finish(body);
    Ok(out)
}

/// A response body read as it arrives.
pub struct WasiBody {
    // Declared first: the stream must be dropped before the body it belongs to.
    stream: Option<wasi::io::streams::InputStream>,
    body: Option<IncomingBody>,
    what: String,
}

impl ByteStream for WasiBody {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, EffectError> {
        let Some(stream) = &self.stream else {
            return Ok(0);
        };
        match stream.blocking_read(buf.len() as u64) {
            Ok(chunk) => {
                buf[..chunk.len()].copy_from_slice(&chunk);
                Ok(chunk.len())
            }
            Err(StreamError::Closed) => {
                self.stream = None;
                if let Some(body) = self.body.take() {
                    let _ = IncomingBody::finish(body);
                }
                Ok(0)
            }
            Err(StreamError::LastOperationFailed(e)) => {
                Err(io_error(format!("{}: {}", self.what, e.to_debug_string())))
            }
        }
    }
}

impl HttpClient for WasiHttp {
    type Body = WasiBody;

    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, EffectError> {
        let head = request.method() == http::Method::HEAD;
        let (parts, bytes) = request.into_parts();
        let length = Some(bytes.len() as u64);
        let mut source = VecStream::new(bytes);
        let (builder, body, what) =
            exchange(http::Request::from_parts(parts, ()), &mut source, length).await?;
        let bytes = match body {
            Some(body) if !head => read_body(body, &what)?,
            _ => Vec::new(),
        };
        builder
            .body(bytes)
            .map_err(|e| io_error(format!("{what}: {e}")))
    }

    async fn send_streamed_body<S: ByteStream>(
        &self,
        request: http::Request<()>,
        body: &mut S,
        length: Option<u64>,
    ) -> Result<http::Response<Vec<u8>>, EffectError> {
        let (builder, response_body, what) = exchange(request, body, length).await?;
        let bytes = match response_body {
            Some(b) => read_body(b, &what)?,
            None => Vec::new(),
        };
        builder
            .body(bytes)
            .map_err(|e| io_error(format!("{what}: {e}")))
    }

    async fn send_streaming(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<WasiBody>, EffectError> {
        let (parts, bytes) = request.into_parts();
        let length = Some(bytes.len() as u64);
        let mut source = VecStream::new(bytes);
        let (builder, body, what) =
            exchange(http::Request::from_parts(parts, ()), &mut source, length).await?;
        let (stream, body) = match body {
            Some(body) => {
                let stream = body
                    .stream()
                    .map_err(|()| io_error(format!("{what}: response body unavailable")))?;
                (Some(stream), Some(body))
            }
            None => (None, None),
        };
        let streamed = WasiBody {
            stream,
            body,
            what: what.clone(),
        };
        builder
            .body(streamed)
            .map_err(|e| io_error(format!("{what}: {e}")))
    }
}

/// Sends `request` and waits for the response head: (status and headers, body, the Go-style
/// description of the request for messages).
async fn exchange<S: ByteStream>(
    request: http::Request<()>,
    body_source: &mut S,
    length: Option<u64>,
) -> Result<(http::response::Builder, Option<IncomingBody>, String), EffectError> {
    let uri = request.uri().clone();
    let verb = {
        let m = request.method().as_str().to_ascii_lowercase();
        let mut c = m.chars();
        c.next()
            .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
            .unwrap_or_default()
    };
    let what = format!("{verb} \"{uri}\"");
    let host = uri.authority().map(|a| a.as_str()).unwrap_or("").to_owned();
    let mut entries: Vec<(String, Vec<u8>)> = request
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect();
    if let Some(len) = length.filter(|&l| l > 0) {
        entries.push(("content-length".into(), len.to_string().into_bytes()));
    }
    let headers = Fields::from_list(&entries)
        .map_err(|e| io_error(format!("{what}: invalid header: {e:?}")))?;
    let out = OutgoingRequest::new(headers);
    let bad = |part: &str| io_error(format!("{what}: invalid {part}"));
    out.set_method(&method(request.method()))
        .map_err(|()| bad("method"))?;
    let scheme = match uri.scheme_str() {
        Some("http") => Scheme::Http,
        _ => Scheme::Https,
    };
    out.set_scheme(Some(&scheme)).map_err(|()| bad("scheme"))?;
    out.set_authority(Some(&host))
        .map_err(|()| bad("authority"))?;
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    out.set_path_with_query(Some(path))
        .map_err(|()| bad("path"))?;
    let body = out.body().map_err(|()| bad("body"))?;
    let pending = outgoing_handler::handle(out, None).map_err(|code| {
        let (kind, text) = describe(&code, &host);
        EffectError::new(kind, format!("{what}: {text}"))
    })?;
    {
        let stream = body.write().map_err(|()| bad("body stream"))?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = body_source.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            for chunk in buf[..n].chunks(4096) {
                stream
                    .blocking_write_and_flush(chunk)
                    .map_err(|e| io_error(format!("{what}: writing the body: {e:?}")))?;
            }
        }
    }
    OutgoingBody::finish(body, None)
        .map_err(|e| io_error(format!("{what}: finishing the body: {e:?}")))?;
    pending.subscribe().block();
    let response = match pending.get() {
        Some(Ok(Ok(r))) => r,
        Some(Ok(Err(code))) => {
            let (kind, text) = describe(&code, &host);
            return Err(EffectError::new(kind, format!("{what}: {text}")));
        }
        _ => return Err(io_error(format!("{what}: no response"))),
    };
    let mut builder = http::Response::builder().status(response.status());
    for (name, value) in response.headers().entries() {
        builder = builder.header(name, value);
    }
    let body = response.consume().ok();
    Ok((builder, body, what))
}

impl Clock for WasiHttp {
    fn now_unix(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }

    async fn sleep(&self, seconds: u64) {
        std::thread::sleep(Duration::from_secs(seconds));
    }
}
