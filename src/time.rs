//! Time: UTC instants with millisecond precision, RFC 3339 text, and UTC+8 billing cycles.
//!
//! The core never reads a clock; the shell passes each command's time. The [`Clock`] trait is the
//! seam through which the ledger gets "now" when a command carries no `at`.

use serde::{Deserialize, Serialize};
use std::fmt;

const MILLIS_PER_SECOND: i64 = 1_000;
const SECONDS_PER_DAY: i64 = 86_400;
/// Billing cycles are months in UTC+8.
const CYCLE_OFFSET_SECONDS: i64 = 8 * 3_600;

/// An instant in UTC, in milliseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(i64);

/// Why a time string was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TimeError(pub &'static str);

impl Timestamp {
    /// The instant `millis` milliseconds after the Unix epoch.
    pub const fn from_millis(millis: i64) -> Timestamp {
        Timestamp(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// This instant plus `days` days.
    pub fn plus_days(self, days: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(days * SECONDS_PER_DAY * MILLIS_PER_SECOND))
    }

    /// Parses RFC 3339 (`2026-01-05T10:00:00Z`, optional fraction of up to millisecond precision,
    /// `Z` or a `±HH:MM` offset), years 1970 to 9999.
    ///
    /// # Errors
    /// [`TimeError`] for any other text.
    pub fn parse(text: &str) -> Result<Timestamp, TimeError> {
        const SHAPE: TimeError = TimeError("time must be RFC 3339, e.g. \"2026-01-05T10:00:00Z\"");
        let bytes = text.as_bytes();
        if bytes.len() < 20 || !text.is_ascii() {
            return Err(SHAPE);
        }
        let number = |range: std::ops::Range<usize>| -> Result<i64, TimeError> {
            let part = &text[range];
            if part.bytes().all(|b| b.is_ascii_digit()) { part.parse().map_err(|_| SHAPE) } else { Err(SHAPE) }
        };
        let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
        if separators.iter().any(|&(at, b)| bytes[at] != b) || !matches!(bytes[10], b'T' | b't') {
            return Err(SHAPE);
        }
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
        if year < 1970 || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(TimeError("date out of range (years 1970 to 9999)"));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(TimeError("time of day out of range"));
        }
        let mut rest = &text[19..];
        let mut millis = 0;
        if let Some(fraction) = rest.strip_prefix('.') {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(SHAPE);
            }
            let (kept, dropped) = fraction[..digits].split_at(digits.min(3));
            if dropped.bytes().any(|b| b != b'0') {
                return Err(TimeError("time has more than millisecond precision"));
            }
            millis = format!("{kept:0<3}").parse::<i64>().map_err(|_| SHAPE)?;
            rest = &fraction[digits..];
        }
        let offset_seconds = match rest {
            "Z" | "z" => 0,
            _ if rest.len() == 6 && matches!(rest.as_bytes()[0], b'+' | b'-') && rest.as_bytes()[3] == b':' => {
                let hours = rest[1..3].parse::<i64>().map_err(|_| SHAPE)?;
                let minutes = rest[4..6].parse::<i64>().map_err(|_| SHAPE)?;
                if hours > 23 || minutes > 59 || !rest[1..3].bytes().chain(rest[4..6].bytes()).all(|b| b.is_ascii_digit()) {
                    return Err(SHAPE);
                }
                let sign = if rest.starts_with('-') { -1 } else { 1 };
                sign * (hours * 3_600 + minutes * 60)
            }
            _ => return Err(SHAPE),
        };
        let seconds = days_from_civil(year, month, day) * SECONDS_PER_DAY + hour * 3_600 + minute * 60 + second - offset_seconds;
        if seconds < 0 {
            return Err(TimeError("time is before 1970"));
        }
        Ok(Timestamp(seconds * MILLIS_PER_SECOND + millis))
    }

    /// The first instant of the next UTC+8 calendar day (SPEC 1.4): when a customer-manager
    /// assignment made at `self` takes effect.
    pub fn next_cycle_day(self) -> Timestamp {
        let day_millis = SECONDS_PER_DAY * MILLIS_PER_SECOND;
        let offset_millis = CYCLE_OFFSET_SECONDS * MILLIS_PER_SECOND;
        let local_day = (self.0 + offset_millis).div_euclid(day_millis);
        Timestamp((local_day + 1) * day_millis - offset_millis)
    }

    /// The UTC+8 billing cycle this instant falls in, as `YYYY-MM`.
    pub fn cycle(self) -> String {
        let shifted = self.0.div_euclid(MILLIS_PER_SECOND) + CYCLE_OFFSET_SECONDS;
        let (year, month, _) = civil_from_days(shifted.div_euclid(SECONDS_PER_DAY));
        format!("{year:04}-{month:02}")
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC; milliseconds only when not zero.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.0.div_euclid(MILLIS_PER_SECOND);
        let millis = self.0.rem_euclid(MILLIS_PER_SECOND);
        let (year, month, day) = civil_from_days(seconds.div_euclid(SECONDS_PER_DAY));
        let of_day = seconds.rem_euclid(SECONDS_PER_DAY);
        write!(formatter, "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}", of_day / 3_600, of_day / 60 % 60, of_day % 60)?;
        if millis != 0 {
            write!(formatter, ".{millis:03}")?;
        }
        formatter.write_str("Z")
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The source of "now" for commands that carry no `at`.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let elapsed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Timestamp(i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_cycle_day_is_midnight_utc8() {
        let next = |text: &str| Timestamp::parse(text).unwrap().next_cycle_day().to_string();
        assert_eq!(next("2026-01-05T10:00:00Z"), "2026-01-05T16:00:00Z");
        assert_eq!(next("2026-01-05T15:59:59.999Z"), "2026-01-05T16:00:00Z");
        assert_eq!(next("2026-01-05T16:00:00Z"), "2026-01-06T16:00:00Z");
        assert_eq!(next("2026-01-31T20:00:00Z"), "2026-02-01T16:00:00Z");
    }

    #[test]
    fn round_trips_rfc3339() {
        for text in ["2026-01-05T10:00:00Z", "1970-01-01T00:00:00Z", "2024-02-29T23:59:59.123Z", "9999-12-31T23:59:59Z"] {
            assert_eq!(Timestamp::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Timestamp::parse("2026-01-05T18:00:00+08:00").unwrap().to_string(), "2026-01-05T10:00:00Z");
        assert_eq!(Timestamp::parse("2026-01-05T10:00:00.5000Z").unwrap().millis() % 1000, 500);
    }

    #[test]
    fn refuses_malformed_times() {
        for bad in [
            "",
            "2026-01-05",
            "2026-01-05 10:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-01-05T24:00:00Z",
            "2026-01-05T10:00:00",
            "2026-01-05T10:00:00.Z",
            "1969-12-31T23:59:59Z",
            "2026-01-05T10:00:00.0001Z",
            "2026-01-05T10:00:00+8:00",
            "+026-01-05T10:00:00Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cycles_are_utc_plus_8_months() {
        assert_eq!(Timestamp::parse("2026-01-31T15:59:59Z").unwrap().cycle(), "2026-01");
        assert_eq!(Timestamp::parse("2026-01-31T16:00:00Z").unwrap().cycle(), "2026-02");
        assert_eq!(Timestamp::parse("2026-01-31T20:00:00Z").unwrap().cycle(), "2026-02");
    }
}
