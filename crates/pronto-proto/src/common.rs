//! What every topic's contract shares: timestamps, enums, the conversation context, the
//! decoding error, and filling a message again in the room it has.

use crate::v1 as pb;
use pronto_domain::{
    AuthorKind, Channel, ConversationContext, ConversationStatus, EventTime, Name, Polarity,
    Priority, ReplyKind, Visibility,
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

pub(crate) fn ts(t: EventTime) -> prost_types::Timestamp {
    let (seconds, nanos) = t.to_parts();
    prost_types::Timestamp { seconds, nanos }
}

pub(crate) fn from_ts(
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

pub(crate) fn enum_name<E>(
    value: i32,
    to_domain: impl Fn(E) -> Option<&'static str>,
) -> Option<Name>
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

pub(crate) fn channel_name(c: pb::Channel) -> Option<&'static str> {
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

pub(crate) fn channel_to_pb(c: Channel) -> pb::Channel {
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

pub(crate) fn status_from_pb(s: pb::ConversationStatus) -> Option<ConversationStatus> {
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

pub(crate) fn status_to_pb(s: ConversationStatus) -> pb::ConversationStatus {
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

pub(crate) fn author_from_pb(a: pb::AuthorKind) -> Option<AuthorKind> {
    match a {
        pb::AuthorKind::Unspecified => None,
        pb::AuthorKind::Human => Some(AuthorKind::Human),
        pb::AuthorKind::Bot => Some(AuthorKind::Bot),
    }
}

pub(crate) fn visibility_from_pb(v: pb::Visibility) -> Option<Visibility> {
    match v {
        pb::Visibility::Unspecified => None,
        pb::Visibility::Public => Some(Visibility::Public),
        pb::Visibility::Private => Some(Visibility::Private),
    }
}

pub(crate) fn opt<S: From<String>>(s: String) -> Option<S> {
    (!s.is_empty()).then(|| S::from(s))
}

pub(crate) fn polarity_from_pb(p: pb::Polarity) -> Option<Polarity> {
    match p {
        pb::Polarity::Positive => Some(Polarity::Positive),
        pb::Polarity::Neutral => Some(Polarity::Neutral),
        pb::Polarity::Negative => Some(Polarity::Negative),
        pb::Polarity::Unspecified => None,
    }
}

pub(crate) fn polarity_to_pb(p: Polarity) -> pb::Polarity {
    match p {
        Polarity::Positive => pb::Polarity::Positive,
        Polarity::Neutral => pb::Polarity::Neutral,
        Polarity::Negative => pb::Polarity::Negative,
    }
}

pub(crate) fn invalid(message: &'static str, detail: impl Into<String>) -> DecodeError {
    DecodeError::Invalid {
        message,
        detail: detail.into(),
    }
}

/// Puts `value` in `slot`, in the room it has.
pub(crate) fn set(slot: &mut String, value: &str) {
    slot.clear();
    slot.push_str(value);
}

/// Puts `values` in `slots`, one each, in the room they have.
pub(crate) fn set_all<'a>(slots: &mut Vec<String>, values: impl Iterator<Item = &'a str>) {
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
pub(crate) fn variant<F, T: Default>(
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

pub(crate) fn context_to_pb(c: &ConversationContext) -> pb::ConversationContext {
    let mut m = pb::ConversationContext::default();
    context_into_pb(c, &mut m);
    m
}

/// [`context_to_pb`] into `slot`, as [`tag_into_pb`] fills a tag.
pub(crate) fn context_into(c: &ConversationContext, slot: &mut Option<pb::ConversationContext>) {
    context_into_pb(c, slot.get_or_insert_with(Default::default));
}

pub(crate) fn context_into_pb(c: &ConversationContext, m: &mut pb::ConversationContext) {
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

pub(crate) fn context_from_pb(
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

pub(crate) fn kind_to_pb(k: ReplyKind) -> i32 {
    match k {
        ReplyKind::First => pb::ReplyKind::First as i32,
        ReplyKind::Next => pb::ReplyKind::Next as i32,
        ReplyKind::Resolution => pb::ReplyKind::Resolution as i32,
    }
}

pub(crate) fn kind_from_pb(m: &'static str, k: i32) -> Result<ReplyKind, DecodeError> {
    match pb::ReplyKind::try_from(k) {
        Ok(pb::ReplyKind::First) => Ok(ReplyKind::First),
        Ok(pb::ReplyKind::Next) => Ok(ReplyKind::Next),
        Ok(pb::ReplyKind::Resolution) => Ok(ReplyKind::Resolution),
        _ => Err(invalid(m, format!("reply kind {k} is not first or next"))),
    }
}

/// Decodes a protobuf message of type `T` from a record payload.
pub fn decode_message<T: Message + Default>(
    name: &'static str,
    bytes: &[u8],
) -> Result<T, DecodeError> {
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

/// A message filled again from a domain value, every field overwritten: the strings keep
/// their room, so a message filled again and again allocates nothing once its strings are
/// long enough (what a replay encoding millions of facts does). Filled again, a message
/// encodes as a fresh one made with `From` would.
pub trait Refill<T> {
    fn refill(&mut self, from: &T);
}

impl From<Channel> for pb::Channel {
    fn from(c: Channel) -> Self {
        channel_to_pb(c)
    }
}

impl From<Polarity> for pb::Polarity {
    fn from(p: Polarity) -> Self {
        polarity_to_pb(p)
    }
}

impl TryFrom<pb::Polarity> for Polarity {
    type Error = DecodeError;

    fn try_from(p: pb::Polarity) -> Result<Self, Self::Error> {
        polarity_from_pb(p).ok_or_else(|| invalid("pronto.v1.Polarity", "polarity is unset"))
    }
}

impl From<&ConversationContext> for pb::ConversationContext {
    fn from(c: &ConversationContext) -> Self {
        context_to_pb(c)
    }
}

/// A record that does not decode is wrong as written: reading it again fails the same way.
impl pronto_domain::Classified for DecodeError {
    fn fault(&self) -> pronto_domain::Fault {
        pronto_domain::Fault::User
    }
}
