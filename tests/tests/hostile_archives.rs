//! Hostile `docker-archive:` files are refused with an error naming what is wrong, and
//! nothing outside the archive is read: a `manifest.json` naming `../` paths or absolute
//! paths, and links whose targets leave the archive. Nothing is written at the destination.

use skopeo_integration_tests::*;
use std::path::Path;

/// A docker archive of `files` (name, contents) and `links` (name, target, hard?).
fn archive(path: &Path, files: &[(&str, &[u8])], links: &[(&str, &str, bool)]) {
    let mut builder = tar::Builder::new(std::fs::File::create(path).unwrap());
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, *data).unwrap();
    }
    for (name, target, hard) in links {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(match hard {
            true => tar::EntryType::Link,
            false => tar::EntryType::Symlink,
        });
        header.set_size(0);
        header.set_mode(0o777);
        builder.append_link(&mut header, name, target).unwrap();
    }
    builder.finish().unwrap();
}

const CONFIG: &[u8] = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]}}"#;

fn manifest(config: &str, layer: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!([
        {"Config": config, "RepoTags": ["hostile:latest"], "Layers": [layer]}
    ]))
    .unwrap()
}

/// What a case is, the archive's files and links, and the words of the refusal.
type Case<'a> = (
    &'a str,
    Vec<(&'a str, Vec<u8>)>,
    Vec<(&'a str, String, bool)>,
    String,
);

#[test]
fn archives_that_point_outside_themselves_are_refused() {
    let tmp = TempDir::new("hostile-archives");
    let ours = our_skopeo();
    // A file outside every archive the copy must never read.
    let secret = tmp.0.join("secret");
    std::fs::write(&secret, b"not yours").unwrap();
    let layer_bytes: &[u8] = b"layer";
    let cases: Vec<Case> = vec![
        (
            "layer above the root",
            vec![
                ("manifest.json", manifest("config.json", "../../../../secret")),
                ("config.json", CONFIG.to_vec()),
            ],
            vec![],
            r#"invalid path \"../../../../secret\" in the archive's manifest.json: it leaves the archive"#.into(),
        ),
        (
            "absolute config",
            vec![
                ("manifest.json", manifest(secret.to_str().unwrap(), "layer.tar")),
                ("layer.tar", layer_bytes.to_vec()),
            ],
            vec![],
            "not a file inside the archive".into(),
        ),
        (
            "absolute symlink",
            vec![
                ("manifest.json", manifest("config.json", "layer.tar")),
                ("config.json", CONFIG.to_vec()),
            ],
            vec![("layer.tar", secret.display().to_string(), false)],
            r#"link \"layer.tar\" points outside the archive"#.into(),
        ),
        (
            "relative symlink out",
            vec![
                ("manifest.json", manifest("config.json", "dir/layer.tar")),
                ("config.json", CONFIG.to_vec()),
            ],
            vec![("dir/layer.tar", "../../secret".into(), false)],
            r#"link \"dir/layer.tar\" points outside the archive"#.into(),
        ),
        (
            "hard link out",
            vec![
                ("manifest.json", manifest("config.json", "layer.tar")),
                ("config.json", CONFIG.to_vec()),
            ],
            vec![("layer.tar", "../secret".into(), true)],
            r#"link \"layer.tar\" points outside the archive"#.into(),
        ),
    ];
    for (i, (what, files, links, words)) in cases.iter().enumerate() {
        let path = tmp.0.join(format!("hostile-{i}.tar"));
        let files: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (*n, d.as_slice())).collect();
        let links: Vec<(&str, &str, bool)> =
            links.iter().map(|(n, t, h)| (*n, t.as_str(), *h)).collect();
        archive(&path, &files, &links);
        let dest = tmp.0.join(format!("out-{i}"));
        let r = run(
            &ours,
            &[
                "--insecure-policy",
                "copy",
                &format!("docker-archive:{}", path.display()),
                &format!("dir:{}", dest.display()),
            ],
            &tmp.0,
        );
        assert_eq!(r.code, 1, "{what}: {}", r.stderr);
        assert!(r.stderr.contains(words.as_str()), "{what}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "{what}: {}", r.stderr);
        assert!(!dest.exists(), "{what}: the destination was written");
    }
    assert_eq!(std::fs::read(&secret).unwrap(), b"not yours");
}
