//! Manifest format changes in `copy` (`--format`, lists converted with their images,
//! `--preserve-digests`), side by side with skopeo 1.9.3: the same files written, the same
//! refusals, and nothing left behind by a refused copy.

use skopeo_integration_tests::*;
use std::path::Path;

/// Runs `copy -q ARGS` with `bin`; returns the exit code and standard error.
fn copy(bin: &Path, args: &[&str], cwd: &Path) -> (i32, String) {
    let mut all = vec!["--insecure-policy", "copy", "-q"];
    all.extend_from_slice(args);
    let out = run(bin, &all, cwd);
    (out.code, out.stderr)
}

/// Runs the same copy with both tools into `ours/DEST` and `skopeo/DEST` (the `{}` in `dest`);
/// both must succeed and write the same files.
fn same_copy(reference: &Path, tmp: &Path, flags: &[&str], src: &str, dest: &str) {
    for (who, bin) in [("ours", our_skopeo()), ("skopeo", reference.to_path_buf())] {
        let d = dest.replace("{}", &tmp.join(who).display().to_string());
        let mut args = flags.to_vec();
        args.extend([src, d.as_str()]);
        let (code, stderr) = copy(&bin, &args, tmp);
        assert_eq!(code, 0, "{who} copy {args:?}: {stderr}");
    }
    let path = |who: &str| {
        let d = dest.replace("{}", &tmp.join(who).display().to_string());
        let p = d.split_once(':').unwrap().1.to_owned();
        // oci:PATH:TAG names a directory PATH.
        match p.rsplit_once(':') {
            Some((dir, _)) if dest.starts_with("oci:") => dir.to_owned(),
            _ => p,
        }
    };
    assert_eq!(
        tree(Path::new(&path("ours"))),
        tree(Path::new(&path("skopeo"))),
        "copy {flags:?} {src} {dest} wrote other files than skopeo"
    );
}

#[test]
fn format_conversions_write_what_skopeo_writes() {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("copy-formats");
    let layout = example_layout(&tmp.0);
    add_multi_platform_index(&layout);
    for who in ["ours", "skopeo"] {
        std::fs::create_dir_all(tmp.0.join(who)).unwrap();
    }
    let single = format!("oci:{}:demo", layout.display());
    let multi = format!("oci:{}:multi", layout.display());
    // One image, OCI -> docker v2 schema 2, into a layout (which then holds a docker manifest).
    same_copy(
        &reference,
        &tmp.0,
        &["--format", "v2s2"],
        &single,
        "oci:{}/v2s2:1",
    );
    // An index and both images -> a docker manifest list of schema 2 images.
    same_copy(
        &reference,
        &tmp.0,
        &["--all", "--format", "v2s2"],
        &multi,
        "dir:{}/list",
    );
    same_copy(
        &reference,
        &tmp.0,
        &["--all", "--format", "v2s2"],
        &multi,
        "oci:{}/listoci:1",
    );
    // And back: the docker list from dir: becomes an OCI index of OCI images.
    let docker_list = format!("dir:{}/skopeo/list", tmp.0.display());
    same_copy(
        &reference,
        &tmp.0,
        &["--all", "--format", "oci"],
        &docker_list,
        "oci:{}/back:1",
    );
    // Without --format, an OCI layout still needs the docker list converted.
    same_copy(
        &reference,
        &tmp.0,
        &["--all"],
        &docker_list,
        "oci:{}/implied:1",
    );
    // With --format naming the source's own type nothing changes.
    same_copy(
        &reference,
        &tmp.0,
        &["--format", "oci"],
        &single,
        "dir:{}/same",
    );
    let ours_same = tree(&tmp.0.join("ours/same"));
    let manifest = ours_same
        .iter()
        .find(|(n, _)| n == "manifest.json")
        .unwrap();
    let source = run(&our_skopeo(), &["inspect", "--raw", &single], &tmp.0).stdout;
    assert_eq!(manifest.1, source.as_bytes());
}

