//! Registry credentials and bearer-token exchange: the token request for a challenge (GET with
//! basic credentials or anonymous; OAuth2 POST with an identity/refresh token), the response,
//! and a cache of tokens per scope with their expiry.

use super::challenge::Challenge;
use base64::Engine;
use serde::Deserialize;
use std::collections::HashMap;

/// What the user gave to authenticate with one registry.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Credentials {
    /// No credentials: anonymous tokens only.
    #[default]
    Anonymous,
    /// A user name and password (or a personal access token as password).
    Basic { username: String, password: String },
    /// An OAuth2 refresh token from a previous login (`identitytoken` in auth files).
    IdentityToken { username: String, token: String },
    /// A ready bearer token (`--registry-token`), sent as is.
    RegistryToken(String),
}

// Never print secrets, not even in debug output.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Credentials::IdentityToken { username, .. } => {
                write!(f, "IdentityToken({username}, ***)")
            }
            Credentials::RegistryToken(_) => f.write_str("RegistryToken(***)"),
        }
    }
}

impl Credentials {
    /// The `Authorization` value for a `Basic` challenge, if these credentials can answer it.
    pub fn basic_header(&self) -> Option<String> {
        match self {
            Credentials::Basic { username, password } => Some(basic_auth(username, password)),
            _ => None,
        }
    }
}

/// `Basic base64(user:password)`.
pub fn basic_auth(username: &str, password: &str) -> String {
    let raw = format!("{username}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// Percent-encodes a query or form value as Go's `url.QueryEscape` does.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Builds the request that obtains a bearer token for `scopes` from `challenge`'s realm.
pub fn token_request(
    challenge: &Challenge,
    scopes: &[String],
    credentials: &Credentials,
) -> Result<http::Request<Vec<u8>>, String> {
    let realm = challenge
        .param("realm")
        .ok_or("missing realm in bearer auth challenge")?;
    let service = challenge.param("service").unwrap_or("");
    let builder = http::Request::builder();
    let request = match credentials {
        Credentials::IdentityToken { token, .. } => {
            let mut form = format!(
                "client_id=containers%2Fimage&grant_type=refresh_token&refresh_token={}",
                url_encode(token)
            );
            for scope in scopes {
                form.push_str(&format!("&scope={}", url_encode(scope)));
            }
            if !service.is_empty() {
                form.push_str(&format!("&service={}", url_encode(service)));
            }
            builder
                .method("POST")
                .uri(realm)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form.into_bytes())
        }
        _ => {
            // Go's url.Values.Encode: keys sorted (account, scope, service).
            let mut query = Vec::new();
            let (username, password) = match credentials {
                Credentials::Basic { username, password } => (username.as_str(), password.as_str()),
                _ => ("", ""),
            };
            if !username.is_empty() {
                query.push(format!("account={}", url_encode(username)));
            }
            for scope in scopes {
                query.push(format!("scope={}", url_encode(scope)));
            }
            if !service.is_empty() {
                query.push(format!("service={}", url_encode(service)));
            }
            let sep = if realm.contains('?') { '&' } else { '?' };
            let uri = if query.is_empty() {
                realm.to_owned()
            } else {
                format!("{realm}{sep}{}", query.join("&"))
            };
            let mut b = builder.method("GET").uri(uri);
            if !username.is_empty() && !password.is_empty() {
                b = b.header("Authorization", basic_auth(username, password));
            }
            b.body(Vec::new())
        }
    };
    request.map_err(|e| format!("invalid token realm {realm:?}: {e}"))
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: String,
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    expires_in: i64,
}

/// Tokens live at least this long (seconds), whatever the server says.
const MINIMUM_TOKEN_LIFETIME: i64 = 60;

/// A bearer token and when it stops being usable.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    pub value: String,
    pub expires_at: i64,
}

/// Reads a token server's JSON answer; `now` is the current Unix time.
pub fn parse_token_response(body: &[u8], now: i64) -> Result<Token, String> {
    // containers/image reads at most 1 MiB of a token answer.
    const MAX_TOKEN_RESPONSE: usize = 1 << 20;
    if body.len() > MAX_TOKEN_RESPONSE {
        return Err(format!(
            "exceeded maximum allowed size of {MAX_TOKEN_RESPONSE} bytes"
        ));
    }
    let r: TokenResponse =
        serde_json::from_slice(body).map_err(|e| format!("decoding token response: {e}"))?;
    let value = if r.token.is_empty() {
        r.access_token
    } else {
        r.token
    };
    if value.is_empty() {
        return Err("token server returned no token".into());
    }
    Ok(Token {
        value,
        expires_at: now + r.expires_in.max(MINIMUM_TOKEN_LIFETIME),
    })
}

