//! Docker's v1 image JSON (`V1Image` and its container `Config`) exactly as Go encodes it.
//! Only needed to re-encode configs written by docker before 1.8.3, which omitted fields that
//! later versions always write.

use crate::config::Empty;
use crate::gotime::GoTime;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn is_empty_map(v: &Option<BTreeMap<String, Empty>>) -> bool {
    v.as_ref().is_none_or(BTreeMap::is_empty)
}

fn is_empty_vec(v: &Option<Vec<String>>) -> bool {
    v.as_ref().is_none_or(Vec::is_empty)
}

/// Docker's `strslice.StrSlice`: accepts a string or a list of strings.
fn str_slice<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => None,
        Some(OneOrMany::One(s)) => Some(vec![s]),
        Some(OneOrMany::Many(v)) => Some(v),
    })
}

/// A container healthcheck (durations in nanoseconds).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    #[serde(default, skip_serializing_if = "is_empty_vec")]
    pub test: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start_period: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub interval: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timeout: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: i64,
}

/// Docker's container `Config`, in Go's field order.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub domainname: String,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub attach_stdin: bool,
    #[serde(default)]
    pub attach_stdout: bool,
    #[serde(default)]
    pub attach_stderr: bool,
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub exposed_ports: Option<BTreeMap<String, Empty>>,
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub open_stdin: bool,
    #[serde(default)]
    pub stdin_once: bool,
    #[serde(default)]
    pub env: Option<Vec<String>>,
    #[serde(default, deserialize_with = "str_slice")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub args_escaped: bool,
    #[serde(default)]
    pub image: String,
    #[serde(default)]
    pub volumes: Option<BTreeMap<String, Empty>>,
    #[serde(default)]
    pub working_dir: String,
    #[serde(default, deserialize_with = "str_slice")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub network_disabled: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mac_address: String,
    #[serde(default)]
    pub on_build: Option<Vec<String>>,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stop_signal: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    #[serde(
        default,
        deserialize_with = "str_slice",
        skip_serializing_if = "is_empty_vec"
    )]
    pub shell: Option<Vec<String>>,
}

/// Docker's `V1Image`, in Go's field order.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LegacyV1Image {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub parent: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    #[serde(default = "zero_time")]
    pub created: GoTime,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub container: String,
    #[serde(default)]
    pub container_config: ContainerConfig,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub docker_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub author: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub architecture: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub os: String,
    #[serde(rename = "Size", default, skip_serializing_if = "is_zero")]
    pub size: i64,
}

fn zero_time() -> GoTime {
    GoTime::ZERO
}

/// Docker's API version comparison: dot-separated numbers, missing or non-numeric parts as 0.
pub fn docker_version_less_than(v: &str, other: &str) -> bool {
    let a: Vec<&str> = v.split('.').collect();
    let b: Vec<&str> = other.split('.').collect();
    for i in 0..a.len().max(b.len()) {
        let n = |parts: &[&str]| {
            parts
                .get(i)
                .and_then(|p| p.parse::<i64>().ok())
                .unwrap_or(0)
        };
        let (x, y) = (n(&a), n(&b));
        if x != y {
            return x < y;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gojson;

    #[test]
    fn compares_versions_like_docker() {
        assert!(docker_version_less_than("1.8.2", "1.8.3"));
        assert!(docker_version_less_than("1.6", "1.8.3"));
        assert!(!docker_version_less_than("1.8.3", "1.8.3"));
        assert!(!docker_version_less_than("1.12.6", "1.8.3"));
        assert!(docker_version_less_than("1.8-dev", "1.8.3"));
    }

    #[test]
    fn re_encodes_with_go_defaults() {
        let v1: LegacyV1Image = serde_json::from_str(
            r#"{"id":"x","created":"2015-01-02T03:04:05Z","container_config":{"Cmd":"sh"},"docker_version":"1.6.0","Size":3}"#,
        )
        .unwrap();
        let text = String::from_utf8(gojson::to_compact(&v1, true)).unwrap();
        assert_eq!(
            text,
            r#"{"id":"x","created":"2015-01-02T03:04:05Z","container_config":{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":["sh"],"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null},"docker_version":"1.6.0","Size":3}"#
        );
    }
}
