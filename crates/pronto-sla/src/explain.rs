//! Explaining one conversation's clocks: every event, the clock's state after it, pauses,
//! closed hours, and why each verdict was emitted under which policy version.
//!
//! The explanation runs the engine itself on the conversation's events, so what it says is
//! what the SLA service computed (verdicts do not depend on other conversations).

use crate::engine::ClockView;
use crate::{Basis, Engine, PolicyVersions, Target};
use pronto_domain::{AuthorKind, Event, EventTime, Payload, ReplyKind, SlaFact, Visibility};
use std::fmt;

/// One line of the timeline: an instant, what happened, and what it did to the clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub at: EventTime,
    pub what: String,
    pub notes: Vec<String>,
}

/// A conversation's timeline up to an instant.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// `tenant/conversation_id`.
    pub key: String,
    /// The versions known, with the instant each takes over.
    pub versions: Vec<(EventTime, String)>,
    pub entries: Vec<Entry>,
    /// Every verdict, in the order the engine emitted them.
    pub facts: Vec<SlaFact>,
    /// The open reply clock at the end, if any.
    pub open_clock: Option<ClockView>,
    /// The open resolution clock at the end, if any.
    pub open_resolution: Option<ClockView>,
    pub until: EventTime,
}

/// Explains the clocks of the conversation `key` from its `events` (any order; events of
/// other conversations are skipped), as they stand at `until`.
pub fn explain(
    versions: &PolicyVersions,
    key: &str,
    events: &[Event],
    until: EventTime,
) -> Explanation {
    let mut events: Vec<&Event> = events
        .iter()
        .filter(|e| e.key().as_str() == key && e.at() <= until)
        .collect();
    events.sort_by(|a, b| a.at().cmp(&b.at()).then_with(|| a.id().cmp(b.id())));
    let mut engine = Engine::with_versions(versions.clone(), 0);
    let mut entries = Vec::new();
    let mut facts = Vec::new();
    for e in events {
        for f in engine.advance(e.at()) {
            entries.push(timer_entry(&f));
            facts.push(f);
        }
        let before = engine.clock(key, e.at());
        let before_res = engine.resolution_clock(key, e.at());
        let duplicates = engine.stats().duplicates_ignored;
        let out = engine.apply(e);
        let after = engine.clock(key, e.at());
        let after_res = engine.resolution_clock(key, e.at());
        let mut notes = Vec::new();
        if engine.stats().duplicates_ignored > duplicates {
            notes.push("an event with this id was applied already: ignored".to_string());
        } else {
            notes.extend(transition(
                &engine,
                e,
                before.as_ref(),
                after.as_ref(),
                &out,
            ));
            notes.extend(resolution(before_res.as_ref(), after_res.as_ref(), &out));
            notes.extend(out.iter().filter_map(|f| match f {
                SlaFact::Correction(c) => Some(format!(
                    "takes back the {} {} announced earlier: the event arrived late",
                    c.corrects_kind, c.corrects_fact_id
                )),
                _ => None,
            }));
        }
        entries.push(Entry {
            at: e.at(),
            what: describe(e),
            notes,
        });
        facts.extend(out);
    }
    for f in engine.advance(until) {
        entries.push(timer_entry(&f));
        facts.push(f);
    }
    Explanation {
        key: key.to_string(),
        versions: versions
            .iter()
            .map(|(t, p)| (*t, p.version.clone()))
            .collect(),
        entries,
        facts,
        open_clock: engine.clock(key, until),
        open_resolution: engine.resolution_clock(key, until),
        until,
    }
}

/// A duration as people read it: `1h 5m 3s`, whole seconds.
pub fn duration(ms: i64) -> String {
    let secs = (ms.max(0) + 500) / 1000;
    if secs == 0 {
        return "0s".into();
    }
    humantime::format_duration(std::time::Duration::from_secs(secs as u64)).to_string()
}

fn target(t: &Target) -> String {
    let basis = match t.basis {
        Basis::Calendar => "calendar time",
        Basis::Business => "business time",
    };
    format!("{} in {basis}", duration(t.ms))
}

