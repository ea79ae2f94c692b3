//! What every `docker://` command shares: skopeo's credential and TLS flags, registries.conf,
//! auth files and credential helpers, and building a registry client from them.

use crate::http::{NativeHttp, TlsOptions};
use clap::Args;
use skopeo_core::auth_file::{self, Lookup};
use skopeo_core::registries_conf::{RegistriesConf, AUTH_FILE_HELPER};
use skopeo_core::registry::client::endpoint_host;
use skopeo_core::registry::{Credentials, RegistryConfig};
use std::path::{Path, PathBuf};

/// The User-Agent registries see.
pub const USER_AGENT: &str = concat!("skopeo/1.9.3 skopeo-rs/", env!("CARGO_PKG_VERSION"));

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
    if o.creds.is_some() && o.no_creds {
        return Err("creds and no-creds cannot be specified at the same time".into());
    }
    if o.username.is_some() && o.no_creds {
        return Err("username and no-creds cannot be specified at the same time".into());
    }
    if o.creds.is_some() && o.username.is_some() {
        return Err("creds and username cannot be specified at the same time".into());
    }
    match (&o.username, &o.password) {
        (Some(_), None) => {
            return Err("password must be specified when username is specified".into())
        }
        (None, Some(_)) => {
            return Err("username must be specified when password is specified".into())
        }
        _ => {}
    }
    if let Some(token) = &o.registry_token {
        return Ok(Some(Credentials::RegistryToken(token.clone())));
    }
    if let Some(creds) = &o.creds {
        if creds.is_empty() {
            return Err("credentials can't be empty".into());
        }
        let (user, pass) = creds.split_once(':').unwrap_or((creds, ""));
        if user.is_empty() {
            return Err("username can't be empty".into());
        }
        return Ok(Some(Credentials::Basic {
            username: user.into(),
            password: pass.into(),
        }));
    }
    if let (Some(u), Some(p)) = (&o.username, &o.password) {
        return Ok(Some(Credentials::Basic {
            username: u.clone(),
            password: p.clone(),
        }));
    }
    if o.no_creds {
        return Ok(Some(Credentials::Anonymous));
    }
    Ok(None)
}

fn home() -> PathBuf {
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

/// Asks `docker-credential-HELPER` for `registry`'s credentials.
fn run_helper(helper: &str, registry: &str) -> Result<Option<Credentials>, String> {
    use std::io::Write;
    let program = format!("docker-credential-{helper}");
    let mut child = std::process::Command::new(&program)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("exec: \"{program}\": {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(registry.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        if stdout.trim() == "credentials not found in native keychain" {
            return Ok(None);
        }
        return Err(format!(
            "error getting credentials - err: {}, out: `{}`",
            out.status,
            stdout.trim()
        ));
    }
    #[derive(serde::Deserialize)]
    struct Reply {
        #[serde(rename = "Username", default)]
        username: String,
        #[serde(rename = "Secret", default)]
        secret: String,
    }
    let reply: Reply = serde_json::from_slice(&out.stdout)
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

/// registries.conf: `--registries-conf`/`CONTAINERS_REGISTRIES_CONF`, else the user's file if
/// it exists, else the system's; with the matching drop-in directories.
pub fn load_registries_conf(explicit: Option<&str>) -> Result<RegistriesConf, String> {
    let env = std::env::var("CONTAINERS_REGISTRIES_CONF")
        .ok()
        .filter(|s| !s.is_empty());
    let user = home().join(".config/containers/registries.conf");
    let (main, dirs): (PathBuf, Vec<PathBuf>) = match explicit.map(str::to_owned).or(env) {
        Some(p) => (PathBuf::from(p), Vec::new()),
        None if user.exists() => (
            user,
            vec![home().join(".config/containers/registries.conf.d")],
        ),
        None => (
            PathBuf::from("/etc/containers/registries.conf"),
            vec![
                PathBuf::from("/etc/containers/registries.conf.d"),
                home().join(".config/containers/registries.conf.d"),
            ],
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
}

/// Everything needed to talk to one registry for one repository.
pub struct Access {
    pub http: NativeHttp,
    pub config: RegistryConfig,
}

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
        return Err(e.blocked_error());
    }
    let conf_insecure = insecure_override.unwrap_or(entry.is_some_and(|e| e.endpoint.insecure));
    let insecure = match opts.tls_verify {
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
