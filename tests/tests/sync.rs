//! `sync` side by side with skopeo 1.9.3 on real registries: the same destination tags,
//! manifest digests, trees and log lines; and what only ours does (re-syncs that skip what
//! is there, `--shard`, `--append-suffix`, `--digestfile`, `--plan-out`).

use skopeo_integration_tests::registry::{setup, Flavour, Registry, PASSWORD, USER};
use skopeo_integration_tests::sync;
use skopeo_integration_tests::*;

const NO_TLS: [&str; 2] = ["--src-tls-verify=false", "--dest-tls-verify=false"];

/// Log lines without times, with `ours`' destination written as `theirs`'.
fn log_lines(r: &RunResult, ours: &str, theirs: &str) -> String {
    format!("{}\n{}", r.stdout, r.stderr).replace(ours, theirs)
}

fn registries() -> Option<(Registry, Registry)> {
    let src = setup(Flavour::Plain)?;
    for tag in ["v1", "v2", "1.10", "latest"] {
        src.push(&format!("src/app:{tag}"), &["--dest-tls-verify=false"]);
    }
    for tag in ["1.0", "2.0.1", "2.1", "3.0.0-rc1"] {
        src.push(&format!("src/lib:{tag}"), &["--dest-tls-verify=false"]);
    }
    Some((src, Registry::start(Flavour::Plain)))
}

#[test]
fn docker_to_docker_and_dir_match_skopeo() {
    let Some((src, dst)) = registries() else {
        return;
    };
    let reference = reference_skopeo().unwrap();
    let cwd = src.dir.0.clone();
    let from = format!("{}/src/app", src.addr);
    // Every tag, then one tag, to registry paths of their own.
    for (source, suffix) in [(from.clone(), ""), (format!("{from}:v2"), "-one")] {
        let ours_root = format!("{}/ours{suffix}", dst.addr);
        let theirs_root = format!("{}/theirs{suffix}", dst.addr);
        let mut args = vec!["--src", "docker", "--dest", "docker"];
        args.extend(NO_TLS);
        let ours = sync(
            &our_skopeo(),
            &[&args[..], &[&source, &ours_root]].concat(),
            &cwd,
        );
        let theirs = sync(
            &reference,
            &[&args[..], &[&source, &theirs_root]].concat(),
            &cwd,
        );
        assert_eq!(ours.code, 0, "{}", ours.stderr);
        assert_eq!(theirs.code, 0, "{}", theirs.stderr);
        assert_eq!(
            log_lines(&ours, &ours_root, &theirs_root),
            log_lines(&theirs, "", "")
        );
        assert_eq!(
            dst.tags_and_digests(&format!("ours{suffix}/app")),
            dst.tags_and_digests(&format!("theirs{suffix}/app"))
        );
    }
    assert_eq!(dst.tags_and_digests("ours/app").len(), 4);
    assert_eq!(dst.tags_and_digests("ours-one/app").len(), 1);

    // To directories, scoped and not: the same trees.
    let tmp = TempDir::new("sync-dir");
    for scoped in [false, true] {
        let (ours_dir, theirs_dir) = (
            tmp.0.join(format!("ours-{scoped}")),
            tmp.0.join(format!("theirs-{scoped}")),
        );
        let mut args = vec!["--src", "docker", "--dest", "dir", "--src-tls-verify=false"];
        if scoped {
            args.push("--scoped");
        }
        let o = ours_dir.to_str().unwrap();
        let t = theirs_dir.to_str().unwrap();
        let ours = sync(&our_skopeo(), &[&args[..], &[&from, o]].concat(), &cwd);
        let theirs = sync(&reference, &[&args[..], &[&from, t]].concat(), &cwd);
        assert_eq!(ours.code, 0, "{}", ours.stderr);
        assert_eq!(theirs.code, 0, "{}", theirs.stderr);
        assert_eq!(log_lines(&ours, o, t), log_lines(&theirs, "", ""));
        assert_eq!(tree(&ours_dir), tree(&theirs_dir));
        assert!(!tree(&ours_dir).is_empty());
    }

    // And back from a directory tree to a registry.
    let tree_root = tmp.0.join("ours-false");
    let t = tree_root.to_str().unwrap();
    let ours_root = format!("{}/back-ours", dst.addr);
    let theirs_root = format!("{}/back-theirs", dst.addr);
    let args = [
        "--src",
        "dir",
        "--dest",
        "docker",
        "--dest-tls-verify=false",
    ];
    let ours = sync(&our_skopeo(), &[&args[..], &[t, &ours_root]].concat(), &cwd);
    let theirs = sync(&reference, &[&args[..], &[t, &theirs_root]].concat(), &cwd);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    assert_eq!(theirs.code, 0, "{}", theirs.stderr);
    assert_eq!(
        log_lines(&ours, &ours_root, &theirs_root),
        log_lines(&theirs, "", "")
    );
    let back = dst.tags_and_digests("back-ours/app");
    assert_eq!(back.len(), 4);
    assert_eq!(back, dst.tags_and_digests("back-theirs/app"));
}

