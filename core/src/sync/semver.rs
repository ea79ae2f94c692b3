//! Versions and constraints with the rules of the Masterminds semver v3 library, which
//! skopeo's `images-by-semver` uses: loose versions (`v` prefix, missing parts are zero,
//! `3.12` is 3.12.0), constraints with `||`, comma- or space-separated terms, hyphen ranges,
//! `x`/`X`/`*` wildcards, `~`, `^`, and pre-releases matching only a group that names one.

use crate::gojson::go_quote;
use regex::Regex;
use std::cmp::Ordering;
use std::sync::OnceLock;

/// A version as the library's loose parser reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
}

/// Go's `\s`: ASCII white space only.
const WS: &str = r"[\t\n\f\r ]";
/// A constraint's version, wildcards allowed (the `|` in the class is the library's).
const CV: &str = r"v?([0-9|xX*]+)(\.[0-9|xX*]+)?(\.[0-9|xX*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
/// The operators, in the library's order (the match is leftmost-first).
const OP: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

fn version_regex() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$")
            .expect("version pattern")
    })
}

impl Version {
    /// Parses a version (a tag) loosely; `None` when it is not one.
    pub fn parse(text: &str) -> Option<Version> {
        if text.len() > 256 {
            return None;
        }
        let caps = version_regex().captures(text)?;
        let part = |i: usize| -> Option<u64> {
            match caps.get(i) {
                Some(m) => m.as_str().trim_start_matches('.').parse().ok(),
                None => Some(0),
            }
        };
        let (major, minor, patch) = (part(1)?, part(2)?, part(3)?);
        let pre = caps.get(5).map_or("", |m| m.as_str()).to_owned();
        let leading_zero = |id: &str| {
            id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit())
        };
        if !pre.is_empty() && pre.split('.').any(leading_zero) {
            return None;
        }
        Some(Version {
            major,
            minor,
            patch,
            pre,
        })
    }

    fn is_zero(&self) -> bool {
        self.major == 0 && self.minor == 0 && self.patch == 0
    }
}

/// Semver precedence of two pre-release strings ("" is a release, after any pre-release
/// when the numbers are equal; that case is handled by the caller).
fn compare_pre(a: &str, b: &str) -> Ordering {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (
            a.get(i).copied().unwrap_or(""),
            b.get(i).copied().unwrap_or(""),
        );
        if x == y {
            continue;
        }
        if x.is_empty() {
            return Ordering::Less;
        }
        if y.is_empty() {
            return Ordering::Greater;
        }
        let numeric = |s: &str| {
            s.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| s.parse::<u64>().ok())
                .flatten()
        };
        return match (numeric(x), numeric(y)) {
            (None, None) => x.cmp(y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(m), Some(n)) => m.cmp(&n),
        };
    }
    Ordering::Equal
}

