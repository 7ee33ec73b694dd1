//! Conversions between wire types and domain types. Wire types stay at the edge: every
//! inbound conversion goes through [`RawEvent::validate`].

use crate::v1 as pb;
use pronto_domain::{
    AuthorKind, Channel, ConversationContext, ConversationStatus, EscalationFact, EscalationRaised,
    EscalationWithdrawn, Event, EventTime, Limits, Name, Payload, Polarity, Priority,
    RawAssignment, RawCustomerMessage, RawEvent, RawMerged, RawPriority, RawReply, RawStatus,
    RawTime, ReplyKind, ReplyLatency, SentimentTag, SlaBreach, SlaCorrection, SlaFact, SlaWarning,
    ValidationErrors, Visibility,
};
use prost::Message;

/// A record payload that could not be turned into a domain value.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not a valid {message} protobuf: {source}")]
    Protobuf {
        message: &'static str,
        source: prost::DecodeError,
    },
    #[error("invalid {message}: {detail}")]
    Invalid {
        message: &'static str,
        detail: String,
    },
}

fn ts(t: EventTime) -> prost_types::Timestamp {
    let (seconds, nanos) = t.to_parts();
    prost_types::Timestamp { seconds, nanos }
}

fn from_ts(
    message: &'static str,
    field: &str,
    t: Option<prost_types::Timestamp>,
) -> Result<EventTime, DecodeError> {
    let t = t.ok_or_else(|| DecodeError::Invalid {
        message,
        detail: format!("{field} is missing"),
    })?;
    EventTime::from_parts(t.seconds, t.nanos).map_err(|e| DecodeError::Invalid {
        message,
        detail: format!("{field} {e}"),
    })
}

fn enum_name<E>(value: i32, to_domain: impl Fn(E) -> Option<&'static str>) -> Option<Name>
where
    E: TryFrom<i32>,
{
    if value == 0 {
        return None;
    }
    Some(match E::try_from(value).ok().and_then(to_domain) {
        Some(name) => Name::const_new(name),
        None => Name::from(value.to_string()),
    })
}

fn channel_name(c: pb::Channel) -> Option<&'static str> {
    channel_from_pb(c).map(Channel::as_str)
}

pub(crate) fn channel_from_pb(c: pb::Channel) -> Option<Channel> {
    use pb::Channel as C;
    Some(match c {
        C::Unspecified => return None,
        C::Phone => Channel::Phone,
        C::Email => Channel::Email,
        C::Chat => Channel::Chat,
        C::Twitter => Channel::Twitter,
        C::Facebook => Channel::Facebook,
        C::Instagram => Channel::Instagram,
        C::Whatsapp => Channel::Whatsapp,
    })
}

pub fn channel_to_pb(c: Channel) -> pb::Channel {
    use pb::Channel as C;
    match c {
        Channel::Phone => C::Phone,
        Channel::Email => C::Email,
        Channel::Chat => C::Chat,
        Channel::Twitter => C::Twitter,
        Channel::Facebook => C::Facebook,
        Channel::Instagram => C::Instagram,
        Channel::Whatsapp => C::Whatsapp,
    }
}

fn status_from_pb(s: pb::ConversationStatus) -> Option<ConversationStatus> {
    use pb::ConversationStatus as S;
    Some(match s {
        S::Unspecified => return None,
        S::Open => ConversationStatus::Open,
        S::PendingCustomer => ConversationStatus::PendingCustomer,
        S::OnHold => ConversationStatus::OnHold,
        S::Solved => ConversationStatus::Solved,
        S::Closed => ConversationStatus::Closed,
        S::Reopened => ConversationStatus::Reopened,
    })
}

fn status_to_pb(s: ConversationStatus) -> pb::ConversationStatus {
    use pb::ConversationStatus as S;
    match s {
        ConversationStatus::Open => S::Open,
        ConversationStatus::PendingCustomer => S::PendingCustomer,
        ConversationStatus::OnHold => S::OnHold,
        ConversationStatus::Solved => S::Solved,
        ConversationStatus::Closed => S::Closed,
        ConversationStatus::Reopened => S::Reopened,
    }
}

