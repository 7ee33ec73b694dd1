//! The events topic: interaction events as `pronto.v1.Event`. Inbound events go through
//! [`RawEvent::validate`], so every face reports the same field paths and reasons.

use crate::v1 as pb;

use crate::common::*;
use pronto_domain::{
    AuthorKind, ConversationStatus, Event, EventTime, Limits, Payload, Priority, RawAssignment,
    RawCustomerMessage, RawEvent, RawMerged, RawPriority, RawReply, RawStatus, RawTime,
    ValidationErrors, Visibility,
};
use prost::Message;

/// The protobuf message of a record.
pub const MESSAGE: &str = "pronto.v1.Event";

/// The untrusted form of a protobuf event, ready for [`RawEvent::validate`].
///
/// Unknown enum numbers come through as their number, so validation names them.
pub(crate) fn raw_from_pb(e: pb::Event) -> RawEvent {
    let env = e.envelope.unwrap_or_default();
    let mut raw = RawEvent {
        event_id: opt(env.event_id),
        tenant: opt(env.tenant),
        conversation_id: opt(env.conversation_id),
        occurred_at: env.occurred_at.map(|t| RawTime::Parts {
            seconds: t.seconds,
            nanos: t.nanos,
        }),
        source: opt(env.source),
        schema_version: Some(env.schema_version),
        channel: enum_name(env.channel, channel_name),
        ..RawEvent::default()
    };
    use pb::event::Payload as P;
    match e.payload {
        None => {}
        Some(P::CustomerMessage(m)) => {
            raw.customer_message = Some(RawCustomerMessage {
                text: Some(m.text),
                customer_id: opt(m.customer_id),
                customer_tier: opt(m.customer_tier),
            })
        }
        Some(P::ReplySent(r)) => {
            raw.reply_sent = Some(RawReply {
                text: Some(r.text),
                author_kind: enum_name(r.author_kind, |a| {
                    author_from_pb(a).map(AuthorKind::as_str)
                }),
                visibility: enum_name(r.visibility, |v| {
                    visibility_from_pb(v).map(Visibility::as_str)
                }),
                agent_id: opt(r.agent_id),
                agent_display_name: opt(r.agent_display_name),
            })
        }
        Some(P::StatusChanged(s)) => {
            raw.status_changed = Some(RawStatus {
                status: enum_name(s.status, |s| {
                    status_from_pb(s).map(ConversationStatus::as_str)
                }),
            })
        }
        Some(P::AssignmentChanged(a)) => {
            raw.assignment_changed = Some(RawAssignment {
                queue: opt(a.queue),
                agent_id: opt(a.agent_id),
            })
        }
        Some(P::PriorityChanged(p)) => {
            raw.priority_changed = Some(RawPriority {
                priority: enum_name(p.priority, |p| priority_from_pb(p).map(Priority::as_str)),
            })
        }
        Some(P::Merged(m)) => {
            raw.merged = Some(RawMerged {
                from: opt(m.from),
                waiting_since: m.waiting_since.map(|t| RawTime::Parts {
                    seconds: t.seconds,
                    nanos: t.nanos,
                }),
                waiting_event_id: opt(m.waiting_event_id),
            })
        }
    }
    raw
}

/// Decodes an event read back from the events topic. Structure is checked as strictly as at
/// ingest; time plausibility is not (the record was accepted once, and replay must accept it
/// again whatever the clock says).
pub(crate) fn event_from_pb(e: pb::Event) -> Result<Event, ValidationErrors> {
    let lenient = Limits {
        earliest: EventTime(i64::MIN),
        max_future_ms: i64::MAX,
        ..Limits::default()
    };
    raw_from_pb(e).validate(EventTime(0), &lenient)
}

/// Decodes the bytes of an events-topic record.
pub fn decode(bytes: &[u8]) -> Result<Event, DecodeError> {
    event_from_pb(decode_message(MESSAGE, bytes)?).map_err(|e| DecodeError::Invalid {
        message: MESSAGE,
        detail: e.to_string(),
    })
}

/// The bytes of an events-topic record.
pub fn encode(e: &Event) -> Vec<u8> {
    event_to_pb(e).encode_to_vec()
}

pub(crate) fn event_to_pb(e: &Event) -> pb::Event {
    let env = &e.envelope;
    use pb::event::Payload as P;
    let payload = match &e.payload {
        Payload::CustomerMessage {
            text,
            customer_id,
            customer_tier,
        } => P::CustomerMessage(pb::CustomerMessage {
            text: text.as_str().to_string(),
            customer_id: customer_id.as_str().to_owned(),
            customer_tier: customer_tier
                .as_ref()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
        }),
        Payload::ReplySent {
            text,
            author,
            visibility,
            agent_id,
            agent_display_name,
        } => P::ReplySent(pb::ReplySent {
            text: text.as_str().to_string(),
            author_kind: match author {
                AuthorKind::Human => pb::AuthorKind::Human,
                AuthorKind::Bot => pb::AuthorKind::Bot,
            } as i32,
            visibility: match visibility {
                Visibility::Public => pb::Visibility::Public,
                Visibility::Private => pb::Visibility::Private,
            } as i32,
            agent_id: agent_id
                .as_ref()
                .map(|a| a.as_str().to_owned())
                .unwrap_or_default(),
            agent_display_name: agent_display_name.clone().unwrap_or_default(),
        }),
        Payload::StatusChanged(s) => P::StatusChanged(pb::StatusChanged {
            status: status_to_pb(*s) as i32,
        }),
        Payload::AssignmentChanged { queue, agent_id } => {
            P::AssignmentChanged(pb::AssignmentChanged {
                queue: queue
                    .as_ref()
                    .map(|q| q.as_str().to_owned())
                    .unwrap_or_default(),
                agent_id: agent_id
                    .as_ref()
                    .map(|a| a.as_str().to_owned())
                    .unwrap_or_default(),
            })
        }
        Payload::PriorityChanged(p) => P::PriorityChanged(pb::PriorityChanged {
            priority: priority_to_pb(*p) as i32,
        }),
        Payload::Merged { from, waiting } => P::Merged(pb::Merged {
            from: from.as_str().to_owned(),
            waiting_since: waiting.as_ref().map(|(t, _)| ts(*t)),
            waiting_event_id: waiting
                .as_ref()
                .map(|(_, e)| e.as_str().to_owned())
                .unwrap_or_default(),
        }),
    };
    pb::Event {
        envelope: Some(pb::Envelope {
            event_id: env.event_id.as_str().to_owned(),
            tenant: env.tenant.as_str().to_owned(),
            conversation_id: env.conversation_id.as_str().to_owned(),
            occurred_at: Some(ts(env.occurred_at)),
            source: env.source.as_str().to_owned(),
            schema_version: env.schema_version,
            channel: channel_to_pb(env.channel) as i32,
        }),
        payload: Some(payload),
    }
}

impl From<&Event> for pb::Event {
    fn from(e: &Event) -> Self {
        event_to_pb(e)
    }
}

/// The untrusted form of a protobuf event, ready for [`RawEvent::validate`] (what ingest does
/// with what it receives).
impl From<pb::Event> for RawEvent {
    fn from(e: pb::Event) -> Self {
        raw_from_pb(e)
    }
}

/// An event read back from the events topic (see [`event_from_pb`]: lenient on time only).
impl TryFrom<pb::Event> for Event {
    type Error = ValidationErrors;

    fn try_from(e: pb::Event) -> Result<Self, Self::Error> {
        event_from_pb(e)
    }
}
