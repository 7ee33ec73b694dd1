//! Untrusted events as they arrive (JSON or protobuf), and their validation into [`Event`].
//!
//! Both the HTTP and the gRPC faces convert into [`RawEvent`] and call [`RawEvent::validate`],
//! so a bad field gets the same path and reason on every face.

use crate::{
    AuthorKind, BoundedText, Channel, ConversationStatus, Envelope, Event, EventTime, Id, Name,
    Payload, Priority, Visibility,
};
use serde::{Deserialize, Deserializer};
use std::fmt;

/// One rejected field: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// Path to the field, e.g. `events[2].envelope.occurred_at`.
    pub path: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// Every field an event was rejected for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    fn push(&mut self, path: &str, reason: impl Into<String>) {
        self.0.push(FieldError::new(path, reason));
    }

    /// Prefixes every path, e.g. with `events[3]` for an item of a batch.
    pub fn prefixed(self, prefix: &str) -> Self {
        Self(
            self.0
                .into_iter()
                .map(|e| FieldError::new(format!("{prefix}.{}", e.path), e.reason))
                .collect(),
        )
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Bounds that validation enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest message text accepted, in bytes.
    pub max_text_bytes: usize,
    /// Earliest event time accepted.
    pub earliest: EventTime,
    /// How far past the receiving clock an event time may lie (clock skew allowance).
    pub max_future_ms: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_text_bytes: 64 * 1024,
            // 2000-01-01T00:00:00Z
            earliest: EventTime(946_684_800_000),
            max_future_ms: 24 * 3600 * 1000,
        }
    }
}

/// The schema version this build understands.
pub const SCHEMA_VERSION: u32 = 1;

/// An event time before validation: RFC 3339 text (JSON) or seconds and nanos (protobuf).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawTime {
    Rfc3339(Name),
    Parts { seconds: i64, nanos: i32 },
}

