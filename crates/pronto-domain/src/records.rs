//! What each topic carries, as domain values: the events, the derived facts, and the records
//! that are neither (people handling escalations, configuration versions taking effect).
//! Every consumer matches on [`Record`], whichever wire format the record came in.

use crate::{EscalationFact, Event, EventTime, SentimentTag, SlaFact};
use std::fmt;

/// Where an escalation stands. Resolved and withdrawn are final: nothing changes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EscalationState {
    /// Raised, and nobody has acted on it yet.
    #[default]
    Open,
    /// Someone said they are on it; its ladder climbs no further.
    Acknowledged,
    /// Someone closed it.
    Resolved,
    /// An SLA correction took back the verdict behind it.
    Withdrawn,
}

impl EscalationState {
    pub const ALL: [Self; 4] = [
        Self::Open,
        Self::Acknowledged,
        Self::Resolved,
        Self::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Resolved => "resolved",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// The state named `name` (`open`, `acknowledged`, `resolved`, `withdrawn`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether nothing can change this state any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Resolved | Self::Withdrawn)
    }

    /// The state after a record saying `to` is read: a final state stays as it is, whatever
    /// comes after it (records of one escalation may be read in any order across replicas).
    pub fn then(self, to: Self) -> Self {
        if self.is_final() { self } else { to }
    }

    /// Whether a person may move an escalation in this state to `to`; why not, if not.
    pub fn may_become(self, to: Self) -> Result<(), String> {
        if self.is_final() || self == to {
            Err(format!("is already {self}"))
        } else {
            Ok(())
        }
    }
}

impl fmt::Display for EscalationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person acknowledged or resolved an escalation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationHandled {
    pub escalation_id: String,
    /// [`EscalationState::Acknowledged`] or [`EscalationState::Resolved`].
    pub state: EscalationState,
    /// Who, as they gave their name.
    pub by: String,
    pub at: EventTime,
}

/// A configuration version recorded on a topic: an SLA policy (the policies topic) or a set
/// of escalation rules (the escalations topic). The topic is the list of versions in force
/// over time, so every process that folds it, live or replaying, follows the same versions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionRecord {
    /// `name@hash` of the content, the version every fact derived under it names.
    pub version: String,
    /// The instant it takes over; `None` for a first version that covers all history.
    pub effective_from: Option<EventTime>,
    /// The file's text (TOML) and its name when it was recorded.
    pub source: String,
    pub file: String,
    /// The instance that recorded it.
    pub publisher: String,
    /// When it was recorded, by the publisher's wall clock (SLA policies only).
    pub published_at: Option<EventTime>,
}

/// What the escalations topic carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EscalationRecord {
    /// An escalation raised or withdrawn: derived by the rules.
    Fact(EscalationFact),
    /// An escalation acknowledged or resolved by a person.
    Handled(EscalationHandled),
    /// The escalation rules version a service runs, from when it took effect.
    RulesInForce(VersionRecord),
}

impl EscalationRecord {
    /// The escalation this record moves to another state, and that state.
    pub fn state_change(&self) -> Option<(&str, EscalationState)> {
        match self {
            Self::Fact(EscalationFact::Raised(r)) => {
                Some((r.escalation_id.as_str(), EscalationState::Open))
            }
            Self::Fact(EscalationFact::Withdrawn(w)) => {
                Some((w.escalation_id.as_str(), EscalationState::Withdrawn))
            }
            Self::Handled(h) => Some((h.escalation_id.as_str(), h.state)),
            Self::RulesInForce(_) => None,
        }
    }
}

/// One record of any of Pronto's topics, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// An interaction event (the events topic).
    Event(Event),
    /// A sentiment tag (the sentiment topic).
    Tag(SentimentTag),
    /// A reply latency, warning, breach or correction (the SLA topic).
    Sla(SlaFact),
    /// The escalations topic's records.
    Escalation(EscalationRecord),
    /// An SLA policy version (the policies topic).
    Policy(VersionRecord),
}

impl Record {
    /// The event time the record speaks of: when the event occurred, the fact's own time, when
    /// a person acted, when a version takes over (`None` for a first version).
    pub fn at(&self) -> Option<EventTime> {
        match self {
            Record::Event(e) => Some(e.at()),
            Record::Tag(t) => Some(t.occurred_at),
            Record::Sla(f) => Some(f.at()),
            Record::Escalation(EscalationRecord::Fact(EscalationFact::Raised(r))) => {
                Some(r.raised_at)
            }
            Record::Escalation(EscalationRecord::Fact(EscalationFact::Withdrawn(w))) => Some(w.at),
            Record::Escalation(EscalationRecord::Handled(h)) => Some(h.at),
            Record::Escalation(EscalationRecord::RulesInForce(v)) | Record::Policy(v) => {
                v.effective_from
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_named_and_final_states_stay() {
        for s in EscalationState::ALL {
            assert_eq!(EscalationState::from_name(s.as_str()), Some(s));
        }
        assert_eq!(EscalationState::from_name("closed"), None);
        use EscalationState::*;
        assert_eq!(Open.then(Acknowledged), Acknowledged);
        assert_eq!(Acknowledged.then(Resolved), Resolved);
        // A resolution is final: an acknowledgement read after it changes nothing.
        assert_eq!(Resolved.then(Acknowledged), Resolved);
        assert_eq!(Withdrawn.then(Resolved), Withdrawn);
        assert!(Open.may_become(Acknowledged).is_ok());
        assert!(Acknowledged.may_become(Resolved).is_ok());
        assert_eq!(
            Acknowledged.may_become(Acknowledged),
            Err("is already acknowledged".into())
        );
        assert!(Resolved.may_become(Acknowledged).is_err());
        assert!(Withdrawn.may_become(Resolved).is_err());
    }
}
