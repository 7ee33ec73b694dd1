//! Creating the topics a service needs, waiting for the broker to come up.

use crate::{Connection, Error, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;

/// Creates any of `topics` that do not exist yet, with `partitions` partitions each.
/// Retries for up to `wait` while the broker is unreachable.
pub async fn ensure_topics(
    brokers: impl Into<Connection>,
    topics: &[&str],
    partitions: i32,
    wait: Duration,
) -> Result<()> {
    let to = brokers.into();
    let admin: AdminClient<DefaultClientContext> = to.config(&[]).create()?;
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1)))
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match admin.create_topics(&new, &opts).await {
            Ok(results) => {
                for r in results {
                    match r {
                        Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                        Err((topic, code)) => {
                            return Err(Error::Topic {
                                topic,
                                reason: code.to_string(),
                            });
                        }
                    }
                }
                return Ok(());
            }
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::info!(error = %e, brokers = %to.brokers, "broker not ready; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}
