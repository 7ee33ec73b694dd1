//! Replay: every derived fact of a period recomputed from its input events, the way the live
//! services compute them (one SLA engine per partition, the policy versions in force, the
//! same tagging and escalation rules), and a digest of the result. Pure: the caller reads
//! the events (from the topics, or from an exported file) and hands them over.
//!
//! The digest is SHA-256 over every fact, sorted by kind and id, each as its kind, its id and
//! the SHA-256 of its protobuf encoding: it does not depend on the order facts were produced
//! in, so two replays of the same events agree, and so does any run that derived the same
//! facts.

pub mod compact;
mod instant;
mod kept;

pub use kept::{Derived, KeptFact};

use pronto_domain::{
    BoundedText, EscalationFact, Event, EventTime, Payload, SentimentTag, SlaFact,
};
use pronto_escalation::{Escalator, RuleSet};
use pronto_proto::Refill;
use pronto_reporting::{Query, ReadModel, Report};
use pronto_sentiment::Model;
use pronto_sla::{Engine, PolicyVersions};
use prost::Message as _;
use rustc_hash::FxHashSet;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a replay derived.
pub struct Replay {
    pub events: u64,
    /// The event time the replay was carried to at the end.
    pub until: EventTime,
    /// Every fact derived, as its digest entry.
    facts: kept::Kept,
    model: ReadModel,
    /// The escalation rules' state and the escalation facts kept (by their ids' bits,
    /// [`pronto_domain::id_bits`]), kept with the facts so that a caller who leaves the replay
    /// to the operating system at exit leaves these too.
    escalator: Escalator,
    raised: FxHashSet<u128>,
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
    /// About how many events will come (an export file's header says), if known: room is
    /// made for their state and facts up front. Only the speed depends on it.
    pub expected_events: Option<u64>,
    /// Keep each fact's protobuf encoding, so that [`Replay::facts`] gives them back (what
    /// a replay checks and reports needs only their digests).
    pub keep_encodings: bool,
}

/// One event with what the SLA engines and the tagging derived from it, handed from the
/// first stage of a replay to the second.
struct Step {
    /// The event without its text.
    event: Event,
    /// The event's text, when the second stage is to tag the event; else empty.
    text: BoundedText,
    /// Whether the first stage tagged the event: its tag is the batch's next.
    tagged: bool,
    /// How many of the batch's SLA facts came with the event, next in line.
    sla: usize,
}

/// Steps handed over together, with the SLA facts and tags of all of them in order: one
/// allocation for a batch's facts rather than one per event, and steps half the size they
/// would be with a tag in each (a step is written by one thread, read by the other, and
/// read again when dropped, one cache line after another).
struct Batch {
    steps: Vec<Step>,
    sla: Vec<SlaFact>,
    /// The tags the first stage made, in the order of their steps.
    tags: Vec<SentimentTag>,
    /// The digest's hash of each SLA fact, when the first stage worked them out (it does
    /// while the second stage is behind, so that the two stages' work comes out even); else
    /// empty, and the second stage hashes them.
    sla_hashes: Vec<[u8; 32]>,
    /// Whether the first stage tagged the events (it does while the second stage has no time
    /// to spare); else each step carries its event's text and the second stage tags it.
    tagged: bool,
}

impl Batch {
    fn new() -> Self {
        Self {
            steps: Vec::with_capacity(BATCH),
            sla: Vec::with_capacity(BATCH),
            tags: Vec::with_capacity(BATCH),
            sla_hashes: Vec::with_capacity(BATCH),
            tagged: true,
        }
    }

    /// An empty batch, to be `tagged` here or not: one the second stage is done with, its
    /// contents dropped here (by the thread that made them, which frees memory fastest),
    /// else a new one.
    fn next(done: &std::sync::mpsc::Receiver<Batch>, tagged: bool) -> Self {
        let mut b = match done.try_recv() {
            Ok(mut b) => {
                b.steps.clear();
                b.sla.clear();
                b.tags.clear();
                b.sla_hashes.clear();
                b
            }
            Err(_) => Self::new(),
        };
        b.tagged = tagged;
        b
    }
}

/// What the first stage hands over: a batch of steps, or at the end the facts of the final
/// advance and the time advanced to.
enum Handed {
    Steps(Batch),
    End(Vec<SlaFact>, EventTime),
}

