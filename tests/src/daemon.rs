//! A private Docker Engine for the `docker-daemon:` tests: Debian's dockerd started by the
//! test on a socket of its own, with its own data and exec roots, no networking set up and
//! the vfs storage driver, or podman's Docker-compatible service on a private store; stopped
//! (and its roots removed) when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running dockerd.
pub struct DockerEngine {
    child: Child,
    root: PathBuf,
    /// `unix:///…/docker.sock`.
    pub host: String,
}

impl DockerEngine {
    /// Starts one under `dir`; `None` (with the reason printed) where this machine cannot
    /// run one: not root, or dockerd missing.
    pub fn start(dir: &Path) -> Option<DockerEngine> {
        DockerEngine::start_with(dir, &[])
    }

    /// Starts one that also listens on `tcp://127.0.0.1:PORT` with TLS, verifying clients:
    /// the engine, that address, and a client certificate directory (`ca.pem`, `cert.pem`,
    /// `key.pem`) made for it.
    pub fn start_tls(dir: &Path) -> Option<(DockerEngine, String, PathBuf)> {
        let certs = dir.join("daemon-certs");
        std::fs::create_dir_all(&certs).unwrap();
        let script = "openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -keyout ca-key.pem -out ca.pem -subj '/CN=Daemon CA' && \
             openssl req -newkey rsa:2048 -nodes -sha256 -keyout server-key.pem -out server.csr -subj /CN=127.0.0.1 && \
             printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext && \
             openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -sha256 -days 30 -extfile server.ext -out server-cert.pem && \
             openssl req -newkey rsa:2048 -nodes -sha256 -keyout key.pem -out client.csr -subj /CN=client && \
             printf 'extendedKeyUsage=clientAuth\n' > client.ext && \
             openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -sha256 -days 30 -extfile client.ext -out cert.pem";
        let made = Command::new("sh")
            .args(["-c", script])
            .current_dir(&certs)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run openssl");
        assert!(made.success(), "making the daemon's certificates");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("tcp://127.0.0.1:{port}");
        let c = |name: &str| certs.join(name).display().to_string();
        let args = [
            "--tlsverify".to_owned(),
            format!("--tlscacert={}", c("ca.pem")),
            format!("--tlscert={}", c("server-cert.pem")),
            format!("--tlskey={}", c("server-key.pem")),
            format!("-H={addr}"),
        ];
        let engine = DockerEngine::start_with(dir, &args)?;
        Some((engine, addr, certs))
    }

    fn start_with(dir: &Path, extra: &[String]) -> Option<DockerEngine> {
        DockerEngine::launch(
            dir,
            "/usr/sbin/dockerd",
            "Debian's docker.io",
            |root, socket| {
                let mut args: Vec<String> = [
                    "--iptables=false",
                    "--ip6tables=false",
                    "--bridge=none",
                    "--storage-driver=vfs",
                    "--log-level=warn",
                ]
                .map(str::to_owned)
                .to_vec();
                args.push(format!("--data-root={}", root.join("data").display()));
                args.push(format!("--exec-root={}", root.join("exec").display()));
                args.push(format!("--pidfile={}", root.join("pid").display()));
                args.push(format!("-H=unix://{}", socket.display()));
                args.extend(extra.iter().cloned());
                args
            },
        )
    }

    /// Starts podman's Docker-compatible API service under `dir` (a vfs store of its own);
    /// `None` (with the reason printed) where this machine cannot: not root, or no podman.
    pub fn start_podman(dir: &Path) -> Option<DockerEngine> {
        DockerEngine::launch(dir, "/usr/bin/podman", "Debian's podman", |root, socket| {
            vec![
                format!("--root={}", root.join("store").display()),
                format!("--runroot={}", root.join("run").display()),
                "--storage-driver=vfs".into(),
                "system".into(),
                "service".into(),
                "--time=0".into(),
                format!("unix://{}", socket.display()),
            ]
        })
    }

    /// Runs `program` with the arguments `args` gives for its private root and socket under
    /// `dir`, and waits until it answers.
    fn launch(
        dir: &Path,
        program: &str,
        package: &str,
        args: impl FnOnce(&Path, &Path) -> Vec<String>,
    ) -> Option<DockerEngine> {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipping: {program} needs root here");
            return None;
        }
        if !Path::new(program).exists() {
            eprintln!("skipping: {program} is not installed ({package})");
            return None;
        }
        let name = Path::new(program).file_name().unwrap();
        let root = dir.join(name);
        std::fs::create_dir_all(&root).unwrap();
        let socket = root.join("engine.sock");
        let log = std::fs::File::create(root.join("log")).unwrap();
        let child = Command::new(program)
            .args(args(&root, &socket))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {program}: {e}"));
        let engine = DockerEngine {
            child,
            root,
            host: format!("unix://{}", socket.display()),
        };
        engine.wait_ready();
        Some(engine)
    }

    fn wait_ready(&self) {
        let started = Instant::now();
        while self.docker(&["version"]).0 != 0 {
            if started.elapsed() > Duration::from_secs(60) {
                let log = std::fs::read_to_string(self.root.join("log")).unwrap_or_default();
                panic!("the engine did not start: {log}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Runs the docker client against this engine: exit code and standard output.
    pub fn docker(&self, args: &[&str]) -> (i32, String) {
        let out = Command::new("docker")
            .args(args)
            .env("DOCKER_HOST", &self.host)
            .output();
        match out {
            Ok(o) => (
                o.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&o.stdout).into_owned(),
            ),
            Err(_) => (-1, String::new()),
        }
    }

    /// The ID of the image `name` (`docker image inspect`), if the engine has it.
    pub fn image_id(&self, name: &str) -> Option<String> {
        let (code, out) = self.docker(&["image", "inspect", "--format", "{{.Id}}", name]);
        (code == 0).then(|| out.trim().to_owned())
    }
}

impl Drop for DockerEngine {
    fn drop(&mut self) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32);
        if let Some(pid) = pid {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
