//! `copy` on a terminal: live progress bars (run under a pseudo-terminal with `script`), and
//! what they show of layers a registry already has with `--dest-precompute-digests`.

use skopeo_integration_tests::*;
use std::path::Path;

/// Runs our copy under a pseudo-terminal (`script`); returns what the terminal shows, with
/// escape sequences removed and each redraw on its own line.
fn copy_on_a_terminal(flags: &str, src: &str, dest: &str, cwd: &Path) -> String {
    let command = format!(
        "{} --insecure-policy copy {flags} {src} {dest}",
        our_skopeo().display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(cwd)
        .output()
        .expect("script (util-linux) runs a command on a pseudo-terminal");
    assert!(out.status.success(), "{out:?}");
    let raw = String::from_utf8_lossy(&out.stdout);
    let mut plain = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI: ESC [ params final-letter.
                if chars.next_if_eq(&'[').is_some() {
                    while chars.next_if(|c| !c.is_ascii_alphabetic()).is_some() {}
                    chars.next();
                }
            }
            '\r' => plain.push('\n'),
            c => plain.push(c),
        }
    }
    plain
}

#[test]
fn a_terminal_gets_live_progress_bars() {
    let tmp = TempDir::new("copy-tty");
    let layout = example_layout(&tmp.0);
    let src = format!("oci:{}:demo", layout.display());
    let dest = format!("oci:{}:v1", tmp.0.join("copied").display());
    let first = copy_on_a_terminal("", &src, &dest, &tmp.0);
    let manifest = run(&our_skopeo(), &["inspect", "--raw", &src], &tmp.0).stdout;
    let m: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let short = |d: &serde_json::Value| d.as_str().unwrap()[7..19].to_owned();
    let layer = short(&m["layers"][0]["digest"]);
    let config = short(&m["config"]["digest"]);
    // A bar counting bytes, then the finished line; the closing lines come after.
    assert!(
        first.contains(&format!("Copying blob {layer} =")),
        "{first}"
    );
    assert!(first.contains(" B / "), "{first}");
    let done = first
        .rfind(&format!("Copying config {config} done"))
        .expect(&first);
    let writing = first
        .rfind("Writing manifest to image destination")
        .expect(&first);
    assert!(done < writing, "{first}");
    assert!(first.trim_end().ends_with("Storing signatures"), "{first}");
    // Again: the layout has every blob.
    let again = copy_on_a_terminal("", &src, &dest, &tmp.0);
    assert!(
        again.contains(&format!("Copying blob {layer} skipped: already exists")),
        "{again}"
    );
}

#[test]
fn precomputed_digests_skip_layers_the_registry_has() {
    use skopeo_integration_tests::registry::{setup, Flavour};
    let Some(reg) = setup(Flavour::Plain) else {
        return;
    };
    let tmp = TempDir::new("copy-precompute");
    let layout = example_layout(&tmp.0);
    // A docker archive keeps its layer uncompressed: a push gzips it, so the registry's
    // digest is known only once it is compressed.
    let archive = tmp.0.join("saved.tar");
    let out = run(
        &our_skopeo(),
        &[
            "--insecure-policy",
            "copy",
            "-q",
            &format!("oci:{}:demo", layout.display()),
            &format!("docker-archive:{}:saved:1", archive.display()),
        ],
        &tmp.0,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let src = format!("docker-archive:{}", archive.display());
    let flags = "--dest-tls-verify=false";
    let first = copy_on_a_terminal(flags, &src, &reg.image("pre/demo:1"), &tmp.0);
    assert!(first.contains(" done"), "{first}");
    assert!(!first.contains("skipped"), "{first}");
    // Without the flag the layer goes up again; with it, it is hashed and skipped.
    let layer_ends = |shown: &str, end: &str| {
        // Redraws can share a line: look at each "Copying …" segment.
        shown
            .split("Copying ")
            .any(|seg| seg.starts_with("blob ") && seg.trim_end().ends_with(end))
    };
    let plain = copy_on_a_terminal(flags, &src, &reg.image("pre/demo:2"), &tmp.0);
    assert!(layer_ends(&plain, " done"), "{plain}");
    assert!(!layer_ends(&plain, "skipped: already exists"), "{plain}");
    let precomputed = format!("{flags} --dest-precompute-digests");
    let again = copy_on_a_terminal(&precomputed, &src, &reg.image("pre/demo:3"), &tmp.0);
    assert!(layer_ends(&again, "skipped: already exists"), "{again}");
    // All three name the same compressed layer.
    let raw = |tag: &str| {
        let image = reg.image(&format!("pre/demo:{tag}"));
        run(
            &our_skopeo(),
            &["inspect", "--raw", "--tls-verify=false", &image],
            &tmp.0,
        )
        .stdout
    };
    assert_eq!(raw("1"), raw("3"));
    assert_eq!(raw("1"), raw("2"));
}
