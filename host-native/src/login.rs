//! `skopeo login` and `skopeo logout`: check credentials against a registry and keep them in
//! the auth file (mode 0600, written atomically).

use crate::registry::{self, DockerOpts};
use clap::Args;
use skopeo_core::auth_file;
use skopeo_core::reference::Reference;
use skopeo_core::registries_conf::RegistriesConf;
use skopeo_core::registry::{Credentials, RegistryClient};
use skopeo_core::Error;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Arguments of `login`.
#[derive(Args)]
pub struct LoginArgs {
    /// path of the authentication file. Use REGISTRY_AUTH_FILE environment variable to override
    #[arg(long, value_name = "string", env = "REGISTRY_AUTH_FILE")]
    authfile: Option<String>,
    /// use certificates at the specified path to access the registry
    #[arg(long, value_name = "string")]
    cert_dir: Option<String>,
    /// Return the current login user for the registry
    #[arg(long)]
    get_login: bool,
    /// Password for registry
    #[arg(short = 'p', long, value_name = "string")]
    password: Option<String>,
    /// Take the password from stdin
    #[arg(long)]
    password_stdin: bool,
    /// require HTTPS and verify certificates when accessing the registry
    #[arg(long, value_name = "bool", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    tls_verify: Option<bool>,
    /// Username for registry
    #[arg(short = 'u', long, value_name = "string")]
    username: Option<String>,
    /// Write more detailed information to stdout
    #[arg(short = 'v', long)]
    verbose: bool,
    #[arg(value_name = "REGISTRY")]
    registries: Vec<String>,
}

/// Arguments of `logout`.
#[derive(Args)]
pub struct LogoutArgs {
    /// Remove the cached credentials for all registries in the auth file
    #[arg(short = 'a', long)]
    all: bool,
    /// path of the authentication file. Use REGISTRY_AUTH_FILE environment variable to override
    #[arg(long, value_name = "string", env = "REGISTRY_AUTH_FILE")]
    authfile: Option<String>,
    /// require HTTPS and verify certificates when accessing the registry
    #[arg(long, value_name = "bool", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    tls_verify: Option<bool>,
    #[arg(value_name = "REGISTRY")]
    registries: Vec<String>,
}

/// The auth-file key and the registry for a `login`/`logout` argument.
fn parse_key(arg: &str) -> Result<(String, String), String> {
    let key = match arg
        .strip_prefix("https://")
        .or_else(|| arg.strip_prefix("http://"))
    {
        Some(rest) => rest.split('/').next().unwrap_or(rest).to_owned(),
        None => arg.to_owned(),
    };
    let Some((registry, _)) = key.split_once('/') else {
        return Ok((key.clone(), key));
    };
    let r = Reference::parse_normalized_named(&key)
        .map_err(|e| format!("parse reference from {key:?}: {e}"))?;
    if !r.is_name_only() {
        return Err(format!(
            "reference {:?} contains tag or digest",
            r.to_string()
        ));
    }
    Ok((key.clone(), registry.to_owned()))
}

/// The file login writes: `--authfile`/`REGISTRY_AUTH_FILE`, `$DOCKER_CONFIG/config.json`, or
/// the default per-user file.
fn auth_file_path(explicit: Option<&str>) -> PathBuf {
    if let Some(p) = explicit.filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(d) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("config.json");
    }
    registry::default_auth_file(None)
}

fn read_or_empty(path: &Path) -> Result<Vec<u8>, String> {
    match std::fs::read(path) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!(
            "reading JSON file {:?}: {e}",
            path.display().to_string()
        )),
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, mode 0600.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("writing to file {:?}: {e}", path.display().to_string())
    })
}

