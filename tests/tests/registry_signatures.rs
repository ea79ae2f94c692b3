//! Signatures of registry images in lookaside storage (registries.d), side by side with
//! skopeo 1.9.3: pushes write them under the staging directory as skopeo does (stale ones
//! after them removed), pulls read them back from a web server or a directory, and writing
//! straight to a web server is refused as skopeo refuses it.

use skopeo_integration_tests::registry::{setup, Flavour};
use skopeo_integration_tests::*;
use std::path::Path;

/// A registries.d directory whose one file says `yaml`.
fn registries_d(dir: &Path, yaml: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("sigs.yaml"), yaml).unwrap();
    dir.display().to_string()
}

fn copy(bin: &Path, regd: &str, args: &[&str], cwd: &Path) -> RunResult {
    let all = [
        &["--insecure-policy", "--registries.d", regd, "copy"][..],
        &["--src-tls-verify=false", "--dest-tls-verify=false"],
        args,
    ]
    .concat();
    run(bin, &all, cwd)
}

#[test]
fn signatures_go_to_and_come_from_lookaside_storage_as_with_skopeo() {
    let Some(registry) = setup(Flavour::Plain) else {
        return;
    };
    let reference = reference_skopeo().unwrap();
    let tmp = TempDir::new("registry-signatures");
    let Some((gnupg, fingerprint)) = gpg_signing_key(&tmp.0) else {
        return;
    };
    let signed = skopeo_signed_dir(&reference, &tmp.0, &gnupg, &fingerprint);
    let src = format!("dir:{}", signed.display());
    let image = registry.image("sig/img:v1");
    let digest = run(
        &our_skopeo(),
        &[
            "manifest-digest",
            &signed.join("manifest.json").display().to_string(),
        ],
        &tmp.0,
    )
    .stdout
    .trim()
    .replace(':', "=");
    let web_root = tmp.0.join("web");
    std::fs::create_dir_all(&web_root).unwrap();
    let web = serve_directory(&web_root);
    let web_addr = web
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();

    // Pushes: the same progress, the same files under each tool's staging directory, and a
    // stale third signature from before removed.
    let mut pushed = Vec::new();
    for (who, bin) in [("ours", our_skopeo()), ("skopeo", reference.clone())] {
        let staging = tmp.0.join(format!("{who}-staging"));
        let stale = staging.join(format!("sig/img@{digest}"));
        std::fs::create_dir_all(&stale).unwrap();
        std::fs::write(stale.join("signature-3"), b"stale").unwrap();
        let regd = registries_d(
            &tmp.0.join(format!("{who}-regd")),
            &format!(
                "default-docker:\n  lookaside: http://{}\n  lookaside-staging: file://{}\n",
                web_addr,
                staging.display()
            ),
        );
        let out = copy(&bin, &regd, &[&src, &image], &tmp.0);
        assert_eq!(out.code, 0, "{who}: {}", out.stderr);
        pushed.push((out.stdout, tree(&staging)));
    }
    assert_eq!(pushed[0], pushed[1]);
    let names: Vec<&str> = pushed[0].1.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            format!("sig/img@{digest}/signature-1"),
            format!("sig/img@{digest}/signature-2")
        ]
    );
    assert_eq!(
        pushed[0].1[0].1,
        std::fs::read(signed.join("signature-1")).unwrap()
    );

    // Pulls read them back from the web server (what the staging directory is published
    // as) and from a directory, with the same result for both tools.
    std::fs::rename(tmp.0.join("skopeo-staging/sig"), web_root.join("sig")).unwrap();
    let web_regd = registries_d(
        &tmp.0.join("web-regd"),
        &format!(
            "docker:\n  {}:\n    lookaside: http://{}\n",
            registry.addr, web_addr
        ),
    );
    let file_regd = registries_d(
        &tmp.0.join("file-regd"),
        &format!(
            "default-docker:\n  lookaside: file://{}\n",
            tmp.0.join("ours-staging").display()
        ),
    );
    let mut pulled = Vec::new();
    for (regd, what) in [(&web_regd, "web"), (&file_regd, "file")] {
        for (who, bin) in [("ours", our_skopeo()), ("skopeo", reference.clone())] {
            let dest = tmp.0.join(format!("{who}-{what}-pulled"));
            let out = copy(
                &bin,
                regd,
                &[&image, &format!("dir:{}", dest.display())],
                &tmp.0,
            );
            assert_eq!(out.code, 0, "{who} from {what}: {}", out.stderr);
            pulled.push(tree(&dest));
        }
    }
    for t in &pulled {
        assert_eq!(t, &pulled[0]);
    }
    let kept: Vec<&str> = pulled[0].iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        kept.contains(&"signature-2") && !kept.contains(&"signature-3"),
        "{kept:?}"
    );

    // No staging location for a web lookaside: both refuse to write there. skopeo finds out
    // after pushing the image; we refuse before anything is pushed (deliberately: a failed
    // copy leaves the destination as it was).
    let no_staging = registries_d(
        &tmp.0.join("no-staging-regd"),
        &format!("default-docker:\n  lookaside: http://{}\n", web_addr),
    );
    let other = registry.image("sig/other:v1");
    let out = copy(&our_skopeo(), &no_staging, &["-q", &src, &other], &tmp.0);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(
        strip_log_time(&out.stderr),
        format!("level=fatal msg=\"Can not copy signatures to {other}: Writing directly to a http lookaside http://{}/sig/other is not supported. Configure a lookaside-staging: location\"", web_addr)
    );
    let inspected = run(
        &reference,
        &["inspect", "--tls-verify=false", &other],
        &tmp.0,
    );
    assert_eq!(inspected.code, 1, "nothing was pushed");
    let theirs = copy(&reference, &no_staging, &["-q", &src, &other], &tmp.0);
    assert_eq!(theirs.code, 1);
    assert!(theirs
        .stderr
        .contains("Configure a lookaside-staging: location"));
}
