//! The Docker Engine API for `docker-daemon:` images: where the daemon listens
//! (`--*-daemon-host`, `DOCKER_HOST`, the default socket), HTTP/1.1 over a Unix socket or
//! TCP with the API version the daemon names; `GET /images/NAME/get`, whose `docker save`
//! archive is streamed into a scratch directory as a docker-archive source, and
//! `POST /images/load`, fed as it is written by a docker-archive destination.

use crate::archive_writer::ArchiveWriter;
use skopeo_core::transport::DaemonImage;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Where Docker listens unless told otherwise.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// A daemon address: a Unix socket path, or a TCP `host:port` spoken to over TLS
/// (`tcp://`) or in plain HTTP (`http://`), as containers/image tells them apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Unix(String),
    Tls(String),
    Plain(String),
}

/// How to reach a daemon: where, and the TLS a `tcp://` one is spoken to with.
pub struct Access {
    pub endpoint: Endpoint,
    /// `--*-cert-dir`: `ca.pem`, `cert.pem`, `key.pem`.
    pub cert_dir: Option<std::path::PathBuf>,
    /// `--*-tls-verify=false`.
    pub skip_verify: bool,
}

impl Endpoint {
    /// The daemon `flag` names, else `DOCKER_HOST`, else [`DEFAULT_HOST`].
    pub fn choose(flag: Option<&str>) -> Result<Endpoint, String> {
        let from_env = std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty());
        let host = flag.map(str::to_owned).or(from_env);
        Endpoint::parse(host.as_deref().unwrap_or(DEFAULT_HOST))
    }

    /// `unix:///PATH`, `tcp://HOST:PORT` (TLS) or `http://HOST:PORT`.
    pub fn parse(host: &str) -> Result<Endpoint, String> {
        if let Some(path) = host.strip_prefix("unix://") {
            return Ok(Endpoint::Unix(path.to_owned()));
        }
        if let Some(addr) = host.strip_prefix("tcp://") {
            return Ok(Endpoint::Tls(addr.trim_end_matches('/').to_owned()));
        }
        if let Some(addr) = host.strip_prefix("http://") {
            return Ok(Endpoint::Plain(addr.trim_end_matches('/').to_owned()));
        }
        Err(format!("unable to parse docker host `{host}`"))
    }
}

impl Access {
    /// The daemon the flags name: `--*-daemon-host` (else `DOCKER_HOST`, else the default
    /// socket), with `--*-cert-dir` and `--*-tls-verify` for a `tcp://` one.
    pub fn from_flags(
        host: Option<&str>,
        cert_dir: Option<&str>,
        tls_verify: Option<bool>,
    ) -> Result<Access, String> {
        Ok(Access {
            endpoint: Endpoint::choose(host)?,
            cert_dir: cert_dir.map(std::path::PathBuf::from),
            skip_verify: tls_verify == Some(false),
        })
    }

    fn connect(&self) -> Result<Box<dyn Stream>, String> {
        // The Docker client's words, whatever the reason.
        let unreachable = |host: String| {
            format!("Cannot connect to the Docker daemon at {host}. Is the docker daemon running?")
        };
        let tcp = |addr: &str| {
            std::net::TcpStream::connect(addr).map_err(|_| unreachable(format!("tcp://{addr}")))
        };
        match &self.endpoint {
            Endpoint::Unix(path) => std::os::unix::net::UnixStream::connect(path)
                .map(|s| Box::new(s) as Box<dyn Stream>)
                .map_err(|_| unreachable(format!("unix://{path}"))),
            Endpoint::Plain(addr) => tcp(addr).map(|s| Box::new(s) as Box<dyn Stream>),
            Endpoint::Tls(addr) => {
                let mut settings = crate::tls::TlsSettings {
                    skip_verify: self.skip_verify,
                    ..Default::default()
                };
                if let Some(dir) = &self.cert_dir {
                    settings.read_docker_cert_dir(dir)?;
                }
                let config = Arc::new(settings.client_config()?);
                let host = addr.rsplit_once(':').map_or(addr.as_str(), |(h, _)| h);
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let name = rustls::pki_types::ServerName::try_from(host.to_owned())
                    .map_err(|e| format!("docker host {addr}: {e}"))?;
                let connection = rustls::ClientConnection::new(config, name)
                    .map_err(|e| format!("docker host {addr}: {e}"))?;
                let stream = rustls::StreamOwned::new(connection, tcp(addr)?);
                Ok(Box::new(stream))
            }
        }
    }
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// A daemon's answer: status, headers (names lower-cased) and the body as it streams.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Box<dyn Read + Send>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The daemon's error (`{"message": …}`) in the Docker client's words.
    fn error(mut self) -> String {
        let mut text = String::new();
        let _ = self.body.by_ref().take(64 << 10).read_to_string(&mut text);
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| text.trim().to_owned());
        format!("Error response from daemon: {message}")
    }
}