#[test]
fn preserve_digests_keeps_manifests_and_layers_as_they_are() {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("copy-preserve");
    let layout = example_layout(&tmp.0);
    add_multi_platform_index(&layout);
    for who in ["ours", "skopeo"] {
        std::fs::create_dir_all(tmp.0.join(who)).unwrap();
    }
    let single = format!("oci:{}:demo", layout.display());
    let archive = tmp.0.join("saved.tar");
    let (code, stderr) = copy(
        &reference,
        &[
            &single,
            &format!("docker-archive:{}:saved:1", archive.display()),
        ],
        &tmp.0,
    );
    assert_eq!(code, 0, "{stderr}");
    // A docker archive's plain layer and schema 2 manifest go into a layout unchanged.
    let saved = format!("docker-archive:{}", archive.display());
    same_copy(
        &reference,
        &tmp.0,
        &["--preserve-digests"],
        &saved,
        "oci:{}/kept:1",
    );
    let index = std::fs::read_to_string(tmp.0.join("ours/kept/index.json")).unwrap();
    assert!(index.contains("application/vnd.docker.distribution.manifest.v2+json"));
    // --format is ignored rather than break the digest.
    same_copy(
        &reference,
        &tmp.0,
        &["--preserve-digests", "--format", "v2s2"],
        &single,
        "dir:{}/ignored",
    );

    // Refusals: the same message, exit 1, and no destination made.
    let multi = format!("oci:{}:multi", layout.display());
    let refusals: [(&[&str], String, &str); 4] = [
        (
            &["--all", "--format", "v2s2", "--preserve-digests"],
            multi.clone(),
            "dir:{}/nolist",
        ),
        (
            &["--format", "oci"],
            single.clone(),
            "docker-archive:{}/oci.tar",
        ),
        (&["--all"], multi.clone(), "docker-archive:{}/multi.tar"),
        (&["--format", "xyz"], single.clone(), "dir:{}/xyz"),
    ];
    for (flags, src, dest) in refusals {
        let mut messages = Vec::new();
        for (who, bin) in [("ours", our_skopeo()), ("skopeo", reference.clone())] {
            let d = dest.replace("{}", &tmp.0.join(who).display().to_string());
            let mut args = flags.to_vec();
            args.extend([src.as_str(), d.as_str()]);
            let (code, stderr) = copy(&bin, &args, &tmp.0);
            assert_eq!(code, 1, "{who} copy {args:?} should fail");
            messages.push(strip_log_time(&stderr));
        }
        assert_eq!(messages[0], messages[1], "copy {flags:?} {src} {dest}");
        let ours = dest.replace("{}", &tmp.0.join("ours").display().to_string());
        let path = ours.split_once(':').unwrap().1;
        assert!(!Path::new(path).exists(), "{path} was left behind");
    }
}

#[test]
fn lists_are_converted_on_the_way_to_and_from_a_registry() {
    use skopeo_integration_tests::registry::{setup, Flavour};
    let Some(reg) = setup(Flavour::Plain) else {
        return;
    };
    let reference = reference_skopeo().unwrap();
    let tmp = TempDir::new("copy-formats-registry");
    let layout = example_layout(&tmp.0);
    add_multi_platform_index(&layout);
    for who in ["ours", "skopeo"] {
        std::fs::create_dir_all(tmp.0.join(who)).unwrap();
    }
    let multi = format!("oci:{}:multi", layout.display());
    let t = ["--src-tls-verify=false", "--dest-tls-verify=false"];
    // Pushed as a docker list of schema 2 images by each tool to its own repository...
    for (who, bin) in [("ours", our_skopeo()), ("skopeo", reference.clone())] {
        let dest = reg.image(&format!("{who}/multi:v1"));
        let mut args = t.to_vec();
        args.extend(["--all", "--format", "v2s2", &multi, &dest]);
        let (code, stderr) = copy(&bin, &args, &tmp.0);
        assert_eq!(code, 0, "{who}: {stderr}");
    }
    let raw = |image: &str| {
        let out = run(
            &reference,
            &["inspect", "--raw", "--tls-verify=false", image],
            &tmp.0,
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout
    };
    assert_eq!(
        raw(&reg.image("ours/multi:v1")),
        raw(&reg.image("skopeo/multi:v1"))
    );
    // ...and pulled back into OCI layouts with everything converted to OCI.
    let mut flags = t.to_vec();
    flags.push("--all");
    same_copy(
        &reference,
        &tmp.0,
        &flags,
        &reg.image("skopeo/multi:v1"),
        "oci:{}/pulled:1",
    );
}