#[test]
fn yaml_sources_match_skopeo_and_dry_runs_write_nothing() {
    let Some((src, dst)) = registries() else {
        return;
    };
    let reference = reference_skopeo().unwrap();
    let cwd = src.dir.0.clone();
    let tmp = TempDir::new("sync-yaml");
    let yaml = tmp.0.join("sync.yaml");
    std::fs::write(
        &yaml,
        format!(
            "{}:\n  tls-verify: false\n  images:\n    src/app: [1.10, v1]\n  images-by-tag-regex:\n    src/lib: ^2\\.\n",
            src.addr
        ),
    )
    .unwrap();
    let y = yaml.to_str().unwrap();
    for dry in [true, false] {
        let ours_root = format!("{}/y-ours", dst.addr);
        let theirs_root = format!("{}/y-theirs", dst.addr);
        let mut args = vec![
            "--src",
            "yaml",
            "--dest",
            "docker",
            "--dest-tls-verify=false",
        ];
        if dry {
            args.push("--dry-run");
        }
        let ours = sync(&our_skopeo(), &[&args[..], &[y, &ours_root]].concat(), &cwd);
        let theirs = sync(&reference, &[&args[..], &[y, &theirs_root]].concat(), &cwd);
        assert_eq!(ours.code, 0, "{}", ours.stderr);
        assert_eq!(theirs.code, 0, "{}", theirs.stderr);
        assert_eq!(
            log_lines(&ours, &ours_root, &theirs_root),
            log_lines(&theirs, "", "")
        );
        let app = dst.tags_and_digests("y-ours/app");
        let lib = dst.tags_and_digests("y-ours/lib");
        match dry {
            true => assert!(app.is_empty() && lib.is_empty(), "a dry run copied"),
            false => {
                assert_eq!(app, dst.tags_and_digests("y-theirs/app"));
                assert_eq!(lib, dst.tags_and_digests("y-theirs/lib"));
                let tags: Vec<_> = app.iter().chain(&lib).map(|(t, _)| t.as_str()).collect();
                assert_eq!(tags, ["1.10", "v1", "2.0.1", "2.1"]);
            }
        }
    }

    // images-by-semver (newer skopeo): pre-releases only match constraints naming one.
    std::fs::write(
        &yaml,
        format!(
            "{}:\n  tls-verify: false\n  images-by-semver:\n    src/lib: \">= 2, < 3 || ~1\"\n",
            src.addr
        ),
    )
    .unwrap();
    let root = format!("{}/semver", dst.addr);
    let ours = sync(
        &our_skopeo(),
        &[
            "--src",
            "yaml",
            "--dest",
            "docker",
            "--dest-tls-verify=false",
            y,
            &root,
        ],
        &cwd,
    );
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    let tags: Vec<_> = dst
        .tags_and_digests("semver/lib")
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(tags, ["1.0", "2.0.1", "2.1"]);
}

