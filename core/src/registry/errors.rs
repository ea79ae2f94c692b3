//! The distribution spec's error bodies (`{"errors":[{code,message,detail}]}`) and the
//! `WWW-Authenticate` error parameters, turned into the messages docker's client library
//! prints (`manifest unknown: manifest unknown`).

use super::challenge::parse_challenges;
use crate::gojson::go_quote;
use serde::Deserialize;

/// The error codes the distribution registry defines: (code, default message).
const KNOWN_CODES: &[(&str, &str)] = &[
    ("UNKNOWN", "unknown error"),
    ("UNSUPPORTED", "The operation is unsupported."),
    ("UNAUTHORIZED", "authentication required"),
    ("DENIED", "requested access to the resource is denied"),
    ("UNAVAILABLE", "service unavailable"),
    ("TOOMANYREQUESTS", "too many requests"),
    (
        "DIGEST_INVALID",
        "provided digest did not match uploaded content",
    ),
    (
        "SIZE_INVALID",
        "provided length did not match content length",
    ),
    ("NAME_INVALID", "invalid repository name"),
    ("TAG_INVALID", "manifest tag did not match URI"),
    ("NAME_UNKNOWN", "repository name not known to registry"),
    ("MANIFEST_UNKNOWN", "manifest unknown"),
    ("MANIFEST_INVALID", "manifest invalid"),
    (
        "MANIFEST_UNVERIFIED",
        "manifest failed signature verification",
    ),
    ("MANIFEST_BLOB_UNKNOWN", "blob unknown to registry"),
    ("BLOB_UNKNOWN", "blob unknown to registry"),
    ("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry"),
    ("BLOB_UPLOAD_INVALID", "blob upload invalid"),
    (
        "PAGINATION_NUMBER_INVALID",
        "invalid number of results requested",
    ),
    ("RANGE_INVALID", "invalid content range"),
];

/// One error from a registry: its (known) code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryError {
    /// The upper-case code (`MANIFEST_UNKNOWN`); `UNKNOWN` for codes the spec does not define.
    pub code: String,
    pub message: String,
    /// Printed as the bare code (docker does so for entries with no detail and no message of
    /// their own).
    pub bare: bool,
}

impl RegistryError {
    fn new(code: &str, message: Option<&str>) -> Self {
        let (code, default) = KNOWN_CODES
            .iter()
            .find(|(c, _)| *c == code)
            .copied()
            .unwrap_or(KNOWN_CODES[0]);
        let message = match message {
            Some(m) if !m.is_empty() => m,
            _ => default,
        };
        RegistryError {
            code: code.into(),
            message: message.into(),
            bare: false,
        }
    }
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = self.code.replace('_', " ").to_lowercase();
        if self.bare {
            return f.write_str(&code);
        }
        write!(f, "{code}: {}", self.message)
    }
}

#[derive(Deserialize)]
struct ErrorEntry {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    detail: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ErrorBody {
    errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
struct LegacyBody {
    #[serde(default)]
    details: String,
}

/// Joins several errors as docker's `errcode.Errors` prints them.
fn join(errors: &[RegistryError]) -> String {
    match errors {
        [] => "<nil>".into(),
        [one] => one.to_string(),
        many => {
            let mut s = String::from("errors:\n");
            for e in many {
                s.push_str(&e.to_string());
                s.push('\n');
            }
            s
        }
    }
}

/// The errors a 4xx response carries, parsed from the body (and from bearer `error=`
/// parameters of its challenges), as text. `None` when the body is not an error document.
fn body_errors(status: u16, body: &[u8]) -> Result<Vec<RegistryError>, String> {
    if let Ok(legacy) = serde_json::from_slice::<LegacyBody>(body) {
        if !legacy.details.is_empty() {
            let code = match status {
                401 => "UNAUTHORIZED",
                429 => "TOOMANYREQUESTS",
                _ => "UNKNOWN",
            };
            return Ok(vec![RegistryError::new(code, Some(&legacy.details))]);
        }
    }
    let unparsed = |why: String| {
        format!(
            "error parsing HTTP {status} response body: {why}: {}",
            go_quote(&String::from_utf8_lossy(body))
        )
    };
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) if !b.errors.is_empty() => Ok(b
            .errors
            .iter()
            .map(|e| {
                let mut err = RegistryError::new(&e.code, Some(&e.message));
                let default = KNOWN_CODES
                    .iter()
                    .find(|(c, _)| *c == err.code)
                    .map(|(_, m)| *m);
                let has_detail = e.detail.as_ref().is_some_and(|d| !d.is_null());
                err.bare =
                    !has_detail && (e.message.is_empty() || Some(e.message.as_str()) == default);
                err
            })
            .collect()),
        Ok(_) => Err(unparsed(
            "no error details found in HTTP response body".into(),
        )),
        Err(e) => Err(unparsed(crate::gojson::json_error_text(body, &e))),
    }
}

