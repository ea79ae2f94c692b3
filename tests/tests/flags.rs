//! Every flag of every command of skopeo 1.9.3 (from its `--help` and, for the hidden ones,
//! its source: `--screds`/`--dcreds`, `--registries-conf`, the deprecated `--tls-verify` of the
//! root, `copy` and `sync`, `-n`, the hidden `layers`, `experimental-image-proxy` and
//! `completion` commands, every command's `-h`/`--help`),
//! each spelling checked: our binary parses it, and either acts on it or refuses it with a
//! message naming the flag (or, for a command not implemented yet, naming the command). The
//! same command line is given to skopeo 1.9.3, which must parse it too, so the table stays true.

use skopeo_integration_tests::*;

/// How a flag is given.
#[derive(Clone, Copy)]
enum Kind {
    /// A switch (`--quiet`).
    Switch,
    /// An optional boolean, given as `--flag=false`.
    OptionalBool,
    /// A flag with a value, given as `--flag VALUE`.
    Value(&'static str),
}

use Kind::{OptionalBool as B, Switch as S, Value as V};

/// What our binary does with it.
#[derive(Clone, Copy, PartialEq)]
enum Expect {
    Acts,
    /// Refused with a message naming the flag.
    Refused,
    /// The command is not implemented yet: refused naming the command.
    PendingCommand,
}

/// The registry flags every image command takes (`dockerImageFlags`), with `prefix`.
fn docker_flags(prefix: &str) -> Flags {
    [
        ("creds", V("u:p")),
        ("username", V("u")),
        ("password", V("p")),
        ("registry-token", V("t")),
        ("cert-dir", V("/nonexistent-certs")),
        ("tls-verify", B),
        ("no-creds", S),
    ]
    .into_iter()
    .map(|(f, k)| (format!("{prefix}{f}"), k))
    .chain((!prefix.is_empty()).then(|| (format!("{prefix}authfile"), V("/nonexistent-auth.json"))))
    .collect()
}

/// `imageFlags`: the registry flags plus the shared blob directory and the daemon host.
fn image_flags(prefix: &str) -> Flags {
    let mut flags = docker_flags(prefix);
    flags.push((format!("{prefix}shared-blob-dir"), V("/nonexistent-blobs")));
    flags.push((
        format!("{prefix}daemon-host"),
        V("unix:///nonexistent.sock"),
    ));
    flags
}

fn owned(flags: &[(&str, Kind)]) -> Flags {
    flags.iter().map(|(f, k)| (f.to_string(), *k)).collect()
}

/// Flag spellings (without dashes) and how each is given.
type Flags = Vec<(String, Kind)>;

/// The table: command, the flags with how they are given, and what ours does with them.
fn table() -> Vec<(&'static str, Flags, Expect)> {
    use Expect::*;
    let global = owned(&[
        ("debug", S),
        ("policy", V("/nonexistent-policy.json")),
        ("insecure-policy", S),
        ("registries.d", V("/nonexistent-registries.d")),
        ("override-arch", V("arm64")),
        ("override-os", V("linux")),
        ("override-variant", V("v8")),
        ("command-timeout", V("1m")),
        ("registries-conf", V("/nonexistent-registries.conf")),
        ("tmpdir", V("/tmp")),
        ("tls-verify", B),
    ]);
    let mut copy = owned(&[
        ("authfile", V("/nonexistent-auth.json")),
        ("screds", V("u:p")),
        ("dcreds", V("u:p")),
        ("tls-verify", B),
        ("retry-times", V("0")),
        ("additional-tag", V("example.com/x:y")),
        ("quiet", S),
        ("q", S),
        ("all", S),
        ("a", S),
        ("multi-arch", V("all")),
        ("preserve-digests", S),
        ("remove-signatures", S),
        ("digestfile", V("/nonexistent-parent/digest")),
        ("format", V("oci")),
        ("f", V("oci")),
        ("dest-compress", S),
        ("dest-decompress", S),
        ("dest-oci-accept-uncompressed-layers", S),
        ("dest-compress-format", V("gzip")),
        ("dest-compress-level", V("5")),
        ("dest-precompute-digests", S),
    ]);
    copy.extend(image_flags("src-"));
    copy.extend(image_flags("dest-"));
    copy.extend(owned(&[
        ("sign-by", V("0123456789ABCDEF")),
        ("sign-by-sigstore-private-key", V("/nonexistent.key")),
        ("sign-passphrase-file", V("/nonexistent-passphrase")),
        ("sign-identity", V("example.com/x:y")),
    ]));
    let copy_refused = owned(&[
        ("encryption-key", V("jwe:/nonexistent.pem")),
        ("encrypt-layer", V("0")),
        ("decryption-key", V("/nonexistent.pem")),
    ]);
    let mut inspect = owned(&[
        ("authfile", V("/nonexistent-auth.json")),
        ("retry-times", V("0")),
        ("raw", S),
        ("config", S),
        ("format", V("{{.Name}}")),
        ("f", V("{{.Name}}")),
        ("no-tags", S),
        ("n", S),
    ]);
    inspect.extend(image_flags(""));
    let mut delete = owned(&[
        ("authfile", V("/nonexistent-auth.json")),
        ("retry-times", V("0")),
    ]);
    delete.extend(image_flags(""));
    let mut list_tags = owned(&[
        ("authfile", V("/nonexistent-auth.json")),
        ("retry-times", V("0")),
    ]);
    list_tags.extend(docker_flags(""));
    let login = owned(&[
        ("authfile", V("/nonexistent-auth.json")),
        ("cert-dir", V("/nonexistent-certs")),
        ("get-login", S),
        ("password-stdin", S),
        ("tls-verify", B),
        ("password", V("p")),
        ("p", V("p")),
        ("username", V("u")),
        ("u", V("u")),
        ("verbose", S),
        ("v", S),
    ]);
    let logout = owned(&[
        ("authfile", V("/nonexistent-auth.json")),
        ("tls-verify", B),
        ("all", S),
        ("a", S),
    ]);
    let mut sync = owned(&[
        ("authfile", V("/nonexistent-auth.json")),
        ("screds", V("u:p")),
        ("dcreds", V("u:p")),
        ("tls-verify", B),
        ("remove-signatures", S),
        ("format", V("oci")),
        ("f", V("oci")),
        ("src", V("dir")),
        ("s", V("dir")),
        ("dest", V("dir")),
        ("d", V("dir")),
        ("scoped", S),
        ("all", S),
        ("a", S),
        ("dry-run", S),
        ("preserve-digests", S),
        ("keep-going", S),
        ("retry-times", V("0")),
    ]);
    sync.extend(docker_flags("src-"));
    sync.extend(docker_flags("dest-"));
    sync.extend(owned(&[
        ("sign-by", V("0123456789ABCDEF")),
        ("sign-by-sigstore-private-key", V("/nonexistent.key")),
        ("sign-passphrase-file", V("/nonexistent-passphrase")),
    ]));
    let standalone_sign = owned(&[
        ("output", V("/nonexistent-parent/sig")),
        ("o", V("/nonexistent-parent/sig")),
        ("passphrase-file", V("/nonexistent-passphrase")),
    ]);
    let mut layers = owned(&[
        ("authfile", V("/nonexistent-auth.json")),
        ("retry-times", V("0")),
    ]);
    layers.extend(image_flags(""));
    let mut proxy = owned(&[
        ("authfile", V("/nonexistent-auth.json")),
        ("sockfd", V("3")),
    ]);
    proxy.extend(image_flags(""));
    vec![
        ("", global, Acts),
        ("copy", copy, Acts),
        ("copy", copy_refused, Refused),
        ("inspect", inspect, Acts),
        ("delete", delete, Acts),
        ("list-tags", list_tags, Acts),
        ("login", login, Acts),
        ("logout", logout, Acts),
        ("manifest-digest", Vec::new(), Acts),
        ("sync", sync, Acts),
        ("standalone-sign", standalone_sign, Acts),
        ("standalone-verify", Vec::new(), Acts),
        (
            "untrusted-signature-dump-without-verification",
            Vec::new(),
            Acts,
        ),
        ("completion bash", owned(&[("no-descriptions", S)]), Acts),
        ("completion zsh", owned(&[("no-descriptions", S)]), Acts),
        ("completion fish", owned(&[("no-descriptions", S)]), Acts),
        (
            "completion powershell",
            owned(&[("no-descriptions", S)]),
            Acts,
        ),
        ("layers", layers, PendingCommand),
        ("experimental-image-proxy", proxy, PendingCommand),
    ]
}

/// Positional arguments that get each command past parsing and stop it soon after, without
/// touching the network or writing anything.
fn positional(command: &str) -> Vec<&'static str> {
    match command {
        "" | "inspect" | "delete" | "list-tags" | "layers" => vec!["dir:/nonexistent-image"],
        "copy" | "sync" => vec!["dir:/nonexistent-image", "dir:/nonexistent-parent/dest"],
        "login" | "logout" => vec!["127.0.0.1:1"],
        "manifest-digest" | "untrusted-signature-dump-without-verification" => {
            vec!["/nonexistent-manifest.json"]
        }
        "standalone-sign" => vec!["/nonexistent-manifest.json", "example.com/x:y", "0123"],
        "standalone-verify" => vec![
            "/nonexistent-manifest.json",
            "example.com/x:y",
            "0123",
            "/nonexistent-signature",
        ],
        _ => vec![],
    }
}

