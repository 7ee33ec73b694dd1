//! The clock engine: folds interaction events, in event time, into SLA facts.
//!
//! Each conversation has a reply clock, from the first customer message still unanswered to
//! the next counted reply, and, where the policy sets a resolution target, a resolution clock
//! to solved. Timers for warnings and the breach fire when event time passes their instant;
//! each fires at most once per clock. The engine never reads the wall clock: live services
//! move time forward with [`Engine::advance`], replay moves it with the events.
//!
//! State is kept compact, since a partition may hold millions of open conversations: one slab
//! entry per conversation, its key stored once, queue and tier names interned, a clock's id
//! kept as its 128 bits and written out when a verdict needs it, and one pending timer per
//! running clock (the next one due), with superseded timers dropped lazily when they come up.

use crate::PolicyVersions;
use crate::journal::{Base, Entry, History, Journal, What};
use crate::policy::{Basis, Policy, Target};
use compact_str::CompactString;
use hashbrown::HashTable;
use pronto_domain::{
    AuthorKind, Channel, ConversationContext, ConversationKey, ConversationStatus, Event,
    EventTime, Interner, Name, Payload, Priority, ReplyKind, ReplyLatency, SlaBreach, SlaFact,
    SlaWarning, Visibility, digest128, fact_id, fact_id_of,
};
use rustc_hash::FxBuildHasher;
use smallvec::SmallVec;
use std::cmp::Reverse;
use std::collections::{HashSet, VecDeque};

/// The pending timers' queue. Four children a node: half the levels of a binary heap, whose
/// pops (one per timer fired) touch fewer cache lines.
type TimerQueue = dary_heap::QuaternaryHeap<Reverse<Timer>>;
use std::hash::BuildHasher;
use std::sync::Arc;

/// Which timer of a clock: a warning (index into `warn_at`) or the breach. The high bit marks
/// the resolution clock's timers; the rest is the warning's index, or [`BREACH`].
type TimerSlot = u8;
const BREACH: TimerSlot = 0x7F;
const RESOLUTION: TimerSlot = 0x80;

/// `running_since` of a paused clock.
const PAUSED: i64 = i64::MIN;

#[derive(Debug, Clone)]
struct Clock {
    /// The 128 bits of the clock's id, worked out once: every verdict names its clock.
    digest: [u8; 16],
    customer_event_id: CompactString,
    customer_at: EventTime,
    target: Target,
    /// Counted time before `running_since`.
    acc_calendar_ms: i64,
    acc_business_ms: i64,
    /// Milliseconds since the epoch while the clock runs; [`PAUSED`] otherwise.
    running_since: i64,
    /// Index into the engine's policy registry: the version in force when the clock started,
    /// which rules the clock to the end.
    policy: u16,
    kind: ReplyKind,
    /// Timers already fired: bit `i` for warning `i`, bit 31 for the breach.
    fired: u32,
    /// The generation of the clock's pending timer; timers of other generations are stale.
    generation: u32,
}

impl Clock {
    /// The clock's id: derived from its conversation and the event that started it.
    fn id(&self) -> String {
        fact_id_of(clock_prefix(self.kind), u128::from_be_bytes(self.digest))
    }

    fn running(&self) -> Option<EventTime> {
        (self.running_since != PAUSED).then_some(EventTime(self.running_since))
    }

    /// This clock's timer slot for a warning index or [`BREACH`].
    fn slot(&self, index: TimerSlot) -> TimerSlot {
        if self.kind == ReplyKind::Resolution {
            index | RESOLUTION
        } else {
            index
        }
    }

    fn bit(slot: TimerSlot) -> u32 {
        match slot & !RESOLUTION {
            BREACH => 1 << 31,
            i => 1 << i,
        }
    }

    fn has_fired(&self, slot: TimerSlot) -> bool {
        self.fired & Self::bit(slot) != 0
    }
}

#[derive(Debug, Clone)]
struct Conversation {
    /// `tenant/conversation_id`.
    key: CompactString,
    /// Where the tenant ends in `key`.
    tenant_len: u16,
    channel: Channel,
    priority: Priority,
    status: ConversationStatus,
    replied_before: bool,
    /// Interned queue and customer tier; 0 for none.
    queue: u32,
    tier: u32,
    /// The reply clock: first or next reply.
    clock: Option<Clock>,
    /// The resolution clock, when the policy sets a resolution target.
    resolution: Option<Box<Clock>>,
    /// Hashes of the event ids applied, to ignore an event published twice.
    seen: SmallVec<[u64; 2]>,
    /// The next timer generation.
    next_generation: u32,
    /// Where the history is kept, when not in `journal`.
    history: History,
    /// Queued among the quiet conversations, whose journals are folded once the window passed.
    in_quiet: bool,
    /// Recent events, for putting a late one in its place.
    journal: Option<Box<Journal>>,
    /// The newest instant among the journal's events ([`NONE_KEPT`] while it has none), kept
    /// here so that the events of a conversation, which mostly come in order, are found in
    /// order without reading the journal.
    journal_newest: EventTime,
}

/// `journal_newest` of a conversation whose journal holds no events.
const NONE_KEPT: EventTime = EventTime(i64::MIN);

impl Conversation {
    fn tenant(&self) -> &str {
        &self.key[..usize::from(self.tenant_len)]
    }

    fn conversation_id(&self) -> &str {
        &self.key[usize::from(self.tenant_len) + 1..]
    }

    /// No clock running, and a journal whose events are all before `instant`.
    fn quiet_since_before(&self, instant: EventTime) -> bool {
        self.clock.is_none()
            && self.resolution.is_none()
            && self.newest_kept().is_some_and(|last| last < instant)
    }

    /// The newest instant in the journal, if it has one with events.
    fn newest_kept(&self) -> Option<EventTime> {
        (self.journal.is_some() && self.journal_newest != NONE_KEPT).then_some(self.journal_newest)
    }

    /// Keeps `entry` in the journal, if the conversation has one.
    fn keep(&mut self, entry: Entry) {
        if let Some(journal) = self.journal.as_deref_mut() {
            // [`NONE_KEPT`] is before every instant.
            self.journal_newest = self.journal_newest.max(entry.at);
            journal.insert(entry);
        }
    }

    fn clock_mut(&mut self, slot: TimerSlot) -> Option<&mut Clock> {
        if slot & RESOLUTION != 0 {
            self.resolution.as_deref_mut()
        } else {
            self.clock.as_mut()
        }
    }
}

/// A pending timer: ordered by instant, then conversation and slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Timer {
    due: EventTime,
    conversation: u32,
    slot: TimerSlot,
    generation: u32,
}

