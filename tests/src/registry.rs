//! Real registries for tests: Debian's `docker-registry` (the CNCF distribution registry) on
//! 127.0.0.1 with a kernel-chosen port, in plain HTTP, TLS, htpasswd and token-auth flavours,
//! plus the small token server in `tests/support/token-server.py` and the tag-paging proxy in
//! `tests/support/paging-proxy.py`.

use crate::{example_layout, reference_skopeo, repo_root, run, TempDir};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The test user of the htpasswd and token registries.
pub const USER: &str = "alice";
pub const PASSWORD: &str = "secret";
/// bcrypt of `secret` (the registry accepts only bcrypt entries).
const HTPASSWD: &str = "alice:$2y$05$S6R4m5/9csmEZaQSJwY6iezW/DTW3EgKveQYeNolN5rvcK7Vq6VrG\n";

/// `http.headers` that let pages on any origin read the registry (Docker-Content-Digest, Link
/// and WWW-Authenticate exposed; Accept and Authorization allowed in preflights).
const CORS_HEADERS: &str = "  headers:\n    Access-Control-Allow-Origin: ['*']\n    Access-Control-Allow-Methods: ['HEAD', 'GET', 'OPTIONS', 'DELETE']\n    Access-Control-Allow-Headers: ['Authorization', 'Accept', 'Cache-Control']\n    Access-Control-Expose-Headers: ['Docker-Content-Digest', 'Link', 'Content-Length', 'WWW-Authenticate']\n";

/// How a registry authenticates and is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Plain,
    /// Plain HTTP without `storage.delete.enabled`.
    NoDelete,
    Tls,
    Htpasswd,
    Token,
    /// Plain HTTP with CORS headers, so a page on another origin can read it.
    Cors,
    /// [`Flavour::Cors`] with htpasswd authentication.
    CorsHtpasswd,
    /// Plain, also taking docker schema 1 manifests (whose signatures it verifies).
    Schema1,
    /// TLS with a self-signed certificate for `localhost` only, made as most private
    /// registries make it (so also marked `CA:TRUE`), and htpasswd; reached as `localhost`.
    SelfSigned,
    /// TLS with a self-signed certificate for `localhost` that expired in 2020.
    SelfSignedExpired,
    /// Plain, read through a proxy that pages tag lists two tags at a time with `Link`
    /// headers (pushes go to the registry itself).
    Paged,
}

/// A running registry; stopped when dropped.
pub struct Registry {
    /// Where clients reach it (the proxy, for [`Flavour::Paged`]).
    pub addr: String,
    /// The registry itself, where [`Registry::push`] writes.
    pub upstream: String,
    pub dir: TempDir,
    children: Vec<Child>,
}