#[test]
fn yaml_credentials_reach_an_htpasswd_registry() {
    let Some(src) = setup(Flavour::Htpasswd) else {
        return;
    };
    let creds = format!("--dest-creds={USER}:{PASSWORD}");
    src.push("private/app:v1", &["--dest-tls-verify=false", &creds]);
    let dst = Registry::start(Flavour::Plain);
    let tmp = TempDir::new("sync-auth");
    let yaml = tmp.0.join("auth.yaml");
    let body = |password: &str| {
        format!(
            "{}:\n  tls-verify: false\n  credentials:\n    username: {USER}\n    password: {password}\n  images:\n    private/app: []\n",
            src.addr
        )
    };
    std::fs::write(&yaml, body(PASSWORD)).unwrap();
    let y = yaml.to_str().unwrap();
    let root = format!("{}/mirror", dst.addr);
    let args = [
        "--src",
        "yaml",
        "--dest",
        "docker",
        "--dest-tls-verify=false",
        y,
        &root,
    ];
    let ours = sync(&our_skopeo(), &args, &tmp.0);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    assert_eq!(dst.tags_and_digests("mirror/app").len(), 1);
    std::fs::write(&yaml, body("wrong")).unwrap();
    let refused = sync(&our_skopeo(), &args, &tmp.0);
    let theirs = sync(&reference_skopeo().unwrap(), &args, &tmp.0);
    // A registry refusing the credentials refuses to list tags: a warning, nothing copied,
    // success (as skopeo: some registries refuse listing on purpose).
    assert_eq!((refused.code, theirs.code), (0, 0));
    for r in [&refused, &theirs] {
        let warned = "level=warning msg=\"Registry disallows tag list retrieval: ";
        assert!(r.stderr.contains(warned), "{}", r.stderr);
        assert!(r.stderr.contains("No refs to sync found"), "{}", r.stderr);
    }
    assert_eq!(dst.tags_and_digests("mirror/app").len(), 1);

    // A repository that does not exist cannot be listed: skopeo skips it and succeeds, ours
    // logs the same and fails at the end.
    std::fs::write(&yaml, body(PASSWORD).replace("private/app", "private/none")).unwrap();
    let ours = sync(&our_skopeo(), &args, &tmp.0);
    let theirs = sync(&reference_skopeo().unwrap(), &args, &tmp.0);
    assert_eq!((ours.code, theirs.code), (1, 0));
    for r in [&ours, &theirs] {
        let skipped = "level=error msg=\"Error processing repo, skipping\"";
        assert!(r.stderr.contains(skipped), "{}", r.stderr);
    }
}