/// A clock as it stands, for explanations and audits.
#[derive(Debug, Clone)]
pub struct ClockView {
    pub id: String,
    pub kind: ReplyKind,
    pub customer_event_id: String,
    pub customer_at: EventTime,
    pub policy: Arc<Policy>,
    pub target: Target,
    /// Counted so far (up to the instant asked about).
    pub calendar_ms: i64,
    pub business_ms: i64,
    /// `Some(since)` while the clock runs; `None` while paused.
    pub running_since: Option<EventTime>,
    /// Timers still to fire: the instant, and the fraction of the target (1.0 for the breach).
    pub due: Vec<(EventTime, f64)>,
    /// Fractions of the target already reached (1.0 once breached).
    pub fired: Vec<f64>,
}

/// Counts of what the engine holds, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub conversations: usize,
    pub open_clocks: usize,
    /// Timers queued, including superseded ones not yet dropped.
    pub timers: usize,
    pub duplicates_ignored: u64,
    /// Events that came after timers or events they precede, put in their place.
    pub late_events_placed: u64,
}

/// The SLA engine for one stream of events (one Kafka partition, or one replay).
#[derive(Debug)]
pub struct Engine {
    policies: PolicyVersions,
    /// Every policy version a clock may refer to, by index.
    registry: Vec<Arc<Policy>>,
    conversations: Vec<Conversation>,
    /// Conversation indices, found by key.
    index: HashTable<u32>,
    /// Queues, tiers and agents; [`Interner::FIRST`] is the empty name.
    symbols: Interner,
    timers: TimerQueue,
    /// Events taken but not yet applied, in the order they will be applied: by instant, then
    /// event id, one event a key. Events mostly come in that order, so one is mostly put at
    /// the back and taken from the front; a queue of them moves each event once each way,
    /// where a B-tree shifted its neighbours within a node on every insertion and removal.
    pending: VecDeque<((EventTime, CompactString), Event)>,
    /// The highest event time seen.
    watermark: EventTime,
    /// Timers fire only once the watermark is this far past them, so that events that
    /// arrive a little out of order are still applied before a verdict is reached.
    allowed_lateness_ms: i64,
    duplicates_ignored: u64,
    late_events_placed: u64,
    /// How long a closed conversation keeps its recent events for corrections; `None`: no
    /// journal, late events are applied in arrival order.
    correction_window_ms: Option<i64>,
    /// Conversations left with no clock running, each once, and when: their journals are
    /// folded once the window has passed, unless events came since (then they queue again
    /// from their newest event, behind some queued after them, which only delays folding).
    quiet: VecDeque<(u32, EventTime)>,
    /// Timers due before this instant have fired: an event before it is late.
    settled: EventTime,
}

/// The default correction window: a day.
pub const DEFAULT_CORRECTION_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// The hash an event id is remembered by, to drop an event published twice.
fn id_hash(id: &str) -> u64 {
    FxBuildHasher.hash_one(id)
}

/// What the id of a clock of `kind` starts with.
fn clock_prefix(kind: ReplyKind) -> &'static str {
    if kind == ReplyKind::Resolution {
        "res"
    } else {
        "clk"
    }
}

/// The bits of a clock's id: derived from the conversation and the event that started it.
fn clock_digest(key: &str, kind: ReplyKind, customer_event_id: &str) -> [u8; 16] {
    digest128(clock_prefix(kind), &[key, customer_event_id]).to_be_bytes()
}

/// Calendar and business time counted by a clock up to `at`.
fn counted(clock: &Clock, policy: &Policy, at: EventTime) -> (i64, i64) {
    match clock.running() {
        Some(since) => (
            clock.acc_calendar_ms + (at.millis() - since.millis()).max(0),
            clock.acc_business_ms + policy.calendar.business_ms(since, at),
        ),
        None => (clock.acc_calendar_ms, clock.acc_business_ms),
    }
}

/// The fraction of a clock's target a timer slot stands for.
fn fraction(policy: &Policy, slot: TimerSlot) -> f64 {
    match slot & !RESOLUTION {
        BREACH => 1.0,
        i => policy.warn_at[i as usize],
    }
}

/// The instant a clock's timer for `fraction` of its target comes due, counting from its
/// running start; `None` when paused, or when the calendar never opens again.
fn due_at(clock: &Clock, policy: &Policy, fraction: f64) -> Option<EventTime> {
    let since = clock.running()?;
    let due_ms = (clock.target.ms as f64 * fraction).round() as i64;
    match clock.target.basis {
        Basis::Calendar => Some(since.plus_millis((due_ms - clock.acc_calendar_ms).max(0))),
        Basis::Business => policy
            .calendar
            .add_business(since, (due_ms - clock.acc_business_ms).max(0)),
    }
}

/// The id of a warning or breach: derived from its clock and slot, and from all a late event
/// can change: the instant it came due, the kind of clock, the target, the policy version and
/// where the conversation stood. A timer announced again after a late pause is a new fact; the
/// same verdict derived twice has the same id.
fn timer_fact_id(
    clock_id: &str,
    slot: TimerSlot,
    due: EventTime,
    clock: &Clock,
    version: &str,
    context: &ConversationContext,
) -> String {
    let (mut due_text, mut target_text, mut slot_text) = (
        itoa::Buffer::new(),
        itoa::Buffer::new(),
        itoa::Buffer::new(),
    );
    let [queue, priority, tier] = context_parts(context);
    let due = due_text.format(due.millis());
    let target = target_text.format(clock.target.ms);
    let kind = clock.kind.as_str();
    if slot & !RESOLUTION == BREACH {
        fact_id(
            "brk",
            &[clock_id, due, kind, target, version, queue, priority, tier],
        )
    } else {
        let slot = slot_text.format(slot);
        fact_id(
            "wrn",
            &[
                clock_id, due, kind, target, version, queue, priority, tier, slot,
            ],
        )
    }
}

/// What of a conversation's context can change while its id stays: queue, priority, tier.
fn context_parts(context: &ConversationContext) -> [&str; 3] {
    [
        &context.queue,
        context.priority.as_str(),
        &context.customer_tier,
    ]
}

/// Fired timers of `clock` that were not due yet at `at`, with the instants they came due: an
/// event at `at` that stops or pauses the clock comes before them. Only a late event (one past
/// the allowed lateness) can find any, since timers fire only once event time has passed them.
fn overtaken(clock: &Clock, policy: &Policy, at: EventTime) -> Vec<(TimerSlot, EventTime)> {
    let Some(since) = clock.running() else {
        return Vec::new();
    };
    if clock.fired == 0 || at < since {
        return Vec::new();
    }
    let counted_before = match clock.target.basis {
        Basis::Calendar => clock.acc_calendar_ms,
        Basis::Business => clock.acc_business_ms,
    };
    slots(policy)
        .filter(|i| clock.has_fired(clock.slot(*i)))
        .filter_map(|i| {
            // Reached during this run (not before a pause), and not yet at `at`.
            let f = fraction(policy, i);
            let due = due_at(clock, policy, f)?;
            ((clock.target.ms as f64 * f).round() as i64 > counted_before && due >= at)
                .then_some((clock.slot(i), due))
        })
        .collect()
}

