use super::*;

#[test]
fn parse_splits_parts() {
    let r = Reference::parse("test:5000/repo:tag@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff").unwrap();
    assert_eq!(r.domain(), "test:5000");
    assert_eq!(r.path(), "repo");
    assert_eq!(r.tag(), Some("tag"));
    assert!(r.digest().is_some());
    let r = Reference::parse("test.com:5000").unwrap();
    assert_eq!((r.name().as_str(), r.tag()), ("test.com", Some("5000")));
}

#[test]
fn errors_name_the_problem() {
    assert_eq!(Reference::parse(""), Err(ReferenceError::NameEmpty));
    assert_eq!(
        Reference::parse("Upper:tag"),
        Err(ReferenceError::NameContainsUppercase)
    );
    assert_eq!(
        Reference::parse("a/b:bad~tag"),
        Err(ReferenceError::InvalidFormat)
    );
    assert_eq!(
        Reference::parse("repo@sha256:abcdabcdabcdabcdabcdabcdabcdabcdabcd"),
        Err(ReferenceError::Digest(DigestError::InvalidLength))
    );
    let long = format!("a/{}", "b".repeat(260));
    assert_eq!(Reference::parse(&long), Err(ReferenceError::NameTooLong));
}

#[test]
fn normalizes_docker_hub() {
    let r = Reference::parse_normalized_named("busybox").unwrap();
    assert_eq!(r.to_string(), "docker.io/library/busybox");
    assert_eq!(r.familiar_name(), "busybox");
    let r = Reference::parse_normalized_named("index.docker.io/user/app:1").unwrap();
    assert_eq!(r.to_string(), "docker.io/user/app:1");
    assert_eq!(r.familiar_string(), "user/app:1");
    let r = Reference::parse_docker_ref("localhost:5000/x").unwrap();
    assert_eq!(r.to_string(), "localhost:5000/x:latest");
    assert_eq!(
        Reference::parse_normalized_named("Foo/bar"),
        Err(ReferenceError::NormalizedNameContainsUppercase)
    );
}

#[test]
fn policy_scopes_name_the_image_its_namespaces_and_wildcard_domains() {
    let r = Reference::parse_normalized_named("registry.example.com:5000/ns/repo:v1").unwrap();
    assert_eq!(r.policy_identity(), "registry.example.com:5000/ns/repo:v1");
    assert_eq!(
        r.policy_namespaces(),
        [
            "registry.example.com:5000/ns/repo",
            "registry.example.com:5000/ns",
            "registry.example.com:5000",
            "*.example.com",
            "*.com"
        ]
    );
    let d = Reference::parse_docker_ref(
        "busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000",
    )
    .unwrap();
    assert_eq!(
        d.policy_identity(),
        "docker.io/library/busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000"
    );
    assert_eq!(
        d.policy_namespaces(),
        [
            "docker.io/library/busybox",
            "docker.io/library",
            "docker.io",
            "*.io"
        ]
    );
}
