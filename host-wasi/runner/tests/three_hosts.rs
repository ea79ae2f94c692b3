//! The same operations natively, in the command component and through the library
//! component's exports, under an embedded wasmtime: same inputs, same bytes. Shared vectors
//! (fixture manifests and layouts) and a real docker-registry on 127.0.0.1.

use skopeo_integration_tests::registry::{setup, Flavour, PASSWORD, USER};
use skopeo_integration_tests::*;
use skopeo_wasi_runner::{
    ImageError, InspectOptions, Output, PlatformChoice, RegistryOptions, Runner, Stdio,
};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The release build of both components (built here if the test is run alone).
fn components() -> &'static (Runner, Runner) {
    static RUNNERS: OnceLock<(Runner, Runner)> = OnceLock::new();
    RUNNERS.get_or_init(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target"));
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--release", "--target", "wasm32-wasip2"])
            .args(["-p", "skopeo-wasi", "-p", "skopeo-image-component"])
            .current_dir(repo_root())
            .status()
            .expect("run cargo");
        assert!(status.success(), "building the components failed");
        let dir = target.join("wasm32-wasip2/release");
        let load = |name: &str| Runner::load(&dir.join(name)).expect("load component");
        (
            load("skopeo-wasi.wasm"),
            load("skopeo_image_component.wasm"),
        )
    })
}

/// Runs `args` in the command component with `dirs` preopened.
fn component(args: &[&str], dirs: &[PathBuf]) -> RunResult {
    let argv: Vec<String> = std::iter::once("skopeo")
        .chain(args.iter().copied())
        .map(str::to_owned)
        .collect();
    let Output {
        code,
        stdout,
        stderr,
    } = components()
        .0
        .run_command(&argv, dirs, Stdio::Capture)
        .unwrap();
    RunResult {
        code,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: strip_log_time(&String::from_utf8_lossy(&stderr)),
    }
}

/// Asserts the native CLI and the command component agree on `args`.
fn same_in_component(args: &[&str], cwd: &Path, dirs: &[PathBuf]) -> RunResult {
    let native = run(&our_skopeo(), args, cwd);
    let wasi = component(args, dirs);
    assert_eq!(
        wasi,
        native,
        "component differs on skopeo {}",
        args.join(" ")
    );
    native
}

/// The library's answer as the CLI would show it: the bytes, or the fatal message.
fn library_as_cli(result: Result<Vec<u8>, ImageError>) -> (i32, String, String) {
    match result {
        Ok(bytes) => (0, String::from_utf8(bytes).unwrap(), String::new()),
        Err(e) => (1, String::new(), e.message().to_owned()),
    }
}

/// The message inside a `level=fatal msg="…"` line.
fn fatal_message(stderr: &str) -> String {
    let line = stderr.lines().last().unwrap_or("");
    let quoted = line.split_once("msg=").map_or("", |(_, m)| m);
    serde_json_unquote(quoted)
}

/// Undoes Go's `%q` for the ASCII messages we compare.
fn serde_json_unquote(s: &str) -> String {
    let inner = s
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s);
    inner.replace("\\\"", "\"").replace("\\\\", "\\")
}

fn inspect_options(raw: bool, config: bool, registry: RegistryOptions) -> InspectOptions {
    InspectOptions {
        registry,
        platform: PlatformChoice {
            os: None,
            architecture: None,
            variant: None,
        },
        raw,
        config,
        no_tags: false,
        format: None,
    }
}

fn no_registry() -> RegistryOptions {
    RegistryOptions {
        tls_verify: None,
        creds: None,
        registry_token: None,
    }
}

#[test]
fn manifest_digests_of_the_shared_vectors() {
    let Some(fx) = fixtures_dir() else { return };
    let mut library = components().1.library(&[]).unwrap();
    let mut checked = 0;
    for sub in ["manifests", "manifest-conversions"] {
        let dir = std::fs::canonicalize(fx.join(sub)).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let p = path.to_str().unwrap();
            let native =
                same_in_component(&["manifest-digest", p], &dir, std::slice::from_ref(&dir));
            let exported = library
                .manifest_digest(&std::fs::read(&path).unwrap())
                .unwrap();
            match exported {
                Ok(digest) => assert_eq!(format!("{digest}\n"), native.stdout, "{p}"),
                Err(e) => assert_eq!(e.message(), fatal_message(&native.stderr), "{p}"),
            }
            checked += 1;
        }
    }
    assert!(checked > 60, "only {checked} manifests");
}