/// Corrections of the `slots` a late `event` overtook, each saying `why`.
fn corrections(
    policy: &Policy,
    context: &ConversationContext,
    clock: &Clock,
    slots: &[(TimerSlot, EventTime)],
    event: &Event,
    why: &str,
) -> Vec<SlaFact> {
    let id = clock.id();
    slots
        .iter()
        .map(|(slot, due)| {
            let corrected = timer_fact_id(&id, *slot, *due, clock, &policy.version, context);
            let what = if slot & !RESOLUTION == BREACH {
                "breach"
            } else {
                "warning"
            };
            SlaFact::Correction(pronto_domain::SlaCorrection {
                fact_id: fact_id("cor", &[&corrected, event.id()]),
                corrects_fact_id: corrected,
                corrects_kind: what.into(),
                clock_id: id.clone(),
                context: context.clone(),
                kind: clock.kind,
                customer_at: clock.customer_at,
                reason: format!(
                    "{why} ({}, at {}) arrived after the allowed lateness; it came before this {what} was due",
                    event.id(),
                    event.at()
                ),
                occurred_at: event.at(),
                policy_version: policy.version.as_str().into(),
            })
        })
        .collect()
}

fn set_fact_id(f: &mut SlaFact, id: String) {
    match f {
        SlaFact::Latency(l) => l.fact_id = id,
        SlaFact::Warning(w) => w.fact_id = id,
        SlaFact::Breach(b) => b.fact_id = id,
        SlaFact::Correction(c) => c.fact_id = id,
    }
}

/// The correction of verdict `f`, announced as `announced`, which a late `event`, put in its
/// place, no longer yields.
fn correction(f: &SlaFact, announced: &str, event: &Event) -> Option<SlaFact> {
    let (clock_id, kind, customer_at, what, version) = match f {
        SlaFact::Latency(l) => (
            &l.clock_id,
            l.kind,
            l.customer_at,
            "latency",
            &l.policy_version,
        ),
        SlaFact::Warning(w) => (
            &w.clock_id,
            w.kind,
            w.customer_at,
            "warning",
            &w.policy_version,
        ),
        SlaFact::Breach(b) => (
            &b.clock_id,
            b.kind,
            b.customer_at,
            "breach",
            &b.policy_version,
        ),
        SlaFact::Correction(_) => return None,
    };
    let late = match &event.payload {
        Payload::CustomerMessage { .. } => "the customer message".to_string(),
        Payload::ReplySent { .. } => "the reply".to_string(),
        Payload::StatusChanged(s) => format!("the status {s}"),
        Payload::AssignmentChanged { .. } => "the assignment".to_string(),
        Payload::PriorityChanged(p) => format!("the priority {p}"),
        Payload::Merged { .. } => "the merge".to_string(),
    };
    Some(SlaFact::Correction(pronto_domain::SlaCorrection {
        fact_id: fact_id("cor", &[announced, event.id()]),
        corrects_fact_id: announced.to_string(),
        corrects_kind: what.into(),
        clock_id: clock_id.clone(),
        context: f.context().clone(),
        kind,
        customer_at,
        reason: format!(
            "{late} ({}, at {}) arrived after the allowed lateness; put in its place, it changes this {what}",
            event.id(),
            event.at()
        ),
        occurred_at: event.at(),
        policy_version: version.clone(),
    }))
}

/// The slots of a clock's timers in firing order: warnings by fraction, then the breach.
fn slots(policy: &Policy) -> impl Iterator<Item = TimerSlot> + '_ {
    (0..policy.warn_at.len() as TimerSlot).chain(std::iter::once(BREACH))
}

/// The part of the engine a clock transition touches.
struct Clocks<'a> {
    registry: &'a [Arc<Policy>],
    timers: &'a mut TimerQueue,
    conversation: u32,
}

impl Clocks<'_> {
    fn policy(&self, clock: &Clock) -> &Policy {
        &self.registry[usize::from(clock.policy)]
    }

    /// Queues the clock's next timer, if it runs and has one left.
    fn schedule(&mut self, clock: &mut Clock, generation: &mut u32) {
        *generation = generation.wrapping_add(1);
        clock.generation = *generation;
        let policy = &self.registry[usize::from(clock.policy)];
        let Some(index) = slots(policy).find(|i| !clock.has_fired(clock.slot(*i))) else {
            return;
        };
        if let Some(due) = due_at(clock, policy, fraction(policy, index)) {
            self.timers.push(Reverse(Timer {
                due,
                conversation: self.conversation,
                slot: clock.slot(index),
                generation: clock.generation,
            }));
        }
    }

    fn start(
        &mut self,
        kind: ReplyKind,
        event: &Event,
        key: &str,
        policy: u16,
        target: Target,
        generation: &mut u32,
    ) -> Clock {
        let mut clock = Clock {
            digest: clock_digest(key, kind, event.id()),
            customer_event_id: event.id().into(),
            customer_at: event.at(),
            target,
            acc_calendar_ms: 0,
            acc_business_ms: 0,
            running_since: event.at().millis(),
            policy,
            kind,
            fired: 0,
            generation: 0,
        };
        self.schedule(&mut clock, generation);
        clock
    }

    /// Stops a running clock at `at`, keeping what it counted; its timer goes stale.
    fn pause(&mut self, clock: &mut Clock, at: EventTime, generation: &mut u32) {
        if let Some(since) = clock.running() {
            clock.acc_calendar_ms += (at.millis() - since.millis()).max(0);
            clock.acc_business_ms += self.policy(clock).calendar.business_ms(since, at);
            clock.running_since = PAUSED;
            *generation = generation.wrapping_add(1);
            clock.generation = *generation;
        }
    }

    /// Runs a paused clock again from `at`.
    fn resume(&mut self, clock: &mut Clock, at: EventTime, generation: &mut u32) {
        if clock.running().is_none() {
            clock.running_since = at.millis();
            self.schedule(clock, generation);
        }
    }
}

impl Engine {
    /// An engine under one policy for all time.
    pub fn new(policy: Arc<Policy>, allowed_lateness_ms: i64) -> Self {
        Self::with_versions(PolicyVersions::single(policy), allowed_lateness_ms)
    }

