//! Business calendars: a time zone, opening slots per weekday (several a day, and slots that
//! run past midnight), and holidays. Answers "how much business time lies between two
//! instants" and "when will this much business time have passed".

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;
use pronto_domain::EventTime;
use smallvec::SmallVec;
use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

/// Minutes from local midnight; `end` may exceed 24 h for a slot that runs past midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slot {
    pub start_min: u32,
    pub end_min: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("slot '{0}' is not of the form HH:MM-HH:MM")]
    SlotSyntax(String),
    #[error("slot '{0}' is empty or longer than 24 hours")]
    SlotLength(String),
    #[error("slots on {0} overlap")]
    Overlap(String),
    #[error("unknown time zone '{0}'; expected an IANA name such as Europe/Rome")]
    TimeZone(String),
}

/// When the business is open. An always-open calendar makes business time equal calendar time.
#[derive(Clone)]
pub struct Calendar {
    tz: Tz,
    /// Indexed by `Weekday::num_days_from_monday()`.
    week: [Vec<Slot>; 7],
    holidays: BTreeSet<NaiveDate>,
    always_open: bool,
    /// The open intervals of each day, worked out from the time zone once and kept; shared by
    /// the calendar's copies.
    days: Arc<DayTable>,
}

impl PartialEq for Calendar {
    fn eq(&self, other: &Self) -> bool {
        (self.tz, &self.week, &self.holidays, self.always_open)
            == (other.tz, &other.week, &other.holidays, other.always_open)
    }
}

impl std::fmt::Debug for Calendar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Calendar")
            .field("tz", &self.tz)
            .field("week", &self.week)
            .field("holidays", &self.holidays)
            .field("always_open", &self.always_open)
            .finish_non_exhaustive()
    }
}

/// Days since 1970-01-01 (UTC), the index of the day table.
type EpochDay = i64;

/// Days in one block of the day table.
const BLOCK_DAYS: i64 = 256;
/// Blocks in the table: 1970 to past 2300. Days outside are worked out each time asked.
const BLOCKS: usize = 512;

/// The open intervals of local dates, a block of days worked out when first asked for. Working
/// an interval out goes through the time zone's rules (a search among its transitions for every
/// slot's start and end); clocks ask for the same few days again and again.
struct DayTable {
    blocks: Box<[OnceLock<Block>]>,
}

/// The open intervals (UTC milliseconds) of `BLOCK_DAYS` consecutive dates: those of day `d`
/// are `intervals[starts[d]..starts[d + 1]]`.
struct Block {
    starts: Box<[u32]>,
    intervals: Box<[(i64, i64)]>,
}

impl DayTable {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            blocks: (0..BLOCKS).map(|_| OnceLock::new()).collect(),
        })
    }
}

/// The open intervals of one date: borrowed from the day table, or worked out for a date
/// beyond it.
enum Day<'a> {
    Kept(&'a [(i64, i64)]),
    Made(SmallVec<[(i64, i64); 4]>),
}

impl std::ops::Deref for Day<'_> {
    type Target = [(i64, i64)];

    fn deref(&self) -> &[(i64, i64)] {
        match self {
            Day::Kept(s) => s,
            Day::Made(v) => v,
        }
    }
}

/// The date of an epoch day.
fn date_of(day: EpochDay) -> Option<NaiveDate> {
    const CE_TO_EPOCH: i64 = 719_163;
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(day + CE_TO_EPOCH).ok()?)
}

/// The UTC day of an instant. Its local date, in any time zone, is at most a day away.
fn epoch_day(t: i64) -> EpochDay {
    t.div_euclid(86_400_000)
}

/// How far ahead a deadline is searched for before it is declared unreachable.
const HORIZON_DAYS: i64 = 3 * 366;

impl Calendar {
    /// Open around the clock, every day.
    pub fn always_open() -> Self {
        Self {
            tz: Tz::UTC,
            week: Default::default(),
            holidays: BTreeSet::new(),
            always_open: true,
            days: DayTable::new(),
        }
    }

