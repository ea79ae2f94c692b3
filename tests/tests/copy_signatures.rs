//! Signatures in `copy`, side by side with skopeo 1.9.3: a `dir:` image signed by skopeo
//! (GPG simple signing) keeps its `signature-N` files through copies into `dir:`, which then
//! may not change the manifest; destinations that cannot store signatures are refused unless
//! `--remove-signatures`; unreadable signature files are refused as skopeo refuses them.

use skopeo_integration_tests::*;
use std::path::Path;

#[test]
fn signatures_travel_with_dir_images_as_skopeo_carries_them() {
    let Some(reference) = reference_skopeo() else {
        return;
    };
    let tmp = TempDir::new("copy-signatures");
    let Some((gnupg, fingerprint)) = gpg_signing_key(&tmp.0) else {
        return;
    };
    let signed = skopeo_signed_dir(&reference, &tmp.0, &gnupg, &fingerprint);
    let src = format!("dir:{}", signed.display());
    for who in ["ours", "skopeo"] {
        std::fs::create_dir_all(tmp.0.join(who)).unwrap();
    }

    // The same lines, the same files: signatures kept, and no change to the manifest even
    // where one was asked for (it would invalidate them).
    for dest in ["dir:{}/plain", "dir:{}/format", "dir:{}/compress"] {
        let flags: &[&str] = match dest {
            "dir:{}/format" => &["--format", "v2s2"],
            "dir:{}/compress" => &["--dest-compress"],
            _ => &[],
        };
        let mut outputs = Vec::new();
        for (who, bin) in [("ours", our_skopeo()), ("skopeo", reference.clone())] {
            let d = dest.replace("{}", &tmp.0.join(who).display().to_string());
            let mut args = vec!["--insecure-policy", "copy"];
            args.extend_from_slice(flags);
            args.extend([src.as_str(), d.as_str()]);
            let out = run(&bin, &args, &tmp.0);
            assert_eq!(out.code, 0, "{who} {args:?}: {}", out.stderr);
            outputs.push(out.stdout);
        }
        assert_eq!(outputs[0], outputs[1], "progress lines of {dest}");
        assert!(outputs[0].contains("Checking if image destination supports signatures"));
        let name = dest.trim_start_matches("dir:{}/");
        let ours = tree(&tmp.0.join("ours").join(name));
        assert_eq!(ours, tree(&tmp.0.join("skopeo").join(name)), "{dest}");
        assert!(ours.iter().any(|(n, _)| n == "signature-2"));
        let kept = ours.iter().find(|(n, _)| n == "manifest.json").unwrap();
        assert_eq!(kept.1, std::fs::read(signed.join("manifest.json")).unwrap());
    }

    // Destinations without signature storage: skopeo's refusal, nothing written; with
    // --remove-signatures the copy goes ahead (and does not announce reading them).
    for dest in ["oci:{}/layout:1", "docker-archive:{}/saved.tar"] {
        let mut messages = Vec::new();
        for (who, bin) in [("ours", our_skopeo()), ("skopeo", reference.clone())] {
            let d = dest.replace("{}", &tmp.0.join(who).display().to_string());
            let out = run(&bin, &["--insecure-policy", "copy", "-q", &src, &d], &tmp.0);
            assert_eq!(out.code, 1, "{who} {d}");
            messages.push(
                strip_log_time(&out.stderr).replace(&tmp.0.join(who).display().to_string(), "T"),
            );
        }
        assert_eq!(messages[0], messages[1]);
        let d = dest.replace("{}", &tmp.0.join("ours").display().to_string());
        let path = d.split_once(':').unwrap().1.split(':').next().unwrap();
        assert!(!Path::new(path).exists(), "{path} was left behind");
        let out = run(
            &our_skopeo(),
            &["--insecure-policy", "copy", "--remove-signatures", &src, &d],
            &tmp.0,
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            out.stdout.ends_with("Storing signatures\n"),
            "{}",
            out.stdout
        );
        assert!(!out.stdout.contains("Getting image source signatures"));
    }

    // A signature file that is not one.
    std::fs::write(signed.join("signature-3"), b"not a signature").unwrap();
    let refused = ["--insecure-policy", "copy", "-q", &src];
    let ours_dest = format!("dir:{}/bad", tmp.0.display());
    let mut args = refused.to_vec();
    args.push(&ours_dest);
    assert_same(&args, &tmp.0);
}