    /// An engine under policy versions that take over at given instants: each clock follows
    /// the version in force when it started.
    ///
    /// # Panics
    /// When `policies` is empty.
    pub fn with_versions(policies: PolicyVersions, allowed_lateness_ms: i64) -> Self {
        assert!(!policies.is_empty(), "an engine needs a policy");
        Self {
            registry: policies.iter().map(|(_, p)| Arc::clone(p)).collect(),
            policies,
            conversations: Vec::new(),
            index: HashTable::new(),
            symbols: Interner::new(""),
            timers: TimerQueue::new(),
            pending: VecDeque::new(),
            watermark: EventTime(i64::MIN),
            allowed_lateness_ms: allowed_lateness_ms.max(0),
            duplicates_ignored: 0,
            late_events_placed: 0,
            correction_window_ms: Some(DEFAULT_CORRECTION_WINDOW_MS),
            quiet: VecDeque::new(),
            settled: EventTime(i64::MIN),
        }
    }

    /// [`Engine::reserve`], for a new engine.
    pub fn with_capacity(mut self, conversations: usize) -> Self {
        self.reserve(conversations);
        self
    }

    /// Makes room for about `conversations` more conversations, so that a run over a known
    /// range (a replay) does not grow its state step by step. Only the speed depends on it.
    pub fn reserve(&mut self, conversations: usize) {
        self.conversations.reserve(conversations);
        let conversations_ = &self.conversations;
        self.index.reserve(conversations, |i| {
            let c = &conversations_[*i as usize];
            ConversationKey::hash_of(c.tenant(), c.conversation_id())
        });
    }

    /// Sets how long a conversation keeps its events after its clocks closed, so that an
    /// event arriving later than the allowed lateness is put in its place and what it changes
    /// corrected (default a day); `None` keeps no events, and a late event is applied as it
    /// comes, correcting only timers it overtook on a running clock.
    pub fn with_correction_window(mut self, window_ms: Option<i64>) -> Self {
        self.correction_window_ms = window_ms.map(|w| w.max(0));
        self
    }

    /// The policy versions the engine knows.
    pub fn policies(&self) -> &PolicyVersions {
        &self.policies
    }

    /// Adds a policy version taking over at `from`; clocks that start from then on follow it.
    /// Returns whether it was new.
    pub fn add_policy(&mut self, from: EventTime, policy: Arc<Policy>) -> bool {
        let added = self.policies.add(from, Arc::clone(&policy));
        if added {
            self.registry.push(policy);
        }
        added
    }

    pub fn stats(&self) -> EngineStats {
        EngineStats {
            conversations: self.conversations.len(),
            open_clocks: self
                .conversations
                .iter()
                .map(|c| usize::from(c.clock.is_some()) + usize::from(c.resolution.is_some()))
                .sum(),
            timers: self.timers.len(),
            duplicates_ignored: self.duplicates_ignored,
            late_events_placed: self.late_events_placed,
        }
    }

    fn find(&self, key: &str) -> Option<&Conversation> {
        // Ids may hold a '/': each place the tenant could end is tried.
        key.match_indices('/').find_map(|(at, _)| {
            let (tenant, conversation_id) = (&key[..at], &key[at + 1..]);
            let i = self
                .index
                .find(ConversationKey::hash_of(tenant, conversation_id), |i| {
                    let c = &self.conversations[*i as usize];
                    c.tenant() == tenant && c.conversation_id() == conversation_id
                })?;
            Some(&self.conversations[*i as usize])
        })
    }

    /// The open reply clock of conversation `key` (`tenant/conversation_id`) as it stands
    /// at `at`, if it has one.
    pub fn clock(&self, key: &str, at: EventTime) -> Option<ClockView> {
        let c = self.find(key)?;
        Some(self.view(c.clock.as_ref()?, at))
    }

    /// The open resolution clock of conversation `key` as it stands at `at`, if it has one.
    pub fn resolution_clock(&self, key: &str, at: EventTime) -> Option<ClockView> {
        let c = self.find(key)?;
        Some(self.view(c.resolution.as_deref()?, at))
    }

    fn view(&self, clock: &Clock, at: EventTime) -> ClockView {
        let policy = &self.registry[usize::from(clock.policy)];
        let (calendar_ms, business_ms) = counted(clock, policy, at);
        let due = slots(policy)
            .filter(|i| !clock.has_fired(clock.slot(*i)))
            .filter_map(|i| {
                let f = fraction(policy, i);
                due_at(clock, policy, f).map(|t| (t, f))
            })
            .collect();
        ClockView {
            id: clock.id(),
            kind: clock.kind,
            customer_event_id: clock.customer_event_id.to_string(),
            customer_at: clock.customer_at,
            policy: Arc::clone(policy),
            target: clock.target,
            calendar_ms,
            business_ms,
            running_since: clock.running(),
            due,
            fired: slots(policy)
                .filter(|i| clock.has_fired(clock.slot(*i)))
                .map(|i| fraction(policy, i))
                .collect(),
        }
    }

    /// The earliest pending timer, if any (possibly a superseded one).
    pub fn next_due(&self) -> Option<EventTime> {
        self.timers.peek().map(|t| t.0.due)
    }

    /// Takes one event and returns the facts that became final: those of events and timers
    /// now further than the allowed lateness behind the newest event time seen, the timers'
    /// facts that came due before an event ahead of the event's own.
    ///
    /// Events wait in a buffer until then and are applied in event-time order (ties by event
    /// id), so any arrival order within the lateness gives the same facts. An event later than
    /// that is applied at once, in arrival order.
    pub fn apply(&mut self, event: &Event) -> Vec<SlaFact> {
        let mut out = Vec::new();
        self.apply_into(event, &mut out);
        out
    }

    /// [`Engine::apply`], the facts appended to `out`: a caller that gathers the facts of
    /// many events in one place allocates once for them.
    pub fn apply_into(&mut self, event: &Event, out: &mut Vec<SlaFact>) {
        if !self.apply_now(event, out) {
            self.buffer(event.clone(), out);
        }
    }

    /// [`Engine::apply`] for an event the caller owns: one that must wait is kept as it is,
    /// not copied.
    pub fn apply_owned(&mut self, event: Event) -> Vec<SlaFact> {
        let mut out = Vec::new();
        if !self.apply_now(&event, &mut out) {
            self.buffer(event, &mut out);
        }
        out
    }

    /// Applies `event` at once when nothing waits before it and it is past the horizon;
    /// `false` when it must wait.
    fn apply_now(&mut self, event: &Event, out: &mut Vec<SlaFact>) -> bool {
        let at = event.at();
        let horizon = EventTime(
            self.watermark
                .max(at)
                .millis()
                .saturating_sub(self.allowed_lateness_ms),
        );
        if at > horizon || !self.pending.is_empty() {
            return false;
        }
        self.watermark = self.watermark.max(at);
        self.fire_until(at, out);
        self.take(event, out);
        self.fire_until(horizon, out);
        true
    }