#[test]
fn inspect_of_the_shared_layouts() {
    let Some(fx) = fixtures_dir() else { return };
    // Preopens match paths literally: use the resolved path the core will ask for.
    let dir = std::fs::canonicalize(fx.join("layouts-archives")).unwrap();
    let mut library = components().1.library(std::slice::from_ref(&dir)).unwrap();
    let names = [
        "dir-uncompressed-image-s1",
        "dir-uncompressed-image-s2",
        "oci-layout/delete_image_only_one_image:latest",
        "oci-layout/two_images_manifest",
        "oci-layout/name_lookups:nope",
    ];
    for name in names {
        let transport = if name.starts_with("oci") {
            "oci"
        } else {
            "dir"
        };
        let image = format!("{transport}:{}/{name}", dir.display());
        for (raw, config) in [(false, false), (true, false), (false, true), (true, true)] {
            let mut args = vec!["inspect"];
            if raw {
                args.push("--raw");
            }
            if config {
                args.push("--config");
            }
            args.push(&image);
            let native = same_in_component(&args, &dir, std::slice::from_ref(&dir));
            let exported = library
                .inspect(&image, &inspect_options(raw, config, no_registry()))
                .unwrap();
            let (code, stdout, message) = library_as_cli(exported);
            assert_eq!(
                (code, stdout, message),
                (
                    native.code,
                    native.stdout.clone(),
                    fatal_message(&native.stderr)
                ),
                "library differs on {args:?}"
            );
        }
    }
}

#[test]
fn registry_inspect_and_list_tags() {
    // Tag lists come two tags a page, so every host follows `Link` headers.
    let Some(reg) = setup(Flavour::Paged) else {
        return;
    };
    for tag in ["v1", "v2", "v3"] {
        assert!(reg.push(&format!("three/hosts:{tag}"), &["--dest-tls-verify=false"]));
    }
    let cwd = reg.dir.0.clone();
    let img = reg.image("three/hosts:v1");
    let repo = reg.image("three/hosts");
    let t = "--tls-verify=false";
    for args in [
        vec!["inspect", t, &img],
        vec!["inspect", t, "--raw", &img],
        vec!["inspect", t, "--config", &img],
        vec![
            "inspect",
            t,
            "--no-tags",
            "--format",
            "{{.Digest}} {{.Os}}",
            &img,
        ],
        vec!["list-tags", t, &repo],
        vec!["inspect", t, &reg.image("three/hosts:nope")],
        vec!["list-tags", t, &reg.image("no/such")],
        vec!["inspect", &img],
    ] {
        same_in_component(&args, &cwd, &[]);
    }
    let mut library = components().1.library(&[]).unwrap();
    let insecure = RegistryOptions {
        tls_verify: Some(false),
        ..no_registry()
    };
    let native = run(&our_skopeo(), &["inspect", t, &img], &cwd);
    let exported = library
        .inspect(&img, &inspect_options(false, false, insecure.clone()))
        .unwrap();
    assert_eq!(library_as_cli(exported), (0, native.stdout, String::new()));
    let tags = library.list_tags(&repo, &insecure).unwrap().unwrap();
    assert_eq!(tags, ["v1", "v2", "v3"]);
    let native = run(&our_skopeo(), &["list-tags", t, &repo], &cwd);
    assert_eq!(
        String::from_utf8(skopeo_core_tag_list(&reg.addr, &tags)).unwrap(),
        native.stdout
    );
    let missing = library
        .inspect(
            &reg.image("three/hosts:nope"),
            &inspect_options(false, false, insecure),
        )
        .unwrap()
        .unwrap_err();
    assert!(matches!(missing, ImageError::Registry(_)), "{missing:?}");
}

/// The tag list document the CLI prints (what a host renders from `list-tags`' result).
fn skopeo_core_tag_list(addr: &str, tags: &[String]) -> Vec<u8> {
    let body: Vec<String> = tags.iter().map(|t| format!("        \"{t}\"")).collect();
    format!(
        "{{\n    \"Repository\": \"{addr}/three/hosts\",\n    \"Tags\": [\n{}\n    ]\n}}\n",
        body.join(",\n")
    )
    .into_bytes()
}

#[test]
fn registry_with_credentials() {
    let Some(reg) = setup(Flavour::Htpasswd) else {
        return;
    };
    let creds = format!("{USER}:{PASSWORD}");
    assert!(reg.push(
        "auth/img:v1",
        &["--dest-tls-verify=false", "--dest-creds", &creds]
    ));
    let img = reg.image("auth/img:v1");
    let t = "--tls-verify=false";
    for args in [
        vec!["inspect", t, "--creds", &creds, &img],
        vec!["inspect", t, "--creds", "alice:wrong", &img],
        vec!["inspect", t, &img],
        vec!["list-tags", t, "--creds", &creds, &reg.image("auth/img")],
    ] {
        same_in_component(&args, &reg.dir.0, &[]);
    }
}