impl Drop for Registry {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Whether the registry binary is installed (tests skip with a message otherwise).
pub fn available() -> bool {
    let ok = Path::new("/usr/bin/docker-registry").exists();
    if !ok {
        eprintln!("skipping: docker-registry is not installed (scripts/test-all.sh installs it)");
    }
    ok
}

/// A registry of `flavour`, or `None` (the test skips) when the registry or the reference
/// skopeo is not installed.
pub fn setup(flavour: Flavour) -> Option<Registry> {
    if !available() || reference_skopeo().is_none() {
        return None;
    }
    Some(Registry::start(flavour))
}

fn sh(cmd: &str, cwd: &Path) {
    let status = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(cwd)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run sh");
    assert!(status.success(), "failed: {cmd}");
}

/// Waits for a line containing `marker` on `stream` and returns the word after it.
/// The address a docker-registry logging to `log` listens on, once it says so.
fn wait_for_listening(log: &Path) -> String {
    let marker = "listening on ";
    for _ in 0..200 {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(i) = text.find(marker) {
            return text[i + marker.len()..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '"' && *c != ',')
                .collect();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!(
        "docker-registry did not start: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

fn read_until(stream: impl std::io::Read + Send + 'static, marker: &str) -> String {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            panic!("process exited before printing {marker:?}");
        }
        if let Some(i) = line.find(marker) {
            let rest = &line[i + marker.len()..];
            let word: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '"' && *c != ',')
                .collect();
            // Keep draining so the child never blocks on a full pipe.
            std::thread::spawn(move || {
                let mut sink = String::new();
                while reader.read_line(&mut sink).unwrap_or(0) > 0 {
                    sink.clear();
                }
            });
            return word;
        }
    }
}

/// Generates a CA, a server certificate for 127.0.0.1/localhost and a token-signing pair.
fn make_certs(dir: &Path) {
    sh(
        "openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -keyout ca.key -out ca.crt -subj '/CN=Test CA' \
           -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign && \
         openssl req -newkey rsa:2048 -nodes -sha256 -keyout server.key -out server.csr -subj /CN=localhost && \
         printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > server.ext && \
         openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 30 -extfile server.ext -out server.crt && \
         openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -keyout token.key -out token.crt -subj '/CN=Token'",
        dir,
    );
}

/// A self-signed certificate for `localhost`, made the usual way (`req -x509`, which marks it
/// `CA:TRUE`), in `server.crt` / `server.key`.
fn make_self_signed(dir: &Path) {
    sh(
        "openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -keyout server.key -out server.crt \
           -subj /CN=localhost -addext subjectAltName=DNS:localhost",
        dir,
    );
}

/// A self-signed `CA:TRUE` certificate for `localhost` valid only in January 2020.
fn make_expired_self_signed(dir: &Path) {
    std::fs::write(
        dir.join("ca.cnf"),
        "[ca]\ndefault_ca = here\n[here]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n\
         policy = any\ndefault_md = sha256\ncopy_extensions = copy\n[any]\ncommonName = supplied\n\
         [leaf]\nbasicConstraints = critical,CA:TRUE\nsubjectAltName = DNS:localhost\n",
    )
    .unwrap();
    sh(
        "touch index.txt && echo 01 > serial && \
         openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost && \
         openssl ca -batch -selfsign -config ca.cnf -extensions leaf -keyfile server.key -in server.csr \
           -startdate 20200101000000Z -enddate 20200201000000Z -out server.crt",
        dir,
    );
}

impl Registry {
    /// Starts a registry of `flavour` on a port the kernel chooses.
    pub fn start(flavour: Flavour) -> Registry {
        Self::start_on(flavour, 0)
    }

    /// Starts a registry of `flavour` on 127.0.0.1:`port` (0: any free port).
    pub fn start_on(flavour: Flavour, port: u16) -> Registry {
        let dir = TempDir::new(&format!("registry-{flavour:?}").to_lowercase());
        let d = dir.0.clone();
        let mut children = Vec::new();
        let delete = flavour != Flavour::NoDelete;
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: {delete}\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: test-secret\n",
            d.join("data").display()
        );
        if matches!(flavour, Flavour::Tls | Flavour::Token) {
            make_certs(&d);
        }
        match flavour {
            Flavour::SelfSigned => make_self_signed(&d),
            Flavour::SelfSignedExpired => make_expired_self_signed(&d),
            _ => {}
        }
        if matches!(
            flavour,
            Flavour::Tls | Flavour::SelfSigned | Flavour::SelfSignedExpired
        ) {
            config.push_str(&format!(
                "  tls:\n    certificate: {0}/server.crt\n    key: {0}/server.key\n",
                d.display()
            ));
        }
        match flavour {
            Flavour::Tls | Flavour::SelfSignedExpired => {}
            Flavour::Htpasswd | Flavour::CorsHtpasswd | Flavour::SelfSigned => {
                if flavour == Flavour::CorsHtpasswd {
                    config.push_str(CORS_HEADERS);
                }
                std::fs::write(d.join("htpasswd"), HTPASSWD).unwrap();
                config.push_str(&format!(
                    "auth:\n  htpasswd:\n    realm: basic-realm\n    path: {}/htpasswd\n",
                    d.display()
                ));
            }
            Flavour::Token => {
                let mut server = Command::new("python3")
                    .arg(repo_root().join("tests/support/token-server.py"))
                    .args(["--port", "0", "--key"])
                    .arg(d.join("token.key"))
                    .arg("--cert")
                    .arg(d.join("token.crt"))
                    .args(["--users", &format!("{USER}:{PASSWORD}"), "--ttl", "300"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start the token server (python3)");
                let stdout = server.stdout.take().unwrap();
                let token_addr = read_until(stdout, "listening on ");
                children.push(server);
                config.push_str(&format!(
                    "auth:\n  token:\n    realm: http://{token_addr}/token\n    service: test-registry\n    issuer: test-issuer\n    rootcertbundle: {}/token.crt\n",
                    d.display()
                ));
            }
            Flavour::Cors => config.push_str(CORS_HEADERS),
            Flavour::Schema1 => config.push_str("compatibility:\n  schema1:\n    enabled: true\n"),
            Flavour::Plain | Flavour::NoDelete | Flavour::Paged => {}
        }
        let cfg = d.join("config.yml");
        std::fs::write(&cfg, config).unwrap();
        // The registry's log goes to a file: it says where it listens, and tests read what
        // was requested from it (`requests`).
        let log = std::fs::File::create(d.join("registry.log")).unwrap();
        let child = Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        children.push(child);
        let upstream = wait_for_listening(&d.join("registry.log"));
        let mut addr = upstream.clone();
        if matches!(flavour, Flavour::SelfSigned | Flavour::SelfSignedExpired) {
            addr = upstream.replace("127.0.0.1", "localhost");
        }
        if flavour == Flavour::Paged {
            let mut proxy = Command::new("python3")
                .arg(repo_root().join("tests/support/paging-proxy.py"))
                .args(["--upstream", &upstream, "--port", "0", "--log"])
                .arg(d.join("pages.log"))
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start the paging proxy (python3)");
            addr = read_until(proxy.stdout.take().unwrap(), "listening on ");
            children.push(proxy);
        }
        Registry {
            addr,
            upstream,
            dir,
            children,
        }
    }

    /// Tag → manifest digest of every tag of `repo` (empty when it does not exist), as our
    /// `list-tags` and `inspect` see them.
    pub fn tags_and_digests(&self, repo: &str) -> Vec<(String, String)> {
        let bin = crate::our_skopeo();
        let cwd = self.dir.0.clone();
        let listed = run(
            &bin,
            &["list-tags", "--tls-verify=false", &self.image(repo)],
            &cwd,
        );
        if listed.code != 0 {
            return Vec::new();
        }
        let doc: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
        let mut out: Vec<(String, String)> = doc["Tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let tag = t.as_str().unwrap().to_owned();
                let image = format!("{}:{tag}", self.image(repo));
                let args = [
                    "inspect",
                    "--tls-verify=false",
                    "--format",
                    "{{.Digest}}",
                    &image,
                ];
                let digest = run(&bin, &args, &cwd).stdout.trim().to_owned();
                (tag, digest)
            })
            .collect();
        out.sort();
        out
    }

    /// The requests the registry has answered so far, as "METHOD URI" (from its log).
    pub fn requests(&self) -> Vec<String> {
        // The registry logs a request just after answering it.
        std::thread::sleep(std::time::Duration::from_millis(200));
        let log = std::fs::read_to_string(self.dir.0.join("registry.log")).unwrap_or_default();
        let field = |line: &str, key: &str| -> Option<String> {
            let start = line.find(key)? + key.len();
            let value = line[start..].trim_start_matches('"');
            Some(
                value
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '"')
                    .collect(),
            )
        };
        log.lines()
            .filter(|l| l.contains("response completed"))
            .filter_map(|l| {
                Some(format!(
                    "{} {}",
                    field(l, "http.request.method=")?,
                    field(l, "http.request.uri=")?
                ))
            })
            .collect()
    }

    /// A directory holding the CA certificate (for `--cert-dir`): the CA of a
    /// [`Flavour::Tls`] registry, or the self-signed server certificate itself.
    pub fn ca_dir(&self) -> PathBuf {
        let dir = self.dir.0.join("ca-only");
        if !dir.exists() {
            std::fs::create_dir(&dir).unwrap();
            let ca = self.dir.0.join("ca.crt");
            let source = if ca.exists() {
                ca
            } else {
                self.dir.0.join("server.crt")
            };
            std::fs::copy(source, dir.join("ca.crt")).unwrap();
        }
        dir
    }

    /// Pushes the bundled example to `repo:tag` with the reference skopeo (`extra`: auth and
    /// TLS flags); false when the reference skopeo is missing.
    pub fn push(&self, repo_tag: &str, extra: &[&str]) -> bool {
        let Some(reference) = reference_skopeo() else {
            return false;
        };
        let tmp = TempDir::new("push");
        let layout = example_layout(&tmp.0);
        let src = format!("oci:{}:demo", layout.display());
        let dest = format!("docker://{}/{repo_tag}", self.upstream);
        let mut args = vec!["--insecure-policy", "copy", "-q"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[&src, &dest]);
        let r = run(&reference, &args, &tmp.0);
        assert_eq!(r.code, 0, "push failed: {}", r.stderr);
        true
    }

    /// The tag-list pages the proxy of a [`Flavour::Paged`] registry served, one line each.
    pub fn pages_served(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.0.join("pages.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// `docker://ADDR/repo`.
    pub fn image(&self, repo: &str) -> String {
        format!("docker://{}/{repo}", self.addr)
    }
}
