//! What each fuzz target does with its input, one function per target. The fuzz targets in
//! `fuzz_targets/` call these; the core's test `fuzz_regressions` runs them over every input
//! committed under `fuzz/regressions/TARGET/`, so a crash once found stays fixed.
//!
//! Each function must never panic, whatever the bytes.

/// Fuzz target `references`: Image references and transport-qualified image names, as users
/// and files give them.
pub fn references(data: &[u8]) {
    use skopeo_core::reference::{AnyReference, Reference};
    use skopeo_core::transport::ImageName;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Reference::parse(text);
    let _ = Reference::parse_named(text);
    let _ = Reference::parse_docker_ref(text);
    let _ = AnyReference::parse(text);
    if let Ok(named) = Reference::parse_normalized_named(text) {
        // A name we print must read back as the same name.
        let printed = named.to_string();
        let again = Reference::parse_normalized_named(&printed)
            .unwrap_or_else(|e| panic!("{printed:?} (from {text:?}) does not parse: {e}"));
        assert_eq!(again.to_string(), printed);
    }
    let _ = ImageName::parse(text);
    let _ = skopeo_core::digest::Digest::parse(text);
}

/// Fuzz target `manifests`: Manifests of every schema (schema 1 with its JWS, schema 2,
/// OCI) and the manifest lists and indexes that name them, as registries and files serve
/// them.
pub fn manifests(data: &[u8]) {
    use skopeo_core::manifest::{self, jws, mime, Manifest};
    /// The media types a manifest can be declared as; the first byte picks one.
    const DECLARED: &[&str] = &[
        "",
        mime::DOCKER_V2_SCHEMA1,
        mime::DOCKER_V2_SCHEMA1_SIGNED,
        mime::DOCKER_V2_SCHEMA2,
        mime::DOCKER_V2_LIST,
        mime::OCI_MANIFEST,
        mime::OCI_INDEX,
        "application/json",
    ];
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let declared = DECLARED[pick as usize % DECLARED.len()];
    let _ = mime::guess_mime_type(bytes);
    let _ = manifest::manifest_digest(bytes);
    let _ = jws::payload(bytes);
    if let Ok(parsed) = Manifest::parse(bytes, declared) {
        let _ = parsed.mime_type();
        let _ = parsed.layer_digests();
    }
}

/// Fuzz target `registry_headers`: What a registry answers in headers: `WWW-Authenticate`
/// challenges, `Link` pagination and `Retry-After`. One header value per line.
pub fn registry_headers(data: &[u8]) {
    use skopeo_core::registry::{challenge, link, retry};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for challenge in challenge::parse_challenges(text.lines()) {
        let _ = challenge.param("realm");
        let _ = challenge.param("service");
        let _ = challenge.param("scope");
    }
    for line in text.lines() {
        if let Some(path) = link::next_page_path(line) {
            assert!(path.starts_with('/'), "{path:?} from Link {line:?}");
        }
        let _ = retry::retry_after(line, 1_800_000_000);
    }
}

/// Fuzz target `config_files`: The configuration files users already have (and the image
/// store's `storage.conf`, `images.json`, `layers.json` and tar-split files): auth.json /
/// docker config.json, registries.conf, registries.d, policy.json and sync's YAML. The
/// first byte picks the file.
pub fn config_files(data: &[u8]) {
    use skopeo_core::{auth_file, policy::Policy, registries_conf::RegistriesConf};
    use skopeo_core::{reference::Reference, registries_d::RegistriesD, sync::yaml::YamlSource};
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(bytes);
    match pick % 7 {
        0 => {
            let _ = auth_file::lookup(bytes, false, "registry.example/ns/repo");
            let _ = auth_file::lookup(bytes, true, "docker.io/library/busybox");
            let _ = auth_file::cred_helper_for(bytes, "registry.example");
            let _ = auth_file::without_credentials(bytes, "registry.example");
        }
        1 => {
            if let Ok(conf) = RegistriesConf::load(Some(("registries.conf", &text)), &[]) {
                let name = Reference::parse_normalized_named("registry.example/ns/repo:1");
                if let Ok(name) = name {
                    let _ = conf.pull_sources_for(&name);
                }
                let _ = conf.find_registry("registry.example");
            }
        }
        2 => {
            let conf = RegistriesConf::load(
                Some((
                    "registries.conf",
                    "unqualified-search-registries = ['a.example']",
                )),
                &[("registries.conf.d/x.conf", &text)],
            );
            let _ = conf;
        }
        3 => {
            let _ = RegistriesD::parse(&[("default.yaml".into(), bytes.to_vec())]);
        }
        4 => {
            let _ = Policy::parse(bytes, "policy.json");
        }
        5 => {
            let _ = YamlSource::parse("sync.yaml", &text);
        }
        _ => {
            use skopeo_core::containers_storage::{parse_images, Store};
            let _ = Store::resolve(None, Some(&text), |_| false);
            if let Ok(images) = parse_images(bytes) {
                let wanted = skopeo_core::transport::StorageImage {
                    id: Some("abc".into()),
                    ..Default::default()
                };
                let _ = skopeo_core::containers_storage::find(&images, &wanted);
            }
            use skopeo_core::containers_storage::{layers, tar_split};
            if let Ok(stored) = layers::parse_layers(bytes) {
                if let Some(top) = stored.first() {
                    let _ = layers::chain(&stored, &top.id);
                }
            }
            let _ = tar_split::decompress(bytes);
        }
    }
}

