//! Docker schema 1, side by side with skopeo 1.9.3. `copy --format v2s1`: OCI images
//! converted to signed schema 1; what gets signed is skopeo's payload byte for byte, so both
//! manifests have the same digest; the signatures differ (each copy signs with a fresh
//! throwaway key), and a registry taking schema 1 verifies ours when it is pushed. And back:
//! schema 1 images converted to schema 2 or OCI (a config made from the history, the layers'
//! diff IDs computed while they are copied) exactly as skopeo converts them.

use skopeo_integration_tests::registry::{setup, Flavour};
use skopeo_integration_tests::*;
use std::path::Path;

/// The gzipped empty tar schema 1 names for history entries that made no layer.
const EMPTY_LAYER: &str = "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, bytes).unwrap();
    gz.finish().unwrap()
}

/// An image of two gzip layers whose history has entries without layers, text that JSON
/// escapes, and each field schema 1 carries (author, comment, times with and without
/// fractions and offsets, one without a time).
fn layout(root: &Path) -> String {
    let layers: Vec<TestLayer> = [1u64, 2]
        .iter()
        .map(|&seed| {
            let tar = noise(40_000, seed);
            TestLayer {
                blob: gzip(&tar),
                media_type: "application/vnd.oci.image.layer.v1.tar+gzip",
                diff_id: skopeo_core::digest::Digest::sha256_of(&tar).to_string(),
            }
        })
        .collect();
    let history = serde_json::json!([
        {"created": "2024-05-06T07:08:01.5Z", "created_by": "/bin/sh -c #(nop) ADD file:1 in / ",
         "author": "Ann <ann@example.com>"},
        {"created": "2024-05-06T07:08:02Z", "created_by": "/bin/sh -c #(nop)  ENV A=<b> & c",
         "empty_layer": true, "comment": "set A"},
        {"created": "2024-05-06T09:08:03.000000001+02:00", "created_by": "/bin/sh -c echo hi > /f && true"},
        {"created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]", "empty_layer": true}
    ]);
    write_layout_with_config(
        root,
        "v1",
        &layers,
        serde_json::json!({
            "created": "2024-05-06T07:08:09.123456789Z",
            "author": "Ann <ann@example.com>",
            "config": {"Env": ["PATH=/usr/bin", "A=<b> & c"], "Cmd": ["sh"]},
            "history": history,
        }),
    )
}

/// The part of a signed schema 1 manifest that was signed.
fn payload(manifest: &[u8]) -> String {
    String::from_utf8(skopeo_core::manifest::jws::payload(manifest).unwrap()).unwrap()
}

fn copy(bin: &Path, args: &[&str], cwd: &Path) -> RunResult {
    let mut all = vec!["--insecure-policy", "copy", "--format", "v2s1"];
    all.extend_from_slice(args);
    let out = run(bin, &all, cwd);
    assert_eq!(out.code, 0, "{} {args:?}: {}", bin.display(), out.stderr);
    out
}

#[test]
fn dir_copies_sign_the_same_payload_as_skopeo() {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("schema1-dir");
    let src = layout(&tmp.0.join("src"));
    let (ours_dir, theirs_dir) = (tmp.0.join("ours"), tmp.0.join("theirs"));
    let ours_name = format!("dir:{}", ours_dir.display());
    let theirs_name = format!("dir:{}", theirs_dir.display());
    let ours = copy(&our_skopeo(), &[&src, &ours_name], &tmp.0);
    let theirs = copy(&reference, &[&src, &theirs_name], &tmp.0);
    // No config is copied: schema 1 has none.
    assert_eq!(ours.stdout, theirs.stdout);
    assert!(!ours.stdout.contains("Copying config"), "{}", ours.stdout);

    let (ours_tree, theirs_tree) = (tree(&ours_dir), tree(&theirs_dir));
    let names = |t: &[(String, Vec<u8>)]| t.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ours_tree), names(&theirs_tree));
    assert!(names(&ours_tree).contains(&EMPTY_LAYER.to_owned()));
    for ((name, a), (_, b)) in ours_tree.iter().zip(&theirs_tree) {
        match name.as_str() {
            "manifest.json" => {
                assert_eq!(payload(a), payload(b));
                assert_ne!(a, b, "each copy signs with a key of its own");
            }
            _ => assert_eq!(a, b, "{name}"),
        }
    }
    let manifest: serde_json::Value = serde_json::from_str(&payload(
        &std::fs::read(ours_dir.join("manifest.json")).unwrap(),
    ))
    .unwrap();
    assert_eq!(manifest["fsLayers"].as_array().unwrap().len(), 4);

    // Each tool inspects either copy alike (same digest, layers, history-derived fields).
    for bin in [our_skopeo(), reference.clone()] {
        let a = run(&bin, &["inspect", &ours_name], &tmp.0);
        let b = run(&bin, &["inspect", &theirs_name], &tmp.0);
        assert_eq!(a.code, 0, "{}", a.stderr);
        assert_eq!(a.stdout, b.stdout, "{}", bin.display());
    }
}

