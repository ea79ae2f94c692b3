//! Singularity/Apptainer images (`sif:PATH`), read as containers/image 5.22 reads them: the SIF
//! container's header and descriptors are parsed here (as sylabs/sif v2 parses them, with its
//! error words), the primary system partition (a squashfs) is what the host unpacks and packs
//! into the single layer, and the image's config, history and manifest are made here from the
//! SIF's definition file (`%environment` and `%runscript` become an injected script).

use crate::digest::Digest;
use crate::effects::{ByteSink, Filesystem, FilesystemWrite};
use crate::gotime::GoTime;
use crate::manifest::mime;
use crate::reference::Reference;
use crate::source::ImageSource;
use crate::{Error, Result};
use serde::Serialize;

/// The fixed-size global header at the start of every SIF file.
pub const HEADER_LEN: usize = 128;
/// One descriptor as stored (packed, little-endian).
pub const DESCRIPTOR_LEN: usize = 585;

const MAGIC: &[u8; 10] = b"SIF_MAGIC\0";
const VERSION: &[u8; 3] = b"01\0";

/// Descriptor data types that matter here.
const DATA_DEFFILE: i32 = 0x4001;
const DATA_PARTITION: i32 = 0x4004;
/// The partition type of the primary operating system.
const PART_PRIM_SYS: i32 = 2;

/// Where the injected script goes in the image, and so the command that runs it.
pub const INJECTED_SCRIPT_PATH: &str = "/podman/runscript";

/// The global header's fields this reader uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Go's name of the primary architecture (`amd64`, …, or `unknown`).
    pub arch: String,
    /// The image's UUID in its usual text form.
    pub id: String,
    /// Modification time, seconds since the epoch.
    pub modified_at: i64,
    pub descriptors_free: i64,
    pub descriptors_total: i64,
    pub descriptors_offset: i64,
    pub descriptors_size: i64,
}

/// A data object's descriptor: where its bytes are in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub data_type: i32,
    pub used: bool,
    pub offset: i64,
    pub size: i64,
    /// The partition type, for partition objects.
    partition_type: Option<i32>,
}

/// Why a SIF file cannot be read, in sylabs/sif's and containers/image's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SifError(pub String);

