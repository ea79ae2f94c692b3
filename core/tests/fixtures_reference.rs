//! The upstream reference test tables (../shared/fixtures/reference/docker-reference-tables.json).

mod common;

use serde_json::Value;
use skopeo_core::reference::{grammar, AnyReference, Reference, ReferenceError};

fn tables() -> Option<Value> {
    common::fixture_json("reference/docker-reference-tables.json")
}

fn error_symbol(e: &ReferenceError) -> &'static str {
    use skopeo_core::digest::DigestError;
    match e {
        ReferenceError::InvalidFormat => "ErrReferenceInvalidFormat",
        ReferenceError::TagInvalidFormat => "ErrTagInvalidFormat",
        ReferenceError::DigestInvalidFormat => "ErrDigestInvalidFormat",
        ReferenceError::NameContainsUppercase => "ErrNameContainsUppercase",
        ReferenceError::NormalizedNameContainsUppercase => "ErrNameContainsUppercase",
        ReferenceError::NameEmpty => "ErrNameEmpty",
        ReferenceError::NameTooLong => "ErrNameTooLong",
        ReferenceError::NameNotCanonical => "ErrNameNotCanonical",
        ReferenceError::HexIdentifier(_) => "hex",
        ReferenceError::Digest(DigestError::InvalidLength) => "digest.ErrDigestInvalidLength",
        ReferenceError::Digest(DigestError::Unsupported) => "digest.ErrDigestUnsupported",
        ReferenceError::Digest(DigestError::InvalidFormat) => "digest.ErrDigestInvalidFormat",
    }
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn err_of(v: &Value) -> Option<&str> {
    v.get("err")
        .and_then(|e| e.get("symbol"))
        .and_then(Value::as_str)
}

#[test]
fn reference_parse_table() {
    let Some(t) = tables() else { return };
    let cases = t["reference_test"]["TestReferenceParse"]["referenceTestcases"]
        .as_array()
        .unwrap();
    for c in cases {
        let input = s(c, "input");
        let got = Reference::parse(input);
        match err_of(c) {
            Some(sym) => assert_eq!(
                got.as_ref().map_err(error_symbol).err(),
                Some(sym),
                "{input}"
            ),
            None => {
                let r = got.unwrap_or_else(|e| panic!("{input}: {e}"));
                assert_eq!(r.to_string(), input);
                assert_eq!(r.name(), s(c, "repository"), "{input}");
                if c.get("domain").is_some() {
                    assert_eq!(r.domain(), s(c, "domain"), "{input}");
                }
                assert_eq!(r.tag().unwrap_or(""), s(c, "tag"), "{input}");
                assert_eq!(r.digest_str().unwrap_or(""), s(c, "digest"), "{input}");
            }
        }
    }
    assert!(cases.len() >= 20);
}

#[test]
fn with_name_split_hostname_and_parse_named() {
    let Some(t) = tables() else { return };
    let rt = &t["reference_test"];
    for c in rt["TestWithNameFailure"]["testcases"].as_array().unwrap() {
        let e = Reference::with_name(s(c, "input")).unwrap_err();
        assert_eq!(error_symbol(&e), err_of(c).unwrap(), "{}", s(c, "input"));
    }
    for c in rt["TestSplitHostname"]["testcases"].as_array().unwrap() {
        let r = Reference::with_name(s(c, "input")).unwrap();
        assert_eq!((r.domain(), r.path()), (s(c, "domain"), s(c, "name")));
    }
    for c in rt["TestParseNamed"]["testcases"].as_array().unwrap() {
        let got = Reference::parse_named(s(c, "input"));
        match err_of(c) {
            Some(sym) => assert_eq!(got.map_err(|e| error_symbol(&e)).err(), Some(sym), "{c}"),
            None => {
                let r = got.unwrap();
                assert_eq!((r.domain(), r.path()), (s(c, "domain"), s(c, "name")));
            }
        }
    }
    for c in rt["TestSerialization"]["testcases"].as_array().unwrap() {
        let got = Reference::parse(s(c, "input"));
        match err_of(c) {
            Some(sym) => assert_eq!(got.map_err(|e| error_symbol(&e)).err(), Some(sym)),
            None => {
                let r = got.unwrap();
                assert_eq!(r.name(), s(c, "name"));
                assert_eq!(r.tag().unwrap_or(""), s(c, "tag"));
                assert_eq!(r.digest_str().unwrap_or(""), s(c, "digest"));
            }
        }
    }
    for c in rt["TestWithTag"]["testcases"].as_array().unwrap() {
        let mut r = Reference::with_name(s(c, "name")).unwrap();
        if !s(c, "digest").is_empty() {
            r = r.with_digest(s(c, "digest")).unwrap();
        }
        assert_eq!(
            r.with_tag(s(c, "tag")).unwrap().to_string(),
            s(c, "combined")
        );
    }
    for c in rt["TestWithDigest"]["testcases"].as_array().unwrap() {
        let mut r = Reference::with_name(s(c, "name")).unwrap();
        if !s(c, "tag").is_empty() {
            r = r.with_tag(s(c, "tag")).unwrap();
        }
        assert_eq!(
            r.with_digest(s(c, "digest")).unwrap().to_string(),
            s(c, "combined")
        );
    }
}