pub(crate) fn priority_from_pb(p: pb::Priority) -> Option<Priority> {
    use pb::Priority as P;
    Some(match p {
        P::Unspecified => return None,
        P::Low => Priority::Low,
        P::Normal => Priority::Normal,
        P::High => Priority::High,
        P::Urgent => Priority::Urgent,
    })
}

pub(crate) fn priority_to_pb(p: Priority) -> pb::Priority {
    use pb::Priority as P;
    match p {
        Priority::Low => P::Low,
        Priority::Normal => P::Normal,
        Priority::High => P::High,
        Priority::Urgent => P::Urgent,
    }
}

fn author_from_pb(a: pb::AuthorKind) -> Option<AuthorKind> {
    match a {
        pb::AuthorKind::Unspecified => None,
        pb::AuthorKind::Human => Some(AuthorKind::Human),
        pb::AuthorKind::Bot => Some(AuthorKind::Bot),
    }
}

fn visibility_from_pb(v: pb::Visibility) -> Option<Visibility> {
    match v {
        pb::Visibility::Unspecified => None,
        pb::Visibility::Public => Some(Visibility::Public),
        pb::Visibility::Private => Some(Visibility::Private),
    }
}

fn opt<S: From<String>>(s: String) -> Option<S> {
    (!s.is_empty()).then(|| S::from(s))
}

