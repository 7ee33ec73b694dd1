//! The gRPC services of `proto/pronto/v1/services.proto`: tonic clients and servers for
//! ingest, reporting, escalation and the external sentiment model. Their messages are
//! pronto-proto's; only the services' adapters and their clients depend on this crate, so the
//! cores and the replay stay free of tonic.

#[allow(unreachable_pub, clippy::all, missing_docs)]
pub mod v1 {
    tonic::include_proto!("pronto.v1");
}

pub use v1::escalation_service_client::EscalationServiceClient;
pub use v1::escalation_service_server::{EscalationService, EscalationServiceServer};
pub use v1::ingest_service_client::IngestServiceClient;
pub use v1::ingest_service_server::{IngestService, IngestServiceServer};
pub use v1::reporting_service_client::ReportingServiceClient;
pub use v1::reporting_service_server::{ReportingService, ReportingServiceServer};
pub use v1::sentiment_model_client::SentimentModelClient;
pub use v1::sentiment_model_server::{SentimentModel, SentimentModelServer};

/// The encoded file descriptor set of every Pronto protobuf file, for gRPC reflection.
pub use pronto_proto::FILE_DESCRIPTOR_SET;
