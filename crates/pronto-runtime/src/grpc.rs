//! Serving gRPC: every server carries the standard health service (SERVING while it runs,
//! NOT_SERVING once draining) and reflection over Pronto's protobuf descriptors.

use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic_health::ServingStatus;

/// Serves `routes` on `listener` until `shutdown`. `name` is the fully qualified service
/// name health checks ask about, e.g. `pronto.v1.IngestService`.
pub async fn serve_grpc(
    listener: tokio::net::TcpListener,
    routes: Routes,
    name: &'static str,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status(name, ServingStatus::Serving)
        .await;
    reporter
        .set_service_status("", ServingStatus::Serving)
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pronto_grpc::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, service = name, "gRPC listening");
    let stopping = {
        let reporter = reporter.clone();
        let shutdown = shutdown.clone();
        async move {
            shutdown.cancelled().await;
            reporter
                .set_service_status(name, ServingStatus::NotServing)
                .await;
            reporter
                .set_service_status("", ServingStatus::NotServing)
                .await;
        }
    };
    tonic::transport::Server::builder()
        .add_routes(routes.add_service(health).add_service(reflection))
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            stopping,
        )
        .await?;
    Ok(())
}