/// Checks `credentials` against `registry`; `Ok(false)` when they are refused.
fn check(
    registry: &str,
    tls_verify: Option<bool>,
    cert_dir: Option<&str>,
    credentials: Credentials,
    conf: &RegistriesConf,
) -> Result<bool, String> {
    let opts = DockerOpts {
        tls_verify,
        cert_dir: cert_dir.map(str::to_owned),
        no_creds: true,
        ..Default::default()
    };
    let mut access = registry::access(&opts, conf, registry, registry, None)?;
    access.config.credentials = credentials;
    let client = RegistryClient::new(&access.http, access.config);
    match pollster::block_on(client.check_auth()) {
        Ok(()) => Ok(true),
        // A 401 from the registry or its token server: the credentials were refused.
        Err(Error::Registry { status: 401, .. }) => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

fn stored(key: &str, authfile: &Path, conf: &RegistriesConf) -> Result<Credentials, String> {
    let authfile = authfile.to_string_lossy();
    registry::stored_credentials(conf, Some(&authfile), key)
        .map_err(|e| format!("get credentials: {e}"))
}

/// Runs `login`.
pub fn login(global: &crate::GlobalOptions, args: LoginArgs) -> Result<(), String> {
    let arg = match args.registries.as_slice() {
        [] => return Err("please provide a registry to login to".into()),
        [one] => one,
        _ => return Err("login accepts only one registry to login to".into()),
    };
    let (key, registry_name) = parse_key(arg)?;
    let path = auth_file_path(args.authfile.as_deref());
    let conf = registry::load_registries_conf(global.registries_conf.as_deref())?;
    let existing = stored(&key, &path, &conf)?;
    if args.get_login {
        return match existing {
            Credentials::Basic { username, .. } if !username.is_empty() => {
                crate::write_stdout(format!("{username}\n").as_bytes())
            }
            _ => Err(format!("not logged into {key}")),
        };
    }
    if matches!(existing, Credentials::IdentityToken { .. }) {
        return Err("currently logged in, auth file contains an Identity token".into());
    }
    let mut password = args.password.clone();
    if args.password_stdin {
        if password.is_some() {
            return Err("Can't specify both --password-stdin and --password".into());
        }
        if args.username.is_none() {
            return Err("Must provide --username with --password-stdin".into());
        }
        let mut joined = String::new();
        for line in std::io::stdin().lock().lines() {
            joined.push_str(&line.map_err(|e| e.to_string())?);
        }
        password = Some(joined);
    }
    if let (
        None,
        None,
        Credentials::Basic {
            username,
            password: p,
        },
    ) = (&args.username, &password, &existing)
    {
        println!("Authenticating with existing credentials for {key}");
        let creds = Credentials::Basic {
            username: username.clone(),
            password: p.clone(),
        };
        if check(
            &registry_name,
            args.tls_verify,
            args.cert_dir.as_deref(),
            creds,
            &conf,
        )
        .map_err(|e| format!("authenticating creds for {key:?}: {e}"))?
        {
            println!("Existing credentials are valid. Already logged in to {registry_name}");
            return Ok(());
        }
        println!("Existing credentials are invalid, please enter valid username and password");
    }
    let username = match args.username.clone() {
        Some(u) => u.trim().to_owned(),
        None => {
            print!("Username: ");
            let _ = std::io::stdout().flush();
            let mut line = String::new();
            let n = std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("getting username and password: reading username: EOF".into());
            }
            line.trim().to_owned()
        }
    };
    let password = match password {
        Some(p) => p,
        None => {
            if !std::io::stdin().is_terminal() {
                return Err("getting username and password: reading password: inappropriate ioctl for device".into());
            }
            print!("Password: ");
            let _ = std::io::stdout().flush();
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            println!();
            line.trim_end_matches(['\n', '\r']).to_owned()
        }
    };
    let creds = Credentials::Basic {
        username: username.clone(),
        password: password.clone(),
    };
    let accepted = check(
        &registry_name,
        args.tls_verify,
        args.cert_dir.as_deref(),
        creds,
        &conf,
    )
    .map_err(|e| format!("authenticating creds for {key:?}: {e}"))?;
    if !accepted {
        return Err(format!("logging into {key:?}: invalid username/password"));
    }
    let text = read_or_empty(&path)?;
    let json_error = |e| format!("reading JSON file {:?}: {e}", path.display().to_string());
    match auth_file::cred_helper_for(&text, &key).map_err(json_error)? {
        // A helper named for the registry keeps the secret; the file is left as it is.
        Some(helper) if key.contains('/') => {
            return Err(format!(
            "updating {:?}: namespaced keys are not supported for the credential helper: {helper}",
            path.display().to_string()
        ))
        }
        Some(helper) => registry::helper_store(&helper, &key, &username, &password)
            .map_err(|e| format!("updating {:?}: {e}", path.display().to_string()))?,
        None => {
            let updated = auth_file::with_credentials(&text, &key, &username, &password)
                .map_err(json_error)?;
            write_atomically(&path, &updated)?;
        }
    }
    if args.verbose {
        println!("Used:  {}", path.display());
    }
    println!("Login Succeeded!");
    Ok(())
}

/// Runs `logout`.
pub fn logout(global: &crate::GlobalOptions, args: LogoutArgs) -> Result<(), String> {
    if let Some(p) = args.authfile.as_deref().filter(|p| !p.is_empty()) {
        if let Err(e) = std::fs::metadata(p) {
            let reason = if e.kind() == std::io::ErrorKind::NotFound {
                "no such file or directory".to_owned()
            } else {
                e.to_string()
            };
            return Err(format!("checking authfile: stat {p}: {reason}"));
        }
    }
    let path = auth_file_path(args.authfile.as_deref());
    if args.all {
        if !args.registries.is_empty() {
            return Err("--all takes no arguments".into());
        }
        let text = read_or_empty(&path)?;
        let updated = auth_file::without_all_credentials(&text)
            .map_err(|e| format!("reading JSON file {:?}: {e}", path.display().to_string()))?;
        write_atomically(&path, &updated)?;
        println!("Removed login credentials for all registries");
        return Ok(());
    }
    let arg = match args.registries.as_slice() {
        [] => return Err("please provide a registry to logout from".into()),
        [one] => one,
        _ => return Err("logout accepts only one registry to logout from".into()),
    };
    let (key, registry_name) = parse_key(arg)?;
    let text = read_or_empty(&path)?;
    let json_error = |e| format!("reading JSON file {:?}: {e}", path.display().to_string());
    // As containers/image does: erase from the helper the file names, drop the file's entry,
    // and rewrite the file in any case.
    let mut logged_in = false;
    if let Some(helper) = auth_file::cred_helper_for(&text, &key).map_err(json_error)? {
        if !key.contains('/') {
            logged_in = registry::helper_erase(&helper, &key)
                .map_err(|e| format!("updating {:?}: {e}", path.display().to_string()))?;
        }
    }
    let (updated, removed) = auth_file::without_credentials(&text, &key)
        .map_err(|e| format!("logging out of {key:?}: {e}"))?;
    write_atomically(&path, &updated)?;
    if logged_in || removed {
        println!("Removed login credentials for {key}");
        return Ok(());
    }
    let conf = registry::load_registries_conf(global.registries_conf.as_deref())?;
    let creds = stored(&key, &path, &conf)?;
    if matches!(creds, Credentials::Basic { .. })
        && check(&registry_name, args.tls_verify, None, creds, &conf).unwrap_or(false)
    {
        println!("Not logged into {key} with current tool. Existing credentials were established via docker login. Please use docker logout instead.");
        return Ok(());
    }
    Err(format!("not logged into {key}"))
}
