//! Escalation: turn SLA verdicts, unhappy customers, reopened conversations and repeat
//! contacts into escalations that climb a ladder of levels until someone acts.
//!
//! Pure and deterministic. An escalation's id is derived from the fact that triggered it, the
//! rule and the level, so re-processing the same facts after a restart raises nothing new.
//! Time is event time: a ladder's next level is due at its trigger's time plus the level's
//! delay (in calendar or business time), and is raised by [`Escalator::advance`] once the
//! caller's clock passes that instant, unless the ladder was stopped before it: acknowledged
//! or resolved ([`Escalator::stop`]), answered (the SLA clock it was raised for got its reply),
//! the conversation solved or closed, or the verdict behind it withdrawn by an SLA correction.

pub mod rules;

pub use rules::{DEFAULT_RULES_TOML, Filter, Level, Rule, RuleSet, RulesError, Trigger};

use hashbrown::HashTable;
use pronto_domain::{
    ConversationContext, ConversationKey, ConversationStatus, EscalationFact, EscalationRaised,
    EscalationRecord, EscalationWithdrawn, Event, EventTime, Name, Payload, Polarity, Record,
    SentimentTag, SlaFact, digest128, fact_id_of, id_bits,
};
use rustc_hash::FxHashMap as HashMap;
use std::collections::{BTreeSet, VecDeque};

type ConvKey = (Name, Name);

/// What the escalator remembers of a conversation.
struct Conv {
    ctx: ConversationContext,
    /// Scores of the latest customer messages, newest last (as many as the longest streak
    /// rule needs, plus one).
    recent: VecDeque<f64>,
    /// When it was solved or closed, latest last (a few are kept).
    closes: Vec<EventTime>,
    /// Ladders started in it, as indexes into the escalator's ladders.
    ladders: Vec<u32>,
    /// The first customer message seen in it.
    first_message: Option<EventTime>,
}

/// Whether `conv` is conversation `id` of `tenant`.
fn is_of(conv: &Conv, tenant: &str, id: &str) -> bool {
    conv.ctx.conversation_id == id && conv.ctx.tenant == tenant
}

/// What `conv` is found by in [`Escalator::conv_index`].
fn conv_hash(conv: &Conv) -> u64 {
    ConversationKey::hash_of(&conv.ctx.tenant, &conv.ctx.conversation_id)
}

/// One ladder: the levels a rule raises for one trigger.
struct Ladder {
    rule: usize,
    context: ConversationContext,
    start: EventTime,
    trigger_ids: Vec<String>,
    reason: String,
    /// Escalation id of each step, as the bits the id is written from ([`esc_id`]); the first
    /// is the ladder's id.
    ids: Vec<u128>,
    /// When each step is due; `None` when the calendar never opens.
    due: Vec<Option<EventTime>>,
    /// Steps raised so far: `0..raised`.
    raised: usize,
    /// The earliest instant the ladder was stopped at.
    stopped: Option<EventTime>,
    withdrawn: bool,
}

/// Applies a [`RuleSet`] to the facts and events of many conversations.
pub struct Escalator {
    rules: RuleSet,
    /// Conversations, in the order first met.
    convs: Vec<Conv>,
    /// Where each conversation is in `convs`, by the hash of its tenant and id
    /// ([`ConversationKey::hash_of`]): the table holds only positions, so a lookup reads
    /// the conversation itself, which its caller reads next anyway, to tell keys apart.
    conv_index: HashTable<u32>,
    /// The conversation met last: an event, its tag and its verdicts mostly come together,
    /// and then need no lookup.
    last_conv: Option<u32>,
    /// Per tenant and customer: the conversations they started, as (first message time,
    /// conversation, first message event id), within the longest repeat-contact window.
    customers: HashMap<ConvKey, Vec<(EventTime, String, String)>>,
    /// Ladders in the order started. Ids are kept as the 128 bits they are written from
    /// (an escalation id is `esc-` and those bits in hex), other facts' ids as [`id_bits`].
    ladders: Vec<Ladder>,
    /// Where each ladder is in `ladders`, by its id.
    ladder_index: HashMap<u128, u32>,
    /// Steps waiting for their due time: (due, ladder id, ladder, step). Ladder ids order
    /// as the ids written out do.
    queue: BTreeSet<(EventTime, u128, u32, usize)>,
    /// Escalation id of any step -> its ladder.
    step_of: HashMap<u128, u32>,
    /// Acknowledgements and resolutions by escalation id, kept also for steps not raised yet.
    stops: HashMap<u128, EventTime>,
    /// SLA fact id -> ladders it started (so a correction withdraws them).
    by_fact: HashMap<u128, Vec<u32>>,
    /// SLA clock id -> ladders started by its warnings and breaches (its reply stops them).
    by_clock: HashMap<u128, Vec<u32>>,
    now: EventTime,
    streak_window: usize,
    pruned_at: EventTime,
    effective_from: EventTime,
}

