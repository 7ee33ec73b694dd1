//! Consumers. Group consumers process records at least once: the offset of a record is
//! stored only after its outputs were acknowledged, and only stored offsets are committed.
//! Readers rebuild a read model from the beginning of topics without a group.

use crate::{Publisher, Result};
use prost::Message as _;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};
use std::time::Duration;

/// A consumer in `group`, subscribed to `topics`, starting at the earliest record when the
/// group has no committed offset.
///
/// Offsets are stored by the caller once a record's outputs are durable
/// (`enable.auto.offset.store=false`); the client commits stored offsets every second and on
/// rebalance and close, so a crash re-delivers at most the records whose outputs may not
/// have been written (and those outputs carry deterministic ids).
///
/// `instance` makes the membership static (`group.instance.id`): a replica that restarts
/// under the same instance id takes its partitions back at once instead of waiting for the
/// broker to expire its old membership (which some brokers, Tansu among them, never do).
pub fn group_consumer(
    brokers: &str,
    group: &str,
    instance: &str,
    topics: &[&str],
) -> Result<StreamConsumer> {
    let mut config = ClientConfig::new();
    if let Ok(contexts) = std::env::var("PRONTO_KAFKA_DEBUG") {
        // librdkafka debug contexts, e.g. "cgrp,fetch"; logged under the `librdkafka` target.
        config.set("debug", contexts);
    }
    if !instance.is_empty() {
        config.set("group.instance.id", format!("{group}-{instance}"));
    }
    let consumer: StreamConsumer = config
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "10000")
        .create()?;
    consumer.subscribe(topics)?;
    Ok(consumer)
}

/// A consumer with no group, for reading topics from the beginning.
pub fn reader(brokers: &str) -> Result<StreamConsumer> {
    Ok(ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "pronto-reader")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .create()?)
}

/// Assigns every partition of `topics` to `consumer`, from the first record.
pub fn assign_from_beginning(consumer: &StreamConsumer, topics: &[&str]) -> Result<()> {
    let mut tpl = TopicPartitionList::new();
    for topic in topics {
        let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
        for t in md.topics() {
            for p in t.partitions() {
                tpl.add_partition_offset(t.name(), p.id(), Offset::Beginning)?;
            }
        }
    }
    consumer.assign(&tpl)?;
    Ok(())
}

/// Where a record came from, for logs and dead letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl Record {
    pub fn of(m: &BorrowedMessage<'_>) -> Self {
        Self {
            topic: m.topic().to_string(),
            partition: m.partition(),
            offset: m.offset(),
        }
    }
}

impl std::fmt::Display for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}@{}", self.topic, self.partition, self.offset)
    }
}

/// Sends records that cannot be used to the dead-letter topic, with the reason.
#[derive(Debug, Clone)]
pub struct DeadLetters {
    publisher: Publisher,
    topic: String,
    service: String,
}

impl DeadLetters {
    pub fn new(publisher: Publisher, topic: &str, service: &str) -> Self {
        Self {
            publisher,
            topic: topic.to_string(),
            service: service.to_string(),
        }
    }

    /// Parks `m` with `reason`; returns once the broker acknowledged the dead letter.
    pub async fn park(&self, m: &BorrowedMessage<'_>, reason: &str) -> Result<()> {
        let letter = pronto_proto::v1::DeadLetter {
            topic: m.topic().to_string(),
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().unwrap_or_default().to_vec(),
            payload: m.payload().unwrap_or_default().to_vec(),
            reason: reason.to_string(),
            service: self.service.clone(),
        };
        let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
        tracing::warn!(record = %Record::of(m), reason, "parking record in the dead-letter topic");
        self.publisher
            .publish(
                &self.topic,
                &key,
                &letter.encode_to_vec(),
                "pronto.v1.DeadLetter",
            )
            .await?;
        Ok(())
    }
}
