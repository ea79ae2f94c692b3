//! The engine over an in-memory filesystem: layouts in, layouts out, and failures that leave
//! the destination untouched.

use super::*;
use crate::effects::{
    ByteSink, ByteStream, EffectError, EffectErrorKind, Filesystem, FilesystemWrite,
};
use crate::layout::{dir_dest::DirDestination, oci_dest::OciDestination, open_source};
use crate::transport::ImageName;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

#[derive(Default, Clone)]
struct MemFs {
    files: Rc<RefCell<BTreeMap<String, Vec<u8>>>>,
    dirs: Rc<RefCell<BTreeSet<String>>>,
    /// Files open for reading now, and the most that ever were at once.
    open_now: Rc<std::cell::Cell<usize>>,
    most_open: Rc<std::cell::Cell<usize>>,
}

fn missing(path: &str) -> EffectError {
    EffectError::new(
        EffectErrorKind::NotFound,
        format!("open {path}: no such file or directory"),
    )
}

/// A file being read; each read first yields once, as a host completing reads elsewhere
/// would, so that concurrent copies interleave.
struct MemReader(Vec<u8>, usize, Rc<std::cell::Cell<usize>>);

impl Drop for MemReader {
    fn drop(&mut self) {
        self.2.set(self.2.get() - 1);
    }
}

/// Pending once, then ready.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if std::mem::replace(&mut yielded, true) {
            std::task::Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

impl ByteStream for MemReader {
    async fn read(&mut self, buf: &mut [u8]) -> std::result::Result<usize, EffectError> {
        yield_once().await;
        let n = buf.len().min(self.0.len() - self.1);
        buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
        self.1 += n;
        Ok(n)
    }
}

struct MemWriter(MemFs, String, Vec<u8>);

impl ByteSink for MemWriter {
    async fn write_all(&mut self, buf: &[u8]) -> std::result::Result<(), EffectError> {
        self.2.extend_from_slice(buf);
        Ok(())
    }
    async fn finish(self) -> std::result::Result<(), EffectError> {
        self.0.files.borrow_mut().insert(self.1, self.2);
        Ok(())
    }
}

impl MemFs {
    fn put(&self, path: &str, bytes: &[u8]) {
        let mut p = path;
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            if !p.is_empty() {
                self.dirs.borrow_mut().insert(p.to_owned());
            }
        }
        self.files
            .borrow_mut()
            .insert(path.to_owned(), bytes.to_vec());
    }

    fn snapshot(&self) -> (BTreeMap<String, Vec<u8>>, BTreeSet<String>) {
        (self.files.borrow().clone(), self.dirs.borrow().clone())
    }

    fn under(&self, dir: &str) -> Vec<String> {
        let prefix = format!("{dir}/");
        self.files
            .borrow()
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .cloned()
            .collect()
    }
}

impl Filesystem for MemFs {
    type Reader = MemReader;
    async fn size(&self, path: &str) -> std::result::Result<u64, EffectError> {
        Ok(self.read_file(path).await?.len() as u64)
    }
    async fn read_file(&self, path: &str) -> std::result::Result<Vec<u8>, EffectError> {
        self.files
            .borrow()
            .get(path)
            .cloned()
            .ok_or_else(|| missing(path))
    }
    async fn exists(&self, path: &str) -> std::result::Result<bool, EffectError> {
        Ok(self.files.borrow().contains_key(path) || self.dirs.borrow().contains(path))
    }
    async fn open(&self, path: &str) -> std::result::Result<MemReader, EffectError> {
        let bytes = self.read_file(path).await?;
        self.open_now.set(self.open_now.get() + 1);
        self.most_open
            .set(self.most_open.get().max(self.open_now.get()));
        Ok(MemReader(bytes, 0, Rc::clone(&self.open_now)))
    }
}