    /// A calendar from its time zone, slots per weekday (Monday first) and holidays.
    pub fn new(
        tz: Tz,
        week: [Vec<Slot>; 7],
        holidays: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Self, CalendarError> {
        const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let mut week = week;
        for (d, slots) in week.iter_mut().enumerate() {
            slots.sort();
            for pair in slots.windows(2) {
                if pair[1].start_min < pair[0].end_min {
                    return Err(CalendarError::Overlap(NAMES[d].into()));
                }
            }
        }
        // A slot past midnight must end before the next day's first slot starts.
        for d in 0..7 {
            let next = (d + 1) % 7;
            if let (Some(last), Some(first)) = (week[d].last(), week[next].first())
                && last.end_min > 24 * 60
                && last.end_min - 24 * 60 > first.start_min
            {
                return Err(CalendarError::Overlap(format!(
                    "{} and {}",
                    NAMES[d], NAMES[next]
                )));
            }
        }
        Ok(Self {
            tz,
            week,
            holidays: holidays.into_iter().collect(),
            always_open: false,
            days: DayTable::new(),
        })
    }

    pub fn parse_tz(name: &str) -> Result<Tz, CalendarError> {
        name.parse::<Tz>()
            .map_err(|_| CalendarError::TimeZone(name.into()))
    }

    pub fn is_always_open(&self) -> bool {
        self.always_open
    }

    /// The UTC instant of a local date and minute of day. In a DST gap the clock jumps
    /// forward, so the first valid instant after the gap is used; in a repeated hour, the
    /// earlier instant.
    fn instant(&self, date: NaiveDate, minute: u32) -> i64 {
        let local: NaiveDateTime =
            date.and_time(NaiveTime::MIN) + Duration::minutes(i64::from(minute));
        let mut probe = local;
        for _ in 0..(4 * 60) {
            if let Some(t) = self.tz.from_local_datetime(&probe).earliest() {
                return t.timestamp_millis();
            }
            probe += Duration::minutes(1);
        }
        // No time zone has a gap of four hours; fall back to reading the time as UTC.
        local.and_utc().timestamp_millis()
    }

    /// Open intervals (UTC milliseconds, half-open, in order) of the slots starting on
    /// `date`, worked out from the time zone.
    fn intervals_on(&self, date: NaiveDate) -> impl Iterator<Item = (i64, i64)> + '_ {
        let slots: &[Slot] = if self.holidays.contains(&date) {
            &[]
        } else {
            &self.week[date.weekday().num_days_from_monday() as usize]
        };
        slots
            .iter()
            .map(move |s| {
                (
                    self.instant(date, s.start_min),
                    self.instant(date, s.end_min),
                )
            })
            .filter(|(a, b)| b > a)
    }

