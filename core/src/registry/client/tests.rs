//! The client against a scripted in-memory registry (the real one is exercised by the
//! integration tests): auth flows, caching, pagination, retries, verification.

use super::*;
use std::cell::{Cell, RefCell};

type Handler = dyn Fn(&Request<Vec<u8>>) -> Response<Vec<u8>>;

struct FakeHost {
    handler: Box<Handler>,
    log: RefCell<Vec<String>>,
    slept: RefCell<Vec<u64>>,
    now: Cell<i64>,
    /// Answers only after yielding once, as a host answering on other threads does: lets
    /// requests that are joined overlap.
    yields: Cell<bool>,
}

impl FakeHost {
    fn new(handler: impl Fn(&Request<Vec<u8>>) -> Response<Vec<u8>> + 'static) -> Self {
        FakeHost {
            handler: Box::new(handler),
            log: RefCell::new(Vec::new()),
            slept: RefCell::new(Vec::new()),
            now: Cell::new(1000),
            yields: Cell::new(false),
        }
    }
}

impl HttpClient for FakeHost {
    type Body = crate::effects::VecStream;

    async fn send_streamed_body<S: crate::effects::ByteStream>(
        &self,
        request: Request<()>,
        body: &mut S,
        _length: Option<u64>,
    ) -> std::result::Result<Response<Vec<u8>>, crate::effects::EffectError> {
        let bytes = crate::effects::read_all(body).await?;
        let (parts, ()) = request.into_parts();
        self.send(Request::from_parts(parts, bytes)).await
    }

    async fn send_streaming(
        &self,
        request: Request<Vec<u8>>,
    ) -> std::result::Result<Response<Self::Body>, crate::effects::EffectError> {
        let res = self.send(request).await?;
        let (parts, body) = res.into_parts();
        Ok(Response::from_parts(
            parts,
            crate::effects::VecStream::new(body),
        ))
    }

    async fn send(
        &self,
        request: Request<Vec<u8>>,
    ) -> std::result::Result<Response<Vec<u8>>, crate::effects::EffectError> {
        let auth = request
            .headers()
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        self.log
            .borrow_mut()
            .push(format!("{} {} [{auth}]", request.method(), request.uri()));
        if self.yields.get() {
            let mut yielded = false;
            std::future::poll_fn(|cx| {
                if yielded {
                    return std::task::Poll::Ready(());
                }
                yielded = true;
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            })
            .await;
        }
        Ok((self.handler)(&request))
    }
}

impl Clock for FakeHost {
    fn now_unix(&self) -> i64 {
        self.now.get()
    }
    async fn sleep(&self, seconds: u64) {
        self.slept.borrow_mut().push(seconds);
    }
}

fn response(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Response<Vec<u8>> {
    let mut b = Response::builder().status(status);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.to_vec()).unwrap()
}

fn client(host: &FakeHost, credentials: Credentials) -> RegistryClient<'_, FakeHost> {
    RegistryClient::new(
        host,
        RegistryConfig {
            registry: "reg.test".into(),
            insecure: false,
            credentials,
            user_agent: "test".into(),
        },
    )
}

const MANIFEST: &[u8] = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":2},"layers":[]}"#;

