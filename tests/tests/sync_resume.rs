//! A sync killed part-way (kill -9) and run again: the destination never holds a tag whose
//! image is incomplete, and the second run copies only what the first did not.

use skopeo_integration_tests::registry::{setup, Flavour, Registry};
use skopeo_integration_tests::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const IMAGES: usize = 12;

#[test]
fn a_killed_sync_run_again_copies_only_what_is_missing() {
    let Some(src) = setup(Flavour::Plain) else {
        return;
    };
    let dst = Registry::start(Flavour::Plain);
    let tmp = TempDir::new("sync-resume");
    // Distinct images (a 1 MiB layer and a config of their own each), so every tag is a
    // real copy that takes a while.
    for i in 0..IMAGES {
        let layer = TestLayer::plain(
            noise(1 << 20, i as u64 + 1),
            "application/vnd.oci.image.layer.v1.tar",
        );
        let layout = write_layout(&tmp.0.join(format!("l{i}")), "t", &[layer]);
        let to = format!("docker://{}/big/app:t{i}", src.addr);
        let args = [
            "--insecure-policy",
            "copy",
            "-q",
            "--dest-tls-verify=false",
            &layout,
            &to,
        ];
        let r = run(&our_skopeo(), &args, &tmp.0);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let from = format!("{}/big/app", src.addr);
    let root = format!("{}/m", dst.addr);
    let args = [
        "--insecure-policy",
        "sync",
        "--src",
        "docker",
        "--dest",
        "docker",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "--parallel-images",
        "1",
        &from,
        &root,
    ];

    // Killed once the fourth image is reported copied (the fifth is under way).
    let mut child = Command::new(our_skopeo())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains(&format!("Copying image ref 4/{IMAGES}")) {
            break;
        }
    }
    child.kill().unwrap();
    let _ = child.wait();
    assert!(
        !seen.contains("Synced"),
        "the sync ended before it was killed: {seen}"
    );

    // Every tag the destination has names the source's image.
    let source = src.tags_and_digests("big/app");
    assert_eq!(source.len(), IMAGES);
    let partial = dst.tags_and_digests("m/app");
    assert!(partial.len() >= 4 && partial.len() < IMAGES, "{partial:?}");
    for tagged in &partial {
        assert!(source.contains(tagged), "{tagged:?} is not the source's");
    }

    // Run again: what is there is skipped, the rest copied, nothing uploaded twice.
    let before = dst.requests().len();
    let again = run(&our_skopeo(), &args, &tmp.0);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let in_sync = again.stderr.matches("is already in sync").count();
    let copied = again.stderr.matches("Copying image ref").count();
    assert_eq!(in_sync, partial.len(), "{}", again.stderr);
    assert_eq!(in_sync + copied, IMAGES, "{}", again.stderr);
    assert_eq!(dst.tags_and_digests("m/app"), source);
    let uploads = dst.requests()[before..]
        .iter()
        .filter(|r| r.starts_with("POST ") && r.contains("/blobs/uploads/"))
        .count();
    assert!(
        uploads <= 2 * copied,
        "{uploads} uploads for {copied} images (layer and config each)"
    );
}
