//! Timestamps as Go's `time.Time` reads and writes them: RFC 3339 in, RFC 3339 with trimmed
//! nanoseconds out (JSON), and Go's `String()` form for templates.

use std::fmt;

/// An RFC 3339 timestamp with nanosecond precision and its original UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GoTime {
    year: i32,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    nanos: u32,
    /// Offset from UTC in seconds; `None` for `Z`.
    offset: Option<i32>,
}

impl GoTime {
    /// Go's zero time, `0001-01-01T00:00:00Z`.
    pub const ZERO: GoTime = GoTime {
        year: 1,
        month: 1,
        day: 1,
        hour: 0,
        minute: 0,
        second: 0,
        nanos: 0,
        offset: None,
    };

    /// The UTC time `secs` seconds after the Unix epoch (proleptic Gregorian calendar).
    pub fn from_unix(secs: i64) -> Self {
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        // Days to a civil date (Howard Hinnant's algorithm: 400-year eras from 0000-03-01).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        GoTime {
            year: year as i32,
            month: month as u8,
            day: day as u8,
            hour: (rem / 3600) as u8,
            minute: (rem / 60 % 60) as u8,
            second: (rem % 60) as u8,
            nanos: 0,
            offset: None,
        }
    }

    /// This time with its nanoseconds set to `nanos` (below one second).
    pub fn with_nanos(mut self, nanos: u32) -> Self {
        self.nanos = nanos % 1_000_000_000;
        self
    }

    /// `secs` after the epoch as shown in a zone `offset` seconds east of UTC (Go writes a
    /// zero offset as `Z`, whatever the zone's name).
    pub fn from_unix_in_zone(secs: i64, offset: i32) -> Self {
        let mut t = GoTime::from_unix(secs + i64::from(offset));
        t.offset = (offset != 0).then_some(offset);
        t
    }

    /// Parses RFC 3339 as Go's `time.Time.UnmarshalJSON` does.
    pub fn parse(s: &str) -> Result<Self, String> {
        let err = || format!("parsing time {s:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse");
        let b = s.as_bytes();
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't')
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(err());
        }
        let num = |r: std::ops::Range<usize>| -> Result<u32, String> {
            let part = &s[r];
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().map_err(|_| err())
            } else {
                Err(err())
            }
        };
        let mut t = GoTime {
            year: num(0..4)? as i32,
            month: num(5..7)? as u8,
            day: num(8..10)? as u8,
            hour: num(11..13)? as u8,
            minute: num(14..16)? as u8,
            second: num(17..19)? as u8,
            nanos: 0,
            offset: None,
        };
        let mut i = 19;
        if b[i] == b'.' {
            let start = i + 1;
            i = start;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let digits = &s[start..i];
            if digits.is_empty() || digits.len() > 9 {
                return Err(err());
            }
            t.nanos =
                digits.parse::<u32>().map_err(|_| err())? * 10u32.pow(9 - digits.len() as u32);
        }
        match &s[i..] {
            "Z" | "z" => {}
            zone if zone.len() == 6
                && matches!(zone.as_bytes()[0], b'+' | b'-')
                && zone.as_bytes()[3] == b':' =>
            {
                let h = num(i + 1..i + 3)? as i32;
                let m = num(i + 4..i + 6)? as i32;
                let sign = if zone.starts_with('-') { -1 } else { 1 };
                t.offset = Some(sign * (h * 3600 + m * 60));
            }
            _ => return Err(err()),
        }
        if !(1..=12).contains(&t.month)
            || t.day == 0
            || t.day > 31
            || t.hour > 23
            || t.minute > 59
            || t.second > 59
        {
            return Err(format!(
                "parsing time {s:?}: month, day or time out of range"
            ));
        }
        Ok(t)
    }

    fn fraction(&self) -> String {
        if self.nanos == 0 {
            return String::new();
        }
        let digits = format!("{:09}", self.nanos);
        format!(".{}", digits.trim_end_matches('0'))
    }

    fn offset_parts(&self) -> (char, i32, i32) {
        let off = self.offset.unwrap_or(0);
        let sign = if off < 0 { '-' } else { '+' };
        (sign, off.abs() / 3600, off.abs() % 3600 / 60)
    }

    /// Go's `time.RFC3339Nano` form, as JSON carries it.
    pub fn rfc3339_nano(&self) -> String {
        let zone = match self.offset {
            None => "Z".to_owned(),
            Some(_) => {
                let (sign, h, m) = self.offset_parts();
                format!("{sign}{h:02}:{m:02}")
            }
        };
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{zone}",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.fraction()
        )
    }

    /// Go's `%#v` of a `time.Time` in the local zone (taken as UTC):
    /// `time.Date(2025, time.June, 23, 21, 0, 58, 0, time.Local)`.
    pub fn go_syntax_local(&self) -> String {
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        let month = MONTHS[usize::from(self.month.clamp(1, 12)) - 1];
        format!(
            "time.Date({}, time.{month}, {}, {}, {}, {}, {}, time.Local)",
            self.year, self.day, self.hour, self.minute, self.second, self.nanos
        )
    }

    /// Go's `time.Time.String()`: `2006-01-02 15:04:05.999999999 -0700 MST`.
    pub fn go_string(&self) -> String {
        let (sign, h, m) = self.offset_parts();
        let zone_name = match self.offset {
            None => "UTC".to_owned(),
            Some(_) => format!("{sign}{h:02}{m:02}"),
        };
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}{} {sign}{h:02}{m:02} {zone_name}",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.fraction()
        )
    }
}

impl fmt::Display for GoTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339_nano())
    }
}

impl serde::Serialize for GoTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.rfc3339_nano())
    }
}

impl<'de> serde::Deserialize<'de> for GoTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        GoTime::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_like_go() {
        let t = GoTime::parse("2016-09-19T18:23:54.994921300Z").unwrap();
        assert_eq!(t.rfc3339_nano(), "2016-09-19T18:23:54.9949213Z");
        assert_eq!(t.go_string(), "2016-09-19 18:23:54.9949213 +0000 UTC");
        let t = GoTime::parse("2020-01-02T03:04:05+02:00").unwrap();
        assert_eq!(t.rfc3339_nano(), "2020-01-02T03:04:05+02:00");
        assert_eq!(t.go_string(), "2020-01-02 03:04:05 +0200 +0200");
        assert_eq!(GoTime::ZERO.rfc3339_nano(), "0001-01-01T00:00:00Z");
        assert!(GoTime::parse("yesterday").is_err());
        assert!(GoTime::parse("2020-13-02T03:04:05Z").is_err());
    }

    #[test]
    fn unix_seconds_become_utc_dates() {
        assert_eq!(GoTime::from_unix(0).rfc3339_nano(), "1970-01-01T00:00:00Z");
        assert_eq!(
            GoTime::from_unix(1_585_180_029).rfc3339_nano(),
            "2020-03-25T23:47:09Z"
        );
        assert_eq!(
            GoTime::from_unix(951_825_600).rfc3339_nano(),
            "2000-02-29T12:00:00Z"
        );
        assert_eq!(GoTime::from_unix(-1).rfc3339_nano(), "1969-12-31T23:59:59Z");
        assert_eq!(
            GoTime::from_unix(20_780 * 86_400).rfc3339_nano(),
            "2026-11-23T00:00:00Z"
        );
    }
}