fn command_line(command: &str, flag: &str, kind: Kind) -> Vec<String> {
    let dashes = if flag.len() == 1 { "-" } else { "--" };
    let mut given = match kind {
        Kind::Switch => vec![format!("{dashes}{flag}")],
        Kind::OptionalBool => vec![format!("{dashes}{flag}=false")],
        Kind::Value(v) => vec![format!("{dashes}{flag}"), v.to_owned()],
    };
    let mut args = Vec::new();
    if command.is_empty() {
        // Global flags go before the command, which is then inspect.
        args.append(&mut given);
        args.push("inspect".to_owned());
    } else {
        args.extend(command.split(' ').map(str::to_owned));
        args.append(&mut given);
    }
    args.extend(positional(command).into_iter().map(str::to_owned));
    args
}

/// Words of a command-line parsing failure, ours (clap) and skopeo's (cobra).
const PARSE_FAILURES: &[&str] = &[
    "unexpected argument",
    "unrecognized subcommand",
    "invalid value",
    "a value is required",
    "unknown flag",
    "unknown shorthand flag",
    "flag needs an argument",
    "unknown command",
];

#[test]
fn every_skopeo_flag_parses_and_is_acted_on_or_refused_by_name() {
    let tmp = TempDir::new("flags");
    let ours = our_skopeo();
    let reference = reference_skopeo();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (command, flags, expect) in table() {
        let mut flags = if flags.is_empty() {
            vec![(String::new(), Kind::Switch)]
        } else {
            flags
        };
        // Every command's own help, printed with success.
        flags.extend([
            ("help".to_owned(), Kind::Switch),
            ("h".to_owned(), Kind::Switch),
        ]);
        for (flag, kind) in flags {
            let expect = match flag.as_str() {
                "help" | "h" => Expect::Acts,
                _ => expect,
            };
            let args = if flag.is_empty() {
                let mut a = vec![command.to_owned()];
                a.extend(positional(command).into_iter().map(str::to_owned));
                a
            } else {
                command_line(command, &flag, kind)
            };
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            let r = run(&ours, &argv, &tmp.0);
            let shown = argv.join(" ");
            if matches!(flag.as_str(), "help" | "h") && (r.code != 0 || r.stdout.is_empty()) {
                failures.push(format!("ours: {shown}: no help: {}", r.stderr.trim()));
            }
            if let Some(word) = PARSE_FAILURES.iter().find(|w| r.stderr.contains(**w)) {
                failures.push(format!("ours: {shown}: {word}: {}", r.stderr.trim()));
            }
            let named = match expect {
                Expect::Acts => true,
                Expect::Refused => r.code != 0 && r.stderr.contains(&format!("--{flag}:")),
                Expect::PendingCommand => {
                    r.code != 0
                        && r.stderr.contains(&format!(
                            "skopeo {command} is not implemented in this build yet"
                        ))
                }
            };
            if !named {
                failures.push(format!(
                    "ours: {shown}: not refused by name: {}",
                    r.stderr.trim()
                ));
            }
            // The proxy would serve on its socket: skopeo is not run for it.
            if let Some(reference) = reference
                .as_ref()
                .filter(|_| command != "experimental-image-proxy")
            {
                let theirs = run(reference, &argv, &tmp.0);
                if let Some(word) = PARSE_FAILURES.iter().find(|w| theirs.stderr.contains(**w)) {
                    failures.push(format!("skopeo: {shown}: {word}: {}", theirs.stderr.trim()));
                }
            }
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 210, "only {checked} flag spellings checked");
}

#[test]
fn the_deprecated_tls_verify_forms_act_as_skopeo_says() {
    let tmp = TempDir::new("flags-tls");
    // Before the command: a warning, and the command's default.
    let args = [
        "--tls-verify=false",
        "inspect",
        "docker://127.0.0.1:1/x/y:z",
    ];
    assert_same(&args, &tmp.0);
    let r = run(&our_skopeo(), &args, &tmp.0);
    assert!(
        r.stderr
            .contains("'--tls-verify' is deprecated, please set this on the specific subcommand")
            && r.stderr.contains("Get \\\"http://127.0.0.1:1/v2/\\\""),
        "{}",
        r.stderr
    );
    // copy's unprefixed form is both sides' default: plain HTTP is tried.
    let layout = example_layout(&tmp.0);
    let src = format!("oci:{}:demo", layout.display());
    let r = run(
        &our_skopeo(),
        &[
            "--insecure-policy",
            "copy",
            "--tls-verify=false",
            &src,
            "docker://127.0.0.1:1/x/y:z",
        ],
        &tmp.0,
    );
    assert!(r.stderr.contains("http://127.0.0.1:1/v2/"), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "'--tls-verify' is deprecated, instead use: --src-tls-verify, --dest-tls-verify"
        ),
        "{}",
        r.stderr
    );
    // The hidden credential aliases are the prefixed flags: validated as them.
    let layout_dir = format!("dir:{}", tmp.0.join("alias-dest").display());
    for alias in [
        ["--screds", "--src-no-creds"],
        ["--dcreds", "--dest-no-creds"],
    ] {
        let args = [
            "--insecure-policy",
            "copy",
            alias[0],
            "a:b",
            alias[1],
            &src,
            &layout_dir,
        ];
        assert_same(&args, &tmp.0);
        let r = run(&our_skopeo(), &args, &tmp.0);
        assert!(
            r.stderr
                .contains("creds and no-creds cannot be specified at the same time"),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn wrong_argument_counts_end_as_skopeo_ends_them() {
    let tmp = TempDir::new("flags-args");
    // copy and list-tags print their help and succeed; the others fail.
    for command in ["copy", "list-tags"] {
        let r = run(&our_skopeo(), &[command], &tmp.0);
        assert_eq!(r.code, 0, "{command}: {}", r.stderr);
        assert!(r.stdout.contains("Usage"), "{command}: {}", r.stdout);
        if let Some(reference) = reference_skopeo() {
            assert_eq!(
                run(&reference, &[command], &tmp.0).code,
                0,
                "skopeo {command}"
            );
        }
    }
    for command in ["inspect", "delete", "manifest-digest"] {
        let r = run(&our_skopeo(), &[command], &tmp.0);
        assert_eq!(r.code, 1, "{command}: {}", r.stderr);
        if let Some(reference) = reference_skopeo() {
            assert_eq!(
                run(&reference, &[command], &tmp.0).code,
                1,
                "skopeo {command}"
            );
        }
    }
}
