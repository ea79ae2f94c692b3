//! The docker reference grammar, hand-written from distribution's regular expressions so the
//! core carries no regex engine (it also ships to the browser, where size matters).
//!
//! ```text
//! reference       := name [ ":" tag ] [ "@" digest ]
//! name            := [domain "/"] path-component ["/" path-component]*
//! domain          := domain-component ["." domain-component]* [":" port-number]
//! domain-component:= /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//! path-component  := alpha-numeric [separator alpha-numeric]*
//! alpha-numeric   := /[a-z0-9]+/
//! separator       := /[_.]|__|[-]*/
//! tag             := /[\w][\w.-]{0,127}/
//! digest          := algorithm ":" hex   (algorithm /[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*/, hex ≥ 32 xdigits)
//! ```

/// Whether `s` is one domain component.
fn is_domain_component(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

/// Whether `s` matches the domain rule (host components and an optional numeric port).
pub fn is_domain(s: &str) -> bool {
    let (host, port) = match s.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    if let Some(port) = port {
        if port.is_empty() || !port.bytes().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    host.split('.').all(is_domain_component)
}

/// Whether `s` is one path component: lowercase alphanumerics joined by `.`, `_`, `__` or dashes.
pub fn is_path_component(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !is_alnum_lower(b[0]) || !is_alnum_lower(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum_lower(b[i]) {
            i += 1;
            continue;
        }
        // A separator run: exactly one of ".", "_", "__", or any number of "-".
        let start = i;
        while i < b.len() && !is_alnum_lower(b[i]) {
            i += 1;
        }
        let sep = &s[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum_lower(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// Whether `s` is a valid path (one or more path components joined by `/`).
pub fn is_path(s: &str) -> bool {
    s.split('/').all(is_path_component)
}

/// Splits a full name into `(domain, path)` as the anchored name expression does: the first
/// component is a domain when it matches the domain rule and a path follows. Returns `None`
/// if `s` is not a valid name.
pub fn split_name(s: &str) -> Option<(&str, &str)> {
    if let Some((first, rest)) = s.split_once('/') {
        if is_domain(first) && is_path(rest) {
            return Some((first, rest));
        }
    }
    is_path(s).then_some(("", s))
}

/// Whether `s` is a valid tag.
pub fn is_tag(s: &str) -> bool {
    let b = s.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b[1..].iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

/// Whether `s` has the shape of a digest in a reference (`algorithm:hex`, hex of 32+ digits).
pub fn is_reference_digest(s: &str) -> bool {
    let Some((alg, hex)) = s.split_once(':') else {
        return false;
    };
    let alg_ok = {
        let mut parts = alg.split(['-', '_', '+', '.']);
        parts.all(|p| {
            let b = p.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphabetic()
                && b.iter().all(|c| c.is_ascii_alphanumeric())
        })
    };
    alg_ok && hex.len() >= 32 && hex.bytes().all(|c| c.is_ascii_hexdigit())
}

/// The capture groups of the full reference expression: `(name, tag, digest)`, empty strings
/// for absent parts; `None` when `s` does not match.
pub fn split_reference(s: &str) -> Option<(&str, &str, &str)> {
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, d),
        None => (s, ""),
    };
    if s.contains('@') && !is_reference_digest(digest) {
        return None;
    }
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], &rest[last_slash + i + 1..]),
        None => (rest, ""),
    };
    if rest.len() != name.len() && !is_tag(tag) {
        return None;
    }
    split_name(name)?;
    Some((name, tag, digest))
}

/// Whether `s` is a 64-character lowercase hex identifier (an image ID).
pub fn is_identifier(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// Go's `path.Match`: `*` and `?` (not matching `/`), `[...]` classes with ranges and `^`,
/// and `\` escapes. A malformed pattern matches nothing.
pub fn path_match(pattern: &str, name: &str) -> bool {
    fn class_matches(class: &[char], c: char) -> Option<(bool, usize)> {
        // Returns (matched, chars consumed including the closing ']').
        let mut i = 0;
        let negate = class.first() == Some(&'^');
        if negate {
            i += 1;
        }
        let mut matched = false;
        let mut first = true;
        loop {
            let ch = *class.get(i)?;
            if ch == ']' && !first {
                return Some((matched != negate, i + 1));
            }
            first = false;
            let (lo, next) = escaped(class, i)?;
            i = next;
            let hi = if class.get(i) == Some(&'-') && class.get(i + 1) != Some(&']') {
                let (hi, next) = escaped(class, i + 1)?;
                i = next;
                hi
            } else {
                lo
            };
            if lo <= c && c <= hi {
                matched = true;
            }
        }
    }
    fn escaped(p: &[char], i: usize) -> Option<(char, usize)> {
        match p.get(i)? {
            '\\' => Some((*p.get(i + 1)?, i + 2)),
            c => Some((*c, i + 1)),
        }
    }
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len())
                .take_while(|&k| k == 0 || n[k - 1] != '/')
                .any(|k| go(&p[1..], &n[k..])),
            Some('?') => !n.is_empty() && n[0] != '/' && go(&p[1..], &n[1..]),
            Some('[') => match n.first() {
                Some(&c) if c != '/' => match class_matches(&p[1..], c) {
                    Some((true, used)) => go(&p[1 + used..], &n[1..]),
                    _ => false,
                },
                _ => false,
            },
            Some(_) => match escaped(p, 0) {
                Some((c, used)) => n.first() == Some(&c) && go(&p[used..], &n[1..]),
                None => false,
            },
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components() {
        assert!(is_path_component("a--b"));
        assert!(is_path_component("dock__er"));
        assert!(!is_path_component("dock___er"));
        assert!(!is_path_component("dock._er"));
        assert!(!is_path_component("-a"));
        assert!(is_domain("localhost:5000"));
        assert!(!is_domain("localhost:http"));
        assert!(is_domain("Asdf.com"));
        assert!(!is_domain("-ab.com"));
    }

    #[test]
    fn glob() {
        assert!(path_match("foo/*/baz", "foo/c/baz"));
        assert!(!path_match("foo/*", "foo/a/b"));
        assert!(path_match("ba[rz]", "baz"));
        assert!(!path_match("ba[^rz]", "baz"));
        assert!(path_match("a?c", "abc"));
    }
}
