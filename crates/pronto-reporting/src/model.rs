//! The read model's state: one record per customer message, reply, verdict, tag and
//! escalation, each stored once under its id.

use hashbrown::HashTable;
use pronto_domain::{
    AuthorKind, Channel, ConversationKey, EscalationFact, EscalationRaised, EscalationRecord,
    EscalationState, Event, EventTime, Interner, Name, Payload, Polarity, Record, ReplyKind,
    SentimentTag, SlaFact, Visibility,
};
use rustc_hash::FxBuildHasher;
use std::collections::{HashMap, HashSet};

/// Maps and sets of the read model, hashed with FxHash: several times faster than the default
/// SipHash on short ids. The price: SipHash's keyed hashing resists ids crafted to collide,
/// FxHash does not, so a publisher with write access to the events topic could slow the read
/// model down by choosing its ids. Publishers are the operator's own integrations.
pub(crate) type Map<K, V> = HashMap<K, V, FxBuildHasher>;
pub(crate) type Set<K> = HashSet<K, FxBuildHasher>;

pub(crate) const NONE: &str = "(none)";

/// A customer message. Names (queue, agent) are symbols of the model's [`Names`]; the tenant
/// and conversation are the conversation's, by its index.
#[derive(Debug, Clone)]
pub(crate) struct MessageRec {
    pub(crate) conv: u32,
    pub(crate) channel: Channel,
    pub(crate) queue: u32,
    /// The agent who answered it, else the one assigned.
    pub(crate) agent: u32,
    pub(crate) at: EventTime,
    pub(crate) answered: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct ReplyRec {
    /// From the reply's sentiment tag, once it came.
    pub(crate) signed: Option<bool>,
    pub(crate) conv: u32,
    pub(crate) channel: Channel,
    pub(crate) queue: u32,
    pub(crate) agent: u32,
    pub(crate) at: EventTime,
}

#[derive(Debug, Clone)]
pub(crate) struct ClockRec {
    pub(crate) conv: u32,
    pub(crate) channel: Channel,
    pub(crate) queue: u32,
    pub(crate) agent: u32,
    pub(crate) customer_at: EventTime,
    pub(crate) kind: ReplyKind,
    /// Calendar and business latency, once a reply came.
    pub(crate) latency: Option<(i64, i64)>,
    pub(crate) met: Option<bool>,
    pub(crate) breached: bool,
    /// Hashes of the ids of the latency and breach counted, so that a correction takes back
    /// only the fact it names (a verdict announced again has a new id).
    pub(crate) latency_fact: u64,
    pub(crate) breach_fact: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct TagRec {
    pub(crate) conv: u32,
    pub(crate) channel: Channel,
    pub(crate) at: EventTime,
    pub(crate) polarity: Polarity,
    /// The model that produced the tag ("name version"), by its index in the model's names.
    pub(crate) model: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct EscalationRec {
    pub(crate) conv: u32,
    /// The level's name, as the escalation rules give it, by its index in the model's names.
    pub(crate) level: u32,
    pub(crate) rule: String,
    pub(crate) reason: String,
    /// open, acknowledged or resolved.
    pub(crate) state: EscalationState,
    pub(crate) channel: Channel,
    /// [`NONE_SYMBOL`] when the escalation did not know it: the conversation's is taken.
    pub(crate) queue: u32,
    pub(crate) at: EventTime,
}

/// The symbol of [`NONE`] in every interner of the read model.
pub(crate) const NONE_SYMBOL: u32 = Interner::FIRST;

/// An interner of the read model: its first symbol, [`NONE_SYMBOL`], is [`NONE`].
#[derive(Debug, Clone)]
pub(crate) struct Names(Interner);

impl Default for Names {
    fn default() -> Self {
        Self(Interner::new(NONE))
    }
}

impl std::ops::Deref for Names {
    type Target = Interner;

    fn deref(&self) -> &Interner {
        &self.0
    }
}

impl std::ops::DerefMut for Names {
    fn deref_mut(&mut self) -> &mut Interner {
        &mut self.0
    }
}

impl Names {
    /// The symbol of `name`, of [`NONE`] when it is empty.
    fn intern_or_none(&mut self, name: &str) -> u32 {
        if name.is_empty() {
            NONE_SYMBOL
        } else {
            self.intern(name)
        }
    }
}

/// A conversation: who it belongs to, and what the records read from it when they are made.
#[derive(Debug, Clone)]
pub(crate) struct ConversationRec {
    pub(crate) tenant: u32,
    /// Kept in place (as conversation ids are short): a lookup compares it without reading
    /// memory elsewhere.
    pub(crate) id: Name,
    queue: u32,
    /// The customer's tier, from their messages or the SLA engine's context.
    tier: u32,
    agent: u32,
    /// Customer messages not yet answered, by key into `messages`.
    unanswered: Vec<Key>,
}

/// What conversation `c` is found by in the read model's index.
fn conv_hash(names: &Interner, c: &ConversationRec) -> u64 {
    ConversationKey::hash_of(names.name(c.tenant), &c.id)
}

/// All that reports are computed from.
#[derive(Debug, Default)]
pub struct ReadModel {
    /// Events and facts folded in, by key.
    seen: Set<Key>,
    /// Conversations as indexes into `convs`, by the hash of their tenant and id
    /// ([`ConversationKey::hash_of`]): the table holds only positions, so a lookup reads the
    /// conversation itself, which its caller reads next anyway, to tell keys apart.
    conv_index: HashTable<u32>,
    pub(crate) convs: Vec<ConversationRec>,
    /// Customer messages, by event key.
    pub(crate) messages: Map<Key, MessageRec>,
    /// Public human replies, by event key.
    pub(crate) replies: Map<Key, ReplyRec>,
    /// Whether each reply tagged so far is signed, by event key; a tag may come before its
    /// reply.
    reply_signed: Map<Key, bool>,
    /// SLA clocks, by the key of their id.
    pub(crate) clocks: Map<Key, ClockRec>,
    /// Tags of customer messages, by event key.
    pub(crate) tags: Map<Key, TagRec>,
    pub(crate) escalations: Map<String, EscalationRec>,
    /// States of escalations read before the escalation itself.
    escalation_states: Map<String, EscalationState>,
    /// Escalations withdrawn, kept so that one read after its withdrawal is not counted.
    withdrawn: Set<String>,
    facts_seen: u64,
    /// Who works each queue and agent, for the outsourcer slice.
    pub(crate) outsourcers: crate::Outsourcers,
    /// Tenants, queues, agents and tiers.
    pub(crate) names: Names,
    /// Sentiment models ("name version") and escalation levels, as tags and escalations name
    /// them.
    pub(crate) models: Names,
    pub(crate) levels: Names,
    /// The conversation met last: records of one conversation mostly come together (an
    /// event, its tag, its verdicts), and then need no lookup.
    last_conv: Option<u32>,
    /// Room to spell a tag's model as "name version" before looking it up.
    model_key: String,
    /// The tenant, id and key of the event folded last: its tag, which mostly comes next,
    /// takes the key from here rather than hashing the two again.
    last_event: (String, String, Key),
}

impl ReadModel {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets who works each queue and agent: reports sliced by outsourcer follow it.
    pub fn set_outsourcers(&mut self, outsourcers: crate::Outsourcers) {
        self.outsourcers = outsourcers;
    }

    /// Makes room for the records of about `events` interaction events and the facts derived
    /// from them, so that a fold of a known range (a replay) does not grow its maps step by
    /// step: each growth copies a map into a fresh table the kernel has to zero. Sized for
    /// the mix of the simulated sample (per event about 1.6 facts, 0.4 customer messages,
    /// 0.3 replies, clocks and escalations, 0.25 conversations); any other mix still folds
    /// the same, growing where it needs more.
    pub fn reserve(&mut self, events: usize) {
        let share = |num: usize, den: usize| events.saturating_mul(num) / den;
        self.seen.reserve(share(27, 10));
        self.messages.reserve(share(2, 5));
        self.tags.reserve(share(2, 5));
        self.replies.reserve(share(1, 3));
        self.reply_signed.reserve(share(1, 3));
        self.clocks.reserve(share(3, 10));
        self.escalations.reserve(share(1, 4));
        self.convs.reserve(share(1, 4));
        let (convs, names) = (&self.convs, &self.names);
        self.conv_index
            .reserve(share(1, 4), |&i| conv_hash(names, &convs[i as usize]));
    }

    /// Inputs folded in, duplicates not counted.
    pub fn facts_seen(&self) -> u64 {
        self.facts_seen
    }

    fn first_time(&mut self, key: Key) -> bool {
        let fresh = self.seen.insert(key);
        if fresh {
            self.facts_seen += 1;
        }
        fresh
    }

    /// [`event_key`] of the event, kept for the next call.
    fn event_key(&mut self, tenant: &str, event_id: &str) -> Key {
        let (last_tenant, last_id, key) = &mut self.last_event;
        if *key == 0 || last_tenant != tenant || last_id != event_id {
            *key = event_key(tenant, event_id);
            last_tenant.clear();
            last_tenant.push_str(tenant);
            last_id.clear();
            last_id.push_str(event_id);
        }
        *key
    }

    /// The index of the conversation, made when first met.
    fn conv_of(&mut self, tenant: &str, conversation: &str) -> u32 {
        if let Some(last) = self.last_conv {
            let c = &self.convs[last as usize];
            if c.id == conversation && self.names.name(c.tenant) == tenant {
                return last;
            }
        }
        let i = self.find_or_add_conv(tenant, conversation);
        self.last_conv = Some(i);
        i
    }

    fn find_or_add_conv(&mut self, tenant: &str, conversation: &str) -> u32 {
        let hash = ConversationKey::hash_of(tenant, conversation);
        let (convs, names) = (&self.convs, &self.names);
        if let Some(&i) = self.conv_index.find(hash, |&i| {
            let c = &convs[i as usize];
            c.id == conversation && names.name(c.tenant) == tenant
        }) {
            return i;
        }
        let i = u32::try_from(self.convs.len()).expect("fewer than 2^32 conversations");
        let tenant = self.names.intern(tenant);
        let (convs, names) = (&self.convs, &self.names);
        self.conv_index
            .insert_unique(hash, i, |&i| conv_hash(names, &convs[i as usize]));
        self.convs.push(ConversationRec {
            tenant,
            id: Name::from(conversation),
            queue: NONE_SYMBOL,
            tier: NONE_SYMBOL,
            agent: NONE_SYMBOL,
            unanswered: Vec::new(),
        });
        i
    }

    /// The conversation's tenant and id.
    pub(crate) fn conv_names(&self, conv: u32) -> (&str, &str) {
        let c = &self.convs[conv as usize];
        (self.names.name(c.tenant), &c.id)
    }

    /// The conversation's customer tier, `(none)` when unknown.
    pub(crate) fn tier_of(&self, conv: u32) -> &str {
        self.names.name(self.convs[conv as usize].tier)
    }

    /// The conversation's queue symbol.
    pub(crate) fn queue_of(&self, conv: u32) -> u32 {
        self.convs[conv as usize].queue
    }

    /// Folds an interaction event. Events of one conversation arrive in order (one partition).
    pub fn apply_event(&mut self, e: &Event) {
        let env = &e.envelope;
        let tenant = env.tenant.as_str();
        let key = self.event_key(tenant, env.event_id.as_str());
        if !self.first_time(key) {
            return;
        }
        let ci = self.conv_of(tenant, env.conversation_id.as_str());
        match &e.payload {
            Payload::CustomerMessage { customer_tier, .. } => {
                if let Some(t) = customer_tier {
                    self.convs[ci as usize].tier = self.names.intern(t.as_str());
                }
                let conv = &mut self.convs[ci as usize];
                conv.unanswered.push(key);
                self.messages.insert(
                    key,
                    MessageRec {
                        conv: ci,
                        channel: env.channel,
                        queue: conv.queue,
                        agent: conv.agent,
                        at: env.occurred_at,
                        answered: false,
                    },
                );
            }
            Payload::ReplySent {
                author,
                visibility,
                agent_id,
                ..
            } => {
                if *visibility != Visibility::Public {
                    return;
                }
                let agent = self
                    .names
                    .intern_or_none(agent_id.as_ref().map_or("", |a| a.as_str()));
                let conv = &mut self.convs[ci as usize];
                // Any public reply, human or bot, answers the waiting messages.
                for id in conv.unanswered.drain(..) {
                    if let Some(m) = self.messages.get_mut(&id) {
                        m.answered = true;
                        if agent != NONE_SYMBOL {
                            m.agent = agent;
                        }
                    }
                }
                if *author == AuthorKind::Human {
                    let signed = self.reply_signed.get(&key).copied();
                    self.replies.insert(
                        key,
                        ReplyRec {
                            signed,
                            conv: ci,
                            channel: env.channel,
                            queue: conv.queue,
                            agent,
                            at: env.occurred_at,
                        },
                    );
                }
            }
            Payload::AssignmentChanged { queue, agent_id } => {
                if let Some(q) = queue {
                    self.convs[ci as usize].queue = self.names.intern(q.as_str());
                }
                self.convs[ci as usize].agent = self
                    .names
                    .intern_or_none(agent_id.as_ref().map_or("", |a| a.as_str()));
            }
            Payload::StatusChanged(_) | Payload::PriorityChanged(_) | Payload::Merged { .. } => {}
        }
    }

    /// Folds an SLA verdict.
    pub fn apply_sla(&mut self, f: &SlaFact) {
        let key = id_key(f.fact_id());
        if !self.first_time(key) {
            return;
        }
        let ctx = f.context();
        let ci = self.conv_of(&ctx.tenant, &ctx.conversation_id);
        if !ctx.customer_tier.is_empty() {
            self.convs[ci as usize].tier = self.names.intern(&ctx.customer_tier);
        }
        let (clock_id, kind, customer_at) = match f {
            SlaFact::Latency(l) => (&l.clock_id, l.kind, l.customer_at),
            SlaFact::Breach(b) => (&b.clock_id, b.kind, b.customer_at),
            SlaFact::Correction(c) => {
                // A late event showed the verdict no longer holds: it stops counting. A clock
                // left with nothing counted is gone (a late message may have moved its start).
                let taken_back = fact_tag(&c.corrects_fact_id);
                let clock = id_key(&c.clock_id);
                if let Some(rec) = self.clocks.get_mut(&clock) {
                    if rec.breach_fact == taken_back {
                        rec.breached = false;
                        rec.breach_fact = 0;
                    }
                    if rec.latency_fact == taken_back {
                        rec.latency = None;
                        rec.met = None;
                        rec.latency_fact = 0;
                    }
                    if rec.latency.is_none() && !rec.breached {
                        self.clocks.remove(&clock);
                    }
                }
                return;
            }
            SlaFact::Warning(_) => return,
        };
        let queue = self.names.intern_or_none(&ctx.queue);
        let agent = match f {
            SlaFact::Latency(l) => self.names.intern_or_none(&l.agent_id),
            _ => NONE_SYMBOL,
        };
        let rec = self
            .clocks
            .entry(id_key(clock_id))
            .or_insert_with(|| ClockRec {
                conv: ci,
                channel: ctx.channel,
                queue,
                agent: NONE_SYMBOL,
                customer_at,
                kind,
                latency: None,
                met: None,
                breached: false,
                latency_fact: 0,
                breach_fact: 0,
            });
        match f {
            SlaFact::Latency(l) => {
                rec.latency = Some((l.calendar_ms, l.business_ms));
                rec.met = Some(l.met);
                rec.agent = agent;
                rec.queue = queue;
                rec.latency_fact = tag_of(key);
            }
            SlaFact::Breach(_) => {
                rec.breached = true;
                rec.breach_fact = tag_of(key);
            }
            SlaFact::Warning(_) | SlaFact::Correction(_) => {}
        }
    }

    /// Folds a sentiment tag. A message has one tag in a report: a later tag of the same
    /// message (a re-scoring with another model) replaces the earlier one.
    pub fn apply_tag(&mut self, t: &SentimentTag) {
        if !self.first_time(id_key(&t.fact_id)) {
            return;
        }
        let id = self.event_key(&t.tenant, &t.event_id);
        if t.reply {
            // Kept aside only for a reply not folded yet, which takes it when it comes.
            match self.replies.get_mut(&id) {
                Some(r) => r.signed = Some(t.signed),
                None => {
                    self.reply_signed.insert(id, t.signed);
                }
            }
            return;
        }
        self.model_key.clear();
        self.model_key.push_str(&t.model_name);
        self.model_key.push(' ');
        self.model_key.push_str(&t.model_version);
        let model = self.models.intern(&self.model_key);
        let conv = self.conv_of(&t.tenant, &t.conversation_id);
        self.tags.insert(
            id,
            TagRec {
                conv,
                channel: t.channel,
                at: t.occurred_at,
                polarity: t.polarity,
                model,
            },
        );
    }

    /// Folds one record of any topic: events, tags and SLA facts into their records,
    /// escalations into the list with their states. Policy and rules versions change nothing.
    pub fn apply(&mut self, record: &Record) {
        match record {
            Record::Event(e) => self.apply_event(e),
            Record::Tag(t) => self.apply_tag(t),
            Record::Sla(f) => self.apply_sla(f),
            Record::Escalation(EscalationRecord::Fact(EscalationFact::Raised(r))) => {
                self.apply_escalation(r)
            }
            Record::Escalation(EscalationRecord::Fact(EscalationFact::Withdrawn(w))) => {
                self.apply_withdrawal(&w.escalation_id)
            }
            Record::Escalation(EscalationRecord::Handled(h)) => {
                self.apply_escalation_state(&h.escalation_id, h.state)
            }
            Record::Escalation(EscalationRecord::RulesInForce(_)) | Record::Policy(_) => {}
        }
    }

    /// An escalation acknowledged or resolved. A resolution is final; an acknowledgement read
    /// after it changes nothing.
    pub fn apply_escalation_state(&mut self, escalation_id: &str, state: EscalationState) {
        let slot = match self.escalations.get_mut(escalation_id) {
            Some(e) => &mut e.state,
            None => self
                .escalation_states
                .entry(escalation_id.to_string())
                .or_default(),
        };
        *slot = slot.then(state);
    }

    /// An escalation taken back by an SLA correction: it no longer counts.
    pub fn apply_withdrawal(&mut self, escalation_id: &str) {
        self.escalations.remove(escalation_id);
        self.withdrawn.insert(escalation_id.to_string());
    }

    pub fn apply_escalation(&mut self, e: &EscalationRaised) {
        if self.withdrawn.contains(&e.escalation_id) || !self.first_time(id_key(&e.escalation_id)) {
            return;
        }
        let level = self.levels.intern(&e.level);
        let conv = self.conv_of(&e.context.tenant, &e.context.conversation_id);
        let queue = self.names.intern_or_none(&e.context.queue);
        self.escalations.insert(
            e.escalation_id.clone(),
            EscalationRec {
                conv,
                level,
                rule: e.rule.clone(),
                reason: e.reason.clone(),
                state: self
                    .escalation_states
                    .remove(&e.escalation_id)
                    .unwrap_or_default(),
                channel: e.context.channel,
                queue,
                at: e.raised_at,
            },
        );
    }
}

/// One escalation as `GET /v1/escalations` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EscalationItem {
    pub escalation_id: String,
    pub tenant: String,
    pub conversation_id: String,
    pub channel: String,
    pub queue: String,
    pub level: String,
    pub rule: String,
    pub reason: String,
    /// open, acknowledged or resolved.
    pub state: String,
    pub raised_at: String,
}

impl ReadModel {
    /// Escalations in `state` (any when `None`), newest first, at most `limit`; and how many
    /// there are in all.
    pub fn escalation_list(
        &self,
        state: Option<EscalationState>,
        limit: usize,
    ) -> (u64, Vec<EscalationItem>) {
        // The newest `limit` by a bounded heap: a dashboard polls this, and escalations pile
        // up in the hundreds of thousands.
        use std::cmp::Reverse;
        let mut heap: std::collections::BinaryHeap<Reverse<(EventTime, Reverse<&String>)>> =
            std::collections::BinaryHeap::with_capacity(limit + 1);
        let mut total = 0u64;
        for (id, e) in &self.escalations {
            if state.is_some_and(|s| e.state != s) {
                continue;
            }
            total += 1;
            heap.push(Reverse((e.at, Reverse(id))));
            if heap.len() > limit {
                heap.pop();
            }
        }
        let mut newest: Vec<(EventTime, &String)> = heap
            .into_iter()
            .map(|Reverse((at, Reverse(id)))| (at, id))
            .collect();
        newest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        let items = newest
            .into_iter()
            .map(|(_, id)| {
                let e = &self.escalations[id];
                let (tenant, conversation) = self.conv_names(e.conv);
                EscalationItem {
                    escalation_id: id.clone(),
                    tenant: tenant.to_string(),
                    conversation_id: conversation.to_string(),
                    channel: e.channel.to_string(),
                    queue: self.names.name(e.queue).to_string(),
                    level: self.levels.name(e.level).to_string(),
                    rule: e.rule.clone(),
                    reason: e.reason.clone(),
                    state: e.state.as_str().to_string(),
                    raised_at: e.at.to_rfc3339(),
                }
            })
            .collect();
        (total, items)
    }
}

/// What events and facts are known by in the read model: 128 bits, never 0 (which stands
/// for none).
pub(crate) type Key = u128;

/// The key of a fact id: the bits it was made from, or, for an id of another shape, SHA-256
/// over it.
fn id_key(id: &str) -> Key {
    pronto_domain::id_bits(id).max(1)
}

/// A fact id told apart from the other verdicts of its clock: 64 bits of its key, never 0.
fn fact_tag(id: &str) -> u64 {
    tag_of(id_key(id))
}

/// [`fact_tag`] of the fact id whose key is `key`.
fn tag_of(key: Key) -> u64 {
    (key as u64).max(1)
}

/// The key of an event: SHA-256 over its tenant and id.
fn event_key(tenant: &str, event_id: &str) -> Key {
    pronto_domain::digest128("evt", &[tenant, event_id]).max(1)
}