#[test]
fn normalize_tables() {
    let Some(t) = tables() else { return };
    let nt = &t["normalize_test"];
    let strs = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_owned())
            .collect()
    };
    for n in strs(&nt["TestValidateReferenceName"]["validRepoNames"]) {
        Reference::parse_normalized_named(&n).unwrap_or_else(|e| panic!("{n}: {e}"));
    }
    for n in strs(&nt["TestValidateReferenceName"]["invalidRepoNames"]) {
        assert!(Reference::parse_normalized_named(&n).is_err(), "{n}");
    }
    for n in strs(&nt["TestValidateRemoteName"]["validRepositoryNames"]) {
        Reference::parse_normalized_named(&n).unwrap_or_else(|e| panic!("{n}: {e}"));
    }
    for n in strs(&nt["TestValidateRemoteName"]["invalidRepositoryNames"]) {
        assert!(Reference::parse_normalized_named(&n).is_err(), "{n}");
    }
    for c in nt["TestParseRepositoryInfo"]["tcases"].as_array().unwrap() {
        for input in ["FamiliarName", "FullName", "AmbiguousName"] {
            let input = s(c, input);
            if input.is_empty() {
                continue;
            }
            let r = Reference::parse_normalized_named(input).unwrap();
            assert_eq!(r.familiar_name(), s(c, "FamiliarName"), "{input}");
            assert_eq!(r.to_string(), s(c, "FullName"), "{input}");
            assert_eq!(r.domain(), s(c, "Domain"), "{input}");
            assert_eq!(r.path(), s(c, "RemoteName"), "{input}");
        }
    }
    for c in nt["TestParseAnyReference"]["tcases"].as_array().unwrap() {
        let got = AnyReference::parse(s(c, "Reference"));
        if !s(c, "Equivalent").is_empty() {
            assert_eq!(got.unwrap().to_string(), s(c, "Equivalent"), "{c}");
        } else if let Some(call) = c.get("Expected") {
            let want = call.to_string();
            let r = got.unwrap();
            assert!(matches!(r, AnyReference::Digest(_)), "{c}");
            let hex = r.to_string().trim_start_matches("sha256:").to_owned();
            assert!(want.contains(&hex), "{c} vs {r}");
        } else {
            assert!(got.is_err(), "{c}");
        }
    }
    for c in nt["TestNormalizedSplitHostname"]["testcases"]
        .as_array()
        .unwrap()
    {
        let r = Reference::parse_normalized_named(s(c, "input")).unwrap();
        assert_eq!((r.domain(), r.path()), (s(c, "domain"), s(c, "name")));
    }
    for c in nt["TestMatch"]["matchCases"].as_array().unwrap() {
        let r = Reference::parse_normalized_named(s(c, "reference")).unwrap();
        assert_eq!(
            r.familiar_match(s(c, "pattern")),
            c["expected"].as_bool().unwrap(),
            "{c}"
        );
    }
    for c in nt["TestParseDockerRef"]["testcases"].as_array().unwrap() {
        let r = Reference::parse_docker_ref(s(c, "input")).unwrap();
        assert_eq!(r.to_string(), s(c, "expected"), "{c}");
    }
}

#[test]
fn regexp_tables() {
    let Some(t) = tables() else { return };
    let xt = &t["regexp_test"];
    for c in xt["TestDomainRegexp"]["hostcases"].as_array().unwrap() {
        assert_eq!(
            grammar::is_domain(s(c, "input")),
            c["match"].as_bool().unwrap(),
            "{c}"
        );
    }
    for c in xt["TestFullNameRegexp"]["testcases"].as_array().unwrap() {
        let got = grammar::split_name(s(c, "input"));
        let want = c["match"].as_bool().unwrap();
        assert_eq!(got.is_some(), want, "{c}");
        if let (Some((d, p)), Some(subs)) = (got, c.get("subs").and_then(Value::as_array)) {
            assert_eq!(d, subs[0].as_str().unwrap(), "{c}");
            assert_eq!(p, subs[1].as_str().unwrap(), "{c}");
        }
    }
    for c in xt["TestReferenceRegexp"]["testcases"].as_array().unwrap() {
        let got = grammar::split_reference(s(c, "input"));
        assert_eq!(got.is_some(), c["match"].as_bool().unwrap(), "{c}");
        if let (Some((n, t, d)), Some(subs)) = (got, c.get("subs").and_then(Value::as_array)) {
            let subs: Vec<&str> = subs.iter().map(|x| x.as_str().unwrap()).collect();
            assert_eq!(vec![n, t, d], subs, "{c}");
        }
    }
    for c in xt["TestIdentifierRegexp"]["fullCases"].as_array().unwrap() {
        assert_eq!(
            grammar::is_identifier(s(c, "input")),
            c["match"].as_bool().unwrap()
        );
    }
}
