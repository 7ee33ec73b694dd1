//! Replay: every derived fact of a period recomputed from its input events, the way the live
//! services compute them (one SLA engine per partition, the policy versions in force, the
//! same tagging and escalation rules), and a digest of the result. Pure: the caller reads
//! the events (from the topics, or from an exported file) and hands them over.
//!
//! The digest is SHA-256 over every fact, sorted by kind and id, each as its protobuf
//! encoding: it does not depend on the order facts were produced in, so two replays of the
//! same events agree, and so does any run that derived the same facts.

use pronto_domain::{EscalationFact, Event, EventTime, SentimentTag, SlaFact};
use pronto_escalation::{Escalator, RuleSet};
use pronto_reporting::{Query, ReadModel, Report};
use pronto_sentiment::Model;
use pronto_sla::{Engine, PolicyVersions};
use prost::Message as _;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};

/// What a replay derived.
pub struct Replay {
    pub events: u64,
    /// The event time the replay was carried to at the end.
    pub until: EventTime,
    pub sla: Vec<SlaFact>,
    pub tags: Vec<SentimentTag>,
    pub escalations: Vec<EscalationFact>,
    model: ReadModel,
}

/// What the escalation service knew beyond the events: its rules version, when that took
/// effect, and the acknowledgements and resolutions people made (which stop ladders).
#[derive(Debug, Clone, Default)]
pub struct EscalationInputs {
    pub rules: RuleSet,
    pub effective_from: Option<EventTime>,
    /// (escalation id, when acknowledged or resolved).
    pub stops: Vec<(String, EventTime)>,
}

/// Settings of a replay.
pub struct Settings<'a> {
    pub policies: &'a PolicyVersions,
    pub allowed_lateness_ms: i64,
    /// As the SLA engine's correction window (`None`: none).
    pub correction_window_ms: Option<i64>,
    pub sentiment: &'a dyn Model,
    /// Event time to advance every engine to at the end, so the period's timers fire; the
    /// last event's time plus the allowed lateness when `None`.
    pub until: Option<EventTime>,
    pub escalation: &'a EscalationInputs,
}

/// Replays `events`, each with the partition it was read from, in log order per partition.
pub fn replay(events: impl IntoIterator<Item = (i32, Event)>, s: &Settings<'_>) -> Replay {
    let mut engines: BTreeMap<i32, Engine> = BTreeMap::new();
    let mut escalator = Escalator::new(s.escalation.rules.clone())
        .with_effective_from(s.escalation.effective_from.unwrap_or(EventTime(i64::MIN)));
    for (id, at) in &s.escalation.stops {
        escalator.stop(id, *at);
    }
    let mut run = Run {
        escalator,
        raised: HashSet::new(),
        out: Replay {
            events: 0,
            until: EventTime(i64::MIN),
            sla: Vec::new(),
            tags: Vec::new(),
            escalations: Vec::new(),
            model: ReadModel::new(),
        },
    };
    let mut last = EventTime(i64::MIN);
    for (partition, event) in events {
        run.out.events += 1;
        last = last.max(event.at());
        run.out.model.apply_event(&event);
        let esc = run.escalator.on_event(&event);
        run.escalate(esc);
        if let Some(t) = pronto_sentiment_service::tag(s.sentiment, &event) {
            run.out.model.apply_tag(&t);
            let esc = run.escalator.on_tag(&t);
            run.escalate(esc);
            run.out.tags.push(t);
        }
        let engine = engines.entry(partition).or_insert_with(|| {
            Engine::with_versions(s.policies.clone(), s.allowed_lateness_ms)
                .with_correction_window(s.correction_window_ms)
        });
        run.sla(engine.apply_owned(event));
    }
    let until = s.until.unwrap_or(EventTime(
        last.millis().saturating_add(s.allowed_lateness_ms),
    ));
    for engine in engines.values_mut() {
        run.sla(engine.advance(until));
    }
    let climbed = run.escalator.advance(until);
    run.escalate(climbed);
    run.out.until = until;
    run.out
}

/// A replay under way.
struct Run {
    escalator: Escalator,
    raised: HashSet<String>,
    out: Replay,
}

impl Run {
    fn sla(&mut self, facts: Vec<SlaFact>) {
        for f in facts {
            self.out.model.apply_sla(&f);
            let esc = self.escalator.on_sla(&f);
            self.escalate(esc);
            self.out.sla.push(f);
        }
    }

    /// Keeps each escalation fact the first time it comes, as the live service does.
    fn escalate(&mut self, facts: Vec<EscalationFact>) {
        for f in facts {
            if !self.raised.insert(f.fact_id()) {
                continue;
            }
            match &f {
                EscalationFact::Raised(r) => self.out.model.apply_escalation(r),
                EscalationFact::Withdrawn(w) => self.out.model.apply_withdrawal(&w.escalation_id),
            }
            self.out.escalations.push(f);
        }
    }
}

impl Replay {
    /// Sets who works each queue and agent, for reports by outsourcer.
    pub fn set_outsourcers(&mut self, outsourcers: pronto_reporting::Outsourcers) {
        self.model.set_outsourcers(outsourcers);
    }

    /// The report of what was replayed.
    pub fn report(&self, q: &Query) -> Report {
        self.model.report(q)
    }

