//! Copies into one OCI layout at once: each commit rewrites `index.json` under an advisory
//! lock on the layout directory, so every tag ends up named, and skopeo 1.9.3 reads each back.

use skopeo_integration_tests::*;

#[test]
fn concurrent_copies_into_one_layout_all_land_in_its_index() {
    let tmp = TempDir::new("oci-concurrent");
    let layout = example_layout(&tmp.0);
    add_multi_platform_index(&layout);
    let dest = tmp.0.join("shared");
    let ours = our_skopeo();
    const COPIES: usize = 10;
    let children: Vec<_> = (0..COPIES)
        .map(|i| {
            // Half single images, half whole indexes, so the copies take different times.
            let src = match i % 2 {
                0 => format!("oci:{}:demo", layout.display()),
                _ => format!("oci:{}:multi", layout.display()),
            };
            std::process::Command::new(&ours)
                .args(["--insecure-policy", "copy", "-q", "--all", &src])
                .arg(format!("oci:{}:t{i}", dest.display()))
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dest.join("index.json")).unwrap()).unwrap();
    let mut names: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    names.sort();
    let mut expected: Vec<String> = (0..COPIES).map(|i| format!("t{i}")).collect();
    expected.sort();
    assert_eq!(names, expected, "tags lost from index.json");
    let reader = reference_skopeo().unwrap_or_else(our_skopeo);
    for i in 0..COPIES {
        let r = run(
            &reader,
            &["inspect", "--raw", &format!("oci:{}:t{i}", dest.display())],
            &tmp.0,
        );
        assert_eq!(r.code, 0, "t{i}: {}", r.stderr);
    }
    // No temporary file is left behind.
    let leftovers: Vec<String> = std::fs::read_dir(&dest)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial") || n.contains("lock"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