    /// The open intervals of the slots starting on the local date `day` (days since
    /// 1970-01-01), from the day table.
    fn day(&self, day: EpochDay) -> Day<'_> {
        let block = usize::try_from(day.div_euclid(BLOCK_DAYS)).ok();
        let Some(cell) = block.and_then(|b| self.days.blocks.get(b)) else {
            return Day::Made(
                date_of(day).map_or_else(SmallVec::new, |d| self.intervals_on(d).collect()),
            );
        };
        let block = cell.get_or_init(|| {
            let first = day - day.rem_euclid(BLOCK_DAYS);
            let mut starts = Vec::with_capacity(BLOCK_DAYS as usize + 1);
            let mut intervals = Vec::new();
            for d in first..first + BLOCK_DAYS {
                starts.push(u32::try_from(intervals.len()).expect("a few slots a day"));
                intervals.extend(date_of(d).into_iter().flat_map(|d| self.intervals_on(d)));
            }
            starts.push(u32::try_from(intervals.len()).expect("a few slots a day"));
            Block {
                starts: starts.into(),
                intervals: intervals.into(),
            }
        });
        let i = day.rem_euclid(BLOCK_DAYS) as usize;
        let (a, b) = (block.starts[i] as usize, block.starts[i + 1] as usize);
        Day::Kept(&block.intervals[a..b])
    }

    /// Business milliseconds in `[from, to)`; zero when `to <= from`.
    pub fn business_ms(&self, from: EventTime, to: EventTime) -> i64 {
        if to <= from {
            return 0;
        }
        if self.always_open {
            return to.millis() - from.millis();
        }
        let (a, b) = (from.millis(), to.millis());
        // From the day before the local date of `from` (a slot of it may run past midnight)
        // to the local date of `to`; each is within a day of the UTC date.
        let mut total = 0;
        for day in epoch_day(a) - 2..=epoch_day(b) + 1 {
            for &(s, e) in self.day(day).iter() {
                let (s, e) = (s.max(a), e.min(b));
                if e > s {
                    total += e - s;
                }
            }
        }
        total
    }

    /// The closed stretches (outside opening hours, or holidays) within `[from, to)`, in order.
    pub fn closed_within(&self, from: EventTime, to: EventTime) -> Vec<(EventTime, EventTime)> {
        if self.always_open || to <= from {
            return Vec::new();
        }
        let (a, b) = (from.millis(), to.millis());
        let mut open: Vec<(i64, i64)> = Vec::new();
        for day in epoch_day(a) - 2..=epoch_day(b) + 1 {
            for &(s, e) in self.day(day).iter() {
                let (s, e) = (s.max(a), e.min(b));
                if e > s {
                    open.push((s, e));
                }
            }
        }
        open.sort_unstable();
        let mut closed = Vec::new();
        let mut cursor = a;
        for (s, e) in open {
            if s > cursor {
                closed.push((EventTime(cursor), EventTime(s)));
            }
            cursor = cursor.max(e);
        }
        if cursor < b {
            closed.push((EventTime(cursor), EventTime(b)));
        }
        closed
    }

    /// The holidays, in date order.
    pub fn holidays(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.holidays.iter().copied()
    }

    /// The time zone business hours are read in.
    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// The instant at which `ms` business milliseconds will have passed since `from`, or
    /// `None` if the calendar has no opening within three years.
    pub fn add_business(&self, from: EventTime, ms: i64) -> Option<EventTime> {
        if self.always_open {
            return Some(from.plus_millis(ms.max(0)));
        }
        let mut remaining = ms.max(0);
        let start = from.millis();
        let first = epoch_day(start) - 2;
        for day in first..=first + HORIZON_DAYS + 1 {
            for &(s, e) in self.day(day).iter() {
                if e <= start {
                    continue;
                }
                let s = s.max(start);
                if remaining <= e - s {
                    return Some(EventTime(s + remaining));
                }
                remaining -= e - s;
            }
        }
        None
    }
}

/// The last year a yearly recurrence without an end is expanded to.
const LAST_RECURRING_YEAR: i32 = 2099;

/// The days an iCalendar file (RFC 5545) marks as holidays: every day each event covers, from
/// its start date up to its end date (exclusive; one day without an end). Yearly recurrences
/// (`RRULE:FREQ=YEARLY`, with `INTERVAL`, `COUNT` or `UNTIL`) are expanded, up to 2099 when
/// they have no end; any other recurrence is refused, as it would be guessed at.
pub fn holidays_from_ical(text: &str) -> Result<Vec<NaiveDate>, String> {
    use icalendar::{Component, DatePerhapsTime};
    let cal: icalendar::Calendar = text.parse()?;
    let date = |d: DatePerhapsTime| match d {
        DatePerhapsTime::Date(d) => d,
        DatePerhapsTime::DateTime(dt) => match dt {
            icalendar::CalendarDateTime::Floating(t) => t.date(),
            icalendar::CalendarDateTime::Utc(t) => t.date_naive(),
            icalendar::CalendarDateTime::WithTimezone { date_time, .. } => date_time.date(),
        },
    };
    let mut days = Vec::new();
    for (n, event) in cal.events().enumerate() {
        let name = event
            .get_summary()
            .map_or_else(|| format!("event {}", n + 1), |s| format!("event '{s}'"));
        let start = event
            .get_start()
            .map(date)
            .ok_or_else(|| format!("{name} has no DTSTART"))?;
        let end = event
            .get_end()
            .map(date)
            .unwrap_or(start + Duration::days(1));
        let length = (end - start).num_days().max(1);
        let mut starts = vec![start];
        if let Some(rule) = event.property_value("RRULE") {
            starts = yearly(start, rule).map_err(|e| format!("{name}: {e}"))?;
        }
        for s in starts {
            for i in 0..length {
                days.push(s + Duration::days(i));
            }
        }
    }
    days.sort_unstable();
    days.dedup();
    Ok(days)
}