impl<'de> Deserialize<'de> for RawTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Name::deserialize(d).map(RawTime::Rfc3339)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCustomerMessage {
    pub text: Option<String>,
    pub customer_id: Option<Name>,
    pub customer_tier: Option<Name>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReply {
    pub text: Option<String>,
    /// `human` (default) or `bot`.
    pub author_kind: Option<Name>,
    /// `public` (default) or `private`.
    pub visibility: Option<Name>,
    pub agent_id: Option<Name>,
    pub agent_display_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStatus {
    pub status: Option<Name>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAssignment {
    pub queue: Option<Name>,
    pub agent_id: Option<Name>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPriority {
    pub priority: Option<Name>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMerged {
    /// The conversation merged into this one.
    pub from: Option<Name>,
    /// When `from`'s customer was waiting for a reply: since when, and the message.
    pub waiting_since: Option<RawTime>,
    pub waiting_event_id: Option<Name>,
}

/// An event as received, every field optional so that validation can name each missing one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvent {
    pub event_id: Option<Name>,
    pub tenant: Option<Name>,
    pub conversation_id: Option<Name>,
    pub occurred_at: Option<RawTime>,
    pub source: Option<Name>,
    pub schema_version: Option<u32>,
    pub channel: Option<Name>,
    pub customer_message: Option<RawCustomerMessage>,
    pub reply_sent: Option<RawReply>,
    pub status_changed: Option<RawStatus>,
    pub assignment_changed: Option<RawAssignment>,
    pub priority_changed: Option<RawPriority>,
    pub merged: Option<RawMerged>,
}

const PAYLOADS: &str =
    "customer_message, reply_sent, status_changed, assignment_changed, priority_changed, merged";

fn blank_to_none<S: AsRef<str>>(v: Option<S>) -> Option<S> {
    v.filter(|s| !s.as_ref().is_empty())
}

fn required_id(errs: &mut ValidationErrors, path: &str, v: Option<Name>) -> Option<Id> {
    match blank_to_none(v) {
        None => {
            errs.push(path, "is required");
            None
        }
        Some(s) => optional_id(errs, path, Some(s)),
    }
}

fn optional_id(errs: &mut ValidationErrors, path: &str, v: Option<Name>) -> Option<Id> {
    match blank_to_none(v).map(Id::parse) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(e)) => {
            errs.push(path, e.to_string());
            None
        }
    }
}

fn named<T>(
    errs: &mut ValidationErrors,
    path: &str,
    what: &str,
    v: Option<Name>,
    default: Option<T>,
    parse: impl Fn(&str) -> Option<T>,
    // Spelled out only for an error message.
    names: fn() -> String,
) -> Option<T> {
    match blank_to_none(v) {
        None if default.is_some() => default,
        None => {
            errs.push(path, format!("is required; expected one of {}", names()));
            None
        }
        Some(s) => {
            let parsed = parse(&s);
            if parsed.is_none() {
                errs.push(
                    path,
                    format!("unknown {what} '{s}'; expected one of {}", names()),
                );
            }
            parsed
        }
    }
}

fn text(
    errs: &mut ValidationErrors,
    path: &str,
    v: Option<String>,
    limits: &Limits,
) -> BoundedText {
    let s = v.unwrap_or_default();
    if s.len() > limits.max_text_bytes {
        errs.push(
            path,
            format!(
                "is {} bytes long; at most {} are allowed",
                s.len(),
                limits.max_text_bytes
            ),
        );
    }
    BoundedText::new_unchecked(s)
}

impl RawEvent {
    /// Validates every field and returns the event, or every reason it was refused.
    ///
    /// `now` is the receiving clock, used only to refuse event times implausibly far in the
    /// future; the event's own time is what every later computation uses.
    pub fn validate(self, now: EventTime, limits: &Limits) -> Result<Event, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let event_id = required_id(&mut errs, "event_id", self.event_id);
        let tenant = required_id(&mut errs, "tenant", self.tenant);
        let conversation_id = required_id(&mut errs, "conversation_id", self.conversation_id);
        let source = required_id(&mut errs, "source", self.source);
        let channel = named(
            &mut errs,
            "channel",
            "channel",
            self.channel,
            None,
            Channel::parse,
            Channel::names,
        );
        let schema_version = match self.schema_version.unwrap_or(0) {
            0 => SCHEMA_VERSION,
            v if v == SCHEMA_VERSION => v,
            v => {
                errs.push(
                    "schema_version",
                    format!(
                        "version {v} is not supported; this service reads version {SCHEMA_VERSION}"
                    ),
                );
                v
            }
        };
        let occurred_at = match self.occurred_at {
            None => {
                errs.push(
                    "occurred_at",
                    "is required (RFC 3339, e.g. 2026-03-02T09:15:00Z)",
                );
                None
            }
            Some(raw) => {
                let parsed = match raw {
                    RawTime::Rfc3339(s) => EventTime::parse_rfc3339(&s),
                    RawTime::Parts { seconds, nanos } => EventTime::from_parts(seconds, nanos),
                };
                match parsed {
                    Err(e) => {
                        errs.push("occurred_at", e.to_string());
                        None
                    }
                    Ok(t) if t < limits.earliest => {
                        errs.push(
                            "occurred_at",
                            format!(
                                "{t} is before the earliest accepted time {}",
                                limits.earliest
                            ),
                        );
                        None
                    }
                    Ok(t) if t.millis() > now.millis().saturating_add(limits.max_future_ms) => {
                        errs.push(
                            "occurred_at",
                            format!(
                                "{t} lies more than {} h past the receiving clock ({now})",
                                limits.max_future_ms / 3_600_000
                            ),
                        );
                        None
                    }
                    Ok(t) => Some(t),
                }
            }
        };

        let given = [
            self.customer_message.is_some(),
            self.reply_sent.is_some(),
            self.status_changed.is_some(),
            self.assignment_changed.is_some(),
            self.priority_changed.is_some(),
            self.merged.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        let payload = if given != 1 {
            errs.push(
                "payload",
                format!("exactly one of {PAYLOADS} is required; found {given}"),
            );
            None
        } else if let Some(m) = self.customer_message {
            let text = text(&mut errs, "customer_message.text", m.text, limits);
            let customer_id = required_id(&mut errs, "customer_message.customer_id", m.customer_id);
            let customer_tier =
                optional_id(&mut errs, "customer_message.customer_tier", m.customer_tier);
            customer_id.map(|customer_id| Payload::CustomerMessage {
                text,
                customer_id,
                customer_tier,
            })
        } else if let Some(r) = self.reply_sent {
            let text = text(&mut errs, "reply_sent.text", r.text, limits);
            let author = named(
                &mut errs,
                "reply_sent.author_kind",
                "author kind",
                r.author_kind,
                Some(AuthorKind::Human),
                AuthorKind::parse,
                AuthorKind::names,
            );
            let visibility = named(
                &mut errs,
                "reply_sent.visibility",
                "visibility",
                r.visibility,
                Some(Visibility::Public),
                Visibility::parse,
                Visibility::names,
            );
            let agent_id = if author == Some(AuthorKind::Human) {
                let id = optional_id(&mut errs, "reply_sent.agent_id", r.agent_id.clone());
                if blank_to_none(r.agent_id).is_none() {
                    errs.push("reply_sent.agent_id", "is required for a human reply");
                }
                id
            } else {
                optional_id(&mut errs, "reply_sent.agent_id", r.agent_id)
            };
            let agent_display_name = blank_to_none(r.agent_display_name);
            match (author, visibility) {
                (Some(author), Some(visibility)) => Some(Payload::ReplySent {
                    text,
                    author,
                    visibility,
                    agent_id,
                    agent_display_name,
                }),
                _ => None,
            }
        } else if let Some(s) = self.status_changed {
            named(
                &mut errs,
                "status_changed.status",
                "status",
                s.status,
                None,
                ConversationStatus::parse,
                ConversationStatus::names,
            )
            .map(Payload::StatusChanged)
        } else if let Some(a) = self.assignment_changed {
            let queue = optional_id(&mut errs, "assignment_changed.queue", a.queue);
            let agent_id = optional_id(&mut errs, "assignment_changed.agent_id", a.agent_id);
            if queue.is_none() && agent_id.is_none() && errs.0.is_empty() {
                errs.push(
                    "assignment_changed",
                    "names neither a queue nor an agent_id",
                );
            }
            Some(Payload::AssignmentChanged { queue, agent_id })
        } else if let Some(p) = self.priority_changed {
            named(
                &mut errs,
                "priority_changed.priority",
                "priority",
                p.priority,
                None,
                Priority::parse,
                Priority::names,
            )
            .map(Payload::PriorityChanged)
        } else if let Some(m) = self.merged {
            let from = required_id(&mut errs, "merged.from", m.from);
            if from.is_some()
                && from.as_ref().map(Id::as_str) == conversation_id.as_ref().map(Id::as_str)
            {
                errs.push("merged.from", "is this conversation itself");
            }
            let since = m.waiting_since.and_then(|raw| {
                let parsed = match raw {
                    RawTime::Rfc3339(s) => EventTime::parse_rfc3339(&s),
                    RawTime::Parts { seconds, nanos } => EventTime::from_parts(seconds, nanos),
                };
                parsed
                    .map_err(|e| errs.push("merged.waiting_since", e.to_string()))
                    .ok()
            });
            if let (Some(since), Some(at)) = (since, occurred_at)
                && since > at
            {
                errs.push(
                    "merged.waiting_since",
                    format!("{since} is after the merge ({at})"),
                );
            }
            let message = optional_id(&mut errs, "merged.waiting_event_id", m.waiting_event_id);
            let waiting = match (since, message) {
                (Some(s), Some(e)) => Some((s, e)),
                (None, None) => None,
                (Some(_), None) => {
                    errs.push("merged.waiting_event_id", "is required with waiting_since");
                    None
                }
                (None, Some(_)) => {
                    errs.push("merged.waiting_since", "is required with waiting_event_id");
                    None
                }
            };
            from.map(|from| Payload::Merged { from, waiting })
        } else {
            None
        };

        match (
            event_id,
            tenant,
            conversation_id,
            occurred_at,
            source,
            channel,
            payload,
        ) {
            (
                Some(event_id),
                Some(tenant),
                Some(conversation_id),
                Some(occurred_at),
                Some(source),
                Some(channel),
                Some(payload),
            ) if errs.0.is_empty() => Ok(Event {
                envelope: Envelope {
                    event_id,
                    tenant,
                    conversation_id,
                    occurred_at,
                    source,
                    schema_version,
                    channel,
                },
                payload,
            }),
            _ => Err(errs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: EventTime = EventTime(1_772_442_000_000); // 2026-03-02T09:00:00Z

    fn parse(json: &str) -> Result<Event, ValidationErrors> {
        let raw: RawEvent = serde_json::from_str(json).expect("test JSON is well formed");
        raw.validate(NOW, &Limits::default())
    }

    fn paths(r: Result<Event, ValidationErrors>) -> Vec<String> {
        r.unwrap_err().0.into_iter().map(|e| e.path).collect()
    }

    const GOOD: &str = r#"{"event_id":"e1","tenant":"acme","conversation_id":"c1",
        "occurred_at":"2026-03-02T08:59:00Z","source":"test","channel":"email",
        "customer_message":{"text":"Ciao, il mio ordine?","customer_id":"u1"}}"#;

    #[test]
    fn a_complete_message_validates() {
        let e = parse(GOOD).unwrap();
        assert_eq!(e.envelope.channel, Channel::Email);
        assert_eq!(e.envelope.schema_version, SCHEMA_VERSION);
        assert_eq!(e.key().as_str(), "acme/c1");
        assert!(matches!(e.payload, Payload::CustomerMessage { .. }));
    }

    #[test]
    fn every_missing_field_is_named() {
        let p = paths(parse(r#"{"customer_message":{"text":"x"}}"#));
        assert_eq!(
            p,
            [
                "event_id",
                "tenant",
                "conversation_id",
                "source",
                "channel",
                "occurred_at",
                "customer_message.customer_id"
            ]
        );
    }

    #[test]
    fn unknown_channel_names_the_choices() {
        let r = parse(&GOOD.replace("\"email\"", "\"sms\""));
        let e = &r.unwrap_err().0[0];
        assert_eq!(e.path, "channel");
        assert!(e.reason.contains("unknown channel 'sms'"), "{}", e.reason);
        assert!(e.reason.contains("whatsapp"));
    }

    #[test]
    fn bad_and_implausible_timestamps_are_refused() {
        for t in [
            "2026-03-02 08:59",
            "1999-12-31T23:59:59Z",
            "2026-03-04T09:00:00Z",
        ] {
            let p = paths(parse(&GOOD.replace("2026-03-02T08:59:00Z", t)));
            assert_eq!(p, ["occurred_at"], "{t}");
        }
    }

    #[test]
    fn oversized_text_is_refused() {
        let long = "a".repeat(64 * 1024 + 1);
        let p = paths(parse(&GOOD.replace("Ciao, il mio ordine?", &long)));
        assert_eq!(p, ["customer_message.text"]);
    }

    #[test]
    fn payload_must_be_exactly_one() {
        let two = GOOD.replace(
            "\"customer_message\"",
            "\"status_changed\":{\"status\":\"open\"},\"customer_message\"",
        );
        assert_eq!(paths(parse(&two)), ["payload"]);
    }

    #[test]
    fn human_replies_need_an_agent_and_bots_do_not() {
        let human = GOOD.replace(
            r#""customer_message":{"text":"Ciao, il mio ordine?","customer_id":"u1"}"#,
            r#""reply_sent":{"text":"Eccomi"}"#,
        );
        assert_eq!(paths(parse(&human)), ["reply_sent.agent_id"]);
        let bot = human.replace(
            r#""text":"Eccomi""#,
            r#""text":"Eccomi","author_kind":"bot""#,
        );
        assert!(parse(&bot).is_ok());
    }

    #[test]
    fn unsupported_schema_version_is_refused() {
        let v2 = GOOD.replace("\"source\"", "\"schema_version\":2,\"source\"");
        assert_eq!(paths(parse(&v2)), ["schema_version"]);
    }

    #[test]
    fn batch_prefix_applies_to_every_path() {
        let errs = parse(r#"{"customer_message":{}}"#)
            .unwrap_err()
            .prefixed("events[3]");
        assert!(errs.0.iter().all(|e| e.path.starts_with("events[3].")));
    }

    #[test]
    fn a_merge_names_the_merged_conversation_and_its_wait_whole() {
        let base = |merged: &str| {
            format!(
                r#"{{"event_id":"g1","tenant":"acme","conversation_id":"c1","occurred_at":"2026-03-02T09:50:00Z",
                "source":"test","channel":"chat","merged":{merged}}}"#
            )
        };
        let ok = parse(&base(
            r#"{"from":"c2","waiting_since":"2026-03-02T09:00:00Z","waiting_event_id":"m7"}"#,
        ))
        .unwrap();
        assert!(matches!(
            ok.payload,
            Payload::Merged { ref from, waiting: Some((_, ref m)) } if from.as_str() == "c2" && m.as_str() == "m7"
        ));
        assert!(parse(&base(r#"{"from":"c2"}"#)).is_ok());
        assert_eq!(paths(parse(&base("{}"))), ["merged.from"]);
        assert_eq!(paths(parse(&base(r#"{"from":"c1"}"#))), ["merged.from"]);
        assert_eq!(
            paths(parse(&base(
                r#"{"from":"c2","waiting_since":"2026-03-02T10:00:00Z","waiting_event_id":"m7"}"#
            ))),
            ["merged.waiting_since"]
        );
        assert_eq!(
            paths(parse(&base(
                r#"{"from":"c2","waiting_since":"2026-03-02T09:00:00Z"}"#
            ))),
            ["merged.waiting_event_id"]
        );
    }
}
