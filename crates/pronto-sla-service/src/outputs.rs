//! Where verdicts go, and when an input's offset may be committed.
//!
//! At least once (the default): verdicts are handed to the producer as records are processed,
//! and a record's offset is stored once its verdicts, and those of every record before it, are
//! acknowledged; a bounded window of records in flight keeps the service busy across broker
//! round trips. Exactly once (Kafka transactions): the verdicts of a batch of records and the
//! batch's next offsets are committed in one transaction, so neither becomes visible without
//! the other.

use pronto_domain::SlaFact;
use pronto_kafka::rdkafka::consumer::{Consumer as _, StreamConsumer};
use pronto_kafka::rdkafka::{Offset, TopicPartitionList};
use pronto_kafka::{Delivery, InFlight, Publisher, Record, TxPublisher, store_offset};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// How long a transaction stays open for more records before it is committed.
const BATCH_LINGER: Duration = Duration::from_millis(100);

pub(crate) struct Outputs {
    topic: String,
    published: Arc<AtomicU64>,
    mode: Mode,
}

enum Mode {
    AtLeastOnce {
        publisher: Publisher,
        /// Each processed record (or `None` for verdicts that no record caused: breaches
        /// announced as time passed) with the deliveries of its verdicts.
        window: InFlight<Option<Record>>,
    },
    Transactions {
        tx: TxPublisher,
        open: Option<Batch>,
        /// Records per transaction at most.
        max: usize,
    },
}

/// The open transaction.
struct Batch {
    commit_by: Instant,
    records: usize,
    /// The next offset to read of each partition with a record in the batch.
    next: BTreeMap<(String, i32), i64>,
}

impl Outputs {
    pub(crate) fn at_least_once(
        publisher: Publisher,
        topic: String,
        published: Arc<AtomicU64>,
        max_in_flight: usize,
    ) -> Self {
        Self {
            topic,
            published,
            mode: Mode::AtLeastOnce {
                publisher,
                window: InFlight::new(max_in_flight),
            },
        }
    }

    pub(crate) fn transactional(
        tx: TxPublisher,
        topic: String,
        published: Arc<AtomicU64>,
        max_batch: usize,
    ) -> Self {
        Self {
            topic,
            published,
            mode: Mode::Transactions {
                tx,
                open: None,
                max: max_batch.max(1),
            },
        }
    }

    /// The transactional producer, when verdicts go out in transactions.
    pub(crate) fn tx(&self) -> Option<&TxPublisher> {
        match &self.mode {
            Mode::Transactions { tx, .. } => Some(tx),
            Mode::AtLeastOnce { .. } => None,
        }
    }

    /// Whether no more input should be taken until what is in flight is acknowledged.
    pub(crate) fn is_full(&self) -> bool {
        match &self.mode {
            Mode::AtLeastOnce { window, .. } => window.is_full(),
            Mode::Transactions { open, max, .. } => {
                open.as_ref().is_some_and(|b| b.records >= *max)
            }
        }
    }

    /// Opens a transaction unless one is open.
    pub(crate) fn begin(&mut self) -> anyhow::Result<()> {
        if let Mode::Transactions { tx, open, .. } = &mut self.mode
            && open.is_none()
        {
            tx.begin()?;
            *open = Some(Batch {
                commit_by: Instant::now() + BATCH_LINGER,
                records: 0,
                next: BTreeMap::new(),
            });
        }
        Ok(())
    }

    /// Hands `facts` to the producer: within the open transaction, or as deliveries to wait
    /// for.
    pub(crate) async fn send(&self, facts: &[SlaFact]) -> anyhow::Result<Vec<Delivery>> {
        let mut deliveries = Vec::new();
        for f in facts {
            let bytes = pronto_proto::sla::encode(f);
            let ctx = f.context();
            let key = format!("{}/{}", ctx.tenant, ctx.conversation_id);
            match &self.mode {
                Mode::Transactions { tx, .. } => {
                    tx.send(&self.topic, &key, &bytes, pronto_proto::sla::MESSAGE)
                        .await?
                }
                Mode::AtLeastOnce { publisher, .. } => deliveries.push(
                    publisher
                        .send(&self.topic, &key, &bytes, pronto_proto::sla::MESSAGE)
                        .await?,
                ),
            }
            tracing::debug!(kind = f.kind(), fact = f.fact_id(), at = %f.at(), "verdict");
        }
        self.published
            .fetch_add(facts.len() as u64, Ordering::Relaxed);
        Ok(deliveries)
    }