/// The start dates of a yearly recurrence rule from `start`.
fn yearly(start: NaiveDate, rule: &str) -> Result<Vec<NaiveDate>, String> {
    let (mut freq, mut interval, mut count, mut until) = (None, 1, None, None);
    for part in rule.split(';') {
        let (k, v) = part.split_once('=').ok_or(format!("RRULE part '{part}'"))?;
        match k.to_ascii_uppercase().as_str() {
            "FREQ" => freq = Some(v.to_ascii_uppercase()),
            "INTERVAL" => interval = v.parse::<i32>().map_err(|_| format!("INTERVAL '{v}'"))?,
            "COUNT" => count = Some(v.parse::<usize>().map_err(|_| format!("COUNT '{v}'"))?),
            "UNTIL" => {
                let d = v.get(..8).unwrap_or(v);
                until = Some(
                    NaiveDate::parse_from_str(d, "%Y%m%d").map_err(|_| format!("UNTIL '{v}'"))?,
                );
            }
            // The month and day of the start date already say when a yearly holiday falls.
            "BYMONTH" | "BYMONTHDAY" | "WKST" => {}
            other => return Err(format!("unsupported recurrence part {other} in '{rule}'")),
        }
    }
    if freq.as_deref() != Some("YEARLY") || interval < 1 {
        return Err(format!(
            "unsupported recurrence '{rule}'; only FREQ=YEARLY is read"
        ));
    }
    let mut out = Vec::new();
    let mut year = start.year();
    while year <= LAST_RECURRING_YEAR && count.is_none_or(|c| out.len() < c) {
        // 29 February recurs only in leap years.
        if let Some(d) = start.with_year(year) {
            if until.is_some_and(|u| d > u) {
                break;
            }
            out.push(d);
        }
        year += interval;
    }
    Ok(out)
}

/// Parses `HH:MM-HH:MM`; an end at or before the start means the slot runs past midnight.
pub fn parse_slot(text: &str) -> Result<Slot, CalendarError> {
    let err = || CalendarError::SlotSyntax(text.into());
    let (a, b) = text.split_once('-').ok_or_else(err)?;
    let minute = |s: &str| -> Result<u32, CalendarError> {
        let (h, m) = s.trim().split_once(':').ok_or_else(err)?;
        let (h, m): (u32, u32) = (h.parse().map_err(|_| err())?, m.parse().map_err(|_| err())?);
        if h > 24 || m > 59 || (h == 24 && m > 0) {
            return Err(err());
        }
        Ok(h * 60 + m)
    };
    let (start, mut end) = (minute(a)?, minute(b)?);
    if start >= 24 * 60 {
        return Err(err());
    }
    if end <= start {
        end += 24 * 60;
    }
    if end - start > 24 * 60 || end == start {
        return Err(CalendarError::SlotLength(text.into()));
    }
    Ok(Slot {
        start_min: start,
        end_min: end,
    })
}

/// The weekday index (Monday = 0) for a three-letter English name.
pub fn weekday_index(name: &str) -> Option<usize> {
    let d: Weekday = name.parse().ok()?;
    Some(d.num_days_from_monday() as usize)
}

