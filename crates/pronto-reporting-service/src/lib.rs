//! The reporting service: folds the events, sentiment, SLA and escalation topics, read from
//! their beginning, into the read model, and answers report queries over HTTP/JSON
//! (`GET /v1/report`) and gRPC (`ReportingService.GetReport`).

mod grpc;
mod http;

pub use http::OPENAPI;

use pronto_kafka::rdkafka::message::Message;
use pronto_kafka::{KafkaArgs, assign_from_beginning, reader};
use pronto_proto::v1 as pb;
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
    let consumer = reader(&kafka.brokers)?;
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
        let result = {
            let mut model = model.write().expect("read model lock");
            if topic == topics.events {
                pronto_proto::decode_event(payload).map(|e| model.apply_event(&e))
            } else if topic == topics.sentiment {
                pronto_proto::decode::<pb::SentimentTag>("pronto.v1.SentimentTag", payload)
                    .and_then(pronto_proto::tag_from_pb)
                    .map(|t| model.apply_tag(&t))
            } else if topic == topics.sla {
                pronto_proto::decode::<pb::SlaFact>("pronto.v1.SlaFact", payload)
                    .and_then(pronto_proto::sla_fact_from_pb)
                    .map(|f| model.apply_sla(&f))
            } else {
                pronto_proto::decode::<pb::EscalationEvent>("pronto.v1.EscalationEvent", payload)
                    .and_then(|e| match e.event {
                        Some(pb::escalation_event::Event::Raised(r)) => {
                            pronto_proto::escalation_from_pb(r).map(|r| model.apply_escalation(&r))
                        }
                        Some(pb::escalation_event::Event::Acknowledged(a)) => {
                            model.apply_escalation_state(&a.escalation_id, "acknowledged");
                            Ok(())
                        }
                        Some(pb::escalation_event::Event::Resolved(r)) => {
                            model.apply_escalation_state(&r.escalation_id, "resolved");
                            Ok(())
                        }
                        Some(pb::escalation_event::Event::Withdrawn(w)) => {
                            model.apply_withdrawal(&w.escalation_id);
                            Ok(())
                        }
                        _ => Ok(()),
                    })
            }
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