    fn buffer(&mut self, event: Event, out: &mut Vec<SlaFact>) {
        let at = event.at();
        let key = (at, CompactString::from(event.id()));
        // After every key before it; the same key again stands for the event taken last.
        let place = match self.pending.back() {
            Some((last, _)) if *last < key => self.pending.len(),
            _ => self.pending.partition_point(|(k, _)| *k < key),
        };
        match self.pending.get_mut(place) {
            Some((k, waiting)) if *k == key => *waiting = event,
            _ => self.pending.insert(place, (key, event)),
        }
        self.advance_into(at, out);
    }

    /// Moves event time forward to `now` without an event (live mode: the service's clock
    /// says time has passed) and returns the facts that became final.
    pub fn advance(&mut self, now: EventTime) -> Vec<SlaFact> {
        let mut out = Vec::new();
        self.advance_into(now, &mut out);
        out
    }

    /// [`Engine::advance`], the facts appended to `out`.
    pub fn advance_into(&mut self, now: EventTime, out: &mut Vec<SlaFact>) {
        if now > self.watermark {
            self.watermark = now;
        }
        let horizon = EventTime(
            self.watermark
                .millis()
                .saturating_sub(self.allowed_lateness_ms),
        );
        while let Some(((at, _), _)) = self.pending.front() {
            if *at > horizon {
                break;
            }
            let (_, event) = self.pending.pop_front().expect("a front");
            self.fire_until(event.at(), out);
            self.take(&event, out);
        }
        self.fire_until(horizon, out);
    }

    /// Events taken but not applied yet (younger than the allowed lateness).
    pub fn buffered(&self) -> usize {
        self.pending.len()
    }

    /// Applies an event whose turn has come. One older than timers already fired is put in
    /// its place in the conversation's journal, when it has one that reaches back so far.
    fn take(&mut self, event: &Event, out: &mut Vec<SlaFact>) {
        self.fold_quiet_journals();
        let ci = self.conversation(event);
        if !((event.at() < self.settled || self.behind(ci, event)) && self.correct(ci, event, out))
        {
            self.process(ci, event, out);
        }
        let conv = &mut self.conversations[ci as usize];
        if !conv.in_quiet
            && conv.clock.is_none()
            && conv.resolution.is_none()
            && conv.journal.is_some()
        {
            conv.in_quiet = true;
            self.quiet.push_back((ci, event.at()));
        }
    }

    /// Whether `event` sorts before an event of its conversation `ci` already applied: the
    /// same instant, a smaller id.
    fn behind(&self, ci: u32, event: &Event) -> bool {
        let conv = &self.conversations[ci as usize];
        let newest = match (&conv.journal, conv.history, &conv.clock) {
            (Some(_), _, _) => match conv.newest_kept() {
                // Decided by the instant alone, as it mostly is, without reading the journal.
                Some(newest) if newest != event.at() => return event.at() < newest,
                Some(_) => conv
                    .journal
                    .as_deref()
                    .and_then(|j| j.entries.last())
                    .map(|e| (e.at, e.id.as_str())),
                None => None,
            },
            (None, History::FirstMessage, Some(c)) => {
                Some((c.customer_at, c.customer_event_id.as_str()))
            }
            _ => None,
        };
        newest.is_some_and(|newest| (event.at(), event.id()) < newest)
    }

    /// The journal of conversation `ci`, made from what the conversation holds when it keeps
    /// its history elsewhere; `None` when the engine keeps no journals. A journal whose clocks
    /// are all closed and whose events are all older than the window is folded first.
    fn journal_mut(&mut self, ci: u32) -> Option<&mut Journal> {
        let window = self.correction_window_ms?;
        let folded_until = EventTime(self.watermark.millis().saturating_sub(window));
        let conv = &mut self.conversations[ci as usize];
        let quiet = conv.quiet_since_before(folded_until);
        let here = Base {
            priority: conv.priority,
            status: conv.status,
            replied_before: conv.replied_before,
            queue: conv.queue,
            tier: conv.tier,
        };
        if quiet || conv.journal.is_none() {
            let journal = match (conv.history, conv.clock.as_ref()) {
                _ if conv.journal.is_some() => Journal::new(here, folded_until),
                (History::Fresh, _) => Journal::new(Base::FRESH, EventTime(i64::MIN)),
                (History::FirstMessage, Some(clock)) => {
                    let mut j = Journal::new(Base::FRESH, EventTime(i64::MIN));
                    j.insert(Entry {
                        at: clock.customer_at,
                        id: clock.customer_event_id.clone(),
                        what: What::Customer { tier: conv.tier },
                    });
                    j
                }
                _ => Journal::new(here, folded_until),
            };
            conv.journal_newest = journal.last_at().unwrap_or(NONE_KEPT);
            conv.journal = Some(Box::new(journal));
        }
        conv.journal.as_deref_mut()
    }

    /// Keeps `event` in its conversation's journal. The first customer message of a fresh
    /// conversation is kept by its clock alone.
    fn record(&mut self, ci: u32, event: &Event) {
        if self.correction_window_ms.is_none() {
            return;
        }
        let conv = &mut self.conversations[ci as usize];
        if conv.history == History::Fresh
            && conv.journal.is_none()
            && matches!(event.payload, Payload::CustomerMessage { .. })
        {
            conv.history = History::FirstMessage;
            return;
        }
        let entry = Entry::of(event, |name| self.symbols.intern(name));
        if self.journal_mut(ci).is_some() {
            self.conversations[ci as usize].keep(entry);
        }
    }

    /// Folds the journals of conversations quiet for longer than the correction window: no
    /// clock running, no event since.
    fn fold_quiet_journals(&mut self) {
        let Some(window) = self.correction_window_ms else {
            return;
        };
        let folded_until = EventTime(self.watermark.millis().saturating_sub(window));
        while let Some(&(ci, since)) = self.quiet.front() {
            if since >= folded_until {
                break;
            }
            self.quiet.pop_front();
            let conv = &mut self.conversations[ci as usize];
            conv.in_quiet = false;
            if conv.quiet_since_before(folded_until) {
                conv.journal = None;
                conv.history = History::Folded;
            } else if conv.clock.is_none()
                && conv.resolution.is_none()
                && let Some(last) = conv.newest_kept()
            {
                // Events came since, none starting a clock: its turn comes from the newest.
                conv.in_quiet = true;
                self.quiet.push_back((ci, last));
            }
        }
    }

