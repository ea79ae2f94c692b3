//! `--retry-times`: retrying an operation that failed for a reason that may go away, with
//! skopeo's warning and doubling delays (1 s, 2 s, 4 s, …).

use skopeo_core::Error;
use std::time::Duration;

/// Runs `op`, and runs it again up to `max_retry` times while it fails retryably, warning
/// before each wait as skopeo does.
pub fn if_necessary<T>(
    max_retry: u32,
    mut op: impl FnMut() -> Result<T, Error>,
) -> Result<T, Error> {
    let mut result = op();
    let mut attempt = 0;
    while let Err(e) = &result {
        if attempt >= max_retry || !e.is_retryable() {
            break;
        }
        let seconds = 1u64 << attempt.min(16);
        crate::fatal::warn(&format!(
            "Failed, retrying in {} ... ({}/{max_retry}). Error: {e}",
            go_duration(seconds),
            attempt + 1
        ));
        std::thread::sleep(Duration::from_secs(seconds));
        attempt += 1;
        result = op();
    }
    result
}

/// Whole seconds as Go prints a `time.Duration` (`4s`, `1m4s`, `1h8m16s`).
fn go_duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_go() {
        assert_eq!(go_duration(1), "1s");
        assert_eq!(go_duration(64), "1m4s");
        assert_eq!(go_duration(4096), "1h8m16s");
    }

    #[test]
    fn only_retryable_failures_are_retried() {
        let mut calls = 0;
        let final_error = Error::Invalid("bad name".into());
        let r: Result<(), Error> = if_necessary(3, || {
            calls += 1;
            Err(final_error.clone())
        });
        assert_eq!((r, calls), (Err(final_error), 1));
    }
}
