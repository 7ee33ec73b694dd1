//! Derived facts: sentiment tags, SLA verdicts, escalations.
//!
//! Each carries a deterministic id (see [`crate::fact_id`]) so that re-processing yields the
//! same fact and consumers can drop duplicates.

use crate::{Channel, EventTime, Priority};
use std::fmt;

/// A fact's deterministic id.
pub type FactId = String;

/// A short name or id carried by an event or a fact (tenant, conversation, queue, tier, event,
/// agent, policy version): kept inline, without an allocation, up to 24 bytes.
pub type Name = compact_str::CompactString;

named_enum!(
    /// The polarity of a customer message.
    Polarity {
        Positive => "positive",
        Neutral => "neutral",
        Negative => "negative",
    }
);

named_enum!(
    /// What an SLA clock measures: the first reply in a conversation, a later one, or the
    /// time to resolution (first customer message to solved, net of pauses).
    ReplyKind {
        First => "first",
        Next => "next",
        Resolution => "resolution",
    }
);

/// The sentiment of one inbound customer message.
#[derive(Debug, Clone, PartialEq)]
pub struct SentimentTag {
    pub fact_id: FactId,
    pub event_id: Name,
    pub tenant: Name,
    pub conversation_id: Name,
    pub channel: Channel,
    pub occurred_at: EventTime,
    pub polarity: Polarity,
    /// In [-1, 1].
    pub score: f64,
    pub language: Name,
    pub tones: Vec<Name>,
    pub model_name: Name,
    pub model_version: Name,
    /// The tagged event is an agent's reply, not a customer message.
    pub reply: bool,
    /// A reply signed by its agent.
    pub signed: bool,
    /// Published by a re-scoring of history, not by the live service.
    pub rescored: bool,
}

/// Where a conversation stood when a verdict was reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationContext {
    pub tenant: Name,
    pub conversation_id: Name,
    pub channel: Channel,
    /// Empty when unassigned.
    pub queue: Name,
    pub priority: Priority,
    /// Empty when unknown.
    pub customer_tier: Name,
}

impl ConversationContext {
    /// A conversation first seen: no queue, normal priority, no tier.
    pub fn new(tenant: &str, conversation_id: &str, channel: Channel) -> Self {
        Self {
            tenant: tenant.into(),
            conversation_id: conversation_id.into(),
            channel,
            queue: Name::default(),
            priority: Priority::Normal,
            customer_tier: Name::default(),
        }
    }
}

/// A customer waited and a reply came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyLatency {
    pub fact_id: FactId,
    pub clock_id: String,
    pub context: ConversationContext,
    pub kind: ReplyKind,
    pub customer_event_id: Name,
    pub customer_at: EventTime,
    pub reply_event_id: Name,
    pub replied_at: EventTime,
    pub agent_id: Name,
    pub calendar_ms: i64,
    pub business_ms: i64,
    pub target_ms: i64,
    pub met: bool,
    pub policy_version: Name,
}

/// A fraction of a target elapsed with no reply.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaWarning {
    pub fact_id: FactId,
    pub clock_id: String,
    pub context: ConversationContext,
    pub kind: ReplyKind,
    pub customer_event_id: Name,
    pub customer_at: EventTime,
    pub due_at: EventTime,
    pub fraction: f64,
    pub target_ms: i64,
    pub policy_version: Name,
}

/// A target passed with no reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaBreach {
    pub fact_id: FactId,
    pub clock_id: String,
    pub context: ConversationContext,
    pub kind: ReplyKind,
    pub customer_event_id: Name,
    pub customer_at: EventTime,
    pub deadline: EventTime,
    pub target_ms: i64,
    pub policy_version: Name,
}

/// A late event showed that an earlier verdict (a latency, warning or breach) no longer holds.
/// The earlier fact stays; this one supersedes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaCorrection {
    pub fact_id: FactId,
    /// The verdict this corrects.
    pub corrects_fact_id: String,
    /// `latency`, `warning` or `breach`: what the corrected fact was.
    pub corrects_kind: String,
    pub clock_id: String,
    pub context: ConversationContext,
    pub kind: ReplyKind,
    pub customer_at: EventTime,
    /// Why, in words: the late event and what it changed.
    pub reason: String,
    /// The late event's time.
    pub occurred_at: EventTime,
    pub policy_version: Name,
}

