//! Report queries: group the read model's records by dimensions and compute each row.

use crate::model::{NONE_SYMBOL, ReadModel};
use crate::stats::LatencyStats;
use chrono::Datelike;
use chrono_tz::Tz;
use pronto_domain::Interner;
use pronto_domain::{Channel, EventTime, Polarity, ReplyKind};
use serde::Serialize;
use smallvec::SmallVec;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

/// A slice a report can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Channel,
    Queue,
    Agent,
    Bucket,
    Tenant,
    /// The customer's tier.
    Tier,
    /// Who handled it: the agent's outsourcer, else the queue's.
    Outsourcer,
}

impl Dimension {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "channel" => Self::Channel,
            "queue" => Self::Queue,
            "agent" => Self::Agent,
            "bucket" => Self::Bucket,
            "tenant" => Self::Tenant,
            "tier" => Self::Tier,
            "outsourcer" => Self::Outsourcer,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Channel => "channel",
            Self::Queue => "queue",
            Self::Agent => "agent",
            Self::Bucket => "bucket",
            Self::Tenant => "tenant",
            Self::Tier => "tier",
            Self::Outsourcer => "outsourcer",
        }
    }

    /// The names `parse` takes, for messages.
    pub const NAMES: &'static str = "channel, queue, agent, tier, outsourcer, bucket or tenant";
}

/// Width of a time bucket, in the query's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    Hour,
    #[default]
    Day,
    /// Weeks start on Monday.
    Week,
    Month,
}

impl Bucket {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "hour" => Self::Hour,
            "day" => Self::Day,
            "week" => Self::Week,
            "month" => Self::Month,
            _ => return None,
        })
    }

    /// The bucket holding `at` in `tz`, named by its local start: `2026-03-02T14:00` (with
    /// the offset outside UTC, so the repeated hour of a clock change stays two buckets),
    /// `2026-03-02` for a day or the Monday of a week, `2026-03` for a month.
    pub fn label(self, at: EventTime, tz: Tz) -> String {
        let local = at.to_datetime().with_timezone(&tz);
        match self {
            Self::Hour if tz == Tz::UTC => local.format("%Y-%m-%dT%H:00").to_string(),
            Self::Hour => local.format("%Y-%m-%dT%H:00%:z").to_string(),
            Self::Day => local.format("%Y-%m-%d").to_string(),
            Self::Week => {
                let back = i64::from(local.weekday().num_days_from_monday());
                (local.date_naive() - chrono::Duration::days(back))
                    .format("%Y-%m-%d")
                    .to_string()
            }
            Self::Month => local.format("%Y-%m").to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub group_by: Vec<Dimension>,
    pub bucket: Bucket,
    /// The IANA time zone buckets are cut in; UTC by default.
    pub time_zone: Tz,
    /// Records with event time in `[from, to)`.
    pub from: Option<EventTime>,
    pub to: Option<EventTime>,
}

impl Default for Query {
    fn default() -> Self {
        Self {
            group_by: Vec::new(),
            bucket: Bucket::default(),
            time_zone: Tz::UTC,
            from: None,
            to: None,
        }
    }
}

/// One row of a report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Row {
    pub keys: Vec<String>,
    pub customer_messages: u64,
    pub answered_messages: u64,
    /// answered / customer messages; 0 when there were none.
    pub response_rate: f64,
    /// Public replies written by people (not bots).
    pub human_replies: u64,
    /// Human replies the sentiment service has read (and so knows whether they are signed).
    pub tagged_replies: u64,
    /// Human replies signed with the agent's name or initials.
    pub signed_replies: u64,
    /// signed / tagged replies; 0 when there were none.
    pub signed_reply_rate: f64,
    pub first_reply_calendar: LatencyStats,
    pub first_reply_business: LatencyStats,
    pub reply_calendar: LatencyStats,
    pub reply_business: LatencyStats,
    /// Reply targets (first and next reply) met and breached.
    pub sla_met: u64,
    pub sla_breached: u64,
    /// met / (met + breached); 0 when nothing was due.
    pub sla_compliance: f64,
    /// Resolution (first customer message to solved, net of pauses), where the policy sets a
    /// resolution target.
    pub resolution_calendar: LatencyStats,
    pub resolution_business: LatencyStats,
    pub resolution_met: u64,
    pub resolution_breached: u64,
    pub resolution_compliance: f64,
    pub sentiment_positive: u64,
    pub sentiment_neutral: u64,
    pub sentiment_negative: u64,
    /// Customer-message tags counted above, by the model that produced them ("name version").
    pub sentiment_models: BTreeMap<String, u64>,
    pub escalations: u64,
    /// Escalations by level: agent, team_lead, manager.
    pub escalations_by_level: BTreeMap<String, u64>,
    /// Backlog: conversations with a customer message still unanswered.
    pub unanswered_conversations: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub group_by: Vec<Dimension>,
    pub rows: Vec<Row>,
    pub total: Row,
    pub facts_seen: u64,
}

#[derive(Default)]
struct Acc {
    row: Row,
    first_cal: Vec<i64>,
    first_bus: Vec<i64>,
    all_cal: Vec<i64>,
    all_bus: Vec<i64>,
    res_cal: Vec<i64>,
    res_bus: Vec<i64>,
    /// Conversations with an unanswered customer message.
    waiting: HashSet<u32, rustc_hash::FxBuildHasher>,
    /// Customer-message tags by sentiment model and escalations by level, by name index.
    models: SmallVec<[u64; 4]>,
    levels: SmallVec<[u64; 4]>,
}

/// Counts one more at `index`.
fn count(counts: &mut SmallVec<[u64; 4]>, index: u32) {
    let i = index as usize;
    if counts.len() <= i {
        counts.resize(i + 1, 0);
    }
    counts[i] += 1;
}

/// Counts by name index as counts by name.
fn named(counts: &[u64], names: &Interner) -> BTreeMap<String, u64> {
    counts
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, n)| (names.name(i as u32).to_string(), *n))
        .collect()
}

