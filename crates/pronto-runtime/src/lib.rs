//! What every Pronto service shares: telemetry set-up, the admin HTTP server with
//! `/healthz`, `/readyz` and `/metrics`, a shutdown token tripped by SIGTERM or Ctrl-C, and the
//! one mapping from an error's fault to an HTTP status and a gRPC code.

mod admin;
pub mod fault;
mod grpc;
mod shutdown;
mod telemetry;

pub use admin::{Health, Metrics, serve_admin};
pub use grpc::serve_grpc;
pub use shutdown::{GRACE, shutdown_token};
pub use telemetry::{TelemetryGuard, init_telemetry};
pub use tokio_util::sync::CancellationToken;

/// The wall clock as an event time. Only the edges read it: ingest's plausibility check, the
/// SLA service's live advance, and operator actions; domain logic takes time as an argument.
pub fn wall_clock() -> pronto_domain::EventTime {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    pronto_domain::EventTime(ms)
}