/// A connection's worth of the Engine API: one request per connection (`Connection: close`).
pub struct Daemon {
    access: Access,
    /// `/vX.Y` as the daemon asked at `/_ping`, or empty.
    version_prefix: String,
}

impl Daemon {
    /// Pings the daemon `access` reaches for the API version to speak.
    pub fn connect(access: Access) -> Result<Daemon, String> {
        let mut daemon = Daemon {
            access,
            version_prefix: String::new(),
        };
        let ping = daemon.request("GET", "/_ping", None)?;
        if let Some(v) = ping.header("api-version") {
            daemon.version_prefix = format!("/v{v}");
        }
        Ok(daemon)
    }

    /// Sends `method path` (versioned) with `body` streamed in chunks, if any.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&mut dyn Read>,
    ) -> Result<Answer, String> {
        let mut stream = self.access.connect()?;
        let target = match path {
            "/_ping" => path.to_owned(),
            _ => format!("{}{path}", self.version_prefix),
        };
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: docker\r\nUser-Agent: skopeo\r\nConnection: close\r\n"
        );
        if body.is_some() {
            head.push_str("Content-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n");
        }
        head.push_str("\r\n");
        let failed = |e: std::io::Error| format!("talking to the Docker daemon: {e}");
        stream.write_all(head.as_bytes()).map_err(failed)?;
        if let Some(body) = body {
            match send_chunked(&mut stream, body) {
                Ok(()) => {}
                Err(Sending::Body(e)) => return Err(failed(e)),
                // The daemon stopped reading: what it answered says why, if it did.
                Err(Sending::Daemon(e)) => {
                    return match read_answer(stream) {
                        Ok(answer) if answer.status >= 400 => Err(answer.error()),
                        _ => Err(failed(e)),
                    }
                }
            }
        }
        stream.flush().map_err(failed)?;
        read_answer(stream)
    }

    /// Streams the `docker save` archive of `image` into `into`, refusing entries that
    /// would leave it.
    pub fn save_into(&self, image: &DaemonImage, into: &Path) -> Result<(), String> {
        let name = match image {
            DaemonImage::Id(d) => d.to_string(),
            DaemonImage::Named(r) => r.to_string(),
        };
        let loading = |e: String| format!("loading image from docker engine: {e}");
        let answer = self
            .request("GET", &format!("/images/{name}/get"), None)
            .map_err(loading)?;
        if answer.status != 200 {
            return Err(loading(answer.error()));
        }
        crate::archive::extract_stream(answer.body, "the docker engine's image", into)
            .map_err(loading)
    }
}

/// The reference to find a daemon image by in its `docker save` archive (and to name it by):
/// a tagged name; an ID or a digest reference is the archive's only image.
pub fn archive_reference(image: &DaemonImage) -> Option<&skopeo_core::reference::Reference> {
    match image {
        DaemonImage::Named(r) if r.tag().is_some() => Some(r),
        _ => None,
    }
}

/// Streams the image `image` out of the daemon `access` reaches into `into`.
pub fn save(access: Access, image: &DaemonImage, into: &Path) -> Result<(), String> {
    let daemon =
        Daemon::connect(access).map_err(|e| format!("loading image from docker engine: {e}"))?;
    daemon.save_into(image, into)
}

/// An image being loaded into the daemon (`POST /images/load`) from the docker archive a
/// copy writes into the pipe [`start_load`] gave.
pub struct Load {
    worker: std::thread::JoinHandle<Result<(), LoadFailure>>,
}

/// Why a load did not happen.
#[derive(Debug)]
pub enum LoadFailure {
    /// The archive was dropped before it ended (the copy failed: its error tells why).
    Unfinished,
    /// The daemon refused it, or could not be reached: its words.
    Daemon(String),
}

/// What the pipe's reader says when the archive was dropped before its end.
const UNFINISHED: &str = "the image was not written whole";

