//! Timestamps as Step Functions accepts them (RFC 3339 with an uppercase `T` and `Z` or a
//! numeric offset) and as it writes them (`2024-01-01T00:00:00.000Z`).

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};

/// Parses a Choice/Wait timestamp; `None` when AWS would refuse it.
pub fn parse(s: &str) -> Option<DateTime<FixedOffset>> {
    let b = s.as_bytes();
    if b.len() < 20 || b[10] != b'T' {
        return None;
    }
    if !(s.ends_with('Z') || b[b.len() - 6] == b'+' || b[b.len() - 6] == b'-') {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}

/// Formats a time the way the context object and history show it.
pub fn format(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_profile() {
        assert!(parse("2016-03-14T01:59:00Z").is_some());
        assert!(parse("2016-03-14T01:59:00.123+02:00").is_some());
        assert!(parse("2016-12-05 21:29:29Z").is_none());
        assert!(parse("2016-12-05T21:29:29").is_none());
        assert!(parse("2016-13-05T21:29:29Z").is_none());
        assert!(parse("2016-12-05T25:29:29Z").is_none());
        assert!(parse("05-12-2016T21:29:29Z").is_none());
    }
}
