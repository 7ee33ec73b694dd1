//! The ingest service: accepts interaction events over HTTP/JSON (`POST /v1/events`) and gRPC
//! (`IngestService`), validates every field, and answers OK only once the broker has
//! acknowledged every event of the request. An invalid request writes nothing.

mod grpc;
mod http;

use pronto_domain::{Event, Limits, RawEvent, ValidationErrors};
use pronto_kafka::{KafkaArgs, Publisher};
use pronto_runtime::{CancellationToken, Health, Metrics};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use http::router;

/// Most events accepted in one request.
pub const MAX_BATCH: usize = 1000;

/// Settings of the ingest service.
#[derive(Debug, Clone)]
pub struct IngestSettings {
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
}

/// Where the broker stored an event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Receipt {
    pub event_id: String,
    pub partition: i32,
    pub offset: i64,
}

/// Validates and publishes; shared by the HTTP and gRPC faces.
pub struct Ingestor {
    publisher: Publisher,
    topic: String,
    limits: Limits,
    accepted: Arc<AtomicU64>,
    rejected: Arc<AtomicU64>,
}

impl Ingestor {
    pub fn new(publisher: Publisher, topic: String, metrics: &Metrics) -> Self {
        Self {
            publisher,
            topic,
            limits: Limits::default(),
            accepted: metrics.counter("pronto_ingest_events_accepted_total"),
            rejected: metrics.counter("pronto_ingest_requests_rejected_total"),
        }
    }

    /// Validates every event of a request; `prefix` names each one's place (`events[3]`).
    pub fn validate(&self, raws: Vec<(String, RawEvent)>) -> Result<Vec<Event>, ValidationErrors> {
        let now = pronto_runtime::wall_clock();
        let mut events = Vec::with_capacity(raws.len());
        let mut errors = ValidationErrors::default();
        for (prefix, raw) in raws {
            match raw.validate(now, &self.limits) {
                Ok(e) => events.push(e),
                Err(e) if prefix.is_empty() => errors.0.extend(e.0),
                Err(e) => errors.0.extend(e.prefixed(&prefix).0),
            }
        }
        if errors.0.is_empty() {
            Ok(events)
        } else {
            self.rejected.fetch_add(1, Ordering::Relaxed);
            Err(errors)
        }
    }

    /// Publishes all events, keyed by conversation, in one burst (every record handed to the
    /// producer before any acknowledgement is awaited), and waits for every acknowledgement.
    #[tracing::instrument(name = "ingest_publish", skip_all, fields(events = events.len()))]
    pub async fn publish(&self, events: &[Event]) -> pronto_kafka::Result<Vec<Receipt>> {
        let mut deliveries = Vec::with_capacity(events.len());
        for e in events {
            let bytes = pronto_proto::events::encode(e);
            deliveries.push(
                self.publisher
                    .send(
                        &self.topic,
                        e.key().as_str(),
                        &bytes,
                        pronto_proto::events::MESSAGE,
                    )
                    .await?,
            );
        }
        let stored = futures::future::try_join_all(deliveries).await?;
        let receipts: Vec<Receipt> = events
            .iter()
            .zip(stored)
            .map(|(e, (partition, offset))| Receipt {
                event_id: e.id().to_string(),
                partition,
                offset,
            })
            .collect();
        self.accepted
            .fetch_add(receipts.len() as u64, Ordering::Relaxed);
        Ok(receipts)
    }
}

/// Runs both faces until `shutdown`.
pub async fn run(
    kafka: KafkaArgs,
    settings: IngestSettings,
    health: Health,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let ready = health.component("ingest");
    let publisher = Publisher::new(kafka.connection())?;
    let ingestor = Arc::new(Ingestor::new(
        publisher.clone(),
        kafka.events_topic.clone(),
        &metrics,
    ));
    let http = tokio::net::TcpListener::bind(settings.http_addr).await?;
    let grpc = tokio::net::TcpListener::bind(settings.grpc_addr).await?;
    ready.store(true, Ordering::Relaxed);
    serve(http, grpc, ingestor, shutdown).await?;
    publisher.flush(std::time::Duration::from_secs(5));
    tracing::info!("ingest service stopped");
    Ok(())
}

/// Serves both faces on already-bound listeners until `shutdown`.
pub async fn serve(
    http: tokio::net::TcpListener,
    grpc: tokio::net::TcpListener,
    ingestor: Arc<Ingestor>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let h = tokio::spawn(http::serve(http, Arc::clone(&ingestor), shutdown.clone()));
    let g = tokio::spawn(grpc::serve(grpc, ingestor, shutdown));
    let (h, g) = tokio::join!(h, g);
    h??;
    g??;
    Ok(())
}