/// Steps handed over at once: enough that the handing costs little per event.
const BATCH: usize = 512;

/// Batches waiting for the second stage beyond which it is taken to be behind (of the 16
/// the hand-over holds).
const BEHIND: usize = 4;

/// Batches waiting for the second stage up to which it is taken to have time to spare: the
/// first stage then leaves the tagging of the next batch to it. Which stage tags an event
/// changes only the time its tag is made, not the tag.
const SPARE: usize = 2;

/// Replays `events`, each with the partition it was read from, in log order per partition.
///
/// Two stages, each on a thread of its own: the first runs the SLA engines (one per partition)
/// and the tagging; the second the escalation rules and the read model, which take each event,
/// then its tag, then its SLA facts, in the order the events come. The order each fact is
/// derived in is the same as on one thread; only the time differs. The tagging of a batch of
/// events, a fifth of the first stage's work, goes to the second stage whenever that one has
/// time to spare, so that the two stages' work comes out even.
pub fn replay(events: impl IntoIterator<Item = (i32, Event)>, s: &Settings<'_>) -> Replay {
    replay_tagging(events, s, Tagging::Even)
}

/// Which stage tags the events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tagging {
    /// Whichever has time to spare, batch by batch.
    Even,
    /// Always the first (for tests).
    #[cfg_attr(not(test), allow(dead_code))]
    First,
    /// Always the second (for tests).
    #[cfg_attr(not(test), allow(dead_code))]
    Second,
}

impl Tagging {
    /// Whether the first stage tags the next batch, with `waiting` batches waiting for the
    /// second.
    fn first(self, waiting: usize) -> bool {
        match self {
            Tagging::Even => waiting > SPARE,
            Tagging::First => true,
            Tagging::Second => false,
        }
    }
}

