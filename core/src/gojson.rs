//! JSON text exactly as Go's `encoding/json` writes it, so output is byte-identical to skopeo.
//!
//! Go escapes `<`, `>`, `&`, U+2028 and U+2029 as `\u00XX`/`\u20XX`, and writes control
//! characters other than `\n`, `\r`, `\t` as `\u00XX`. `MarshalIndent` uses `"key": value`.

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, PrettyFormatter};
use std::io;

/// A serde_json formatter that escapes strings the way Go does.
struct GoFormatter<F> {
    inner: F,
    escape_html: bool,
}

impl<F: Formatter> Formatter for GoFormatter<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let esc = match c {
                '<' | '>' | '&' if self.escape_html => Some(c as u32),
                '\u{2028}' | '\u{2029}' => Some(c as u32),
                _ => None,
            };
            if let Some(code) = esc {
                w.write_all(&fragment.as_bytes()[start..i])?;
                write!(w, "\\u{code:04x}")?;
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        let s: &[u8] = match escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"/",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::Backspace => b"\\u0008",
            CharEscape::FormFeed => b"\\u000c",
            CharEscape::AsciiControl(b) => return write!(w, "\\u{b:04x}"),
        };
        w.write_all(s)
    }

    // Structure is delegated to the inner (compact or pretty) formatter.
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.inner.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.inner.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object_value(w)
    }
}

/// Go's `json.MarshalIndent(v, "", "    ")`.
pub fn to_indented<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    let fmt = GoFormatter {
        inner: PrettyFormatter::with_indent(b"    "),
        escape_html: true,
    };
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    value
        .serialize(&mut ser)
        .expect("serialising to memory cannot fail");
    out
}

/// Go's `json.Marshal(v)` (compact, HTML-escaped).
pub fn to_compact<T: Serialize + ?Sized>(value: &T, escape_html: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let fmt = GoFormatter {
        inner: serde_json::ser::CompactFormatter,
        escape_html,
    };
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    value
        .serialize(&mut ser)
        .expect("serialising to memory cannot fail");
    out
}

/// Go's `json.Compact` with HTML escaping, as `json.Marshal` applies it to a `json.RawMessage`:
/// whitespace between tokens is dropped and `<`, `>`, `&`, U+2028, U+2029 inside strings are
/// escaped. The input must already be valid JSON.
pub fn compact_raw(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            match c {
                '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                    continue;
                }
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

/// Go's `%q` for a string (`strconv.Quote`): double quotes, with backslash escapes for quotes,
/// backslashes and control characters.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's wording for the common JSON decoding failures (serde's otherwise).
pub fn json_error_text(body: &[u8], e: &serde_json::Error) -> String {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => "unexpected end of JSON input".into(),
        Some(&b) if !b"{[\"-0123456789tfn".contains(&b) => {
            format!(
                "invalid character {} looking for beginning of value",
                go_char(b)
            )
        }
        _ => e.to_string(),
    }
}

/// Go's `%q`-style quoting of one byte as a rune literal.
fn go_char(b: u8) -> String {
    match b {
        b'\'' => r"'\''".into(),
        b'\\' => r"'\\'".into(),
        0x20..=0x7e => format!("'{}'", b as char),
        _ => format!("'\\x{b:02x}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_go() {
        let v = serde_json::json!({"a": "<b>&\u{8}\u{c}\u{1}\n\u{2028}é", "e": [], "o": {}});
        assert_eq!(
            String::from_utf8(to_compact(&v, true)).unwrap(),
            r#"{"a":"\u003cb\u003e\u0026\u0008\u000c\u0001\n\u2028é","e":[],"o":{}}"#
        );
        let v = serde_json::json!({"k": [1, 2], "e": []});
        assert_eq!(
            String::from_utf8(to_indented(&v)).unwrap(),
            "{\n    \"e\": [],\n    \"k\": [\n        1,\n        2\n    ]\n}"
        );
    }

    #[test]
    fn compacts_raw_messages_like_go() {
        let raw = "{ \"a\" : [1, 2],\n\t\"b\": \"x <y> & \\\" z\" }";
        assert_eq!(
            compact_raw(raw),
            r#"{"a":[1,2],"b":"x \u003cy\u003e \u0026 \" z"}"#
        );
    }

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote("a\"b\\c\n\u{1}"), r#""a\"b\\c\n\x01""#);
    }
}
