//! `sync` of multi-platform images (`--all` or one platform, side by side with skopeo 1.9.3)
//! and into OCI layouts (`--dest oci`, newer skopeo's destination: one layout per
//! repository, every tag in its index).

use skopeo_integration_tests::registry::{setup, Flavour, Registry};
use skopeo_integration_tests::*;

const NO_TLS: [&str; 2] = ["--src-tls-verify=false", "--dest-tls-verify=false"];

/// A source registry with `src/multi` (tags m1, m2: one two-platform index) and `src/app`
/// (tags v1, v2, 1.10: one image).
fn source() -> Option<Registry> {
    let src = setup(Flavour::Plain)?;
    let reference = reference_skopeo()?;
    let tmp = TempDir::new("sync-layouts-src");
    let layout = example_layout(&tmp.0);
    add_multi_platform_index(&layout);
    for (image, tag) in [
        ("multi", "src/multi:m1"),
        ("multi", "src/multi:m2"),
        ("demo", "src/app:v1"),
        ("demo", "src/app:v2"),
        ("demo", "src/app:1.10"),
    ] {
        let from = format!("oci:{}:{image}", layout.display());
        let to = format!("docker://{}/{tag}", src.addr);
        let args = [
            "--insecure-policy",
            "copy",
            "-q",
            "--all",
            "--dest-tls-verify=false",
            &from,
            &to,
        ];
        let r = run(&reference, &args, &tmp.0);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    Some(src)
}

#[test]
fn multi_platform_images_sync_as_skopeo_syncs_them() {
    let Some(src) = source() else { return };
    let dst = Registry::start(Flavour::Plain);
    let reference = reference_skopeo().unwrap();
    let cwd = src.dir.0.clone();
    let from = format!("{}/src/multi", src.addr);
    for (all, name) in [(true, "all"), (false, "one")] {
        let mut args = vec!["--src", "docker", "--dest", "docker"];
        args.extend(NO_TLS);
        if all {
            args.push("--all");
        }
        let ours_root = format!("{}/ours-{name}", dst.addr);
        let theirs_root = format!("{}/theirs-{name}", dst.addr);
        let ours = sync(
            &our_skopeo(),
            &[&args[..], &[&from, &ours_root]].concat(),
            &cwd,
        );
        let theirs = sync(
            &reference,
            &[&args[..], &[&from, &theirs_root]].concat(),
            &cwd,
        );
        assert_eq!(ours.code, 0, "{}", ours.stderr);
        assert_eq!(theirs.code, 0, "{}", theirs.stderr);
        assert_eq!(
            ours.stdout.replace(&ours_root, &theirs_root),
            theirs.stdout,
            "{name}"
        );
        let copied = dst.tags_and_digests(&format!("ours-{name}/multi"));
        assert_eq!(copied.len(), 2, "{name}");
        assert_eq!(
            copied,
            dst.tags_and_digests(&format!("theirs-{name}/multi"))
        );
        // With --all the index is copied as it is, every platform's image with it; without,
        // this machine's image alone.
        let source_index = run(
            &our_skopeo(),
            &[
                "inspect",
                "--raw",
                "--tls-verify=false",
                &format!("docker://{from}:m2"),
            ],
            &cwd,
        )
        .stdout;
        let index: serde_json::Value = serde_json::from_str(&source_index).unwrap();
        for entry in index["manifests"].as_array().unwrap() {
            let digest = entry["digest"].as_str().unwrap();
            let by_digest = format!("docker://{}/ours-{name}/multi@{digest}", dst.addr);
            let r = run(
                &our_skopeo(),
                &["inspect", "--raw", "--tls-verify=false", &by_digest],
                &cwd,
            );
            let arch = entry["platform"]["architecture"].as_str().unwrap();
            let this_machine = (cfg!(target_arch = "x86_64") && arch == "amd64")
                || (cfg!(target_arch = "aarch64") && arch == "arm64");
            assert_eq!(
                r.code == 0,
                all || this_machine,
                "{name} {digest}: {}",
                r.stderr
            );
        }
        // Run again: an index copied whole, or the platform's image taken from it, is
        // already there.
        let again = sync(
            &our_skopeo(),
            &[&args[..], &[&from, &ours_root]].concat(),
            &cwd,
        );
        assert_eq!(again.code, 0, "{}", again.stderr);
        let in_sync = again.stderr.matches("is already in sync").count();
        assert_eq!(in_sync, 2, "{name}: {}", again.stderr);
    }
}

#[test]
fn oci_destinations_hold_every_tag_of_a_repository_in_one_layout() {
    let Some(src) = source() else { return };
    let reference = reference_skopeo().unwrap();
    let cwd = src.dir.0.clone();
    let tmp = TempDir::new("sync-oci");
    let root = tmp.0.join("mirror");
    let root_s = root.to_str().unwrap();
    let args = [
        "--src",
        "docker",
        "--dest",
        "oci",
        "--src-tls-verify=false",
        "--all",
    ];
    for repo in ["src/app", "src/multi"] {
        let from = format!("{}/{repo}", src.addr);
        let r = sync(&our_skopeo(), &[&args[..], &[&from, root_s]].concat(), &cwd);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    // One layout per repository; each tag named in its index; each blob stored once.
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("app/index.json")).unwrap()).unwrap();
    let mut names: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .unwrap()
        })
        .collect();
    names.sort();
    assert_eq!(names, ["1.10", "v1", "v2"]);
    let blobs = std::fs::read_dir(root.join("app/blobs/sha256"))
        .unwrap()
        .count();
    assert_eq!(blobs, 3, "one manifest, one config, one layer");
    // What skopeo 1.9.3 reads from the layouts is what the source registry serves.
    for (layout, tag, repo) in [("app", "1.10", "src/app"), ("multi", "m2", "src/multi")] {
        let local = format!("oci:{}:{tag}", root.join(layout).display());
        let theirs = run(&reference, &["inspect", "--raw", &local], &cwd);
        assert_eq!(theirs.code, 0, "{}", theirs.stderr);
        let remote = format!("docker://{}/{repo}:{tag}", src.addr);
        let source = run(
            &our_skopeo(),
            &["inspect", "--raw", "--tls-verify=false", &remote],
            &cwd,
        );
        assert_eq!(theirs.stdout, source.stdout, "{layout}:{tag}");
        let out = tmp.0.join(format!("out-{layout}"));
        let dest = format!("dir:{}", out.display());
        let copied = run(
            &reference,
            &["--insecure-policy", "copy", "--all", &local, &dest],
            &cwd,
        );
        assert_eq!(copied.code, 0, "{}", copied.stderr);
    }
    // Run again: every tag is found in the layouts, nothing is written.
    let before = std::fs::read(root.join("app/index.json")).unwrap();
    let from = format!("{}/src/app", src.addr);
    let again = sync(&our_skopeo(), &[&args[..], &[&from, root_s]].concat(), &cwd);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        again.stderr.matches("is already in sync").count(),
        3,
        "{}",
        again.stderr
    );
    assert_eq!(std::fs::read(root.join("app/index.json")).unwrap(), before);
    // A destination that is a file is refused before anything is listed or written.
    let file = tmp.0.join("a-file");
    std::fs::write(&file, "x").unwrap();
    let refused = sync(
        &our_skopeo(),
        &[&args[..], &[&from, file.to_str().unwrap()]].concat(),
        &cwd,
    );
    assert_ne!(refused.code, 0);
    assert!(
        refused
            .stderr
            .contains("Destination directory could not be used: stat "),
        "{}",
        refused.stderr
    );
}