impl FilesystemWrite for MemFs {
    type Writer = MemWriter;
    async fn create_dir_all(&self, path: &str) -> std::result::Result<(), EffectError> {
        self.put(&format!("{path}/.keep"), b"");
        self.files.borrow_mut().remove(&format!("{path}/.keep"));
        self.dirs.borrow_mut().insert(path.to_owned());
        Ok(())
    }
    async fn create(&self, path: &str) -> std::result::Result<MemWriter, EffectError> {
        // The file exists from here on, as on a real filesystem.
        self.put(path, b"");
        Ok(MemWriter(self.clone(), path.to_owned(), Vec::new()))
    }
    async fn rename(&self, from: &str, to: &str) -> std::result::Result<(), EffectError> {
        let taken = self.files.borrow_mut().remove(from);
        if let Some(bytes) = taken {
            self.files.borrow_mut().insert(to.to_owned(), bytes);
            return Ok(());
        }
        let was_dir = self.dirs.borrow_mut().remove(from);
        if !was_dir {
            return Err(missing(from));
        }
        self.dirs.borrow_mut().insert(to.to_owned());
        let moved: Vec<_> = self.under(from);
        for f in moved {
            let bytes = self.files.borrow_mut().remove(&f).unwrap();
            self.files
                .borrow_mut()
                .insert(format!("{to}{}", &f[from.len()..]), bytes);
        }
        Ok(())
    }
    async fn remove_file(&self, path: &str) -> std::result::Result<(), EffectError> {
        self.files
            .borrow_mut()
            .remove(path)
            .map(|_| ())
            .ok_or_else(|| missing(path))
    }
    async fn remove_dir_all(&self, path: &str) -> std::result::Result<(), EffectError> {
        let was_dir = self.dirs.borrow_mut().remove(path);
        if !was_dir {
            return Err(missing(path));
        }
        for f in self.under(path) {
            self.files.borrow_mut().remove(&f);
        }
        let prefix = format!("{path}/");
        self.dirs.borrow_mut().retain(|d| !d.starts_with(&prefix));
        Ok(())
    }
    async fn read_dir(&self, path: &str) -> std::result::Result<Vec<String>, EffectError> {
        let prefix = format!("{path}/");
        let mut names = BTreeSet::new();
        for k in self.files.borrow().keys().chain(self.dirs.borrow().iter()) {
            if let Some(rest) = k.strip_prefix(&prefix) {
                names.insert(rest.split('/').next().unwrap().to_owned());
            }
        }
        Ok(names.into_iter().collect())
    }
}

/// An OCI layout at /src with one image tagged `t`; returns the layer's digest.
fn source_layout(fs: &MemFs, layer: &[u8]) -> Digest {
    source_layout_of(fs, &[layer]).remove(0)
}

/// An OCI layout at /src with one image of `layers` tagged `t`; returns their digests.
fn source_layout_of(fs: &MemFs, layers: &[&[u8]]) -> Vec<Digest> {
    let blob = |bytes: &[u8]| {
        let d = Digest::sha256_of(bytes);
        fs.put(&format!("/src/blobs/sha256/{}", d.hex()), bytes);
        d
    };
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let c = blob(config);
    let digests: Vec<Digest> = layers.iter().map(|l| blob(l)).collect();
    let descriptors: Vec<String> = layers
        .iter()
        .zip(&digests)
        .map(|(l, d)| {
            format!(
                r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{d}","size":{}}}"#,
                l.len()
            )
        })
        .collect();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{c}","size":{}}},"layers":[{}]}}"#,
        config.len(),
        descriptors.join(",")
    );
    let m = blob(manifest.as_bytes());
    fs.put("/src/oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    fs.put(
        "/src/index.json",
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{m}","size":{},"annotations":{{"org.opencontainers.image.ref.name":"t"}}}}]}}"#,
            manifest.len()
        )
        .as_bytes(),
    );
    fs.dirs.borrow_mut().insert("/".into());
    digests
}

