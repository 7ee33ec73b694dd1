//! The SLA topic: latencies, warnings, breaches and corrections as `pronto.v1.SlaFact`.

use crate::v1 as pb;

use crate::common::*;
use pronto_domain::{ReplyLatency, SlaBreach, SlaCorrection, SlaFact, SlaWarning};
use prost::Message;

/// The protobuf message of a record.
pub const MESSAGE: &str = "pronto.v1.SlaFact";

pub(crate) fn sla_fact_to_pb(f: &SlaFact) -> pb::SlaFact {
    let mut m = pb::SlaFact::default();
    sla_fact_into_pb(f, &mut m);
    m
}

/// [`sla_fact_to_pb`] into `m`, as [`tag_into_pb`] fills a tag.
pub(crate) fn sla_fact_into_pb(f: &SlaFact, m: &mut pb::SlaFact) {
    use pb::sla_fact::Fact;
    match f {
        SlaFact::Latency(l) => {
            let p = variant(&mut m.fact, Fact::Latency, |f| match f {
                Fact::Latency(p) => Some(p),
                _ => None,
            });
            let pb::ReplyLatencyMeasured {
                fact_id,
                clock_id,
                context,
                kind,
                customer_event_id,
                customer_at,
                reply_event_id,
                replied_at,
                agent_id,
                calendar_ms,
                business_ms,
                target_ms,
                met,
                policy_version,
            } = p;
            set(fact_id, &l.fact_id);
            set(clock_id, &l.clock_id);
            context_into(&l.context, context);
            *kind = kind_to_pb(l.kind);
            set(customer_event_id, l.customer_event_id.as_str());
            *customer_at = Some(ts(l.customer_at));
            set(reply_event_id, l.reply_event_id.as_str());
            *replied_at = Some(ts(l.replied_at));
            set(agent_id, l.agent_id.as_str());
            *calendar_ms = l.calendar_ms;
            *business_ms = l.business_ms;
            *target_ms = l.target_ms;
            *met = l.met;
            set(policy_version, l.policy_version.as_str());
        }
        SlaFact::Warning(w) => {
            let p = variant(&mut m.fact, Fact::Warning, |f| match f {
                Fact::Warning(p) => Some(p),
                _ => None,
            });
            let pb::SlaWarning {
                fact_id,
                clock_id,
                context,
                kind,
                customer_event_id,
                customer_at,
                due_at,
                fraction,
                target_ms,
                policy_version,
            } = p;
            set(fact_id, &w.fact_id);
            set(clock_id, &w.clock_id);
            context_into(&w.context, context);
            *kind = kind_to_pb(w.kind);
            set(customer_event_id, w.customer_event_id.as_str());
            *customer_at = Some(ts(w.customer_at));
            *due_at = Some(ts(w.due_at));
            *fraction = w.fraction;
            *target_ms = w.target_ms;
            set(policy_version, w.policy_version.as_str());
        }
        SlaFact::Breach(b) => {
            let p = variant(&mut m.fact, Fact::Breach, |f| match f {
                Fact::Breach(p) => Some(p),
                _ => None,
            });
            let pb::SlaBreach {
                fact_id,
                clock_id,
                context,
                kind,
                customer_event_id,
                customer_at,
                deadline,
                target_ms,
                policy_version,
            } = p;
            set(fact_id, &b.fact_id);
            set(clock_id, &b.clock_id);
            context_into(&b.context, context);
            *kind = kind_to_pb(b.kind);
            set(customer_event_id, b.customer_event_id.as_str());
            *customer_at = Some(ts(b.customer_at));
            *deadline = Some(ts(b.deadline));
            *target_ms = b.target_ms;
            set(policy_version, b.policy_version.as_str());
        }
        SlaFact::Correction(c) => {
            let p = variant(&mut m.fact, Fact::Correction, |f| match f {
                Fact::Correction(p) => Some(p),
                _ => None,
            });
            let pb::SlaCorrection {
                fact_id,
                corrects_fact_id,
                corrects_kind,
                clock_id,
                reason,
                occurred_at,
                policy_version,
                context,
                kind,
                customer_at,
            } = p;
            set(fact_id, &c.fact_id);
            set(corrects_fact_id, &c.corrects_fact_id);
            set(corrects_kind, &c.corrects_kind);
            set(clock_id, &c.clock_id);
            set(reason, &c.reason);
            *occurred_at = Some(ts(c.occurred_at));
            set(policy_version, c.policy_version.as_str());
            context_into(&c.context, context);
            *kind = kind_to_pb(c.kind);
            *customer_at = Some(ts(c.customer_at));
        }
    }
}

