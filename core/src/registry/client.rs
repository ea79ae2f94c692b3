//! A client for one registry, speaking the distribution protocol through the host's
//! [`HttpClient`]: ping and challenge discovery, credentials and bearer tokens per scope,
//! retries of what may heal (`retry`), and the operations skopeo needs.

use super::auth::{self, Credentials, TokenCache};
use super::challenge::{parse_challenges, Challenge};
use super::errors::{
    manifest_error_retryable, manifest_response_error, response_error, status_text,
};
use super::retry;
use crate::concurrent::{prefer_first, Turn};
use crate::digest::Digest;
use crate::effects::{Clock, HttpClient};
use crate::manifest::{self, mime};
use crate::{Error, Result};
use http::{Method, Request, Response};
use std::cell::RefCell;

/// How to reach one registry.
#[derive(Debug, Clone, Default)]
pub struct RegistryConfig {
    /// The registry as references name it (`docker.io`, `127.0.0.1:5000`).
    pub registry: String,
    /// Allow plain HTTP when HTTPS fails (`--tls-verify=false`, `insecure = true`).
    pub insecure: bool,
    pub credentials: Credentials,
    pub user_agent: String,
}

/// The host a registry name is served from (Docker Hub's API lives elsewhere).
pub fn endpoint_host(registry: &str) -> &str {
    if registry == "docker.io" {
        "registry-1.docker.io"
    } else {
        registry
    }
}

#[derive(Default)]
struct State {
    /// The scheme that answered, once pinged.
    ping: Option<&'static str>,
    /// The scheme was learnt from an anonymous request's answer instead of a ping to `/v2/`
    /// (see [`RegistryClient::speculate`]), so no challenges may be known yet.
    speculative: bool,
    challenges: Vec<Challenge>,
    tokens: TokenCache,
}

/// What an anonymous first request told in place of the ping.
enum Speculation<T> {
    /// Answered (2xx): the response stands, its scheme is kept.
    Answered(Response<T>),
    /// Challenged: the scheme and challenges are kept; the request goes again with them.
    Pinged,
    /// Another answer: the ping runs as usual.
    Unsettled,
    /// No scheme could be reached, or the registry is refusing requests: as the ping fails.
    Failed(Error),
}

/// Largest manifest read (containers/image's limit).
pub const MAX_MANIFEST_SIZE: usize = 4 << 20;
/// Largest config (or other small blob read whole).
pub const MAX_CONFIG_SIZE: usize = 4 << 20;

/// The `repository:NAME:ACTIONS` scope for a repository.
pub fn repository_scope(repository: &str, actions: &str) -> String {
    format!("repository:{repository}:{actions}")
}

/// A registry client. Not `Sync`: one per task, as the core is driven single-threaded.
pub struct RegistryClient<'h, H> {
    host: &'h H,
    config: RegistryConfig,
    state: RefCell<State>,
    /// Held while pinging: requests started together wait for one ping instead of each
    /// sending their own.
    pinging: Turn,
    /// Held while fetching a bearer token, for the same reason.
    fetching_token: Turn,
}

fn header_values<'a, T>(res: &'a Response<T>, name: &str) -> Vec<&'a str> {
    res.headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect()
}

/// A failed manifest response, as containers/image's `registryHTTPResponseToError` words it.
pub fn manifest_error(res: &Response<Vec<u8>>) -> Error {
    let status = res.status().as_u16();
    let line = format!("{status} {}", status_text(status));
    let challenges = header_values(res, "www-authenticate");
    Error::Registry {
        status,
        message: manifest_response_error(status, &line, &challenges, res.body()),
        retryable: manifest_error_retryable(status, &challenges, res.body()),
    }
}

/// A failed response, as containers/image's `httpResponseToError` words it (`context` names
/// the operation; 401 and 429 have fixed wordings).
pub fn status_error(res: &Response<Vec<u8>>, context: &str) -> Error {
    let status = res.status().as_u16();
    let message = match status {
        429 => "too many requests to registry".to_owned(),
        401 => {
            let line = format!("{status} {}", status_text(status));
            let challenges = header_values(res, "www-authenticate");
            format!(
                "unable to retrieve auth token: invalid username/password: {}",
                response_error(status, &line, &challenges, res.body())
            )
        }
        _ if context.is_empty() => format!(
            "invalid status code from registry {status} ({})",
            status_text(status)
        ),
        _ => format!(
            "{context}: invalid status code from registry {status} ({})",
            status_text(status)
        ),
    };
    Error::Registry {
        status,
        message,
        retryable: false,
    }
}

