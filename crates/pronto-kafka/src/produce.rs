//! The idempotent producer: `acks=all` and idempotence on, so records of one partition are
//! stored once each and in the order they were sent, however many are in flight. A send hands
//! the record to the client and returns a [`Delivery`] that resolves once the broker
//! acknowledged it; callers keep many in flight and wait on them together.

use crate::headers::outgoing;
use crate::{Connection, Result};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Every producer's settings: each record stored once and in order (`acks=all`, idempotence),
/// given up after 30 s without the broker; records wait up to 5 ms to go out in batches of up
/// to 10,000 records or 1 MB, and the client queues at most 100,000 records (1 GB) before a send
/// waits for room.
const PRODUCER: &[(&str, &str)] = &[
    ("acks", "all"),
    ("enable.idempotence", "true"),
    ("message.timeout.ms", "30000"),
    ("linger.ms", "5"),
    ("batch.num.messages", "10000"),
    ("batch.size", "1000000"),
    ("queue.buffering.max.messages", "100000"),
];

/// A record handed to the producer: resolves with where the broker stored it, (partition,
/// offset), once it acknowledged it, or with the reason it could not (after the client's own
/// retries, within `message.timeout.ms`).
#[must_use = "a delivery is only known to be durable once it resolves"]
pub struct Delivery(DeliveryFuture);

impl Future for Delivery {
    type Output = Result<(i32, i64)>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|r| match r {
            Ok(Ok(d)) => Ok((d.partition, d.offset)),
            Ok(Err((e, _))) => Err(e.into()),
            Err(_) => Err(KafkaError::Canceled.into()),
        })
    }
}

/// How long to wait before offering a record again when the client's queue is full.
const QUEUE_FULL_PAUSE: Duration = Duration::from_millis(5);

/// Hands `record` to `producer`, waiting while its queue is full (the client holds at most
/// `queue.buffering.max.messages` records: a broker slower than the service slows the
/// service instead of growing its memory).
async fn enqueue(
    producer: &FutureProducer,
    mut record: FutureRecord<'_, str, [u8]>,
) -> Result<Delivery> {
    loop {
        match producer.send_result(record) {
            Ok(d) => return Ok(Delivery(d)),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                record = r;
                tokio::time::sleep(QUEUE_FULL_PAUSE).await;
            }
            Err((e, _)) => return Err(e.into()),
        }
    }
}

/// Publishes records and reports where the broker stored them.
#[derive(Clone)]
pub struct Publisher {
    producer: FutureProducer,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Publisher")
    }
}

impl Publisher {
    pub fn new(to: impl Into<Connection>) -> Result<Self> {
        let producer = to.into().config(PRODUCER).create()?;
        Ok(Self { producer })
    }

    /// Hands one record to the producer and returns without waiting for the broker (only for
    /// room in the client's queue); the [`Delivery`] resolves once the broker acknowledged it.
    pub async fn send(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        kind: &str,
    ) -> Result<Delivery> {
        let record = FutureRecord::to(topic)
            .key(key)
            .payload(payload)
            .headers(outgoing(kind));
        enqueue(&self.producer, record).await
    }

    /// Sends one record and waits for the broker's acknowledgement: (partition, offset).
    pub async fn publish(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        kind: &str,
    ) -> Result<(i32, i64)> {
        self.send(topic, key, payload, kind).await?.await
    }

    /// Waits until every record in flight is acknowledged (for shutdown).
    pub fn flush(&self, timeout: Duration) {
        if let Err(e) = self.producer.flush(Timeout::After(timeout)) {
            tracing::warn!(error = %e, "producer flush did not complete");
        }
    }
}

/// A transactional producer, for exactly-once processing on brokers that support Kafka
/// transactions: a consumer's outputs and its input offsets are committed together, so a
/// restart neither loses nor repeats a visible output. `read_committed` consumers (the
/// librdkafka default) never see the records of an aborted transaction.
#[derive(Clone)]
pub struct TxPublisher {
    producer: FutureProducer,
}

impl std::fmt::Debug for TxPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TxPublisher")
    }
}

/// How long a transaction call may wait for the broker.
const TX_TIMEOUT: Duration = Duration::from_secs(30);

impl TxPublisher {
    /// A producer with `transactional_id`, its transactions initialised (which fences off
    /// any earlier producer with the same id, such as this replica before a restart).
    pub async fn new(to: impl Into<Connection>, transactional_id: &str) -> Result<Self> {
        let producer: FutureProducer = to
            .into()
            .config(PRODUCER)
            .set("transactional.id", transactional_id)
            .create()?;
        let p = producer.clone();
        blocking(move || p.init_transactions(TX_TIMEOUT)).await?;
        Ok(Self { producer })
    }

    pub fn begin(&self) -> Result<()> {
        self.producer.begin_transaction()?;
        Ok(())
    }

    /// Hands one record to the producer within the open transaction, without waiting for the
    /// broker: committing the transaction waits for every record in it, and fails (the
    /// transaction is then aborted) if one of them could not be delivered. It becomes visible
    /// when the transaction commits.
    pub async fn send(&self, topic: &str, key: &str, payload: &[u8], kind: &str) -> Result<()> {
        let record = FutureRecord::to(topic)
            .key(key)
            .payload(payload)
            .headers(outgoing(kind));
        // The delivery is reported by the commit; dropping its future does not cancel it.
        drop(enqueue(&self.producer, record).await?);
        Ok(())
    }

    /// Commits the open transaction, with the consumer's next offsets when given.
    pub async fn commit(
        &self,
        offsets: Option<(
            rdkafka::TopicPartitionList,
            rdkafka::consumer::ConsumerGroupMetadata,
        )>,
    ) -> Result<()> {
        let p = self.producer.clone();
        blocking(move || {
            if let Some((tpl, group)) = offsets {
                p.send_offsets_to_transaction(&tpl, &group, TX_TIMEOUT)?;
            }
            p.commit_transaction(TX_TIMEOUT)
        })
        .await
    }

    /// Aborts the open transaction: none of its records become visible.
    pub async fn abort(&self) -> Result<()> {
        let p = self.producer.clone();
        blocking(move || p.abort_transaction(TX_TIMEOUT)).await
    }
}

/// Runs a blocking librdkafka call off the async threads.
async fn blocking(
    f: impl FnOnce() -> rdkafka::error::KafkaResult<()> + Send + 'static,
) -> Result<()> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| crate::Error::Topic {
            topic: String::new(),
            reason: format!("transaction call did not finish: {e}"),
        })??;
    Ok(())
}