    /// Puts a late `event` in its place: derives the conversation's verdicts from its journal
    /// without and with it, in event-time order up to the instant settled, takes back by a
    /// correction each verdict that no longer holds, announces each new one, and carries on
    /// from the conversation as the ordered log leaves it. `false` when the event cannot be put
    /// in its place (no journal, or it falls before the journal's start): it is then applied
    /// as it comes.
    fn correct(&mut self, ci: u32, event: &Event, out: &mut Vec<SlaFact>) -> bool {
        let conv = &self.conversations[ci as usize];
        if conv.history == History::Fresh && conv.journal.is_none() {
            // Nothing applied yet: nothing to put it before.
            return false;
        }
        let h = id_hash(event.id());
        if self.conversations[ci as usize].seen.contains(&h) {
            self.duplicates_ignored += 1;
            return true;
        }
        let entry = Entry::of(event, |name| self.symbols.intern(name));
        match self.journal_mut(ci) {
            Some(journal) if event.at() >= journal.base_at => {}
            _ => return false,
        }
        self.late_events_placed += 1;
        let until = self.settled;
        let (before, _) = self.derive(ci, until);
        self.conversations[ci as usize].keep(entry);
        let (after, state) = self.derive(ci, until);
        self.install(ci, state);
        let was: HashSet<&str> = before.iter().map(SlaFact::fact_id).collect();
        let is: HashSet<&str> = after.iter().map(SlaFact::fact_id).collect();
        let Some(journal) = self.conversations[ci as usize].journal.as_deref_mut() else {
            return true;
        };
        for f in before.iter().filter(|f| !is.contains(f.fact_id())) {
            out.extend(correction(f, journal.announced_as(f.fact_id()), event));
            journal.take_back(f.fact_id());
        }
        for f in after.iter().filter(|f| !was.contains(f.fact_id())) {
            let mut f = f.clone();
            let id = journal.announce(f.fact_id(), event.id());
            set_fact_id(&mut f, id);
            out.push(f);
        }
        true
    }

    /// The verdicts of conversation `ci`'s journal in event-time order, with every timer due
    /// before `until` fired, and the conversation as they leave it.
    fn derive(&self, ci: u32, until: EventTime) -> (Vec<SlaFact>, Conversation) {
        let conv = &self.conversations[ci as usize];
        let Some(journal) = conv.journal.as_deref() else {
            return (Vec::new(), conv.clone());
        };
        let mut scratch = Engine {
            policies: self.policies.clone(),
            registry: self.registry.clone(),
            conversations: Vec::new(),
            index: HashTable::new(),
            symbols: self.symbols.clone(),
            timers: TimerQueue::new(),
            pending: VecDeque::new(),
            watermark: EventTime(i64::MIN),
            allowed_lateness_ms: 0,
            duplicates_ignored: 0,
            late_events_placed: 0,
            correction_window_ms: None,
            quiet: VecDeque::new(),
            settled: EventTime(i64::MIN),
        };
        let base = journal.base;
        scratch.conversations.push(Conversation {
            key: conv.key.clone(),
            tenant_len: conv.tenant_len,
            channel: conv.channel,
            priority: base.priority,
            status: base.status,
            replied_before: base.replied_before,
            queue: base.queue,
            tier: base.tier,
            clock: None,
            resolution: None,
            seen: SmallVec::new(),
            next_generation: 0,
            history: History::Folded,
            in_quiet: false,
            journal: None,
            journal_newest: NONE_KEPT,
        });
        let hash = ConversationKey::hash_of(conv.tenant(), conv.conversation_id());
        scratch.index.insert_unique(hash, 0, |_| hash);
        let mut out = Vec::new();
        for entry in &journal.entries {
            let event = entry.event(conv.tenant(), conv.conversation_id(), conv.channel, |s| {
                self.symbols.name(s)
            });
            out.extend(scratch.apply_owned(event));
        }
        out.extend(scratch.advance(until));
        let state = scratch.conversations.swap_remove(0);
        (out, state)
    }

    /// Carries on conversation `ci` from `state`: its clocks, and timers for them; the timers
    /// queued before go stale.
    fn install(&mut self, ci: u32, state: Conversation) {
        let conv = &mut self.conversations[ci as usize];
        conv.priority = state.priority;
        conv.status = state.status;
        conv.replied_before = state.replied_before;
        conv.queue = state.queue;
        conv.tier = state.tier;
        conv.clock = state.clock;
        conv.resolution = state.resolution;
        // What the journal's events marked as seen is as the ordered log leaves it (a wait a
        // merge carried over may be carried by another merge now); what came before stays.
        if let Some(journal) = conv.journal.as_deref() {
            let mine: HashSet<u64> = journal
                .entries
                .iter()
                .flat_map(|e| {
                    let carried = match &e.what {
                        What::Merged(m) => m.1.as_ref().map(|(_, message)| id_hash(message)),
                        _ => None,
                    };
                    std::iter::once(id_hash(&e.id)).chain(carried)
                })
                .collect();
            conv.seen.retain(|h| !mine.contains(h));
        }
        for h in state.seen {
            if !conv.seen.contains(&h) {
                conv.seen.push(h);
            }
        }
        let mut generation = conv.next_generation;
        let mut clocks = Clocks {
            registry: &self.registry,
            timers: &mut self.timers,
            conversation: ci,
        };
        if let Some(clock) = conv.clock.as_mut() {
            clocks.schedule(clock, &mut generation);
        }
        if let Some(clock) = conv.resolution.as_deref_mut() {
            clocks.schedule(clock, &mut generation);
        }
        conv.next_generation = generation;
    }

    /// The index of the conversation an event belongs to, created when first seen.
    fn conversation(&mut self, event: &Event) -> u32 {
        let env = &event.envelope;
        let (tenant, conversation) = (env.tenant.as_str(), env.conversation_id.as_str());
        let hash = ConversationKey::hash_of(tenant, conversation);
        let conversations = &self.conversations;
        if let Some(i) = self.index.find(hash, |i| {
            let c = &conversations[*i as usize];
            c.tenant() == tenant && c.conversation_id() == conversation
        }) {
            return *i;
        }
        // "tenant/conversation", inline (no allocation) when short, as most keys are.
        let mut key = CompactString::with_capacity(tenant.len() + 1 + conversation.len());
        key.push_str(tenant);
        key.push('/');
        key.push_str(conversation);
        let i = u32::try_from(self.conversations.len()).expect("fewer than 4 billion");
        self.conversations.push(Conversation {
            key,
            tenant_len: u16::try_from(env.tenant.as_str().len()).expect("ids are short"),
            channel: env.channel,
            priority: Priority::Normal,
            status: ConversationStatus::Open,
            replied_before: false,
            queue: 0,
            tier: 0,
            clock: None,
            resolution: None,
            seen: SmallVec::new(),
            next_generation: 0,
            history: History::Fresh,
            in_quiet: false,
            journal: None,
            journal_newest: NONE_KEPT,
        });
        let conversations = &self.conversations;
        self.index.insert_unique(hash, i, |i| {
            let c = &conversations[*i as usize];
            ConversationKey::hash_of(c.tenant(), c.conversation_id())
        });
        i
    }