impl<'h, H: HttpClient + Clock> RegistryClient<'h, H> {
    /// A client for `config.registry`; nothing is sent until the first operation.
    pub fn new(host: &'h H, config: RegistryConfig) -> Self {
        RegistryClient {
            host,
            config,
            state: RefCell::new(State::default()),
            pinging: Turn::default(),
            fetching_token: Turn::default(),
        }
    }

    /// The host's clock (waits between attempts).
    pub(super) fn clock(&self) -> &'h H {
        self.host
    }

    /// The host name requests go to.
    pub fn endpoint(&self) -> &str {
        endpoint_host(&self.config.registry)
    }

    fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://{}{path}", self.endpoint())
    }

    /// The URL for `path` on the pinged scheme, or `path` itself when the registry gave an
    /// absolute URL (an upload location).
    async fn target_url(&self, path: &str) -> Result<String> {
        let scheme = self.ping().await?;
        Ok(
            if path.starts_with("https://") || path.starts_with("http://") {
                path.to_owned()
            } else {
                self.url(scheme, path)
            },
        )
    }

    fn base_request(&self, method: Method, url: &str) -> http::request::Builder {
        let mut b = Request::builder()
            .method(method)
            .uri(url)
            .header("Docker-Distribution-API-Version", "registry/2.0");
        if !self.config.user_agent.is_empty() {
            b = b.header("User-Agent", &self.config.user_agent);
        }
        b
    }

    /// Sends, repeating the request while the registry or the connection may heal
    /// (`retry`'s rules); `heal_transport` also repeats exchanges that got no answer (not for
    /// pings, which decide the scheme). Streamed uploads do not come here.
    async fn send_retrying(&self, request: Request<Vec<u8>>) -> Result<Response<Vec<u8>>> {
        self.send_healing(request, true).await
    }

    async fn send_healing(
        &self,
        request: Request<Vec<u8>>,
        heal_transport: bool,
    ) -> Result<Response<Vec<u8>>> {
        // Bodies here are small and whole in memory (manifests, upload ends): a request is
        // as safe to send again as it was to send (PUTs of manifests are idempotent).
        retry::healing(self.host, heal_transport, async || {
            self.host.send(clone_request(&request)).await
        })
        .await
    }

    /// Pings `/v2/` once, recording the auth challenges: over HTTPS, or, when insecure, over
    /// HTTPS with plain HTTP started alongside as the fallback (the result is that of trying
    /// HTTPS first and HTTP after it failed, without waiting for the failed attempt).
    pub async fn ping(&self) -> Result<&'static str> {
        if let Some(scheme) = self.state.borrow().ping {
            return Ok(scheme);
        }
        let _turn = self.pinging.take().await;
        // Another request's ping may have answered while this one waited (a failed one is
        // not kept: this request then pings for itself, as it would have alone).
        if let Some(scheme) = self.state.borrow().ping {
            return Ok(scheme);
        }
        let result = if self.config.insecure {
            prefer_first(self.ping_scheme("https"), self.ping_scheme("http")).await
        } else {
            self.ping_scheme("https").await
        };
        // Only success is kept: a retried operation pings again.
        match result {
            Ok((scheme, challenges)) => {
                let mut state = self.state.borrow_mut();
                state.challenges = challenges;
                state.ping = Some(scheme);
                Ok(scheme)
            }
            Err(e) => Err(e.context(format!("pinging container registry {}", self.endpoint()))),
        }
    }

    async fn ping_scheme(&self, scheme: &'static str) -> Result<(&'static str, Vec<Challenge>)> {
        let url = self.url(scheme, "/v2/");
        let req = self
            .base_request(Method::GET, &url)
            .body(Vec::new())
            .map_err(|e| Error::Invalid(format!("{url}: {e}")))?;
        let res = self.send_healing(req, false).await?;
        let status = res.status().as_u16();
        if status != 200 && status != 401 {
            return Err(status_error(&res, ""));
        }
        Ok((
            scheme,
            parse_challenges(header_values(&res, "www-authenticate")),
        ))
    }

    /// The `Authorization` header for a request needing `scopes`, per the ping's challenges.
    async fn authorization(&self, scopes: &[String]) -> Result<Option<String>> {
        let challenges = self.state.borrow().challenges.clone();
        for challenge in &challenges {
            match challenge.scheme.as_str() {
                "basic" => {
                    let (user, pass) = match &self.config.credentials {
                        Credentials::Basic { username, password } => {
                            (username.as_str(), password.as_str())
                        }
                        _ => ("", ""),
                    };
                    return Ok(Some(auth::basic_auth(user, pass)));
                }
                "bearer" => {
                    if let Credentials::RegistryToken(t) = &self.config.credentials {
                        return Ok(Some(format!("Bearer {t}")));
                    }
                    let now = self.host.now_unix();
                    if let Some(t) = self.state.borrow().tokens.get(scopes, now) {
                        return Ok(Some(format!("Bearer {t}")));
                    }
                    let _turn = self.fetching_token.take().await;
                    // A request that waited may find the token another one fetched.
                    if let Some(t) = self.state.borrow().tokens.get(scopes, now) {
                        return Ok(Some(format!("Bearer {t}")));
                    }
                    let token = self.fetch_token(challenge, scopes).await?;
                    let header = format!("Bearer {}", token.value);
                    self.state.borrow_mut().tokens.put(scopes, token);
                    return Ok(Some(header));
                }
                _ => {}
            }
        }
        Ok(None)
    }

    async fn fetch_token(&self, challenge: &Challenge, scopes: &[String]) -> Result<auth::Token> {
        let mut req = auth::token_request(challenge, scopes, &self.config.credentials)
            .map_err(Error::Invalid)?;
        if !self.config.user_agent.is_empty() {
            if let Ok(v) = self.config.user_agent.parse() {
                req.headers_mut().insert("user-agent", v);
            }
        }
        let oauth = req.method() == Method::POST;
        let res = self.host.send(req).await?;
        let status = res.status().as_u16();
        if status != 200 {
            let context = if oauth {
                "Trying to obtain access token"
            } else {
                "Requesting bearer token"
            };
            return Err(status_error(&res, context));
        }
        auth::parse_token_response(res.body(), self.host.now_unix()).map_err(Error::Invalid)
    }

    /// Sends an authenticated request to `path` (with query; or an absolute URL the registry
    /// gave, such as an upload location) needing `scopes`. When the registry answers
    /// `insufficient_scope` naming another scope, retries once with it.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        scopes: &[String],
    ) -> Result<Response<Vec<u8>>> {
        self.request_via(method, path, headers, body, scopes, async |req| {
            self.send_retrying(req).await
        })
        .await
    }

    /// [`RegistryClient::request`] with the response body left to stream (blobs).
    pub async fn request_streaming(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        scopes: &[String],
    ) -> Result<Response<H::Body>> {
        self.request_via(method, path, headers, Vec::new(), scopes, async |req| {
            // Repeated like any body-less request until the answer starts well; once the
            // body streams, a cut is the caller's to resume.
            retry::healing(self.host, true, async || {
                self.host.send_streaming(clone_request(&req)).await
            })
            .await
        })
        .await
    }

    /// Sends an authenticated request whose body is streamed from `body` (a blob upload).
    /// Not retried: the caller has authenticated for `scopes` before.
    pub async fn request_streamed_body<S: crate::effects::ByteStream>(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &mut S,
        length: Option<u64>,
        scopes: &[String],
    ) -> Result<Response<Vec<u8>>> {
        self.settle_challenges().await?;
        let url = self.target_url(path).await?;
        let mut b = self.base_request(method, &url);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        if let Some(a) = self.authorization(scopes).await? {
            b = b.header("Authorization", a);
        }
        let req = b
            .body(())
            .map_err(|e| Error::Invalid(format!("{url}: {e}")))?;
        Ok(self.host.send_streamed_body(req, body, length).await?)
    }

    /// Sends the first request to a registry not yet pinged in place of the ping, when that
    /// cannot change what is sent: a bodiless GET or HEAD by a client without credentials (it
    /// would go out anonymously after the ping too). Over HTTPS, or when insecure, HTTPS with
    /// plain HTTP alongside, as [`RegistryClient::ping`] does: any answer over HTTPS means
    /// HTTPS works, so plain HTTP is used only when HTTPS cannot be reached. This saves one
    /// round trip per command against registries that serve anonymous pulls.
    async fn speculate<T>(
        &self,
        method: &Method,
        path: &str,
        headers: &[(&str, &str)],
        send: &impl AsyncFn(Request<Vec<u8>>) -> Result<Response<T>>,
    ) -> Speculation<T> {
        let attempt = async |scheme: &'static str| {
            let url = self.url(scheme, path);
            let mut b = self.base_request(method.clone(), &url);
            for (k, v) in headers {
                b = b.header(*k, *v);
            }
            let req = b
                .body(Vec::new())
                .map_err(|e| Error::Invalid(format!("{url}: {e}")))?;
            send(req).await.map(|res| (scheme, res))
        };
        let result = if self.config.insecure {
            prefer_first(attempt("https"), attempt("http")).await
        } else {
            attempt("https").await
        };
        let (scheme, res) = match result {
            Ok(answered) => answered,
            Err(e) => {
                // Worded as the ping's failure: the request is named as the ping to `/v2/`
                // on the last scheme tried.
                let scheme = if self.config.insecure {
                    "http"
                } else {
                    "https"
                };
                let verb = match *method {
                    Method::HEAD => "Head",
                    _ => "Get",
                };
                let sent = format!("{verb} \"{}\"", self.url(scheme, path));
                let ping = format!("Get \"{}\"", self.url(scheme, "/v2/"));
                let context = format!("pinging container registry {}", self.endpoint());
                let e = e.reworded(|m| m.replacen(&sent, &ping, 1));
                return Speculation::Failed(e.context(context));
            }
        };
        let challenges = parse_challenges(header_values(&res, "www-authenticate"));
        let mut state = self.state.borrow_mut();
        match res.status().as_u16() {
            200..=299 => {
                state.ping = Some(scheme);
                state.speculative = true;
                Speculation::Answered(res)
            }
            401 if !challenges.is_empty() => {
                state.ping = Some(scheme);
                state.challenges = challenges;
                Speculation::Pinged
            }
            429 => Speculation::Failed(Error::Registry {
                status: 429,
                message: format!(
                    "pinging container registry {}: too many requests to registry",
                    self.endpoint()
                ),
                retryable: false,
            }),
            // A registry still failing after the retries answered: asking again after a ping
            // would only repeat them.
            status if retry::heals(status) => {
                state.ping = Some(scheme);
                state.speculative = true;
                Speculation::Answered(res)
            }
            // Anything else is left to the ping, which reports odd servers as it always has.
            _ => Speculation::Unsettled,
        }
    }

    /// After an anonymous answer stood in for the ping and no challenge has been met since,
    /// pings for real: a request with a body cannot be sent again after a challenge.
    async fn settle_challenges(&self) -> Result<()> {
        let unsettled = {
            let state = self.state.borrow();
            state.speculative && state.challenges.is_empty()
        };
        if unsettled {
            self.state.borrow_mut().ping = None;
            self.ping().await?;
            self.state.borrow_mut().speculative = false;
        }
        Ok(())
    }

    async fn request_via<T>(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        scopes: &[String],
        send: impl AsyncFn(Request<Vec<u8>>) -> Result<Response<T>>,
    ) -> Result<Response<T>> {
        let can_speculate = self.state.borrow().ping.is_none()
            && matches!(method, Method::GET | Method::HEAD)
            && body.is_empty()
            && path.starts_with('/')
            && matches!(self.config.credentials, Credentials::Anonymous);
        if can_speculate {
            match self.speculate(&method, path, headers, &send).await {
                Speculation::Answered(res) => return Ok(res),
                Speculation::Failed(e) => return Err(e),
                Speculation::Pinged | Speculation::Unsettled => {}
            }
        }
        if !body.is_empty() {
            self.settle_challenges().await?;
        }
        let url = self.target_url(path).await?;
        let mut scopes = scopes.to_vec();
        let mut retried = false;
        // Only bodiless requests are retried, so a body is moved into the one request.
        let mut body = Some(body);
        loop {
            let mut b = self.base_request(method.clone(), &url);
            for (k, v) in headers {
                b = b.header(*k, *v);
            }
            let authorization = self.authorization(&scopes).await?;
            let anonymous = authorization.is_none();
            if let Some(a) = authorization {
                b = b.header("Authorization", a);
            }
            let this_body = match &body {
                Some(b) if b.is_empty() => Vec::new(),
                _ => body.take().unwrap_or_default(),
            };
            let has_body = !this_body.is_empty();
            let req = b
                .body(this_body)
                .map_err(|e| Error::Invalid(format!("{url}: {e}")))?;
            let res = send(req).await?;
            if !retried
                && res.status() == 401
                && !has_body
                && anonymous
                && self.adopt_challenges(&res)
            {
                retried = true;
                continue;
            }
            if !retried && matches!(res.status().as_u16(), 401 | 403) && !has_body {
                let extra = parse_challenges(
                    res.headers()
                        .get_all("www-authenticate")
                        .iter()
                        .filter_map(|v| v.to_str().ok()),
                )
                .into_iter()
                .filter(|c| c.scheme == "bearer" && c.param("error") == Some("insufficient_scope"))
                .find_map(|c| c.param("scope").map(str::to_owned));
                if let Some(extra) = extra.filter(|s| !scopes.contains(s)) {
                    scopes.push(extra);
                    retried = true;
                    continue;
                }
            }
            return Ok(res);
        }
    }

    /// After an anonymous answer stood in for the ping, a challenge met by a request sent
    /// without credentials is what the ping would have found: keeps the first one met (other
    /// requests may have met it already) and says whether the request should go again.
    fn adopt_challenges<T>(&self, res: &Response<T>) -> bool {
        let mut state = self.state.borrow_mut();
        if !state.speculative {
            return false;
        }
        if state.challenges.is_empty() {
            state.challenges = parse_challenges(header_values(res, "www-authenticate"));
        }
        !state.challenges.is_empty()
    }

    /// Checks that the configured credentials are accepted (`skopeo login`).
    pub async fn check_auth(&self) -> Result<()> {
        let res = self
            .request(Method::GET, "/v2/", &[], Vec::new(), &[])
            .await?;
        if res.status() == 200 {
            return Ok(());
        }
        Err(status_error(&res, ""))
    }

    /// GETs a manifest by tag or digest (accepting every manifest type). A manifest fetched
    /// by digest must match it; one fetched by tag must match the `Docker-Content-Digest` the
    /// registry sent, if any. Returns the bytes and the media type.
    pub async fn get_manifest(
        &self,
        repository: &str,
        reference: &str,
        name: &str,
    ) -> Result<(Vec<u8>, String)> {
        let accept = mime::ALL_MANIFEST_TYPES.join(", ");
        let path = format!("/v2/{repository}/manifests/{reference}");
        let scopes = [repository_scope(repository, "pull")];
        let res = self
            .request(
                Method::GET,
                &path,
                &[("Accept", &accept)],
                Vec::new(),
                &scopes,
            )
            .await?;
        if res.status() != 200 {
            return Err(
                manifest_error(&res).context(format!("reading manifest {reference} in {name}"))
            );
        }
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_owned())
            .unwrap_or_default();
        let header_digest = res
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = res.into_body();
        if body.len() > MAX_MANIFEST_SIZE {
            return Err(Error::Invalid(format!(
                "reading manifest {reference} in {name}: exceeded maximum allowed size of {MAX_MANIFEST_SIZE} bytes"
            )));
        }
        let expected = match reference.parse::<Digest>() {
            Ok(d) if reference.contains(':') => Some(d),
            _ => header_digest.and_then(|h| h.parse::<Digest>().ok()),
        };
        if let Some(expected) = expected {
            let ok = manifest::matches_digest(&body, &expected).map_err(Error::Invalid)?;
            if !ok {
                return Err(Error::Verification(format!(
                    "manifest {reference} in {name} does not match digest {expected} (computed {})",
                    manifest::manifest_digest(&body)
                        .map(|d| d.to_string())
                        .unwrap_or_default()
                )));
            }
        }
        Ok((body, content_type))
    }

    /// GETs a small blob (a config) and verifies it against `digest`.
    pub async fn get_blob(&self, repository: &str, digest: &Digest) -> Result<Vec<u8>> {
        let path = format!("/v2/{repository}/blobs/{digest}");
        let scopes = [repository_scope(repository, "pull")];
        let res = self
            .request(Method::GET, &path, &[], Vec::new(), &scopes)
            .await?;
        if res.status() != 200 {
            return Err(status_error(&res, "Error fetching blob"));
        }
        let body = res.into_body();
        if body.len() > MAX_CONFIG_SIZE {
            return Err(Error::Invalid(format!(
                "blob {digest}: exceeded maximum allowed size of {MAX_CONFIG_SIZE} bytes"
            )));
        }
        crate::digest::verify_bytes(&body, digest, None)
            .map_err(|e| Error::Verification(format!("blob {digest}: {e}")))?;
        Ok(body)
    }

    /// The digest of the manifest `reference` (tag or digest) names in `repository`, from a
    /// HEAD request's `Docker-Content-Digest`; `None` when the registry has no such manifest
    /// or does not say its digest.
    pub async fn manifest_digest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<Digest>> {
        let accept = mime::ALL_MANIFEST_TYPES.join(", ");
        let path = format!("/v2/{repository}/manifests/{reference}");
        let scopes = [repository_scope(repository, "pull")];
        let res = self
            .request(
                Method::HEAD,
                &path,
                &[("Accept", &accept)],
                Vec::new(),
                &scopes,
            )
            .await?;
        match res.status().as_u16() {
            200 => Ok(res
                .headers()
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<Digest>().ok())),
            404 => Ok(None),
            _ => Err(status_error(&res, "checking manifest")),
        }
    }

    /// Every tag of `repository`, following `Link` pagination.
    pub async fn list_tags(&self, repository: &str) -> Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct TagList {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let scopes = [repository_scope(repository, "pull")];
        let mut path = format!("/v2/{repository}/tags/list");
        let mut tags = Vec::new();
        loop {
            let res = self
                .request(Method::GET, &path, &[], Vec::new(), &scopes)
                .await?;
            if res.status() != 200 {
                return Err(status_error(&res, "fetching tags list"));
            }
            let page: TagList = serde_json::from_slice(res.body())
                .map_err(|e| Error::Invalid(format!("decoding tags list: {e}")))?;
            tags.extend(page.tags.unwrap_or_default());
            let next = res
                .headers()
                .get("link")
                .and_then(|v| v.to_str().ok())
                .and_then(super::link::next_page_path);
            match next {
                Some(p) => path = p,
                None => return Ok(tags),
            }
        }
    }

    /// Deletes the image `tag_or_digest` of `repository` as skopeo does: GET its manifest,
    /// digest it, DELETE by that digest (registries refuse deleting by tag). `image` is the full
    /// reference, for messages. Returns the digest deleted.
    pub async fn delete_image(
        &self,
        repository: &str,
        tag_or_digest: &str,
        image: &str,
    ) -> Result<Digest> {
        let accept = mime::ALL_MANIFEST_TYPES.join(", ");
        let scopes = [repository_scope(repository, "*")];
        let headers = [("Accept", accept.as_str())];
        let path = format!("/v2/{repository}/manifests/{tag_or_digest}");
        let res = self
            .request(Method::GET, &path, &headers, Vec::new(), &scopes)
            .await?;
        let failed = |what: &str, res: &Response<Vec<u8>>| {
            let s = res.status().as_u16();
            Error::Registry {
                status: s,
                message: format!(
                    "Failed to delete {what}: {} ({s} {})",
                    String::from_utf8_lossy(res.body()),
                    status_text(s)
                ),
                retryable: false,
            }
        };
        match res.status().as_u16() {
            200 => {}
            404 => {
                return Err(Error::Registry {
                    status: 404,
                    message: format!("Unable to delete {image}. Image may not exist or is not stored with a v2 Schema in a v2 registry"),
                    retryable: false,
                })
            }
            _ => return Err(failed(image, &res)),
        }
        let digest = manifest::manifest_digest(res.body())
            .map_err(|e| Error::Invalid(format!("computing manifest digest: {e}")))?;
        let path = format!("/v2/{repository}/manifests/{digest}");
        let res = self
            .request(Method::DELETE, &path, &headers, Vec::new(), &scopes)
            .await?;
        if res.status() != 202 {
            return Err(failed(&path, &res));
        }
        Ok(digest)
    }
}

fn clone_request(r: &Request<Vec<u8>>) -> Request<Vec<u8>> {
    let mut b = Request::builder()
        .method(r.method().clone())
        .uri(r.uri().clone());
    for (k, v) in r.headers() {
        b = b.header(k, v);
    }
    b.body(r.body().clone()).expect("copy of a valid request")
}

#[cfg(test)]
mod tests;