/// The message for a failed manifest request, as containers/image's
/// `registryHTTPResponseToError` words it: bodies that are not error documents are shown
/// (shortened) as `StatusCode: N, body`.
pub fn manifest_response_error(
    status: u16,
    status_line: &str,
    www_authenticate: &[&str],
    body: &[u8],
) -> String {
    if (400..500).contains(&status) && status != 401 && body_errors(status, body).is_err() {
        let text = String::from_utf8_lossy(body);
        let shown: String = if body.len() > 50 {
            String::from_utf8_lossy(&body[..50]).into_owned() + "..."
        } else {
            text.into_owned()
        };
        return format!("StatusCode: {status}, {shown}");
    }
    response_error(status, status_line, www_authenticate, body)
}

/// The message for a failed response, as containers/image's `handleErrorResponse` words it.
/// `status_line` is e.g. `500 Internal Server Error`.
pub fn response_error(
    status: u16,
    status_line: &str,
    www_authenticate: &[&str],
    body: &[u8],
) -> String {
    if !(400..500).contains(&status) {
        return format!("received unexpected HTTP status: {status_line}");
    }
    let challenges = if status == 401 {
        parse_challenges(www_authenticate.iter().copied())
    } else {
        Vec::new()
    };
    for c in challenges {
        if c.scheme != "bearer" {
            continue;
        }
        let code = match c.param("error") {
            Some("invalid_token") => "UNAUTHORIZED",
            Some("insufficient_scope") => "DENIED",
            _ => continue,
        };
        let mut all = vec![RegistryError::new(code, c.param("error_description"))];
        match body_errors(status, body) {
            Ok(more) => all.extend(more),
            Err(text) => {
                return join(&all) + "\n" + &text;
            }
        }
        return join(&all);
    }
    match body_errors(status, body) {
        Ok(errors) => join(&errors),
        Err(_) if status == 401 => {
            // The body is kept as the error's detail, which docker does not print.
            RegistryError::new("UNAUTHORIZED", None).to_string()
        }
        Err(text) => text,
    }
}

/// Error codes after which trying again cannot help.
const FINAL_CODES: [&str; 4] = ["UNAUTHORIZED", "DENIED", "NAME_UNKNOWN", "MANIFEST_UNKNOWN"];

/// Whether a failed manifest response is worth retrying: only when it carried error codes
/// (from the body or a bearer challenge) and none of them is final, as containers/common
/// decides. Bodies that are not error documents and non-4xx statuses are not retried.
pub fn manifest_error_retryable(status: u16, www_authenticate: &[&str], body: &[u8]) -> bool {
    if !(400..500).contains(&status) {
        return false;
    }
    let mut codes: Vec<String> = Vec::new();
    if status == 401 {
        for c in parse_challenges(www_authenticate.iter().copied()) {
            match (c.scheme.as_str(), c.param("error")) {
                ("bearer", Some("invalid_token")) => codes.push("UNAUTHORIZED".into()),
                ("bearer", Some("insufficient_scope")) => codes.push("DENIED".into()),
                _ => continue,
            }
            break;
        }
    }
    match body_errors(status, body) {
        Ok(errors) => codes.extend(errors.into_iter().map(|e| e.code)),
        Err(_) => return false,
    }
    !codes.is_empty() && codes.iter().all(|c| !FINAL_CODES.contains(&c.as_str()))
}

/// The standard reason phrase for a status (Go's `http.StatusText`).
pub fn status_text(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_spec_errors() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#;
        assert_eq!(
            response_error(404, "404 Not Found", &[], body),
            "manifest unknown: manifest unknown"
        );
        let body = br#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry","detail":{}},{"code":"WHATEVER","message":"odd"}]}"#;
        assert_eq!(
            response_error(404, "404 Not Found", &[], body),
            "errors:\nname unknown: repository name not known to registry\nunknown: odd\n"
        );
    }

    #[test]
    fn unauthorized_without_body_and_bearer_errors() {
        assert_eq!(
            response_error(401, "401 Unauthorized", &[], b"nope"),
            "unauthorized: authentication required"
        );
        let ch = [r#"Bearer realm="x",error="insufficient_scope""#];
        assert!(!manifest_error_retryable(
            404,
            &[],
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"x"}]}"#
        ));
        assert!(manifest_error_retryable(
            400,
            &[],
            br#"{"errors":[{"code":"WEIRD","message":"x"}]}"#
        ));
        assert!(!manifest_error_retryable(404, &[], b"not json"));
        assert!(!manifest_error_retryable(
            500,
            &[],
            br#"{"errors":[{"code":"UNKNOWN"}]}"#
        ));
        let body = br#"{"errors":[{"code":"DENIED","message":"no"}]}"#;
        assert_eq!(
            response_error(401, "401 Unauthorized", &ch, body),
            "errors:\ndenied: requested access to the resource is denied\ndenied: no\n"
        );
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#;
        assert_eq!(
            response_error(404, "404 Not Found", &[], body),
            "manifest unknown"
        );
        assert_eq!(
            manifest_response_error(404, "404 Not Found", &[], &[b'x'; 80]),
            format!("StatusCode: 404, {}...", "x".repeat(50))
        );
        assert_eq!(
            response_error(503, "503 Service Unavailable", &[], b""),
            "received unexpected HTTP status: 503 Service Unavailable"
        );
        assert_eq!(
            response_error(404, "404 Not Found", &[], b"<html>"),
            "error parsing HTTP 404 response body: invalid character '<' looking for beginning of value: \"<html>\""
        );
    }
}
