//! Layer compression changes in `copy`, side by side with skopeo 1.9.3: uncompressed layers
//! gzipped for OCI layouts (or kept with --dest-oci-accept-uncompressed-layers), and
//! --dest-compress / --dest-decompress for `dir:`. Gzip output differs between compressors,
//! so compressed layers are compared by what they decompress to and manifests with their
//! layer digests blanked; decompression is exact, so those copies must equal skopeo's.

use skopeo_integration_tests::*;
use std::path::Path;

/// Copies with `bin`; returns the exit code and standard error.
fn copy(bin: &Path, args: &[&str], cwd: &Path) -> (i32, String) {
    let mut all = vec!["--insecure-policy", "copy", "-q"];
    all.extend_from_slice(args);
    let out = run(bin, &all, cwd);
    (out.code, out.stderr)
}

/// The JSON file `name` in `tree`.
fn json_in(tree: &[(String, Vec<u8>)], name: &str) -> serde_json::Value {
    let (_, bytes) = tree.iter().find(|(n, _)| n == name).unwrap();
    serde_json::from_slice(bytes).unwrap()
}

/// A manifest with its layers' digests and sizes blanked.
fn blank_layers(mut m: serde_json::Value) -> serde_json::Value {
    for layer in m["layers"].as_array_mut().unwrap() {
        layer["digest"] = "".into();
        layer["size"] = 0.into();
    }
    m
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut out).unwrap();
    out
}

/// The bytes of each layer of the `dir:` image at `dir`, decompressed.
fn plain_layers(dir: &Path) -> Vec<Vec<u8>> {
    let t = tree(dir);
    let m = json_in(&t, "manifest.json");
    m["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let hex = l["digest"].as_str().unwrap().trim_start_matches("sha256:");
            let bytes = std::fs::read(dir.join(hex)).unwrap();
            match bytes.starts_with(&[0x1f, 0x8b]) {
                true => gunzip(&bytes),
                false => bytes,
            }
        })
        .collect()
}

