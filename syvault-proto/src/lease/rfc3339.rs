//! RFC 3339 timestamps, as the lease endpoints carry them, to and from [`Timestamp`].

use crate::time::Timestamp;

/// Reads an RFC 3339 timestamp such as `2026-01-01T12:00:00Z`, `2026-01-01T12:00:00.250Z` or
/// `2026-01-01T14:00:00+02:00`. Fractions finer than a millisecond are dropped; instants before
/// 1970 and malformed text are `None`.
///
/// ```
/// use syvault_proto::Timestamp;
/// use syvault_proto::lease::parse_rfc3339;
///
/// assert_eq!(parse_rfc3339("1970-01-01T00:01:00Z"), Some(Timestamp::from_unix_secs(60)));
/// assert_eq!(parse_rfc3339("1970-01-01T01:01:00+01:00"), Some(Timestamp::from_unix_secs(60)));
/// assert_eq!(parse_rfc3339("yesterday"), None);
/// ```
pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    if bytes.len() < 20
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !matches!(bytes[10], b'T' | b't' | b' ')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let year = digits(&bytes[0..4])?;
    let month = digits(&bytes[5..7])?;
    let day = digits(&bytes[8..10])?;
    let hour = digits(&bytes[11..13])?;
    let minute = digits(&bytes[14..16])?;
    let second = digits(&bytes[17..19])?;
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &bytes[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let len = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        for (i, digit) in fraction[..len].iter().take(3).enumerate() {
            millis += u64::from(digit - b'0') * [100, 10, 1][i];
        }
        rest = &fraction[len..];
    }
    let offset_secs: i64 = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = digits(&[*h1, *h2])?;
            let minutes = digits(&[*m1, *m2])?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = i64::try_from(hours * 3600 + minutes * 60).ok()?;
            if *sign == b'+' { offset } else { -offset }
        }
        _ => return None,
    };
    // A leap second is read as the last second of its minute.
    let seconds_of_day = hour * 3600 + minute * 60 + second.min(59);
    let local = days_from_civil(year, month, day)? * 86_400 + i64::try_from(seconds_of_day).ok()?;
    let utc = u64::try_from(local - offset_secs).ok()?;
    Some(Timestamp::from_unix_millis(
        utc.checked_mul(1000)?.checked_add(millis)?,
    ))
}

/// Writes a timestamp as RFC 3339 UTC with whole seconds, such as `2026-01-01T12:00:00Z`.
///
/// ```
/// use syvault_proto::Timestamp;
/// use syvault_proto::lease::format_rfc3339;
///
/// assert_eq!(format_rfc3339(Timestamp::from_unix_secs(951_782_400)), "2000-02-29T00:00:00Z");
/// ```
pub fn format_rfc3339(t: Timestamp) -> String {
    let secs = t.as_unix_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

fn digits(bytes: &[u8]) -> Option<u64> {
    bytes.iter().try_fold(0, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
    })
}

