//! Choosing one image from a manifest list / image index for a wanted platform.

use super::types::Descriptor;
use crate::digest::Digest;
use serde::{Deserialize, Serialize};

/// A platform as manifests and configs describe it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub os_version: String,
    #[serde(
        rename = "os.features",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_features: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
}

/// What the user asked for (`--override-os/arch/variant`) on top of what the host runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlatformChoice {
    /// The host's OS in Go's naming (`linux`).
    pub host_os: String,
    /// The host's architecture in Go's naming (`amd64`, `arm64`).
    pub host_arch: String,
    /// The host CPU's variant (`v7` on 32-bit ARM), empty if none.
    pub host_variant: String,
    pub override_os: Option<String>,
    pub override_arch: Option<String>,
    pub override_variant: Option<String>,
}

/// Variants an architecture can run, best first.
fn compatible_variants(arch: &str) -> Option<&'static [&'static str]> {
    match arch {
        "arm" => Some(&["v8", "v7", "v6", "v5"]),
        "arm64" => Some(&["v8"]),
        _ => None,
    }
}

/// Maps a Rust `target_arch` to Go's `GOARCH` name.
pub fn go_arch(rust_arch: &str) -> &str {
    match rust_arch {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64le",
        "wasm32" => "wasm",
        other => other,
    }
}

impl PlatformChoice {
    /// The platforms acceptable for this choice, most wanted first.
    pub fn wanted(&self) -> Vec<Platform> {
        let non_empty = |o: &Option<String>| o.clone().filter(|s| !s.is_empty());
        let (arch, mut variant) = match non_empty(&self.override_arch) {
            Some(a) => (a, String::new()),
            None => (self.host_arch.clone(), self.host_variant.clone()),
        };
        if let Some(v) = non_empty(&self.override_variant) {
            variant = v;
        }
        let os = non_empty(&self.override_os).unwrap_or_else(|| self.host_os.clone());
        let mut variants: Vec<String> = Vec::new();
        if !variant.is_empty() {
            if let Some(order) = compatible_variants(&arch) {
                if let Some(i) = order.iter().position(|v| *v == variant) {
                    variants.extend(order[i..].iter().map(|v| v.to_string()));
                }
            }
            if variants.is_empty() {
                variants.push(variant);
            }
            variants.push(String::new());
        } else {
            variants.push(String::new());
            if let Some(order) = compatible_variants(&arch) {
                variants.extend(order.iter().map(|v| v.to_string()));
            }
        }
        variants
            .into_iter()
            .map(|variant| Platform {
                architecture: arch.clone(),
                os: os.clone(),
                variant,
                ..Platform::default()
            })
            .collect()
    }
}

fn matches(image: &Platform, wanted: &Platform) -> bool {
    image.architecture == wanted.architecture
        && image.os == wanted.os
        && image.variant == wanted.variant
}

/// Picks the instance of a list/index for `choice`. `is_oci_index` selects the OCI rules (an
/// entry without a platform is a fallback) and the OCI wording of the error.
pub fn choose_instance(
    manifests: &[Descriptor],
    choice: &PlatformChoice,
    is_oci_index: bool,
) -> Result<Digest, String> {
    let wanted = choice.wanted();
    for w in &wanted {
        for d in manifests {
            let platform = match &d.platform {
                Some(p) => p.clone(),
                None if is_oci_index => continue,
                None => Platform::default(),
            };
            if matches(&platform, w) {
                return Ok(d.digest.clone());
            }
        }
    }
    if is_oci_index {
        if let Some(d) = manifests.iter().find(|d| d.platform.is_none()) {
            return Ok(d.digest.clone());
        }
    }
    let first = &wanted[0];
    let kind = if is_oci_index {
        "image index"
    } else {
        "manifest list"
    };
    Err(format!(
        "no image found in {kind} for architecture {}, variant {:?}, OS {}",
        first.architecture, first.variant, first.os
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(arch: &str, variant: &str) -> PlatformChoice {
        PlatformChoice {
            host_os: "linux".into(),
            host_arch: "amd64".into(),
            override_arch: Some(arch.into()),
            override_variant: Some(variant.into()),
            ..Default::default()
        }
    }

    #[test]
    fn variant_defaults() {
        let w: Vec<String> = choice("arm64", "")
            .wanted()
            .into_iter()
            .map(|p| p.variant)
            .collect();
        assert_eq!(w, ["", "v8"]);
        let w: Vec<String> = choice("arm", "v7")
            .wanted()
            .into_iter()
            .map(|p| p.variant)
            .collect();
        assert_eq!(w, ["v7", "v6", "v5", ""]);
        let w: Vec<String> = choice("riscv64", "rva23")
            .wanted()
            .into_iter()
            .map(|p| p.variant)
            .collect();
        assert_eq!(w, ["rva23", ""]);
    }
}
