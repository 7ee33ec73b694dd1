//! One cancellation token for the whole process, cancelled on SIGTERM or Ctrl-C.

use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long draining may take before the process exits anyway; below Kubernetes' default
/// termination grace period of 30 s.
pub const GRACE: Duration = Duration::from_secs(20);

/// A token cancelled when the process is asked to stop. Every task watches it, stops taking
/// new work, finishes what is in flight, commits, and returns.
pub fn shutdown_token() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        // A handler that cannot be installed never fires (rather than firing at once).
        let ctrl_c = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        let signal = tokio::select! {
            _ = ctrl_c => "SIGINT",
            _ = term => "SIGTERM",
            _ = t.cancelled() => return,
        };
        tracing::info!(signal, "shutdown requested; draining");
        t.cancel();
        // Draining must not outlive the grace period a pod is given: if in-flight work or a
        // final commit hangs (say, the broker is gone), leave anyway. Offsets not committed
        // mean records processed again, which deterministic ids make harmless.
        tokio::time::sleep(GRACE).await;
        tracing::error!(grace_s = GRACE.as_secs(), "draining took too long; exiting");
        std::process::exit(1);
    });
    token
}
