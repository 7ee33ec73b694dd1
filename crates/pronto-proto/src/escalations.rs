//! The escalations topic: escalations raised and withdrawn, acknowledgements, resolutions
//! and rules versions, as `pronto.v1.EscalationEvent`.

use crate::v1 as pb;

use crate::common::*;
use pronto_domain::{
    EscalationFact, EscalationHandled, EscalationRaised, EscalationRecord, EscalationState,
    EscalationWithdrawn, VersionRecord,
};
use prost::Message;

/// The protobuf message of a record.
pub const MESSAGE: &str = "pronto.v1.EscalationEvent";

fn level_to_pb(name: &str) -> pb::EscalationLevel {
    match name {
        "agent" => pb::EscalationLevel::Agent,
        "team_lead" => pb::EscalationLevel::TeamLead,
        "manager" => pb::EscalationLevel::Manager,
        _ => pb::EscalationLevel::Unspecified,
    }
}

/// Any escalation fact, as the escalations topic carries it.
pub(crate) fn escalation_fact_to_pb(f: &EscalationFact) -> pb::EscalationEvent {
    let mut m = pb::EscalationEvent::default();
    escalation_fact_into_pb(f, &mut m);
    m
}

/// [`escalation_fact_to_pb`] into `m`, as [`tag_into_pb`] fills a tag.
pub(crate) fn escalation_fact_into_pb(f: &EscalationFact, m: &mut pb::EscalationEvent) {
    use pb::escalation_event::Event;
    match f {
        EscalationFact::Raised(r) => escalation_raised_into_pb(r, m),
        EscalationFact::Withdrawn(w) => {
            let p = variant(&mut m.event, Event::Withdrawn, |e| match e {
                Event::Withdrawn(p) => Some(p),
                _ => None,
            });
            let pb::EscalationWithdrawn {
                escalation_id,
                ladder_id,
                context,
                correction_id,
                reason,
                at,
            } = p;
            set(escalation_id, &w.escalation_id);
            set(ladder_id, &w.ladder_id);
            context_into(&w.context, context);
            set(correction_id, &w.correction_id);
            set(reason, &w.reason);
            *at = Some(ts(w.at));
        }
    }
}

fn escalation_raised_into_pb(e: &EscalationRaised, m: &mut pb::EscalationEvent) {
    use pb::escalation_event::Event;
    let p = variant(&mut m.event, Event::Raised, |e| match e {
        Event::Raised(p) => Some(p),
        _ => None,
    });
    let pb::EscalationRaised {
        escalation_id,
        context,
        level,
        rule,
        reason,
        trigger_ids,
        raised_at,
        policy_version,
        level_name,
        step,
        ladder_id,
        recipients,
    } = p;
    set(escalation_id, &e.escalation_id);
    context_into(&e.context, context);
    *level = level_to_pb(&e.level) as i32;
    set(rule, &e.rule);
    set(reason, &e.reason);
    set_all(trigger_ids, e.trigger_ids.iter().map(String::as_str));
    *raised_at = Some(ts(e.raised_at));
    set(policy_version, e.policy_version.as_str());
    set(level_name, &e.level);
    *step = e.step;
    set(ladder_id, &e.ladder_id);
    set_all(recipients, e.recipients.iter().map(String::as_str));
}

pub(crate) fn escalation_from_pb(e: pb::EscalationRaised) -> Result<EscalationRaised, DecodeError> {
    const M: &str = "pronto.v1.EscalationRaised";
    let level = if !e.level_name.is_empty() {
        e.level_name.clone()
    } else {
        match e.level() {
            pb::EscalationLevel::Agent => "agent".into(),
            pb::EscalationLevel::TeamLead => "team_lead".into(),
            pb::EscalationLevel::Manager => "manager".into(),
            pb::EscalationLevel::Unspecified => return Err(invalid(M, "level is unset")),
        }
    };
    let ladder_id = if e.ladder_id.is_empty() {
        e.escalation_id.clone()
    } else {
        e.ladder_id
    };
    Ok(EscalationRaised {
        context: context_from_pb(M, e.context)?,
        raised_at: from_ts(M, "raised_at", e.raised_at)?,
        level,
        step: e.step,
        ladder_id,
        recipients: e.recipients,
        escalation_id: e.escalation_id,
        rule: e.rule,
        reason: e.reason,
        trigger_ids: e.trigger_ids,
        policy_version: e.policy_version.into(),
    })
}

pub(crate) fn withdrawal_from_pb(
    w: pb::EscalationWithdrawn,
) -> Result<EscalationWithdrawn, DecodeError> {
    const M: &str = "pronto.v1.EscalationWithdrawn";
    Ok(EscalationWithdrawn {
        context: context_from_pb(M, w.context)?,
        at: from_ts(M, "at", w.at)?,
        escalation_id: w.escalation_id,
        ladder_id: w.ladder_id,
        correction_id: w.correction_id,
        reason: w.reason,
    })
}

