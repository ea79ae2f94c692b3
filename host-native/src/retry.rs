//! `--retry-times`: retrying an operation that failed for a reason that may go away, with
//! skopeo's warning and doubling delays (1 s, 2 s, 4 s, …).

use skopeo_core::Error;
use std::time::Duration;

/// Runs `op`, and runs it again up to `max_retry` times while it fails retryably, warning
/// before each wait as skopeo does.
pub fn if_necessary<T>(max_retry: u32, op: impl FnMut() -> Result<T, Error>) -> Result<T, Error> {
    if_necessary_with_delay(max_retry, None, op)
}

/// [`if_necessary`] waiting `delay` between attempts (`--retry-delay`) instead of doubling.
pub fn if_necessary_with_delay<T>(
    max_retry: u32,
    delay: Option<Duration>,
    mut op: impl FnMut() -> Result<T, Error>,
) -> Result<T, Error> {
    let mut result = op();
    let mut attempt = 0;
    while let Err(e) = &result {
        if attempt >= max_retry || !e.is_retryable() {
            break;
        }
        let wait = delay.unwrap_or_else(|| Duration::from_secs(1u64 << attempt.min(16)));
        crate::fatal::warn(&format!(
            "Failed, retrying in {} ... ({}/{max_retry}). Error: {e}",
            go_duration(wait),
            attempt + 1
        ));
        std::thread::sleep(wait);
        attempt += 1;
        result = op();
    }
    result
}

/// A duration as Go prints a `time.Duration` (`4s`, `1m4s`, `1h8m16s`, `1.5s`, `500ms`).
fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000_000_000 {
        let (unit, scale) = match nanos {
            n if n < 1_000 => ("ns", 1),
            n if n < 1_000_000 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        return format!("{}{unit}", fraction(nanos, scale));
    }
    let seconds = d.as_secs();
    let (h, m) = (seconds / 3600, seconds / 60 % 60);
    let s = fraction(nanos % 60_000_000_000, 1_000_000_000);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// `value / scale` with the fraction Go prints (trailing zeros dropped).
fn fraction(value: u128, scale: u128) -> String {
    let (whole, rest) = (value / scale, value % scale);
    if rest == 0 {
        return whole.to_string();
    }
    let digits = scale.to_string().len() - 1;
    let frac = format!("{rest:0digits$}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// Parses a Go duration (`2s`, `1m30s`, `500ms`, `1.5h`); `None` when it is not one.
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += number * scale;
    }
    Some(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_go() {
        assert_eq!(go_duration(Duration::from_secs(1)), "1s");
        assert_eq!(go_duration(Duration::from_secs(64)), "1m4s");
        assert_eq!(go_duration(Duration::from_secs(4096)), "1h8m16s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_millis(250)), "250ms");
    }

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_go_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_go_duration("5"), None);
        assert_eq!(parse_go_duration("s"), None);
        assert_eq!(parse_go_duration(""), None);
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