fn describe(e: &Event) -> String {
    let id = e.id();
    match &e.payload {
        Payload::CustomerMessage { customer_tier, .. } => match customer_tier {
            Some(t) => format!("customer message {id} (tier {t})"),
            None => format!("customer message {id}"),
        },
        Payload::ReplySent {
            author,
            visibility,
            agent_id,
            ..
        } => {
            let by = agent_id
                .as_ref()
                .map(|a| format!(" by {a}"))
                .unwrap_or_default();
            format!("{author} {visibility} reply {id}{by}")
        }
        Payload::StatusChanged(s) => format!("status {s} ({id})"),
        Payload::AssignmentChanged { queue, agent_id } => {
            let mut parts = Vec::new();
            if let Some(q) = queue {
                parts.push(format!("queue {q}"));
            }
            if let Some(a) = agent_id {
                parts.push(format!("agent {a}"));
            }
            format!("assigned to {} ({id})", parts.join(", "))
        }
        Payload::PriorityChanged(p) => format!("priority {p} ({id})"),
        Payload::Merged { from, waiting } => match waiting {
            Some((since, message)) => format!(
                "merged from {from}, whose customer was waiting since {since} ({message}) ({id})"
            ),
            None => format!("merged from {from} ({id})"),
        },
    }
}

fn due_list(c: &ClockView) -> String {
    let due: Vec<String> = c
        .due
        .iter()
        .map(|(t, f)| {
            if *f >= 1.0 {
                format!("breach at {t}")
            } else {
                format!("{:.0}% warning at {t}", f * 100.0)
            }
        })
        .collect();
    if due.is_empty() {
        "no timer left to fire".into()
    } else {
        format!("due: {}", due.join(", "))
    }
}

fn counted(c: &ClockView) -> String {
    format!(
        "counted {} calendar, {} business",
        duration(c.calendar_ms),
        duration(c.business_ms)
    )
}

/// What a clock is called: "first reply clock", "resolution clock".
fn clock_name(kind: ReplyKind) -> String {
    match kind {
        ReplyKind::Resolution => "resolution clock".into(),
        k => format!("{k} reply clock"),
    }
}

/// What a target is called: "first reply target", "resolution target".
fn target_name(kind: ReplyKind) -> String {
    match kind {
        ReplyKind::Resolution => "resolution target".into(),
        k => format!("{k} reply target"),
    }
}

/// The notes for a clock that starts: its version, target and timers.
fn starts(a: &ClockView) -> [String; 2] {
    [
        format!(
            "{} starts under {}: target {}",
            clock_name(a.kind),
            a.policy.version,
            target(&a.target)
        ),
        due_list(a),
    ]
}

/// The closed hours between a clock's start and its end, when there are any.
fn closed_hours(c: &ClockView, from: EventTime, to: EventTime) -> Option<String> {
    let closed = c.policy.calendar.closed_within(from, to);
    if closed.is_empty() {
        return None;
    }
    let tz = c.policy.calendar.time_zone();
    let local = |t: EventTime| {
        t.to_datetime()
            .with_timezone(&tz)
            .format("%a %d %b %H:%M")
            .to_string()
    };
    let spans: Vec<String> = closed
        .iter()
        .map(|(a, b)| format!("{} to {}", local(*a), local(*b)))
        .collect();
    Some(format!(
        "outside business hours ({tz}), not business time: {}",
        spans.join("; ")
    ))
}

/// The notes for a measurement: what was counted against which target, and the closed hours
/// left out of business time.
fn measurement(lead: &str, c: &ClockView, l: &pronto_domain::ReplyLatency) -> Vec<String> {
    let mut notes = vec![format!(
        "{lead} {} calendar, {} business; target {} under {}: {}",
        duration(l.calendar_ms),
        duration(l.business_ms),
        target(&c.target),
        l.policy_version,
        if l.met { "met" } else { "missed" }
    )];
    notes.extend(closed_hours(c, l.customer_at, l.replied_at));
    notes
}

/// What an event did to the conversation's resolution clock.
fn resolution(
    before: Option<&ClockView>,
    after: Option<&ClockView>,
    out: &[SlaFact],
) -> Vec<String> {
    let mut notes = Vec::new();
    let measured = out.iter().find_map(|f| match f {
        SlaFact::Latency(l) if l.kind == ReplyKind::Resolution => Some(l),
        _ => None,
    });
    match (before, after) {
        (None, Some(a)) => notes.extend(starts(a)),
        (Some(b), Some(a)) if b.id == a.id => match (b.running_since, a.running_since) {
            (Some(_), None) => notes.push(format!(
                "resolution clock paused: this status stops it under {}; {}",
                a.policy.version,
                counted(a)
            )),
            (None, Some(_)) => {
                notes.push(format!("resolution clock resumes; {}", counted(a)));
                notes.push(due_list(a));
            }
            _ => {}
        },
        (Some(b), _) => {
            if let Some(l) = measured {
                notes.extend(measurement("resolved: took", b, l));
            }
            if let Some(a) = after {
                notes.extend(starts(a));
            }
        }
        (None, None) => {}
    }
    notes
}

