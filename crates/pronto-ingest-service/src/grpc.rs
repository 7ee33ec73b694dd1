//! `IngestService` over gRPC. Invalid input fails with INVALID_ARGUMENT carrying a
//! `google.rpc.BadRequest` that names every bad field.

use crate::{Ingestor, MAX_BATCH, Receipt};
use pronto_domain::{Classified, ValidationErrors};
use pronto_grpc::{IngestService, IngestServiceServer};
use pronto_proto::v1 as pb;
use pronto_runtime::CancellationToken;
use pronto_runtime::fault::{grpc_code, grpc_status};
use std::sync::Arc;
use tonic::{Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

struct Api(Arc<Ingestor>);

fn invalid(errs: &ValidationErrors) -> Status {
    let mut details = ErrorDetails::new();
    for e in &errs.0 {
        details.add_bad_request_violation(e.path.clone(), e.reason.clone());
    }
    Status::with_error_details(
        grpc_code(errs.fault()),
        format!("invalid event: {errs}"),
        details,
    )
}

fn receipt(r: Receipt) -> pb::Receipt {
    pb::Receipt {
        event_id: r.event_id,
        partition: r.partition,
        offset: r.offset,
    }
}

impl Api {
    async fn ingest(&self, events: Vec<(String, pb::Event)>) -> Result<Vec<pb::Receipt>, Status> {
        let raws = events
            .into_iter()
            .map(|(p, e)| (p, pronto_domain::RawEvent::from(e)))
            .collect();
        let events = self.0.validate(raws).map_err(|e| invalid(&e))?;
        let receipts = self.0.publish(&events).await.map_err(|e| {
            grpc_status(
                "broker did not acknowledge; retry with the same event ids",
                &e,
            )
        })?;
        Ok(receipts.into_iter().map(receipt).collect())
    }
}

#[tonic::async_trait]
impl IngestService for Api {
    async fn publish(
        &self,
        req: Request<pb::PublishRequest>,
    ) -> Result<Response<pb::PublishResponse>, Status> {
        let Some(event) = req.into_inner().event else {
            return Err(invalid(&ValidationErrors(vec![
                pronto_domain::FieldError::new("event", "is required"),
            ])));
        };
        let mut r = self.ingest(vec![(String::new(), event)]).await?;
        Ok(Response::new(pb::PublishResponse { receipt: r.pop() }))
    }

    async fn publish_batch(
        &self,
        req: Request<pb::PublishBatchRequest>,
    ) -> Result<Response<pb::PublishBatchResponse>, Status> {
        let events = req.into_inner().events;
        if events.is_empty() || events.len() > MAX_BATCH {
            return Err(invalid(&ValidationErrors(vec![
                pronto_domain::FieldError::new(
                    "events",
                    format!(
                        "holds {} events; between 1 and {MAX_BATCH} are accepted",
                        events.len()
                    ),
                ),
            ])));
        }
        let numbered = events
            .into_iter()
            .enumerate()
            .map(|(i, e)| (format!("events[{i}]"), e))
            .collect();
        let receipts = self.ingest(numbered).await?;
        Ok(Response::new(pb::PublishBatchResponse { receipts }))
    }
}

pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    ingestor: Arc<Ingestor>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "ingest gRPC listening");
    pronto_runtime::serve_grpc(
        listener,
        tonic::service::Routes::new(IngestServiceServer::new(Api(ingestor))),
        "pronto.v1.IngestService",
        shutdown,
    )
    .await
}
