//! skopeo's log lines (logrus style) on standard error; fatal errors exit with status 1.

use std::io::{IsTerminal, Write};
use std::time::{SystemTime, UNIX_EPOCH};

/// Prints `msg` as a fatal log line on standard error and exits with status 1.
pub fn fatal(msg: &str) -> ! {
    fatal_with_status(msg, 1)
}

/// Prints `msg` as a fatal log line and exits with `status` (128 + N after signal N).
pub fn fatal_with_status(msg: &str, status: i32) -> ! {
    log("FATA", "fatal", msg);
    std::process::exit(status)
}

/// Prints a logrus-style warning line to standard error.
pub fn warn(msg: &str) {
    log("WARN", "warning", msg);
}

/// Prints a logrus-style info line with `key=value` fields.
pub fn info_with(msg: &str, fields: &[(&str, &str)]) {
    log_with("INFO", "info", msg, fields);
}

/// Prints a logrus-style warning line with `key=value` fields.
pub fn warn_with(msg: &str, fields: &[(&str, &str)]) {
    log_with("WARN", "warning", msg, fields);
}

/// Prints a logrus-style error line with `key=value` fields.
pub fn error_with(msg: &str, fields: &[(&str, &str)]) {
    log_with("ERRO", "error", msg, fields);
}

/// One logrus line: `SHORT[0000] msg` on a terminal, `time=… level=LEVEL msg=…` otherwise.
fn log(short: &str, level: &str, msg: &str) {
    log_with(short, level, msg, &[]);
}

/// [`log`] with fields: padded after the message on a terminal, `key=value` pairs otherwise.
fn log_with(short: &str, level: &str, msg: &str, fields: &[(&str, &str)]) {
    let mut err = std::io::stderr().lock();
    let line = if err.is_terminal() {
        let pairs: String = fields
            .iter()
            .map(|(k, v)| format!(" {k}={}", quote_if_needed(v)))
            .collect();
        match pairs.is_empty() {
            true => format!("{short}[0000] {msg}\n"),
            false => format!("{short}[0000] {msg:<44}{pairs}\n"),
        }
    } else {
        let pairs: String = fields
            .iter()
            .map(|(k, v)| format!(" {k}={}", quote_if_needed(v)))
            .collect();
        format!(
            "time=\"{}\" level={level} msg={}{pairs}\n",
            now_rfc3339(),
            quote_if_needed(msg)
        )
    };
    let _ = err.write_all(line.as_bytes());
    let _ = err.flush();
}

/// logrus quotes a value unless it is made only of `[A-Za-z0-9-._/@^+]`.
fn quote_if_needed(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/@^+".contains(c));
    if plain {
        return s.to_owned();
    }
    skopeo_core::gojson::go_quote(s)
}

/// The current UTC time as RFC 3339 seconds (`2006-01-02T15:04:05Z`).
fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    skopeo_core::gotime::GoTime::from_unix(secs).rfc3339_nano()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_if_needed("plain"), "plain");
        assert_eq!(quote_if_needed("a \"b\""), "\"a \\\"b\\\"\"");
    }
}
