//! The reply clock engine: folds interaction events, in event time, into SLA facts.
//!
//! One clock per conversation runs from the first customer message still unanswered to the
//! next counted reply. Timers for warnings and the breach fire when event time passes their
//! instant; each fires at most once per clock. The engine never reads the wall clock: live
//! services move time forward with [`Engine::advance`], replay moves it with the events.

use crate::PolicyVersions;
use crate::policy::{Basis, Policy, Target};
use pronto_domain::{
    AuthorKind, ConversationContext, ConversationStatus, Event, EventTime, Payload, ReplyKind,
    ReplyLatency, SlaBreach, SlaFact, SlaWarning, Visibility, fact_id,
};
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Which timer of a clock: a warning (index into `warn_at`) or the breach.
/// The high bit marks the resolution clock's timers; the rest is the warning's index, or
/// [`BREACH`].
type TimerSlot = u8;
const BREACH: TimerSlot = 0x7F;
const RESOLUTION: TimerSlot = 0x80;

#[derive(Debug, Clone)]
struct Clock {
    id: String,
    kind: ReplyKind,
    customer_event_id: String,
    customer_at: EventTime,
    /// The policy version in force when the clock started; it rules the clock to the end.
    policy: Arc<Policy>,
    target: Target,
    /// Counted time before `running_since`.
    acc_calendar_ms: i64,
    acc_business_ms: i64,
    /// Set while the clock runs.
    running_since: Option<EventTime>,
    /// Timers already fired (warnings by index, and the breach).
    fired: BTreeSet<TimerSlot>,
    /// Timers scheduled now, to remove when the clock stops or pauses.
    scheduled: Vec<(EventTime, TimerSlot)>,
}

impl Clock {
    /// This clock's timer slot for a warning index or [`BREACH`].
    fn slot(&self, index: TimerSlot) -> TimerSlot {
        if self.kind == ReplyKind::Resolution {
            index | RESOLUTION
        } else {
            index
        }
    }

    /// The fraction of the target a timer slot stands for.
    fn fraction(&self, slot: TimerSlot) -> f64 {
        match slot & !RESOLUTION {
            BREACH => 1.0,
            i => self.policy.warn_at[i as usize],
        }
    }
}

#[derive(Debug, Clone)]
struct Conversation {
    context: ConversationContext,
    status: ConversationStatus,
    replied_before: bool,
    /// The reply clock: first or next reply.
    clock: Option<Clock>,
    /// The resolution clock, when the policy sets a resolution target.
    resolution: Option<Clock>,
    seen: HashSet<u64>,
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
    pub timers: usize,
    pub duplicates_ignored: u64,
}

/// The SLA engine for one stream of events (one Kafka partition, or one replay).
#[derive(Debug)]
pub struct Engine {
    policies: PolicyVersions,
    conversations: HashMap<String, Conversation>,
    timers: BTreeSet<(EventTime, String, TimerSlot)>,
    /// Events taken but not yet applied, in the order they will be applied.
    pending: BTreeMap<(EventTime, String), Event>,
    /// The highest event time seen.
    watermark: EventTime,
    /// Timers fire only once the watermark is this far past them, so that events that
    /// arrive a little out of order are still applied before a verdict is reached.
    allowed_lateness_ms: i64,
    duplicates_ignored: u64,
}