/// The untrusted form of a protobuf event, ready for [`RawEvent::validate`].
///
/// Unknown enum numbers come through as their number, so validation names them.
pub fn raw_from_pb(e: pb::Event) -> RawEvent {
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
pub fn event_from_pb(e: pb::Event) -> Result<Event, ValidationErrors> {
    let lenient = Limits {
        earliest: EventTime(i64::MIN),
        max_future_ms: i64::MAX,
        ..Limits::default()
    };
    raw_from_pb(e).validate(EventTime(0), &lenient)
}

/// Decodes the bytes of an events-topic record.
pub fn decode_event(bytes: &[u8]) -> Result<Event, DecodeError> {
    let pbe = pb::Event::decode(bytes).map_err(|source| DecodeError::Protobuf {
        message: "pronto.v1.Event",
        source,
    })?;
    event_from_pb(pbe).map_err(|e| DecodeError::Invalid {
        message: "pronto.v1.Event",
        detail: e.to_string(),
    })
}

pub fn event_to_pb(e: &Event) -> pb::Event {
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

pub fn polarity_from_pb(p: pb::Polarity) -> Option<Polarity> {
    match p {
        pb::Polarity::Positive => Some(Polarity::Positive),
        pb::Polarity::Neutral => Some(Polarity::Neutral),
        pb::Polarity::Negative => Some(Polarity::Negative),
        pb::Polarity::Unspecified => None,
    }
}

pub fn polarity_to_pb(p: Polarity) -> pb::Polarity {
    match p {
        Polarity::Positive => pb::Polarity::Positive,
        Polarity::Neutral => pb::Polarity::Neutral,
        Polarity::Negative => pb::Polarity::Negative,
    }
}

fn invalid(message: &'static str, detail: impl Into<String>) -> DecodeError {
    DecodeError::Invalid {
        message,
        detail: detail.into(),
    }
}

pub fn tag_to_pb(t: &SentimentTag) -> pb::SentimentTag {
    let mut m = pb::SentimentTag::default();
    tag_into_pb(t, &mut m);
    m
}

/// [`tag_to_pb`] into `m`, every field overwritten: the strings keep their room, so a message
/// filled again and again allocates nothing once its strings are long enough. The fields are
/// named one by one (no `..`), so a field added to the message is a compile error here until
/// it is filled, never a value left over from the message before.
pub fn tag_into_pb(t: &SentimentTag, m: &mut pb::SentimentTag) {
    let pb::SentimentTag {
        fact_id,
        event_id,
        tenant,
        conversation_id,
        channel,
        occurred_at,
        polarity,
        score,
        language,
        tones,
        model_name,
        model_version,
        reply,
        signed,
        rescored,
    } = m;
    set(fact_id, &t.fact_id);
    set(event_id, t.event_id.as_str());
    set(tenant, t.tenant.as_str());
    set(conversation_id, t.conversation_id.as_str());
    *channel = channel_to_pb(t.channel) as i32;
    *occurred_at = Some(ts(t.occurred_at));
    *polarity = polarity_to_pb(t.polarity) as i32;
    *score = t.score;
    set(language, t.language.as_str());
    set_all(tones, t.tones.iter().map(|t| t.as_str()));
    set(model_name, t.model_name.as_str());
    set(model_version, t.model_version.as_str());
    *reply = t.reply;
    *signed = t.signed;
    *rescored = t.rescored;
}

/// Puts `value` in `slot`, in the room it has.
fn set(slot: &mut String, value: &str) {
    slot.clear();
    slot.push_str(value);
}

/// Puts `values` in `slots`, one each, in the room they have.
fn set_all<'a>(slots: &mut Vec<String>, values: impl Iterator<Item = &'a str>) {
    let mut n = 0;
    for v in values {
        match slots.get_mut(n) {
            Some(slot) => set(slot, v),
            None => slots.push(v.to_owned()),
        }
        n += 1;
    }
    slots.truncate(n);
}

/// The variant of `slot` that `get` finds, made (empty) with `make` when `slot` holds
/// another or none.
fn variant<F, T: Default>(
    slot: &mut Option<F>,
    make: fn(T) -> F,
    get: fn(&mut F) -> Option<&mut T>,
) -> &mut T {
    if slot.as_mut().is_none_or(|f| get(f).is_none()) {
        *slot = Some(make(T::default()));
    }
    slot.as_mut()
        .and_then(get)
        .expect("the variant was just made")
}

pub fn tag_from_pb(t: pb::SentimentTag) -> Result<SentimentTag, DecodeError> {
    const M: &str = "pronto.v1.SentimentTag";
    let channel = channel_from_pb(t.channel()).ok_or_else(|| invalid(M, "channel is unset"))?;
    let polarity = polarity_from_pb(t.polarity()).ok_or_else(|| invalid(M, "polarity is unset"))?;
    Ok(SentimentTag {
        occurred_at: from_ts(M, "occurred_at", t.occurred_at)?,
        fact_id: t.fact_id,
        event_id: t.event_id.into(),
        tenant: t.tenant.into(),
        conversation_id: t.conversation_id.into(),
        channel,
        polarity,
        score: t.score,
        language: t.language.into(),
        tones: t.tones.into_iter().map(Name::from).collect(),
        model_name: t.model_name.into(),
        model_version: t.model_version.into(),
        reply: t.reply,
        signed: t.signed,
        rescored: t.rescored,
    })
}

pub fn context_to_pb(c: &ConversationContext) -> pb::ConversationContext {
    let mut m = pb::ConversationContext::default();
    context_into_pb(c, &mut m);
    m
}

/// [`context_to_pb`] into `slot`, as [`tag_into_pb`] fills a tag.
fn context_into(c: &ConversationContext, slot: &mut Option<pb::ConversationContext>) {
    context_into_pb(c, slot.get_or_insert_with(Default::default));
}

fn context_into_pb(c: &ConversationContext, m: &mut pb::ConversationContext) {
    let pb::ConversationContext {
        tenant,
        conversation_id,
        channel,
        queue,
        priority,
        customer_tier,
    } = m;
    set(tenant, c.tenant.as_str());
    set(conversation_id, c.conversation_id.as_str());
    *channel = channel_to_pb(c.channel) as i32;
    set(queue, c.queue.as_str());
    *priority = priority_to_pb(c.priority) as i32;
    set(customer_tier, c.customer_tier.as_str());
}

fn context_from_pb(
    m: &'static str,
    c: Option<pb::ConversationContext>,
) -> Result<ConversationContext, DecodeError> {
    let c = c.ok_or_else(|| invalid(m, "context is missing"))?;
    Ok(ConversationContext {
        channel: channel_from_pb(c.channel())
            .ok_or_else(|| invalid(m, "context.channel is unset"))?,
        priority: priority_from_pb(c.priority()).unwrap_or(Priority::Normal),
        tenant: c.tenant.into(),
        conversation_id: c.conversation_id.into(),
        queue: c.queue.into(),
        customer_tier: c.customer_tier.into(),
    })
}

fn kind_to_pb(k: ReplyKind) -> i32 {
    match k {
        ReplyKind::First => pb::ReplyKind::First as i32,
        ReplyKind::Next => pb::ReplyKind::Next as i32,
        ReplyKind::Resolution => pb::ReplyKind::Resolution as i32,
    }
}

fn kind_from_pb(m: &'static str, k: i32) -> Result<ReplyKind, DecodeError> {
    match pb::ReplyKind::try_from(k) {
        Ok(pb::ReplyKind::First) => Ok(ReplyKind::First),
        Ok(pb::ReplyKind::Next) => Ok(ReplyKind::Next),
        Ok(pb::ReplyKind::Resolution) => Ok(ReplyKind::Resolution),
        _ => Err(invalid(m, format!("reply kind {k} is not first or next"))),
    }
}

pub fn sla_fact_to_pb(f: &SlaFact) -> pb::SlaFact {
    let mut m = pb::SlaFact::default();
    sla_fact_into_pb(f, &mut m);
    m
}

/// [`sla_fact_to_pb`] into `m`, as [`tag_into_pb`] fills a tag.
pub fn sla_fact_into_pb(f: &SlaFact, m: &mut pb::SlaFact) {
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

pub fn sla_fact_from_pb(f: pb::SlaFact) -> Result<SlaFact, DecodeError> {
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

fn level_to_pb(name: &str) -> pb::EscalationLevel {
    match name {
        "agent" => pb::EscalationLevel::Agent,
        "team_lead" => pb::EscalationLevel::TeamLead,
        "manager" => pb::EscalationLevel::Manager,
        _ => pb::EscalationLevel::Unspecified,
    }
}

/// An escalation raised, as the escalations topic carries it.
pub fn escalation_to_pb(e: &EscalationRaised) -> pb::EscalationEvent {
    let mut m = pb::EscalationEvent::default();
    escalation_raised_into_pb(e, &mut m);
    m
}

/// Any escalation fact, as the escalations topic carries it.
pub fn escalation_fact_to_pb(f: &EscalationFact) -> pb::EscalationEvent {
    let mut m = pb::EscalationEvent::default();
    escalation_fact_into_pb(f, &mut m);
    m
}

/// [`escalation_fact_to_pb`] into `m`, as [`tag_into_pb`] fills a tag.
pub fn escalation_fact_into_pb(f: &EscalationFact, m: &mut pb::EscalationEvent) {
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

pub fn escalation_from_pb(e: pb::EscalationRaised) -> Result<EscalationRaised, DecodeError> {
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

pub fn withdrawal_from_pb(w: pb::EscalationWithdrawn) -> Result<EscalationWithdrawn, DecodeError> {
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
pub fn escalation_fact_from_pb(e: pb::EscalationEvent) -> Result<EscalationFact, DecodeError> {
    use pb::escalation_event::Event;
    match e.event {
        Some(Event::Raised(r)) => Ok(EscalationFact::Raised(escalation_from_pb(r)?)),
        Some(Event::Withdrawn(w)) => Ok(EscalationFact::Withdrawn(withdrawal_from_pb(w)?)),
        _ => Err(invalid(
            "pronto.v1.EscalationEvent",
            "neither a raised nor a withdrawn escalation",
        )),
    }
}

/// Decodes a protobuf message of type `T` from a record payload.
pub fn decode<T: Message + Default>(name: &'static str, bytes: &[u8]) -> Result<T, DecodeError> {
    T::decode(bytes).map_err(|source| DecodeError::Protobuf {
        message: name,
        source,
    })
}

pub fn timestamp(t: EventTime) -> prost_types::Timestamp {
    ts(t)
}

/// The instant of a required timestamp field; `message` and `field` name it in the error.
pub fn time_from_pb(
    message: &'static str,
    field: &str,
    t: Option<prost_types::Timestamp>,
) -> Result<EventTime, DecodeError> {
    from_ts(message, field, t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pronto_domain::{Id, RawEvent};

    fn sample() -> Event {
        let raw: RawEvent = serde_json::from_str(
            r#"{"event_id":"e1","tenant":"acme","conversation_id":"c1",
            "occurred_at":"2026-03-02T08:59:00.250Z","source":"test","channel":"whatsapp",
            "reply_sent":{"text":"Hi, Marco here","agent_id":"a7","agent_display_name":"Marco"}}"#,
        )
        .unwrap();
        raw.validate(EventTime(1_772_442_000_000), &Limits::default())
            .unwrap()
    }

    #[test]
    fn events_round_trip_through_protobuf_bytes() {
        let e = sample();
        let bytes = event_to_pb(&e).encode_to_vec();
        assert_eq!(decode_event(&bytes).unwrap(), e);
    }

    #[test]
    fn merges_round_trip_with_and_without_a_wait() {
        for waiting in [
            None,
            Some((EventTime(1_772_441_000_250), Id::parse("m7").unwrap())),
        ] {
            let mut e = sample();
            e.payload = Payload::Merged {
                from: Id::parse("c2").unwrap(),
                waiting,
            };
            let bytes = event_to_pb(&e).encode_to_vec();
            assert_eq!(decode_event(&bytes).unwrap(), e);
        }
    }

    #[test]
    fn unknown_enum_numbers_are_named_in_the_error() {
        let mut pbe = event_to_pb(&sample());
        pbe.envelope.as_mut().unwrap().channel = 42;
        let errs = event_from_pb(pbe).unwrap_err();
        assert_eq!(errs.0[0].path, "channel");
        assert!(errs.0[0].reason.contains("'42'"));
    }

    #[test]
    fn garbage_bytes_are_a_decode_error_not_a_panic() {
        assert!(decode_event(&[0xff, 0xff, 0xff]).is_err());
        assert!(decode_event(b"").is_err());
    }

    #[test]
    fn sla_facts_round_trip() {
        let f = SlaFact::Breach(SlaBreach {
            fact_id: "brk-1".into(),
            clock_id: "clk-1".into(),
            context: ConversationContext {
                tenant: "acme".into(),
                conversation_id: "c1".into(),
                channel: Channel::Email,
                queue: "billing".into(),
                priority: Priority::High,
                customer_tier: String::new().into(),
            },
            kind: ReplyKind::First,
            customer_event_id: "e1".into(),
            customer_at: EventTime(1000),
            deadline: EventTime(2000),
            target_ms: 1000,
            policy_version: "default@abc".into(),
        });
        let bytes = sla_fact_to_pb(&f).encode_to_vec();
        let back = sla_fact_from_pb(decode("pronto.v1.SlaFact", &bytes).unwrap()).unwrap();
        assert_eq!(back, f);
        let _ = Id::parse("x").unwrap();
    }

    /// Facts that differ in every way one message filled after another could show: another
    /// variant, a field set then empty, lists longer then shorter.
    fn varied_facts() -> (Vec<SlaFact>, Vec<SentimentTag>, Vec<EscalationFact>) {
        let context = ConversationContext {
            tenant: "acme".into(),
            conversation_id: "a-conversation-id-longer-than-inline".into(),
            channel: Channel::Email,
            queue: "billing".into(),
            priority: Priority::High,
            customer_tier: "gold".into(),
        };
        let bare = ConversationContext {
            queue: Name::default(),
            customer_tier: Name::default(),
            ..context.clone()
        };
        let latency = ReplyLatency {
            fact_id: "lat-1".into(),
            clock_id: "clk-1".into(),
            context: context.clone(),
            kind: ReplyKind::First,
            customer_event_id: "e1".into(),
            customer_at: EventTime(1000),
            reply_event_id: "e2".into(),
            replied_at: EventTime(5000),
            agent_id: "agent-7".into(),
            calendar_ms: 4000,
            business_ms: 3000,
            target_ms: 60_000,
            met: true,
            policy_version: "default@abc".into(),
        };
        let sla = vec![
            SlaFact::Latency(latency.clone()),
            SlaFact::Latency(ReplyLatency {
                context: bare.clone(),
                agent_id: Name::default(),
                calendar_ms: 0,
                business_ms: 0,
                met: false,
                ..latency.clone()
            }),
            SlaFact::Warning(SlaWarning {
                fact_id: "wrn-1".into(),
                clock_id: "clk-1".into(),
                context: context.clone(),
                kind: ReplyKind::Next,
                customer_event_id: "e1".into(),
                customer_at: EventTime(1000),
                due_at: EventTime(46_000),
                fraction: 0.75,
                target_ms: 60_000,
                policy_version: "default@abc".into(),
            }),
            SlaFact::Correction(SlaCorrection {
                fact_id: "cor-1".into(),
                corrects_fact_id: "lat-1".into(),
                corrects_kind: "latency".into(),
                clock_id: "clk-1".into(),
                context: bare.clone(),
                kind: ReplyKind::Resolution,
                customer_at: EventTime(1000),
                reason: "a late reply came first".into(),
                occurred_at: EventTime(7000),
                policy_version: Name::default(),
            }),
            SlaFact::Latency(latency),
        ];
        let tag = SentimentTag {
            fact_id: "tag-1".into(),
            event_id: "e1".into(),
            tenant: "acme".into(),
            conversation_id: "c1".into(),
            channel: Channel::Chat,
            occurred_at: EventTime(1000),
            polarity: Polarity::Negative,
            score: -0.5,
            language: "en".into(),
            tones: vec!["angry".into(), "complaint".into()],
            model_name: "lexicon".into(),
            model_version: "2".into(),
            reply: false,
            signed: true,
            rescored: true,
        };
        let tags = vec![
            tag.clone(),
            SentimentTag {
                tones: Vec::new(),
                score: 0.0,
                polarity: Polarity::Neutral,
                signed: false,
                rescored: false,
                language: Name::default(),
                ..tag.clone()
            },
            SentimentTag {
                tones: vec!["question".into()],
                ..tag
            },
        ];
        let raised = EscalationRaised {
            escalation_id: "esc-1".into(),
            context: context.clone(),
            level: "team_lead".into(),
            step: 1,
            ladder_id: "esc-0".into(),
            recipients: vec!["lead@acme".into(), "boss@acme".into()],
            rule: "breach".into(),
            reason: "no first reply within 1 h".into(),
            trigger_ids: vec!["brk-1".into(), "e1".into()],
            raised_at: EventTime(9000),
            policy_version: "rules@1".into(),
        };
        let escalations = vec![
            EscalationFact::Raised(raised.clone()),
            EscalationFact::Withdrawn(EscalationWithdrawn {
                escalation_id: "esc-1".into(),
                ladder_id: "esc-0".into(),
                context: bare,
                correction_id: "cor-1".into(),
                reason: "the breach it answered was corrected".into(),
                at: EventTime(9500),
            }),
            EscalationFact::Raised(EscalationRaised {
                level: "my_level".into(),
                step: 0,
                recipients: Vec::new(),
                trigger_ids: vec!["tag-1".into()],
                ..raised.clone()
            }),
            EscalationFact::Raised(raised),
        ];
        (sla, tags, escalations)
    }

    #[test]
    fn a_message_filled_again_encodes_as_a_fresh_one() {
        let (sla, tags, escalations) = varied_facts();
        let mut m = pb::SlaFact::default();
        for f in &sla {
            sla_fact_into_pb(f, &mut m);
            assert_eq!(
                m.encode_to_vec(),
                sla_fact_to_pb(f).encode_to_vec(),
                "{f:?}"
            );
            assert_eq!(sla_fact_from_pb(m.clone()).unwrap(), *f);
        }
        let mut m = pb::SentimentTag::default();
        for t in &tags {
            tag_into_pb(t, &mut m);
            assert_eq!(m.encode_to_vec(), tag_to_pb(t).encode_to_vec(), "{t:?}");
            assert_eq!(tag_from_pb(m.clone()).unwrap(), *t);
        }
        let mut m = pb::EscalationEvent::default();
        for e in &escalations {
            escalation_fact_into_pb(e, &mut m);
            assert_eq!(m.encode_to_vec(), escalation_fact_to_pb(e).encode_to_vec());
            assert_eq!(escalation_fact_from_pb(m.clone()).unwrap(), *e);
        }
    }
}
