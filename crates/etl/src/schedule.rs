//! A backfill's scheduled times: from a first to a last time, every interval, as a schedule
//! would have fired them, in the format EventBridge Scheduler gives an event's `time`
//! (`2026-11-01T00:00:00Z`), so that start-workflow names each execution as it names the
//! schedule's own (`schedule-2026-11-01T00-00-00Z`).

use chrono::{DateTime, NaiveDate, Utc};

/// Why a backfill's times could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackfillError {
    #[error(
        "--{field} '{value}' is not a date (2026-11-01) or an ISO-8601 time (2026-11-01T02:00:00Z)"
    )]
    Time { field: &'static str, value: String },
    #[error("--every '{0}' is not an interval such as 1d, 6h or 15m (at most 366d)")]
    Interval(String),
    #[error("--from {from} is after --to {to}")]
    Order { from: String, to: String },
    #[error("{count} scheduled times from {from} to {to}: more than the {max} one backfill starts")]
    TooMany {
        count: u64,
        from: String,
        to: String,
        max: usize,
    },
}

/// The longest interval: a year and a day.
const MAX_INTERVAL_MINUTES: i64 = 366 * 24 * 60;

/// A time given as an ISO-8601 time, or a date meaning its midnight UTC.
pub fn parse_time(field: &'static str, s: &str) -> Result<DateTime<Utc>, BackfillError> {
    let t = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| dt.and_utc())
        .ok_or_else(|| BackfillError::Time {
            field,
            value: s.to_string(),
        })
}

/// An interval such as `1d`, `6h` or `15m`, positive and at most 366 days.
pub fn parse_interval(s: &str) -> Result<chrono::Duration, BackfillError> {
    let bad = || BackfillError::Interval(s.to_string());
    let t = s.trim();
    let unit = t.chars().last().ok_or_else(bad)?;
    let n: i64 = t[..t.len() - unit.len_utf8()].parse().map_err(|_| bad())?;
    let minutes = match unit {
        'd' => n.checked_mul(24 * 60),
        'h' => n.checked_mul(60),
        'm' => Some(n),
        _ => None,
    }
    .ok_or_else(bad)?;
    if minutes <= 0 || minutes > MAX_INTERVAL_MINUTES {
        return Err(bad());
    }
    Ok(chrono::Duration::minutes(minutes))
}

/// The scheduled times from `from` to `to` (both included when `to` falls on the interval),
/// every `every`, at most `max` of them.
pub fn backfill_times(
    from: &str,
    to: &str,
    every: &str,
    max: usize,
) -> Result<Vec<String>, BackfillError> {
    let start = parse_time("from", from)?;
    let end = parse_time("to", to)?;
    let step = parse_interval(every)?;
    if start > end {
        return Err(BackfillError::Order {
            from: from.to_string(),
            to: to.to_string(),
        });
    }
    let count = ((end - start).num_minutes() / step.num_minutes()) as u64 + 1;
    if count > max as u64 {
        return Err(BackfillError::TooMany {
            count,
            from: from.to_string(),
            to: to.to_string(),
            max,
        });
    }
    Ok((0..count as i32)
        .map(|i| (start + step * i).format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_week_of_days_and_the_errors_that_name_the_option() {
        let t = backfill_times("2026-11-01", "2026-11-07", "1d", 100).unwrap();
        assert_eq!(t.len(), 7);
        assert_eq!(t[0], "2026-11-01T00:00:00Z");
        assert_eq!(t[6], "2026-11-07T00:00:00Z");
        let t = backfill_times("2026-11-01T02:00:00Z", "2026-11-01T08:59:00Z", "6h", 100).unwrap();
        assert_eq!(t, ["2026-11-01T02:00:00Z", "2026-11-01T08:00:00Z"]);
        assert_eq!(
            backfill_times("2026-11-01", "2026-11-01", "15m", 1).unwrap(),
            ["2026-11-01T00:00:00Z"]
        );
        let e = backfill_times("Nov 1", "2026-11-07", "1d", 100).unwrap_err();
        assert!(
            e.to_string().starts_with("--from 'Nov 1' is not a date"),
            "{e}"
        );
        let e = backfill_times("2026-11-07", "2026-11-01", "1d", 100).unwrap_err();
        assert_eq!(e.to_string(), "--from 2026-11-07 is after --to 2026-11-01");
        for bad in ["0d", "-1d", "1w", "d", "", "367d", "99999999999999999d"] {
            assert!(
                matches!(
                    backfill_times("2026-11-01", "2026-11-02", bad, 100),
                    Err(BackfillError::Interval(_))
                ),
                "{bad}"
            );
        }
        let e = backfill_times("2000-01-01", "2026-01-01", "1m", 10_000).unwrap_err();
        assert!(matches!(e, BackfillError::TooMany { .. }), "{e}");
    }

    proptest! {
        #[test]
        fn times_are_in_order_within_the_range_and_never_panic(
            a in "\\PC{0,24}", b in "\\PC{0,24}", every in "\\PC{0,6}",
            days in 0i64..400, step in 1i64..2000,
        ) {
            let _ = backfill_times(&a, &b, &every, 1000);
            let from = "2026-01-01T00:00:00Z";
            let to = (parse_time("to", from).unwrap() + chrono::Duration::days(days))
                .to_rfc3339();
            if let Ok(t) = backfill_times(from, &to, &format!("{step}m"), 1_000_000) {
                prop_assert!(!t.is_empty());
                prop_assert!(t.windows(2).all(|w| w[0] < w[1]));
                prop_assert_eq!(&t[0], from);
            }
        }
    }
}
