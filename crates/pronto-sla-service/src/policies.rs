//! The policies topic: the SLA policy versions in force over time, as a log.
//!
//! Every SLA replica, and every replay, folds the same records into the same
//! [`PolicyVersions`], so a clock follows the version in force when it started whichever
//! process computes it. A replica publishes the policy file it was given (at start and on
//! SIGHUP) unless that version is on the topic already; engines take versions only from the
//! topic, never from the local file, so replicas with different files cannot disagree.

use pronto_domain::EventTime;
use pronto_kafka::rdkafka::consumer::{Consumer, StreamConsumer};
use pronto_kafka::rdkafka::message::Message;
use pronto_kafka::{DeadLetters, Publisher, RangeReader, reader};
use pronto_sla::published::{self, Published};
use pronto_sla::{Policy, PolicyVersions};
use std::sync::Arc;

pub use pronto_proto::policies::KEY;
pub use pronto_sla::published::{ACTIVATION_DELAY_MS, activation};

/// Decodes a policies-topic record: the instant the version takes over, and the policy.
pub fn decode(bytes: &[u8]) -> Result<(EventTime, Arc<Policy>), String> {
    let record = pronto_proto::policies::decode(bytes).map_err(|e| e.to_string())?;
    let Published {
        from,
        policy,
        computed_version,
    } = published::read(&record).map_err(|e| e.to_string())?;
    if let Some(computed) = computed_version {
        tracing::warn!(published = %policy.version, %computed, "policy version differs from its content hash; keeping the published name");
    }
    Ok((from, policy))
}

/// The record that publishes `policy` (read from `file`) taking over at `from`.
pub fn encode(
    policy: &Policy,
    file: &str,
    from: EventTime,
    publisher: &str,
    now: EventTime,
) -> Vec<u8> {
    pronto_proto::policies::encode(&published::record(policy, file, from, publisher, now))
}

/// Publishes `policy` taking over at `from`; returns once the broker acknowledged.
pub async fn publish(
    publisher: &Publisher,
    topic: &str,
    policy: &Policy,
    file: &str,
    from: EventTime,
    instance: &str,
) -> anyhow::Result<()> {
    let bytes = encode(policy, file, from, instance, pronto_runtime::wall_clock());
    publisher
        .publish(topic, KEY, &bytes, pronto_proto::policies::MESSAGE)
        .await?;
    tracing::info!(version = %policy.version, effective_from = %from, "SLA policy version published");
    Ok(())
}

/// A reader of the policies topic.
pub struct PolicyLog {
    consumer: StreamConsumer,
}

impl PolicyLog {
    /// Reads the whole topic as it stands into `versions`, then follows it. Records that are
    /// not policies are parked in `dead`, or skipped with a warning when it is `None`.
    pub async fn open(
        brokers: impl Into<pronto_kafka::Connection>,
        topic: &str,
        dead: Option<&DeadLetters>,
    ) -> anyhow::Result<(Self, PolicyVersions)> {
        let brokers: pronto_kafka::Connection = brokers.into();
        // What is on the topic now, then everything published after, from the same place.
        let mut range = RangeReader::open(&brokers, topic, None, None).await?;
        let mut versions = PolicyVersions::empty();
        while let Some(m) = range.next().await? {
            if let Some((from, policy)) = fold(&m, dead).await? {
                versions.add(from, policy);
            }
        }
        let consumer = reader(&brokers)?;
        let mut tpl = pronto_kafka::rdkafka::TopicPartitionList::new();
        for (partition, next) in range.positions() {
            tpl.add_partition_offset(
                topic,
                partition,
                pronto_kafka::rdkafka::Offset::Offset(next),
            )?;
        }
        consumer.assign(&tpl)?;
        let log = Self { consumer };
        Ok((log, versions))
    }

    /// Waits for the next record: a version, or `None` for one that was parked as a dead
    /// letter.
    pub async fn next(
        &self,
        dead: &DeadLetters,
    ) -> anyhow::Result<Option<(EventTime, Arc<Policy>)>> {
        let m = self.consumer.recv().await?;
        fold(&m, Some(dead)).await
    }
}

async fn fold(
    m: &impl Message,
    dead: Option<&DeadLetters>,
) -> anyhow::Result<Option<(EventTime, Arc<Policy>)>> {
    match decode(m.payload().unwrap_or_default()) {
        Ok(v) => Ok(Some(v)),
        Err(reason) => {
            match dead {
                Some(dead) => dead.park(m, &reason).await?,
                None => tracing::warn!(
                    offset = m.offset(),
                    reason,
                    "skipping a record of the policies topic"
                ),
            }
            Ok(None)
        }
    }
}