    /// Notes that every output of `input` was handed over (with `deliveries`, when they are
    /// acknowledged one by one).
    pub(crate) fn sent(&mut self, input: Option<Record>, deliveries: Vec<Delivery>) {
        match &mut self.mode {
            Mode::AtLeastOnce { window, .. } => {
                if input.is_some() || !deliveries.is_empty() {
                    window.push(deliveries, input);
                }
            }
            Mode::Transactions { open, .. } => {
                if let (Some(b), Some(r)) = (open.as_mut(), input) {
                    b.records += 1;
                    b.next.insert((r.topic, r.partition), r.offset + 1);
                }
            }
        }
    }

    /// The next record whose outputs are all acknowledged, in order, and stores its offset;
    /// pending for ever when there is none (or outputs go out in transactions).
    pub(crate) async fn acknowledged(&mut self, consumer: &StreamConsumer) -> anyhow::Result<()> {
        match &mut self.mode {
            Mode::AtLeastOnce { window, .. } if !window.is_empty() => {
                if let Some(Some(r)) = window.next().await.transpose()? {
                    store_offset(consumer, &r)?;
                }
                Ok(())
            }
            _ => std::future::pending().await,
        }
    }

    /// When the open transaction is due to be committed, if one is open.
    pub(crate) fn commit_by(&self) -> Option<Instant> {
        match &self.mode {
            Mode::Transactions { open: Some(b), .. } => Some(b.commit_by),
            _ => None,
        }
    }

    /// Commits the open transaction, with the next offsets of the records in it, when it is
    /// full or due.
    pub(crate) async fn commit_if_due(&mut self, consumer: &StreamConsumer) -> anyhow::Result<()> {
        let due = match &self.mode {
            Mode::Transactions {
                open: Some(b), max, ..
            } => b.records >= *max || Instant::now() >= b.commit_by,
            _ => false,
        };
        if due {
            self.commit(consumer).await?;
        }
        Ok(())
    }

    /// Commits the open transaction, if any; aborts it when the commit fails.
    async fn commit(&mut self, consumer: &StreamConsumer) -> anyhow::Result<()> {
        let Mode::Transactions { tx, open, .. } = &mut self.mode else {
            return Ok(());
        };
        let Some(batch) = open.take() else {
            return Ok(());
        };
        let offsets = if batch.next.is_empty() {
            None
        } else {
            let mut tpl = TopicPartitionList::new();
            for ((topic, partition), next) in &batch.next {
                tpl.add_partition_offset(topic, *partition, Offset::Offset(*next))?;
            }
            let group = consumer
                .group_metadata()
                .ok_or_else(|| anyhow::anyhow!("no consumer group metadata"))?;
            Some((tpl, group))
        };
        if let Err(e) = tx.commit(offsets).await {
            tx.abort().await.ok();
            return Err(e.into());
        }
        Ok(())
    }

    /// Aborts the open transaction, if any: none of its verdicts become visible.
    pub(crate) async fn abort(&mut self) {
        if let Mode::Transactions { tx, open, .. } = &mut self.mode
            && open.take().is_some()
        {
            tx.abort().await.ok();
        }
    }

    /// Waits for everything in flight (storing offsets) or commits the open transaction:
    /// for a graceful stop.
    pub(crate) async fn finish(&mut self, consumer: &StreamConsumer) -> anyhow::Result<()> {
        match &mut self.mode {
            Mode::AtLeastOnce { window, .. } => {
                window
                    .drain(|done| match done {
                        Some(r) => store_offset(consumer, &r),
                        None => Ok(()),
                    })
                    .await?;
                Ok(())
            }
            Mode::Transactions { .. } => self.commit(consumer).await,
        }
    }
}
