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
