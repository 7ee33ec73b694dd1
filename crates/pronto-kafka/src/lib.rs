//! Kafka plumbing shared by every service: topic names and creation, an idempotent producer
//! whose sends resolve once the broker acknowledged, a bounded window of records in flight,
//! at-least-once consumers that store an offset only after the record's outputs (and those of
//! every record before it) are durable, trace context in headers, and the dead-letter topic.

mod config;
mod consume;
mod headers;
mod in_flight;
mod produce;
mod topics;

pub use config::{Connection, DEFAULT_MAX_IN_FLIGHT, KafkaArgs, Topics};
pub use consume::{
    DeadLetters, PartitionRange, RangeReader, Record, assign_from_beginning, assign_range,
    group_consumer, group_consumer_committing, reader, store_offset,
};
pub use headers::{TYPE_HEADER, extract_context, header_str, record_span};
pub use in_flight::InFlight;
pub use produce::{Delivery, Publisher, TxPublisher};
pub use topics::ensure_topics;

pub use rdkafka;

/// Errors from the broker.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("topic {topic}: {reason}")]
    Topic { topic: String, reason: String },
}

/// The broker failed or refused: trying again may succeed.
impl pronto_domain::Classified for Error {
    fn fault(&self) -> pronto_domain::Fault {
        pronto_domain::Fault::External
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