fn le_i64(b: &[u8], at: usize) -> i64 {
    i64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn le_i32(b: &[u8], at: usize) -> i32 {
    i32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn go_arch(code: &[u8]) -> &'static str {
    const ARCHES: [&str; 12] = [
        "386", "amd64", "arm", "arm64", "ppc64", "ppc64le", "mips", "mipsle", "mips64", "mips64le",
        "s390x", "riscv64",
    ];
    if code.len() == 3 && code[2] == 0 && code[..2].iter().all(u8::is_ascii_digit) {
        let n = usize::from(code[0] - b'0') * 10 + usize::from(code[1] - b'0');
        if (1..=ARCHES.len()).contains(&n) {
            return ARCHES[n - 1];
        }
    }
    "unknown"
}

fn uuid_string(b: &[u8]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

impl Header {
    /// Parses the first bytes of a file (fewer than [`HEADER_LEN`] is a short read).
    pub fn parse(bytes: &[u8]) -> Result<Header, SifError> {
        if bytes.len() < HEADER_LEN {
            let why = if bytes.is_empty() {
                "EOF"
            } else {
                "unexpected EOF"
            };
            return Err(SifError(format!("reading global header: {why}")));
        }
        if &bytes[32..42] != MAGIC {
            return Err(SifError("invalid SIF magic".into()));
        }
        if &bytes[42..45] != VERSION {
            return Err(SifError("incompatible SIF version".into()));
        }
        Ok(Header {
            arch: go_arch(&bytes[45..48]).to_owned(),
            id: uuid_string(&bytes[48..64]),
            modified_at: le_i64(bytes, 72),
            descriptors_free: le_i64(bytes, 80),
            descriptors_total: le_i64(bytes, 88),
            descriptors_offset: le_i64(bytes, 96),
            descriptors_size: le_i64(bytes, 104),
        })
    }

    /// The byte range the descriptors are read from, and how many bytes they need.
    pub fn descriptors_range(&self) -> Result<(u64, u64, u64), SifError> {
        let bad = || SifError("reading descriptors: unexpected EOF".into());
        let offset = u64::try_from(self.descriptors_offset).map_err(|_| bad())?;
        let size = u64::try_from(self.descriptors_size).map_err(|_| bad())?;
        let total = u64::try_from(self.descriptors_total).map_err(|_| bad())?;
        let needed = total.checked_mul(DESCRIPTOR_LEN as u64).ok_or_else(bad)?;
        Ok((offset, size, needed))
    }
}

/// A parsed SIF container: its header and every descriptor slot.
#[derive(Debug, Clone)]
pub struct SifImage {
    pub header: Header,
    pub descriptors: Vec<Descriptor>,
}

impl SifImage {
    /// Parses the descriptors read from [`Header::descriptors_range`] (`bytes` holds what the
    /// file had there, at most the section's size).
    pub fn parse(header: Header, bytes: &[u8]) -> Result<SifImage, SifError> {
        let (_, _, needed) = header.descriptors_range()?;
        if (bytes.len() as u64) < needed {
            let why = if bytes.is_empty() && needed > 0 {
                "EOF"
            } else {
                "unexpected EOF"
            };
            return Err(SifError(format!("reading descriptors: {why}")));
        }
        let descriptors = bytes[..needed as usize]
            .chunks_exact(DESCRIPTOR_LEN)
            .map(|d| {
                let data_type = le_i32(d, 0);
                Descriptor {
                    data_type,
                    used: d[4] != 0,
                    offset: le_i64(d, 17),
                    size: le_i64(d, 25),
                    partition_type: (data_type == DATA_PARTITION).then(|| le_i32(d, 201 + 4)),
                }
            })
            .collect();
        Ok(SifImage {
            header,
            descriptors,
        })
    }

    /// The one used descriptor `select` picks, as sif's `GetDescriptor` finds it.
    fn descriptor(&self, select: impl Fn(&Descriptor) -> bool) -> Result<&Descriptor, SifError> {
        if self.header.descriptors_free == self.header.descriptors_total {
            return Err(SifError("no objects in image".into()));
        }
        let mut found = self.descriptors.iter().filter(|d| d.used && select(d));
        match (found.next(), found.next()) {
            (Some(d), None) => Ok(d),
            (Some(_), Some(_)) => Err(SifError("multiple objects found".into())),
            (None, _) => Err(SifError("object not found".into())),
        }
    }

    /// The primary system partition: the root filesystem the layer is made from.
    pub fn root_fs(&self) -> Result<&Descriptor, SifError> {
        self.descriptor(|d| d.partition_type == Some(PART_PRIM_SYS))
            .map_err(|e| SifError(format!("looking up rootfs from SIF file: {e}")))
    }

    /// The definition file object, if there is exactly one (containers/image ignores the
    /// lookup's failure and treats the image as having none).
    pub fn def_file(&self) -> Option<&Descriptor> {
        self.descriptor(|d| d.data_type == DATA_DEFFILE).ok()
    }
}

/// The non-trivial `%environment` lines and every `%runscript` line of a definition file.
pub fn parse_def_file(text: &[u8]) -> (Vec<String>, Vec<String>) {
    #[derive(PartialEq)]
    enum Section {
        Other,
        Environment,
        Runscript,
    }
    let (mut environment, mut runscript) = (Vec::new(), Vec::new());
    let mut section = Section::Other;
    for line in String::from_utf8_lossy(text).lines() {
        let s = line.trim();
        match s {
            "%environment" => section = Section::Environment,
            "%runscript" => section = Section::Runscript,
            _ if s.starts_with('%') => section = Section::Other,
            _ if section == Section::Environment => {
                let trivial = s.is_empty() || s.starts_with('#');
                environment.extend((!trivial).then(|| s.to_owned()));
            }
            _ if section == Section::Runscript => runscript.push(s.to_owned()),
            _ => {}
        }
    }
    (environment, runscript)
}

/// The command the image runs and the script to inject at [`INJECTED_SCRIPT_PATH`], if any:
/// `bash` when the definition file (if any) has no environment or runscript.
pub fn command_and_script(def_file: Option<&[u8]>) -> (String, Option<Vec<u8>>) {
    let (environment, runscript) = def_file.map(parse_def_file).unwrap_or_default();
    if environment.is_empty() && runscript.is_empty() {
        return ("bash".into(), None);
    }
    let script = format!(
        "#!/bin/bash\n{}\n{}\n",
        environment.join("\n"),
        runscript.join("\n")
    );
    (INJECTED_SCRIPT_PATH.into(), Some(script.into_bytes()))
}

#[derive(Serialize)]
struct ImageConfig<'a> {
    created: &'a str,
    architecture: &'a str,
    os: &'a str,
    config: RunConfig<'a>,
    rootfs: RootFs<'a>,
    history: [History<'a>; 2],
}

#[derive(Serialize)]
struct RunConfig<'a> {
    #[serde(rename = "Cmd")]
    cmd: [&'a str; 1],
}

#[derive(Serialize)]
struct RootFs<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    diff_ids: [String; 1],
}

#[derive(Serialize)]
struct History<'a> {
    created: &'a str,
    created_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    empty_layer: bool,
}

