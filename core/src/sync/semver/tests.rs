use super::*;

/// `constraint | version | expected`, split at the last two separators (constraints may
/// hold `||`).
const CASES: &str = "\
=3.0.0 | 3.0.0 | true
=3.0.0 | 2.9.9 | false
=3.1 | 3.1.7 | true
=3.1 | 3.2.0 | false
3.12 | 3.12.4 | true
3 | 3.99.1 | true
3 | 4.0.0 | false
!=3.4.0 | 3.4.0 | false
!=3.4.0 | 3.4.1 | true
!=3.4 | 3.4.9 | false
!=3.4 | 3.5.0 | true
!=3.x | 3.9.0 | false
!=3.x | 4.0.0 | true
!=3.4-rc | 3.4.2 | true
!=3.4-rc | 3.4.2-rc | false
<10 | 9.9.9 | true
<10 | 10.0.1 | false
<2.x | 1.9.9 | true
<2.x | 2.0.1 | false
<=10 | 10.9.0 | true
<=10 | 11.0.0 | false
<=2.3 | 2.3.9 | true
<=2.3 | 2.4.0 | false
>2.3 | 2.3.9 | false
>2.3 | 2.4.0 | true
>7 | 7.9.9 | false
>7 | 8.0.0 | true
>1.2.3-rc.1 | 1.2.3-rc.2 | true
>0 | 0.0.1-rc | false
>=0.0.0-0 | 0.0.0-rc | true
>=2.1 | 2.1.0 | true
>=2.1 | 2.0.9 | false
>=2.1 | 2.5.0-beta | false
* | 8.1.2 | true
* | 8.1.2-rc.1 | false
*-0 | 8.1.2-rc.1 | true
5.* | 5.0.3 | true
5.* | 6.0.0 | false
5.2.x | 5.2.8 | true
5.2.x | 5.3.0 | false
~2.4.6 | 2.4.9 | true
~2.4.6 | 2.5.0 | false
~2.4.6 | 2.4.5 | false
~2.4 | 2.4.0 | true
~2 | 2.9.0 | true
~2 | 3.0.0 | false
~> 2.4 | 2.4.3 | true
~0 | 0.9.9 | true
~0.0 | 0.1.0 | false
~* | 9.9.9 | true
~2.4.6-beta.1 | 2.4.7-beta.1 | true
^2.4.6 | 2.9.9 | true
^2.4.6 | 3.0.0 | false
^2.4.6 | 2.4.5 | false
^2.4.0 | 2.4.1-rc | false
^2.4.0-rc.0 | 2.4.1-rc.1 | true
^0.4.6 | 0.4.9 | true
^0.4.6 | 0.5.0 | false
^0.0.6 | 0.0.6 | true
^0.0.6 | 0.0.7 | false
^0 | 0.9.0 | true
^0 | 1.0.0 | false
^1.x | 1.7.0 | true
^1.x | 2.0.0 | false
^* | 0.0.0 | true
^* | 0.0.1 | false
>= 1.2, < 2 | 1.9.9 | true
>= 1.2, < 2 | 2.0.0 | false
>= 1.2 < 2 | 1.1.9 | false
>=1.2    <2    !=1.5.0 | 1.5.0 | false
>=1.2, <2 || >= 4 | 4.2.0 | true
>=1.2, <2 || >= 4 | 3.0.0 | false
>= 1.0.0  <= 2.0.0-rc || > 5 | 5.0.1-rc | false
>= 1.0.0  <= 2.0.0-rc | 1.3.0-rc | true
2.1 - 3 | 3.0.0 | true
2.1 - 3 | 3.9.1 | true
2.1 - 3 | 4.0.0 | false
2.1 - 3 | 2.0.9 | false
1.0.0 - 2.0.0, <=2.0.0 | 1.4.0 | true
2.1-3 | 2.1.0-3 | true
2.1-3 | 2.5.0 | false
v1.2 | 1.2.4 | true
>=3.12.0 | 20230101 | true
>=3.12.0 | 3.14.2-r0 | false
";

#[test]
fn constraints_check_as_the_library_does() {
    for line in CASES.lines() {
        let mut parts = line.rsplitn(3, " | ");
        let expected = parts.next().unwrap() == "true";
        let version = parts.next().unwrap();
        let constraint = parts.next().unwrap();
        let c = Constraint::parse(constraint).unwrap_or_else(|e| panic!("{constraint}: {e}"));
        let v = Version::parse(version).unwrap_or_else(|| panic!("version {version}"));
        assert_eq!(c.matches(&v), expected, "{constraint} against {version}");
    }
}

#[test]
fn bad_constraints_fail_in_the_library_words() {
    for (text, error) in [
        ("latest", "improper constraint: \"latest\""),
        ("", "improper constraint: \"\""),
        (">= 2 || bad", "improper constraint: \" bad\""),
        (">= 2 ||", "improper constraint: \"\""),
        ("1.2.3.4", "improper constraint: \"1.2.3.4\""),
        ("==1", "improper constraint: \"==1\""),
        ("1,,2", "improper constraint: \"1,,2\""),
        ("2x", "constraint parser error"),
        ("v1.2.3-rc.01", "constraint parser error"),
    ] {
        assert_eq!(Constraint::parse(text).unwrap_err(), error, "{text:?}");
    }
    let long = "1".repeat(513);
    assert!(Constraint::parse(&long).unwrap_err().contains("too long"));
    let many = vec!["1"; 33].join("||");
    assert_eq!(
        Constraint::parse(&many).unwrap_err(),
        "too many constraint groups (max 32)"
    );
}

#[test]
fn versions_parse_loosely() {
    for (text, parsed) in [
        ("3.12", Some((3, 12, 0, ""))),
        ("v2", Some((2, 0, 0, ""))),
        ("01.02.03", Some((1, 2, 3, ""))),
        ("1.25-alpine", Some((1, 25, 0, "alpine"))),
        ("1.2.3+build.7", Some((1, 2, 3, ""))),
        ("1.2.3--x", Some((1, 2, 3, "-x"))),
        ("latest", None),
        ("V1.2", None),
        ("1.2.3.4", None),
        ("1.2.3-rc.01", None),
        ("1.2.3-a..b", None),
        ("3.14.2_1", None),
        ("", None),
    ] {
        let got = Version::parse(text).map(|v| (v.major, v.minor, v.patch, v.pre));
        let want = parsed.map(|(a, b, c, p): (u64, u64, u64, &str)| (a, b, c, p.to_owned()));
        assert_eq!(got, want, "{text:?}");
    }
}

#[test]
fn precedence_follows_semver() {
    let v = |s| Version::parse(s).unwrap();
    assert!(v("4.2-beta") < v("4.2"));
    assert!(v("4.2-alpha") < v("4.2-beta"));
    assert!(v("4.2-beta.2") > v("4.2-beta.1"));
    assert!(v("4.2-beta") < v("4.2-beta.2"));
    assert!(v("1.0.0-beta.4") < v("1.0.0-beta.-2"));
    assert_eq!(v("1.2+a").cmp(&v("1.2+b")), Ordering::Equal);
}