/// What an event did to the conversation's clock.
fn transition(
    engine: &Engine,
    e: &Event,
    before: Option<&ClockView>,
    after: Option<&ClockView>,
    out: &[SlaFact],
) -> Vec<String> {
    let mut notes = Vec::new();
    let version = |c: &ClockView| c.policy.version.clone();
    match (before, after) {
        (None, Some(a)) => notes.extend(starts(a)),
        (Some(b), Some(a)) if b.id == a.id => match (b.running_since, a.running_since) {
            (Some(_), None) => notes.push(format!(
                "{} paused: this status stops it under {}; {}",
                clock_name(a.kind),
                version(a),
                counted(a)
            )),
            (None, Some(_)) => {
                notes.push(format!("{} resumes; {}", clock_name(a.kind), counted(a)));
                notes.push(due_list(a));
            }
            _ => match &e.payload {
                Payload::ReplySent {
                    author, visibility, ..
                } => {
                    let why = if *author != AuthorKind::Human {
                        "bot replies do not count"
                    } else if *visibility != Visibility::Public {
                        "private notes do not count"
                    } else {
                        "it does not count"
                    };
                    notes.push(format!(
                        "does not stop the clock: {why} under {}",
                        version(a)
                    ));
                }
                Payload::CustomerMessage { .. } => notes.push(format!(
                    "the clock keeps running from the first unanswered message ({} at {})",
                    a.customer_event_id, a.customer_at
                )),
                Payload::PriorityChanged(_) | Payload::AssignmentChanged { .. } => notes.push(
                    "the running clock keeps its target; the next clock is chosen with this".into(),
                ),
                Payload::StatusChanged(_) => notes.push(format!("clock unchanged; {}", counted(a))),
                Payload::Merged { .. } => notes.push(
                    "this conversation's own wait stays (older, paused or already announced)"
                        .into(),
                ),
            },
        },
        (Some(_), Some(a)) if matches!(e.payload, Payload::Merged { .. }) => {
            notes.push(format!(
                "the merged conversation's customer waited longer: the clock now counts from {} at {}",
                a.customer_event_id, a.customer_at
            ));
            notes.extend(starts(a));
        }
        (Some(b), _) => {
            let measured = out.iter().find_map(|f| match f {
                SlaFact::Latency(l) if l.kind != ReplyKind::Resolution => Some(l),
                _ => None,
            });
            if let Some(l) = measured {
                let lead = format!("{} stops: waited", clock_name(l.kind));
                notes.extend(measurement(&lead, b, l));
            } else {
                notes.push(format!(
                    "clock closed without a reply: the conversation is {}; nothing is owed",
                    match &e.payload {
                        Payload::StatusChanged(s) => s.to_string(),
                        _ => "closed".into(),
                    }
                ));
            }
            if let Some(a) = after {
                notes.extend(starts(a));
            }
        }
        (None, None) => {
            let policy = engine.policies().in_force(e.at());
            match &e.payload {
                Payload::ReplySent { .. } => {
                    notes.push("no clock running: nothing was waiting for a reply".into())
                }
                Payload::StatusChanged(s) if policy.pauses(*s) => {
                    notes.push("no clock running; a clock started now would be paused".into())
                }
                _ => notes.push("no clock running".into()),
            }
        }
    }
    notes
}

fn timer_entry(f: &SlaFact) -> Entry {
    let (what, note) = match f {
        SlaFact::Warning(w) => (
            format!(
                "warning: {:.0}% of the {}",
                w.fraction * 100.0,
                target_name(w.kind)
            ),
            format!(
                "{} of {} reached without a reply, under {}",
                duration((w.target_ms as f64 * w.fraction).round() as i64),
                duration(w.target_ms),
                w.policy_version
            ),
        ),
        SlaFact::Breach(b) => (
            format!("breach of the {}", target_name(b.kind)),
            format!(
                "the {} target ran out: waiting since {} ({}) with no reply, under {}",
                duration(b.target_ms),
                b.customer_at,
                b.customer_event_id,
                b.policy_version
            ),
        ),
        SlaFact::Latency(l) => (
            format!("{} measured", clock_name(l.kind)),
            format!("{} calendar", duration(l.calendar_ms)),
        ),
        SlaFact::Correction(c) => (
            format!("correction of {}", c.corrects_fact_id),
            c.reason.clone(),
        ),
    };
    Entry {
        at: f.at(),
        what,
        notes: vec![note],
    }
}