impl pronto_domain::Classified for CalendarError {
    fn fault(&self) -> pronto_domain::Fault {
        pronto_domain::Fault::User
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> EventTime {
        EventTime::parse_rfc3339(s).unwrap()
    }

    fn office(tz: &str, holidays: &[&str]) -> Calendar {
        let day = vec![
            parse_slot("09:00-13:00").unwrap(),
            parse_slot("14:00-18:00").unwrap(),
        ];
        let week = [
            day.clone(),
            day.clone(),
            day.clone(),
            day.clone(),
            day,
            vec![],
            vec![],
        ];
        let hol = holidays.iter().map(|d| d.parse().unwrap());
        Calendar::new(Calendar::parse_tz(tz).unwrap(), week, hol).unwrap()
    }

    const H: i64 = 3_600_000;

    #[test]
    fn business_time_skips_lunch_nights_and_weekends() {
        let c = office("Europe/Rome", &[]);
        // Monday 2026-03-02, 10:00 to 15:00 Rome (UTC+1): 3 h morning + 1 h afternoon.
        assert_eq!(
            c.business_ms(t("2026-03-02T09:00:00Z"), t("2026-03-02T14:00:00Z")),
            4 * H
        );
        // Friday 17:00 to Monday 10:00 Rome: 1 h + 1 h.
        assert_eq!(
            c.business_ms(t("2026-03-06T16:00:00Z"), t("2026-03-09T09:00:00Z")),
            2 * H
        );
    }

    #[test]
    fn holidays_are_closed() {
        let c = office("Europe/Rome", &["2026-03-03"]);
        // Monday 17:00 to Wednesday 10:00 Rome, Tuesday a holiday.
        assert_eq!(
            c.business_ms(t("2026-03-02T16:00:00Z"), t("2026-03-04T09:00:00Z")),
            2 * H
        );
    }

    #[test]
    fn deadlines_land_in_open_time() {
        let c = office("Europe/Rome", &[]);
        // Friday 17:30 Rome + 1 h business = Monday 09:30 Rome = 08:30Z.
        assert_eq!(
            c.add_business(t("2026-03-06T16:30:00Z"), H),
            Some(t("2026-03-09T08:30:00Z"))
        );
        // A message during lunch with 30 min target: 14:30.
        assert_eq!(
            c.add_business(t("2026-03-02T12:10:00Z"), H / 2),
            Some(t("2026-03-02T13:30:00Z"))
        );
    }

    /// Deadlines across month ends, a leap day and the autumn clock changes, as local
    /// times: (time zone, start, business minutes, deadline).
    #[test]
    fn month_ends_leap_days_and_autumn_changes() {
        let local = |tz: &str, s: &str| {
            let tz = Calendar::parse_tz(tz).unwrap();
            let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
            EventTime(
                tz.from_local_datetime(&naive)
                    .earliest()
                    .unwrap()
                    .timestamp_millis(),
            )
        };
        let cases = [
            // Friday 30 January, 17:00: an hour that day, an hour on Monday 2 February.
            ("Europe/Rome", "2026-01-30 17:00", 120, "2026-02-02 10:00"),
            // End of February into March over a weekend.
            ("Europe/Rome", "2026-02-27 17:30", 60, "2026-03-02 09:30"),
            // A leap day is a working Tuesday.
            ("Europe/Rome", "2028-02-28 17:00", 120, "2028-02-29 10:00"),
            // 31 December to the first working day of the year (1 January a holiday).
            ("Europe/Rome", "2026-12-31 17:00", 120, "2027-01-04 10:00"),
            // Rome falls back on Sunday 25 October: Monday's hours are local hours.
            ("Europe/Rome", "2026-10-23 17:00", 180, "2026-10-26 11:00"),
            // New York falls back on Sunday 1 November; 31 October is a Saturday.
            (
                "America/New_York",
                "2026-10-30 17:30",
                90,
                "2026-11-02 10:00",
            ),
        ];
        for (tz, from, minutes, want) in cases {
            let c = office(tz, &["2027-01-01"]);
            let got = c.add_business(local(tz, from), minutes * 60_000);
            assert_eq!(got, Some(local(tz, want)), "{tz} {from} + {minutes} min");
            // Measuring back gives the same business time.
            assert_eq!(
                c.business_ms(local(tz, from), local(tz, want)),
                minutes * 60_000,
                "{tz} {from}"
            );
        }
        // A whole month of business time: March 2026 in Rome has 22 working days of 8 hours,
        // though it has 31 days and a clock change.
        let c = office("Europe/Rome", &[]);
        assert_eq!(
            c.business_ms(
                local("Europe/Rome", "2026-03-01 00:00"),
                local("Europe/Rome", "2026-04-01 00:00")
            ),
            22 * 8 * H
        );
    }

    #[test]
    fn dst_spring_forward_in_rome_shortens_nothing_in_business_hours() {
        // 2026-03-29: clocks go 02:00 -> 03:00 in Rome. Office hours unaffected: Monday
        // 30 March 09:00 local is 07:00Z (UTC+2).
        let c = office("Europe/Rome", &[]);
        assert_eq!(
            c.add_business(t("2026-03-27T17:30:00Z"), H),
            Some(t("2026-03-30T08:00:00Z"))
        );
    }

    #[test]
    fn dst_in_new_york_with_a_night_slot_past_midnight() {
        // A night desk 22:00-06:00 every day in New York; on 2026-03-08 clocks jump
        // 02:00 -> 03:00, so that night holds 7 hours, not 8.
        let night = vec![parse_slot("22:00-06:00").unwrap()];
        let week = std::array::from_fn(|_| night.clone());
        let c = Calendar::new(Calendar::parse_tz("America/New_York").unwrap(), week, []).unwrap();
        // 2026-03-07 22:00 EST = 03:00Z; 2026-03-08 06:00 EDT = 10:00Z.
        assert_eq!(
            c.business_ms(t("2026-03-07T12:00:00Z"), t("2026-03-08T12:00:00Z")),
            7 * H
        );
        // And on 2026-11-01 the night holds 9 hours.
        assert_eq!(
            c.business_ms(t("2026-10-31T12:00:00Z"), t("2026-11-01T14:00:00Z")),
            9 * H
        );
    }

    #[test]
    fn slots_parse_and_refuse_nonsense() {
        assert_eq!(
            parse_slot("22:00-02:00").unwrap(),
            Slot {
                start_min: 1320,
                end_min: 1560
            }
        );
        assert_eq!(parse_slot("00:00-24:00").unwrap().end_min, 1440);
        for bad in [
            "9-13",
            "09:00",
            "25:00-26:00",
            "09:60-10:00",
            "10:00-10:00x",
        ] {
            assert!(parse_slot(bad).is_err(), "{bad}");
        }
        let overlapping = vec![
            parse_slot("09:00-13:00").unwrap(),
            parse_slot("12:00-14:00").unwrap(),
        ];
        let week = [overlapping, vec![], vec![], vec![], vec![], vec![], vec![]];
        assert!(Calendar::new(Tz::UTC, week, []).is_err());
    }

    #[test]
    fn an_empty_calendar_never_reaches_a_deadline() {
        let c = Calendar::new(Tz::UTC, Default::default(), []).unwrap();
        assert_eq!(c.add_business(t("2026-03-02T09:00:00Z"), 1), None);
        assert_eq!(
            c.business_ms(t("2026-03-02T09:00:00Z"), t("2026-03-09T09:00:00Z")),
            0
        );
    }

    /// Business time worked out day by day from the time zone, without the day table.
    fn business_ms_direct(c: &Calendar, from: EventTime, to: EventTime) -> i64 {
        let local = |t: EventTime| t.to_datetime().with_timezone(&c.tz).date_naive();
        let mut total = 0;
        let mut date = local(from) - Duration::days(1);
        while date <= local(to) {
            for (s, e) in c.intervals_on(date) {
                total += (e.min(to.millis()) - s.max(from.millis())).max(0);
            }
            date += Duration::days(1);
        }
        total
    }

    /// A night desk past midnight on weekdays, a day shift at weekends, in `tz`.
    fn shifts(tz: &str, holidays: &[NaiveDate]) -> Calendar {
        let night = vec![
            parse_slot("07:30-12:00").unwrap(),
            parse_slot("21:00-02:30").unwrap(),
        ];
        let weekend = vec![parse_slot("10:00-16:00").unwrap()];
        let week = std::array::from_fn(|d| {
            if d < 5 {
                night.clone()
            } else {
                weekend.clone()
            }
        });
        Calendar::new(
            Calendar::parse_tz(tz).unwrap(),
            week,
            holidays.iter().copied(),
        )
        .unwrap()
    }

    proptest! {
        #[test]
        fn business_time_never_exceeds_calendar_time_and_add_inverts_measure(
            start in 1_767_225_600_000i64..1_798_761_600_000i64, // 2026
            len in 0i64..(10 * 24 * H),
            tz in prop::sample::select(vec!["Europe/Rome", "America/New_York", "UTC"]),
        ) {
            let c = office(tz, &["2026-12-25"]);
            let (a, b) = (EventTime(start), EventTime(start + len));
            let biz = c.business_ms(a, b);
            prop_assert!(biz >= 0 && biz <= len);
            let due = c.add_business(a, biz).unwrap();
            // Zero business time from a closed instant lands at the next opening.
            prop_assert!(biz == 0 || due <= b);
            prop_assert_eq!(c.business_ms(a, due), biz);
        }

        #[test]
        fn the_day_table_answers_as_the_time_zone_rules_do(
            // 1950 to 2400: before, across and after the years the table keeps.
            start in -631_152_000_000i64..13_569_465_600_000i64,
            len in 0i64..(12 * 24 * H),
            tz in prop::sample::select(vec![
                "Europe/Rome", "America/New_York", "Australia/Lord_Howe", "Pacific/Kiritimati",
                "America/St_Johns", "UTC",
            ]),
            holiday in 0i64..12,
        ) {
            let (a, b) = (EventTime(start), EventTime(start + len));
            let day = a.to_datetime().date_naive() + Duration::days(holiday);
            for c in [shifts(tz, &[day]), office(tz, &[])] {
                let biz = c.business_ms(a, b);
                prop_assert_eq!(biz, business_ms_direct(&c, a, b));
                // The deadline is the first instant with that much business time behind it.
                let due = c.add_business(a, biz).unwrap();
                prop_assert_eq!(business_ms_direct(&c, a, due), biz);
                let before = EventTime(due.millis() - 1);
                prop_assert!(biz == 0 || business_ms_direct(&c, a, before) < biz);
                // Closed stretches and business time make up the whole span.
                let closed: i64 = c.closed_within(a, b).iter().map(|(s, e)| e.millis() - s.millis()).sum();
                prop_assert_eq!(closed + biz, len);
            }
        }
    }
}

/// A calendar as a configuration file writes it: a time zone, opening slots per weekday
/// (`mon = ["09:00-13:00", "14:00-18:00"]`) and holidays.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    pub time_zone: String,
    #[serde(default)]
    pub hours: std::collections::BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub holidays: Vec<NaiveDate>,
    /// An iCalendar file of holidays, relative to the file that names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holidays_ical: Option<String>,
}

impl CalendarSpec {
    /// The calendar, or the field (relative to the spec, such as `hours.mon[1]`) that is wrong
    /// and why.
    pub fn build(&self) -> Result<Calendar, (String, String)> {
        let tz = Calendar::parse_tz(&self.time_zone)
            .map_err(|e| ("time_zone".to_string(), e.to_string()))?;
        let mut week: [Vec<Slot>; 7] = Default::default();
        for (day, slots) in &self.hours {
            let d = weekday_index(day).ok_or_else(|| {
                (
                    format!("hours.{day}"),
                    "expected mon, tue, wed, thu, fri, sat or sun".to_string(),
                )
            })?;
            for (i, s) in slots.iter().enumerate() {
                week[d]
                    .push(parse_slot(s).map_err(|e| (format!("hours.{day}[{i}]"), e.to_string()))?);
            }
        }
        Calendar::new(tz, week, self.holidays.iter().copied())
            .map_err(|e| ("hours".to_string(), e.to_string()))
    }
}