#[test]
fn a_registry_verifies_our_signature_and_skopeo_pulls_the_image() {
    let Some(registry) = setup(Flavour::Schema1) else {
        return;
    };
    let reference = reference_skopeo().unwrap();
    let tmp = TempDir::new("schema1-registry");
    let src = layout(&tmp.0.join("src"));
    let image = format!("docker://{}/s1/img:v1", registry.addr);
    let tls = "--dest-tls-verify=false";
    let digest_of = || {
        let out = run(
            &reference,
            &[
                "inspect",
                "--tls-verify=false",
                "--format",
                "{{.Digest}}",
                &image,
            ],
            &tmp.0,
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout
    };
    copy(&reference, &["-q", tls, &src, &image], &tmp.0);
    let theirs = digest_of();
    copy(&our_skopeo(), &["-q", tls, &src, &image], &tmp.0);
    assert_eq!(digest_of(), theirs);

    // The registry serves it re-signed with its own key: the payload is what we pushed.
    let raw = run(
        &reference,
        &["inspect", "--raw", "--tls-verify=false", &image],
        &tmp.0,
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&payload(raw.stdout.as_bytes())).unwrap();
    assert_eq!(manifest["name"], "s1/img");
    assert_eq!(manifest["tag"], "v1");
    let ours_dir = tmp.0.join("ours");
    copy(
        &our_skopeo(),
        &[&src, &format!("dir:{}", ours_dir.display())],
        &tmp.0,
    );
    let ours_manifest = std::fs::read(ours_dir.join("manifest.json")).unwrap();
    let with_name = payload(&ours_manifest).replacen(
        r#"{"name":"","tag":"""#,
        r#"{"name":"s1/img","tag":"v1""#,
        1,
    );
    assert_eq!(with_name, payload(raw.stdout.as_bytes()));

    // skopeo pulls it (converting it to OCI itself) as it pulls its own push.
    let pulled = tmp.0.join("pulled");
    let out = run(
        &reference,
        &[
            "--insecure-policy",
            "copy",
            "-q",
            "--src-tls-verify=false",
            &image,
            &format!("oci:{}:x", pulled.display()),
        ],
        &tmp.0,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn oci_layouts_and_zstd_layers_take_it_as_with_skopeo() {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("schema1-oci");
    let src = layout(&tmp.0.join("src"));
    // containers/image writes a schema 1 manifest into an OCI layout as it is asked to.
    let (ours_oci, theirs_oci) = (tmp.0.join("ours"), tmp.0.join("theirs"));
    copy(
        &our_skopeo(),
        &["-q", &src, &format!("oci:{}:x", ours_oci.display())],
        &tmp.0,
    );
    copy(
        &reference,
        &["-q", &src, &format!("oci:{}:x", theirs_oci.display())],
        &tmp.0,
    );
    let (ours_tree, theirs_tree) = (tree(&ours_oci), tree(&theirs_oci));
    assert_eq!(ours_tree.len(), theirs_tree.len());
    for ((name, a), (their_name, b)) in ours_tree.iter().zip(&theirs_tree) {
        assert_eq!(name, their_name);
        match a.starts_with(br#"{"name""#) {
            true => assert_eq!(payload(a), payload(b)),
            false => assert_eq!(a, b, "{name}"),
        }
    }

    // Schema 1 has no layer media types: containers/image names zstd layers all the same.
    let zstd = tmp.0.join("zstd");
    let zstd_name = format!("dir:{}", zstd.display());
    let args = ["--dest-compress", "--dest-compress-format", "zstd"];
    copy(
        &our_skopeo(),
        &[&args[..], &["-q", &src, &zstd_name]].concat(),
        &tmp.0,
    );
    let manifest: serde_json::Value = serde_json::from_str(&payload(
        &std::fs::read(zstd.join("manifest.json")).unwrap(),
    ))
    .unwrap();
    let newest = manifest["fsLayers"][1]["blobSum"].as_str().unwrap();
    let blob = std::fs::read(zstd.join(newest.trim_start_matches("sha256:"))).unwrap();
    assert_eq!(&blob[..4], &[0x28, 0xb5, 0x2f, 0xfd], "a zstd frame");
    let theirs = run(&reference, &["inspect", &zstd_name], &tmp.0);
    assert_eq!(theirs.code, 0, "{}", theirs.stderr);
}

/// What one copy printed and wrote.
fn copied(bin: &Path, args: &[&str], dest: &Path, cwd: &Path) -> (String, Vec<(String, Vec<u8>)>) {
    let mut all = vec!["--insecure-policy", "copy"];
    all.extend_from_slice(args);
    let out = run(bin, &all, cwd);
    assert_eq!(out.code, 0, "{} {args:?}: {}", bin.display(), out.stderr);
    (out.stdout, tree(dest))
}

#[test]
fn schema1_images_convert_to_schema2_and_oci_as_skopeo_converts_them() {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("from-schema1");
    let src = layout(&tmp.0.join("src"));
    let s1 = format!("dir:{}", tmp.0.join("s1").display());
    copy(&reference, &["-q", &src, &s1], &tmp.0);
    let cases: [(&str, &[&str]); 3] = [
        ("oci", &[]),
        ("dir", &["--format", "v2s2"]),
        ("dir", &["--format", "oci"]),
    ];
    for (i, (transport, flags)) in cases.into_iter().enumerate() {
        let mut results = Vec::new();
        for (who, bin) in [("ours", our_skopeo()), ("theirs", reference.clone())] {
            let dest = tmp.0.join(format!("{who}-{i}"));
            let name = match transport {
                "oci" => format!("oci:{}:x", dest.display()),
                _ => format!("dir:{}", dest.display()),
            };
            results.push(copied(
                &bin,
                &[flags, &[&s1, &name]].concat(),
                &dest,
                &tmp.0,
            ));
        }
        assert_eq!(results[0].0, results[1].0, "progress, case {i}");
        assert!(results[0].0.contains("Copying config"), "{}", results[0].0);
        assert_same_files(&results[0].1, &results[1].1, &format!("case {i}"));
    }
    // The config names the layers' uncompressed digests, base first.
    let oci = format!("oci:{}:x", tmp.0.join("ours-0").display());
    let config = run(
        &our_skopeo(),
        &["inspect", "--config", "--raw", &oci],
        &tmp.0,
    );
    let config: serde_json::Value = serde_json::from_str(&config.stdout).unwrap();
    let diff_ids: Vec<String> = [1u64, 2]
        .iter()
        .map(|&seed| skopeo_core::digest::Digest::sha256_of(&noise(40_000, seed)).to_string())
        .collect();
    assert_eq!(config["rootfs"]["diff_ids"], serde_json::json!(diff_ids));
    assert_eq!(config["history"].as_array().unwrap().len(), 4);

    // Converted, then recompressed: the same config, the layers named as zstd (the zstd
    // bytes themselves come from different encoders).
    let mut manifests = Vec::new();
    for (who, bin) in [("ours", our_skopeo()), ("theirs", reference.clone())] {
        let name = format!("oci:{}:x", tmp.0.join(format!("{who}-zstd")).display());
        copy_plain_with(
            &bin,
            &["--dest-compress-format", "zstd"],
            &s1,
            &name,
            &tmp.0,
        );
        let raw = run(&bin, &["inspect", "--raw", &name], &tmp.0).stdout;
        let mut m: serde_json::Value = serde_json::from_str(&raw).unwrap();
        for layer in m["layers"].as_array_mut().unwrap() {
            assert_eq!(
                layer["mediaType"],
                "application/vnd.oci.image.layer.v1.tar+zstd"
            );
            layer
                .as_object_mut()
                .unwrap()
                .retain(|k, _| k == "mediaType");
        }
        manifests.push(m);
    }
    assert_eq!(manifests[0], manifests[1]);

    // docker-archive: takes schema 2 only; each tool reads either archive alike.
    let archives: Vec<String> = ["ours", "theirs"]
        .iter()
        .map(|who| {
            format!(
                "docker-archive:{}",
                tmp.0.join(format!("{who}.tar")).display()
            )
        })
        .collect();
    copy_plain(&our_skopeo(), &s1, &archives[0], &tmp.0);
    copy_plain(&reference, &s1, &archives[1], &tmp.0);
    for bin in [our_skopeo(), reference.clone()] {
        for flags in [&["--config", "--raw"][..], &[]] {
            let read = |name: &str| run(&bin, &[&["inspect"], flags, &[name]].concat(), &tmp.0);
            let (a, b) = (read(&archives[0]), read(&archives[1]));
            assert_eq!(a.code, 0, "{}", a.stderr);
            assert_eq!((a.stdout, a.code), (b.stdout, b.code), "{}", bin.display());
        }
    }
}

fn copy_plain(bin: &Path, src: &str, dest: &str, cwd: &Path) {
    copy_plain_with(bin, &[], src, dest, cwd)
}

fn copy_plain_with(bin: &Path, flags: &[&str], src: &str, dest: &str, cwd: &Path) {
    let args = [&["--insecure-policy", "copy", "-q"], flags, &[src, dest]].concat();
    let out = run(bin, &args, cwd);
    assert_eq!(out.code, 0, "{}: {}", bin.display(), out.stderr);
}

#[test]
fn schema1_images_pulled_from_a_registry_convert_as_skopeo_converts_them() {
    let Some(registry) = setup(Flavour::Schema1) else {
        return;
    };
    let reference = reference_skopeo().unwrap();
    let tmp = TempDir::new("from-schema1-registry");
    let src = layout(&tmp.0.join("src"));
    let image = format!("docker://{}/s1/pull:v1", registry.addr);
    copy(
        &reference,
        &["-q", "--dest-tls-verify=false", &src, &image],
        &tmp.0,
    );
    let mut results = Vec::new();
    for (who, bin) in [("ours", our_skopeo()), ("theirs", reference.clone())] {
        let dest = tmp.0.join(who);
        let name = format!("oci:{}:x", dest.display());
        let args = ["--src-tls-verify=false", &image, &name];
        results.push(copied(&bin, &args, &dest, &tmp.0));
    }
    // Layers are pulled at once, so skopeo prints their lines in no fixed order.
    let lines = |out: &str| {
        let mut l: Vec<String> = out.lines().map(str::to_owned).collect();
        l.sort();
        l
    };
    assert_eq!(lines(&results[0].0), lines(&results[1].0));
    assert_same_files(&results[0].1, &results[1].1, "pulled");
}

/// Two trees of files are the same (differing files are shown as text).
fn assert_same_files(ours: &[(String, Vec<u8>)], theirs: &[(String, Vec<u8>)], what: &str) {
    let names = |t: &[(String, Vec<u8>)]| t.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    for ((name, a), (_, b)) in ours.iter().zip(theirs) {
        if a != b {
            let text = |b: &[u8]| String::from_utf8_lossy(&b[..b.len().min(3000)]).into_owned();
            panic!(
                "{what}: {name} differs:\nours:   {}\ntheirs: {}",
                text(a),
                text(b)
            );
        }
    }
    assert_eq!(names(ours), names(theirs), "{what}");
}