#[test]
fn keep_going_bad_input_and_what_only_ours_does() {
    let Some((src, dst)) = registries() else {
        return;
    };
    let reference = reference_skopeo().unwrap();
    let cwd = src.dir.0.clone();
    let tmp = TempDir::new("sync-extra");
    let yaml = tmp.0.join("broken.yaml");
    std::fs::write(
        &yaml,
        format!(
            "{}:\n  tls-verify: false\n  images:\n    src/app: [nope, v1]\n",
            src.addr
        ),
    )
    .unwrap();
    let y = yaml.to_str().unwrap();
    for (bin, root) in [(our_skopeo(), "kg-ours"), (reference.clone(), "kg-theirs")] {
        let root = format!("{}/{root}", dst.addr);
        let args = [
            "--src",
            "yaml",
            "--dest",
            "docker",
            "--dest-tls-verify=false",
            "--keep-going",
            y,
            &root,
        ];
        let r = sync(&bin, &args, &cwd);
        assert_eq!(r.code, 1, "{r:?}");
        assert!(
            r.stderr
                .contains("Sync failed due to previous reported error(s) for one or more images"),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr
                .contains("level=error msg=\"Error copying ref \\\"docker://"),
            "{}",
            r.stderr
        );
    }
    assert_eq!(
        dst.tags_and_digests("kg-ours/app"),
        dst.tags_and_digests("kg-theirs/app")
    );

    // Bad input: a file as destination, a YAML that does not parse, a bad regex.
    let file = tmp.0.join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let from = format!("{}/src/app", src.addr);
    let r = sync(
        &our_skopeo(),
        &[
            "--src",
            "docker",
            "--dest",
            "dir",
            "--src-tls-verify=false",
            &from,
            file.to_str().unwrap(),
        ],
        &cwd,
    );
    assert_eq!(r.code, 1);
    let expected = format!(
        "Destination directory could not be used: stat {}/app:",
        file.display()
    );
    assert!(r.stderr.contains(&expected), "{}", r.stderr);
    assert!(r.stderr.contains(": not a directory"), "{}", r.stderr);
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
    std::fs::write(&yaml, "r:\n  images:\n    a: [x\n").unwrap();
    let r = sync(
        &our_skopeo(),
        &[
            "--src",
            "yaml",
            "--dest",
            "dir",
            y,
            tmp.0.join("o").to_str().unwrap(),
        ],
        &cwd,
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("Failed to unmarshal") && r.stderr.contains("line 3"),
        "{}",
        r.stderr
    );
    std::fs::write(&yaml, "r:\n  images-by-tag-regex:\n    a: \"([\"\n").unwrap();
    let r = sync(
        &our_skopeo(),
        &[
            "--src",
            "yaml",
            "--dest",
            "dir",
            y,
            tmp.0.join("o").to_str().unwrap(),
        ],
        &cwd,
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("Error parsing regex"), "{}", r.stderr);
    assert!(!tmp.0.join("o").exists(), "nothing written");
    // A source tree with no image in it, as skopeo says it.
    let empty = tmp.0.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = empty.to_str().unwrap();
    let args = [
        "--src",
        "dir",
        "--dest",
        "docker",
        "--dest-tls-verify=false",
        e,
        &dst.addr,
    ];
    let (ours, theirs) = (
        sync(&our_skopeo(), &args, &cwd),
        sync(&reference, &args, &cwd),
    );
    assert_eq!((ours.code, theirs.code), (1, 1));
    assert_eq!(ours.stderr, theirs.stderr);

    // --append-suffix and --digestfile: every copied image, with the digest it has there.
    let digests = tmp.0.join("digests");
    let root = format!("{}/suffixed", dst.addr);
    let mut args = vec![
        "--src",
        "docker",
        "--dest",
        "docker",
        "--append-suffix",
        "-mirror",
        "--digestfile",
        digests.to_str().unwrap(),
    ];
    args.extend(NO_TLS);
    let r = sync(&our_skopeo(), &[&args[..], &[&from, &root]].concat(), &cwd);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let copied = dst.tags_and_digests("suffixed/app");
    let tags: Vec<_> = copied.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        tags,
        ["1.10-mirror", "latest-mirror", "v1-mirror", "v2-mirror"]
    );
    let mut lines: Vec<String> = std::fs::read_to_string(&digests)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    let mut expected: Vec<String> = copied
        .iter()
        .map(|(t, d)| format!("{d} docker://{root}/app:{t}"))
        .collect();
    expected.sort();
    assert_eq!(lines, expected);
}

