//! The idempotent producer: `acks=all`, idempotence on, and every send awaited until the
//! broker acknowledged it.

use crate::Result;
use crate::headers::outgoing;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use std::time::Duration;

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
    pub fn new(brokers: &str) -> Result<Self> {
        let producer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("message.timeout.ms", "30000")
            .set("linger.ms", "5")
            .create()?;
        Ok(Self { producer })
    }

    /// Sends one record and waits for the broker's acknowledgement: (partition, offset).
    pub async fn publish(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        kind: &str,
    ) -> Result<(i32, i64)> {
        let record = FutureRecord::to(topic)
            .key(key)
            .payload(payload)
            .headers(outgoing(kind));
        match self
            .producer
            .send(record, Timeout::After(Duration::from_secs(30)))
            .await
        {
            Ok(d) => Ok((d.partition, d.offset)),
            Err((e, _)) => Err(e.into()),
        }
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
    pub async fn new(brokers: &str, transactional_id: &str) -> Result<Self> {
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("transactional.id", transactional_id)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("message.timeout.ms", "30000")
            .set("linger.ms", "5")
            .create()?;
        let p = producer.clone();
        blocking(move || p.init_transactions(TX_TIMEOUT)).await?;
        Ok(Self { producer })
    }

    pub fn begin(&self) -> Result<()> {
        self.producer.begin_transaction()?;
        Ok(())
    }

    /// Sends one record within the open transaction; returns once the broker has it (it
    /// becomes visible when the transaction commits).
    pub async fn send(&self, topic: &str, key: &str, payload: &[u8], kind: &str) -> Result<()> {
        let record = FutureRecord::to(topic)
            .key(key)
            .payload(payload)
            .headers(outgoing(kind));
        match self
            .producer
            .send(record, Timeout::After(Duration::from_secs(30)))
            .await
        {
            Ok(_) => Ok(()),
            Err((e, _)) => Err(e.into()),
        }
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
