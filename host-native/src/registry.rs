//! What every `docker://` command shares: skopeo's credential and TLS flags, registries.conf,
//! auth files and credential helpers, and building a registry client from them.

use crate::http::{NativeHttp, TlsOptions};
use clap::Args;
use skopeo_core::auth_file::{self, Lookup};
use skopeo_core::registries_conf::{RegistriesConf, AUTH_FILE_HELPER};
use skopeo_core::registry::client::endpoint_host;
use skopeo_core::registry::{CredentialFlags, Credentials, RegistryConfig};
use std::path::{Path, PathBuf};

/// The User-Agent registries see.
pub use skopeo_core::registry::USER_AGENT;

/// skopeo's flags for accessing a registry.
#[derive(Args, Debug, Default, Clone)]
pub struct DockerOpts {
    /// path of the authentication file. Default is ${XDG_RUNTIME_DIR}/containers/auth.json
    #[arg(long, value_name = "string", env = "REGISTRY_AUTH_FILE")]
    pub authfile: Option<String>,
    /// Use `USERNAME[:PASSWORD]` for accessing the registry
    #[arg(long, value_name = "USERNAME[:PASSWORD]")]
    pub creds: Option<String>,
    /// Username for accessing the registry
    #[arg(long, value_name = "string")]
    pub username: Option<String>,
    /// Password for accessing the registry
    #[arg(long, value_name = "string")]
    pub password: Option<String>,
    /// Provide a Bearer token for accessing the registry
    #[arg(long, value_name = "string")]
    pub registry_token: Option<String>,
    /// use certificates at PATH (*.crt, *.cert, *.key) to connect to the registry or daemon
    #[arg(long, value_name = "PATH")]
    pub cert_dir: Option<String>,
    /// require HTTPS and verify certificates when talking to the container registry or daemon
    #[arg(long, value_name = "bool", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub tls_verify: Option<bool>,
    /// Access the registry anonymously
    #[arg(long)]
    pub no_creds: bool,
}

/// The user's explicit credentials, validated as skopeo validates them (`None`: look them up).
fn explicit_credentials(o: &DockerOpts) -> Result<Option<Credentials>, String> {
    CredentialFlags {
        creds: o.creds.clone(),
        username: o.username.clone(),
        password: o.password.clone(),
        registry_token: o.registry_token.clone(),
        no_creds: o.no_creds,
    }
    .resolve()
}

pub fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/".into())
}

/// The auth file `login` writes and reads first.
pub fn default_auth_file(explicit: Option<&str>) -> PathBuf {
    if let Some(p) = explicit.filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() => Path::new(&dir).join("containers/auth.json"),
        _ => PathBuf::from(format!("/run/containers/{}/auth.json", current_uid())),
    }
}

fn current_uid() -> u32 {
    std::fs::metadata("/proc/self").map_or(0, |m| {
        use std::os::unix::fs::MetadataExt;
        m.uid()
    })
}

/// Every auth file consulted, in order, with whether it is in the legacy `.dockercfg` format.
fn auth_files(explicit: Option<&str>) -> Vec<(PathBuf, bool)> {
    let config_home = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".config"));
    let docker = std::env::var_os("DOCKER_CONFIG")
        .map(|d| PathBuf::from(d).join("config.json"))
        .unwrap_or_else(|| home().join(".docker/config.json"));
    vec![
        (default_auth_file(explicit), false),
        (config_home.join("containers/auth.json"), false),
        (docker, false),
        (home().join(".dockercfg"), true),
    ]
}

/// What a `docker-credential-HELPER` program answered.
struct HelperReply {
    program: String,
    success: bool,
    stdout: String,
    status: std::process::ExitStatus,
}

impl HelperReply {
    /// The helper's way of saying it has nothing for the server.
    fn not_found(&self) -> bool {
        !self.success && self.stdout.trim() == "credentials not found in native keychain"
    }

    /// The failure as the helper client library words it.
    fn error(&self, what: &str) -> String {
        format!(
            "error {what} credentials - err: {}, out: `{}`",
            self.status,
            self.stdout.trim()
        )
    }
}