/// The escalation fact a record of the escalations topic carries, when it carries one: an
/// escalation raised or withdrawn. Its other records (acknowledgements, resolutions, rules
/// versions) are not derived facts.
pub(crate) fn escalation_fact_from_pb(
    e: pb::EscalationEvent,
) -> Result<EscalationFact, DecodeError> {
    use pb::escalation_event::Event;
    match e.event {
        Some(Event::Raised(r)) => Ok(EscalationFact::Raised(escalation_from_pb(r)?)),
        Some(Event::Withdrawn(w)) => Ok(EscalationFact::Withdrawn(withdrawal_from_pb(w)?)),
        _ => Err(invalid(
            MESSAGE,
            "neither a raised nor a withdrawn escalation",
        )),
    }
}

/// Any record of the escalations topic, as it carries it.
pub(crate) fn record_to_pb(r: &EscalationRecord) -> pb::EscalationEvent {
    use pb::escalation_event::Event;
    let event = match r {
        EscalationRecord::Fact(f) => return escalation_fact_to_pb(f),
        EscalationRecord::Handled(h) => {
            let (escalation_id, by, at) = (h.escalation_id.clone(), h.by.clone(), Some(ts(h.at)));
            match h.state {
                EscalationState::Resolved => Event::Resolved(pb::EscalationResolved {
                    escalation_id,
                    by,
                    at,
                }),
                _ => Event::Acknowledged(pb::EscalationAcknowledged {
                    escalation_id,
                    by,
                    at,
                }),
            }
        }
        EscalationRecord::RulesInForce(v) => Event::Rules(pb::EscalationRulesInForce {
            version: v.version.clone(),
            effective_from: v.effective_from.map(ts),
            source: v.source.clone(),
            file: v.file.clone(),
            publisher: v.publisher.clone(),
        }),
    };
    pb::EscalationEvent { event: Some(event) }
}

/// A record of the escalations topic as a domain value.
pub(crate) fn record_from_pb(e: pb::EscalationEvent) -> Result<EscalationRecord, DecodeError> {
    use pb::escalation_event::Event;
    let handled = |escalation_id, by, at, state| {
        Ok(EscalationRecord::Handled(EscalationHandled {
            at: from_ts(MESSAGE, "at", at)?,
            escalation_id,
            by,
            state,
        }))
    };
    match e.event {
        Some(Event::Raised(r)) => Ok(EscalationRecord::Fact(EscalationFact::Raised(
            escalation_from_pb(r)?,
        ))),
        Some(Event::Withdrawn(w)) => Ok(EscalationRecord::Fact(EscalationFact::Withdrawn(
            withdrawal_from_pb(w)?,
        ))),
        Some(Event::Acknowledged(a)) => {
            handled(a.escalation_id, a.by, a.at, EscalationState::Acknowledged)
        }
        Some(Event::Resolved(r)) => handled(r.escalation_id, r.by, r.at, EscalationState::Resolved),
        Some(Event::Rules(r)) => Ok(EscalationRecord::RulesInForce(VersionRecord {
            effective_from: r
                .effective_from
                .map(|t| from_ts(MESSAGE, "effective_from", Some(t)))
                .transpose()?,
            version: r.version,
            source: r.source,
            file: r.file,
            publisher: r.publisher,
            published_at: None,
        })),
        None => Err(invalid(MESSAGE, "carries no record")),
    }
}

/// An escalations-topic record from its bytes.
pub fn decode(bytes: &[u8]) -> Result<EscalationRecord, DecodeError> {
    record_from_pb(decode_message(MESSAGE, bytes)?)
}

/// The bytes of an escalations-topic record.
pub fn encode(r: &EscalationRecord) -> Vec<u8> {
    record_to_pb(r).encode_to_vec()
}

impl From<&EscalationRecord> for pb::EscalationEvent {
    fn from(r: &EscalationRecord) -> Self {
        record_to_pb(r)
    }
}

impl TryFrom<pb::EscalationEvent> for EscalationRecord {
    type Error = DecodeError;

    fn try_from(e: pb::EscalationEvent) -> Result<Self, Self::Error> {
        record_from_pb(e)
    }
}

impl From<&EscalationFact> for pb::EscalationEvent {
    fn from(f: &EscalationFact) -> Self {
        escalation_fact_to_pb(f)
    }
}

impl Refill<EscalationFact> for pb::EscalationEvent {
    fn refill(&mut self, f: &EscalationFact) {
        escalation_fact_into_pb(f, self)
    }
}

/// The escalation fact a record carries: an error for the records that are not facts.
impl TryFrom<pb::EscalationEvent> for EscalationFact {
    type Error = DecodeError;

    fn try_from(e: pb::EscalationEvent) -> Result<Self, Self::Error> {
        escalation_fact_from_pb(e)
    }
}
