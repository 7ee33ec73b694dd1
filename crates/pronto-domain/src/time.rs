//! Event time: milliseconds since the Unix epoch, UTC.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use std::fmt;

/// An instant in event time, in milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EventTime(pub i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("is not an RFC 3339 timestamp such as 2026-03-02T09:15:00Z ({0})")]
    Unparsable(String),
    #[error("is out of range")]
    OutOfRange,
}

impl EventTime {
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Parses an RFC 3339 timestamp with an explicit offset.
    pub fn parse_rfc3339(s: &str) -> Result<Self, TimeError> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| Self(t.timestamp_millis()))
            .map_err(|e| TimeError::Unparsable(e.to_string()))
    }

    /// From protobuf-style seconds and nanoseconds.
    pub fn from_parts(seconds: i64, nanos: i32) -> Result<Self, TimeError> {
        if !(0..1_000_000_000).contains(&nanos) {
            return Err(TimeError::OutOfRange);
        }
        seconds
            .checked_mul(1000)
            .and_then(|ms| ms.checked_add(i64::from(nanos / 1_000_000)))
            .map(Self)
            .ok_or(TimeError::OutOfRange)
    }

    /// Protobuf-style seconds and nanoseconds.
    pub fn to_parts(self) -> (i64, i32) {
        let secs = self.0.div_euclid(1000);
        let nanos = (self.0.rem_euclid(1000) * 1_000_000) as i32;
        (secs, nanos)
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    pub fn to_rfc3339(self) -> String {
        self.to_datetime()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    pub fn plus_millis(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }
}

impl fmt::Display for EventTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_offsets_to_utc() {
        let t = EventTime::parse_rfc3339("2026-03-02T10:00:00+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-03-02T09:00:00.000Z");
        assert!(EventTime::parse_rfc3339("2026-03-02 10:00").is_err());
        assert!(EventTime::parse_rfc3339("yesterday").is_err());
    }

    proptest! {
        #[test]
        fn parts_round_trip(ms in -10_000_000_000_000i64..10_000_000_000_000i64) {
            let t = EventTime(ms);
            let (s, n) = t.to_parts();
            prop_assert_eq!(EventTime::from_parts(s, n).unwrap(), t);
            prop_assert_eq!(EventTime::parse_rfc3339(&t.to_rfc3339()).unwrap(), t);
        }
    }
}
