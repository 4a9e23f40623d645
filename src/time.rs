//! Time as redrive stores it: milliseconds since the Unix epoch, shown as RFC 3339 in UTC.

use jiff::{SignedDuration, Timestamp};

/// Milliseconds since the Unix epoch (UTC).
pub type Millis = i64;

pub fn now_ms() -> Millis {
    Timestamp::now().as_millisecond()
}

/// `2026-12-04T10:00:00.000Z`: always three fractional digits, so exports are byte-stable.
pub fn format_ms(ms: Millis) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(ts) => format!("{ts:.3}"),
        Err(_) => format!("@{ms}ms"),
    }
}

/// Parse an RFC 3339 timestamp into milliseconds.
pub fn parse_rfc3339(s: &str) -> Result<Millis, String> {
    s.trim()
        .parse::<Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|e| format!("`{s}` is not an RFC 3339 time ({e})"))
}

/// A duration such as `2h`, `90s`, `1d 12h` or ISO 8601 `PT2H`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("`{s}` is not a duration (examples: 30s, 15m, 2h, 7d)");
    // Hours and smaller parse as a SignedDuration; days and weeks need a Span, taken as
    // 24-hour days.
    let d: SignedDuration = match s.trim().parse::<SignedDuration>() {
        Ok(d) => d,
        Err(_) => s
            .trim()
            .parse::<jiff::Span>()
            .and_then(|sp| sp.to_duration(jiff::SpanRelativeTo::days_are_24_hours()))
            .map_err(|_| bad())?,
    };
    if d.is_negative() {
        return Err(format!("`{s}` is a negative duration"));
    }
    Ok(d.unsigned_abs())
}

/// A point in time given either as RFC 3339 or as a duration ago (`2h` = two hours before `now`).
pub fn parse_time_arg(s: &str, now: Millis) -> Result<Millis, String> {
    if let Ok(ms) = parse_rfc3339(s) {
        return Ok(ms);
    }
    match parse_duration(s) {
        Ok(d) => Ok(now - d.as_millis() as i64),
        Err(_) => Err(format!(
            "`{s}` is neither an RFC 3339 time (2026-12-04T10:00:00Z) nor a duration ago (2h, 30m, 7d)"
        )),
    }
}

/// A `Retry-After` header: delay-seconds or an HTTP date (RFC 9110 §10.2.3), as a wait from
/// `now`. A date in the past means no wait; anything else unreadable is `None`.
pub fn parse_retry_after(v: &str, now: Millis) -> Option<std::time::Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(std::time::Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::parse(v).ok()?.timestamp().as_millisecond();
    Some(std::time::Duration::from_millis(at.saturating_sub(now).max(0) as u64))
}

/// A short human form of a duration: `45s`, `12m`, `3h`, `2d`.
pub fn humanize(ms: i64) -> String {
    let s = ms.abs() / 1000;
    let (n, unit) = match s {
        0..60 => (s, "s"),
        60..3600 => (s / 60, "m"),
        3600..86400 => (s / 3600, "h"),
        _ => (s / 86400, "d"),
    };
    format!("{}{n}{unit}", if ms < 0 { "-" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_fixed_millis() {
        assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
        let ms = parse_rfc3339("2026-12-04T10:00:00.5Z").unwrap();
        assert_eq!(format_ms(ms), "2026-12-04T10:00:00.500Z");
        assert_eq!(parse_rfc3339(&format_ms(ms)).unwrap(), ms);
    }

    #[test]
    fn time_args_accept_durations_ago() {
        let now = 10_000_000;
        assert_eq!(parse_time_arg("2h", now).unwrap(), now - 7_200_000);
        assert_eq!(parse_time_arg("1970-01-01T00:00:01Z", now).unwrap(), 1000);
        let err = parse_time_arg("yesterday", now).unwrap_err();
        assert!(err.contains("yesterday"), "{err}");
        assert!(parse_duration("-2h").is_err());
        assert_eq!(parse_duration("30d").unwrap().as_secs(), 30 * 86400);
        assert_eq!(parse_duration("1w 2d").unwrap().as_secs(), 9 * 86400);
        assert_eq!(parse_duration("90s").unwrap().as_secs(), 90);
        assert!(parse_duration("1 month").is_err());
    }

    #[test]
    fn retry_after_seconds_or_http_date() {
        let now = parse_rfc3339("2026-12-04T10:00:00Z").unwrap();
        assert_eq!(parse_retry_after("7", now), Some(std::time::Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Fri, 04 Dec 2026 10:00:30 GMT", now),
            Some(std::time::Duration::from_secs(30))
        );
        assert_eq!(parse_retry_after("Fri, 04 Dec 2026 09:00:00 GMT", now), Some(std::time::Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn humanizes() {
        assert_eq!(humanize(45_000), "45s");
        assert_eq!(humanize(3_600_000 * 3), "3h");
        assert_eq!(humanize(-120_000), "-2m");
    }
}