impl Default for Escalator {
    fn default() -> Self {
        Self::new(RuleSet::builtin())
    }
}

impl Escalator {
    pub fn new(rules: RuleSet) -> Self {
        let streak_window = rules
            .rules
            .iter()
            .filter_map(|r| match r.trigger {
                Trigger::NegativeStreak { count, .. } => Some(count as usize + 1),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        Self {
            rules,
            convs: Vec::new(),
            conv_index: HashTable::new(),
            last_conv: None,
            customers: HashMap::default(),
            ladders: Vec::new(),
            ladder_index: HashMap::default(),
            queue: BTreeSet::new(),
            step_of: HashMap::default(),
            stops: HashMap::default(),
            by_fact: HashMap::default(),
            by_clock: HashMap::default(),
            now: EventTime(i64::MIN),
            streak_window,
            pruned_at: EventTime(i64::MIN),
            effective_from: EventTime(i64::MIN),
        }
    }

    /// Triggers before `from` start no ladder: they were judged by an earlier rules version.
    pub fn with_effective_from(mut self, from: EventTime) -> Self {
        self.set_effective_from(from);
        self
    }

    /// See [`Escalator::with_effective_from`].
    pub fn set_effective_from(&mut self, from: EventTime) {
        self.effective_from = from;
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Makes room for about `conversations` conversations and their ladders (in the
    /// simulated sample, two for every three conversations, of two levels), so that a run
    /// over a known range (a replay) does not grow its maps step by step. Only the speed
    /// depends on it.
    pub fn reserve(&mut self, conversations: usize) {
        self.convs.reserve(conversations);
        let convs = &self.convs;
        self.conv_index
            .reserve(conversations, |&i| conv_hash(&convs[i as usize]));
        let ladders = conversations.saturating_mul(2) / 3;
        self.ladders.reserve(ladders);
        self.ladder_index.reserve(ladders);
        self.step_of.reserve(ladders.saturating_mul(2));
        self.by_fact.reserve(ladders);
        self.by_clock.reserve(ladders);
    }

    /// Steps scheduled and not yet due.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Where conversation `tenant`/`id` is in `convs`, if met.
    fn position(&self, tenant: &str, id: &str) -> Option<u32> {
        match self.last_conv {
            Some(i) if is_of(&self.convs[i as usize], tenant, id) => Some(i),
            _ => self
                .conv_index
                .find(ConversationKey::hash_of(tenant, id), |&i| {
                    is_of(&self.convs[i as usize], tenant, id)
                })
                .copied(),
        }
    }

    /// The conversation of `ctx`, made from it when first met.
    fn conv(&mut self, ctx: &ConversationContext) -> &mut Conv {
        let i = match self.position(&ctx.tenant, &ctx.conversation_id) {
            Some(i) => i,
            None => {
                let i = u32::try_from(self.convs.len()).expect("fewer than 2^32 conversations");
                let convs = &self.convs;
                self.conv_index.insert_unique(
                    ConversationKey::hash_of(&ctx.tenant, &ctx.conversation_id),
                    i,
                    |&i| conv_hash(&convs[i as usize]),
                );
                self.convs.push(Conv {
                    ctx: ctx.clone(),
                    recent: VecDeque::new(),
                    closes: Vec::new(),
                    ladders: Vec::new(),
                    first_message: None,
                });
                i
            }
        };
        self.last_conv = Some(i);
        &mut self.convs[i as usize]
    }

    /// The conversation `tenant`/`id`, if met.
    fn find_conv(&mut self, tenant: &Name, id: &Name) -> Option<&mut Conv> {
        let i = self.position(tenant, id)?;
        Some(&mut self.convs[i as usize])
    }

    /// Folds one record of any input topic: events, SLA facts and tags may raise or stop
    /// ladders; an acknowledgement or resolution stops its ladder; anything else changes
    /// nothing.
    pub fn on_record(&mut self, r: &Record) -> Vec<EscalationFact> {
        match r {
            Record::Event(e) => self.on_event(e),
            Record::Sla(f) => self.on_sla(f),
            Record::Tag(t) => self.on_tag(t),
            Record::Escalation(EscalationRecord::Handled(h)) => {
                self.stop(&h.escalation_id, h.at);
                Vec::new()
            }
            Record::Escalation(_) | Record::Policy(_) => Vec::new(),
        }
    }

    /// An interaction event: keeps the conversation's queue, priority and tier current; a
    /// solve or close stops its ladders; a reopen and a repeat contact trigger rules.
    pub fn on_event(&mut self, e: &Event) -> Vec<EscalationFact> {
        let env = &e.envelope;
        let at = e.at();
        let base = ConversationContext::new(
            env.tenant.as_str(),
            env.conversation_id.as_str(),
            env.channel,
        );
        let conv = self.conv(&base);
        match &e.payload {
            Payload::AssignmentChanged { queue: Some(q), .. } => conv.ctx.queue = q.as_str().into(),
            Payload::PriorityChanged(p) => conv.ctx.priority = *p,
            Payload::CustomerMessage {
                customer_tier: Some(t),
                ..
            } => conv.ctx.customer_tier = t.as_str().into(),
            _ => {}
        }
        let mut out = Vec::new();
        match &e.payload {
            Payload::StatusChanged(ConversationStatus::Solved | ConversationStatus::Closed) => {
                let conv = self.conv(&base);
                conv.closes.push(at);
                conv.closes.sort_unstable();
                if conv.closes.len() > 8 {
                    conv.closes.remove(0);
                }
                let ladders = std::mem::take(&mut conv.ladders);
                for &i in &ladders {
                    stop_ladder(&mut self.ladders[i as usize], at);
                }
                self.conv(&base).ladders = ladders;
            }
            Payload::StatusChanged(ConversationStatus::Reopened) => {
                let ctx = self.conv(&base).ctx.clone();
                for i in self.matching(&ctx, |t| matches!(t, Trigger::Reopened)) {
                    out.extend(self.start(
                        i,
                        &ctx,
                        at,
                        &format!("event:{}", e.id()),
                        vec![e.id().to_string()],
                        None,
                        format!("conversation reopened at {at}"),
                    ));
                }
            }
            Payload::CustomerMessage { customer_id, .. } if self.rules.repeat_horizon_ms > 0 => {
                let conv = self.conv(&base);
                if conv.first_message.is_none() {
                    conv.first_message = Some(at);
                    out.extend(self.repeat_contact(
                        (env.tenant.as_str().into(), customer_id.as_str().into()),
                        at,
                        env.conversation_id.as_str(),
                        e.id(),
                    ));
                }
            }
            _ => {}
        }
        out
    }

    /// A conversation's first customer message: it, or a conversation of the same customer
    /// started shortly after it (seen before it), may be a repeat contact. Whichever order
    /// the two arrive in, the later conversation is the repeat.
    fn repeat_contact(
        &mut self,
        customer: ConvKey,
        at: EventTime,
        conversation: &str,
        event_id: &str,
    ) -> Vec<EscalationFact> {
        let tenant = customer.0.clone();
        let list = self.customers.entry(customer.clone()).or_default();
        let earlier: Vec<EventTime> = list
            .iter()
            .filter(|(t, c, _)| *t < at && c != conversation)
            .map(|(t, _, _)| *t)
            .collect();
        let later: Vec<(EventTime, String, String)> = list
            .iter()
            .filter(|(t, c, _)| *t > at && c != conversation)
            .cloned()
            .collect();
        list.push((at, conversation.to_string(), event_id.to_string()));
        let mut out = Vec::new();
        let rules: Vec<(usize, i64)> = self
            .rules
            .rules
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match r.trigger {
                Trigger::RepeatContact { within_ms } => Some((i, within_ms)),
                _ => None,
            })
            .collect();
        let mut candidates = Vec::new();
        // This conversation repeats an earlier one...
        for &(i, within) in &rules {
            if earlier
                .iter()
                .any(|t| at.millis().saturating_sub(t.millis()) <= within)
            {
                candidates.push((
                    i,
                    within,
                    at,
                    conversation.to_string(),
                    event_id.to_string(),
                ));
            }
            // ...and later ones already seen repeat this one.
            for (t, c, ev) in &later {
                if t.millis().saturating_sub(at.millis()) <= within {
                    candidates.push((i, within, *t, c.clone(), ev.clone()));
                }
            }
        }
        for (i, within, t, c, ev) in candidates {
            let Some(ctx) = self
                .find_conv(&tenant, &Name::from(c.as_str()))
                .map(|c| c.ctx.clone())
            else {
                continue;
            };
            if !self.rules.rules[i].filter.matches(&ctx) {
                continue;
            }
            out.extend(self.start(
                i,
                &ctx,
                t,
                &format!("event:{ev}"),
                vec![ev.clone()],
                None,
                format!(
                    "customer {} started this conversation within {} of another one",
                    customer.1,
                    human_duration(within)
                ),
            ));
        }
        out
    }

    /// An SLA verdict: warnings and breaches trigger rules; a reply stops the ladders of its
    /// clock; a correction withdraws the escalations of the verdict it corrects.
    pub fn on_sla(&mut self, fact: &SlaFact) -> Vec<EscalationFact> {
        let ctx = fact.context().clone();
        {
            // The SLA engine's view of queue, priority and tier is authoritative.
            let conv = self.conv(&ctx);
            conv.ctx = ctx.clone();
        }
        let mut out = Vec::new();
        match fact {
            SlaFact::Latency(l) => {
                for &i in self
                    .by_clock
                    .get(&id_bits(&l.clock_id))
                    .into_iter()
                    .flatten()
                {
                    stop_ladder(&mut self.ladders[i as usize], l.replied_at);
                }
            }
            SlaFact::Breach(b) => {
                let hits = self.matching(&ctx, |t| match t {
                    Trigger::SlaBreach { kinds } => kinds.is_empty() || kinds.contains(&b.kind),
                    _ => false,
                });
                for i in hits {
                    out.extend(self.start(
                        i,
                        &ctx,
                        b.deadline,
                        &b.fact_id,
                        vec![b.fact_id.clone(), b.customer_event_id.to_string()],
                        Some((&b.fact_id, &b.clock_id)),
                        format!(
                            "no {} reply within {} (deadline {}, SLA policy {})",
                            b.kind,
                            human_duration(b.target_ms),
                            b.deadline,
                            b.policy_version
                        ),
                    ));
                }
            }
            SlaFact::Warning(w) => {
                let hits = self.matching(&ctx, |t| match t {
                    Trigger::SlaWarning { kinds, at_least } => {
                        (kinds.is_empty() || kinds.contains(&w.kind)) && w.fraction >= *at_least
                    }
                    _ => false,
                });
                for i in hits {
                    out.extend(self.start(
                        i,
                        &ctx,
                        w.due_at,
                        &w.fact_id,
                        vec![w.fact_id.clone(), w.customer_event_id.to_string()],
                        Some((&w.fact_id, &w.clock_id)),
                        format!(
                            "{:.0}% of the {} {} reply target passed with no reply (SLA policy {})",
                            w.fraction * 100.0,
                            human_duration(w.target_ms),
                            w.kind,
                            w.policy_version
                        ),
                    ));
                }
            }
            SlaFact::Correction(c) => {
                for &i in self
                    .by_fact
                    .get(&id_bits(&c.corrects_fact_id))
                    .into_iter()
                    .flatten()
                {
                    let l = &mut self.ladders[i as usize];
                    if l.withdrawn {
                        continue;
                    }
                    l.withdrawn = true;
                    for step in 0..l.raised {
                        out.push(EscalationFact::Withdrawn(EscalationWithdrawn {
                            escalation_id: esc_id(l.ids[step]),
                            ladder_id: esc_id(l.ids[0]),
                            context: l.context.clone(),
                            correction_id: c.fact_id.clone(),
                            reason: format!(
                                "the {} it answered was corrected: {}",
                                c.corrects_kind, c.reason
                            ),
                            at: c.occurred_at,
                        }));
                    }
                }
            }
        }
        out
    }

    /// A sentiment tag of a customer message: an unhappy message, or the last of a negative
    /// streak, triggers rules. Agents' replies and re-scored history never escalate.
    pub fn on_tag(&mut self, tag: &SentimentTag) -> Vec<EscalationFact> {
        if tag.reply || tag.rescored {
            return Vec::new();
        }
        let base = ConversationContext::new(&tag.tenant, &tag.conversation_id, tag.channel);
        let window = self.streak_window;
        let conv = self.conv(&base);
        let score = if tag.polarity == Polarity::Negative {
            tag.score
        } else {
            tag.score.max(0.0)
        };
        if window > 0 {
            conv.recent.push_back(score);
            while conv.recent.len() > window {
                conv.recent.pop_front();
            }
        }
        let recent = conv.recent.clone();
        let ctx = conv.ctx.clone();
        let negative = tag.polarity == Polarity::Negative;
        let hits = self.matching(&ctx, |t| match t {
            Trigger::Unhappy { tones, threshold } => {
                tag.tones.iter().any(|t| tones.iter().any(|x| x == t))
                    || (negative && tag.score <= *threshold)
            }
            Trigger::NegativeStreak { count, threshold } => {
                let run = recent
                    .iter()
                    .rev()
                    .take_while(|s| **s <= *threshold)
                    .count();
                negative && run == *count as usize
            }
            _ => false,
        });
        let mut out = Vec::new();
        for i in hits {
            let reason = match &self.rules.rules[i].trigger {
                Trigger::NegativeStreak { count, .. } => format!(
                    "{count} negative customer messages in a row, the last {} scored {:.2}",
                    tag.event_id, tag.score
                ),
                _ => format!(
                    "customer message {} scored {:.2} ({}{})",
                    tag.event_id,
                    tag.score,
                    tag.polarity,
                    if tag.tones.is_empty() {
                        String::new()
                    } else {
                        format!("; {}", tag.tones.join(", "))
                    }
                ),
            };
            out.extend(self.start(
                i,
                &ctx,
                tag.occurred_at,
                &tag.fact_id,
                vec![tag.fact_id.clone(), tag.event_id.to_string()],
                None,
                reason,
            ));
        }
        out
    }

    /// An escalation acknowledged or resolved at `at`: its ladder climbs no further than the
    /// levels due by then. Known before the escalation is raised (when its log is read back on
    /// a restart), it is applied when the ladder starts.
    pub fn stop(&mut self, escalation_id: &str, at: EventTime) {
        // Only an escalation id can name a step.
        let Some(bits) = esc_bits(escalation_id) else {
            return;
        };
        let known = self.stops.entry(bits).or_insert(at);
        *known = (*known).min(at);
        if let Some(&i) = self.step_of.get(&bits) {
            stop_ladder(&mut self.ladders[i as usize], at);
        }
    }

    /// Raises every level due by `now` whose ladder was not stopped before it was due.
    pub fn advance(&mut self, now: EventTime) -> Vec<EscalationFact> {
        let mut out = Vec::new();
        self.advance_each(now, |f| out.push(f));
        out
    }

    /// [`Escalator::advance`], each escalation handed to `each` as it is raised: a caller
    /// with many due at once (a replay's end) holds none of them together.
    pub fn advance_each(&mut self, now: EventTime, mut each: impl FnMut(EscalationFact)) {
        self.now = self.now.max(now);
        while let Some(first) = self.queue.first() {
            if first.0 > self.now {
                break;
            }
            let (_, _, ladder, step) = self.queue.pop_first().expect("non-empty");
            if let Some(f) = self.raise(ladder, step) {
                each(f);
            }
        }
        self.prune();
    }

    /// Forgets customers' conversations older than any repeat-contact window can reach.
    fn prune(&mut self) {
        let horizon = self.rules.repeat_horizon_ms;
        if horizon == 0 || self.now.millis().saturating_sub(self.pruned_at.millis()) < horizon {
            return;
        }
        self.pruned_at = self.now;
        let keep_from = self.now.millis().saturating_sub(2 * horizon);
        self.customers.retain(|_, list| {
            list.retain(|(t, _, _)| t.millis() >= keep_from);
            !list.is_empty()
        });
    }

    /// The rules whose trigger satisfies `pred` and whose filter matches `ctx`.
    fn matching(&self, ctx: &ConversationContext, pred: impl Fn(&Trigger) -> bool) -> Vec<usize> {
        self.rules
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| pred(&r.trigger) && r.filter.matches(ctx))
            .map(|(i, _)| i)
            .collect()
    }

    /// Starts rule `i`'s ladder for a trigger at `start`; raises the levels due at once.
    #[allow(clippy::too_many_arguments)]
    fn start(
        &mut self,
        i: usize,
        ctx: &ConversationContext,
        start: EventTime,
        trigger_key: &str,
        trigger_ids: Vec<String>,
        sla: Option<(&str, &str)>,
        reason: String,
    ) -> Vec<EscalationFact> {
        let rule = &self.rules.rules[i];
        let ladder_bits = digest128("esc", &[trigger_key, &rule.name]);
        if start < self.effective_from || self.ladder_index.contains_key(&ladder_bits) {
            return Vec::new();
        }
        let ladder_id = esc_id(ladder_bits);
        let ids: Vec<u128> = (0..rule.levels.len())
            .map(|k| {
                if k == 0 {
                    ladder_bits
                } else {
                    digest128("esc", &[&ladder_id, &k.to_string()])
                }
            })
            .collect();
        let due: Vec<Option<EventTime>> = rule
            .levels
            .iter()
            .map(|l| {
                if l.business_hours {
                    self.rules.calendar.add_business(start, l.after_ms)
                } else {
                    Some(start.plus_millis(l.after_ms))
                }
            })
            .collect();
        let mut stopped = ids
            .iter()
            .filter_map(|id| self.stops.get(id).copied())
            .min();
        let index = u32::try_from(self.ladders.len()).expect("fewer than 2^32 ladders");
        if let Some(conv) = self.find_conv(&ctx.tenant, &ctx.conversation_id) {
            if let Some(close) = conv.closes.iter().find(|c| **c >= start) {
                stopped = Some(stopped.map_or(*close, |s| s.min(*close)));
            }
            conv.ladders.push(index);
        }
        for id in &ids {
            self.step_of.insert(*id, index);
        }
        if let Some((fact, clock)) = sla {
            self.by_fact.entry(id_bits(fact)).or_default().push(index);
            self.by_clock.entry(id_bits(clock)).or_default().push(index);
        }
        for (k, d) in due.iter().enumerate() {
            if let Some(d) = d
                && *d > start
            {
                self.queue.insert((*d, ladder_bits, index, k));
            }
        }
        self.ladder_index.insert(ladder_bits, index);
        let raise_now: Vec<usize> = (0..due.len()).filter(|k| due[*k] == Some(start)).collect();
        self.ladders.push(Ladder {
            rule: i,
            context: ctx.clone(),
            start,
            trigger_ids,
            reason,
            ids,
            due,
            raised: 0,
            stopped,
            withdrawn: false,
        });
        raise_now
            .into_iter()
            .filter_map(|k| self.raise(index, k))
            .collect()
    }

    /// Raises step `step` of a ladder, unless it was stopped before the step was due.
    fn raise(&mut self, ladder: u32, step: usize) -> Option<EscalationFact> {
        let l = &mut self.ladders[ladder as usize];
        let due = l.due[step]?;
        if l.withdrawn || l.raised != step || l.stopped.is_some_and(|s| s < due) {
            return None;
        }
        l.raised = step + 1;
        let rule = &self.rules.rules[l.rule];
        let level = &rule.levels[step];
        let mut reason = l.reason.clone();
        if step > 0 {
            reason = format!(
                "{reason}; not acknowledged {} after the trigger{}",
                human_duration(level.after_ms),
                if level.business_hours {
                    " (business hours)"
                } else {
                    ""
                }
            );
        }
        Some(EscalationFact::Raised(EscalationRaised {
            escalation_id: esc_id(l.ids[step]),
            context: l.context.clone(),
            level: level.name.clone(),
            step: step as u32,
            ladder_id: esc_id(l.ids[0]),
            recipients: level.notify.clone(),
            rule: rule.name.clone(),
            reason,
            trigger_ids: l.trigger_ids.clone(),
            raised_at: due,
            policy_version: self.rules.version.as_str().into(),
        }))
    }
}

/// Stops ladder `l` at `at`, unless that is before it started.
fn stop_ladder(l: &mut Ladder, at: EventTime) {
    if at >= l.start {
        l.stopped = Some(l.stopped.map_or(at, |s| s.min(at)));
    }
}

/// The escalation id written from `bits`.
fn esc_id(bits: u128) -> String {
    fact_id_of("esc", bits)
}

/// The bits escalation id `id` is written from; `None` for an id of another shape, which no
/// escalation has.
fn esc_bits(id: &str) -> Option<u128> {
    let hex = id.strip_prefix("esc-")?;
    pronto_domain::fact_id_bits(id).filter(|_| !hex.contains('-'))
}

fn human_duration(ms: i64) -> String {
    match ms {
        0 => "0 min".into(),
        ms if ms % 3_600_000 == 0 => format!("{} h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{} min", ms / 60_000),
        ms => format!("{} s", ms / 1000),
    }
}

#[cfg(test)]
mod tests;