/// Runs `docker-credential-HELPER ACTION` with `input` on its standard input.
fn call_helper(helper: &str, action: &str, input: &[u8]) -> Result<HelperReply, String> {
    use std::io::Write;
    let program = format!("docker-credential-{helper}");
    let mut child = std::process::Command::new(&program)
        .arg(action)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("exec: \"{program}\": {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input);
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    Ok(HelperReply {
        program,
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        status: out.status,
    })
}

/// Stores credentials for `server` in `helper` (`login` when the auth file names a helper).
pub fn helper_store(
    helper: &str,
    server: &str,
    username: &str,
    secret: &str,
) -> Result<(), String> {
    #[derive(serde::Serialize)]
    struct Stored<'a> {
        #[serde(rename = "ServerURL")]
        server_url: &'a str,
        #[serde(rename = "Username")]
        username: &'a str,
        #[serde(rename = "Secret")]
        secret: &'a str,
    }
    let mut input = serde_json::to_vec(&Stored {
        server_url: server,
        username,
        secret,
    })
    .map_err(|e| e.to_string())?;
    input.push(b'\n');
    let reply = call_helper(helper, "store", &input)?;
    if reply.success {
        Ok(())
    } else {
        Err(reply.error("storing"))
    }
}

/// Erases `server`'s credentials from `helper`; `Ok(false)` when it had none (`logout`).
pub fn helper_erase(helper: &str, server: &str) -> Result<bool, String> {
    let reply = call_helper(helper, "erase", server.as_bytes())?;
    if reply.success {
        Ok(true)
    } else if reply.not_found() {
        Ok(false)
    } else {
        Err(format!(
            "removing credentials for {server} from credential helper {helper}: {}",
            reply.error("erasing")
        ))
    }
}

/// Asks `docker-credential-HELPER` for `registry`'s credentials.
fn run_helper(helper: &str, registry: &str) -> Result<Option<Credentials>, String> {
    let reply = call_helper(helper, "get", registry.as_bytes())?;
    if reply.not_found() {
        return Ok(None);
    }
    if !reply.success {
        return Err(reply.error("getting"));
    }
    let program = &reply.program;
    #[derive(serde::Deserialize)]
    struct Reply {
        #[serde(rename = "Username", default)]
        username: String,
        #[serde(rename = "Secret", default)]
        secret: String,
    }
    let reply: Reply = serde_json::from_slice(reply.stdout.as_bytes())
        .map_err(|e| format!("error reading credentials from {program}: {e}"))?;
    Ok(Some(if reply.username == "<token>" {
        Credentials::IdentityToken {
            username: reply.username,
            token: reply.secret,
        }
    } else {
        Credentials::Basic {
            username: reply.username,
            password: reply.secret,
        }
    }))
}

/// Credentials for `repository` (`host/path`) from the configured helpers and auth files.
pub fn stored_credentials(
    conf: &RegistriesConf,
    authfile: Option<&str>,
    repository: &str,
) -> Result<Credentials, String> {
    let registry = repository.split('/').next().unwrap_or(repository);
    for helper in &conf.credential_helpers {
        if helper != AUTH_FILE_HELPER {
            if let Some(c) = run_helper(helper, registry)? {
                return Ok(c);
            }
            continue;
        }
        for (path, legacy) in auth_files(authfile) {
            let text = match std::fs::read(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(format!(
                        "reading JSON file {:?}: {e}",
                        path.display().to_string()
                    ))
                }
            };
            let found = auth_file::lookup(&text, legacy, repository).map_err(|e| {
                let p = path.display().to_string();
                format!("reading JSON file {p:?}: unmarshaling JSON at {p:?}: {e}")
            })?;
            match found {
                Lookup::Found(a) if !a.identity_token.is_empty() => {
                    return Ok(Credentials::IdentityToken {
                        username: a.username,
                        token: a.identity_token,
                    })
                }
                Lookup::Found(a) if a.username.is_empty() => return Ok(Credentials::Anonymous),
                Lookup::Found(a) => {
                    return Ok(Credentials::Basic {
                        username: a.username,
                        password: a.password,
                    })
                }
                Lookup::Helper(h) => {
                    return Ok(run_helper(&h, registry)?.unwrap_or(Credentials::Anonymous))
                }
                Lookup::Missing => {}
            }
        }
    }
    Ok(Credentials::Anonymous)
}