impl Ord for Version {
    fn cmp(&self, o: &Self) -> Ordering {
        let numbers = (self.major, self.minor, self.patch).cmp(&(o.major, o.minor, o.patch));
        if numbers != Ordering::Equal {
            return numbers;
        }
        match (self.pre.is_empty(), o.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => compare_pre(&self.pre, &o.pre),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    EqualOrTilde,
    NotEqual,
    Greater,
    Less,
    GreaterOrEqual,
    LessOrEqual,
    Tilde,
    Caret,
}

/// One term: an operator and the version it compares with.
#[derive(Debug, Clone)]
struct Term {
    op: Op,
    con: Version,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

/// A compiled constraint: groups joined by `||`, each a conjunction of terms.
#[derive(Debug, Clone)]
pub struct Constraint {
    groups: Vec<(Vec<Term>, bool)>,
}

struct Patterns {
    range: Regex,
    group: Regex,
    token: Regex,
    term: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let cv_plain = CV.replace('(', "(?:");
        let build = |p: String| Regex::new(&p).expect("constraint pattern");
        Patterns {
            range: build(format!(r"{WS}*({cv_plain}){WS}+-{WS}+({cv_plain}){WS}*")),
            group: build(format!(
                r"^(?:{WS}*(?:{OP}){WS}*(?:{cv_plain}){WS}*)(?:(?:{WS}+|,{WS}*)(?:{OP}){WS}*(?:{cv_plain}){WS}*)*$"
            )),
            token: build(format!(r"(?:{OP}){WS}*(?:{cv_plain})")),
            term: build(format!(r"^{WS}*({OP}){WS}*({CV}){WS}*$")),
        }
    })
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn parse_term(text: &str) -> Result<Term, String> {
    let parser_error = || "constraint parser error".to_owned();
    let caps = patterns().term.captures(text).ok_or_else(parser_error)?;
    let op = match &caps[1] {
        "" | "=" => Op::EqualOrTilde,
        "!=" => Op::NotEqual,
        ">" => Op::Greater,
        "<" => Op::Less,
        ">=" | "=>" => Op::GreaterOrEqual,
        "<=" | "=<" => Op::LessOrEqual,
        "~" | "~>" => Op::Tilde,
        _ => Op::Caret,
    };
    let group = |i: usize| caps.get(i).map_or("", |m| m.as_str());
    let (major, minor, patch, pre) = (group(3), group(4), group(5), group(6));
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let version = if is_x(major) {
        dirty = true;
        format!("0.0.0{pre}")
    } else if minor.is_empty() || is_x(&minor[1..]) {
        (dirty, minor_dirty) = (true, true);
        format!("{major}.0.0{pre}")
    } else if patch.is_empty() || is_x(&patch[1..]) {
        (dirty, patch_dirty) = (true, true);
        format!("{major}{minor}.0{pre}")
    } else {
        group(2).to_owned()
    };
    let con = Version::parse(&version).ok_or_else(parser_error)?;
    Ok(Term {
        op,
        con,
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

impl Constraint {
    /// Compiles a constraint; errors in the library's words.
    pub fn parse(text: &str) -> Result<Constraint, String> {
        if text.len() > 512 {
            return Err("constraint string is too long (max 512 bytes)".into());
        }
        let p = patterns();
        let mut rewritten = text.to_owned();
        for caps in p.range.captures_iter(text) {
            let replacement = format!(">= {}, <= {} ", &caps[1], &caps[2]);
            rewritten = rewritten.replacen(&caps[0], &replacement, 1);
        }
        let pieces: Vec<&str> = rewritten.split("||").collect();
        if pieces.len() > 32 {
            return Err("too many constraint groups (max 32)".into());
        }
        let mut groups = Vec::new();
        for piece in pieces {
            if !p.group.is_match(piece) {
                return Err(format!("improper constraint: {}", go_quote(piece)));
            }
            let terms = p
                .token
                .find_iter(piece)
                .map(|m| parse_term(m.as_str()))
                .collect::<Result<Vec<_>, _>>()?;
            let has_pre = terms.iter().any(|t| !t.con.pre.is_empty());
            groups.push((terms, has_pre));
        }
        Ok(Constraint { groups })
    }

    /// Whether `v` satisfies the constraint.
    pub fn matches(&self, v: &Version) -> bool {
        self.groups.iter().any(|(terms, has_pre)| {
            (v.pre.is_empty() || *has_pre) && terms.iter().all(|t| t.check(v))
        })
    }
}

impl Term {
    fn check(&self, v: &Version) -> bool {
        let c = &self.con;
        let cmp = v.cmp(c);
        match self.op {
            Op::EqualOrTilde if self.dirty => self.tilde(v, cmp),
            Op::EqualOrTilde => cmp == Ordering::Equal,
            Op::NotEqual => self.not_equal(v, cmp),
            Op::Greater if self.dirty => match v.major.cmp(&c.major) {
                Ordering::Greater => true,
                Ordering::Less => false,
                Ordering::Equal if self.minor_dirty => false,
                Ordering::Equal if self.patch_dirty => v.minor > c.minor,
                Ordering::Equal => cmp == Ordering::Greater,
            },
            Op::Greater => cmp == Ordering::Greater,
            Op::Less => cmp == Ordering::Less,
            Op::GreaterOrEqual => cmp != Ordering::Less,
            Op::LessOrEqual if self.dirty => {
                !(v.major > c.major
                    || (v.major == c.major && v.minor > c.minor && !self.minor_dirty))
            }
            Op::LessOrEqual => cmp != Ordering::Greater,
            Op::Tilde => self.tilde(v, cmp),
            Op::Caret => self.caret(v, cmp),
        }
    }

    fn tilde(&self, v: &Version, cmp: Ordering) -> bool {
        let c = &self.con;
        if cmp == Ordering::Less {
            return false;
        }
        if c.is_zero() && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        v.major == c.major && (v.minor == c.minor || self.minor_dirty)
    }

    fn caret(&self, v: &Version, cmp: Ordering) -> bool {
        let c = &self.con;
        if cmp == Ordering::Less {
            return false;
        }
        if c.major > 0 || self.minor_dirty {
            return v.major == c.major;
        }
        if v.major > 0 {
            return false;
        }
        if c.minor > 0 || self.patch_dirty {
            return v.minor == c.minor;
        }
        if v.minor > 0 {
            return false;
        }
        v.patch == c.patch
    }

    fn not_equal(&self, v: &Version, cmp: Ordering) -> bool {
        let c = &self.con;
        if self.dirty {
            if c.major != v.major {
                return true;
            }
            if c.minor != v.minor && !self.minor_dirty {
                return true;
            } else if self.minor_dirty {
                return false;
            } else if c.patch != v.patch && !self.patch_dirty {
                return true;
            } else if self.patch_dirty {
                if !v.pre.is_empty() || !c.pre.is_empty() {
                    return compare_pre(&v.pre, &c.pre) != Ordering::Equal;
                }
                return false;
            }
        }
        cmp != Ordering::Equal
    }
}

#[cfg(test)]
mod tests;
