//! The sentiment service: reads interaction events, tags each inbound customer message with
//! polarity, score, language and tone, and publishes the tags. A tag's id is derived from the
//! message and the model version, so re-processing publishes nothing new.

use pronto_domain::{Event, Payload, SentimentTag, fact_id};
use pronto_kafka::rdkafka::consumer::{CommitMode, Consumer};
use pronto_kafka::rdkafka::message::Message;
use pronto_kafka::{DeadLetters, KafkaArgs, Publisher, Record, group_consumer, record_span};
use pronto_runtime::{CancellationToken, Health, Metrics};
use pronto_sentiment::Model;
use prost::Message as _;
use std::sync::atomic::Ordering;
use tracing::Instrument as _;

/// Consumer group of the sentiment service.
pub const GROUP: &str = "pronto-sentiment";

/// Tags one event; `None` for anything but a customer message.
pub fn tag(model: &dyn Model, e: &Event) -> Option<SentimentTag> {
    let Payload::CustomerMessage { text, .. } = &e.payload else {
        return None;
    };
    let a = model.assess(text.as_str());
    let env = &e.envelope;
    Some(SentimentTag {
        fact_id: fact_id(
            "snt",
            &[
                env.tenant.as_str(),
                env.event_id.as_str(),
                model.name(),
                model.version(),
            ],
        ),
        event_id: env.event_id.to_string(),
        tenant: env.tenant.to_string(),
        conversation_id: env.conversation_id.to_string(),
        channel: env.channel,
        occurred_at: env.occurred_at,
        polarity: a.polarity,
        score: a.score,
        language: a.language.to_string(),
        tones: a.tones.iter().map(|t| t.to_string()).collect(),
        model_name: model.name().to_string(),
        model_version: model.version().to_string(),
    })
}

/// Runs until `shutdown`, then commits and returns.
pub async fn run(
    kafka: KafkaArgs,
    model: std::sync::Arc<dyn Model>,
    health: Health,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let ready = health.component("sentiment");
    let topics = kafka.topics();
    let publisher = Publisher::new(&kafka.brokers)?;
    let dead = DeadLetters::new(publisher.clone(), &topics.dead_letter, "sentiment");
    let consumer = group_consumer(&kafka.brokers, GROUP, &kafka.instance_id, &[&topics.events])?;
    let tagged = metrics.counter("pronto_sentiment_tags_total");
    let parked = metrics.counter("pronto_sentiment_dead_letters_total");
    ready.store(true, Ordering::Relaxed);
    tracing::info!(topic = %topics.events, model = model.name(), version = model.version(), "sentiment service consuming");
    loop {
        let m = tokio::select! {
            _ = shutdown.cancelled() => break,
            m = consumer.recv() => m?,
        };
        let span = record_span("sentiment", &m);
        async {
            match pronto_proto::decode_event(m.payload().unwrap_or_default()) {
                Err(e) => {
                    dead.park(&m, &e.to_string()).await?;
                    parked.fetch_add(1, Ordering::Relaxed);
                }
                Ok(event) => {
                    if let Some(t) = tag(model.as_ref(), &event) {
                        let bytes = pronto_proto::tag_to_pb(&t).encode_to_vec();
                        publisher
                            .publish(
                                &topics.sentiment,
                                event.key().as_str(),
                                &bytes,
                                "pronto.v1.SentimentTag",
                            )
                            .await?;
                        tagged.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(record = %Record::of(&m), polarity = %t.polarity, "tagged");
                    }
                }
            }
            anyhow::Ok(())
        }
        .instrument(span)
        .await?;
        consumer.store_offset_from_message(&m)?;
    }
    consumer.commit_consumer_state(CommitMode::Sync).ok();
    tracing::info!("sentiment service stopped");
    Ok(())
}
