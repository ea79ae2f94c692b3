//! `Link` headers: where the next page of a paginated listing is.

/// The path (and query) of the next page from a `Link: <URL>; rel="next"` header; `None`
/// when the header names no path on the registry.
pub fn next_page_path(link: &str) -> Option<String> {
    let target = link
        .split(';')
        .next()?
        .trim()
        .trim_matches(|c| c == '<' || c == '>');
    if target.is_empty() {
        return None;
    }
    let without_origin = match target.find("://") {
        Some(i) => {
            let rest = &target[i + 3..];
            &rest[rest.find('/').unwrap_or(rest.len())..]
        }
        None => target,
    };
    without_origin
        .starts_with('/')
        .then(|| without_origin.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers() {
        assert_eq!(
            next_page_path(r#"</v2/x/tags/list?n=1&last=a>; rel="next""#).as_deref(),
            Some("/v2/x/tags/list?n=1&last=a")
        );
        assert_eq!(
            next_page_path(r#"<https://h:5000/v2/x/tags/list?last=b>; rel="next""#).as_deref(),
            Some("/v2/x/tags/list?last=b")
        );
        assert_eq!(next_page_path(""), None);
        assert_eq!(next_page_path("Basic"), None);
        assert_eq!(next_page_path("<https://h:5000>; rel=\"next\""), None);
    }
}
