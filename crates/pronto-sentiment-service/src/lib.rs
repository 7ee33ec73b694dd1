//! The sentiment service: reads interaction events, tags each customer message with polarity,
//! score, language and tone, and each human agent's reply with its tone and whether it is
//! signed, and publishes the tags. A tag's id is derived from the event and the model version,
//! so re-processing publishes nothing new.

use pronto_kafka::rdkafka::consumer::{CommitMode, Consumer as _};
use pronto_kafka::rdkafka::message::Message;
use pronto_kafka::{
    DeadLetters, InFlight, KafkaArgs, Publisher, Record, group_consumer, record_span, store_offset,
};
use pronto_runtime::{CancellationToken, Health, Metrics};
use std::sync::atomic::Ordering;
use tracing::Instrument as _;

mod external;
mod rescore;
mod tagger;

pub use external::{ExternalModel, MAX_TEXT_BYTES, ModelServer};
pub use rescore::{RescoreSummary, rescore};
pub use tagger::{Fallback, Tagger};

/// Consumer group of the sentiment service.
pub const GROUP: &str = "pronto-sentiment";

/// Waits for SIGHUP, the signal that asks to re-read the model file.
pub async fn reload_signal() -> std::io::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
}

/// Reloads the tagger's model, logging the outcome; the model in use stays on failure.
pub fn reload(tagger: &Tagger, metrics: &Metrics) {
    match tagger.reload() {
        Ok(m) => {
            metrics
                .counter("pronto_sentiment_model_reloads_total")
                .fetch_add(1, Ordering::Relaxed);
            tracing::info!(
                model = m.name(),
                version = m.version(),
                "sentiment model reloaded"
            );
        }
        Err(e) => {
            metrics
                .counter("pronto_sentiment_model_reload_failures_total")
                .fetch_add(1, Ordering::Relaxed);
            let m = tagger.local();
            tracing::error!(error = %e, model = m.name(), version = m.version(), "sentiment model reload failed; keeping the model in use");
        }
    }
}

/// Serves the tagger's local model as `pronto.v1.SentimentModel` until `shutdown`, re-reading
/// the model file on SIGHUP.
pub async fn serve_model(
    listener: tokio::net::TcpListener,
    tagger: std::sync::Arc<Tagger>,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut hup = reload_signal().await?;
    let reloader = {
        let (tagger, shutdown) = (tagger.clone(), shutdown.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = hup.recv() => reload(&tagger, &metrics),
                }
            }
        })
    };
    pronto_runtime::serve_grpc(
        listener,
        tonic::service::Routes::new(ModelServer(tagger).into_service()),
        "pronto.v1.SentimentModel",
        shutdown,
    )
    .await?;
    reloader.await.ok();
    Ok(())
}

/// Runs until `shutdown`, then commits and returns.
pub async fn run(
    kafka: KafkaArgs,
    tagger: std::sync::Arc<Tagger>,
    health: Health,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let ready = health.component("sentiment");
    let topics = kafka.topics();
    let publisher = Publisher::new(kafka.connection())?;
    let dead = DeadLetters::new(publisher.clone(), &topics.dead_letter, "sentiment");
    let consumer = group_consumer(
        kafka.connection(),
        GROUP,
        &kafka.instance_id,
        &[&topics.events],
    )?;
    let tagged = metrics.counter("pronto_sentiment_tags_total");
    let parked = metrics.counter("pronto_sentiment_dead_letters_total");
    let fallbacks = metrics.counter("pronto_sentiment_external_fallbacks_total");
    let mut hup = reload_signal().await?;
    ready.store(true, Ordering::Relaxed);
    let model = tagger.local();
    tracing::info!(
        topic = %topics.events,
        model = model.name(),
        version = model.version(),
        external = tagger.external().map(|x| x.url()),
        "sentiment service consuming"
    );
    // Records whose tags the broker has not yet acknowledged; their offsets are stored in
    // order as the acknowledgements come back.
    let mut window = InFlight::new(kafka.max_in_flight);
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            _ = hup.recv() => reload(&tagger, &metrics),
            Some(done) = window.next(), if !window.is_empty() => store_offset(&consumer, &done?)?,
            m = consumer.recv(), if !window.is_full() => {
                let m = m?;
                let span = record_span("sentiment", &m);
                let deliveries = async {
                    let mut out = Vec::new();
                    match pronto_proto::events::decode(m.payload().unwrap_or_default()) {
                        Err(e) => {
                            out.push(dead.send(&m, &e.to_string()).await?);
                            parked.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(event) => {
                            if let Some((t, fallback)) = tagger.tag(&event).await {
                                if let Some(why) = fallback {
                                    fallbacks.fetch_add(1, Ordering::Relaxed);
                                    tracing::warn!(record = %Record::of(&m), reason = %why, "external sentiment model not used");
                                }
                                let bytes = pronto_proto::sentiment::encode(&t);
                                out.push(
                                    publisher
                                        .send(
                                            &topics.sentiment,
                                            event.key().as_str(),
                                            &bytes,
                                            pronto_proto::sentiment::MESSAGE,
                                        )
                                        .await?,
                                );
                                tagged.fetch_add(1, Ordering::Relaxed);
                                tracing::debug!(record = %Record::of(&m), polarity = %t.polarity, "tagged");
                            }
                        }
                    }
                    anyhow::Ok(out)
                }
                .instrument(span)
                .await?;
                window.push(deliveries, Record::of(&m));
            }
        }
    }
    // Stopping: what is in flight is waited for, so that its offsets are committed.
    window.drain(|done| store_offset(&consumer, &done)).await?;
    consumer.commit_consumer_state(CommitMode::Sync).ok();
    tracing::info!("sentiment service stopped");
    Ok(())
}
