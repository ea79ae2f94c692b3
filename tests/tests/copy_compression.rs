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
