//! Which message each topic carries, and one decoder for them all.

use crate::common::DecodeError;
use crate::{escalations, events, policies, sentiment, sla};
use pronto_domain::Record;

/// Pronto's topics, by what they carry (their names are configurable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    Events,
    Sentiment,
    Sla,
    Escalations,
    Policies,
}

impl Topic {
    pub const ALL: [Self; 5] = [
        Self::Events,
        Self::Sentiment,
        Self::Sla,
        Self::Escalations,
        Self::Policies,
    ];

    /// The protobuf message of the topic's records.
    pub fn message(self) -> &'static str {
        match self {
            Self::Events => events::MESSAGE,
            Self::Sentiment => sentiment::MESSAGE,
            Self::Sla => sla::MESSAGE,
            Self::Escalations => escalations::MESSAGE,
            Self::Policies => policies::MESSAGE,
        }
    }
}

/// A record of `topic` from its bytes: the domain value it carries, or why it carries none.
pub fn decode(topic: Topic, bytes: &[u8]) -> Result<Record, DecodeError> {
    Ok(match topic {
        Topic::Events => Record::Event(events::decode(bytes)?),
        Topic::Sentiment => Record::Tag(sentiment::decode(bytes)?),
        Topic::Sla => Record::Sla(sla::decode(bytes)?),
        Topic::Escalations => Record::Escalation(escalations::decode(bytes)?),
        Topic::Policies => Record::Policy(policies::decode(bytes)?),
    })
}

/// The bytes of `record`, as its topic carries it.
pub fn encode(record: &Record) -> Vec<u8> {
    match record {
        Record::Event(e) => events::encode(e),
        Record::Tag(t) => sentiment::encode(t),
        Record::Sla(f) => sla::encode(f),
        Record::Escalation(e) => escalations::encode(e),
        Record::Policy(p) => policies::encode(p),
    }
}

/// The topic `record` belongs on.
pub fn topic_of(record: &Record) -> Topic {
    match record {
        Record::Event(_) => Topic::Events,
        Record::Tag(_) => Topic::Sentiment,
        Record::Sla(_) => Topic::Sla,
        Record::Escalation(_) => Topic::Escalations,
        Record::Policy(_) => Topic::Policies,
    }
}
