//! SIF headers and descriptors built byte by byte as sylabs/sif lays them out.

use super::*;

/// A SIF file's header and descriptor section with the given descriptors
/// (data type, used, partition type) and no data.
fn sif(descriptors: &[(i32, bool, i32)]) -> (Vec<u8>, Vec<u8>) {
    let mut h = vec![0u8; HEADER_LEN];
    h[..20].copy_from_slice(b"#!/usr/bin/env run\n\0");
    h[32..42].copy_from_slice(MAGIC);
    h[42..45].copy_from_slice(VERSION);
    h[45..48].copy_from_slice(b"02\0");
    h[48..64].copy_from_slice(&[
        0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd,
        0xef,
    ]);
    h[72..80].copy_from_slice(&1_700_000_000i64.to_le_bytes());
    let total = descriptors.len() as i64;
    let free = descriptors.iter().filter(|d| !d.1).count() as i64;
    h[80..88].copy_from_slice(&free.to_le_bytes());
    h[88..96].copy_from_slice(&total.to_le_bytes());
    h[96..104].copy_from_slice(&4096i64.to_le_bytes());
    h[104..112].copy_from_slice(&(total * DESCRIPTOR_LEN as i64).to_le_bytes());
    let mut d = Vec::new();
    for (i, &(kind, used, part)) in descriptors.iter().enumerate() {
        let mut one = vec![0u8; DESCRIPTOR_LEN];
        one[..4].copy_from_slice(&kind.to_le_bytes());
        one[4] = used.into();
        one[5..9].copy_from_slice(&(i as u32 + 1).to_le_bytes());
        one[17..25].copy_from_slice(&(8192 + 1000 * i as i64).to_le_bytes());
        one[25..33].copy_from_slice(&(100 + i as i64).to_le_bytes());
        one[201..205].copy_from_slice(&1i32.to_le_bytes());
        one[205..209].copy_from_slice(&part.to_le_bytes());
        d.extend(one);
    }
    (h, d)
}

#[test]
fn finds_the_primary_partition_and_the_definition_file() {
    let (h, d) = sif(&[(DATA_DEFFILE, true, 0), (DATA_PARTITION, true, 2)]);
    let header = Header::parse(&h).unwrap();
    assert_eq!(header.arch, "amd64");
    assert_eq!(header.id, "12345678-9abc-def0-0123-456789abcdef");
    let image = SifImage::parse(header, &d).unwrap();
    let root = image.root_fs().unwrap();
    assert_eq!((root.offset, root.size), (9192, 101));
    assert_eq!(image.def_file().unwrap().offset, 8192);
}

#[test]
fn bad_files_are_refused_in_sifs_words() {
    let err = |r: Result<SifImage, SifError>| r.unwrap_err().0;
    assert_eq!(
        Header::parse(b"").unwrap_err().0,
        "reading global header: EOF"
    );
    assert_eq!(
        Header::parse(&[0; 40]).unwrap_err().0,
        "reading global header: unexpected EOF"
    );
    assert_eq!(Header::parse(&[0; 200]).unwrap_err().0, "invalid SIF magic");
    let (mut h, d) = sif(&[(DATA_PARTITION, true, 2)]);
    h[42] = b'9';
    assert_eq!(Header::parse(&h).unwrap_err().0, "incompatible SIF version");
    let (h, d2) = sif(&[(DATA_PARTITION, true, 2)]);
    assert_eq!(d, d2);
    let header = Header::parse(&h).unwrap();
    assert_eq!(
        err(SifImage::parse(header.clone(), &d[..100])),
        "reading descriptors: unexpected EOF"
    );
    // No partition, an unused one, a data partition, two primary ones.
    for (descriptors, message) in [
        (vec![(DATA_DEFFILE, true, 0)], "object not found"),
        (vec![(DATA_PARTITION, false, 2)], "no objects in image"),
        (vec![(DATA_PARTITION, true, 3)], "object not found"),
        (
            vec![(DATA_PARTITION, true, 2), (DATA_PARTITION, true, 2)],
            "multiple objects found",
        ),
    ] {
        let (h, d) = sif(&descriptors);
        let image = SifImage::parse(Header::parse(&h).unwrap(), &d).unwrap();
        assert_eq!(
            image.root_fs().unwrap_err().0,
            format!("looking up rootfs from SIF file: {message}")
        );
    }
}

#[test]
fn definition_files_give_the_command_and_the_injected_script() {
    assert_eq!(command_and_script(None), ("bash".into(), None));
    let plain = b"Bootstrap: docker\nFrom: busybox\n%post\n  echo hi\n";
    assert_eq!(command_and_script(Some(plain)), ("bash".into(), None));
    let def = b"Bootstrap: docker\n%environment\n  # a comment\n  export A=1\n\n%runscript\n  echo run\n\n  exec \"$@\"\n%labels\n  X Y\n";
    let (command, script) = command_and_script(Some(def));
    assert_eq!(command, "/podman/runscript");
    assert_eq!(
        String::from_utf8(script.unwrap()).unwrap(),
        "#!/bin/bash\nexport A=1\necho run\n\nexec \"$@\"\n"
    );
}

#[test]
fn config_and_manifest_are_what_containers_image_marshals() {
    let (h, _) = sif(&[]);
    let header = Header::parse(&h).unwrap();
    let layer = Digest::sha256_of(b"layer");
    let config = image_config(&header, "bash", &layer, 0);
    let hex = layer.hex();
    assert_eq!(
        String::from_utf8(config.clone()).unwrap(),
        format!(
            concat!(
                r#"{{"created":"2023-11-14T22:13:20Z","architecture":"amd64","os":"linux","config":{{"Cmd":["bash"]}},"#,
                r#""rootfs":{{"type":"layers","diff_ids":["sha256:{hex}"]}},"history":[{{"created":"2023-11-14T22:13:20Z","#,
                r#""created_by":"/bin/sh -c #(nop) ADD file:{hex} in /","comment":"imported from SIF, uuid: 12345678-9abc-def0-0123-456789abcdef"}},"#,
                r#"{{"created":"2023-11-14T22:13:20Z","created_by":"/bin/sh -c #(nop) CMD [\"bash\"]","empty_layer":true}}]}}"#
            ),
            hex = hex
        )
    );
    let east = image_config(&header, "bash", &layer, 3600);
    assert!(String::from_utf8(east)
        .unwrap()
        .starts_with(r#"{"created":"2023-11-14T23:13:20+01:00""#));
    let manifest = String::from_utf8(image_manifest(&config, &layer, 10)).unwrap();
    assert_eq!(
        manifest,
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer}","size":10}}]}}"#,
            Digest::sha256_of(&config),
            config.len()
        )
    );
}
