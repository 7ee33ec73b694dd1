//! Interaction events: the validated form of what integrators publish.

use crate::{BoundedText, EventTime, Id};

impl BoundedText {
    /// Text for events built in code (generators, tests); ingest validates untrusted text.
    pub fn new(s: impl Into<String>) -> Self {
        Self::new_unchecked(s.into())
    }
}
use std::fmt;

macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The lower-case name used in JSON, topics headers and reports.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the lower-case name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The accepted names, for error messages.
            pub fn names() -> String {
                [$($text),+].join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum!(
    /// The channel a conversation happens on.
    Channel {
        Phone => "phone",
        Email => "email",
        Chat => "chat",
        Twitter => "twitter",
        Facebook => "facebook",
        Instagram => "instagram",
        Whatsapp => "whatsapp",
    }
);

named_enum!(
    /// The status of a conversation.
    ConversationStatus {
        Open => "open",
        PendingCustomer => "pending_customer",
        OnHold => "on_hold",
        Solved => "solved",
        Closed => "closed",
        Reopened => "reopened",
    }
);

named_enum!(
    /// The priority of a conversation.
    Priority {
        Low => "low",
        Normal => "normal",
        High => "high",
        Urgent => "urgent",
    }
);

named_enum!(
    /// Who wrote a reply.
    AuthorKind {
        Human => "human",
        Bot => "bot",
    }
);

named_enum!(
    /// Whether the customer sees a reply.
    Visibility {
        Public => "public",
        Private => "private",
    }
);

/// Fields every event carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub event_id: Id,
    pub tenant: Id,
    pub conversation_id: Id,
    pub occurred_at: EventTime,
    pub source: Id,
    pub schema_version: u32,
    pub channel: Channel,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    CustomerMessage {
        text: BoundedText,
        customer_id: Id,
        customer_tier: Option<Id>,
    },
    ReplySent {
        text: BoundedText,
        author: AuthorKind,
        visibility: Visibility,
        agent_id: Option<Id>,
        agent_display_name: Option<String>,
    },
    StatusChanged(ConversationStatus),
    AssignmentChanged {
        queue: Option<Id>,
        agent_id: Option<Id>,
    },
    PriorityChanged(Priority),
    /// Conversation `from` was merged into this one. When its customer was waiting for a
    /// reply, since when and for which message: that wait carries over.
    Merged {
        from: Id,
        waiting: Option<(EventTime, Id)>,
    },
}

impl Payload {
    /// The payload's kind, as named in JSON and in the Kafka `pronto-event-type` header.
    pub const fn kind(&self) -> &'static str {
        match self {
            Payload::CustomerMessage { .. } => "customer_message",
            Payload::ReplySent { .. } => "reply_sent",
            Payload::StatusChanged(_) => "status_changed",
            Payload::AssignmentChanged { .. } => "assignment_changed",
            Payload::PriorityChanged(_) => "priority_changed",
            Payload::Merged { .. } => "merged",
        }
    }
}

/// One validated interaction event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub envelope: Envelope,
    pub payload: Payload,
}

impl Event {
    pub fn key(&self) -> ConversationKey {
        ConversationKey::new(&self.envelope.tenant, &self.envelope.conversation_id)
    }

    pub fn at(&self) -> EventTime {
        self.envelope.occurred_at
    }

    pub fn id(&self) -> &str {
        self.envelope.event_id.as_str()
    }
}

/// Tenant and conversation: the Kafka key, so one conversation stays on one partition, in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConversationKey(String);

impl ConversationKey {
    pub fn new(tenant: &Id, conversation: &Id) -> Self {
        Self(format!("{}/{}", tenant.as_str(), conversation.as_str()))
    }

    pub fn from_raw(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A 64-bit hash of the key of `conversation` of `tenant`, computed without spelling the
    /// key out: what tables of conversations that hold their keys elsewhere (an index of
    /// positions in a vector) look conversations up by. Not stable across versions; never
    /// stored.
    pub fn hash_of(tenant: &str, conversation: &str) -> u64 {
        use std::hash::{BuildHasher, Hasher};
        let mut h = rustc_hash::FxBuildHasher.build_hasher();
        h.write(tenant.as_bytes());
        h.write_u8(b'/');
        h.write(conversation.as_bytes());
        h.finish()
    }
}

impl fmt::Display for ConversationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Event {
    /// The JSON form accepted by `POST /v1/events`.
    pub fn to_json(&self) -> serde_json::Value {
        let env = &self.envelope;
        let mut v = serde_json::json!({
            "event_id": env.event_id.as_str(),
            "tenant": env.tenant.as_str(),
            "conversation_id": env.conversation_id.as_str(),
            "occurred_at": env.occurred_at.to_rfc3339(),
            "source": env.source.as_str(),
            "schema_version": env.schema_version,
            "channel": env.channel.as_str(),
        });
        let opt = |o: &Option<Id>| o.as_ref().map(|i| i.as_str().to_string());
        let payload = match &self.payload {
            Payload::CustomerMessage {
                text,
                customer_id,
                customer_tier,
            } => serde_json::json!({
                "text": text.as_str(), "customer_id": customer_id.as_str(), "customer_tier": opt(customer_tier),
            }),
            Payload::ReplySent {
                text,
                author,
                visibility,
                agent_id,
                agent_display_name,
            } => serde_json::json!({
                "text": text.as_str(), "author_kind": author.as_str(), "visibility": visibility.as_str(),
                "agent_id": opt(agent_id), "agent_display_name": agent_display_name,
            }),
            Payload::StatusChanged(s) => serde_json::json!({ "status": s.as_str() }),
            Payload::AssignmentChanged { queue, agent_id } => serde_json::json!({
                "queue": opt(queue), "agent_id": opt(agent_id),
            }),
            Payload::PriorityChanged(p) => serde_json::json!({ "priority": p.as_str() }),
            Payload::Merged { from, waiting } => serde_json::json!({
                "from": from.as_str(),
                "waiting_since": waiting.as_ref().map(|(t, _)| t.to_rfc3339()),
                "waiting_event_id": waiting.as_ref().map(|(_, e)| e.as_str().to_string()),
            }),
        };
        v[self.payload.kind()] = payload;
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(*c));
        }
        for s in ConversationStatus::ALL {
            assert_eq!(ConversationStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(Channel::parse("sms"), None);
        assert!(Channel::names().contains("whatsapp"));
    }
}