#[test]
fn re_syncs_skip_what_is_there_and_shards_add_up() {
    let Some((src, dst)) = registries() else {
        return;
    };
    let cwd = src.dir.0.clone();
    let from = format!("{}/src/app", src.addr);
    let root = format!("{}/again", dst.addr);
    let mut args = vec!["--src", "docker", "--dest", "docker"];
    args.extend(NO_TLS);
    // A first sync of one tag stands in for an interrupted one: the full run copies the rest.
    let one = sync(
        &our_skopeo(),
        &[&args[..], &[&format!("{from}:v1"), &root]].concat(),
        &cwd,
    );
    assert_eq!(one.code, 0, "{}", one.stderr);
    let (src_before, dst_before) = (src.requests().len(), dst.requests().len());
    let full = sync(&our_skopeo(), &[&args[..], &[&from, &root]].concat(), &cwd);
    assert_eq!(full.code, 0, "{}", full.stderr);
    let src_seen = src.requests()[src_before..].to_vec();
    let dst_seen = dst.requests()[dst_before..].to_vec();
    // Every copied tag names the same manifest: the first is copied (its layer and config
    // checked at the destination), the other two only get the manifest pushed again.
    let count = |seen: &[String], what: &str| seen.iter().filter(|r| r.contains(what)).count();
    assert_eq!(count(&dst_seen, "/blobs/"), 2, "{dst_seen:#?}");
    assert_eq!(
        count(&dst_seen, "PUT /v2/again/app/manifests/"),
        3,
        "{dst_seen:#?}"
    );
    assert_eq!(
        count(&src_seen, "GET /v2/src/app/manifests/"),
        1,
        "{src_seen:#?}"
    );
    assert_eq!(count(&src_seen, "/blobs/"), 0, "{src_seen:#?}");
    assert_eq!(
        full.stderr.matches("is already in sync").count(),
        1,
        "{}",
        full.stderr
    );
    assert_eq!(
        full.stderr.matches("Copying image ref").count(),
        3,
        "{}",
        full.stderr
    );

    // Nothing changed: no copy at all. The source's layer and config are gone, so any copy
    // would fail.
    let raw = run(
        &our_skopeo(),
        &[
            "inspect",
            "--tls-verify=false",
            "--raw",
            &format!("docker://{from}:v1"),
        ],
        &cwd,
    );
    let manifest: serde_json::Value = serde_json::from_str(&raw.stdout).unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap().to_owned();
    let config = manifest["config"]["digest"].as_str().unwrap().to_owned();
    for digest in [layer, config] {
        let hex = digest.strip_prefix("sha256:").unwrap();
        let blob = src
            .dir
            .0
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex);
        std::fs::remove_dir_all(&blob).unwrap();
    }
    let (src_before, dst_before) = (src.requests().len(), dst.requests().len());
    let again = sync(&our_skopeo(), &[&args[..], &[&from, &root]].concat(), &cwd);
    assert_eq!(again.code, 0, "{}", again.stderr);
    // One listing per repository and one digest per tag on each side, nothing else.
    let src_seen = src.requests()[src_before..].to_vec();
    let dst_seen = dst.requests()[dst_before..].to_vec();
    for seen in [&src_seen, &dst_seen] {
        assert_eq!(seen.len(), 5, "{seen:#?}");
        assert_eq!(count(seen, "HEAD /v2/"), 4, "{seen:#?}");
        assert_eq!(count(seen, "/manifests/"), 4, "{seen:#?}");
        assert_eq!(count(seen, "/tags/list"), 1, "{seen:#?}");
    }
    assert_eq!(
        again.stderr.matches("is already in sync").count(),
        4,
        "{}",
        again.stderr
    );
    assert!(
        !again.stderr.contains("Copying image ref"),
        "{}",
        again.stderr
    );
    assert!(again.stdout.is_empty(), "{}", again.stdout);

    // Shards of a plan: their union is the whole plan, each repository in one shard.
    let tmp = TempDir::new("sync-shards");
    let plan_of = |extra: &[&str], name: &str| -> Vec<(String, String)> {
        let out = tmp.0.join(name);
        let yaml = tmp.0.join("repos.yaml");
        let repos: String = (0..8)
            .map(|i| format!("    r{i}/app: [v1, v2]\n"))
            .collect();
        std::fs::write(
            &yaml,
            format!("{}:\n  tls-verify: false\n  images:\n{repos}", src.addr),
        )
        .unwrap();
        let mut all = vec![
            "--src",
            "yaml",
            "--dest",
            "docker",
            "--dest-tls-verify=false",
            "--dry-run",
            "--plan-out",
            out.to_str().unwrap(),
        ];
        all.extend_from_slice(extra);
        let mirror = format!("{}/m", dst.addr);
        let r = sync(
            &our_skopeo(),
            &[&all[..], &[yaml.to_str().unwrap(), &mirror]].concat(),
            &cwd,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        let plan: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        let mut pairs = Vec::new();
        for source in plan["sources"].as_array().unwrap() {
            for image in source["images"].as_array().unwrap() {
                pairs.push((
                    image["source"].as_str().unwrap().to_owned(),
                    image["repository"].as_str().unwrap().to_owned(),
                ));
            }
        }
        pairs.sort();
        pairs
    };
    let whole = plan_of(&[], "whole.json");
    assert_eq!(whole.len(), 16);
    let mut union = Vec::new();
    let mut repos_seen = std::collections::BTreeMap::new();
    for k in 0..3 {
        let part = plan_of(&["--shard", &format!("{k}/3")], &format!("part{k}.json"));
        for (_, repo) in &part {
            let shard = repos_seen.entry(repo.clone()).or_insert(k);
            assert_eq!(*shard, k, "{repo} in two shards");
        }
        union.extend(part);
    }
    union.sort();
    assert_eq!(union, whole);
}