impl Acc {
    fn finish(mut self, keys: Vec<String>, model: &ReadModel) -> Row {
        let r = &mut self.row;
        r.keys = keys;
        r.sentiment_models = named(&self.models, &model.models);
        r.escalations_by_level = named(&self.levels, &model.levels);
        r.response_rate = ratio(r.answered_messages, r.customer_messages);
        r.signed_reply_rate = ratio(r.signed_replies, r.tagged_replies);
        r.sla_compliance = ratio(r.sla_met, r.sla_met + r.sla_breached);
        r.first_reply_calendar = LatencyStats::of(self.first_cal);
        r.first_reply_business = LatencyStats::of(self.first_bus);
        r.reply_calendar = LatencyStats::of(self.all_cal);
        r.reply_business = LatencyStats::of(self.all_bus);
        r.unanswered_conversations = self.waiting.len() as u64;
        r.resolution_compliance = ratio(r.resolution_met, r.resolution_met + r.resolution_breached);
        r.resolution_calendar = LatencyStats::of(self.res_cal);
        r.resolution_business = LatencyStats::of(self.res_bus);
        self.row
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

pub(crate) struct Keyer<'q, 'm> {
    pub(crate) q: &'q Query,
    /// For what belongs to the conversation rather than the record (the customer's tier).
    pub(crate) model: &'m ReadModel,
}

/// A record's keys: borrowed from the record or the model where they can be, so that a report
/// over millions of records does not copy a string per record.
pub(crate) type Keys<'a> = SmallVec<[Cow<'a, str>; 3]>;

impl<'m> Keyer<'_, 'm> {
    /// The record's keys under the query's dimensions; `None` when its time is out of range.
    /// `queue` and `agent` are symbols of the model's names.
    pub(crate) fn keys(
        &self,
        conv: u32,
        channel: Channel,
        queue: u32,
        agent: u32,
        at: EventTime,
    ) -> Option<Keys<'m>> {
        if self.q.from.is_some_and(|f| at < f) || self.q.to.is_some_and(|t| at >= t) {
            return None;
        }
        let names = &self.model.names;
        Some(
            self.q
                .group_by
                .iter()
                .map(|d| match d {
                    Dimension::Channel => Cow::Borrowed(channel.as_str()),
                    Dimension::Queue => Cow::Borrowed(names.name(queue).as_str()),
                    Dimension::Agent => Cow::Borrowed(names.name(agent).as_str()),
                    Dimension::Tenant => Cow::Borrowed(self.model.conv_names(conv).0),
                    Dimension::Tier => Cow::Borrowed(self.model.tier_of(conv)),
                    Dimension::Outsourcer => Cow::Borrowed(
                        self.model
                            .outsourcers
                            .of(names.name(queue), names.name(agent)),
                    ),
                    Dimension::Bucket => Cow::Owned(self.q.bucket.label(at, self.q.time_zone)),
                })
                .collect(),
        )
    }

    /// Whether a dimension needs the queue (a record's own, or its conversation's).
    pub(crate) fn by_queue(&self) -> bool {
        self.q
            .group_by
            .iter()
            .any(|d| matches!(d, Dimension::Queue | Dimension::Outsourcer))
    }
}

impl ReadModel {
    /// Computes a report. Exact: percentiles come from every latency in the slice.
    pub fn report<'s>(&'s self, q: &Query) -> Report {
        let keyer = Keyer { q, model: self };
        let mut groups: HashMap<Keys<'s>, Acc, rustc_hash::FxBuildHasher> = HashMap::default();
        let mut total: Acc = Acc::default();
        let mut add = |keys: Option<Keys<'s>>, f: &mut dyn FnMut(&mut Acc)| {
            if let Some(k) = keys {
                f(groups.entry(k).or_default());
                f(&mut total);
            }
        };
        for m in self.messages.values() {
            add(
                keyer.keys(m.conv, m.channel, m.queue, m.agent, m.at),
                &mut |a| {
                    a.row.customer_messages += 1;
                    a.row.answered_messages += u64::from(m.answered);
                    if !m.answered {
                        a.waiting.insert(m.conv);
                    }
                },
            );
        }
        for r in self.replies.values() {
            add(
                keyer.keys(r.conv, r.channel, r.queue, r.agent, r.at),
                &mut |a| {
                    a.row.human_replies += 1;
                    a.row.tagged_replies += u64::from(r.signed.is_some());
                    a.row.signed_replies += u64::from(r.signed == Some(true));
                },
            );
        }
        for c in self.clocks.values() {
            add(
                keyer.keys(c.conv, c.channel, c.queue, c.agent, c.customer_at),
                &mut |a| {
                    let missed = c.breached || c.met == Some(false);
                    let met = !missed && c.met == Some(true);
                    if c.kind == ReplyKind::Resolution {
                        if let Some((cal, bus)) = c.latency {
                            a.res_cal.push(cal);
                            a.res_bus.push(bus);
                        }
                        a.row.resolution_breached += u64::from(missed);
                        a.row.resolution_met += u64::from(met);
                        return;
                    }
                    if let Some((cal, bus)) = c.latency {
                        if c.kind == ReplyKind::First {
                            a.first_cal.push(cal);
                            a.first_bus.push(bus);
                        }
                        a.all_cal.push(cal);
                        a.all_bus.push(bus);
                    }
                    a.row.sla_breached += u64::from(missed);
                    a.row.sla_met += u64::from(met);
                },
            );
        }
        // Tags and escalations take their conversation's queue, looked up only when a
        // dimension needs it.
        let by_queue = keyer.by_queue();
        for t in self.tags.values() {
            let queue = if by_queue {
                self.queue_of(t.conv)
            } else {
                NONE_SYMBOL
            };
            add(
                keyer.keys(t.conv, t.channel, queue, NONE_SYMBOL, t.at),
                &mut |a| {
                    match t.polarity {
                        Polarity::Positive => a.row.sentiment_positive += 1,
                        Polarity::Neutral => a.row.sentiment_neutral += 1,
                        Polarity::Negative => a.row.sentiment_negative += 1,
                    }
                    count(&mut a.models, t.model);
                },
            );
        }
        for e in self.escalations.values() {
            // An escalation raised before its conversation's assignment was seen takes the
            // conversation's queue.
            let queue = if e.queue == NONE_SYMBOL && by_queue {
                self.queue_of(e.conv)
            } else {
                e.queue
            };
            add(
                keyer.keys(e.conv, e.channel, queue, NONE_SYMBOL, e.at),
                &mut |a| {
                    a.row.escalations += 1;
                    count(&mut a.levels, e.level);
                },
            );
        }
        let mut rows: Vec<(Keys<'s>, Acc)> = groups.into_iter().collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Report {
            group_by: q.group_by.clone(),
            rows: rows
                .into_iter()
                .map(|(k, acc)| acc.finish(k.into_iter().map(Cow::into_owned).collect(), self))
                .collect(),
            total: total.finish(vec!["total".into()], self),
            facts_seen: self.facts_seen(),
        }
    }
}