    /// The registry index of the version in force at `at`.
    fn policy_at(&self, at: EventTime) -> u16 {
        let p = self.policies.in_force(at);
        let i = self
            .registry
            .iter()
            .position(|r| Arc::ptr_eq(r, p))
            .expect("every version is registered");
        u16::try_from(i).expect("fewer than 65,536 policy versions")
    }

    fn context(symbols: &Interner, conv: &Conversation) -> ConversationContext {
        ConversationContext {
            tenant: conv.tenant().into(),
            conversation_id: conv.conversation_id().into(),
            channel: conv.channel,
            queue: symbols.name(conv.queue).clone(),
            priority: conv.priority,
            customer_tier: symbols.name(conv.tier).clone(),
        }
    }

    /// The targets for a conversation as it stands, under `policy`.
    fn targets(
        symbols: &Interner,
        conv: &Conversation,
        policy: &Policy,
    ) -> crate::policy::ChannelTargets {
        let (tier, queue) = (symbols.name(conv.tier), symbols.name(conv.queue));
        policy.targets_of(conv.channel, conv.priority, tier, queue)
    }

    fn process(&mut self, ci: u32, event: &Event, out: &mut Vec<SlaFact>) {
        let at = event.at();
        let pi = self.policy_at(at);
        // A wait carried over by a merge follows the version in force when it began.
        let carried = match &event.payload {
            Payload::Merged {
                waiting: Some((since, message)),
                ..
            } => Some((*since, message, self.policy_at(*since))),
            _ => None,
        };
        let h = id_hash(event.id());
        if self.conversations[ci as usize].seen.contains(&h) {
            self.duplicates_ignored += 1;
            return;
        }
        self.conversations[ci as usize].seen.push(h);
        self.record(ci, event);
        let Engine {
            registry,
            conversations,
            symbols,
            timers,
            ..
        } = self;
        let registry: &[Arc<Policy>] = registry;
        let conv = &mut conversations[ci as usize];
        // The version in force now rules what has no clock yet; a running clock keeps its own.
        let policy: &Policy = &registry[usize::from(pi)];
        let mut clocks = Clocks {
            registry,
            timers,
            conversation: ci,
        };
        let mut next_generation = conv.next_generation;
        let generation = &mut next_generation;
        match &event.payload {
            Payload::CustomerMessage { customer_tier, .. } => {
                if let Some(tier) = customer_tier {
                    conv.tier = symbols.intern(tier.as_str());
                }
                if policy.pauses(conv.status)
                    || matches!(
                        conv.status,
                        ConversationStatus::Solved | ConversationStatus::Closed
                    )
                {
                    // The customer wrote back: the conversation is open again.
                    conv.status = ConversationStatus::Open;
                }
                // Targets are chosen when a clock starts, from the conversation as it stands;
                // a later priority or queue change applies to the next clock.
                let targets = Self::targets(symbols, conv, policy);
                match &mut conv.clock {
                    Some(clock) => clocks.resume(clock, at, generation),
                    None => {
                        let (kind, target) = if conv.replied_before {
                            (ReplyKind::Next, targets.next_reply)
                        } else {
                            (ReplyKind::First, targets.first_reply)
                        };
                        conv.clock =
                            Some(clocks.start(kind, event, &conv.key, pi, target, generation));
                    }
                }
                match &mut conv.resolution {
                    Some(clock) => clocks.resume(clock, at, generation),
                    None => {
                        if let Some(target) = targets.resolution {
                            let kind = ReplyKind::Resolution;
                            let clock =
                                clocks.start(kind, event, &conv.key, pi, target, generation);
                            conv.resolution = Some(Box::new(clock));
                        }
                    }
                }
            }
            Payload::ReplySent {
                author,
                visibility,
                agent_id,
                ..
            } => {
                // What counts as a reply is the running clock's policy's call.
                let rules = conv.clock.as_ref().map_or(policy, |c| clocks.policy(c));
                let counts = (*author == AuthorKind::Human || rules.count_bot_replies)
                    && (*visibility == Visibility::Public || rules.count_private_notes);
                if counts {
                    if let Some(clock) = conv.clock.take() {
                        let policy = &registry[usize::from(clock.policy)];
                        let late = overtaken(&clock, policy, at);
                        if !late.is_empty() {
                            let ctx = Self::context(symbols, conv);
                            let why = "the reply";
                            out.extend(corrections(policy, &ctx, &clock, &late, event, why));
                        }
                        let agent = agent_id
                            .as_ref()
                            .map(|a| Name::from(a.as_str()))
                            .unwrap_or_default();
                        out.push(Self::measure(registry, symbols, conv, &clock, event, agent));
                    }
                    conv.replied_before = true;
                }
            }
            Payload::StatusChanged(status) => {
                let status = *status;
                conv.status = status;
                if matches!(
                    status,
                    ConversationStatus::Solved | ConversationStatus::Closed
                ) {
                    // Solved without a reply: nothing is owed any more. Solved: the
                    // resolution time is measured. Their timers go stale.
                    let why = || format!("the status {status}");
                    for clock in [conv.clock.take(), conv.resolution.take().map(|b| *b)]
                        .into_iter()
                        .flatten()
                    {
                        let policy = &registry[usize::from(clock.policy)];
                        let late = overtaken(&clock, policy, at);
                        if !late.is_empty() {
                            let ctx = Self::context(symbols, conv);
                            out.extend(corrections(policy, &ctx, &clock, &late, event, &why()));
                        }
                        if clock.kind == ReplyKind::Resolution {
                            let fact = Self::measure(
                                registry,
                                symbols,
                                conv,
                                &clock,
                                event,
                                Name::default(),
                            );
                            out.push(fact);
                        }
                    }
                } else {
                    let ctx = (conv.clock.as_ref().is_some_and(|c| c.fired != 0)
                        || conv.resolution.as_ref().is_some_and(|c| c.fired != 0))
                    .then(|| Self::context(symbols, conv));
                    let why = || format!("the status {status}");
                    for clock in [conv.clock.as_mut(), conv.resolution.as_deref_mut()]
                        .into_iter()
                        .flatten()
                    {
                        if clocks.policy(clock).pauses(status) {
                            // Announced timers the pause came before are taken back; the
                            // clock announces them again, under new ids, once it has counted
                            // that far.
                            let policy = clocks.policy(clock);
                            let late = overtaken(clock, policy, at);
                            if let (false, Some(ctx)) = (late.is_empty(), &ctx) {
                                out.extend(corrections(policy, ctx, clock, &late, event, &why()));
                                for (slot, _) in &late {
                                    clock.fired &= !Clock::bit(*slot);
                                }
                            }
                            clocks.pause(clock, at, generation);
                        } else {
                            clocks.resume(clock, at, generation);
                        }
                    }
                    // Reopened with no clock: working on it again counts toward resolution.
                    if status == ConversationStatus::Reopened
                        && conv.resolution.is_none()
                        && let Some(target) = Self::targets(symbols, conv, policy).resolution
                    {
                        let kind = ReplyKind::Resolution;
                        let clock = clocks.start(kind, event, &conv.key, pi, target, generation);
                        conv.resolution = Some(Box::new(clock));
                    }
                }
            }
            Payload::AssignmentChanged { queue, .. } => {
                if let Some(q) = queue {
                    conv.queue = symbols.intern(q.as_str());
                }
            }
            Payload::PriorityChanged(p) => conv.priority = *p,
            Payload::Merged { .. } => {
                // The merged conversation's customer was waiting: that wait carries over,
                // unless this conversation's own wait is older, paused or already announced.
                let carries = conv.clock.as_ref().is_none_or(|c| {
                    carried.is_some_and(|(since, _, _)| c.customer_at > since)
                        && c.running().is_some()
                        && c.acc_calendar_ms == 0
                        && c.fired == 0
                });
                // A wait already carried over (the same message) is not carried twice.
                let carried = carried.filter(|(_, message, _)| {
                    let h = id_hash(message.as_str());
                    !conv.seen.contains(&h)
                });
                if let (true, Some((since, message, mpi))) = (carries, carried) {
                    conv.seen.push(id_hash(message.as_str()));
                    let policy = Arc::clone(&registry[usize::from(mpi)]);
                    let targets = Self::targets(symbols, conv, &policy);
                    let kind = match conv.clock.as_ref().map(|c| c.kind) {
                        Some(k) => k,
                        None if conv.replied_before => ReplyKind::Next,
                        None => ReplyKind::First,
                    };
                    let target = if kind == ReplyKind::First {
                        targets.first_reply
                    } else {
                        targets.next_reply
                    };
                    let mut clock = Clock {
                        digest: clock_digest(&conv.key, kind, message.as_str()),
                        customer_event_id: message.as_str().into(),
                        customer_at: since,
                        target,
                        acc_calendar_ms: 0,
                        acc_business_ms: 0,
                        running_since: since.millis(),
                        policy: mpi,
                        kind,
                        fired: 0,
                        generation: 0,
                    };
                    // What came due before the merge was announced in the merged
                    // conversation already.
                    for i in slots(&policy) {
                        if due_at(&clock, &policy, fraction(&policy, i)).is_some_and(|d| d < at) {
                            clock.fired |= Clock::bit(clock.slot(i));
                        }
                    }
                    clocks.schedule(&mut clock, generation);
                    conv.clock = Some(clock);
                }
            }
        }
        conv.next_generation = next_generation;
    }