/// One SLA verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum SlaFact {
    Latency(ReplyLatency),
    Warning(SlaWarning),
    Breach(SlaBreach),
    Correction(SlaCorrection),
}

impl SlaFact {
    pub fn fact_id(&self) -> &str {
        match self {
            SlaFact::Latency(f) => &f.fact_id,
            SlaFact::Warning(f) => &f.fact_id,
            SlaFact::Breach(f) => &f.fact_id,
            SlaFact::Correction(f) => &f.fact_id,
        }
    }

    /// The fact's own event time: the reply, the warning instant, or the deadline.
    pub fn at(&self) -> EventTime {
        match self {
            SlaFact::Latency(f) => f.replied_at,
            SlaFact::Warning(f) => f.due_at,
            SlaFact::Breach(f) => f.deadline,
            SlaFact::Correction(f) => f.occurred_at,
        }
    }

    pub fn context(&self) -> &ConversationContext {
        match self {
            SlaFact::Latency(f) => &f.context,
            SlaFact::Warning(f) => &f.context,
            SlaFact::Breach(f) => &f.context,
            SlaFact::Correction(f) => &f.context,
        }
    }

    /// `latency`, `warning`, `breach` or `correction`.
    pub fn kind(&self) -> &'static str {
        match self {
            SlaFact::Latency(_) => "latency",
            SlaFact::Warning(_) => "warning",
            SlaFact::Breach(_) => "breach",
            SlaFact::Correction(_) => "correction",
        }
    }
}

/// An escalation: someone must look at this conversation. One step of a ladder: a rule raises
/// its first level when its trigger occurs, and each further level when that level's delay has
/// passed with the ladder neither acknowledged, resolved, withdrawn nor answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationRaised {
    pub escalation_id: String,
    pub context: ConversationContext,
    /// The level's name, as the rules file gives it (`agent`, `team_lead`, `manager`, ...).
    pub level: String,
    /// 0 for the ladder's first level, 1 for the next, and so on.
    pub step: u32,
    /// The id of the ladder's first step: every step of one ladder shares it.
    pub ladder_id: String,
    /// Who is to be told, as the rules file names them.
    pub recipients: Vec<String>,
    pub rule: String,
    pub reason: String,
    pub trigger_ids: Vec<String>,
    pub raised_at: EventTime,
    /// The escalation rules' version (`name@hash`).
    pub policy_version: Name,
}

/// A correction showed that the SLA verdict behind an escalation should not have been
/// announced: the escalation is taken back, and its ladder climbs no further.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationWithdrawn {
    pub escalation_id: String,
    pub ladder_id: String,
    pub context: ConversationContext,
    /// The SLA correction that withdrew it.
    pub correction_id: String,
    pub reason: String,
    pub at: EventTime,
}

/// What the escalation rules emit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EscalationFact {
    Raised(EscalationRaised),
    Withdrawn(EscalationWithdrawn),
}

impl EscalationFact {
    /// A deterministic id for the fact itself (a withdrawal has its own).
    pub fn fact_id(&self) -> String {
        match self {
            EscalationFact::Raised(r) => r.escalation_id.clone(),
            EscalationFact::Withdrawn(w) => crate::fact_id("wdr", &[&w.escalation_id]),
        }
    }

    pub fn escalation_id(&self) -> &str {
        match self {
            EscalationFact::Raised(r) => &r.escalation_id,
            EscalationFact::Withdrawn(w) => &w.escalation_id,
        }
    }

    pub fn context(&self) -> &ConversationContext {
        match self {
            EscalationFact::Raised(r) => &r.context,
            EscalationFact::Withdrawn(w) => &w.context,
        }
    }
}

impl fmt::Display for EscalationRaised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}] {}/{} ({}): {}",
            self.level, self.context.tenant, self.context.conversation_id, self.rule, self.reason
        )
    }
}
