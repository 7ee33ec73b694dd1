//! The policies topic: SLA policy versions as `pronto.v1.PolicyPublished`. Every record has
//! the same key, so one partition holds them all in the order they were published.

use crate::common::{DecodeError, decode_message, from_ts, ts};
use crate::v1 as pb;
use pronto_domain::VersionRecord;
use prost::Message;

/// Every record's key.
pub const KEY: &str = "sla-policy";

/// The protobuf message of a record.
pub const MESSAGE: &str = "pronto.v1.PolicyPublished";

pub(crate) fn to_pb(r: &VersionRecord) -> pb::PolicyPublished {
    pb::PolicyPublished {
        version: r.version.clone(),
        effective_from: r.effective_from.map(ts),
        source: r.source.clone(),
        file: r.file.clone(),
        publisher: r.publisher.clone(),
        published_at: r.published_at.map(ts),
    }
}

/// A policy version as published; every version names the instant it takes over.
pub(crate) fn from_pb(p: pb::PolicyPublished) -> Result<VersionRecord, DecodeError> {
    Ok(VersionRecord {
        effective_from: Some(from_ts(MESSAGE, "effective_from", p.effective_from)?),
        published_at: p
            .published_at
            .map(|t| from_ts(MESSAGE, "published_at", Some(t)))
            .transpose()?,
        version: p.version,
        source: p.source,
        file: p.file,
        publisher: p.publisher,
    })
}

/// The bytes of a policies-topic record.
pub fn encode(r: &VersionRecord) -> Vec<u8> {
    to_pb(r).encode_to_vec()
}

/// A policies-topic record from its bytes.
pub fn decode(bytes: &[u8]) -> Result<VersionRecord, DecodeError> {
    from_pb(decode_message(MESSAGE, bytes)?)
}

impl From<&VersionRecord> for pb::PolicyPublished {
    fn from(r: &VersionRecord) -> Self {
        to_pb(r)
    }
}

impl TryFrom<pb::PolicyPublished> for VersionRecord {
    type Error = DecodeError;

    fn try_from(p: pb::PolicyPublished) -> Result<Self, Self::Error> {
        from_pb(p)
    }
}
