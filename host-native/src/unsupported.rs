//! Flags skopeo 1.9.3 accepts for features this build does not have yet: they parse, and a
//! command given one stops with an error naming the flag and why, instead of ignoring it.

/// Layer encryption (`--encryption-key`, `--decryption-key`, `--encrypt-layer`).
pub const ENCRYPTION: &str = "image encryption and decryption are not supported by this build";
/// `--daemon-host` and its prefixed forms, which only docker-daemon: images use.
pub const DAEMON: &str = "the docker-daemon: transport is not available in this build yet";

/// Refuses the first of `flags` (name without dashes, whether given) that was given.
pub fn refuse_given(flags: &[(&str, bool)], why: &str) -> Result<(), String> {
    match flags.iter().find(|(_, given)| *given) {
        Some((flag, _)) => Err(format!("--{flag}: {why}")),
        None => Ok(()),
    }
}

/// Refuses `--FLAG` for a docker-daemon: image, the only transport that reads it (skopeo
/// ignores it for the others, and so does this build).
pub fn refuse_daemon_host(
    flag: &str,
    given: bool,
    image: &skopeo_core::transport::ImageName,
) -> Result<(), String> {
    let daemon = matches!(image, skopeo_core::transport::ImageName::DockerDaemon(_));
    refuse_given(&[(flag, given && daemon)], DAEMON)
}
