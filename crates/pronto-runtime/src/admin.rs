//! The admin HTTP server: liveness, readiness and counters in Prometheus text format.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// Readiness of each component of the process; ready when all are.
#[derive(Debug, Clone, Default)]
pub struct Health {
    parts: Arc<Mutex<BTreeMap<&'static str, Arc<AtomicBool>>>>,
}

impl Health {
    /// A process that will run these components: not ready until each has said so.
    pub fn expecting(names: &[&'static str]) -> Self {
        let h = Self::default();
        for n in names {
            h.component(n);
        }
        h
    }

    /// The readiness flag of a component (registered, not ready, on first use).
    pub fn component(&self, name: &'static str) -> Arc<AtomicBool> {
        Arc::clone(
            self.parts
                .lock()
                .expect("health lock")
                .entry(name)
                .or_default(),
        )
    }

    /// Components not ready yet; `starting` while none is registered.
    pub fn not_ready(&self) -> Vec<&'static str> {
        let parts = self.parts.lock().expect("health lock");
        if parts.is_empty() {
            return vec!["starting"];
        }
        parts
            .iter()
            .filter(|(_, f)| !f.load(Ordering::Relaxed))
            .map(|(n, _)| *n)
            .collect()
    }
}

/// Named monotonic counters, exported at `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    counters: Arc<Mutex<BTreeMap<String, Arc<AtomicU64>>>>,
}

impl Metrics {
    /// The counter `name` (created at zero on first use). Names are static in code, so the
    /// cardinality stays bounded.
    pub fn counter(&self, name: &str) -> Arc<AtomicU64> {
        Arc::clone(
            self.counters
                .lock()
                .expect("metrics lock")
                .entry(name.to_string())
                .or_default(),
        )
    }

    fn render(&self) -> String {
        let mut out = String::new();
        for (name, v) in self.counters.lock().expect("metrics lock").iter() {
            out.push_str(&format!(
                "# TYPE {name} counter\n{name} {}\n",
                v.load(Ordering::Relaxed)
            ));
        }
        out
    }
}

#[derive(Clone)]
struct AdminState {
    health: Health,
    metrics: Metrics,
}

/// Serves `/healthz` (always 200 while the process runs), `/readyz` (200 once every
/// component is ready, else 503 naming the laggards) and `/metrics`, until `shutdown`.
pub async fn serve_admin(
    addr: SocketAddr,
    health: Health,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/livez", get(|| async { "ok\n" }))
        .route(
            "/readyz",
            get(|State(s): State<AdminState>| async move {
                let waiting = s.health.not_ready();
                if waiting.is_empty() {
                    (StatusCode::OK, "ready\n".to_string())
                } else {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("not ready: {}\n", waiting.join(", ")),
                    )
                }
            }),
        )
        .route(
            "/metrics",
            get(|State(s): State<AdminState>| async move { s.metrics.render() }),
        )
        .with_state(AdminState { health, metrics });
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "admin server listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}
