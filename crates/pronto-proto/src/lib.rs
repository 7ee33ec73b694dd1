//! The protobuf messages generated from `proto/pronto/v1`, and conversions between them and
//! the domain types. No gRPC here (that is pronto-grpc), so the cores' readers and the replay
//! can use the messages without tonic.

#[allow(unreachable_pub, clippy::all, missing_docs)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/pronto.v1.rs"));
}

/// The encoded file descriptor set, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/pronto_descriptor.bin"));

mod common;
pub mod escalations;
pub mod events;
pub mod policies;
mod record;
pub mod sentiment;
pub mod sla;
#[cfg(test)]
mod tests;

pub use prost_types;

pub use common::{
    DecodeError, channel_to_pb, context_to_pb, decode_message, polarity_from_pb, polarity_to_pb,
    time_from_pb, timestamp,
};
pub use escalations::{
    escalation_fact_from_pb, escalation_fact_into_pb, escalation_fact_to_pb, escalation_from_pb,
    escalation_to_pb, withdrawal_from_pb,
};
pub use events::{event_from_pb, event_to_pb, raw_from_pb};
pub use record::{Topic, decode, encode, topic_of};
pub use sentiment::{tag_from_pb, tag_into_pb, tag_to_pb};
pub use sla::{sla_fact_from_pb, sla_fact_into_pb, sla_fact_to_pb};