fn replay_tagging(
    events: impl IntoIterator<Item = (i32, Event)>,
    s: &Settings<'_>,
    tagging: Tagging,
) -> Replay {
    let mut escalator = Escalator::new(s.escalation.rules.clone())
        .with_effective_from(s.escalation.effective_from.unwrap_or(EventTime(i64::MIN)));
    for (id, at) in &s.escalation.stops {
        escalator.stop(id, *at);
    }
    let mut run = Run {
        out: Replay {
            events: 0,
            until: EventTime(i64::MIN),
            facts: kept::Kept::new(s.keep_encodings),
            model: ReadModel::new(),
            escalator,
            raised: FxHashSet::default(),
        },
    };
    let expected = s
        .expected_events
        .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
    // About a conversation per four events in the simulated sample.
    let expected_conversations = expected / 4;
    run.out.model.reserve(expected);
    run.out.escalator.reserve(expected_conversations);
    // About an escalation per four events in the simulated sample.
    run.out.raised.reserve(expected / 4);
    // About 1.6 facts per event in the simulated sample.
    run.out.facts.reserve(expected.saturating_mul(17) / 10);
    // Batches handed over and not yet taken: more than a few, and the second stage is the
    // slower one.
    let waiting = &AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Handed>(16);
        // Batches the second stage is done with come back, to be emptied and filled again.
        let (done_tx, done) = std::sync::mpsc::channel::<Batch>();
        let sentiment = s.sentiment;
        let second = scope.spawn(move || run.second_stage(rx, done_tx, waiting, sentiment));
        let mut hash_here = false;
        let mut engines: BTreeMap<i32, Engine> = BTreeMap::new();
        let mut last = EventTime(i64::MIN);
        // The second stage has nothing to do yet.
        let mut batch = Batch::new();
        batch.tagged = tagging.first(0);
        let mut encoder = Encoder::default();
        for (partition, mut event) in events {
            last = last.max(event.at());
            let tag = if batch.tagged {
                pronto_sentiment::tag(s.sentiment, &event)
            } else {
                None
            };
            let mut text = take_text(&mut event);
            if batch.tagged {
                text = BoundedText::default();
            }
            let engine = engines.entry(partition).or_insert_with(|| {
                // Room for all the conversations expected, in case this partition has them
                // all: what a partition leaves unused costs little (its vector's is never
                // touched).
                Engine::with_versions(s.policies.clone(), s.allowed_lateness_ms)
                    .with_correction_window(s.correction_window_ms)
                    .with_capacity(expected_conversations)
            });
            let before = batch.sla.len();
            engine.apply_into(&event, &mut batch.sla);
            let sla = batch.sla.len() - before;
            if hash_here {
                for f in &batch.sla[before..] {
                    batch.sla_hashes.push(encoder.hash(&Fact::Sla(f)));
                }
            }
            let tagged = tag.is_some();
            batch.tags.extend(tag);
            batch.steps.push(Step {
                event,
                text,
                tagged,
                sla,
            });
            if batch.steps.len() == BATCH {
                let tag_here = tagging.first(waiting.load(Ordering::Relaxed));
                let full = std::mem::replace(&mut batch, Batch::next(&done, tag_here));
                waiting.fetch_add(1, Ordering::Relaxed);
                if tx.send(Handed::Steps(full)).is_err() {
                    break;
                }
                hash_here = waiting.load(Ordering::Relaxed) > BEHIND;
            }
        }
        let until = s.until.unwrap_or(EventTime(
            last.millis().saturating_add(s.allowed_lateness_ms),
        ));
        let mut tail = Vec::new();
        for engine in engines.values_mut() {
            tail.extend(engine.advance(until));
        }
        // A send fails only if the second stage has ended, which its join below reports.
        let _ = tx.send(Handed::Steps(batch));
        let _ = tx.send(Handed::End(tail, until));
        drop(tx);
        // While the second stage finishes, the memory of the engines and of the batches it
        // hands back is freed here.
        drop(engines);
        for batch in done {
            drop(batch);
        }
        second
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// The words of the event's message, taken out of it: only the tagging reads them, while the
/// SLA engine keeps a copy of each event until its turn comes, and the second stage holds
/// them in batches.
fn take_text(event: &mut Event) -> BoundedText {
    match &mut event.payload {
        Payload::CustomerMessage { text, .. } | Payload::ReplySent { text, .. } => {
            std::mem::take(text)
        }
        _ => BoundedText::default(),
    }
}

/// The tag of `event`, whose text was taken out into `text`: put back for the while.
fn tag_with(model: &dyn Model, event: &mut Event, text: &mut BoundedText) -> Option<SentimentTag> {
    match &mut event.payload {
        Payload::CustomerMessage { text: t, .. } | Payload::ReplySent { text: t, .. } => {
            std::mem::swap(t, text);
        }
        _ => {}
    }
    let tag = pronto_sentiment::tag(model, event);
    *text = take_text(event);
    tag
}

/// A replay under way: the second stage's state.
struct Run {
    out: Replay,
}

impl Run {
    fn second_stage(
        mut self,
        rx: std::sync::mpsc::Receiver<Handed>,
        done: std::sync::mpsc::Sender<Batch>,
        waiting: &AtomicUsize,
        sentiment: &dyn Model,
    ) -> Replay {
        for handed in rx {
            match handed {
                Handed::Steps(mut batch) => {
                    waiting.fetch_sub(1, Ordering::Relaxed);
                    let hashed = batch.sla_hashes.len() == batch.sla.len();
                    let mut hashes = batch.sla_hashes.iter().copied();
                    let mut sla = batch
                        .sla
                        .iter()
                        .map(|f| (f, if hashed { hashes.next() } else { None }));
                    let mut tags = batch.tags.iter();
                    for step in &mut batch.steps {
                        let made_here;
                        let tag = if batch.tagged {
                            if step.tagged { tags.next() } else { None }
                        } else {
                            made_here = tag_with(sentiment, &mut step.event, &mut step.text);
                            made_here.as_ref()
                        };
                        self.step(&step.event, tag, sla.by_ref().take(step.sla));
                    }
                    // The first stage may have ended; then the batch is dropped here.
                    let _ = done.send(batch);
                }
                Handed::End(tail, until) => {
                    self.sla(tail.iter().map(|f| (f, None)));
                    let Replay {
                        escalator,
                        model,
                        facts,
                        raised,
                        ..
                    } = &mut self.out;
                    // The first stage has nothing left to do: on another thread, the keys of
                    // the facts kept so far are sorted for the digest, while here every
                    // ladder step due by the end is raised; then the steps are folded into
                    // the read model on another thread while this one keeps them.
                    let mut keys = facts.take_keys();
                    let mut due = Vec::new();
                    std::thread::scope(|scope| {
                        let sorter = scope.spawn(move || {
                            kept::sort_keys(&mut keys);
                            keys
                        });
                        escalator.advance_each(until, |f| {
                            if let Some(id) = first_time(raised, &f) {
                                due.push((id, f));
                            }
                        });
                        let due = &due;
                        scope.spawn(move || {
                            for (_, f) in due {
                                fold_escalation(model, f);
                            }
                        });
                        for (id, f) in due {
                            facts.keep(id, Fact::Escalation(f));
                        }
                        let sorted = sorter
                            .join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                        facts.put_sorted(sorted);
                    });
                    self.out.until = until;
                }
            }
        }
        self.out
    }

    /// One event, its tag and its SLA facts (each with its entry hash, if worked out).
    fn step<'a>(
        &mut self,
        event: &Event,
        tag: Option<&SentimentTag>,
        sla: impl Iterator<Item = (&'a SlaFact, Option<[u8; 32]>)>,
    ) {
        self.out.events += 1;
        self.out.model.apply_event(event);
        let esc = self.out.escalator.on_event(event);
        self.escalate(esc);
        if let Some(t) = tag {
            self.out.model.apply_tag(t);
            let esc = self.out.escalator.on_tag(t);
            self.escalate(esc);
            self.out.facts.keep(&t.fact_id, Fact::Tag(t));
        }
        self.sla(sla);
    }

    fn sla<'a>(&mut self, facts: impl IntoIterator<Item = (&'a SlaFact, Option<[u8; 32]>)>) {
        for (f, hash) in facts {
            self.out.model.apply_sla(f);
            let esc = self.out.escalator.on_sla(f);
            self.escalate(esc);
            self.out.facts.keep_hashed(f.fact_id(), Fact::Sla(f), hash);
        }
    }

    /// Keeps each escalation fact the first time it comes, as the live service does.
    fn escalate(&mut self, facts: Vec<EscalationFact>) {
        let Replay {
            model,
            facts: kept,
            raised,
            ..
        } = &mut self.out;
        for f in facts {
            keep_escalation(model, kept, raised, f);
        }
    }
}

