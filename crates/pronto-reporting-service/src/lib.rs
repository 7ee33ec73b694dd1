//! The reporting service: folds the events, sentiment, SLA and escalation topics, read from
//! their beginning, into the read model, and answers report queries over HTTP/JSON
//! (`GET /v1/report`) and gRPC (`ReportingService.GetReport`).

mod grpc;
mod http;

pub use http::OPENAPI;

use pronto_kafka::rdkafka::message::Message;
use pronto_kafka::{KafkaArgs, assign_from_beginning, reader};
use pronto_reporting::ReadModel;
use pronto_runtime::{CancellationToken, Health, Metrics};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};

pub use http::parse_query;

/// Settings of the reporting service.
#[derive(Debug, Clone)]
pub struct ReportingSettings {
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    /// Who works each queue and agent, for reports by outsourcer.
    pub outsourcers: pronto_reporting::Outsourcers,
}

pub(crate) type Shared = Arc<RwLock<ReadModel>>;

/// Runs until `shutdown`.
pub async fn run(
    kafka: KafkaArgs,
    settings: ReportingSettings,
    health: Health,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let ready = health.component("reporting");
    let topics = kafka.topics();
    let mut model = ReadModel::new();
    model.set_outsourcers(settings.outsourcers.clone());
    let model: Shared = Arc::new(RwLock::new(model));
    let http_listener = tokio::net::TcpListener::bind(settings.http_addr).await?;
    let grpc_listener = tokio::net::TcpListener::bind(settings.grpc_addr).await?;
    let http = tokio::spawn(http::serve(
        http_listener,
        Arc::clone(&model),
        shutdown.clone(),
    ));
    let grpc = tokio::spawn(grpc::serve(
        grpc_listener,
        Arc::clone(&model),
        shutdown.clone(),
    ));
    let consumer = reader(kafka.connection())?;
    assign_from_beginning(
        &consumer,
        &[
            &topics.events,
            &topics.sentiment,
            &topics.sla,
            &topics.escalations,
        ],
    )?;
    let folded = metrics.counter("pronto_reporting_records_total");
    let skipped = metrics.counter("pronto_reporting_undecodable_total");
    ready.store(true, Ordering::Relaxed);
    tracing::info!("reporting service reading every topic from the beginning");
    loop {
        let m = tokio::select! {
            _ = shutdown.cancelled() => break,
            m = consumer.recv() => m?,
        };
        let payload = m.payload().unwrap_or_default();
        let topic = m.topic();
        let result = match topics.kind(topic) {
            Some(kind) => pronto_proto::decode(kind, payload)
                .map(|record| model.write().expect("read model lock").apply(&record))
                .map_err(|e| e.to_string()),
            None => Err(format!("{topic} is not a topic the read model folds")),
        };
        match result {
            Ok(()) => folded.fetch_add(1, Ordering::Relaxed),
            Err(e) => {
                // The producing service parked what it could not decode; a record here that
                // does not decode is left out of reports and counted.
                tracing::warn!(topic, partition = m.partition(), offset = m.offset(), error = %e, "record left out of the read model");
                skipped.fetch_add(1, Ordering::Relaxed)
            }
        };
    }
    let _ = http.await;
    let _ = grpc.await;
    tracing::info!("reporting service stopped");
    Ok(())
}
