//! Flags skopeo 1.9.3 accepts for features this build does not have yet: they parse, and a
//! command given one stops with an error naming the flag and why, instead of ignoring it.

/// Layer encryption (`--encryption-key`, `--decryption-key`, `--encrypt-layer`).
pub const ENCRYPTION: &str = "image encryption and decryption are not supported by this build";

/// Refuses the first of `flags` (name without dashes, whether given) that was given.
pub fn refuse_given(flags: &[(&str, bool)], why: &str) -> Result<(), String> {
    match flags.iter().find(|(_, given)| *given) {
        Some((flag, _)) => Err(format!("--{flag}: {why}")),
        None => Ok(()),
    }
}
