//! `WWW-Authenticate` challenges (RFC 7235): a scheme and its parameters, several challenges
//! per header or across headers, quoted strings with backslash escapes.

use std::collections::BTreeMap;

/// One authentication challenge, e.g. `Bearer realm="…",service="…",scope="…"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme, lower-cased (`basic`, `bearer`).
    pub scheme: String,
    /// Parameters by lower-cased name.
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    /// A parameter's value, if present.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/:".contains(&c)
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn skip_spaces(&mut self) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t') {
            self.pos += 1;
        }
    }

    fn skip_separators(&mut self) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b',') {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn token(&mut self) -> Option<String> {
        let start = self.pos;
        while self.pos < self.s.len() && is_token_char(self.s[self.pos]) {
            self.pos += 1;
        }
        (self.pos > start).then(|| String::from_utf8_lossy(&self.s[start..self.pos]).into_owned())
    }

    fn quoted(&mut self) -> String {
        let mut out = Vec::new();
        self.pos += 1; // opening quote
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    if let Some(escaped) = self.peek() {
                        out.push(escaped);
                        self.pos += 1;
                    }
                }
                c => out.push(c),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn value(&mut self) -> String {
        if self.peek() == Some(b'"') {
            self.quoted()
        } else {
            // Token (allowing `=` padding, as in token68 values).
            let start = self.pos;
            while self.pos < self.s.len()
                && (is_token_char(self.s[self.pos]) || self.s[self.pos] == b'=')
            {
                self.pos += 1;
            }
            String::from_utf8_lossy(&self.s[start..self.pos]).into_owned()
        }
    }
}

/// Parses every challenge in the given `WWW-Authenticate` header values.
pub fn parse_challenges<'a>(headers: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    let mut out = Vec::new();
    for header in headers {
        let mut c = Cursor {
            s: header.as_bytes(),
            pos: 0,
        };
        loop {
            c.skip_separators();
            let Some(scheme) = c.token() else { break };
            let mut challenge = Challenge {
                scheme: scheme.to_ascii_lowercase(),
                params: BTreeMap::new(),
            };
            loop {
                c.skip_spaces();
                let before = c.pos;
                let Some(name) = c.token() else { break };
                c.skip_spaces();
                if c.peek() != Some(b'=') {
                    c.pos = before; // the next challenge's scheme
                    break;
                }
                c.pos += 1;
                c.skip_spaces();
                let value = c.value();
                challenge.params.insert(name.to_ascii_lowercase(), value);
                c.skip_spaces();
                if c.peek() == Some(b',') {
                    c.pos += 1;
                } else {
                    break;
                }
            }
            out.push(challenge);
            if c.pos >= c.s.len() {
                break;
            }
            // Anything unparseable: skip one byte and carry on.
            if c.peek()
                .is_some_and(|b| !is_token_char(b) && !matches!(b, b' ' | b'\t' | b','))
            {
                c.pos += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(c: &Challenge) -> Vec<(&str, &str)> {
        c.params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn bearer_with_quoted_params() {
        let c = parse_challenges([
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        ]);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(
            params(&c[0]),
            [
                ("realm", "https://auth.example/token"),
                ("scope", "repository:a/b:pull,push"),
                ("service", "registry.example")
            ]
        );
    }

    #[test]
    fn several_challenges_and_escapes() {
        let c = parse_challenges([
            r#"Basic realm="Registry \"R\"" , Bearer realm=https://t/x, service="s""#,
            "Negotiate",
        ]);
        let schemes: Vec<_> = c.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["basic", "bearer", "negotiate"]);
        assert_eq!(c[0].param("realm"), Some(r#"Registry "R""#));
        assert_eq!(c[1].param("realm"), Some("https://t/x"));
        assert_eq!(c[1].param("service"), Some("s"));
        assert!(c[2].params.is_empty());
    }

    #[test]
    fn case_insensitive_names() {
        let c = parse_challenges([r#"BASIC Realm="x""#]);
        assert_eq!(c[0].scheme, "basic");
        assert_eq!(c[0].param("realm"), Some("x"));
        assert!(parse_challenges([""]).is_empty());
    }
}