fn id_hash(id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
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
            policies,
            conversations: HashMap::new(),
            timers: BTreeSet::new(),
            pending: BTreeMap::new(),
            watermark: EventTime(i64::MIN),
            allowed_lateness_ms: allowed_lateness_ms.max(0),
            duplicates_ignored: 0,
        }
    }

    /// The policy versions the engine knows.
    pub fn policies(&self) -> &PolicyVersions {
        &self.policies
    }

    /// Adds a policy version taking over at `from`; clocks that start from then on follow it.
    /// Returns whether it was new.
    pub fn add_policy(&mut self, from: EventTime, policy: Arc<Policy>) -> bool {
        self.policies.add(from, policy)
    }

    pub fn stats(&self) -> EngineStats {
        EngineStats {
            conversations: self.conversations.len(),
            open_clocks: self
                .conversations
                .values()
                .map(|c| usize::from(c.clock.is_some()) + usize::from(c.resolution.is_some()))
                .sum(),
            timers: self.timers.len(),
            duplicates_ignored: self.duplicates_ignored,
        }
    }

    /// The open reply clock of conversation `key` (`tenant/conversation_id`) as it stands
    /// at `at`, if it has one.
    pub fn clock(&self, key: &str, at: EventTime) -> Option<ClockView> {
        Self::view(self.conversations.get(key)?.clock.as_ref()?, at)
    }

    /// The open resolution clock of conversation `key` as it stands at `at`, if it has one.
    pub fn resolution_clock(&self, key: &str, at: EventTime) -> Option<ClockView> {
        Self::view(self.conversations.get(key)?.resolution.as_ref()?, at)
    }

    fn view(clock: &Clock, at: EventTime) -> Option<ClockView> {
        let (calendar_ms, business_ms) = Self::counted(clock, at);
        let mut due: Vec<(EventTime, f64)> = clock
            .scheduled
            .iter()
            .map(|(t, s)| (*t, clock.fraction(*s)))
            .collect();
        due.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        Some(ClockView {
            id: clock.id.clone(),
            kind: clock.kind,
            customer_event_id: clock.customer_event_id.clone(),
            customer_at: clock.customer_at,
            policy: Arc::clone(&clock.policy),
            target: clock.target,
            calendar_ms,
            business_ms,
            running_since: clock.running_since,
            due,
            fired: clock.fired.iter().map(|s| clock.fraction(*s)).collect(),
        })
    }

    /// The conversation's context as the engine knows it (channel, queue, priority, tier).
    pub fn context(&self, key: &str) -> Option<&ConversationContext> {
        self.conversations.get(key).map(|c| &c.context)
    }

    /// The earliest pending timer, if any.
    pub fn next_due(&self) -> Option<EventTime> {
        self.timers.first().map(|t| t.0)
    }

    /// Applies one event and returns the facts it produced, after the facts of any timer that
    /// came due before it.
    /// Takes one event and returns the facts that became final: those of events and timers
    /// now further than the allowed lateness behind the newest event time seen.
    ///
    /// Events wait in a buffer until then and are applied in event-time order (ties by event
    /// id), so any arrival order within the lateness gives the same facts. An event later than
    /// that is applied at once, in arrival order.
    pub fn apply(&mut self, event: &Event) -> Vec<SlaFact> {
        let at = event.at();
        self.pending
            .insert((at, event.id().to_string()), event.clone());
        self.advance(at)
    }

    /// Moves event time forward to `now` without an event (live mode: the service's clock
    /// says time has passed) and returns the facts that became final.
    pub fn advance(&mut self, now: EventTime) -> Vec<SlaFact> {
        let mut out = Vec::new();
        if now > self.watermark {
            self.watermark = now;
        }
        let horizon = EventTime(
            self.watermark
                .millis()
                .saturating_sub(self.allowed_lateness_ms),
        );
        while let Some(entry) = self.pending.first_entry() {
            if entry.key().0 > horizon {
                break;
            }
            let event = entry.remove();
            self.fire_until(event.at(), &mut out);
            self.process(&event, &mut out);
        }
        self.fire_until(horizon, &mut out);
        out
    }

    /// Events taken but not applied yet (younger than the allowed lateness).
    pub fn buffered(&self) -> usize {
        self.pending.len()
    }

    fn process(&mut self, event: &Event, out: &mut Vec<SlaFact>) {
        let at = event.at();
        let key = event.key().as_str().to_string();
        let env = &event.envelope;
        let conv = self
            .conversations
            .entry(key.clone())
            .or_insert_with(|| Conversation {
                context: ConversationContext::new(
                    env.tenant.as_str(),
                    env.conversation_id.as_str(),
                    env.channel,
                ),
                status: ConversationStatus::Open,
                replied_before: false,
                clock: None,
                resolution: None,
                seen: HashSet::new(),
            });
        if !conv.seen.insert(id_hash(event.id())) {
            self.duplicates_ignored += 1;
            return;
        }
        // The version in force now rules what has no clock yet; a running clock keeps its own.
        let policy = Arc::clone(self.policies.in_force(at));
        let timers = &mut self.timers;
        match &event.payload {
            Payload::CustomerMessage { customer_tier, .. } => {
                if let Some(tier) = customer_tier {
                    conv.context.customer_tier = tier.to_string();
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
                let targets = policy.targets_in(&conv.context).0;
                match &mut conv.clock {
                    Some(clock) => Self::resume(timers, &key, clock, at),
                    None => {
                        let (kind, target) = if conv.replied_before {
                            (ReplyKind::Next, targets.next_reply)
                        } else {
                            (ReplyKind::First, targets.first_reply)
                        };
                        let id = fact_id("clk", &[&key, event.id()]);
                        conv.clock =
                            Some(Self::start(timers, &key, id, kind, event, &policy, target));
                    }
                }
                match &mut conv.resolution {
                    Some(clock) => Self::resume(timers, &key, clock, at),
                    None => {
                        if let Some(target) = targets.resolution {
                            conv.resolution =
                                Some(Self::start_resolution(timers, &key, event, &policy, target));
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
                let rules = conv.clock.as_ref().map_or(&policy, |c| &c.policy);
                let counts = (*author == AuthorKind::Human || rules.count_bot_replies)
                    && (*visibility == Visibility::Public || rules.count_private_notes);
                if counts {
                    if let Some(mut clock) = conv.clock.take() {
                        let agent = agent_id.as_ref().map(|a| a.to_string()).unwrap_or_default();
                        out.push(Self::stop(
                            timers,
                            &key,
                            &mut clock,
                            &conv.context,
                            event,
                            agent,
                        ));
                    }
                    conv.replied_before = true;
                }
            }
            Payload::StatusChanged(status) => {
                let status = *status;
                conv.status = status;
                let done = matches!(
                    status,
                    ConversationStatus::Solved | ConversationStatus::Closed
                );
                if done {
                    // Solved without a reply: nothing is owed any more.
                    if let Some(mut clock) = conv.clock.take() {
                        Self::unschedule(timers, &key, &mut clock);
                    }
                    // Solved: the resolution time is measured.
                    if let Some(mut clock) = conv.resolution.take() {
                        out.push(Self::stop(
                            timers,
                            &key,
                            &mut clock,
                            &conv.context,
                            event,
                            String::new(),
                        ));
                    }
                } else {
                    for clock in [&mut conv.clock, &mut conv.resolution]
                        .into_iter()
                        .flatten()
                    {
                        if clock.policy.pauses(status) {
                            Self::pause(timers, &key, clock, at);
                        } else {
                            Self::resume(timers, &key, clock, at);
                        }
                    }
                    // Reopened with no clock: working on it again counts toward resolution.
                    if status == ConversationStatus::Reopened
                        && conv.resolution.is_none()
                        && let Some(target) = policy.targets_in(&conv.context).0.resolution
                    {
                        conv.resolution =
                            Some(Self::start_resolution(timers, &key, event, &policy, target));
                    }
                }
            }
            Payload::AssignmentChanged { queue, .. } => {
                if let Some(q) = queue {
                    conv.context.queue = q.to_string();
                }
            }
            Payload::PriorityChanged(p) => conv.context.priority = *p,
        }
    }

    /// A clock started by `event`, its timers scheduled.
    fn start(
        timers: &mut BTreeSet<(EventTime, String, TimerSlot)>,
        key: &str,
        id: String,
        kind: ReplyKind,
        event: &Event,
        policy: &Arc<Policy>,
        target: Target,
    ) -> Clock {
        let mut clock = Clock {
            id,
            kind,
            customer_event_id: event.id().to_string(),
            customer_at: event.at(),
            policy: Arc::clone(policy),
            target,
            acc_calendar_ms: 0,
            acc_business_ms: 0,
            running_since: Some(event.at()),
            fired: BTreeSet::new(),
            scheduled: Vec::new(),
        };
        Self::schedule(timers, key, &mut clock);
        clock
    }

    /// A resolution clock started by `event`.
    fn start_resolution(
        timers: &mut BTreeSet<(EventTime, String, TimerSlot)>,
        key: &str,
        event: &Event,
        policy: &Arc<Policy>,
        target: Target,
    ) -> Clock {
        let id = fact_id("res", &[key, event.id()]);
        Self::start(
            timers,
            key,
            id,
            ReplyKind::Resolution,
            event,
            policy,
            target,
        )
    }

    /// Stops a running clock at `at`, keeping what it counted.
    fn pause(
        timers: &mut BTreeSet<(EventTime, String, TimerSlot)>,
        key: &str,
        clock: &mut Clock,
        at: EventTime,
    ) {
        if let Some(since) = clock.running_since.take() {
            clock.acc_calendar_ms += (at.millis() - since.millis()).max(0);
            clock.acc_business_ms += clock.policy.calendar.business_ms(since, at);
            Self::unschedule(timers, key, clock);
        }
    }

    /// Runs a paused clock again from `at`.
    fn resume(
        timers: &mut BTreeSet<(EventTime, String, TimerSlot)>,
        key: &str,
        clock: &mut Clock,
        at: EventTime,
    ) {
        if clock.running_since.is_none() {
            clock.running_since = Some(at);
            Self::schedule(timers, key, clock);
        }
    }

    /// Ends a clock with `event` (the reply, or the status that solved the conversation) and
    /// measures it.
    fn stop(
        timers: &mut BTreeSet<(EventTime, String, TimerSlot)>,
        key: &str,
        clock: &mut Clock,
        context: &ConversationContext,
        event: &Event,
        agent_id: String,
    ) -> SlaFact {
        let at = event.at();
        Self::unschedule(timers, key, clock);
        let (calendar_ms, business_ms) = Self::counted(clock, at);
        let counted = match clock.target.basis {
            Basis::Calendar => calendar_ms,
            Basis::Business => business_ms,
        };
        SlaFact::Latency(ReplyLatency {
            fact_id: fact_id("lat", &[&clock.id, event.id()]),
            clock_id: clock.id.clone(),
            context: context.clone(),
            kind: clock.kind,
            customer_event_id: clock.customer_event_id.clone(),
            customer_at: clock.customer_at,
            reply_event_id: event.id().to_string(),
            replied_at: at,
            agent_id,
            calendar_ms,
            business_ms,
            target_ms: clock.target.ms,
            met: counted <= clock.target.ms,
            policy_version: clock.policy.version.clone(),
        })
    }

    /// Calendar and business time counted by a clock up to `at`.
    fn counted(clock: &Clock, at: EventTime) -> (i64, i64) {
        match clock.running_since {
            Some(since) => (
                clock.acc_calendar_ms + (at.millis() - since.millis()).max(0),
                clock.acc_business_ms + clock.policy.calendar.business_ms(since, at),
            ),
            None => (clock.acc_calendar_ms, clock.acc_business_ms),
        }
    }

    /// Schedules the clock's outstanding timers from its running start.
    fn schedule(
        timers: &mut BTreeSet<(EventTime, String, TimerSlot)>,
        key: &str,
        clock: &mut Clock,
    ) {
        let Some(since) = clock.running_since else {
            return;
        };
        let policy = Arc::clone(&clock.policy);
        let fractions = policy
            .warn_at
            .iter()
            .enumerate()
            .map(|(i, f)| (i as TimerSlot, *f))
            .chain(std::iter::once((BREACH, 1.0)));
        for (index, fraction) in fractions {
            let slot = clock.slot(index);
            if clock.fired.contains(&slot) {
                continue;
            }
            let due_ms = (clock.target.ms as f64 * fraction).round() as i64;
            let due = match clock.target.basis {
                Basis::Calendar => Some(since.plus_millis((due_ms - clock.acc_calendar_ms).max(0))),
                Basis::Business => policy
                    .calendar
                    .add_business(since, (due_ms - clock.acc_business_ms).max(0)),
            };
            if let Some(due) = due {
                timers.insert((due, key.to_string(), slot));
                clock.scheduled.push((due, slot));
            }
        }
    }

    fn unschedule(
        timers: &mut BTreeSet<(EventTime, String, TimerSlot)>,
        key: &str,
        clock: &mut Clock,
    ) {
        for (due, slot) in clock.scheduled.drain(..) {
            timers.remove(&(due, key.to_string(), slot));
        }
    }

    /// Fires every timer due strictly before `until`: a reply at the very deadline is in time.
    fn fire_until(&mut self, until: EventTime, out: &mut Vec<SlaFact>) {
        while let Some((due, key, slot)) = self.timers.first().cloned() {
            if due >= until {
                break;
            }
            self.timers.pop_first();
            let Some(conv) = self.conversations.get_mut(&key) else {
                continue;
            };
            let clock = if slot & RESOLUTION != 0 {
                conv.resolution.as_mut()
            } else {
                conv.clock.as_mut()
            };
            let Some(clock) = clock else {
                continue;
            };
            clock.scheduled.retain(|s| *s != (due, slot));
            if !clock.fired.insert(slot) {
                continue;
            }
            let version = clock.policy.version.clone();
            if slot & !RESOLUTION == BREACH {
                out.push(SlaFact::Breach(SlaBreach {
                    fact_id: fact_id("brk", &[&clock.id]),
                    clock_id: clock.id.clone(),
                    context: conv.context.clone(),
                    kind: clock.kind,
                    customer_event_id: clock.customer_event_id.clone(),
                    customer_at: clock.customer_at,
                    deadline: due,
                    target_ms: clock.target.ms,
                    policy_version: version,
                }));
            } else {
                let fraction = clock.fraction(slot);
                out.push(SlaFact::Warning(SlaWarning {
                    fact_id: fact_id("wrn", &[&clock.id, &slot.to_string()]),
                    clock_id: clock.id.clone(),
                    context: conv.context.clone(),
                    kind: clock.kind,
                    customer_event_id: clock.customer_event_id.clone(),
                    customer_at: clock.customer_at,
                    due_at: due,
                    fraction,
                    target_ms: clock.target.ms,
                    policy_version: version,
                }));
            }
        }
    }
}