pub(crate) fn sla_fact_from_pb(f: pb::SlaFact) -> Result<SlaFact, DecodeError> {
    use pb::sla_fact::Fact;
    const M: &str = "pronto.v1.SlaFact";
    Ok(match f.fact.ok_or_else(|| invalid(M, "fact is unset"))? {
        Fact::Latency(l) => SlaFact::Latency(ReplyLatency {
            context: context_from_pb(M, l.context)?,
            kind: kind_from_pb(M, l.kind)?,
            customer_at: from_ts(M, "customer_at", l.customer_at)?,
            replied_at: from_ts(M, "replied_at", l.replied_at)?,
            fact_id: l.fact_id,
            clock_id: l.clock_id,
            customer_event_id: l.customer_event_id.into(),
            reply_event_id: l.reply_event_id.into(),
            agent_id: l.agent_id.into(),
            calendar_ms: l.calendar_ms,
            business_ms: l.business_ms,
            target_ms: l.target_ms,
            met: l.met,
            policy_version: l.policy_version.into(),
        }),
        Fact::Warning(w) => SlaFact::Warning(SlaWarning {
            context: context_from_pb(M, w.context)?,
            kind: kind_from_pb(M, w.kind)?,
            customer_at: from_ts(M, "customer_at", w.customer_at)?,
            due_at: from_ts(M, "due_at", w.due_at)?,
            fact_id: w.fact_id,
            clock_id: w.clock_id,
            customer_event_id: w.customer_event_id.into(),
            fraction: w.fraction,
            target_ms: w.target_ms,
            policy_version: w.policy_version.into(),
        }),
        Fact::Breach(b) => SlaFact::Breach(SlaBreach {
            context: context_from_pb(M, b.context)?,
            kind: kind_from_pb(M, b.kind)?,
            customer_at: from_ts(M, "customer_at", b.customer_at)?,
            deadline: from_ts(M, "deadline", b.deadline)?,
            fact_id: b.fact_id,
            clock_id: b.clock_id,
            customer_event_id: b.customer_event_id.into(),
            target_ms: b.target_ms,
            policy_version: b.policy_version.into(),
        }),
        Fact::Correction(c) => SlaFact::Correction(SlaCorrection {
            context: context_from_pb(M, c.context)?,
            kind: kind_from_pb(M, c.kind)?,
            customer_at: from_ts(M, "customer_at", c.customer_at)?,
            occurred_at: from_ts(M, "occurred_at", c.occurred_at)?,
            fact_id: c.fact_id,
            corrects_fact_id: c.corrects_fact_id,
            corrects_kind: c.corrects_kind,
            clock_id: c.clock_id,
            reason: c.reason,
            policy_version: c.policy_version.into(),
        }),
    })
}

/// An SLA-topic record from its bytes.
pub fn decode(bytes: &[u8]) -> Result<SlaFact, DecodeError> {
    sla_fact_from_pb(decode_message(MESSAGE, bytes)?)
}

/// The bytes of an SLA-topic record.
pub fn encode(f: &SlaFact) -> Vec<u8> {
    sla_fact_to_pb(f).encode_to_vec()
}

impl From<&SlaFact> for pb::SlaFact {
    fn from(f: &SlaFact) -> Self {
        sla_fact_to_pb(f)
    }
}

impl Refill<SlaFact> for pb::SlaFact {
    fn refill(&mut self, f: &SlaFact) {
        sla_fact_into_pb(f, self)
    }
}

impl TryFrom<pb::SlaFact> for SlaFact {
    type Error = DecodeError;

    fn try_from(f: pb::SlaFact) -> Result<Self, Self::Error> {
        sla_fact_from_pb(f)
    }
}