fn token_registry(req: &Request<Vec<u8>>) -> Response<Vec<u8>> {
    let path = req.uri().path();
    let auth = req
        .headers()
        .get("authorization")
        .map(|v| v.to_str().unwrap());
    let challenge = [(
        "WWW-Authenticate",
        r#"Bearer realm="https://auth.test/token",service="reg.test""#,
    )];
    match path {
        "/token" => {
            assert_eq!(
                auth,
                Some("Basic dTpw"),
                "token fetched with the user's credentials"
            );
            assert!(req
                .uri()
                .query()
                .unwrap()
                .contains("scope=repository%3Aa%2Fb%3Apull"));
            response(200, &[], br#"{"token":"T1","expires_in":300}"#)
        }
        _ if auth != Some("Bearer T1") => response(
            401,
            &challenge,
            br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
        ),
        "/v2/" => response(200, &[], b"{}"),
        "/v2/a/b/manifests/latest" => {
            response(200, &[("Content-Type", mime::OCI_MANIFEST)], MANIFEST)
        }
        "/v2/a/b/tags/list" if req.uri().query().is_none() => response(
            200,
            &[("Link", r#"</v2/a/b/tags/list?last=t2&n=2>; rel="next""#)],
            br#"{"name":"a/b","tags":["t1","t2"]}"#,
        ),
        "/v2/a/b/tags/list" => {
            assert_eq!(req.uri().query(), Some("last=t2&n=2"));
            response(200, &[], br#"{"name":"a/b","tags":["t3"]}"#)
        }
        _ => response(
            404,
            &[],
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#,
        ),
    }
}

#[test]
fn bearer_tokens_are_fetched_once_per_scope() {
    let host = FakeHost::new(token_registry);
    let c = client(
        &host,
        Credentials::Basic {
            username: "u".into(),
            password: "p".into(),
        },
    );
    let (bytes, mt) = pollster::block_on(c.get_manifest("a/b", "latest", "reg.test/a/b")).unwrap();
    assert_eq!(bytes, MANIFEST);
    assert_eq!(mt, mime::OCI_MANIFEST);
    let tags = pollster::block_on(c.list_tags("a/b")).unwrap();
    assert_eq!(tags, ["t1", "t2", "t3"]);
    let log = host.log.borrow();
    assert_eq!(
        log.iter().filter(|l| l.contains("/token")).count(),
        1,
        "{log:#?}"
    );
    assert_eq!(log[0], "GET https://reg.test/v2/ []");
    // The token expires: a new one is fetched.
    host.now.set(1000 + 301);
    drop(log);
    pollster::block_on(c.list_tags("a/b")).unwrap();
    assert_eq!(
        host.log
            .borrow()
            .iter()
            .filter(|l| l.contains("/token"))
            .count(),
        2
    );
}

#[test]
fn errors_name_what_failed() {
    let host = FakeHost::new(token_registry);
    let c = client(
        &host,
        Credentials::Basic {
            username: "u".into(),
            password: "p".into(),
        },
    );
    let err = pollster::block_on(c.get_manifest("a/b", "nope", "reg.test/a/b")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "reading manifest nope in reg.test/a/b: manifest unknown"
    );
}

#[test]
fn basic_challenges_get_credentials_on_every_request() {
    let host = FakeHost::new(|req| {
        let ok = req
            .headers()
            .get("authorization")
            .map(|v| v.to_str().unwrap())
            == Some("Basic dTpw");
        match (req.uri().path(), ok) {
            (_, false) => response(401, &[("WWW-Authenticate", r#"Basic realm="R""#)], b""),
            ("/v2/", true) => response(200, &[], b""),
            _ => response(200, &[], br#"{"tags":["x"]}"#),
        }
    });
    let c = client(
        &host,
        Credentials::Basic {
            username: "u".into(),
            password: "p".into(),
        },
    );
    assert_eq!(pollster::block_on(c.list_tags("r")).unwrap(), ["x"]);
    pollster::block_on(c.check_auth()).unwrap();
    let wrong = client(
        &host,
        Credentials::Basic {
            username: "u".into(),
            password: "x".into(),
        },
    );
    let err = pollster::block_on(wrong.check_auth()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unable to retrieve auth token: invalid username/password: unauthorized: authentication required"
    );
}

#[test]
fn too_many_requests_are_retried_after_the_asked_delay() {
    let calls = Cell::new(0);
    let calls = std::rc::Rc::new(calls);
    let counter = calls.clone();
    let host = FakeHost::new(move |req| {
        if req.uri().path() == "/v2/" {
            return response(200, &[], b"");
        }
        counter.set(counter.get() + 1);
        if counter.get() < 3 {
            response(429, &[("Retry-After", "7")], b"")
        } else {
            response(200, &[], br#"{"tags":[]}"#)
        }
    });
    let c = client(&host, Credentials::Anonymous);
    assert!(pollster::block_on(c.list_tags("r")).unwrap().is_empty());
    assert_eq!(*host.slept.borrow(), [7, 7]);
}

#[test]
fn manifests_must_match_their_digest() {
    let host = FakeHost::new(|req| match req.uri().path() {
        "/v2/" => response(200, &[], b""),
        _ => response(
            200,
            &[(
                "Docker-Content-Digest",
                "sha256:0000000000000000000000000000000000000000000000000000000000000000",
            )],
            MANIFEST,
        ),
    });
    let c = client(&host, Credentials::Anonymous);
    let err = pollster::block_on(c.get_manifest("r", "latest", "reg.test/r")).unwrap_err();
    assert!(matches!(err, Error::Verification(_)), "{err}");
    assert!(err
        .to_string()
        .starts_with("manifest latest in reg.test/r does not match digest sha256:0000"));
}

#[test]
fn https_failure_falls_back_to_http_only_when_insecure() {
    let host = FakeHost::new(|req| {
        if req.uri().scheme_str() == Some("https") {
            response(400, &[], b"Client sent an HTTP request to an HTTPS server.")
        } else {
            response(200, &[], br#"{"tags":["a"]}"#)
        }
    });
    let c = client(&host, Credentials::Anonymous);
    let err = pollster::block_on(c.list_tags("r")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "pinging container registry reg.test: invalid status code from registry 400 (Bad Request)"
    );
    let insecure = RegistryClient::new(
        &host,
        RegistryConfig {
            registry: "reg.test".into(),
            insecure: true,
            ..Default::default()
        },
    );
    assert_eq!(pollster::block_on(insecure.list_tags("r")).unwrap(), ["a"]);
}

#[test]
fn insecure_registries_still_prefer_https_and_its_challenges() {
    let host = FakeHost::new(|req| match (req.uri().scheme_str(), req.uri().path()) {
        (Some("https"), "/v2/") => response(401, &[("www-authenticate", "Basic realm=x")], b""),
        (Some("https"), _) => response(200, &[], br#"{"tags":["secure"]}"#),
        _ => response(200, &[], br#"{"tags":["plain"]}"#),
    });
    let c = RegistryClient::new(
        &host,
        RegistryConfig {
            registry: "reg.test".into(),
            insecure: true,
            credentials: Credentials::Basic {
                username: "u".into(),
                password: "p".into(),
            },
            ..Default::default()
        },
    );
    assert_eq!(pollster::block_on(c.list_tags("r")).unwrap(), ["secure"]);
    assert_eq!(
        host.log.borrow().last().unwrap(),
        "GET https://reg.test/v2/r/tags/list [Basic dTpw]"
    );
}

/// An open repository `open` and one needing an anonymous bearer token, `private`.
fn anonymous_pull_registry(req: &Request<Vec<u8>>) -> Response<Vec<u8>> {
    let authorized = req.headers().get("authorization").is_some();
    let challenge = [(
        "WWW-Authenticate",
        r#"Bearer realm="https://auth.test/token",service="reg.test",scope="repository:private:pull""#,
    )];
    match req.uri().path() {
        "/token" => response(200, &[], br#"{"token":"A","expires_in":300}"#),
        "/v2/" | "/v2/private/tags/list" if !authorized => response(401, &challenge, b""),
        "/v2/" => response(200, &[], b"{}"),
        "/v2/open/tags/list" | "/v2/private/tags/list" => response(200, &[], br#"{"tags":["t"]}"#),
        _ => response(
            404,
            &[],
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#,
        ),
    }
}

#[test]
fn anonymous_clients_send_their_first_request_in_place_of_the_ping() {
    let host = FakeHost::new(anonymous_pull_registry);
    let c = client(&host, Credentials::Anonymous);
    assert_eq!(pollster::block_on(c.list_tags("open")).unwrap(), ["t"]);
    assert_eq!(pollster::block_on(c.list_tags("open")).unwrap(), ["t"]);
    assert_eq!(
        *host.log.borrow(),
        [
            "GET https://reg.test/v2/open/tags/list []",
            "GET https://reg.test/v2/open/tags/list []"
        ]
    );
    // A challenge met later is the one the ping would have found.
    assert_eq!(pollster::block_on(c.list_tags("private")).unwrap(), ["t"]);
    assert_eq!(
        host.log.borrow()[2..],
        [
            "GET https://reg.test/v2/private/tags/list []",
            "GET https://auth.test/token?scope=repository%3Aprivate%3Apull&service=reg.test []",
            "GET https://reg.test/v2/private/tags/list [Bearer A]"
        ]
    );
}

#[test]
fn an_anonymous_first_request_that_is_challenged_stands_for_the_ping() {
    let host = FakeHost::new(anonymous_pull_registry);
    let c = client(&host, Credentials::Anonymous);
    assert_eq!(pollster::block_on(c.list_tags("private")).unwrap(), ["t"]);
    assert_eq!(
        *host.log.borrow(),
        [
            "GET https://reg.test/v2/private/tags/list []",
            "GET https://auth.test/token?scope=repository%3Aprivate%3Apull&service=reg.test []",
            "GET https://reg.test/v2/private/tags/list [Bearer A]"
        ]
    );
}

#[test]
fn other_answers_to_an_anonymous_first_request_fall_back_to_the_ping() {
    let host = FakeHost::new(anonymous_pull_registry);
    let c = client(&host, Credentials::Anonymous);
    let err = pollster::block_on(c.get_manifest("open", "nope", "reg.test/open")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "reading manifest nope in reg.test/open: manifest unknown"
    );
    let log = host.log.borrow();
    assert_eq!(log[0], "GET https://reg.test/v2/open/manifests/nope []");
    assert_eq!(log[1], "GET https://reg.test/v2/ []", "{log:#?}");
    assert_eq!(
        log.last().unwrap(),
        "GET https://reg.test/v2/open/manifests/nope [Bearer A]"
    );
}

#[test]
fn clients_with_credentials_still_ping_first() {
    let host = FakeHost::new(anonymous_pull_registry);
    let c = client(
        &host,
        Credentials::Basic {
            username: "u".into(),
            password: "p".into(),
        },
    );
    assert_eq!(pollster::block_on(c.list_tags("open")).unwrap(), ["t"]);
    assert_eq!(host.log.borrow()[0], "GET https://reg.test/v2/ []");
}

#[test]
fn requests_started_together_share_one_ping_and_one_token() {
    let host = FakeHost::new(anonymous_pull_registry);
    host.yields.set(true);
    let c = client(
        &host,
        Credentials::Basic {
            username: "u".into(),
            password: "p".into(),
        },
    );
    let (a, b) = pollster::block_on(crate::concurrent::join(
        c.list_tags("open"),
        c.list_tags("open"),
    ));
    assert_eq!(
        (a.unwrap(), b.unwrap()),
        (vec!["t".into()], vec!["t".into()])
    );
    let log = host.log.borrow();
    let count = |part: &str| log.iter().filter(|l| l.contains(part)).count();
    assert_eq!((count("/v2/ "), count("/token?")), (1, 1), "{log:#?}");
    assert_eq!(count("/v2/open/tags/list"), 2, "{log:#?}");
}

#[test]
fn an_answer_over_https_keeps_insecure_registries_on_https() {
    // HTTPS works but lacks the tag; plain HTTP would answer. The speculation must not
    // settle on HTTP: the ping finds HTTPS, and the missing tag is reported from it.
    let host = FakeHost::new(|req| match (req.uri().scheme_str(), req.uri().path()) {
        (Some("https"), "/v2/") => response(200, &[], b"{}"),
        (Some("https"), _) => response(
            404,
            &[],
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#,
        ),
        _ => response(200, &[("Content-Type", mime::OCI_MANIFEST)], MANIFEST),
    });
    let c = RegistryClient::new(
        &host,
        RegistryConfig {
            registry: "reg.test".into(),
            insecure: true,
            ..Default::default()
        },
    );
    let err = pollster::block_on(c.get_manifest("r", "latest", "reg.test/r")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "reading manifest latest in reg.test/r: manifest unknown"
    );
    assert_eq!(
        host.log.borrow().last().unwrap(),
        "GET https://reg.test/v2/r/manifests/latest []"
    );
}

#[test]
fn a_cut_upload_goes_on_from_the_offset_its_session_reports() {
    const BLOB: &[u8] = b"hello, world";
    let host = FakeHost::new(|req| {
        let uri = req.uri().to_string();
        match (req.method().as_str(), req.uri().path()) {
            ("GET", "/v2/") => response(200, &[], b""),
            // The session holds the first five bytes.
            ("GET", "/v2/r/blobs/uploads/u") => response(
                204,
                &[
                    ("Range", "0-4"),
                    ("Location", "/v2/r/blobs/uploads/u?_state=5"),
                ],
                b"",
            ),
            ("PATCH", "/v2/r/blobs/uploads/u") => {
                assert!(uri.ends_with("_state=5"), "{uri}");
                assert_eq!(req.headers()["content-range"], "5-11");
                assert_eq!(req.body(), &BLOB[5..]);
                response(202, &[("Location", "/v2/r/blobs/uploads/u?_state=12")], b"")
            }
            ("PUT", "/v2/r/blobs/uploads/u") => response(201, &[], b""),
            _ => response(500, &[], b"unexpected"),
        }
    });
    let c = client(&host, Credentials::Anonymous);
    let digest = Digest::sha256_of(BLOB);
    let mut session =
        super::super::upload::UploadSession::Cut("/v2/r/blobs/uploads/u?_state=0".into());
    let mut stream = crate::destination::SliceStream::new(BLOB);
    let stored = pollster::block_on(c.upload_blob_resuming(
        "r",
        &mut stream,
        Some(&digest),
        Some(BLOB.len() as u64),
        &mut session,
    ))
    .unwrap();
    assert_eq!(stored.digest, digest);
    let log = host.log.borrow();
    assert!(log.iter().all(|l| !l.starts_with("POST")), "{log:#?}");
    assert!(
        log.iter().any(|l| l.starts_with("PUT")
            && l.contains(&format!(
                "digest={}",
                digest.to_string().replace(':', "%3A")
            ))),
        "{log:#?}"
    );
}

#[test]
fn a_session_that_cannot_say_where_it_stands_is_started_again() {
    let host = FakeHost::new(|req| match (req.method().as_str(), req.uri().path()) {
        ("GET", "/v2/") => response(200, &[], b""),
        ("GET", "/v2/r/blobs/uploads/old") => response(404, &[], b""),
        ("POST", "/v2/r/blobs/uploads/") => {
            response(202, &[("Location", "/v2/r/blobs/uploads/new")], b"")
        }
        ("PATCH", "/v2/r/blobs/uploads/new") => {
            assert!(req.headers().get("content-range").is_none());
            assert_eq!(req.body(), b"abc");
            response(202, &[("Location", "/v2/r/blobs/uploads/new")], b"")
        }
        ("PUT", "/v2/r/blobs/uploads/new") => response(201, &[], b""),
        _ => response(500, &[], b"unexpected"),
    });
    let c = client(&host, Credentials::Anonymous);
    let mut session = super::super::upload::UploadSession::Cut("/v2/r/blobs/uploads/old".into());
    let mut stream = crate::destination::SliceStream::new(b"abc");
    pollster::block_on(c.upload_blob_resuming("r", &mut stream, None, Some(3), &mut session))
        .unwrap();
    assert_eq!(session, super::super::upload::UploadSession::Fresh);
}
