//! Reading what `pronto sla explain` needs from the broker: the policy versions and one
//! conversation's events.

use pronto_domain::Event;
use pronto_kafka::rdkafka::message::Message;
use pronto_kafka::{KafkaArgs, assign_range, reader};
use std::collections::HashMap;
use std::time::Duration;

/// The events of conversation `key` (`tenant/conversation_id`) on the events topic, read from
/// every partition up to its end as it stands; and how many records were not events.
/// `progress(done, total)` is called as records are read.
pub async fn conversation_events(
    kafka: &KafkaArgs,
    key: &str,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<(Vec<Event>, u64)> {
    let topic = &kafka.events_topic;
    let consumer = reader(&kafka.brokers)?;
    let ranges = assign_range(&consumer, topic, None, None).await?;
    let total: u64 = ranges.iter().map(|r| r.len()).sum();
    let mut left: HashMap<i32, i64> = ranges
        .iter()
        .filter(|r| !r.is_empty())
        .map(|r| (r.partition, r.end))
        .collect();
    let (mut events, mut undecodable, mut done) = (Vec::new(), 0u64, 0u64);
    progress(0, total);
    while !left.is_empty() {
        let m = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .map_err(|_| anyhow::anyhow!("{topic}: no record from the broker for 30 s"))??;
        let Some(end) = left.get(&m.partition()).copied() else {
            continue;
        };
        done += 1;
        if m.key() == Some(key.as_bytes()) {
            match pronto_proto::decode_event(m.payload().unwrap_or_default()) {
                Ok(e) => events.push(e),
                Err(_) => undecodable += 1,
            }
        }
        if m.offset() + 1 >= end {
            left.remove(&m.partition());
        }
        if done.is_multiple_of(10_000) || left.is_empty() {
            progress(done, total);
        }
    }
    Ok((events, undecodable))
}