/// Bearer tokens by scope set, dropped once expired.
#[derive(Default)]
pub struct TokenCache {
    tokens: HashMap<String, Token>,
}

impl TokenCache {
    /// A still-valid token for `scopes`, if cached.
    pub fn get(&self, scopes: &[String], now: i64) -> Option<&str> {
        self.tokens
            .get(&scopes.join(" "))
            .filter(|t| t.expires_at > now)
            .map(|t| t.value.as_str())
    }

    /// Remembers `token` for `scopes`.
    pub fn put(&mut self, scopes: &[String], token: Token) {
        self.tokens.insert(scopes.join(" "), token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::challenge::parse_challenges;

    #[test]
    fn get_request_carries_account_service_and_scopes() {
        let ch = &parse_challenges([r#"Bearer realm="http://127.0.0.1:1/token",service="reg""#])[0];
        let creds = Credentials::Basic {
            username: "u s".into(),
            password: "p".into(),
        };
        let scopes = vec!["repository:a/b:pull".to_string()];
        let r = token_request(ch, &scopes, &creds).unwrap();
        assert_eq!(r.method(), "GET");
        assert_eq!(
            r.uri().to_string(),
            "http://127.0.0.1:1/token?account=u+s&scope=repository%3Aa%2Fb%3Apull&service=reg"
        );
        assert_eq!(r.headers()["authorization"], "Basic dSBzOnA=");
        let anon = token_request(ch, &scopes, &Credentials::Anonymous).unwrap();
        assert!(anon.headers().get("authorization").is_none());
    }

    #[test]
    fn identity_tokens_use_oauth2_post() {
        let ch = &parse_challenges([r#"Bearer realm="https://t/token",service="reg""#])[0];
        let creds = Credentials::IdentityToken {
            username: "<token>".into(),
            token: "rt".into(),
        };
        let r = token_request(ch, &["repository:x:pull".into()], &creds).unwrap();
        assert_eq!(r.method(), "POST");
        assert_eq!(
            String::from_utf8(r.body().clone()).unwrap(),
            "client_id=containers%2Fimage&grant_type=refresh_token&refresh_token=rt&scope=repository%3Ax%3Apull&service=reg"
        );
    }

    #[test]
    fn tokens_expire() {
        let t = parse_token_response(br#"{"access_token":"a","expires_in":5}"#, 1000).unwrap();
        assert_eq!(t.value, "a");
        assert_eq!(t.expires_at, 1060, "at least a minute");
        let mut cache = TokenCache::default();
        let scopes = vec!["s".to_string()];
        cache.put(&scopes, t);
        assert_eq!(cache.get(&scopes, 1059), Some("a"));
        assert_eq!(cache.get(&scopes, 1060), None);
        assert!(parse_token_response(b"{}", 0).is_err());
        assert!(format!("{:?}", Credentials::RegistryToken("secret".into()))
            .find("secret")
            .is_none());
    }
}

/// The credential flags of a command (`--creds`, `--username`/`--password`,
/// `--registry-token`, `--no-creds`), checked as skopeo checks them.
#[derive(Debug, Clone, Default)]
pub struct CredentialFlags {
    pub creds: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub registry_token: Option<String>,
    pub no_creds: bool,
}

impl CredentialFlags {
    /// The credentials the flags give, `None` when they give none (look in the auth files),
    /// or skopeo's complaint about a bad combination.
    pub fn resolve(&self) -> Result<Option<Credentials>, String> {
        if self.creds.is_some() && self.no_creds {
            return Err("creds and no-creds cannot be specified at the same time".into());
        }
        if self.username.is_some() && self.no_creds {
            return Err("username and no-creds cannot be specified at the same time".into());
        }
        if self.creds.is_some() && self.username.is_some() {
            return Err("creds and username cannot be specified at the same time".into());
        }
        match (&self.username, &self.password) {
            (Some(_), None) => {
                return Err("password must be specified when username is specified".into())
            }
            (None, Some(_)) => {
                return Err("username must be specified when password is specified".into())
            }
            _ => {}
        }
        if let Some(token) = &self.registry_token {
            return Ok(Some(Credentials::RegistryToken(token.clone())));
        }
        if let Some(creds) = &self.creds {
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
        if let (Some(u), Some(p)) = (&self.username, &self.password) {
            return Ok(Some(Credentials::Basic {
                username: u.clone(),
                password: p.clone(),
            }));
        }
        if self.no_creds {
            return Ok(Some(Credentials::Anonymous));
        }
        Ok(None)
    }
}
