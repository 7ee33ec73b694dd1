//! Instants written the way Pronto writes them (`2026-03-02T09:15:00.123Z`, UTC to the
//! millisecond, as every exported event's time is), read from their digits. chrono's parser
//! handles every form RFC 3339 allows and took about a fifth of checking an exported event;
//! only an offline replay reads this many instants from text, so only it reads them here.
//! Property tests hold the result to chrono's for every instant of the years 1 to 9999 and for
//! any digits in the same shape.

/// The instant of `s` when it is written the way Pronto writes instants, in UTC to the
/// millisecond (`2026-03-02T09:15:00.123Z`), as every exported event's time is; `None` for any
/// other form, which the general parser reads.
pub(crate) fn canonical_millis(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let shape = b.len() == 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z';
    if !shape {
        return None;
    }
    let number = |from: usize, to: usize| {
        b[from..to].iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let year = number(0, 4)?;
    let month = number(5, 7)?;
    let day = number(8, 10)?;
    let hour = number(11, 13)?;
    let minute = number(14, 16)?;
    // A leap second (60) is left to the general parser.
    let second = number(17, 19)?;
    let milli = number(20, 23)?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=month_days).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_since_epoch(year, month, day);
    Some((((days * 24 + hour) * 60 + minute) * 60 + second) * 1000 + milli)
}

/// Days from 1970-01-01 to the given date of the proleptic Gregorian calendar, counted in
/// eras of 400 years (146,097 days) from a year that starts in March, so that the leap day
/// falls at the end of it.
fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use pronto_domain::EventTime;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_canonical_form_reads_as_the_general_parser_reads_it(
            ms in -62_135_596_800_000i64..253_402_300_800_000i64,
        ) {
            // Every instant of the years 0001 to 9999, as Pronto writes it.
            let text = EventTime(ms).to_rfc3339();
            prop_assert_eq!(canonical_millis(&text), Some(ms));
            let general = DateTime::parse_from_rfc3339(&text).unwrap().timestamp_millis();
            prop_assert_eq!(general, ms);
        }

        #[test]
        fn any_digits_in_the_canonical_shape_read_as_the_general_parser_reads_them(
            // Months, days, hours, minutes and seconds each a little past their range.
            (year, month, day) in (0u32..10_000, 0u32..14, 0u32..33),
            (hour, minute, second, milli) in (0u32..26, 0u32..62, 0u32..62, 0u32..1000),
        ) {
            let text = format!(
                "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z"
            );
            let general = DateTime::parse_from_rfc3339(&text).ok().map(|t| t.timestamp_millis());
            match canonical_millis(&text) {
                Some(ms) => prop_assert_eq!(Some(ms), general),
                // Declined: only a leap second may still be read, by the general parser.
                None => prop_assert!(general.is_none() || &text[17..19] == "60", "{}", text),
            }
            prop_assert_eq!(EventTime::parse_rfc3339(&text).ok().map(|t| t.0), general);
        }
    }
}
