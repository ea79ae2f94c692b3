//! registries.conf against real registries, side by side with skopeo 1.9.3 (both read the
//! file given by the global `--registries-conf`): mirrors and their fallbacks, prefix
//! rewrites, `insecure`, `blocked`, and `mirror-by-digest-only`.

use skopeo_integration_tests::registry::{setup, Flavour, Registry};
use skopeo_integration_tests::*;
use std::path::{Path, PathBuf};

/// Writes `text` as a registries.conf in `dir` and returns its path.
fn conf(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A primary registry (with `test/other:v1`) and a mirror (with `mirror/hello:v1`), or `None`
/// when the tools are missing.
fn primary_and_mirror() -> Option<(Registry, Registry)> {
    let primary = setup(Flavour::Plain)?;
    let mirror = Registry::start(Flavour::Plain);
    let t = ["--dest-tls-verify=false"];
    if !(primary.push("test/other:v1", &t) && mirror.push("mirror/hello:v1", &t)) {
        return None;
    }
    Some((primary, mirror))
}

#[test]
fn mirrors_are_tried_first_and_the_primary_last() {
    let Some((primary, mirror)) = primary_and_mirror() else {
        return;
    };
    let (p, m) = (&primary.addr, &mirror.addr);
    let file = conf(
        &primary.dir.0,
        "mirrors.conf",
        &format!(
            "[[registry]]\nlocation = \"{p}/test\"\ninsecure = true\n\n\
             [[registry.mirror]]\nlocation = \"{m}/mirror\"\ninsecure = true\n"
        ),
    );
    let file = file.to_str().unwrap();
    let cwd = &primary.dir.0;
    for args in [
        // Only the mirror has it; the output names the image as asked.
        vec!["--registries-conf", file, "inspect", "--no-tags"],
        // Only the primary has it.
        vec!["--registries-conf", file, "inspect"],
        vec!["--registries-conf", file, "inspect", "--raw"],
    ] {
        for image in ["test/hello:v1", "test/other:v1", "test/none:v1"] {
            let mut args = args.clone();
            let image = format!("docker://{p}/{image}");
            args.push(&image);
            assert_same(&args, cwd);
        }
    }
    // `insecure = true` allows plain HTTP without --tls-verify=false; list-tags ignores mirrors.
    for repo in ["test/other", "test/hello"] {
        assert_same(
            &[
                "--registries-conf",
                file,
                "list-tags",
                &format!("docker://{p}/{repo}"),
            ],
            cwd,
        );
    }
    // The mirror really served it: the primary has no test/hello.
    let ours = run(
        &our_skopeo(),
        &[
            "--registries-conf",
            file,
            "inspect",
            "--no-tags",
            "--format",
            "{{.Name}} {{.Digest}}",
            &format!("docker://{p}/test/hello:v1"),
        ],
        cwd,
    );
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    assert!(ours.stdout.starts_with(&format!("{p}/test/hello sha256:")));
}

#[test]
fn mirror_by_digest_only_skips_the_mirror_for_tags() {
    let Some((primary, mirror)) = primary_and_mirror() else {
        return;
    };
    let (p, m) = (&primary.addr, &mirror.addr);
    let file = conf(
        &primary.dir.0,
        "digest-only.conf",
        &format!(
            "[[registry]]\nlocation = \"{p}/test\"\ninsecure = true\nmirror-by-digest-only = true\n\n\
             [[registry.mirror]]\nlocation = \"{m}/mirror\"\ninsecure = true\n"
        ),
    );
    let file = file.to_str().unwrap();
    let digest = run(
        &our_skopeo(),
        &[
            "inspect",
            "--tls-verify=false",
            "--format",
            "{{.Digest}}",
            &mirror.image("mirror/hello:v1"),
        ],
        &primary.dir.0,
    )
    .stdout;
    let by_digest = format!("docker://{p}/test/hello@{}", digest.trim());
    let by_tag = format!("docker://{p}/test/hello:v1");
    for image in [&by_tag, &by_digest] {
        assert_same(
            &["--registries-conf", file, "inspect", "--no-tags", image],
            &primary.dir.0,
        );
    }
}

#[test]
fn prefixes_rewrite_and_blocked_registries_refuse() {
    let Some((primary, mirror)) = primary_and_mirror() else {
        return;
    };
    let (p, m) = (&primary.addr, &mirror.addr);
    let file = conf(
        &primary.dir.0,
        "rewrite.conf",
        &format!(
            "[[registry]]\nprefix = \"rewritten.example/foo\"\nlocation = \"{m}/mirror\"\ninsecure = true\n\n\
             [[registry]]\nprefix = \"{p}/alias\"\nlocation = \"{m}/mirror\"\ninsecure = true\n\n\
             [[registry]]\nlocation = \"{p}\"\nblocked = true\n"
        ),
    );
    let file = file.to_str().unwrap();
    let cwd = &primary.dir.0;
    let blocked = format!("docker://{p}/test/other:v1");
    // Tags are listed under the name as given (here on the blocked primary), not the rewrite.
    let alias = format!("docker://{p}/alias/hello:v1");
    for args in [
        vec![
            "inspect",
            "--no-tags",
            "docker://rewritten.example/foo/hello:v1",
        ],
        vec!["inspect", &alias],
        vec!["inspect", "--no-tags", &alias],
        vec![
            "inspect",
            "--raw",
            "docker://rewritten.example/foo/hello:v1",
        ],
        vec!["inspect", "--tls-verify=false", &blocked],
        vec![
            "list-tags",
            "--tls-verify=false",
            "docker://rewritten.example/foo/hello",
        ],
        vec!["delete", "--tls-verify=false", &blocked],
    ] {
        let mut all = vec!["--registries-conf", file];
        all.extend(args);
        assert_same(&all, cwd);
    }
}