/// registries.conf as containers/image finds it: `--registries-conf`/`CONTAINERS_REGISTRIES_CONF`
/// (still with the drop-in directories), else the user's file if it exists (with the user's
/// drop-ins only), else the system's (with the system's and the user's drop-ins).
pub fn load_registries_conf(explicit: Option<&str>) -> Result<RegistriesConf, String> {
    let env = std::env::var("CONTAINERS_REGISTRIES_CONF")
        .ok()
        .filter(|s| !s.is_empty());
    let user = home().join(".config/containers/registries.conf");
    let user_dir = home().join(".config/containers/registries.conf.d");
    let system_dir = PathBuf::from("/etc/containers/registries.conf.d");
    let (main, dirs): (PathBuf, Vec<PathBuf>) = match explicit.map(str::to_owned).or(env) {
        Some(p) => (PathBuf::from(p), vec![system_dir, user_dir.clone()]),
        None if user.exists() => (user, vec![user_dir.clone()]),
        None => (
            PathBuf::from("/etc/containers/registries.conf"),
            vec![system_dir, user_dir.clone()],
        ),
    };
    let main_text = match std::fs::read_to_string(&main) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => None,
        Err(e) => {
            return Err(format!(
                "loading registries configuration {:?}: {e}",
                main.display().to_string()
            ))
        }
    };
    let mut drop_ins = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "conf") && p.is_file())
            .collect();
        paths.sort();
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            drop_ins.push((p.display().to_string(), text));
        }
    }
    let main_path = main.display().to_string();
    let drop_refs: Vec<(&str, &str)> = drop_ins
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    RegistriesConf::load(
        main_text.as_deref().map(|t| (main_path.as_str(), t)),
        &drop_refs,
    )
    .map(|conf| conf.with_sources(&main_path, &user_dir.display().to_string()))
}

/// Everything needed to talk to one registry for one repository.
pub struct Access {
    pub http: NativeHttp,
    pub config: RegistryConfig,
}

/// The root command's deprecated `--tls-verify`, the default of every command's own.
pub static DEPRECATED_GLOBAL_TLS_VERIFY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Prepares access to `registry` for `repository` (both as references name them): blocked
/// registries are refused, `insecure` applies, credentials are resolved.
pub fn access(
    opts: &DockerOpts,
    conf: &RegistriesConf,
    registry: &str,
    repository: &str,
    insecure_override: Option<bool>,
) -> Result<Access, String> {
    let entry = conf.find_registry(repository);
    if let Some(e) = entry.filter(|e| e.blocked) {
        return Err(conf.blocked_error(e));
    }
    let conf_insecure = insecure_override.unwrap_or(entry.is_some_and(|e| e.endpoint.insecure));
    let tls_verify = opts
        .tls_verify
        .or_else(|| DEPRECATED_GLOBAL_TLS_VERIFY.get().copied());
    let insecure = match tls_verify {
        Some(v) => !v,
        None => conf_insecure,
    };
    let credentials = match explicit_credentials(opts)? {
        Some(c) => c,
        None => stored_credentials(conf, opts.authfile.as_deref(), repository)?,
    };
    let tls = TlsOptions {
        verify: Some(!insecure),
        cert_dir: opts.cert_dir.as_ref().map(PathBuf::from),
    };
    let http = NativeHttp::for_registry(endpoint_host(registry), &tls)
        .map_err(|e| format!("failed to create client: {e}"))?;
    Ok(Access {
        http,
        config: RegistryConfig {
            registry: registry.to_owned(),
            insecure,
            credentials,
            user_agent: USER_AGENT.into(),
        },
    })
}

/// Checks the credential flags alone (skopeo validates them before anything else).
pub fn validate(opts: &DockerOpts) -> Result<(), String> {
    explicit_credentials(opts).map(|_| ())
}