fn secs(ms: i64) -> String {
    if ms >= 3_600_000 {
        format!("{:.1}h", ms as f64 / 3_600_000.0)
    } else if ms >= 60_000 {
        format!("{:.1}m", ms as f64 / 60_000.0)
    } else {
        format!("{:.0}s", ms as f64 / 1000.0)
    }
}

impl Report {
    /// The table as CSV: one column per dimension, then every figure (latencies as
    /// `<name>_count`, `_p50_ms`, `_p90_ms`, `_p99_ms`, `_mean_ms`), the total last with
    /// `total` in the first column; `sentiment_models` and `escalations_by_level` as `name: count`
    /// pairs separated by `; `.
    pub fn to_csv(&self) -> String {
        let columns = csv_columns();
        let mut head: Vec<String> = self
            .group_by
            .iter()
            .map(|d| d.as_str().to_string())
            .collect();
        if head.is_empty() {
            head.push("slice".into());
        }
        let dims = head.len();
        head.extend(columns.iter().map(|(name, _)| name.clone()));
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&head).expect("writing to memory");
        for r in self.rows.iter().chain(std::iter::once(&self.total)) {
            // The total's key is `total` in the first column.
            let mut cells = r.keys.clone();
            cells.resize(dims, String::new());
            cells.extend(columns.iter().map(|(_, cell)| cell(r)));
            w.write_record(&cells).expect("writing to memory");
        }
        String::from_utf8(w.into_inner().expect("writing to memory")).expect("CSV of UTF-8 text")
    }

    /// A plain-text table for terminals.
    pub fn to_table(&self) -> String {
        let mut head: Vec<String> = self
            .group_by
            .iter()
            .map(|d| d.as_str().to_string())
            .collect();
        if head.is_empty() {
            head.push(String::new());
        }
        head.extend(
            [
                "msgs", "resp%", "replies", "sign%", "1st p50", "1st p90", "p50", "p90", "p99",
                "biz p50", "SLA%", "met", "breach", "+/=/-", "esc",
            ]
            .map(String::from),
        );
        let mut lines = vec![head];
        for r in self.rows.iter().chain(std::iter::once(&self.total)) {
            let mut cells = r.keys.clone();
            if r.keys.len() < self.group_by.len().max(1) {
                cells.resize(self.group_by.len().max(1), String::new());
            }
            cells.extend([
                r.customer_messages.to_string(),
                format!("{:.0}", r.response_rate * 100.0),
                r.human_replies.to_string(),
                format!("{:.0}", r.signed_reply_rate * 100.0),
                secs(r.first_reply_calendar.p50_ms),
                secs(r.first_reply_calendar.p90_ms),
                secs(r.reply_calendar.p50_ms),
                secs(r.reply_calendar.p90_ms),
                secs(r.reply_calendar.p99_ms),
                secs(r.reply_business.p50_ms),
                format!("{:.0}", r.sla_compliance * 100.0),
                r.sla_met.to_string(),
                r.sla_breached.to_string(),
                format!(
                    "{}/{}/{}",
                    r.sentiment_positive, r.sentiment_neutral, r.sentiment_negative
                ),
                r.escalations.to_string(),
            ]);
            lines.push(cells);
        }
        let cols = lines[0].len();
        let widths: Vec<usize> = (0..cols)
            .map(|c| {
                lines
                    .iter()
                    .map(|l| l.get(c).map_or(0, |s| s.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for (i, l) in lines.iter().enumerate() {
            for (c, cell) in l.iter().enumerate() {
                let pad = widths[c] - cell.chars().count();
                if c < self.group_by.len().max(1) {
                    let _ = write!(out, "{cell}{} ", " ".repeat(pad));
                } else {
                    let _ = write!(out, "{}{cell} ", " ".repeat(pad));
                }
            }
            out.truncate(out.trim_end().len());
            out.push('\n');
            if i == 0 || i == lines.len() - 2 {
                out.push_str(&"-".repeat(widths.iter().sum::<usize>() + cols - 1));
                out.push('\n');
            }
        }
        if !self.total.sentiment_models.is_empty() {
            let models: Vec<String> = self
                .total
                .sentiment_models
                .iter()
                .map(|(m, n)| format!("{m} ({n})"))
                .collect();
            let _ = writeln!(out, "sentiment by model: {}", models.join(", "));
        }
        out
    }
}

/// How a CSV column of a report row is written.
type Cell = Box<dyn Fn(&Row) -> String>;

/// The figures of a row as CSV columns, in order: each column named once, beside how a row
/// fills it, so that the header and the cells cannot drift apart.
fn csv_columns() -> Vec<(String, Cell)> {
    fn pairs<K: std::fmt::Display>(m: &BTreeMap<K, u64>) -> String {
        m.iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
    let mut columns: Vec<(String, Cell)> = Vec::new();
    let mut add = |name: &str, cell: Cell| columns.push((name.to_string(), cell));
    add(
        "customer_messages",
        Box::new(|r| r.customer_messages.to_string()),
    );
    add(
        "answered_messages",
        Box::new(|r| r.answered_messages.to_string()),
    );
    add("response_rate", Box::new(|r| r.response_rate.to_string()));
    add("human_replies", Box::new(|r| r.human_replies.to_string()));
    add("tagged_replies", Box::new(|r| r.tagged_replies.to_string()));
    add("signed_replies", Box::new(|r| r.signed_replies.to_string()));
    add(
        "signed_reply_rate",
        Box::new(|r| r.signed_reply_rate.to_string()),
    );
    type Stat = fn(&Row) -> &LatencyStats;
    type Part = fn(&LatencyStats) -> String;
    let stats: [(&str, Stat); 6] = [
        ("first_reply_calendar", |r| &r.first_reply_calendar),
        ("first_reply_business", |r| &r.first_reply_business),
        ("reply_calendar", |r| &r.reply_calendar),
        ("reply_business", |r| &r.reply_business),
        ("resolution_calendar", |r| &r.resolution_calendar),
        ("resolution_business", |r| &r.resolution_business),
    ];
    let parts: [(&str, Part); 5] = [
        ("count", |l| l.count.to_string()),
        ("p50_ms", |l| l.p50_ms.to_string()),
        ("p90_ms", |l| l.p90_ms.to_string()),
        ("p99_ms", |l| l.p99_ms.to_string()),
        ("mean_ms", |l| l.mean_ms.to_string()),
    ];
    for (stat, of) in stats {
        for (part, cell) in parts {
            add(&format!("{stat}_{part}"), Box::new(move |r| cell(of(r))));
        }
    }
    add("sla_met", Box::new(|r| r.sla_met.to_string()));
    add("sla_breached", Box::new(|r| r.sla_breached.to_string()));
    add("sla_compliance", Box::new(|r| r.sla_compliance.to_string()));
    add("resolution_met", Box::new(|r| r.resolution_met.to_string()));
    add(
        "resolution_breached",
        Box::new(|r| r.resolution_breached.to_string()),
    );
    add(
        "resolution_compliance",
        Box::new(|r| r.resolution_compliance.to_string()),
    );
    add(
        "sentiment_positive",
        Box::new(|r| r.sentiment_positive.to_string()),
    );
    add(
        "sentiment_neutral",
        Box::new(|r| r.sentiment_neutral.to_string()),
    );
    add(
        "sentiment_negative",
        Box::new(|r| r.sentiment_negative.to_string()),
    );
    add("sentiment_models", Box::new(|r| pairs(&r.sentiment_models)));
    add("escalations", Box::new(|r| r.escalations.to_string()));
    add(
        "escalations_by_level",
        Box::new(|r| pairs(&r.escalations_by_level)),
    );
    add(
        "unanswered_conversations",
        Box::new(|r| r.unanswered_conversations.to_string()),
    );
    columns
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::percentile;
    use pronto_domain::{
        AuthorKind, BoundedText, ConversationContext, Envelope, EscalationState, Event, Id,
        Payload, Priority, ReplyLatency, SentimentTag, SlaBreach, SlaFact, Visibility,
    };

    const T0: i64 = 1_772_442_000_000; // 2026-03-02T09:00:00Z, a Monday

    fn msg(id: &str, conv: &str, channel: Channel, at: i64) -> Event {
        Event {
            envelope: Envelope {
                event_id: Id::parse(id).unwrap(),
                tenant: Id::parse("acme").unwrap(),
                conversation_id: Id::parse(conv).unwrap(),
                occurred_at: EventTime(at),
                source: Id::parse("t").unwrap(),
                schema_version: 1,
                channel,
            },
            payload: Payload::CustomerMessage {
                text: BoundedText::default(),
                customer_id: Id::parse("u").unwrap(),
                customer_tier: None,
            },
        }
    }

    /// A public reply by agent `a1`.
    fn human_reply(id: &str, conv: &str, channel: Channel, at: i64) -> Event {
        let mut e = msg(id, conv, channel, at);
        e.payload = Payload::ReplySent {
            text: BoundedText::default(),
            author: AuthorKind::Human,
            visibility: Visibility::Public,
            agent_id: Some(Id::parse("a1").unwrap()),
            agent_display_name: None,
        };
        e
    }

    fn ctx(conv: &str, channel: Channel) -> ConversationContext {
        ConversationContext {
            tenant: "acme".into(),
            conversation_id: conv.into(),
            channel,
            queue: "q1".into(),
            priority: Priority::Normal,
            customer_tier: Default::default(),
        }
    }

    fn latency(i: usize, channel: Channel, ms: i64, met: bool) -> SlaFact {
        SlaFact::Latency(ReplyLatency {
            fact_id: format!("lat-{i}"),
            clock_id: format!("clk-{i}"),
            context: ctx(&format!("c{i}"), channel),
            kind: ReplyKind::First,
            customer_event_id: format!("m{i}").into(),
            customer_at: EventTime(T0),
            reply_event_id: format!("r{i}").into(),
            replied_at: EventTime(T0 + ms),
            agent_id: "a1".into(),
            calendar_ms: ms,
            business_ms: ms / 2,
            target_ms: 300_000,
            met,
            policy_version: "p".into(),
        })
    }

    #[test]
    fn a_corrected_breach_no_longer_counts_against_compliance() {
        let mut m = ReadModel::new();
        let breach = SlaBreach {
            fact_id: "brk-1".into(),
            clock_id: "clk-1".into(),
            context: ctx("c1", Channel::Chat),
            kind: ReplyKind::First,
            customer_event_id: "m1".into(),
            customer_at: EventTime(T0),
            deadline: EventTime(T0 + 3_600_000),
            target_ms: 3_600_000,
            policy_version: "p".into(),
        };
        m.apply_sla(&SlaFact::Breach(breach.clone()));
        assert_eq!(m.report(&Query::default()).total.sla_breached, 1);
        let correction = pronto_domain::SlaCorrection {
            fact_id: "cor-1".into(),
            corrects_fact_id: "brk-1".into(),
            corrects_kind: "breach".into(),
            clock_id: "clk-1".into(),
            context: ctx("c1", Channel::Chat),
            kind: ReplyKind::First,
            customer_at: EventTime(T0),
            reason: "late reply".into(),
            occurred_at: EventTime(T0 + 600_000),
            policy_version: "p".into(),
        };
        m.apply_sla(&SlaFact::Correction(correction));
        let SlaFact::Latency(mut l) = latency(1, Channel::Chat, 600_000, true) else {
            unreachable!()
        };
        l.clock_id = "clk-1".into();
        m.apply_sla(&SlaFact::Latency(l));
        let t = m.report(&Query::default()).total;
        assert_eq!((t.sla_met, t.sla_breached), (1, 0));
        // A breach announced again (a new id) counts again.
        m.apply_sla(&SlaFact::Breach(SlaBreach {
            fact_id: "brk-1-again".into(),
            ..breach
        }));
        assert_eq!(m.report(&Query::default()).total.sla_breached, 1);
    }

    #[test]
    fn a_corrected_latency_gives_way_to_the_one_that_replaces_it() {
        let mut m = ReadModel::new();
        let SlaFact::Latency(first) = latency(1, Channel::Chat, 4_000_000, false) else {
            unreachable!()
        };
        m.apply_sla(&SlaFact::Latency(first.clone()));
        let correct = |id: &str, what: &str| {
            SlaFact::Correction(pronto_domain::SlaCorrection {
                fact_id: format!("cor-{id}"),
                corrects_fact_id: id.into(),
                corrects_kind: what.into(),
                clock_id: first.clock_id.clone(),
                context: first.context.clone(),
                kind: ReplyKind::First,
                customer_at: first.customer_at,
                reason: "a late pause".into(),
                occurred_at: EventTime(T0),
                policy_version: "p".into(),
            })
        };
        // A correction of some other fact of the clock changes nothing.
        m.apply_sla(&correct("brk-elsewhere", "breach"));
        let t = m.report(&Query::default()).total;
        assert_eq!(
            (t.sla_met, t.sla_breached, t.reply_calendar.count),
            (0, 1, 1)
        );
        // Taken back: the clock no longer counts at all.
        m.apply_sla(&correct(&first.fact_id, "latency"));
        let t = m.report(&Query::default()).total;
        assert_eq!(
            (t.sla_met, t.sla_breached, t.reply_calendar.count),
            (0, 0, 0)
        );
        // The measurement net of the pause, under its own id.
        m.apply_sla(&SlaFact::Latency(ReplyLatency {
            fact_id: "lat-net".into(),
            calendar_ms: 1_000_000,
            met: true,
            ..first.clone()
        }));
        let t = m.report(&Query::default()).total;
        assert_eq!((t.sla_met, t.sla_breached), (1, 0));
        assert_eq!(
            (t.reply_calendar.count, t.reply_calendar.p50_ms),
            (1, 1_000_000)
        );
    }

    #[test]
    fn resolution_has_its_own_figures_beside_the_reply_targets() {
        let mut m = ReadModel::new();
        m.apply_sla(&latency(1, Channel::Chat, 60_000, true));
        for (i, ms, met) in [(2, 3_600_000, true), (3, 9_000_000, false)] {
            let SlaFact::Latency(mut l) = latency(i, Channel::Chat, ms, met) else {
                unreachable!()
            };
            l.kind = ReplyKind::Resolution;
            l.clock_id = format!("res-{i}");
            m.apply_sla(&SlaFact::Latency(l));
        }
        let t = m.report(&Query::default()).total;
        assert_eq!((t.sla_met, t.sla_breached), (1, 0));
        assert_eq!(t.reply_calendar.count, 1);
        assert_eq!((t.resolution_met, t.resolution_breached), (1, 1));
        assert_eq!(t.resolution_compliance, 0.5);
        assert_eq!(t.resolution_calendar.count, 2);
        assert_eq!(t.resolution_calendar.p50_ms, 3_600_000);
        assert_eq!(t.resolution_business.p99_ms, 4_500_000);
    }

    #[test]
    fn groups_by_channel_with_exact_percentiles_and_dedup() {
        let mut m = ReadModel::new();
        let mut phone = Vec::new();
        for i in 0..20 {
            let ms = (i as i64 + 1) * 30_000;
            let f = latency(i, Channel::Phone, ms, ms <= 300_000);
            m.apply_sla(&f);
            m.apply_sla(&f); // delivered twice
            phone.push(ms);
        }
        m.apply_sla(&latency(99, Channel::Email, 1000, true));
        let r = m.report(&Query {
            group_by: vec![Dimension::Channel],
            ..Query::default()
        });
        assert_eq!(r.rows.len(), 2);
        let p = r.rows.iter().find(|r| r.keys == ["phone"]).unwrap();
        assert_eq!(p.reply_calendar.count, 20);
        assert_eq!(p.reply_calendar.p90_ms, percentile(&phone, 90));
        assert_eq!(p.sla_met, 10);
        assert_eq!(p.sla_breached, 10);
        assert_eq!(p.sla_compliance, 0.5);
        assert_eq!(r.total.reply_calendar.count, 21);
    }

    #[test]
    fn a_breach_without_reply_counts_against_compliance_once() {
        let mut m = ReadModel::new();
        let breach = SlaFact::Breach(SlaBreach {
            fact_id: "brk-1".into(),
            clock_id: "clk-1".into(),
            context: ctx("c1", Channel::Chat),
            kind: ReplyKind::First,
            customer_event_id: "m1".into(),
            customer_at: EventTime(T0),
            deadline: EventTime(T0 + 3_600_000),
            target_ms: 3_600_000,
            policy_version: "p".into(),
        });
        m.apply_sla(&breach);
        m.apply_sla(&latency(1, Channel::Chat, 7_200_000, false));
        let r = m.report(&Query::default());
        assert_eq!((r.total.sla_met, r.total.sla_breached), (0, 1));
    }

    #[test]
    fn signed_reply_rate_counts_human_public_replies() {
        let mut m = ReadModel::new();
        let reply = |id: &str, text: &str, author: AuthorKind, visibility: Visibility| {
            let mut e = msg(id, "c1", Channel::Twitter, T0 + 60_000);
            e.payload = Payload::ReplySent {
                text: BoundedText::new(text),
                author,
                visibility,
                agent_id: Some(Id::parse("a1").unwrap()),
                agent_display_name: Some("Marco".into()),
            };
            e
        };
        let reply_tag = |id: &str, signed: bool| SentimentTag {
            fact_id: format!("snt-{id}"),
            event_id: id.into(),
            tenant: "acme".into(),
            conversation_id: "c1".into(),
            channel: Channel::Twitter,
            occurred_at: EventTime(T0 + 60_000),
            polarity: Polarity::Neutral,
            score: 0.0,
            language: "en".into(),
            tones: vec![],
            model_name: "lexicon".into(),
            model_version: "2".into(),
            reply: true,
            signed,
            rescored: false,
        };
        // A tag may arrive before the reply it describes.
        m.apply_tag(&reply_tag("r1", true));
        m.apply_event(&msg("m1", "c1", Channel::Twitter, T0));
        m.apply_event(&reply(
            "r1",
            "On it. ^M",
            AuthorKind::Human,
            Visibility::Public,
        ));
        m.apply_event(&reply(
            "r2",
            "On it.",
            AuthorKind::Human,
            Visibility::Public,
        ));
        m.apply_event(&reply(
            "r3",
            "Marco here, on it",
            AuthorKind::Human,
            Visibility::Private,
        ));
        m.apply_event(&reply(
            "r4",
            "Marco bot says hi",
            AuthorKind::Bot,
            Visibility::Public,
        ));
        let t = m.report(&Query::default()).total;
        assert_eq!(
            (t.human_replies, t.tagged_replies, t.signed_replies),
            (2, 1, 1)
        );
        assert_eq!(t.signed_reply_rate, 1.0);
        m.apply_tag(&reply_tag("r2", false));
        // Tags of private notes and bot replies count for nothing.
        m.apply_tag(&reply_tag("r3", true));
        m.apply_tag(&reply_tag("r4", true));
        let t = m.report(&Query::default()).total;
        assert_eq!(
            (t.human_replies, t.tagged_replies, t.signed_replies),
            (2, 2, 1)
        );
        assert_eq!(t.signed_reply_rate, 0.5);
        // Reply tags are not customer sentiment.
        assert_eq!(t.sentiment_neutral, 0);
    }

    #[test]
    fn a_rescored_tag_replaces_the_earlier_one_and_names_its_model() {
        let mut m = ReadModel::new();
        m.apply_event(&msg("m1", "c1", Channel::Chat, T0));
        m.apply_event(&msg("m2", "c2", Channel::Chat, T0));
        let tag = |id: &str, polarity: Polarity, model: &str, version: &str| SentimentTag {
            fact_id: format!("snt-{id}-{model}-{version}"),
            event_id: id.into(),
            tenant: "acme".into(),
            // m1 is in c1, m2 in c2.
            conversation_id: id.replace('m', "c").into(),
            channel: Channel::Chat,
            occurred_at: EventTime(T0),
            polarity,
            score: 0.0,
            language: "en".into(),
            tones: vec![],
            model_name: model.into(),
            model_version: version.into(),
            reply: false,
            signed: false,
            rescored: model != "lexicon",
        };
        m.apply_tag(&tag("m1", Polarity::Neutral, "lexicon", "2"));
        m.apply_tag(&tag("m2", Polarity::Neutral, "lexicon", "2"));
        let t = m.report(&Query::default()).total;
        assert_eq!((t.sentiment_neutral, t.sentiment_negative), (2, 0));
        assert_eq!(
            t.sentiment_models,
            BTreeMap::from([("lexicon 2".into(), 2)])
        );

        m.apply_tag(&tag("m1", Polarity::Negative, "linear", "acme-7"));
        // The same tag again (a restart re-publishing it) changes nothing.
        m.apply_tag(&tag("m1", Polarity::Negative, "linear", "acme-7"));
        let r = m.report(&Query::default());
        let t = &r.total;
        assert_eq!((t.sentiment_neutral, t.sentiment_negative), (1, 1));
        assert_eq!(
            t.sentiment_models,
            BTreeMap::from([("lexicon 2".into(), 1), ("linear acme-7".into(), 1)])
        );
        assert!(
            r.to_table()
                .contains("sentiment by model: lexicon 2 (1), linear acme-7 (1)")
        );

        // By queue, a tag takes its conversation's queue, assigned after it was read; by
        // channel, the queue is not looked up and the counts are the same.
        let mut assign = msg("q1", "c1", Channel::Chat, T0 + 1);
        assign.payload = Payload::AssignmentChanged {
            queue: Some(Id::parse("billing").unwrap()),
            agent_id: None,
        };
        m.apply_event(&assign);
        let by_queue = m.report(&Query {
            group_by: vec![Dimension::Queue],
            ..Query::default()
        });
        let models = |r: &Report, key: &str| {
            r.rows
                .iter()
                .find(|row| row.keys[0] == key)
                .map(|row| row.sentiment_models.clone())
        };
        assert_eq!(
            models(&by_queue, "billing"),
            Some(BTreeMap::from([("linear acme-7".into(), 1)]))
        );
        assert_eq!(
            models(&by_queue, crate::model::NONE),
            Some(BTreeMap::from([("lexicon 2".into(), 1)]))
        );
        let by_channel = m.report(&Query {
            group_by: vec![Dimension::Channel],
            ..Query::default()
        });
        assert_eq!(
            models(&by_channel, "chat"),
            Some(BTreeMap::from([
                ("lexicon 2".into(), 1),
                ("linear acme-7".into(), 1)
            ]))
        );
    }

    #[test]
    fn every_figure_drills_down_to_the_conversations_behind_it() {
        use crate::{Figure, drill::ConversationRef};
        let mut m = ReadModel::new();
        for i in 0..6 {
            let channel = if i % 2 == 0 {
                Channel::Chat
            } else {
                Channel::Email
            };
            m.apply_event(&msg(
                &format!("m{i}"),
                &format!("c{i}"),
                channel,
                T0 + i as i64,
            ));
            // Every third conversation missed its target.
            m.apply_sla(&latency(i, channel, 60_000, i % 3 != 0));
        }
        let by_channel = m.report(&Query {
            group_by: vec![Dimension::Channel],
            ..Query::default()
        });
        for row in &by_channel.rows {
            let filter = [(Dimension::Channel, row.keys[0].clone())];
            for (figure, value) in [
                (Figure::CustomerMessages, row.customer_messages),
                (Figure::SlaMet, row.sla_met),
                (Figure::SlaBreached, row.sla_breached),
                (
                    Figure::UnansweredMessages,
                    row.customer_messages - row.answered_messages,
                ),
            ] {
                let d = m.drill(&Query::default(), &filter, figure, 100);
                assert_eq!(d.count, value, "{:?} {figure:?}", row.keys);
                assert_eq!(
                    d.conversations.iter().map(|c| c.records).sum::<u64>(),
                    value
                );
            }
        }
        let breached = m.drill(
            &Query::default(),
            &[(Dimension::Channel, "chat".into())],
            Figure::SlaBreached,
            100,
        );
        assert_eq!(
            breached.conversations,
            [ConversationRef {
                tenant: "acme".into(),
                conversation_id: "c0".into(),
                records: 1
            }]
        );
        let capped = m.drill(&Query::default(), &[], Figure::CustomerMessages, 2);
        assert_eq!(
            (capped.count, capped.conversations.len(), capped.truncated),
            (6, 2, true)
        );
    }

    #[test]
    fn backlog_and_escalations_by_level() {
        use pronto_domain::EscalationRaised;
        let mut m = ReadModel::new();
        m.apply_event(&msg("m1", "c1", Channel::Chat, T0));
        m.apply_event(&human_reply("r1", "c1", Channel::Chat, T0 + 60_000));
        m.apply_event(&msg("m2", "c2", Channel::Chat, T0));
        m.apply_event(&msg("m3", "c2", Channel::Chat, T0 + 1));
        m.apply_event(&msg("m4", "c3", Channel::Email, T0));
        for (id, level) in [
            ("e1", "team_lead"),
            ("e2", "team_lead"),
            ("e3", "manager"),
            ("e4", "manager"),
        ] {
            m.apply_escalation(&EscalationRaised {
                escalation_id: id.into(),
                context: ctx("c2", Channel::Chat),
                level: level.into(),
                step: 0,
                ladder_id: id.into(),
                recipients: vec![],
                rule: "r".into(),
                reason: "why".into(),
                trigger_ids: vec![],
                raised_at: EventTime(T0 + 5),
                policy_version: "p".into(),
            });
        }
        m.apply_withdrawal("e4");
        m.apply_escalation_state("e1", EscalationState::Acknowledged);
        let (open, items) = m.escalation_list(Some(EscalationState::Open), 10);
        assert_eq!(open, 2);
        assert!(
            items
                .iter()
                .all(|i| i.state == "open" && i.escalation_id != "e4")
        );
        assert_eq!(m.escalation_list(None, 1).0, 3);
        assert_eq!(m.escalation_list(None, 1).1.len(), 1);
        let r = m.report(&Query {
            group_by: vec![Dimension::Channel],
            ..Query::default()
        });
        assert_eq!(r.total.unanswered_conversations, 2);
        let chat = r.rows.iter().find(|r| r.keys[0] == "chat").unwrap();
        assert_eq!(chat.unanswered_conversations, 1);
        assert_eq!(
            chat.escalations_by_level,
            BTreeMap::from([("manager".into(), 1), ("team_lead".into(), 2)])
        );
        assert!(r.to_csv().contains("manager: 1; team_lead: 2"));
    }

    #[test]
    fn conversations_are_told_apart_by_tenant_and_found_again_among_many() {
        let mut m = ReadModel::new();
        let in_tenant = |tenant: &str, mut e: Event| {
            e.envelope.tenant = Id::parse(tenant).unwrap();
            e
        };
        // More conversations than the index starts with, so that it grows while they come.
        for i in 0..3_000 {
            m.apply_event(&in_tenant(
                "acme",
                msg(&format!("a{i}"), &format!("c{i}"), Channel::Chat, T0),
            ));
            m.apply_event(&in_tenant(
                "zeta",
                msg(&format!("z{i}"), &format!("c{i}"), Channel::Chat, T0),
            ));
        }
        // Acme answers every conversation, each reply found among the 6,000 by tenant and id.
        for i in 0..3_000 {
            let answer = human_reply(
                &format!("r{i}"),
                &format!("c{i}"),
                Channel::Chat,
                T0 + 60_000,
            );
            m.apply_event(&in_tenant("acme", answer));
        }
        let r = m.report(&Query {
            group_by: vec![Dimension::Tenant],
            ..Query::default()
        });
        let row = |t: &str| r.rows.iter().find(|r| r.keys[0] == t).unwrap();
        assert_eq!(row("acme").unanswered_conversations, 0);
        assert_eq!(row("zeta").unanswered_conversations, 3_000);
        assert_eq!(r.total.unanswered_conversations, 3_000);
    }

    #[test]
    fn buckets_are_cut_in_the_chosen_time_zone() {
        let t = |s: &str| EventTime::parse_rfc3339(s).unwrap();
        let mut m = ReadModel::new();
        // 23:30 on 31 March and 00:30 on 1 April in Rome, both still March in UTC.
        m.apply_event(&msg(
            "m1",
            "c1",
            Channel::Email,
            t("2026-03-31T21:30:00Z").millis(),
        ));
        m.apply_event(&msg(
            "m2",
            "c2",
            Channel::Email,
            t("2026-03-31T22:30:00Z").millis(),
        ));
        let keys = |bucket: Bucket, tz: &str| -> Vec<(String, u64)> {
            m.report(&Query {
                group_by: vec![Dimension::Bucket],
                bucket,
                time_zone: tz.parse().unwrap(),
                ..Query::default()
            })
            .rows
            .iter()
            .map(|r| (r.keys[0].clone(), r.customer_messages))
            .collect()
        };
        assert_eq!(keys(Bucket::Month, "UTC"), [("2026-03".to_string(), 2)]);
        assert_eq!(
            keys(Bucket::Month, "Europe/Rome"),
            [("2026-03".to_string(), 1), ("2026-04".to_string(), 1)]
        );
        assert_eq!(
            keys(Bucket::Day, "Europe/Rome"),
            [("2026-03-31".to_string(), 1), ("2026-04-01".to_string(), 1)]
        );
        // Labels of the other widths: the repeated hour of the autumn change stays two
        // buckets; weeks start on Monday in local time.
        let at = |s: &str| t(s);
        let rome: Tz = "Europe/Rome".parse().unwrap();
        assert_eq!(
            Bucket::Hour.label(at("2026-10-25T00:30:00Z"), rome),
            "2026-10-25T02:00+02:00"
        );
        assert_eq!(
            Bucket::Hour.label(at("2026-10-25T01:30:00Z"), rome),
            "2026-10-25T02:00+01:00"
        );
        assert_eq!(
            Bucket::Hour.label(at("2026-10-25T01:30:00Z"), Tz::UTC),
            "2026-10-25T01:00"
        );
        assert_eq!(
            Bucket::Week.label(at("2026-03-01T23:30:00Z"), rome),
            "2026-03-02"
        );
        assert_eq!(
            Bucket::Week.label(at("2026-03-01T23:30:00Z"), Tz::UTC),
            "2026-02-23"
        );
    }

    #[test]
    fn csv_has_a_column_per_figure_and_quotes_what_needs_it() {
        let mut m = ReadModel::new();
        let mut queue = msg("q1", "c1", Channel::Chat, T0 - 1);
        queue.payload = Payload::AssignmentChanged {
            queue: Some(Id::parse("billing, \"north\"").unwrap()),
            agent_id: None,
        };
        m.apply_event(&queue);
        m.apply_event(&msg("m1", "c1", Channel::Chat, T0));
        m.apply_sla(&latency(1, Channel::Chat, 90_000, true));
        let r = m.report(&Query {
            group_by: vec![Dimension::Channel, Dimension::Queue],
            ..Query::default()
        });
        let csv = r.to_csv();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let head: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(&head[..3], ["channel", "queue", "customer_messages"]);
        assert!(head.contains(&"reply_calendar_p90_ms".to_string()));
        let rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect();
        assert_eq!(rows.len(), r.rows.len() + 1);
        let col = |name: &str| head.iter().position(|h| h == name).unwrap();
        assert!(
            rows.iter()
                .any(|r| r[0] == "chat" && r[1] == "billing, \"north\"")
        );
        let total = rows.last().unwrap();
        assert_eq!(total[col("reply_calendar_p50_ms")], "90000");
        assert_eq!((total[0].as_str(), total[1].as_str()), ("total", ""));
        assert_eq!(total[col("customer_messages")], "1");
        assert!(rows.iter().all(|r| r.len() == head.len()));
    }

    #[test]
    fn buckets_and_time_filter() {
        let mut m = ReadModel::new();
        m.apply_event(&msg("m1", "c1", Channel::Email, T0));
        m.apply_event(&msg("m2", "c2", Channel::Email, T0 + 86_400_000));
        m.apply_event(&msg("m2", "c2", Channel::Email, T0 + 86_400_000));
        let r = m.report(&Query {
            group_by: vec![Dimension::Bucket],
            ..Query::default()
        });
        let keys: Vec<_> = r.rows.iter().map(|r| r.keys[0].clone()).collect();
        assert_eq!(keys, ["2026-03-02", "2026-03-03"]);
        let week = m.report(&Query {
            group_by: vec![Dimension::Bucket],
            bucket: Bucket::Week,
            ..Query::default()
        });
        assert_eq!(week.rows[0].keys, ["2026-03-02"]);
        assert_eq!(week.rows[0].customer_messages, 2);
        let filtered = m.report(&Query {
            from: Some(EventTime(T0 + 1)),
            ..Query::default()
        });
        assert_eq!(filtered.total.customer_messages, 1);
        assert!(m.report(&Query::default()).to_table().contains("total"));
    }

    #[test]
    fn reports_slice_by_outsourcer_the_agents_else_the_queues() {
        let mut m = ReadModel::new();
        m.set_outsourcers(
            crate::Outsourcers::from_toml(
                "[outsourcers.contactlab]\nqueues = [\"billing\"]\n[outsourcers.in-house]\nagents = [\"a9\"]\n",
            )
            .unwrap(),
        );
        for (i, queue, agent) in [
            (1, "billing", "a1"),
            (2, "billing", "a9"),
            (3, "sales", "a1"),
            (4, "billing", "a2"),
        ] {
            let SlaFact::Latency(mut l) = latency(i, Channel::Chat, 60_000, true) else {
                unreachable!()
            };
            l.context.queue = queue.into();
            l.agent_id = agent.into();
            m.apply_sla(&SlaFact::Latency(l));
        }
        let r = m.report(&Query {
            group_by: vec![Dimension::Outsourcer],
            ..Query::default()
        });
        let rows: Vec<(String, u64)> = r
            .rows
            .iter()
            .map(|r| (r.keys[0].clone(), r.sla_met))
            .collect();
        assert_eq!(
            rows,
            [
                ("(none)".to_string(), 1),
                ("contactlab".to_string(), 2),
                ("in-house".to_string(), 1)
            ]
        );
        let d = m.drill(
            &Query::default(),
            &[(Dimension::Outsourcer, "contactlab".into())],
            crate::Figure::SlaMet,
            10,
        );
        assert_eq!(d.conversations.len(), 2);
    }

    #[test]
    fn reports_slice_by_customer_tier() {
        let mut m = ReadModel::new();
        let mut gold = msg("m1", "c1", Channel::Chat, T0);
        gold.payload = Payload::CustomerMessage {
            text: BoundedText::default(),
            customer_id: Id::parse("u1").unwrap(),
            customer_tier: Some(Id::parse("gold").unwrap()),
        };
        m.apply_event(&gold);
        // A later message of the same conversation, with no tier given, is still gold's.
        m.apply_event(&msg("m2", "c1", Channel::Chat, T0 + 1));
        m.apply_event(&msg("m3", "c2", Channel::Chat, T0));
        let r = m.report(&Query {
            group_by: vec![Dimension::Tier],
            ..Query::default()
        });
        let rows: Vec<(String, u64)> = r
            .rows
            .iter()
            .map(|r| (r.keys[0].clone(), r.customer_messages))
            .collect();
        assert_eq!(rows, [("(none)".to_string(), 1), ("gold".to_string(), 2)]);
        let d = m.drill(
            &Query::default(),
            &[(Dimension::Tier, "gold".into())],
            crate::Figure::CustomerMessages,
            10,
        );
        assert_eq!(d.conversations.len(), 1);
    }
}
