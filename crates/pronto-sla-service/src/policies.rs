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
use pronto_proto::v1 as pb;
use pronto_sla::{Policy, PolicyVersions};
use prost::Message as _;
use std::sync::Arc;

/// Every record has this key, so the topic's order is the order of publication.
pub const KEY: &str = "sla-policy";

/// A version published without `effective_from` takes over this long after it is published,
/// so that every replica has read it before it applies to any event.
pub const ACTIVATION_DELAY_MS: i64 = 5_000;

const TYPE: &str = "pronto.v1.PolicyPublished";

/// Decodes a policies-topic record: the instant the version takes over, and the policy.
pub fn decode(bytes: &[u8]) -> Result<(EventTime, Arc<Policy>), String> {
    let p: pb::PolicyPublished = pronto_proto::decode(TYPE, bytes).map_err(|e| e.to_string())?;
    let from = pronto_proto::time_from_pb(TYPE, "effective_from", p.effective_from)
        .map_err(|e| e.to_string())?;
    let mut policy = Policy::from_toml(&p.file, &p.source).map_err(|e| e.to_string())?;
    if policy.version != p.version {
        // Verdicts must name the version as published, even if this build would hash the
        // same text differently.
        tracing::warn!(published = %p.version, computed = %policy.version, "policy version differs from its content hash; keeping the published name");
        policy.version = p.version;
    }
    Ok((from, Arc::new(policy)))
}

/// The record that publishes `policy` (read from `file`) taking over at `from`.
pub fn encode(
    policy: &Policy,
    file: &str,
    from: EventTime,
    publisher: &str,
    now: EventTime,
) -> Vec<u8> {
    pb::PolicyPublished {
        version: policy.version.clone(),
        effective_from: Some(pronto_proto::timestamp(from)),
        source: policy.source.clone(),
        file: file.to_string(),
        publisher: publisher.to_string(),
        published_at: Some(pronto_proto::timestamp(now)),
    }
    .encode_to_vec()
}

/// When `policy` should take over, given the versions published so far and the wall clock:
/// `Ok(None)` when its version is published already (each version is published once).
/// An `effective_from` in the past is refused once any version exists: verdicts already
/// emitted would no longer match a replay.
pub fn activation(
    versions: &PolicyVersions,
    policy: &Policy,
    now: EventTime,
) -> Result<Option<EventTime>, String> {
    if versions.get(&policy.version).is_some() {
        return Ok(None);
    }
    match policy.effective_from {
        None => Ok(Some(now.plus_millis(ACTIVATION_DELAY_MS))),
        Some(at) if versions.is_empty() || at >= now => Ok(Some(at)),
        Some(at) => Err(format!(
            "policy {}: effective_from {at} is in the past; verdicts already emitted under {} would change. Leave effective_from out, or set a later instant",
            policy.version,
            versions.in_force(now).version
        )),
    }
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
    publisher.publish(topic, KEY, &bytes, TYPE).await?;
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
        brokers: &str,
        topic: &str,
        dead: Option<&DeadLetters>,
    ) -> anyhow::Result<(Self, PolicyVersions)> {
        // What is on the topic now, then everything published after, from the same place.
        let mut range = RangeReader::open(brokers, topic, None, None).await?;
        let mut versions = PolicyVersions::empty();
        while let Some(m) = range.next().await? {
            if let Some((from, policy)) = fold(&m, dead).await? {
                versions.add(from, policy);
            }
        }
        let consumer = reader(brokers)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(extra: &str) -> Policy {
        let text = format!("{extra}\n{}", pronto_sla::policy::DEFAULT_POLICY_TOML).replacen(
            "name = \"default\"",
            "name = \"contract\"",
            1,
        );
        Policy::from_toml("contract.toml", &text).unwrap()
    }

    #[test]
    fn a_record_round_trips_with_its_version_and_instant() {
        let p = policy("");
        let bytes = encode(
            &p,
            "contract.toml",
            EventTime(5_000),
            "sla-0",
            EventTime(1_000),
        );
        let (from, back) = decode(&bytes).unwrap();
        assert_eq!(from, EventTime(5_000));
        assert_eq!(back.version, p.version);
        assert!(decode(b"junk").is_err());
        let mut bad = pb::PolicyPublished::decode(bytes.as_slice()).unwrap();
        bad.source = "name = ".into();
        assert!(
            decode(&bad.encode_to_vec())
                .unwrap_err()
                .contains("contract.toml")
        );
    }

    #[test]
    fn a_version_is_published_once_and_never_into_the_past() {
        let now = EventTime(1_800_000_000_000);
        let mut versions = PolicyVersions::empty();
        let first = policy("effective_from = \"2026-01-01T00:00:00Z\"");
        // The first version may cover history.
        let at = activation(&versions, &first, now).unwrap().unwrap();
        assert_eq!(at.to_rfc3339(), "2026-01-01T00:00:00.000Z");
        versions.add(at, Arc::new(first.clone()));
        assert_eq!(activation(&versions, &first, now), Ok(None));

        let second = policy("");
        assert_eq!(
            activation(&versions, &second, now),
            Ok(Some(now.plus_millis(ACTIVATION_DELAY_MS)))
        );
        let past = policy("effective_from = \"2026-06-01T00:00:00Z\"");
        let err = activation(&versions, &past, now).unwrap_err();
        assert!(err.contains("in the past"), "{err}");
        let future = policy("effective_from = \"2030-01-01T00:00:00Z\"");
        assert_eq!(
            activation(&versions, &future, now)
                .unwrap()
                .unwrap()
                .to_rfc3339(),
            "2030-01-01T00:00:00.000Z"
        );
    }
}