    /// SHA-256 over every derived fact, sorted by kind and id, each as its protobuf bytes.
    ///
    /// Computed as [`digest`] computes it over [`entries`], without holding every encoding at
    /// once: the facts are put in order by reference and encoded one at a time.
    pub fn digest(&self) -> String {
        enum Fact<'a> {
            Sla(&'a SlaFact),
            Tag(&'a SentimentTag),
            Escalation(&'a EscalationFact),
        }
        let escalation_ids: Vec<String> = self
            .escalations
            .iter()
            .map(EscalationFact::fact_id)
            .collect();
        let mut facts: Vec<(&str, &str, Fact<'_>)> =
            Vec::with_capacity(self.sla.len() + self.tags.len() + self.escalations.len());
        facts.extend(self.sla.iter().map(|f| ("sla", f.fact_id(), Fact::Sla(f))));
        facts.extend(
            self.tags
                .iter()
                .map(|t| ("tag", t.fact_id.as_str(), Fact::Tag(t))),
        );
        facts.extend(
            self.escalations
                .iter()
                .zip(&escalation_ids)
                .map(|(e, id)| ("escalation", id.as_str(), Fact::Escalation(e))),
        );
        // Stable, so that of two facts with one id the first is kept, as `entries` keeps it.
        facts.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        facts.dedup_by(|b, a| (a.0, a.1) == (b.0, b.1));
        let mut h = Sha256::new();
        let mut buf = Vec::new();
        for (kind, id, fact) in facts {
            buf.clear();
            match fact {
                Fact::Sla(f) => pronto_proto::sla_fact_to_pb(f).encode(&mut buf),
                Fact::Tag(t) => pronto_proto::tag_to_pb(t).encode(&mut buf),
                Fact::Escalation(e) => pronto_proto::escalation_fact_to_pb(e).encode(&mut buf),
            }
            .expect("a Vec grows to take any message");
            hash_entry(&mut h, kind, id, &buf);
        }
        format!("sha256:{}", hex::encode(h.finalize()))
    }

    /// The facts as [`entries`] keys them.
    pub fn entries(&self) -> Entries {
        entries(&self.sla, &self.tags, &self.escalations)
    }
}

/// Facts keyed by kind (`sla`, `tag`, `escalation`) and id, each as its protobuf bytes: what a
/// digest is taken over. A fact delivered twice is one entry (the first).
pub type Entries = BTreeMap<(&'static str, String), Vec<u8>>;

/// The entries of a set of facts, derived by a replay or read back from the topics.
pub fn entries(sla: &[SlaFact], tags: &[SentimentTag], escalations: &[EscalationFact]) -> Entries {
    let mut out = Entries::new();
    for f in sla {
        out.entry(("sla", f.fact_id().to_string()))
            .or_insert_with(|| pronto_proto::sla_fact_to_pb(f).encode_to_vec());
    }
    for t in tags {
        out.entry(("tag", t.fact_id.clone()))
            .or_insert_with(|| pronto_proto::tag_to_pb(t).encode_to_vec());
    }
    for e in escalations {
        out.entry(("escalation", e.fact_id()))
            .or_insert_with(|| pronto_proto::escalation_fact_to_pb(e).encode_to_vec());
    }
    out
}

fn hash_entry(h: &mut Sha256, kind: &str, id: &str, bytes: &[u8]) {
    for part in [kind.as_bytes(), id.as_bytes(), bytes] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
}

/// SHA-256 over the entries in order, each part length-prefixed.
pub fn digest(entries: &Entries) -> String {
    let mut h = Sha256::new();
    for ((kind, id), bytes) in entries {
        hash_entry(&mut h, kind, id, bytes);
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// How two sets of entries differ: ids only in `a`, only in `b`, and in both with different
/// content, each as `kind id`.
pub fn differences(a: &Entries, b: &Entries) -> (Vec<String>, Vec<String>, Vec<String>) {
    let name = |(kind, id): &(&str, String)| format!("{kind} {id}");
    let only_a = a.keys().filter(|k| !b.contains_key(*k)).map(name).collect();
    let only_b = b.keys().filter(|k| !a.contains_key(*k)).map(name).collect();
    let changed = a
        .iter()
        .filter(|(k, v)| b.get(*k).is_some_and(|w| w != *v))
        .map(|(k, _)| name(k))
        .collect();
    (only_a, only_b, changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pronto_sim::{SimConfig, generate};
    use std::sync::Arc;

    fn run(events: &[Event], partitions: i32) -> Replay {
        let policies = PolicyVersions::single(Arc::new(pronto_sla::Policy::builtin()));
        let lexicon = pronto_sentiment::Lexicon;
        let s = Settings {
            policies: &policies,
            allowed_lateness_ms: 500,
            correction_window_ms: Some(pronto_sla::DEFAULT_CORRECTION_WINDOW_MS),
            sentiment: &lexicon,
            until: None,
            escalation: &EscalationInputs::default(),
        };
        // Partition by conversation, as the topic's key does.
        let part = |e: &Event| {
            let key = e.key();
            (key.as_str().bytes().map(u32::from).sum::<u32>() % partitions as u32) as i32
        };
        replay(events.iter().map(|e| (part(e), e.clone())), &s)
    }

    #[test]
    fn the_same_events_give_the_same_digest_however_partitioned() {
        let events = generate(&SimConfig {
            seed: 5,
            conversations: 200,
            ..SimConfig::default()
        });
        let a = run(&events, 3);
        let b = run(&events, 3);
        assert_eq!(a.digest(), b.digest());
        // Streamed or from the entries, one digest.
        assert_eq!(a.digest(), digest(&a.entries()));
        assert!(!a.sla.is_empty() && !a.tags.is_empty() && !a.escalations.is_empty());
        // Engines hold conversations apart, so one partition or many derive the same facts.
        assert_eq!(a.digest(), run(&events, 1).digest());
        // A period with one event fewer is another period.
        assert_ne!(a.digest(), run(&events[..events.len() - 1], 3).digest());
        let r = a.report(&Query::default());
        assert_eq!(
            r.total.customer_messages as usize,
            events
                .iter()
                .filter(|e| matches!(e.payload, pronto_domain::Payload::CustomerMessage { .. }))
                .count()
        );
    }
}