/// Keeps escalation fact `f` and folds it into the read model, the first time it comes.
fn keep_escalation(
    model: &mut ReadModel,
    kept: &mut kept::Kept,
    raised: &mut FxHashSet<u128>,
    f: EscalationFact,
) {
    if let Some(id) = first_time(raised, &f) {
        fold_escalation(model, &f);
        kept.keep(&id, Fact::Escalation(&f));
    }
}

/// The id of escalation fact `f` the first time it comes (`raised` holds the bits of those
/// kept); `None` after.
fn first_time(raised: &mut FxHashSet<u128>, f: &EscalationFact) -> Option<String> {
    let id = f.fact_id();
    raised.insert(pronto_domain::id_bits(&id)).then_some(id)
}

/// Folds escalation fact `f` into the read model.
fn fold_escalation(model: &mut ReadModel, f: &EscalationFact) {
    match f {
        EscalationFact::Raised(r) => model.apply_escalation(r),
        EscalationFact::Withdrawn(w) => model.apply_withdrawal(&w.escalation_id),
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

    /// SHA-256 over every derived fact, sorted by kind and id, each as its kind, id and the
    /// SHA-256 of its protobuf bytes: as [`digest`] computes it over [`entries`].
    pub fn digest(&self) -> String {
        self.facts.digest()
    }

    /// The facts as [`entries`] keys them.
    pub fn entries(&self) -> Entries {
        self.facts.entries()
    }

    /// How many facts were derived: SLA facts, sentiment tags and escalations.
    pub fn counts(&self) -> Counts {
        let [escalations, sla, tags] = self.facts.counts();
        Counts {
            sla,
            tags,
            escalations,
        }
    }

    /// Every fact derived, in the order derived, as its kind, id and protobuf encoding (what
    /// the live services publish); `None` unless the settings asked to keep encodings.
    pub fn facts(&self) -> Option<impl Iterator<Item = KeptFact<'_>>> {
        self.facts.iter()
    }
}

