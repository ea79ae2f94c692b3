//! Healing a flaky registry without being asked: requests that are safe to repeat (all but
//! streamed uploads) are tried again on a dropped connection, a timeout, 408, 429, 500, 502, 503 and 504,
//! with exponential backoff (jittered) that honours `Retry-After` (seconds or an HTTP date),
//! bounded in attempts and in total waiting. Answers that cannot heal (401, 403, 404, ...)
//! come back at once.

/// Attempts per request, the first included.
pub const MAX_ATTEMPTS: u32 = 5;
/// The first wait (seconds); each next one doubles, up to [`MAX_DELAY`].
pub const INITIAL_DELAY: u64 = 1;
/// The longest single wait (seconds), also for a `Retry-After` asking for more.
pub const MAX_DELAY: u64 = 30;
/// The most one request waits in all (seconds).
pub const MAX_TOTAL_WAIT: u64 = 120;

/// Whether a registry answering `status` may answer better if asked again.
pub fn heals(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Whether a failed exchange (no answer) is worth repeating: the connection dropped or
/// timed out; a refused connection means nothing listens, and is not.
pub fn transport_heals(e: &crate::effects::EffectError) -> bool {
    e.kind == crate::effects::EffectErrorKind::Transient
        && !e.message.contains("connection refused")
}

/// The wait before attempt `attempt + 1` (`attempt` from 1): `Retry-After` when the registry
/// gave one, else the doubled delay less a jitter of up to a half (from `seed`).
pub fn delay(attempt: u32, retry_after: Option<u64>, seed: u64) -> u64 {
    if let Some(asked) = retry_after {
        return asked.min(MAX_DELAY);
    }
    let base = INITIAL_DELAY
        .saturating_mul(1 << (attempt - 1).min(16))
        .min(MAX_DELAY);
    let jitter = (seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        >> 33)
        % (base / 2 + 1);
    (base - jitter).max(INITIAL_DELAY)
}

/// Runs `send` again while its answer may heal (the rules and bounds above), waiting on
/// `clock` between attempts; the last answer or failure is the result. `heal_transport` also
/// repeats exchanges that got no answer.
pub async fn healing<B, C: crate::effects::Clock>(
    clock: &C,
    heal_transport: bool,
    send: impl AsyncFn() -> Result<http::Response<B>, crate::effects::EffectError>,
) -> crate::Result<http::Response<B>> {
    let mut waited = 0;
    let mut attempt = 1;
    loop {
        let (outcome, asked) = match send().await {
            Ok(res) if heals(res.status().as_u16()) => {
                let after = res
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| retry_after(v, clock.now_unix()));
                (Ok(res), after)
            }
            Ok(res) => return Ok(res),
            Err(e) if heal_transport && transport_heals(&e) => (Err(e), None),
            Err(e) => return Err(e.into()),
        };
        let wait = delay(attempt, asked, clock.now_unix() as u64 ^ u64::from(attempt));
        if attempt >= MAX_ATTEMPTS || waited + wait > MAX_TOTAL_WAIT {
            return outcome.map_err(crate::Error::from);
        }
        clock.sleep(wait).await;
        waited += wait;
        attempt += 1;
    }
}

/// `Retry-After` as seconds from `now_unix`: a number of seconds, or an HTTP date
/// (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn retry_after(value: &str, now_unix: i64) -> Option<u64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds);
    }
    let when = http_date(value)?;
    Some(u64::try_from(when - now_unix).unwrap_or(0))
}

/// An IMF-fixdate as Unix seconds.
fn http_date(s: &str) -> Option<i64> {
    let (_, rest) = s.split_once(", ")?;
    let mut parts = rest.split(' ');
    let day: i64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if parts.next()? != "GMT" {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + m * 60 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(retry_after("7", 0), Some(7));
        assert_eq!(http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784111777));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:40 GMT", 784111777),
            Some(3)
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:30 GMT", 784111777),
            Some(0)
        );
        assert_eq!(retry_after("soon", 0), None);
    }

    #[test]
    fn delays_double_with_jitter_and_stay_bounded() {
        for seed in 0..50 {
            assert_eq!(delay(1, None, seed), 1);
            let second = delay(2, None, seed);
            assert!((1..=2).contains(&second), "{second}");
            let late = delay(9, None, seed);
            assert!((15..=MAX_DELAY).contains(&late), "{late}");
        }
        assert_eq!(delay(1, Some(500), 0), MAX_DELAY);
        assert!(heals(503) && heals(429) && !heals(404) && !heals(401));
    }
}