/// Fuzz target `archives`: Docker archives as `docker save` writes them (or an attacker
/// does): the tar, possibly compressed, its members' names and link targets, and the
/// `manifest.json` inside.
pub fn archives(data: &[u8]) {
    use skopeo_core::compression::{self, Decompressor};
    use skopeo_core::docker_archive::{self, paths};
    use std::io::Read;
    /// Decompressed bytes read at most (a bomb is not a finding).
    const MAX_EXPANDED: usize = 16 << 20;
    let expanded;
    let tar_bytes = match compression::detect(data) {
        Some(algorithm) => {
            let mut decompressor = Decompressor::new(algorithm);
            let mut out = Vec::new();
            for chunk in data.chunks(4096) {
                match decompressor.push(chunk) {
                    Ok(more) => out.extend(more),
                    Err(_) => return,
                }
                if out.len() > MAX_EXPANDED {
                    return;
                }
            }
            match decompressor.finish() {
                Ok(rest) => out.extend(rest),
                Err(_) => return,
            }
            expanded = out;
            &expanded[..]
        }
        None => data,
    };
    let mut archive = tar::Archive::new(tar_bytes);
    let Ok(entries) = archive.entries() else {
        return;
    };
    for entry in entries {
        let Ok(mut entry) = entry else {
            return;
        };
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if let Ok(Some(target)) = entry.link_name() {
            let target = target.to_string_lossy();
            let _ = paths::link_leaves_archive(
                &name,
                &target,
                entry.header().entry_type().is_symlink(),
            );
        }
        if name.trim_start_matches("./") != docker_archive::MANIFEST_FILE {
            continue;
        }
        let mut manifest = Vec::new();
        if entry
            .by_ref()
            .take(2 << 20)
            .read_to_end(&mut manifest)
            .is_err()
        {
            return;
        }
        let Ok(items) = docker_archive::parse_manifest(&manifest) else {
            continue;
        };
        let _ = docker_archive::list_tags(&items);
        let _ = docker_archive::choose_item(&items, None, Some(0));
        for item in &items {
            let _ = paths::member(&item.config);
            for layer in &item.layers {
                if let Ok(inside) = paths::member(layer) {
                    assert!(!inside.starts_with('/') && !inside.split('/').any(|p| p == ".."));
                }
            }
        }
    }
}

/// Fuzz target `layers`: a layer's tar as a store applies it (headers, PAX records, GNU long
/// names, whiteouts, links), for both whiteout styles: nothing may be made, removed or
/// linked outside the layer's directory (the in-memory tree panics if it is).
pub fn layers(data: &[u8]) {
    use skopeo_core::containers_storage::apply::{apply_layer, Whiteouts};
    use skopeo_core::containers_storage::memory_tree::MemoryTree;
    use skopeo_core::effects::VecStream;
    for whiteouts in [Whiteouts::Removed, Whiteouts::Overlay] {
        let tree = MemoryTree::new("/layer");
        let stream = VecStream::new(data.to_vec());
        let _ = pollster::block_on(apply_layer(&tree, "/layer", stream, whiteouts));
    }
}

/// Fuzz target `templates`: `inspect --format` Go templates, rendered against an image's
/// inspect values.
pub fn templates(data: &[u8]) {
    use skopeo_core::template::{self, map, string, string_map, strings};
    use std::collections::BTreeMap;
    let Ok(format) = std::str::from_utf8(data) else {
        return;
    };
    let _ = template::is_json_format(format);
    // Nested ranges, and ranges over integers, multiply the work (as in Go's templates): a
    // few bytes can ask for billions of steps, which is the user's to ask for, not a finding.
    let over_integer = format.match_indices("range").any(|(i, _)| {
        format[i + 5..]
            .trim_start()
            .starts_with(|c: char| c.is_ascii_digit())
    });
    if format.matches("range").count() > 2 || over_integer {
        return;
    }
    let labels = BTreeMap::from([("org.example".to_string(), "v".to_string())]);
    let value = map(vec![
        ("Name", string("registry.example/ns/repo")),
        ("Digest", string("sha256:0000")),
        ("RepoTags", strings(Some(&["1".into(), "latest".into()]))),
        (
            "Layers",
            strings(Some(&["sha256:aa".into(), "sha256:bb".into()])),
        ),
        ("Labels", string_map(Some(&labels))),
        ("Architecture", string("amd64")),
    ]);
    let _ = template::render(format, value);
}

/// Fuzz target `signatures`: Signatures fetched from lookaside stores and registries:
/// OpenPGP messages and the simple signing payloads inside them.
pub fn signatures(data: &[u8]) {
    use skopeo_core::trust::{openpgp, simple_signing::SimpleSignature};
    let _ = openpgp::untrusted_contents(data);
    let _ = SimpleSignature::parse(data);
    let _ = openpgp::Keyring::from_blobs(&[data]);
}
