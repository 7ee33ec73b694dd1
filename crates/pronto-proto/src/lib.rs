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

pub use common::{DecodeError, Refill, decode_message, time_from_pb, timestamp};
pub use record::{Topic, decode, encode, topic_of};
