//! The sentiment topic: tags as `pronto.v1.SentimentTag`.

use crate::v1 as pb;

use crate::common::*;
use pronto_domain::{Name, SentimentTag};
use prost::Message;

/// The protobuf message of a record.
pub const MESSAGE: &str = "pronto.v1.SentimentTag";

pub(crate) fn tag_to_pb(t: &SentimentTag) -> pb::SentimentTag {
    let mut m = pb::SentimentTag::default();
    tag_into_pb(t, &mut m);
    m
}

/// [`tag_to_pb`] into `m`, every field overwritten: the strings keep their room, so a message
/// filled again and again allocates nothing once its strings are long enough. The fields are
/// named one by one (no `..`), so a field added to the message is a compile error here until
/// it is filled, never a value left over from the message before.
pub(crate) fn tag_into_pb(t: &SentimentTag, m: &mut pb::SentimentTag) {
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

pub(crate) fn tag_from_pb(t: pb::SentimentTag) -> Result<SentimentTag, DecodeError> {
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

/// A sentiment-topic record from its bytes.
pub fn decode(bytes: &[u8]) -> Result<SentimentTag, DecodeError> {
    tag_from_pb(decode_message(MESSAGE, bytes)?)
}

/// The bytes of a sentiment-topic record.
pub fn encode(t: &SentimentTag) -> Vec<u8> {
    tag_to_pb(t).encode_to_vec()
}

impl From<&SentimentTag> for pb::SentimentTag {
    fn from(t: &SentimentTag) -> Self {
        tag_to_pb(t)
    }
}

impl Refill<SentimentTag> for pb::SentimentTag {
    fn refill(&mut self, t: &SentimentTag) {
        tag_into_pb(t, self)
    }
}

impl TryFrom<pb::SentimentTag> for SentimentTag {
    type Error = DecodeError;

    fn try_from(t: pb::SentimentTag) -> Result<Self, Self::Error> {
        tag_from_pb(t)
    }
}