fn is_leap(year: u64) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date, in 400-year eras that start on 1 March so that the leap day
/// ends a year.
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<i64> {
    let year = i64::try_from(year).ok()? - i64::from(month <= 2);
    let (month, day) = (i64::try_from(month).ok()?, i64::try_from(day).ok()?);
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

/// The inverse of [`days_from_civil`] for days since 1970-01-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    (era * 400 + year_of_era + u64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_known_instants() {
        for (secs, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_700_000_000, "2023-11-14T22:13:20Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"),
        ] {
            assert_eq!(format_rfc3339(Timestamp::from_unix_secs(secs)), text);
            assert_eq!(parse_rfc3339(text), Some(Timestamp::from_unix_secs(secs)));
        }
    }

    #[test]
    fn reads_fractions_and_offsets() {
        assert_eq!(
            parse_rfc3339("2023-11-14T22:13:20.25Z"),
            Some(Timestamp::from_unix_millis(1_700_000_000_250))
        );
        assert_eq!(
            parse_rfc3339("2023-11-14T17:13:20-05:00"),
            Some(Timestamp::from_unix_secs(1_700_000_000))
        );
    }

    /// Servers write fractions to the microsecond or nanosecond; they read to the millisecond,
    /// the finer digits dropped rather than rounded or refused, and writing keeps whole seconds.
    #[test]
    fn fractions_read_to_the_millisecond() {
        for (text, millis) in [
            ("2023-11-14T22:13:20.1Z", 100),
            ("2023-11-14T22:13:20.001Z", 1),
            ("2023-11-14T22:13:20.999Z", 999),
            ("2023-11-14T22:13:20.123456Z", 123),
            ("2023-11-14T22:13:20.999999999Z", 999),
            ("2023-11-14T22:13:20.0009Z", 0),
            ("2023-11-14T23:13:20.123456789+01:00", 123),
        ] {
            assert_eq!(
                parse_rfc3339(text),
                Some(Timestamp::from_unix_millis(1_700_000_000_000 + millis)),
                "{text}"
            );
        }
        for text in [
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20.12aZ",
            "2023-11-14T22:13:20.5",
            "2023-11-14T22:13:20,5Z",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text}");
        }
        assert_eq!(
            format_rfc3339(Timestamp::from_unix_millis(1_700_000_000_999)),
            "2023-11-14T22:13:20Z"
        );
    }

    /// The epoch bound applies to the instant, after the offset: a local time in 1969 that is
    /// 1970 in UTC is read, and a local time in 1970 that is 1969 in UTC is not.
    #[test]
    fn offsets_move_the_instant_across_the_epoch() {
        assert_eq!(
            parse_rfc3339("1969-12-31T23:00:00-01:00"),
            Some(Timestamp::from_unix_secs(0))
        );
        assert_eq!(parse_rfc3339("1970-01-01T00:59:59+01:00"), None);
        assert_eq!(
            parse_rfc3339("1970-01-01T01:00:00+01:00"),
            Some(Timestamp::from_unix_secs(0))
        );
    }

    #[test]
    fn every_separator_is_checked() {
        let good = "2023-11-14T22:13:20Z";
        assert!(parse_rfc3339(good).is_some());
        for (at, separator) in [(4, '-'), (7, '-'), (10, 'T'), (13, ':'), (16, ':')] {
            assert_eq!(good.as_bytes()[at], separator as u8);
            let bad = format!("{}x{}", &good[..at], &good[at + 1..]);
            assert_eq!(parse_rfc3339(&bad), None, "{bad}");
        }
        // RFC 3339 allows a lowercase `t` or a space between date and time, and a lowercase `z`.
        for text in [
            "2023-11-14t22:13:20Z",
            "2023-11-14 22:13:20Z",
            "2023-11-14T22:13:20z",
        ] {
            assert_eq!(
                parse_rfc3339(text),
                Some(Timestamp::from_unix_secs(1_700_000_000)),
                "{text}"
            );
        }
    }

    #[test]
    fn seconds_and_offsets_in_range_only() {
        // A leap second reads as the last second of its minute; 61 is no second.
        assert_eq!(
            parse_rfc3339("2016-12-31T23:59:60Z"),
            parse_rfc3339("2016-12-31T23:59:59Z")
        );
        assert!(parse_rfc3339("2016-12-31T23:59:60Z").is_some());
        assert_eq!(parse_rfc3339("2016-12-31T23:59:61Z"), None);
        assert_eq!(parse_rfc3339("2023-11-14T22:60:20Z"), None);
        for offset in ["+24:00", "-24:00", "+05:60", "+99:99"] {
            let text = format!("2023-11-14T22:13:20{offset}");
            assert_eq!(parse_rfc3339(&text), None, "{text}");
        }
        // Offsets with minutes move the instant by hours and minutes.
        for (text, secs) in [
            ("2023-11-15T03:43:20+05:30", 1_700_000_000),
            ("2023-11-14T21:43:20-00:30", 1_700_000_000),
            ("2023-11-15T21:59:20+23:46", 1_700_000_000),
            ("2023-11-14T22:13:20+00:00", 1_700_000_000),
            ("2023-11-14T22:13:20-00:00", 1_700_000_000),
            ("2023-11-14T22:13:20+00:59", 1_700_000_000 - 59 * 60),
            ("2023-11-15T21:13:20+23:00", 1_700_000_000),
        ] {
            assert_eq!(
                parse_rfc3339(text),
                Some(Timestamp::from_unix_secs(secs)),
                "{text}"
            );
        }
    }

    #[test]
    fn month_lengths_and_leap_years() {
        for text in [
            "2024-02-29T00:00:00Z",
            "2000-02-29T00:00:00Z",
            "2023-01-31T00:00:00Z",
            "2023-04-30T00:00:00Z",
            "2023-12-31T00:00:00Z",
        ] {
            assert!(parse_rfc3339(text).is_some(), "{text}");
        }
        for text in [
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2023-04-31T00:00:00Z",
            "2023-06-31T00:00:00Z",
            "2023-09-31T00:00:00Z",
            "2023-11-31T00:00:00Z",
            "2023-01-32T00:00:00Z",
            "2023-00-10T00:00:00Z",
            "2023-01-00T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text}");
        }
        // The day after a leap day, and after a 30-day month's end, are one day on.
        assert_eq!(
            parse_rfc3339("2024-03-01T00:00:00Z")
                .unwrap()
                .as_unix_secs()
                - parse_rfc3339("2024-02-29T00:00:00Z")
                    .unwrap()
                    .as_unix_secs(),
            86_400
        );
        assert_eq!(
            parse_rfc3339("2023-05-01T00:00:00Z")
                .unwrap()
                .as_unix_secs()
                - parse_rfc3339("2023-04-30T00:00:00Z")
                    .unwrap()
                    .as_unix_secs(),
            86_400
        );
    }

    /// Every day from 1970 through 2400 (two 400-year era ends, four century years), counted
    /// by walking the calendar one day at a time with month lengths of the test's own: each
    /// date reads as its count of days and the count writes back as the date.
    #[test]
    fn every_day_for_four_centuries_reads_and_writes_as_the_calendar_counts_it() {
        fn month_length(year: u64, month: u64) -> u64 {
            let leap =
                year.is_multiple_of(400) || (year.is_multiple_of(4) && !year.is_multiple_of(100));
            match month {
                2 => 28 + u64::from(leap),
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            }
        }
        let mut days = 0;
        for year in 1970..=2400 {
            for month in 1..=12 {
                for day in 1..=month_length(year, month) {
                    let text = format!("{year:04}-{month:02}-{day:02}T00:00:00Z");
                    let at = Timestamp::from_unix_secs(days * 86_400);
                    assert_eq!(parse_rfc3339(&text), Some(at), "{text}");
                    assert_eq!(format_rfc3339(at), text);
                    days += 1;
                }
            }
        }
        assert_eq!(
            format_rfc3339(Timestamp::from_unix_secs(days * 86_400 - 1)),
            "2400-12-31T23:59:59Z"
        );
    }

    #[test]
    fn refuses_malformed_text() {
        for text in [
            "",
            "2023-11-14",
            "2023-11-14T22:13:20",
            "2023-13-14T22:13:20Z",
            "2023-02-29T22:13:20Z",
            "2023-11-14T24:13:20Z",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20+5:00",
            "1969-12-31T23:59:59Z",
            "２023-11-14T22:13:20Z",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text}");
        }
    }
}
