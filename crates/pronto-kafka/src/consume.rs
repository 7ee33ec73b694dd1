//! Consumers. Group consumers process records at least once: the offset of a record is
//! stored only after its outputs were acknowledged, and only stored offsets are committed.
//! Readers rebuild a read model from the beginning of topics without a group.

use crate::{Connection, Publisher, Result};
use prost::Message as _;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
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
    brokers: impl Into<Connection>,
    group: &str,
    instance: &str,
    topics: &[&str],
) -> Result<StreamConsumer> {
    group_consumer_committing(brokers, group, instance, topics, true)
}

/// [`group_consumer`] whose offsets are committed by the caller's transactions
/// ([`crate::TxPublisher::commit`]) when `auto_commit` is false.
pub fn group_consumer_committing(
    brokers: impl Into<Connection>,
    group: &str,
    instance: &str,
    topics: &[&str],
    auto_commit: bool,
) -> Result<StreamConsumer> {
    let instance_id = format!("{group}-{instance}");
    let auto_commit = auto_commit.to_string();
    let mut settings = vec![
        ("group.id", group),
        ("enable.auto.commit", auto_commit.as_str()),
        ("auto.commit.interval.ms", "1000"),
        ("enable.auto.offset.store", "false"),
        ("auto.offset.reset", "earliest"),
        ("session.timeout.ms", "10000"),
    ];
    if !instance.is_empty() {
        settings.push(("group.instance.id", instance_id.as_str()));
    }
    let consumer: StreamConsumer = brokers.into().config(&settings).create()?;
    consumer.subscribe(topics)?;
    Ok(consumer)
}

