//! Scoring history again: read a range of the events topic (offsets found by timestamp), tag
//! every message and reply with the tagger's model, and publish the tags marked `rescored`.
//! Reports then show the new model's view; escalation ignores re-scored tags.

use crate::tagger::Tagger;
use futures::future::try_join_all;
use pronto_kafka::rdkafka::message::Message;
use pronto_kafka::{KafkaArgs, Publisher, RangeReader};

/// What a re-scoring did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RescoreSummary {
    /// Records of the range read.
    pub records: u64,
    /// Tags published.
    pub tags: u64,
    /// Tags that came from the local model because the external one failed.
    pub fallbacks: u64,
    /// Records that are not events (the live service parked them as dead letters).
    pub undecodable: u64,
}

/// Tags published per round trip to the broker.
const BATCH: usize = 500;

/// Re-scores the events published in `[from_ms, to_ms)` (the whole topic when both are
/// `None`). `progress(done, total)` is called as records are read.
pub async fn rescore(
    kafka: &KafkaArgs,
    tagger: &Tagger,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<RescoreSummary> {
    let topics = kafka.topics();
    let mut range = RangeReader::open(kafka.connection(), &topics.events, from_ms, to_ms).await?;
    let total = range.total();
    let publisher = Publisher::new(kafka.connection())?;
    let mut summary = RescoreSummary::default();
    let mut batch: Vec<(String, Vec<u8>)> = Vec::with_capacity(BATCH);
    progress(0, total);
    while let Some(m) = range.next().await? {
        summary.records += 1;
        match pronto_proto::events::decode(m.payload().unwrap_or_default()) {
            Err(_) => summary.undecodable += 1,
            Ok(event) => {
                if let Some((mut t, fallback)) = tagger.tag(&event).await {
                    t.rescored = true;
                    summary.fallbacks += u64::from(fallback.is_some());
                    let bytes = pronto_proto::sentiment::encode(&t);
                    batch.push((event.key().as_str().to_string(), bytes));
                }
            }
        }
        if batch.len() >= BATCH {
            summary.tags += publish(&publisher, &topics.sentiment, &mut batch).await?;
        }
        if summary.records.is_multiple_of(1000) || summary.records == total {
            progress(summary.records, total);
        }
    }
    summary.tags += publish(&publisher, &topics.sentiment, &mut batch).await?;
    Ok(summary)
}

/// Publishes a batch, waiting for the broker to acknowledge every record.
async fn publish(
    publisher: &Publisher,
    topic: &str,
    batch: &mut Vec<(String, Vec<u8>)>,
) -> anyhow::Result<u64> {
    let n = batch.len() as u64;
    try_join_all(
        batch
            .iter()
            .map(|(key, bytes)| publisher.publish(topic, key, bytes, "pronto.v1.SentimentTag")),
    )
    .await?;
    batch.clear();
    Ok(n)
}