#[test]
fn layers_are_compressed_and_decompressed_as_skopeo_does() {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("copy-compression");
    let layout = example_layout(&tmp.0);
    let demo = format!("oci:{}:demo", layout.display());
    // A docker archive holds uncompressed layers.
    let archive = tmp.0.join("saved.tar");
    let dest = format!("docker-archive:{}:example.com/demo:v1", archive.display());
    assert_eq!(copy(&reference, &[&demo, &dest], &tmp.0).0, 0);
    let archive = format!("docker-archive:{}", archive.display());
    let ours = our_skopeo();

    // To an OCI layout: gzipped by both, the same manifest but for the compressed digests.
    let mut manifests = Vec::new();
    for (who, bin) in [("ours", &ours), ("skopeo", &reference)] {
        let out = tmp.0.join(format!("{who}-oci"));
        let (code, stderr) = copy(
            bin,
            &[&archive, &format!("oci:{}:x", out.display())],
            &tmp.0,
        );
        assert_eq!(code, 0, "{who}: {stderr}");
        let dir = tmp.0.join(format!("{who}-oci-as-dir"));
        let (code, stderr) = copy(
            &ours,
            &[
                &format!("oci:{}:x", out.display()),
                &format!("dir:{}", dir.display()),
            ],
            &tmp.0,
        );
        assert_eq!(code, 0, "{stderr}");
        let m = json_in(&tree(&dir), "manifest.json");
        for layer in m["layers"].as_array().unwrap() {
            assert_eq!(
                layer["mediaType"],
                "application/vnd.oci.image.layer.v1.tar+gzip"
            );
        }
        manifests.push((blank_layers(m), plain_layers(&dir)));
    }
    assert_eq!(manifests[0], manifests[1]);

    // Uncompressed layers allowed: nothing changes, byte for byte what skopeo writes.
    let mut trees = Vec::new();
    for (who, bin) in [("ours", &ours), ("skopeo", &reference)] {
        let out = tmp.0.join(format!("{who}-oci-plain"));
        let (code, stderr) = copy(
            bin,
            &[
                "--dest-oci-accept-uncompressed-layers",
                &archive,
                &format!("oci:{}:x", out.display()),
            ],
            &tmp.0,
        );
        assert_eq!(code, 0, "{who}: {stderr}");
        trees.push(tree(&out));
    }
    assert_eq!(trees[0], trees[1]);

    // dir: with --dest-decompress from gzipped layers: exact, so identical to skopeo's.
    let mut trees = Vec::new();
    for (who, bin) in [("ours", &ours), ("skopeo", &reference)] {
        let out = tmp.0.join(format!("{who}-dir-plain"));
        let (code, stderr) = copy(
            bin,
            &[
                "--dest-decompress",
                &demo,
                &format!("dir:{}", out.display()),
            ],
            &tmp.0,
        );
        assert_eq!(code, 0, "{who}: {stderr}");
        trees.push(tree(&out));
    }
    assert_eq!(trees[0], trees[1]);
    let m = json_in(&trees[0], "manifest.json");
    assert_eq!(
        m["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar"
    );

    // dir: with --dest-compress from the archive: gzipped like skopeo's.
    let mut results = Vec::new();
    for (who, bin) in [("ours", &ours), ("skopeo", &reference)] {
        let out = tmp.0.join(format!("{who}-dir-gz"));
        let (code, stderr) = copy(
            bin,
            &[
                "--dest-compress",
                &archive,
                &format!("dir:{}", out.display()),
            ],
            &tmp.0,
        );
        assert_eq!(code, 0, "{who}: {stderr}");
        results.push((
            blank_layers(json_in(&tree(&out), "manifest.json")),
            plain_layers(&out),
        ));
    }
    assert_eq!(results[0], results[1]);

    // Both at once is refused by both, and nothing is written.
    let out = tmp.0.join("both");
    let args = [
        "--dest-compress",
        "--dest-decompress",
        &demo,
        &format!("dir:{}", out.display()),
    ];
    let (code, stderr) = copy(&ours, &args, &tmp.0);
    assert_eq!(code, copy(&reference, &args, &tmp.0).0);
    assert!(
        stderr.contains("Cannot compress and decompress at the same time"),
        "{stderr}"
    );
}

/// The decompressed layers of the OCI layout image `name` (read through `dir:` by `bin`
/// with `--dest-decompress`), with the whole `dir:` tree.
fn decompressed_by(bin: &Path, name: &str, out: &Path, cwd: &Path) -> Vec<(String, Vec<u8>)> {
    let dest = format!("dir:{}", out.display());
    let (code, stderr) = copy(bin, &["--dest-decompress", name, &dest], cwd);
    assert_eq!(code, 0, "{name}: {stderr}");
    tree(out)
}

#[test]
fn zstd_layers_are_written_and_read_as_skopeo_does() {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("copy-zstd");
    let layout = example_layout(&tmp.0);
    let demo = format!("oci:{}:demo", layout.display());
    let ours = our_skopeo();

    // Recompressed for an OCI layout: the same manifest but for the zstd layers' digests.
    let mut manifests = Vec::new();
    for (who, bin) in [("ours", &ours), ("skopeo", &reference)] {
        let out = format!("oci:{}:x", tmp.0.join(format!("{who}-zstd")).display());
        let (code, stderr) = copy(
            bin,
            &["--dest-compress-format", "zstd", &demo, &out],
            &tmp.0,
        );
        assert_eq!(code, 0, "{who}: {stderr}");
        let dir = tmp.0.join(format!("{who}-zstd-as-dir"));
        let (code, stderr) = copy(&ours, &[&out, &format!("dir:{}", dir.display())], &tmp.0);
        assert_eq!(code, 0, "{stderr}");
        let m = json_in(&tree(&dir), "manifest.json");
        for layer in m["layers"].as_array().unwrap() {
            assert_eq!(
                layer["mediaType"],
                "application/vnd.oci.image.layer.v1.tar+zstd"
            );
        }
        manifests.push(blank_layers(m));
    }
    assert_eq!(manifests[0], manifests[1]);

    // Each reads the other's zstd layers back to exactly the original tars.
    let expected = decompressed_by(&reference, &demo, &tmp.0.join("plain"), &tmp.0);
    for writer in ["ours", "skopeo"] {
        let name = format!("oci:{}:x", tmp.0.join(format!("{writer}-zstd")).display());
        for (reader, bin) in [("ours", &ours), ("skopeo", &reference)] {
            let out = tmp.0.join(format!("{writer}-read-by-{reader}"));
            assert_eq!(
                decompressed_by(bin, &name, &out, &tmp.0),
                expected,
                "{writer}'s zstd read by {reader}"
            );
        }
    }

    // Docker manifests cannot name zstd layers: dir: refuses as skopeo does (after
    // compressing), leaving nothing; a registry gets an OCI manifest, as from skopeo.
    let docker = tmp.0.join("docker-dir");
    let (code, stderr) = copy(
        &reference,
        &[
            "--format",
            "v2s2",
            &demo,
            &format!("dir:{}", docker.display()),
        ],
        &tmp.0,
    );
    assert_eq!(code, 0, "{stderr}");
    let docker = format!("dir:{}", docker.display());
    let mut refusals = Vec::new();
    for (who, bin) in [("ours", &ours), ("skopeo", &reference)] {
        let out = tmp.0.join(format!("{who}-refused"));
        let args = [
            "--dest-compress",
            "--dest-compress-format",
            "zstd",
            &docker,
            &format!("dir:{}", out.display()),
        ];
        let (code, stderr) = copy(bin, &args, &tmp.0);
        assert_eq!(code, 1, "{who}: {stderr}");
        let why = stderr.rsplit("\": ").next().unwrap_or_default().to_owned();
        refusals.push(why);
        if who == "ours" {
            assert!(!out.exists(), "{who} left {}", out.display());
        }
    }
    assert_eq!(refusals[0], refusals[1]);
    assert!(
        refusals[0].contains("zstd compression is not supported for type"),
        "{}",
        refusals[0]
    );

    use skopeo_integration_tests::registry::{setup, Flavour};
    let Some(registry) = setup(Flavour::Plain) else {
        return;
    };
    let mut pushed = Vec::new();
    for (who, bin) in [("ours", &ours), ("skopeo", &reference)] {
        let dest = format!("docker://{}/zstd/{who}:v1", registry.addr);
        let args = [
            "--dest-tls-verify=false",
            "--dest-compress-format",
            "zstd",
            &docker,
            &dest,
        ];
        let (code, stderr) = copy(bin, &args, &tmp.0);
        assert_eq!(code, 0, "{who}: {stderr}");
        let raw = run(
            &reference,
            &["inspect", "--tls-verify=false", "--raw", &dest],
            &tmp.0,
        );
        assert_eq!(raw.code, 0, "{}", raw.stderr);
        pushed.push(blank_layers(serde_json::from_str(&raw.stdout).unwrap()));
    }
    assert_eq!(pushed[0], pushed[1]);
    assert_eq!(
        pushed[0]["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
}