/// Starts loading an image into the daemon `access` reaches: the archive the copy writes is
/// streamed into the request as it is written. An archive dropped before it ends is not sent
/// whole: the request breaks off and the daemon loads nothing.
pub fn start_load(access: Access) -> Result<(ArchiveWriter, Load), String> {
    let daemon = Daemon::connect(access)?;
    let (reader, writer) = std::io::pipe().map_err(|e| format!("making a pipe: {e}"))?;
    let ended = Arc::new(AtomicBool::new(false));
    let pipe = std::fs::File::from(std::os::fd::OwnedFd::from(writer));
    let archive = ArchiveWriter::into_pipe(pipe, "the docker engine", Arc::clone(&ended));
    let worker = std::thread::spawn(move || {
        let mut body = WholeArchive { reader, ended };
        let daemon_said = LoadFailure::Daemon;
        let mut answer = match daemon.request("POST", "/images/load?quiet=1", Some(&mut body)) {
            Ok(answer) => answer,
            Err(e) if e.ends_with(UNFINISHED) => return Err(LoadFailure::Unfinished),
            Err(e) => return Err(daemon_said(e)),
        };
        if answer.status != 200 {
            return Err(daemon_said(answer.error()));
        }
        // The answer is a stream of JSON messages; a failure is one with an `error`.
        let mut text = String::new();
        answer
            .body
            .by_ref()
            .take(1 << 20)
            .read_to_string(&mut text)
            .map_err(|e| daemon_said(format!("reading the Docker daemon's answer: {e}")))?;
        for line in text.lines() {
            let message: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            if let Some(e) = message["error"].as_str() {
                return Err(daemon_said(format!("Error response from daemon: {e}")));
            }
        }
        Ok(())
    });
    Ok((archive, Load { worker }))
}

impl Load {
    /// Waits for the daemon's answer.
    pub fn wait(self) -> Result<(), LoadFailure> {
        self.worker.join().unwrap_or_else(|_| {
            Err(LoadFailure::Daemon(
                "loading the image into the docker engine failed".into(),
            ))
        })
    }
}

/// The read end of the archive's pipe: its end counts only when the archive ended well.
struct WholeArchive {
    reader: std::io::PipeReader,
    ended: Arc<AtomicBool>,
}

impl Read for WholeArchive {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.reader.read(buf)?;
        if n == 0 && !buf.is_empty() && !self.ended.load(Ordering::SeqCst) {
            return Err(std::io::Error::other(UNFINISHED));
        }
        Ok(n)
    }
}

/// Why a chunked body stopped: its source failed, or the daemon stopped taking it.
enum Sending {
    Body(std::io::Error),
    Daemon(std::io::Error),
}

/// Sends `body` in chunks, ending with the empty one only once `body` ended well.
fn send_chunked(stream: &mut Box<dyn Stream>, body: &mut dyn Read) -> Result<(), Sending> {
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = body.read(&mut buf).map_err(Sending::Body)?;
        write!(stream, "{n:x}\r\n").map_err(Sending::Daemon)?;
        stream.write_all(&buf[..n]).map_err(Sending::Daemon)?;
        stream.write_all(b"\r\n").map_err(Sending::Daemon)?;
        if n == 0 {
            return Ok(());
        }
    }
}

/// Reads the status line and headers; the body follows as the headers say.
fn read_answer(stream: Box<dyn Stream>) -> Result<Answer, String> {
    let mut reader = BufReader::new(stream);
    let failed = |e: std::io::Error| format!("reading the Docker daemon's answer: {e}");
    let mut line = String::new();
    reader.read_line(&mut line).map_err(failed)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("the Docker daemon answered {:?}", line.trim()))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).map_err(failed)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<u64>().ok());
    let body: Box<dyn Read + Send> = match (chunked, length) {
        (true, _) => Box::new(Chunked {
            inner: reader,
            left: 0,
            done: false,
        }),
        (false, Some(n)) => Box::new(reader.take(n)),
        (false, None) => Box::new(reader),
    };
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// A `Transfer-Encoding: chunked` body, decoded.
struct Chunked<R> {
    inner: R,
    left: usize,
    done: bool,
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut size = String::new();
            self.inner.read_line(&mut size)?;
            let digits = size.trim().split(';').next().unwrap_or("");
            self.left = usize::from_str_radix(digits, 16).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("bad chunk size {:?}", size.trim()),
                )
            })?;
            if self.left == 0 {
                self.done = true;
                return Ok(0);
            }
        }
        let want = buf.len().min(self.left);
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.left -= n;
        if self.left == 0 {
            let mut crlf = String::new();
            self.inner.read_line(&mut crlf)?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_parse_as_docker_reads_them() {
        assert_eq!(
            Endpoint::parse("unix:///run/d.sock"),
            Ok(Endpoint::Unix("/run/d.sock".into()))
        );
        assert_eq!(
            Endpoint::parse("tcp://127.0.0.1:2376"),
            Ok(Endpoint::Tls("127.0.0.1:2376".into()))
        );
        assert_eq!(
            Endpoint::parse("http://127.0.0.1:2375/"),
            Ok(Endpoint::Plain("127.0.0.1:2375".into()))
        );
        assert!(Endpoint::parse("ftp://x").is_err());
    }

    #[test]
    fn chunked_bodies_decode() {
        let wire = b"5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n";
        let mut body = Chunked {
            inner: &wire[..],
            left: 0,
            done: false,
        };
        let mut out = String::new();
        body.read_to_string(&mut out).unwrap();
        assert_eq!(out, "hello world");
    }
}