/// Options that keep layers as they are (an OCI layout would compress these plain ones).
fn preserving() -> CopyOptions {
    CopyOptions {
        compression: CompressionOptions {
            layers: Some(crate::destination::LayerCompression::Preserve),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn copy_to_dir(fs: &MemFs, dest: &str) -> Result<Digest> {
    pollster::block_on(async {
        let src = open_source(fs, &ImageName::parse("oci:/src:t").unwrap()).await?;
        let dest = DirDestination::new(fs, dest).await?;
        copy_image(&src, dest, &CopyOptions::default(), &|_: &str| {}).await
    })
}

fn copy_to_oci(fs: &MemFs, dest: &str, tag: &str) -> Result<Digest> {
    pollster::block_on(async {
        let src = open_source(fs, &ImageName::parse("oci:/src:t").unwrap()).await?;
        let dest = OciDestination::new(fs, dest, tag).await?;
        copy_image(&src, dest, &preserving(), &|_: &str| {}).await
    })
}

#[test]
fn oci_to_dir_writes_the_dir_layout_and_reports_like_skopeo() {
    let fs = MemFs::default();
    let layer = source_layout(&fs, b"layer bytes");
    let lines = RefCell::new(Vec::new());
    let digest = pollster::block_on(async {
        let src = open_source(&fs, &ImageName::parse("oci:/src:t").unwrap())
            .await
            .unwrap();
        let dest = DirDestination::new(&fs, "/out").await.unwrap();
        copy_image(&src, dest, &CopyOptions::default(), &|l: &str| {
            lines.borrow_mut().push(l.to_owned())
        })
        .await
        .unwrap()
    });
    let files = fs.under("/out");
    assert!(files.contains(&format!("/out/{}", layer.hex())));
    assert_eq!(
        fs.files.borrow()["/out/version"],
        crate::layout::dir_dest::VERSION.as_bytes()
    );
    assert_eq!(
        Digest::sha256_of(&fs.files.borrow()["/out/manifest.json"]),
        digest
    );
    let lines = lines.into_inner();
    assert_eq!(lines[0], "Getting image source signatures");
    assert_eq!(lines[1], format!("Copying blob {layer}"));
    assert!(lines[2].starts_with("Copying config sha256:"));
    assert_eq!(
        &lines[3..],
        [
            "Writing manifest to image destination",
            "Storing signatures"
        ]
    );
    assert!(fs.under("/.out.skopeo-staging").is_empty());
}

#[test]
fn a_corrupted_blob_fails_and_leaves_the_destination_as_it_was() {
    let fs = MemFs::default();
    let layer = source_layout(&fs, b"layer bytes");
    copy_to_dir(&fs, "/out").unwrap();
    copy_to_oci(&fs, "/layout", "old").unwrap();
    fs.put(
        &format!("/src/blobs/sha256/{}", layer.hex()),
        b"layer bytez",
    );
    let before = fs.snapshot();
    let err = copy_to_dir(&fs, "/out").unwrap_err();
    assert!(err.to_string().contains("writing blob"), "{err}");
    assert_eq!(fs.snapshot(), before);
    // A layout that did not exist is not left behind either.
    let err = copy_to_oci(&fs, "/fresh", "x").unwrap_err();
    assert!(err.to_string().contains("digest"), "{err}");
    assert_eq!(fs.snapshot(), before);
    // A layout that already has the blob does not read it again.
    copy_to_oci(&fs, "/layout", "new").unwrap();
}

#[test]
fn oci_destinations_keep_other_tags_and_replace_the_same_tag() {
    let fs = MemFs::default();
    source_layout(&fs, b"layer bytes");
    copy_to_oci(&fs, "/layout", "a").unwrap();
    copy_to_oci(&fs, "/layout", "b").unwrap();
    copy_to_oci(&fs, "/layout", "a").unwrap();
    let index: serde_json::Value =
        serde_json::from_slice(&fs.files.borrow()["/layout/index.json"]).unwrap();
    let names: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(names, ["b", "a"]);
    assert!(fs.files.borrow().keys().all(|k| !k.contains(".partial")));
}

#[test]
fn a_directory_that_is_not_an_image_is_refused() {
    let fs = MemFs::default();
    source_layout(&fs, b"layer bytes");
    fs.put("/home/notes.txt", b"precious");
    let err = copy_to_dir(&fs, "/home").unwrap_err();
    assert_eq!(err.to_string(), crate::layout::dir_dest::NOT_AN_IMAGE_DIR);
    assert_eq!(fs.files.borrow()["/home/notes.txt"], b"precious");
}

fn copy_with(
    fs: &MemFs,
    dest: &str,
    parallel_copies: usize,
    lines: &RefCell<Vec<String>>,
) -> Result<Digest> {
    pollster::block_on(async {
        let src = open_source(fs, &ImageName::parse("oci:/src:t").unwrap()).await?;
        let dest = OciDestination::new(fs, dest, "t").await?;
        let opts = CopyOptions {
            parallel_copies,
            ..preserving()
        };
        copy_image(&src, dest, &opts, &|l: &str| {
            lines.borrow_mut().push(l.to_owned())
        })
        .await
    })
}

#[test]
fn layers_move_together_up_to_the_limit_and_are_reported_in_order() {
    let layers: Vec<Vec<u8>> = (0..5).map(|i| vec![i as u8; 1000 + i]).collect();
    let refs: Vec<&[u8]> = layers.iter().map(Vec::as_slice).collect();
    for (limit, expected) in [(3, 3), (1, 1), (0, 5)] {
        let fs = MemFs::default();
        let digests = source_layout_of(&fs, &refs);
        let lines = RefCell::new(Vec::new());
        copy_with(&fs, "/out", limit, &lines).unwrap();
        assert_eq!(fs.most_open.get(), expected, "limit {limit}");
        let blobs: Vec<String> = lines
            .into_inner()
            .into_iter()
            .filter(|l| l.starts_with("Copying blob"))
            .collect();
        let wanted: Vec<String> = digests
            .iter()
            .map(|d| format!("Copying blob {d}"))
            .collect();
        assert_eq!(blobs, wanted);
        for d in &digests {
            assert!(fs
                .files
                .borrow()
                .contains_key(&format!("/out/blobs/sha256/{}", d.hex())));
        }
    }
}

#[test]
fn a_repeated_layer_is_written_once_and_a_failure_among_parallel_layers_leaves_nothing() {
    let fs = MemFs::default();
    let digests = source_layout_of(&fs, &[b"one", b"two", b"one", b"three", b"four"]);
    let lines = RefCell::new(Vec::new());
    copy_with(&fs, "/layout", 4, &lines).unwrap();
    assert_eq!(
        lines
            .borrow()
            .iter()
            .filter(|l| l.starts_with("Copying blob"))
            .count(),
        5
    );

    // The same image again with a new layer that is corrupted: the blobs being written at
    // the same time are dropped part-way, and their temporary files go with the abort.
    let fs2 = MemFs::default();
    let new = source_layout_of(&fs2, &[b"five", b"six", b"seven", b"eight"]);
    for (path, bytes) in fs2
        .files
        .borrow()
        .iter()
        .filter(|(p, _)| p.starts_with("/src/"))
    {
        fs.put(path, bytes);
    }
    fs.put(&format!("/src/blobs/sha256/{}", new[2].hex()), b"sevex");
    let before = fs.snapshot();
    let err = copy_with(&fs, "/layout", 4, &RefCell::default()).unwrap_err();
    assert!(err.to_string().contains("digest"), "{err}");
    let mut after = fs.snapshot();
    after.0.retain(|p, _| !p.starts_with("/src/"));
    let mut before = before;
    before.0.retain(|p, _| !p.starts_with("/src/"));
    assert_eq!(after, before);
    assert!(digests.iter().all(|d| fs
        .files
        .borrow()
        .contains_key(&format!("/layout/blobs/sha256/{}", d.hex()))));
}

#[test]
fn an_oci_layout_gets_uncompressed_layers_gzipped_and_the_manifest_names_them() {
    let fs = MemFs::default();
    let plain: Vec<u8> = (0..200_000u32)
        .flat_map(|i| (i % 13).to_le_bytes())
        .collect();
    let source = source_layout(&fs, &plain);
    let digest = pollster::block_on(async {
        let src = open_source(&fs, &ImageName::parse("oci:/src:t").unwrap()).await?;
        let dest = OciDestination::new(&fs, "/out", "t").await?;
        copy_image(&src, dest, &CopyOptions::default(), &|_: &str| {}).await
    })
    .unwrap();
    let files = fs.files.borrow();
    let manifest: serde_json::Value =
        serde_json::from_slice(&files[&format!("/out/blobs/sha256/{}", digest.hex())]).unwrap();
    let layer = &manifest["layers"][0];
    assert_eq!(
        layer["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let stored = Digest::parse(layer["digest"].as_str().unwrap()).unwrap();
    assert_ne!(stored, source);
    let gz = &files[&format!("/out/blobs/sha256/{}", stored.hex())];
    assert_eq!(Digest::sha256_of(gz), stored);
    assert_eq!(layer["size"].as_u64().unwrap(), gz.len() as u64);
    let mut back = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut back).unwrap();
    assert_eq!(back, plain);
    assert!(!files.contains_key(&format!("/out/blobs/sha256/{}", source.hex())));
}

#[test]
fn a_dir_copy_can_decompress_what_it_stores() {
    let fs = MemFs::default();
    let plain = b"a layer that will be gzipped first".repeat(1000);
    source_layout(&fs, &plain);
    let gzip = || CopyOptions {
        compression: CompressionOptions {
            layers: Some(crate::destination::LayerCompression::Compress),
            ..Default::default()
        },
        ..Default::default()
    };
    let run = |src: &'static str, dest: &'static str, opts: CopyOptions| {
        pollster::block_on(async {
            let src = open_source(&fs, &ImageName::parse(src).unwrap()).await?;
            let dest = DirDestination::new(&fs, dest).await?;
            copy_image(&src, dest, &opts, &|_: &str| {}).await
        })
        .unwrap()
    };
    run("oci:/src:t", "/gz", gzip());
    let decompress = CopyOptions {
        compression: CompressionOptions {
            layers: Some(crate::destination::LayerCompression::Decompress),
            ..Default::default()
        },
        ..Default::default()
    };
    run("dir:/gz", "/plain", decompress);
    let files = fs.files.borrow();
    let manifest: serde_json::Value =
        serde_json::from_slice(&files["/plain/manifest.json"]).unwrap();
    let layer = &manifest["layers"][0];
    assert_eq!(layer["mediaType"], "application/vnd.oci.image.layer.v1.tar");
    assert_eq!(layer["digest"], Digest::sha256_of(&plain).to_string());
    assert_eq!(
        files[&format!("/plain/{}", Digest::sha256_of(&plain).hex())],
        plain
    );
}