/// The image config containers/image writes for a SIF image whose layer is `layer`
/// (uncompressed, so also its diff ID), created at the header's modification time shown in
/// the local zone (`utc_offset` seconds east of UTC).
pub fn image_config(header: &Header, command: &str, layer: &Digest, utc_offset: i32) -> Vec<u8> {
    let created = GoTime::from_unix_in_zone(header.modified_at, utc_offset).rfc3339_nano();
    let config = ImageConfig {
        created: &created,
        architecture: &header.arch,
        os: "linux",
        config: RunConfig { cmd: [command] },
        rootfs: RootFs {
            kind: "layers",
            diff_ids: [layer.to_string()],
        },
        history: [
            History {
                created: &created,
                created_by: format!("/bin/sh -c #(nop) ADD file:{} in /", layer.hex()),
                comment: Some(format!("imported from SIF, uuid: {}", header.id)),
                empty_layer: false,
            },
            History {
                created: &created,
                created_by: "/bin/sh -c #(nop) CMD [\"bash\"]".into(),
                comment: None,
                empty_layer: true,
            },
        ],
    };
    crate::gojson::to_compact(&config, true)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Manifest<'a> {
    schema_version: u32,
    media_type: &'a str,
    config: BlobDescriptor<'a>,
    layers: [BlobDescriptor<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BlobDescriptor<'a> {
    media_type: &'a str,
    digest: String,
    size: u64,
}

/// The OCI manifest for the image: `config` and the one uncompressed layer.
pub fn image_manifest(config: &[u8], layer: &Digest, layer_size: u64) -> Vec<u8> {
    let manifest = Manifest {
        schema_version: 2,
        media_type: mime::OCI_MANIFEST,
        config: BlobDescriptor {
            media_type: mime::OCI_CONFIG,
            digest: Digest::sha256_of(config).to_string(),
            size: config.len() as u64,
        },
        layers: [BlobDescriptor {
            media_type: mime::OCI_LAYER,
            digest: layer.to_string(),
            size: layer_size,
        }],
    };
    crate::gojson::to_compact(&manifest, true)
}

/// A converted SIF image as a source: the manifest and config made here, the layer the
/// host packed (an uncompressed tar at `layer_path`) read through the filesystem effect.
pub struct SifSource<'a, F: Filesystem> {
    fs: &'a F,
    manifest: Vec<u8>,
    config: Vec<u8>,
    config_digest: Digest,
    layer: Digest,
    layer_path: String,
    /// The config as a file too: copies stream every blob, the config included.
    config_path: String,
}

impl<F: Filesystem> Clone for SifSource<'_, F> {
    fn clone(&self) -> Self {
        SifSource {
            fs: self.fs,
            manifest: self.manifest.clone(),
            config: self.config.clone(),
            config_digest: self.config_digest.clone(),
            layer: self.layer.clone(),
            layer_path: self.layer_path.clone(),
            config_path: self.config_path.clone(),
        }
    }
}

impl<'a, F: FilesystemWrite> SifSource<'a, F> {
    /// The image of the SIF file `header` describes, run as `command`, whose root filesystem
    /// the host packed into the tar at `layer_path` (digest `layer`, `layer_size` bytes); the
    /// config is also written beside it. `utc_offset`: the local zone's offset, in which the
    /// creation time is shown.
    pub async fn new(
        fs: &'a F,
        header: &Header,
        command: &str,
        layer: Digest,
        layer_size: u64,
        layer_path: String,
        utc_offset: i32,
    ) -> Result<Self> {
        let config = image_config(header, command, &layer, utc_offset);
        let config_path = format!("{layer_path}.config.json");
        let mut file = fs.create(&config_path).await?;
        file.write_all(&config).await?;
        file.finish().await?;
        Ok(SifSource {
            fs,
            manifest: image_manifest(&config, &layer, layer_size),
            config_digest: Digest::sha256_of(&config),
            config,
            layer,
            layer_path,
            config_path,
        })
    }
}

impl<'a, F: Filesystem> SifSource<'a, F> {
    /// Where the blob `digest` is: the layer, or the config written beside it.
    pub fn blob_path(&self, digest: &Digest) -> Result<String> {
        if *digest == self.layer {
            Ok(self.layer_path.clone())
        } else if *digest == self.config_digest {
            Ok(self.config_path.clone())
        } else {
            Err(no_blob(digest))
        }
    }

    pub fn filesystem(&self) -> &'a F {
        self.fs
    }
}

fn no_blob(digest: &Digest) -> Error {
    Error::Invalid(format!(
        "no blob with digest {:?} found",
        digest.to_string()
    ))
}

impl<F: Filesystem> ImageSource for SifSource<'_, F> {
    async fn manifest(&self, instance: Option<&Digest>) -> Result<(Vec<u8>, String)> {
        match instance {
            Some(_) => Err(Error::Invalid(
                "manifest lists are not supported by the sif transport".into(),
            )),
            None => Ok((self.manifest.clone(), mime::OCI_MANIFEST.to_owned())),
        }
    }

    async fn small_blob(&self, digest: &Digest, _size: Option<u64>) -> Result<Vec<u8>> {
        match *digest == self.config_digest {
            true => Ok(self.config.clone()),
            false => Err(no_blob(digest)),
        }
    }

    fn docker_reference(&self) -> Option<&Reference> {
        None
    }
}

#[cfg(test)]
mod tests;
