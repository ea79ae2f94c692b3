//! The `HttpClient` and `Clock` effects over the browser's `fetch()` and timers. Headers a
//! page may not set, or that would force a CORS preflight for nothing, are left out.

use js_sys::{Array, Promise, Uint8Array};
use skopeo_core::effects::{Clock, EffectError, EffectErrorKind, HttpClient};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, RequestMode, Response};

/// HTTP through `window.fetch`. Remembers which origins answered 401, to explain a later
/// request the browser then refuses (an authenticated registry rejects CORS preflights).
#[derive(Default)]
pub struct BrowserHttp {
    unauthorized: std::cell::RefCell<Vec<String>>,
}

/// Request headers the browser host does not send: forbidden to pages, or not needed by
/// registries and costing a preflight.
const DROPPED: [&str; 2] = ["user-agent", "docker-distribution-api-version"];

/// Basic credentials with an empty user and password: what an anonymous client answers a
/// Basic challenge with. The page sends nothing instead, so the registry's refusal (401)
/// reaches it in words rather than as a failed preflight.
const EMPTY_BASIC: &str = "Basic Og==";

fn failure(what: &str, e: JsValue) -> EffectError {
    failure_because(
        what,
        e,
        "the registry is unreachable, or it does not allow this page through CORS",
    )
}

fn failure_because(what: &str, e: JsValue, why: &str) -> EffectError {
    let detail = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"));
    EffectError::new(EffectErrorKind::Other, format!("{what}: {detail} ({why})"))
}

/// `scheme://host[:port]` of a URL.
fn origin(uri: &http::Uri) -> String {
    format!(
        "{}://{}",
        uri.scheme_str().unwrap_or("https"),
        uri.authority().map(|a| a.as_str()).unwrap_or("")
    )
}

impl HttpClient for BrowserHttp {
    /// Pages read bodies whole (`arrayBuffer()`); the page never copies blobs.
    type Body = skopeo_core::effects::VecStream;

    async fn send_streamed_body<S: skopeo_core::effects::ByteStream>(
        &self,
        request: http::Request<()>,
        body: &mut S,
        _length: Option<u64>,
    ) -> Result<http::Response<Vec<u8>>, EffectError> {
        let bytes = skopeo_core::effects::read_all(body).await?;
        let (parts, ()) = request.into_parts();
        self.send(http::Request::from_parts(parts, bytes)).await
    }

    async fn send_streaming(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Self::Body>, EffectError> {
        let (parts, body) = self.send(request).await?.into_parts();
        Ok(http::Response::from_parts(
            parts,
            skopeo_core::effects::VecStream::new(body),
        ))
    }

    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, EffectError> {
        let url = request.uri().to_string();
        let what = format!("{} \"{url}\"", request.method());
        let init = RequestInit::new();
        init.set_method(request.method().as_str());
        init.set_mode(RequestMode::Cors);
        if !request.body().is_empty() {
            init.set_body(&Uint8Array::from(request.body().as_slice()).into());
        }
        let req = Request::new_with_str_and_init(&url, &init).map_err(|e| failure(&what, e))?;
        for (name, value) in request.headers() {
            if DROPPED.contains(&name.as_str()) {
                continue;
            }
            let value = value.to_str().unwrap_or_default();
            if name == http::header::AUTHORIZATION && value == EMPTY_BASIC {
                continue;
            }
            req.headers()
                .append(name.as_str(), value)
                .map_err(|e| failure(&what, e))?;
        }
        let window = web_sys::window().ok_or_else(|| failure(&what, "no window".into()))?;
        let origin = origin(request.uri());
        let response: Response = match JsFuture::from(window.fetch_with_request(&req)).await {
            Ok(r) => r.unchecked_into(),
            Err(e) if self.unauthorized.borrow().contains(&origin) => {
                return Err(failure_because(
                    &what,
                    e,
                    "the registry answered 401 Unauthorized: it requires authentication, which it does not let this page send through CORS",
                ))
            }
            Err(e) => return Err(failure(&what, e)),
        };
        if response.status() == 401 {
            self.unauthorized.borrow_mut().push(origin);
        }
        let mut builder = http::Response::builder().status(response.status());
        if let Ok(Some(entries)) = js_sys::try_iter(&response.headers()) {
            for entry in entries.flatten() {
                let pair: Array = entry.unchecked_into();
                if let (Some(k), Some(v)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
                    builder = builder.header(k, v);
                }
            }
        }
        let body = if request.method() == http::Method::HEAD {
            Vec::new()
        } else {
            let buffer = response.array_buffer().map_err(|e| failure(&what, e))?;
            let buffer = JsFuture::from(buffer)
                .await
                .map_err(|e| failure(&what, e))?;
            Uint8Array::new(&buffer).to_vec()
        };
        builder
            .body(body)
            .map_err(|e| EffectError::new(EffectErrorKind::Other, format!("{what}: {e}")))
    }
}

impl Clock for BrowserHttp {
    fn now_unix(&self) -> i64 {
        (js_sys::Date::now() / 1000.0) as i64
    }

    async fn sleep(&self, seconds: u64) {
        let promise = Promise::new(&mut |resolve, _| {
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                    &resolve,
                    (seconds * 1000) as i32,
                );
            }
        });
        let _ = JsFuture::from(promise).await;
    }
}