/// How many facts of each kind a replay derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub sla: u64,
    pub tags: u64,
    pub escalations: u64,
}

/// The kinds of fact, in the order a digest takes them (as their names sort).
const KINDS: [&str; 3] = ["escalation", "sla", "tag"];

/// A derived fact.
enum Fact<'a> {
    Sla(&'a SlaFact),
    Tag(&'a SentimentTag),
    Escalation(&'a EscalationFact),
}

impl Fact<'_> {
    /// The fact's kind, as its index in [`KINDS`].
    fn kind(&self) -> u8 {
        match self {
            Fact::Escalation(_) => 0,
            Fact::Sla(_) => 1,
            Fact::Tag(_) => 2,
        }
    }

    /// Appends the fact's protobuf encoding to `buf`, through a fresh message (what
    /// [`Encoder`] does faster).
    #[cfg(test)]
    fn encode(&self, buf: &mut Vec<u8>) {
        match self {
            Fact::Sla(f) => pronto_proto::v1::SlaFact::from(*f).encode(buf),
            Fact::Tag(t) => pronto_proto::v1::SentimentTag::from(*t).encode(buf),
            Fact::Escalation(e) => pronto_proto::v1::EscalationEvent::from(*e).encode(buf),
        }
        .expect("a Vec grows to take any message");
    }
}

/// Encodes facts one after another, each through a protobuf message kept from the one before
/// and filled again (its strings keep their room): the bytes of a fresh message, without an
/// allocation for each string of each fact. One message for each kind of fact, so that a
/// latency after a breach fills the latency's strings of the latency before.
#[derive(Debug, Default)]
struct Encoder {
    bytes: Vec<u8>,
    /// Latencies, warnings, breaches and corrections.
    sla: [pronto_proto::v1::SlaFact; 4],
    tag: pronto_proto::v1::SentimentTag,
    /// Escalations raised and withdrawn.
    escalation: [pronto_proto::v1::EscalationEvent; 2],
}

impl Encoder {
    /// `fact`'s protobuf encoding.
    fn encode(&mut self, fact: &Fact<'_>) -> &[u8] {
        self.bytes.clear();
        match fact {
            Fact::Sla(f) => {
                let m = &mut self.sla[match f {
                    SlaFact::Latency(_) => 0,
                    SlaFact::Warning(_) => 1,
                    SlaFact::Breach(_) => 2,
                    SlaFact::Correction(_) => 3,
                }];
                m.refill(*f);
                m.encode(&mut self.bytes)
            }
            Fact::Tag(t) => {
                self.tag.refill(*t);
                self.tag.encode(&mut self.bytes)
            }
            Fact::Escalation(e) => {
                let m = &mut self.escalation[match e {
                    EscalationFact::Raised(_) => 0,
                    EscalationFact::Withdrawn(_) => 1,
                }];
                m.refill(*e);
                m.encode(&mut self.bytes)
            }
        }
        .expect("a Vec grows to take any message");
        &self.bytes
    }

    /// The SHA-256 of `fact`'s protobuf encoding, as a digest enters it.
    fn hash(&mut self, fact: &Fact<'_>) -> [u8; 32] {
        Sha256::digest(self.encode(fact)).into()
    }
}

/// Facts keyed by kind (`sla`, `tag`, `escalation`) and id, each as the SHA-256 of its
/// protobuf bytes: what a digest is taken over. A fact delivered twice is one entry (the
/// first).
pub type Entries = BTreeMap<(&'static str, String), [u8; 32]>;

/// The entries of a set of facts, derived by a replay or read back from the topics.
pub fn entries(sla: &[SlaFact], tags: &[SentimentTag], escalations: &[EscalationFact]) -> Entries {
    let facts = sla
        .iter()
        .map(|f| (f.fact_id().to_string(), Fact::Sla(f)))
        .chain(tags.iter().map(|t| (t.fact_id.clone(), Fact::Tag(t))))
        .chain(
            escalations
                .iter()
                .map(|e| (e.fact_id(), Fact::Escalation(e))),
        );
    let mut out = Entries::new();
    let mut encoder = Encoder::default();
    for (id, fact) in facts {
        out.entry((KINDS[usize::from(fact.kind())], id))
            .or_insert_with(|| encoder.hash(&fact));
    }
    out
}

fn hash_entry(h: &mut Sha256, kind: &str, id: &str, hash: &[u8; 32]) {
    for part in [kind.as_bytes(), id.as_bytes(), hash] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
}

/// SHA-256 over the entries in order: each entry's kind, id and hash, each after its length
/// (8 bytes, big-endian).
pub fn digest(entries: &Entries) -> String {
    let mut h = Sha256::new();
    for ((kind, id), hash) in entries {
        hash_entry(&mut h, kind, id, hash);
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
        run_with(events, partitions, None, true)
    }

    fn run_with(events: &[Event], partitions: i32, expected: Option<u64>, keep: bool) -> Replay {
        run_tagging(events, partitions, expected, keep, Tagging::Even)
    }

    fn run_tagging(
        events: &[Event],
        partitions: i32,
        expected: Option<u64>,
        keep: bool,
        tagging: Tagging,
    ) -> Replay {
        let policies = PolicyVersions::single(Arc::new(pronto_sla::Policy::builtin()));
        let lexicon = pronto_sentiment::Lexicon;
        let s = Settings {
            policies: &policies,
            allowed_lateness_ms: 500,
            correction_window_ms: Some(pronto_sla::DEFAULT_CORRECTION_WINDOW_MS),
            sentiment: &lexicon,
            until: None,
            escalation: &EscalationInputs::default(),
            expected_events: expected,
            keep_encodings: keep,
        };
        // Partition by conversation, as the topic's key does.
        let part = |e: &Event| {
            let key = e.key();
            (key.as_str().bytes().map(u32::from).sum::<u32>() % partitions as u32) as i32
        };
        replay_tagging(events.iter().map(|e| (part(e), e.clone())), &s, tagging)
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
        // Kept as encodings or read back into facts and keyed again, one digest.
        assert_eq!(a.digest(), digest(&a.entries()));
        let (mut sla, mut tags, mut escalations) = (Vec::new(), Vec::new(), Vec::new());
        for f in a.facts().expect("encodings kept") {
            // Each encoding, made through messages filled again fact after fact, is that of
            // a fresh message.
            let mut fresh = Vec::new();
            match f.decode().unwrap() {
                Derived::Sla(f) => {
                    Fact::Sla(&f).encode(&mut fresh);
                    sla.push(f);
                }
                Derived::Tag(t) => {
                    Fact::Tag(&t).encode(&mut fresh);
                    tags.push(t);
                }
                Derived::Escalation(e) => {
                    Fact::Escalation(&e).encode(&mut fresh);
                    escalations.push(e);
                }
            }
            assert_eq!(f.encoding, fresh, "{} {}", f.kind, f.id);
        }
        let counts = a.counts();
        assert!(counts.sla > 0 && counts.tags > 0 && counts.escalations > 0);
        assert_eq!(
            (sla.len(), tags.len(), escalations.len()),
            (
                counts.sla as usize,
                counts.tags as usize,
                counts.escalations as usize
            )
        );
        assert_eq!(a.digest(), digest(&entries(&sla, &tags, &escalations)));
        // Tagged by either stage, the same facts in the same order.
        for tagging in [Tagging::First, Tagging::Second] {
            let other = run_tagging(&events, 3, None, true, tagging);
            assert_eq!(a.digest(), other.digest());
            assert!(a.facts().unwrap().eq(other.facts().unwrap()), "{tagging:?}");
        }
        // Engines hold conversations apart, so one partition or many derive the same facts.
        assert_eq!(a.digest(), run(&events, 1).digest());
        // Room made for the events, or for far more or far fewer, derives the same.
        for expected in [events.len() as u64, 10 * events.len() as u64, 3] {
            let hinted = run_with(&events, 3, Some(expected), true);
            assert_eq!(a.digest(), hinted.digest());
            assert_eq!(
                a.report(&Query::default()),
                hinted.report(&Query::default())
            );
        }
        // Without the encodings, the same entries and digest, and no facts to read back.
        let bare = run_with(&events, 3, None, false);
        assert!(bare.facts().is_none());
        assert_eq!(a.entries(), bare.entries());
        assert_eq!(a.digest(), bare.digest());
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
