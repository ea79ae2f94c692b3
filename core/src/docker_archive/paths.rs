//! Paths inside a docker archive: the names `manifest.json` gives and the targets of links,
//! both of which a hostile archive may point outside the archive.

use crate::{Error, Result};

/// A file `manifest.json` names, as a path inside the archive: relative, `.` parts dropped,
/// never above the archive's root (a hostile archive must not make us read other files).
pub fn member(name: &str) -> Result<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(Error::Invalid(format!(
                    "invalid path {name:?} in the archive's manifest.json: it leaves the archive"
                )))
            }
            other => parts.push(other),
        }
    }
    if name.starts_with('/') || parts.is_empty() {
        return Err(Error::Invalid(format!(
            "invalid path {name:?} in the archive's manifest.json: not a file inside the archive"
        )));
    }
    Ok(parts.join("/"))
}

/// Whether a link entry named `name` whose target is `target` points outside the archive:
/// an absolute target, or one climbing above the root. Symbolic links resolve from the
/// link's directory, hard links from the archive's root.
pub fn link_leaves_archive(name: &str, target: &str, symbolic: bool) -> bool {
    if target.starts_with('/') {
        return true;
    }
    let mut depth = 0usize;
    if symbolic {
        let parents = name.split('/').filter(|p| !p.is_empty() && *p != ".");
        depth = parents.count().saturating_sub(1);
    }
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." if depth == 0 => return true,
            ".." => depth -= 1,
            _ => depth += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_stay_inside_the_archive() {
        assert_eq!(member("./a//b.tar").unwrap(), "a/b.tar");
        for bad in ["../x", "a/../../x", "/etc/passwd", "", "./"] {
            assert!(member(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn links_climbing_above_the_root_leave_it() {
        assert!(!link_leaves_archive("a/b/link", "../c", true));
        assert!(link_leaves_archive("a/link", "../../c", true));
        assert!(link_leaves_archive("link", "/etc/passwd", true));
        assert!(!link_leaves_archive("a/b/link", "a/c", false));
        assert!(link_leaves_archive("a/b/link", "../c", false));
        assert!(!link_leaves_archive("./x/y", "./../z", true));
        assert!(link_leaves_archive("x", "..", true));
    }
}
