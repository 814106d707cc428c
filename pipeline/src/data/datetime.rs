//! Dates and date-times in text cells: the formats recognized, and the numeric features a date
//! becomes (year, month, day, day of week, and a timestamp).

use chrono::{Datelike, NaiveDate, NaiveDateTime};

/// Date-time formats tried in order (chrono syntax). Month-first is tried before day-first, so
/// `01/02/2012` reads as January 2; a column with a value like `31/01/2012` reads day-first.
pub const FORMATS: [&str; 16] = [
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%d %b %Y",
    "%b %d %Y",
];

/// The RFC 3339 form with a time zone (`2012-01-31T10:00:00+02:00`, `…Z`), converted to UTC.
pub const RFC3339: &str = "rfc3339";

/// Parse `s` with `format` (one of [`FORMATS`], [`RFC3339`], or a user's chrono format).
pub fn parse_with(s: &str, format: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if format == RFC3339 {
        return chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| d.naive_utc());
    }
    if let Ok(dt) = NaiveDateTime::parse_from_str(s, format) {
        return Some(dt);
    }
    NaiveDate::parse_from_str(s, format)
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// Parse with any known format.
pub fn parse_any(s: &str) -> Option<NaiveDateTime> {
    FORMATS
        .iter()
        .copied()
        .chain([RFC3339])
        .find_map(|f| parse_with(s, f))
}

/// The first format under which every value parses (values must contain a digit and a
/// separator, so plain numbers and words never count as dates).
pub fn detect_format<'a>(values: impl Iterator<Item = &'a str> + Clone) -> Option<&'static str> {
    let mut vals = values.clone().peekable();
    vals.peek()?;
    if !values.clone().all(|v| {
        v.bytes().any(|b| b.is_ascii_digit())
            && v.bytes()
                .any(|b| matches!(b, b'-' | b'/' | b'.' | b' ' | b':'))
    }) {
        return None;
    }
    FORMATS
        .iter()
        .copied()
        .chain([RFC3339])
        .find(|f| values.clone().all(|v| parse_with(v, f).is_some()))
}

/// Names of the features a date column `name` becomes.
pub fn feature_names(name: &str) -> [String; 5] {
    ["year", "month", "day", "dayofweek", "timestamp"].map(|p| format!("{name}_{p}"))
}

/// Year, month (1-12), day (1-31), day of week (Monday = 0) and seconds since 1970-01-01.
pub fn features(dt: &NaiveDateTime) -> [f64; 5] {
    [
        dt.year() as f64,
        dt.month() as f64,
        dt.day() as f64,
        dt.weekday().num_days_from_monday() as f64,
        dt.and_utc().timestamp() as f64,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let v = ["2012/01/31", "2012/02/01"];
        assert_eq!(detect_format(v.iter().copied()), Some("%Y/%m/%d"));
        let dt = parse_with("2012/01/31", "%Y/%m/%d").unwrap();
        assert_eq!(features(&dt), [2012.0, 1.0, 31.0, 1.0, 1_327_968_000.0]);
        let v = ["01/02/2012", "31/01/2012"];
        assert_eq!(detect_format(v.iter().copied()), Some("%d/%m/%Y"));
        let v = ["2012-01-31T10:00:00+02:00", "2012-01-31T10:00:00Z"];
        assert_eq!(detect_format(v.iter().copied()), Some(RFC3339));
        assert_eq!(
            parse_with("2012-01-31T10:00:00+02:00", RFC3339)
                .unwrap()
                .to_string(),
            "2012-01-31 08:00:00"
        );
        assert!(parse_with("2012-01-31 10:30:00", FORMATS[2]).is_some());
        assert_eq!(detect_format(["12", "13"].iter().copied()), None);
        assert_eq!(detect_format(["a-b", "2012-01-01"].iter().copied()), None);
        assert!(parse_any("2013-02-30").is_none());
    }
}
