//! `pronto simulate`: publishes the seeded sample through the ingest service, alternating
//! HTTP/JSON and gRPC batches, with progress on stderr.

use anyhow::Context as _;
use clap::Args;
use pronto_grpc::IngestServiceClient;
use pronto_proto::v1 as pb;
use pronto_sim::{SimConfig, generate};
use std::io::Write as _;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub(crate) struct SimulateArgs {
    /// Number of conversations.
    #[arg(long, default_value_t = 200)]
    conversations: usize,
    /// Seed: the same seed publishes the same events.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Tenant (brand) of the sample conversations.
    #[arg(long, default_value = "acme")]
    tenant: String,
    /// Events per request.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Ingest HTTP base URL.
    #[arg(
        long,
        env = "PRONTO_INGEST_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    http_url: String,
    /// Ingest gRPC endpoint.
    #[arg(
        long,
        env = "PRONTO_INGEST_GRPC",
        default_value = "http://127.0.0.1:50051"
    )]
    grpc_url: String,
    /// Write the sample to this file, in the format of `pronto export` (under the built-in SLA
    /// policy and escalation rules), instead of publishing it: for `pronto replay --input`
    /// with no broker.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

pub(crate) async fn run(a: SimulateArgs) -> anyhow::Result<ExitCode> {
    if a.batch == 0 || a.batch > pronto_ingest_service::MAX_BATCH {
        eprintln!(
            "pronto simulate: --batch must be between 1 and {}",
            pronto_ingest_service::MAX_BATCH
        );
        return Ok(ExitCode::from(2));
    }
    let events = generate(&SimConfig {
        seed: a.seed,
        conversations: a.conversations,
        tenant: a.tenant.clone(),
        ..SimConfig::default()
    });
    if let Some(out) = &a.out {
        let versions =
            pronto_sla::PolicyVersions::single(std::sync::Arc::new(pronto_sla::Policy::builtin()));
        let numbered: Vec<(i32, pronto_domain::Event)> =
            events.into_iter().map(|e| (0, e)).collect();
        let escalation = pronto_replay::EscalationInputs::default();
        return match crate::export::write_file(out, &versions, &escalation, &numbered) {
            Ok(sum) => {
                println!(
                    "wrote {} events of {} conversations to {}; sha256 {sum}",
                    numbered.len(),
                    a.conversations,
                    out.display()
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("pronto simulate: {}: {e}", out.display());
                Ok(ExitCode::from(2))
            }
        };
    }
    let http = reqwest::Client::new();
    let mut grpc = IngestServiceClient::connect(a.grpc_url.clone())
        .await
        .with_context(|| format!("connecting to ingest gRPC at {}", a.grpc_url))?;
    let total = events.len();
    let mut sent = 0;
    for (i, chunk) in events.chunks(a.batch).enumerate() {
        if i % 2 == 0 {
            let body: Vec<_> = chunk.iter().map(|e| e.to_json()).collect();
            let resp = http
                .post(format!("{}/v1/events", a.http_url.trim_end_matches('/')))
                .json(&serde_json::json!({ "events": body }))
                .send()
                .await
                .with_context(|| format!("posting to {}", a.http_url))?;
            if !resp.status().is_success() {
                anyhow::bail!(
                    "ingest refused a batch: {} {}",
                    resp.status(),
                    resp.text().await?
                );
            }
        } else {
            let req = pb::PublishBatchRequest {
                events: chunk.iter().map(pb::Event::from).collect(),
            };
            grpc.publish_batch(req).await.context("gRPC PublishBatch")?;
        }
        sent += chunk.len();
        eprint!("\rpublished {sent}/{total} events");
        let _ = std::io::stderr().flush();
    }
    eprintln!(
        "\rpublished {total} events from {} conversations (seed {})",
        a.conversations, a.seed
    );
    Ok(ExitCode::SUCCESS)
}