    /// The measurement that ends a clock: `event` is the reply, or the status change that
    /// solved the conversation.
    fn measure(
        registry: &[Arc<Policy>],
        symbols: &Interner,
        conv: &Conversation,
        clock: &Clock,
        event: &Event,
        agent_id: Name,
    ) -> SlaFact {
        let at = event.at();
        let policy = &registry[usize::from(clock.policy)];
        let (calendar_ms, business_ms) = counted(clock, policy, at);
        let measured = match clock.target.basis {
            Basis::Calendar => calendar_ms,
            Basis::Business => business_ms,
        };
        // In time: within the target, and not after the deadline (business time does not
        // grow while closed, so a reply after closing is late though the count is not).
        let met = measured <= clock.target.ms
            && due_at(clock, policy, 1.0).is_none_or(|deadline| at <= deadline);
        let id = clock.id();
        let context = Self::context(symbols, conv);
        SlaFact::Latency(ReplyLatency {
            // What a late event can change is part of the id: the same measurement derived
            // twice has the same id, a different one is a new fact.
            fact_id: {
                let mut numbers = [
                    itoa::Buffer::new(),
                    itoa::Buffer::new(),
                    itoa::Buffer::new(),
                ];
                let [calendar, business, target] = &mut numbers;
                let [queue, priority, tier] = context_parts(&context);
                fact_id(
                    "lat",
                    &[
                        &id,
                        event.id(),
                        calendar.format(calendar_ms),
                        business.format(business_ms),
                        target.format(clock.target.ms),
                        clock.kind.as_str(),
                        if met { "met" } else { "missed" },
                        &policy.version,
                        queue,
                        priority,
                        tier,
                    ],
                )
            },
            clock_id: id,
            context,
            kind: clock.kind,
            customer_event_id: clock.customer_event_id.clone(),
            customer_at: clock.customer_at,
            reply_event_id: event.id().into(),
            replied_at: at,
            agent_id,
            calendar_ms,
            business_ms,
            target_ms: clock.target.ms,
            met,
            policy_version: policy.version.as_str().into(),
        })
    }

    /// Fires every timer due strictly before `until`: a reply at the very deadline is in time.
    fn fire_until(&mut self, until: EventTime, out: &mut Vec<SlaFact>) {
        self.settled = self.settled.max(until);
        while let Some(Reverse(t)) = self.timers.peek().copied() {
            if t.due >= until {
                break;
            }
            self.timers.pop();
            let Engine {
                registry,
                conversations,
                symbols,
                timers,
                ..
            } = self;
            let conv = &mut conversations[t.conversation as usize];
            let mut next_generation = conv.next_generation;
            let Some(clock) = conv.clock_mut(t.slot) else {
                continue;
            };
            if clock.generation != t.generation || clock.has_fired(t.slot) {
                continue;
            }
            clock.fired |= Clock::bit(t.slot);
            let mut clocks = Clocks {
                registry,
                timers,
                conversation: t.conversation,
            };
            clocks.schedule(clock, &mut next_generation);
            let clock = clock.clone();
            conv.next_generation = next_generation;
            let policy = &registry[usize::from(clock.policy)];
            let id = clock.id();
            let context = Self::context(symbols, conv);
            let version = policy.version.as_str();
            if t.slot & !RESOLUTION == BREACH {
                out.push(SlaFact::Breach(SlaBreach {
                    fact_id: timer_fact_id(&id, t.slot, t.due, &clock, version, &context),
                    clock_id: id,
                    context,
                    kind: clock.kind,
                    customer_event_id: clock.customer_event_id.clone(),
                    customer_at: clock.customer_at,
                    deadline: t.due,
                    target_ms: clock.target.ms,
                    policy_version: version.into(),
                }));
            } else {
                out.push(SlaFact::Warning(SlaWarning {
                    fact_id: timer_fact_id(&id, t.slot, t.due, &clock, version, &context),
                    clock_id: id,
                    context,
                    kind: clock.kind,
                    customer_event_id: clock.customer_event_id.clone(),
                    customer_at: clock.customer_at,
                    due_at: t.due,
                    fraction: fraction(policy, t.slot),
                    target_ms: clock.target.ms,
                    policy_version: version.into(),
                }));
            }
        }
    }
}