impl Explanation {
    /// The conversation as it stood at `until`: the version in force, every open clock
    /// (policy version, counted time, what it has announced and what is next), and the
    /// verdicts announced until then.
    pub fn as_of(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(out, "conversation {} at {}", self.key, self.until);
        if let Some((_, v)) = self.versions.iter().rev().find(|(t, _)| *t <= self.until) {
            let _ = writeln!(out, "policy in force: {v}");
        } else if let Some((_, v)) = self.versions.first() {
            let _ = writeln!(out, "policy in force: {v} (the first version)");
        }
        let clocks: Vec<&ClockView> = [&self.open_clock, &self.open_resolution]
            .into_iter()
            .flatten()
            .collect();
        if clocks.is_empty() {
            let _ = writeln!(out, "no clock open");
        }
        for c in clocks {
            let fired: Vec<String> = c
                .fired
                .iter()
                .map(|f| {
                    if *f >= 1.0 {
                        "the breach".into()
                    } else {
                        format!("the {:.0}% warning", f * 100.0)
                    }
                })
                .collect();
            let _ = writeln!(
                out,
                "{}: open since {} ({}) under {}, {}; {}; target {}",
                clock_name(c.kind),
                c.customer_at,
                c.customer_event_id,
                c.policy.version,
                if c.running_since.is_some() {
                    "running"
                } else {
                    "paused"
                },
                counted(c),
                target(&c.target)
            );
            let _ = writeln!(
                out,
                "  announced: {}; {}",
                if fired.is_empty() {
                    "nothing yet".to_string()
                } else {
                    fired.join(", ")
                },
                due_list(c)
            );
        }
        let _ = writeln!(out, "verdicts until then: {}", self.facts.len());
        for f in &self.facts {
            let (what, version) = match f {
                SlaFact::Latency(l) => (
                    format!(
                        "{} measured: {} calendar, {} business, {}",
                        clock_name(l.kind),
                        duration(l.calendar_ms),
                        duration(l.business_ms),
                        if l.met { "met" } else { "missed" }
                    ),
                    &l.policy_version,
                ),
                SlaFact::Warning(w) => (
                    format!(
                        "{:.0}% warning of the {}",
                        w.fraction * 100.0,
                        target_name(w.kind)
                    ),
                    &w.policy_version,
                ),
                SlaFact::Breach(b) => (
                    format!("breach of the {}", target_name(b.kind)),
                    &b.policy_version,
                ),
                SlaFact::Correction(c) => (
                    format!("correction of {} {}", c.corrects_kind, c.corrects_fact_id),
                    &c.policy_version,
                ),
            };
            let _ = writeln!(out, "  {}  {what} ({}, {version})", f.at(), f.fact_id());
        }
        out
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "conversation {}", self.key)?;
        for (t, v) in &self.versions {
            if t.millis() == i64::MIN {
                writeln!(f, "policy {v}: in force throughout")?;
            } else {
                writeln!(f, "policy {v}: takes over at {t}")?;
            }
        }
        writeln!(f)?;
        for e in &self.entries {
            writeln!(f, "{}  {}", e.at, e.what)?;
            for n in &e.notes {
                writeln!(f, "{:width$}  {n}", "", width = e.at.to_string().len())?;
            }
        }
        writeln!(f)?;
        if self.open_clock.is_none() && self.open_resolution.is_none() {
            return writeln!(f, "at {}: no clock open", self.until);
        }
        for c in [&self.open_clock, &self.open_resolution]
            .into_iter()
            .flatten()
        {
            writeln!(
                f,
                "at {}: {} open since {} under {}, {}; {}; target {}",
                self.until,
                clock_name(c.kind),
                c.customer_at,
                c.policy.version,
                if c.running_since.is_some() {
                    "running"
                } else {
                    "paused"
                },
                counted(c),
                target(&c.target)
            )?;
        }
        Ok(())
    }
}
