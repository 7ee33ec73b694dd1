//! What every Pronto service shares: telemetry set-up, the admin HTTP server with
//! `/healthz`, `/readyz` and `/metrics`, and a shutdown token tripped by SIGTERM or Ctrl-C.

mod admin;
mod shutdown;
mod telemetry;

pub use admin::{Health, Metrics, serve_admin};
pub use shutdown::{GRACE, shutdown_token};
pub use telemetry::{TelemetryGuard, init_telemetry};
pub use tokio_util::sync::CancellationToken;