/// A consumer with no group, for reading topics from the beginning.
pub fn reader(brokers: impl Into<Connection>) -> Result<StreamConsumer> {
    Ok(brokers
        .into()
        .config(&[
            ("group.id", "pronto-reader"),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
        ])
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

/// The records of one partition that a bounded read covers: offsets `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionRange {
    pub partition: i32,
    pub start: i64,
    pub end: i64,
}

impl PartitionRange {
    pub fn len(&self) -> u64 {
        (self.end - self.start).max(0) as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Assigns every partition of `topic` to `consumer` from the first record whose timestamp is
/// at or after `from_ms` (the beginning when `None`), and returns each partition's range up to
/// the first record at or after `to_ms` (the end as it stands now when `None`). Offsets are
/// found by timestamp, so the same times give the same range however often it is read.
pub async fn assign_range(
    consumer: &StreamConsumer,
    topic: &str,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
) -> Result<Vec<PartitionRange>> {
    let timeout = Duration::from_secs(10);
    let md = consumer.fetch_metadata(Some(topic), timeout)?;
    let partitions: Vec<i32> = md
        .topics()
        .iter()
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    let mut ranges = Vec::with_capacity(partitions.len());
    for p in &partitions {
        let (low, high) = consumer.fetch_watermarks(topic, *p, timeout)?;
        ranges.push(PartitionRange {
            partition: *p,
            start: low,
            end: high,
        });
    }
    let ends = match to_ms {
        Some(to) => first_at(consumer, topic, &ranges, to).await?,
        None => ranges.iter().map(|r| r.end).collect(),
    };
    let starts = match from_ms {
        Some(from) => first_at(consumer, topic, &ranges, from).await?,
        None => ranges.iter().map(|r| r.start).collect(),
    };
    for ((r, start), end) in ranges.iter_mut().zip(starts).zip(ends) {
        r.start = start;
        r.end = end.max(start);
    }
    let mut tpl = TopicPartitionList::new();
    for r in &ranges {
        tpl.add_partition_offset(topic, r.partition, Offset::Offset(r.start))?;
    }
    consumer.assign(&tpl)?;
    Ok(ranges)
}

/// The first offset of each partition whose record's timestamp is at or after `at_ms`, the
/// partition's end when there is none. The broker's answer is checked by reading the record it
/// names: some brokers name the first offset, not "none", for an instant past the last record.
async fn first_at(
    consumer: &StreamConsumer,
    topic: &str,
    ranges: &[PartitionRange],
    at_ms: i64,
) -> Result<Vec<i64>> {
    let timeout = Duration::from_secs(10);
    let mut tpl = TopicPartitionList::new();
    for r in ranges {
        tpl.add_partition_offset(topic, r.partition, Offset::Offset(at_ms))?;
    }
    let found = consumer.offsets_for_times(tpl, timeout)?;
    let mut out = Vec::with_capacity(ranges.len());
    for r in ranges {
        let offset = match found.find_partition(topic, r.partition).map(|e| e.offset()) {
            Some(Offset::Offset(o)) if o < r.end => o.max(r.start),
            _ => r.end,
        };
        if offset < r.end && timestamp_of(consumer, topic, r.partition, offset).await? < at_ms {
            out.push(r.end);
        } else {
            out.push(offset);
        }
    }
    Ok(out)
}

/// The timestamp of the record at `offset`, read by assigning the consumer there.
async fn timestamp_of(
    consumer: &StreamConsumer,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Result<i64> {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Offset(offset))?;
    consumer.assign(&tpl)?;
    let unreadable = |reason: &str| crate::Error::Topic {
        topic: topic.to_string(),
        reason: format!("partition {partition} offset {offset}: {reason}"),
    };
    let m = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
        .await
        .map_err(|_| unreadable("no record within 30 s"))??;
    m.timestamp()
        .to_millis()
        .ok_or_else(|| unreadable("record has no timestamp"))
}

/// Reads a topic's records in a range of publication times, then stops: for commands that go
/// through history once.
///
/// Offsets found by timestamp and the partitions' ends are where reading starts and the least
/// it reads; the records' own timestamps decide what belongs to the range. Reading goes on past
/// the ends the broker reported until every partition has shown a record past the range or no
/// record of the range has come for a second: some brokers (Tansu) count record batches, not
/// records, in the ends they report.
pub struct RangeReader {
    consumer: StreamConsumer,
    /// Where each partition's range starts.
    starts: std::collections::HashMap<i32, i64>,
    /// Partitions not yet read up to the end the broker reported.
    pending: std::collections::HashMap<i32, i64>,
    /// The offset after the last record seen, per partition.
    next: std::collections::HashMap<i32, i64>,
    /// Partitions that have shown a record published after the range.
    past: std::collections::HashSet<i32>,
    from_ms: Option<i64>,
    /// Records published at or after this are out of the range.
    to_ms: i64,
    total: u64,
    read: u64,
    topic: String,
}

/// How long the reader waits for more records once past the ends the broker reported.
const TAIL: Duration = Duration::from_secs(1);

impl RangeReader {
    /// Opens `topic` at the first record at or after `from_ms` (the beginning when `None`),
    /// up to the first at or after `to_ms` (what is published when it opens, when `None`).
    pub async fn open(
        brokers: impl Into<Connection>,
        topic: &str,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> Result<Self> {
        let opened = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(i64::MAX);
        let consumer = reader(brokers)?;
        let ranges = assign_range(&consumer, topic, from_ms, to_ms).await?;
        Ok(Self {
            total: ranges.iter().map(|r| r.len()).sum(),
            starts: ranges.iter().map(|r| (r.partition, r.start)).collect(),
            pending: ranges
                .iter()
                .filter(|r| !r.is_empty())
                .map(|r| (r.partition, r.end))
                .collect(),
            next: ranges.iter().map(|r| (r.partition, r.start)).collect(),
            past: std::collections::HashSet::new(),
            from_ms,
            to_ms: to_ms.unwrap_or(opened),
            consumer,
            read: 0,
            topic: topic.to_string(),
        })
    }

    /// Records in the range as the broker counted them when the reader opened.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Records read so far.
    pub fn read(&self) -> u64 {
        self.read
    }

    /// Every partition and the offset after the last record seen: where to follow the topic
    /// from.
    pub fn positions(&self) -> Vec<(i32, i64)> {
        let mut p: Vec<(i32, i64)> = self.next.iter().map(|(k, v)| (*k, *v)).collect();
        p.sort_unstable();
        p
    }

    /// The next record of the range, `None` once it is read. Fails when the broker hands out
    /// nothing for 30 seconds before the reported ends are reached.
    pub async fn next(&mut self) -> Result<Option<rdkafka::message::OwnedMessage>> {
        loop {
            if self.past.len() == self.starts.len() {
                return Ok(None);
            }
            let wait = if self.pending.is_empty() {
                TAIL
            } else {
                Duration::from_secs(30)
            };
            let m = match tokio::time::timeout(wait, self.consumer.recv()).await {
                Ok(m) => m?,
                Err(_) if self.pending.is_empty() => return Ok(None),
                Err(_) => {
                    return Err(crate::Error::Topic {
                        topic: self.topic.clone(),
                        reason: "no record from the broker for 30 s".into(),
                    });
                }
            };
            let p = m.partition();
            if self.starts.get(&p).is_none_or(|s| m.offset() < *s) {
                continue;
            }
            let next = self.next.entry(p).or_insert(0);
            *next = (*next).max(m.offset() + 1);
            if self.pending.get(&p).is_some_and(|end| *next >= *end) {
                self.pending.remove(&p);
            }
            let at = m.timestamp().to_millis().unwrap_or(i64::MIN);
            if at >= self.to_ms {
                self.past.insert(p);
                continue;
            }
            if self.past.contains(&p) || self.from_ms.is_some_and(|f| at < f) {
                continue;
            }
            self.read += 1;
            return Ok(Some(m.detach()));
        }
    }
}

/// Where a record came from, for logs and dead letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl Record {
    pub fn of(m: &impl Message) -> Self {
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

/// Stores the offset after `r` for the next commit, once `r`'s outputs (and those of every
/// record of its partition before it) are durable. A partition that a rebalance took away
/// while the record was in flight is left alone: its new owner processes the record again, and
/// the outputs' deterministic ids make the repeat invisible.
pub fn store_offset(consumer: &StreamConsumer, r: &Record) -> Result<()> {
    use rdkafka::error::{KafkaError, RDKafkaErrorCode};
    match consumer.store_offset(&r.topic, r.partition, r.offset) {
        Err(KafkaError::StoreOffset(RDKafkaErrorCode::State)) => {
            tracing::debug!(record = %r, "partition no longer assigned; offset not stored");
            Ok(())
        }
        stored => Ok(stored?),
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
    pub async fn park(&self, m: &impl Message, reason: &str) -> Result<()> {
        self.send(m, reason).await?.await?;
        Ok(())
    }

    /// Hands the dead letter for `m` to the producer; it is durable once the delivery resolves.
    pub async fn send(&self, m: &impl Message, reason: &str) -> Result<crate::Delivery> {
        let (key, bytes) = self.letter(m, reason);
        self.publisher
            .send(&self.topic, &key, &bytes, "pronto.v1.DeadLetter")
            .await
    }

    /// Parks `m` with `reason` within `tx`'s open transaction.
    pub async fn park_in(
        &self,
        tx: &crate::TxPublisher,
        m: &impl Message,
        reason: &str,
    ) -> Result<()> {
        let (key, bytes) = self.letter(m, reason);
        tx.send(&self.topic, &key, &bytes, "pronto.v1.DeadLetter")
            .await
    }

    /// The dead letter for `m`: its key and payload.
    fn letter(&self, m: &impl Message, reason: &str) -> (String, Vec<u8>) {
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
        (key, letter.encode_to_vec())
    }
}
