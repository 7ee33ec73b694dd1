//! Reading what `pronto sla explain` needs from the broker: the policy versions and one
//! conversation's events.

use pronto_domain::Event;
use pronto_kafka::rdkafka::message::Message;
use pronto_kafka::{KafkaArgs, RangeReader};

/// The events of conversation `key` (`tenant/conversation_id`) on the events topic, read from
/// every partition up to its end as it stands; and how many records were not events.
/// `progress(done, total)` is called as records are read.
pub async fn conversation_events(
    kafka: &KafkaArgs,
    key: &str,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<(Vec<Event>, u64)> {
    let mut range = RangeReader::open(kafka.connection(), &kafka.events_topic, None, None).await?;
    let total = range.total();
    let (mut events, mut undecodable) = (Vec::new(), 0u64);
    progress(0, total);
    while let Some(m) = range.next().await? {
        if m.key() == Some(key.as_bytes()) {
            match pronto_proto::events::decode(m.payload().unwrap_or_default()) {
                Ok(e) => events.push(e),
                Err(_) => undecodable += 1,
            }
        }
        if range.read().is_multiple_of(10_000) || range.read() == total {
            progress(range.read(), total);
        }
    }
    Ok((events, undecodable))
}