#[test]
fn registry_sync_in_component() {
    let Some(src) = setup(Flavour::Plain) else {
        return;
    };
    for tag in ["v1", "v2", "1.10"] {
        assert!(src.push(&format!("mirror/app:{tag}"), &["--dest-tls-verify=false"]));
    }
    let dst = skopeo_integration_tests::registry::Registry::start(Flavour::Plain);
    let cwd = src.dir.0.clone();
    let from = src.image("mirror/app");
    let from = from.trim_start_matches("docker://");
    let tls = ["--src-tls-verify=false", "--dest-tls-verify=false"];
    let sync_args = |root: &str, extra: &[&'static str]| -> Vec<String> {
        let mut args: Vec<String> = ["sync", "--src", "docker", "--dest", "docker"]
            .iter()
            .chain(&tls)
            .chain(extra)
            .map(|s| s.to_string())
            .collect();
        args.extend([from.to_owned(), format!("{}/{root}", dst.addr)]);
        args
    };
    // A dry run, the first sync, and the same again: the component prints what the native
    // CLI prints (its destination named as ours), and leaves the same tags.
    for (extra, expect_copies) in [(&["--dry-run"][..], 0), (&[][..], 3), (&[][..], 0)] {
        let native_args = sync_args("native", extra);
        let mut native_argv: Vec<&str> = vec!["--insecure-policy"];
        native_argv.extend(native_args.iter().map(String::as_str));
        let native = run(&our_skopeo(), &native_argv, &cwd);
        let wasi_args = sync_args("wasi", extra);
        let wasi_argv: Vec<&str> = wasi_args.iter().map(String::as_str).collect();
        let wasi = component(&wasi_argv, &[]);
        assert_eq!(wasi.code, 0, "{}", wasi.stderr);
        assert_eq!(native.code, 0, "{}", native.stderr);
        assert_eq!(wasi.stdout, native.stdout);
        let native_lines: Vec<String> = native
            .stderr
            .lines()
            .map(|l| l.replace("/native/", "/wasi/"))
            .collect();
        let mut wasi_lines: Vec<String> = wasi.stderr.lines().map(str::to_owned).collect();
        let mut sorted_native = native_lines.clone();
        sorted_native.sort();
        wasi_lines.sort();
        assert_eq!(wasi_lines, sorted_native);
        assert_eq!(
            wasi.stderr.matches("Copying image ref").count(),
            expect_copies,
            "{}",
            wasi.stderr
        );
    }
    let copied = dst.tags_and_digests("wasi/app");
    assert_eq!(copied.len(), 3);
    assert_eq!(copied, dst.tags_and_digests("native/app"));
    // Transports the component cannot reach are refused by name.
    let refused = component(
        &["sync", "--src", "dir", "--dest", "docker", "/x", "y"],
        &[],
    );
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("between registries only"),
        "{}",
        refused.stderr
    );
}

#[test]
fn standalone_verify_of_the_signature_vectors_in_component() {
    let Some(fx) = fixtures_dir() else { return };
    let gpg = std::fs::canonicalize(fx.join("signatures-gpg")).unwrap();
    let tmp = TempDir::new("three-hosts-verify");
    let keys = tmp.0.join("keys.gpg");
    std::fs::write(
        &keys,
        skopeo_integration_tests::gnupg::fixture_public_keys(&gpg),
    )
    .unwrap();
    let table: serde_json::Value = serde_json::from_slice(
        &std::fs::read(gpg.join("expected-standalone-verify.json")).unwrap(),
    )
    .unwrap();
    let dirs = [gpg.clone(), tmp.0.clone()];
    let mut checked = 0;
    for (name, case) in table.as_object().unwrap() {
        if name.starts_with('_') {
            continue;
        }
        let signature = gpg.join(name.split(' ').next().unwrap());
        let manifest = gpg.join(case["manifest"].as_str().unwrap());
        let args = [
            "standalone-verify",
            "--public-key-file",
            keys.to_str().unwrap(),
            manifest.to_str().unwrap(),
            case["reference"].as_str().unwrap(),
            case["fingerprint"].as_str().unwrap(),
            signature.to_str().unwrap(),
        ];
        let result = same_in_component(&args, &tmp.0, &dirs);
        // skopeo 1.9.3's outcome (its keys came from a GnuPG home holding the same keys).
        let expected_code = case["exit_code"].as_i64().unwrap() as i32;
        assert_eq!(result.code, expected_code, "{name}: {}", result.stderr);
        let output = case["output"].as_str().unwrap();
        match expected_code {
            0 => assert_eq!(result.stdout.trim_end(), output, "{name}"),
            _ => assert_eq!(result.stderr.trim_end(), output, "{name}"),
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} vectors");
}
