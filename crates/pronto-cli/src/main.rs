//! `pronto`: one binary for every role. Each service runs as its own subcommand, or all of
//! them in one process with `pronto up`; `simulate` publishes sample conversations and
//! `report` prints the report.

mod explain;
mod export;
mod import;
mod period;
mod replay;
mod sentiment;
mod simulate;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use pronto_kafka::KafkaArgs;
use pronto_runtime::{
    CancellationToken, Health, Metrics, init_telemetry, serve_admin, shutdown_token,
};
use pronto_sla::Policy;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// mimalloc rather than glibc's allocator: the SLA engine, the read model and the replay make
/// many small allocations, which took about 40% of the SLA engine's time under glibc's
/// allocator in a profile (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Pronto: reply-latency, SLA, sentiment and escalation facts from customer conversations.
#[derive(Debug, Parser)]
#[command(name = "pronto", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Accept events over HTTP/JSON and gRPC and publish them to the events topic.
    Ingest(ServiceArgs<IngestArgs>),
    /// Tag every inbound customer message with sentiment and tone.
    Sentiment(SentimentCmd),
    /// Measure reply latencies against the SLA policy; emit warnings and breaches.
    Sla(SlaCmd),
    /// Raise escalations on breaches and unhappy customers; stream them over gRPC.
    Escalation(EscalationCmd),
    /// Serve reports over HTTP/JSON and gRPC from every topic.
    Reporting(ServiceArgs<ReportingArgs>),
    /// Run all five services in one process.
    Up(UpArgs),
    /// Publish seeded sample conversations through the ingest service (half HTTP, half gRPC).
    Simulate(simulate::SimulateArgs),
    /// Print the report from a running reporting service.
    Report(ReportArgs),
    /// Check an SLA policy file and print its version (the built-in policy when no file).
    CheckPolicy(CheckPolicyArgs),
    /// Recompute every derived fact of a period from the topics (SLA verdicts, sentiment
    /// tags, escalations) and print the report and a digest: the same events give the same
    /// digest.
    Replay(replay::ReplayArgs),
    /// Write a period's input events and the policy versions in force to a self-describing
    /// file with its checksum, for `pronto replay --input` with no broker.
    Export(export::ExportArgs),
    /// Load history from a file (JSON Lines events, or the Customer Support on Twitter
    /// layout) into the events topic, with progress and the rows refused and why.
    Import(import::ImportArgs),
    /// Show every clock of a conversation as it stood at an instant, under which policy
    /// version, and the verdicts announced until then.
    Audit(explain::AuditArgs),
}

#[derive(Debug, Args)]
struct CheckPolicyArgs {
    /// The policy file (TOML).
    file: Option<std::path::PathBuf>,
    /// Check this escalation rules file (TOML) instead.
    #[arg(long, conflicts_with = "file")]
    escalation_rules: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
struct Common {
    #[command(flatten)]
    kafka: KafkaArgs,
    /// Address of the admin server (/healthz, /readyz, /metrics).
    #[arg(long, env = "PRONTO_ADMIN_ADDR")]
    admin_addr: Option<SocketAddr>,
    /// Write logs as JSON lines.
    #[arg(long, env = "PRONTO_LOG_JSON")]
    log_json: bool,
}

#[derive(Debug, Args)]
struct ServiceArgs<T: Args> {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    service: T,
}

#[derive(Debug, Args)]
struct NoArgs {}

/// `pronto sentiment` runs the service; `eval` and `train` work on labelled files.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
struct SentimentCmd {
    #[command(subcommand)]
    action: Option<sentiment::SentimentAction>,
    #[command(flatten)]
    service: ServiceArgs<ModelArgs>,
}

/// `pronto sla` runs the service; `explain` tells one conversation's clocks.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
struct SlaCmd {
    #[command(subcommand)]
    action: Option<SlaAction>,
    #[command(flatten)]
    service: ServiceArgs<SlaArgs>,
}

#[derive(Debug, clap::Subcommand)]
enum SlaAction {
    /// Print a conversation's timeline: each event, the clock's state after it, pauses,
    /// closed hours, and why each verdict was emitted under which policy version. Reads the
    /// policies and events topics.
    Explain(ExplainArgs),
}

#[derive(Debug, Args)]
struct ExplainArgs {
    #[command(flatten)]
    kafka: pronto_kafka::KafkaArgs,
    /// The conversation, as TENANT/CONVERSATION_ID.
    conversation: String,
    /// Show the clocks as they stood at this instant (RFC 3339); now when absent.
    #[arg(long, value_parser = period::parse_time)]
    at: Option<i64>,
}

#[derive(Debug, Clone, Args)]
struct ModelArgs {
    /// Sentiment model file written by `pronto sentiment train`; the built-in lexicon when
    /// not given. SIGHUP re-reads it; a file that does not load leaves the model in use.
    #[arg(long, env = "PRONTO_SENTIMENT_MODEL")]
    sentiment_model: Option<std::path::PathBuf>,
    /// An external model serving `pronto.v1.SentimentModel` (e.g. "http://10.0.0.7:50054"),
    /// asked first for every message; the model above tags when it fails or is late.
    #[arg(long, env = "PRONTO_SENTIMENT_EXTERNAL")]
    external_model: Option<String>,
    /// How long to wait for the external model's answer, e.g. "250ms".
    #[arg(long, env = "PRONTO_SENTIMENT_EXTERNAL_TIMEOUT", default_value = "250ms", value_parser = humantime::parse_duration)]
    external_timeout: Duration,
}

impl ModelArgs {
    fn tagger(&self) -> Result<Arc<pronto_sentiment_service::Tagger>, String> {
        let mut t = pronto_sentiment_service::Tagger::from_file(self.sentiment_model.clone())?;
        if let Some(url) = &self.external_model {
            t = t.with_external(pronto_sentiment_service::ExternalModel::new(
                url,
                self.external_timeout,
            )?);
        }
        Ok(Arc::new(t))
    }
}

#[derive(Debug, Clone, Args)]
struct IngestArgs {
    /// Address for HTTP/JSON (`POST /v1/events`).
    #[arg(
        long,
        env = "PRONTO_INGEST_HTTP_ADDR",
        default_value = "127.0.0.1:8080"
    )]
    ingest_http_addr: SocketAddr,
    /// Address for gRPC (`pronto.v1.IngestService`).
    #[arg(
        long,
        env = "PRONTO_INGEST_GRPC_ADDR",
        default_value = "127.0.0.1:50051"
    )]
    ingest_grpc_addr: SocketAddr,
}

#[derive(Debug, Clone, Args)]
struct SlaArgs {
    /// SLA policy file (TOML); the built-in policy when not given. Published on the policies
    /// topic unless that version is there already; SIGHUP re-reads it.
    #[arg(long, env = "PRONTO_SLA_POLICY")]
    policy: Option<std::path::PathBuf>,
    /// How far out of order events may arrive and still count before a verdict, e.g. "5s".
    /// Verdicts wait this long past their instant, so it bounds how soon a breach is
    /// announced: the default keeps breaches within a second of their deadline.
    #[arg(long, env = "PRONTO_ALLOWED_LATENESS", default_value = "500ms", value_parser = humantime::parse_duration)]
    allowed_lateness: Duration,
    /// After a partition has been idle this long, event time follows the wall clock so that
    /// breaches fire with no new event, e.g. "3s".
    #[arg(long, env = "PRONTO_IDLE_ADVANCE", default_value = "200ms", value_parser = humantime::parse_duration)]
    idle_advance: Duration,
    /// How long a conversation keeps its recent events after its clocks closed, e.g. "24h":
    /// an event later than the allowed lateness is put in its place and every verdict it
    /// changes is corrected. "0s" keeps none (then a late event corrects only the timers it
    /// overtook on a running clock).
    #[arg(long, env = "PRONTO_CORRECTION_WINDOW", default_value = "24h", value_parser = humantime::parse_duration)]
    correction_window: Duration,
    /// Commit verdicts together with the input offsets in Kafka transactions (exactly-once),
    /// as `pronto-sla-<instance id>`. Needs a broker with transactions (Apache Kafka,
    /// Redpanda; Tansu has none): without them, deterministic verdict ids make a restart's
    /// repeats harmless instead.
    #[arg(long, env = "PRONTO_SLA_TRANSACTIONS")]
    transactions: bool,
}

#[derive(Debug, Clone, Args)]
struct EscalationArgs {
    /// Address for gRPC (`pronto.v1.EscalationService`).
    #[arg(
        long,
        env = "PRONTO_ESCALATION_GRPC_ADDR",
        default_value = "127.0.0.1:50053"
    )]
    escalation_grpc_addr: SocketAddr,
    /// URL to POST each new escalation to, as JSON. Failed posts are retried with backoff,
    /// then parked in the dead-letter topic (`pronto escalation redeliver` posts them again).
    #[arg(long, env = "PRONTO_ESCALATION_WEBHOOK")]
    webhook: Option<String>,
    /// Secret that signs each webhook post: header `Pronto-Signature: t=<unix>,v1=<hex>`,
    /// HMAC-SHA256 of "<t>.<body>".
    #[arg(long, env = "PRONTO_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<String>,
    /// The escalation rules file (TOML; see docs/escalation.md). The built-in rules when
    /// absent. Checked at start: an invalid file stops the service with its line and reason.
    #[arg(long, env = "PRONTO_ESCALATION_RULES")]
    escalation_rules: Option<std::path::PathBuf>,
    /// How far the ladders' clock stays behind the inputs, so that an acknowledgement, reply
    /// or solve arriving this late still stops a level due after it.
    #[arg(long, env = "PRONTO_ESCALATION_GRACE", default_value = "2s", value_parser = humantime::parse_duration)]
    escalation_grace: std::time::Duration,
}

/// `pronto escalation` runs the service; `redeliver` posts parked webhook deliveries again.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
struct EscalationCmd {
    #[command(subcommand)]
    action: Option<EscalationAction>,
    #[command(flatten)]
    service: ServiceArgs<EscalationArgs>,
}

#[derive(Debug, clap::Subcommand)]
enum EscalationAction {
    /// Post again, once each, the webhook deliveries parked in the dead-letter topic after
    /// their last try. Receivers drop repeats by the Pronto-Escalation-Id header.
    Redeliver(RedeliverArgs),
}

#[derive(Debug, Args)]
struct RedeliverArgs {
    #[command(flatten)]
    kafka: pronto_kafka::KafkaArgs,
    /// Where to post them.
    #[arg(long, env = "PRONTO_ESCALATION_WEBHOOK")]
    webhook: String,
    /// Secret that signs each post (see `pronto escalation --help`).
    #[arg(long, env = "PRONTO_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<String>,
}

#[derive(Debug, Clone, Args)]
struct ReportingArgs {
    /// Address for HTTP/JSON (`GET /v1/report`).
    #[arg(
        long,
        env = "PRONTO_REPORTING_HTTP_ADDR",
        default_value = "127.0.0.1:8081"
    )]
    reporting_http_addr: SocketAddr,
    /// Address for gRPC (`pronto.v1.ReportingService`).
    #[arg(
        long,
        env = "PRONTO_REPORTING_GRPC_ADDR",
        default_value = "127.0.0.1:50052"
    )]
    reporting_grpc_addr: SocketAddr,
    /// Who works each queue and agent, for reports by outsourcer (TOML; see docs/api.md).
    #[arg(long, env = "PRONTO_OUTSOURCERS")]
    outsourcers: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
struct UpArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    ingest: IngestArgs,
    #[command(flatten)]
    sla: SlaArgs,
    #[command(flatten)]
    sentiment: ModelArgs,
    #[command(flatten)]
    escalation: EscalationArgs,
    #[command(flatten)]
    reporting: ReportingArgs,
}

#[derive(Debug, Args)]
struct ReportArgs {
    /// Base URL of the reporting service's HTTP face.
    #[arg(
        long,
        env = "PRONTO_REPORTING_URL",
        default_value = "http://127.0.0.1:8081"
    )]
    url: String,
    /// Dimensions to group by, comma-separated: channel, queue, agent, tier, outsourcer,
    /// bucket, tenant.
    #[arg(long, default_value = "channel")]
    group_by: String,
    /// Time bucket when grouping by bucket: hour, day or week.
    #[arg(long, default_value = "day")]
    bucket: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// First wait, at most this long (e.g. "90s"), until the pipeline has settled: every
    /// customer message and human reply tagged, and no new fact for 5 seconds.
    #[arg(long, value_parser = humantime::parse_duration)]
    wait_settled: Option<Duration>,
}

/// Polls the report until every customer message and human reply carries a sentiment tag and
/// the number of
/// facts has not moved for five seconds, showing progress on stderr.
async fn wait_settled(url: &str, limit: Duration) -> anyhow::Result<()> {
    let url = format!("{}/v1/report", url.trim_end_matches('/'));
    let started = std::time::Instant::now();
    let (mut last, mut still) = (u64::MAX, 0);
    loop {
        let v: serde_json::Value = reqwest::get(&url)
            .await
            .with_context(|| format!("GET {url}"))?
            .json()
            .await?;
        let t = &v["total"];
        let n = |k: &str| t[k].as_u64().unwrap_or(0);
        let facts = v["facts_seen"].as_u64().unwrap_or(0);
        let tagged = n("sentiment_positive") + n("sentiment_neutral") + n("sentiment_negative");
        eprint!(
            "\rsettling: {facts} facts, {tagged}/{} messages and {}/{} replies tagged, {} verdicts   ",
            n("customer_messages"),
            n("tagged_replies"),
            n("human_replies"),
            n("sla_met") + n("sla_breached")
        );
        still = if facts == last { still + 1 } else { 0 };
        last = facts;
        let all_tagged =
            tagged == n("customer_messages") && n("tagged_replies") == n("human_replies");
        if still >= 5 && all_tagged && facts > 0 {
            eprintln!();
            return Ok(());
        }
        if started.elapsed() > limit {
            eprintln!();
            anyhow::bail!(
                "the pipeline did not settle within {}",
                humantime::format_duration(limit)
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

impl IngestArgs {
    fn settings(&self) -> pronto_ingest_service::IngestSettings {
        pronto_ingest_service::IngestSettings {
            http_addr: self.ingest_http_addr,
            grpc_addr: self.ingest_grpc_addr,
        }
    }
}

impl EscalationArgs {
    fn settings(&self) -> Result<pronto_escalation_service::EscalationSettings, String> {
        Ok(pronto_escalation_service::EscalationSettings {
            grpc_addr: self.escalation_grpc_addr,
            webhook: self.webhook.clone(),
            webhook_secret: self.webhook_secret.clone(),
            rules: load_escalation_rules(self.escalation_rules.as_deref())?,
            rules_file: self
                .escalation_rules
                .as_ref()
                .map(|p| p.display().to_string()),
            grace: self.escalation_grace,
        })
    }
}

fn load_escalation_rules(
    path: Option<&std::path::Path>,
) -> Result<pronto_escalation::RuleSet, String> {
    match path {
        None => Ok(pronto_escalation::RuleSet::builtin()),
        Some(p) => pronto_escalation::RuleSet::load(p).map_err(|e| e.to_string()),
    }
}

impl ReportingArgs {
    fn settings(&self) -> Result<pronto_reporting_service::ReportingSettings, String> {
        Ok(pronto_reporting_service::ReportingSettings {
            http_addr: self.reporting_http_addr,
            grpc_addr: self.reporting_grpc_addr,
            outsourcers: load_outsourcers(self.outsourcers.as_deref())?,
        })
    }
}

/// Reads an outsourcers file; none when no file is given.
pub(crate) fn load_outsourcers(
    path: Option<&std::path::Path>,
) -> Result<pronto_reporting::Outsourcers, String> {
    let Some(path) = path else {
        return Ok(pronto_reporting::Outsourcers::default());
    };
    std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| pronto_reporting::Outsourcers::from_toml(&text))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The loaded configuration, or `None` after printing the one-line reason it was refused.
fn config<T>(command: &str, what: &str, loaded: Result<T, String>) -> Option<T> {
    loaded
        .map_err(|e| eprintln!("pronto {command}: invalid {what}: {e}"))
        .ok()
}

/// Exit code for an invalid configuration (sysexits EX_CONFIG is 78; EX_USAGE 64).
const EXIT_CONFIG: u8 = 64;

fn load_policy(path: Option<&std::path::Path>) -> Result<Arc<Policy>, String> {
    match path {
        None => Ok(Arc::new(Policy::builtin())),
        Some(p) => Policy::load(p).map(Arc::new).map_err(|e| e.to_string()),
    }
}

struct Runtime {
    health: Health,
    metrics: Metrics,
    shutdown: CancellationToken,
}

async fn with_admin(
    common: &Common,
    default_admin: &str,
    components: &[&'static str],
) -> anyhow::Result<Runtime> {
    let rt = Runtime {
        health: Health::expecting(components),
        metrics: Metrics::default(),
        shutdown: shutdown_token(),
    };
    let addr = common
        .admin_addr
        .unwrap_or_else(|| default_admin.parse().expect("valid default"));
    tokio::spawn(serve_admin(
        addr,
        rt.health.clone(),
        rt.metrics.clone(),
        rt.shutdown.clone(),
    ));
    {
        let topics = common.kafka.topics();
        pronto_kafka::ensure_topics(
            common.kafka.connection(),
            &topics.all(),
            common.kafka.partitions,
            Duration::from_secs(60),
        )
        .await
        .with_context(|| format!("creating topics on {}", common.kafka.brokers))?;
    }
    Ok(rt)
}

/// A correction window as the engine takes it: none for zero.
pub(crate) fn window(d: Duration) -> Option<Duration> {
    (!d.is_zero()).then_some(d)
}

fn sla_settings(a: &SlaArgs) -> Result<pronto_sla_service::SlaSettings, String> {
    Ok(pronto_sla_service::SlaSettings {
        policy: load_policy(a.policy.as_deref())?,
        policy_file: a.policy.clone(),
        allowed_lateness: a.allowed_lateness,
        idle_advance: a.idle_advance,
        correction_window: window(a.correction_window),
        transactions: a.transactions,
    })
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Ingest(a) => {
            let _t = init_telemetry("pronto-ingest", a.common.log_json);
            let rt = with_admin(&a.common, "127.0.0.1:9101", &["ingest"]).await?;
            let s = a.service.settings();
            pronto_ingest_service::run(a.common.kafka, s, rt.health, rt.metrics, rt.shutdown)
                .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sentiment(SentimentCmd {
            action: Some(sentiment::SentimentAction::ModelServer(a)),
            ..
        }) => model_server(a).await,
        Command::Sentiment(SentimentCmd {
            action: Some(sentiment::SentimentAction::Rescore(a)),
            ..
        }) => rescore(a).await,
        Command::Sentiment(SentimentCmd {
            action: Some(sentiment::SentimentAction::Eval(a)),
            ..
        }) => Ok(sentiment::eval(a)),
        Command::Sentiment(SentimentCmd {
            action: Some(sentiment::SentimentAction::Train(a)),
            ..
        }) => Ok(sentiment::train(a)),
        Command::Sentiment(SentimentCmd { service: a, .. }) => {
            let _t = init_telemetry("pronto-sentiment", a.common.log_json);
            let Some(tagger) = config("sentiment", "model", a.service.tagger()) else {
                return Ok(ExitCode::from(EXIT_CONFIG));
            };
            let rt = with_admin(&a.common, "127.0.0.1:9102", &["sentiment"]).await?;
            pronto_sentiment_service::run(
                a.common.kafka,
                tagger,
                rt.health,
                rt.metrics,
                rt.shutdown,
            )
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sla(SlaCmd {
            action: Some(SlaAction::Explain(a)),
            ..
        }) => explain::run(&a.kafka, &a.conversation, a.at, explain::Show::Timeline).await,
        Command::Audit(a) => {
            explain::run(&a.kafka, &a.conversation, Some(a.at), explain::Show::AsOf).await
        }
        Command::Sla(SlaCmd { service: a, .. }) => {
            let _t = init_telemetry("pronto-sla", a.common.log_json);
            let Some(settings) = config("sla", "policy", sla_settings(&a.service)) else {
                return Ok(ExitCode::from(EXIT_CONFIG));
            };
            let rt = with_admin(&a.common, "127.0.0.1:9103", &["sla"]).await?;
            pronto_sla_service::run(a.common.kafka, settings, rt.health, rt.metrics, rt.shutdown)
                .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Escalation(EscalationCmd {
            action: Some(EscalationAction::Redeliver(a)),
            ..
        }) => redeliver(a).await,
        Command::Escalation(EscalationCmd { service: a, .. }) => {
            let _t = init_telemetry("pronto-escalation", a.common.log_json);
            let Some(s) = config("escalation", "escalation rules", a.service.settings()) else {
                return Ok(ExitCode::from(EXIT_CONFIG));
            };
            let rt = with_admin(&a.common, "127.0.0.1:9104", &["escalation"]).await?;
            pronto_escalation_service::run(a.common.kafka, s, rt.health, rt.metrics, rt.shutdown)
                .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Reporting(a) => {
            let _t = init_telemetry("pronto-reporting", a.common.log_json);
            let Some(s) = config("reporting", "outsourcers", a.service.settings()) else {
                return Ok(ExitCode::from(EXIT_CONFIG));
            };
            let rt = with_admin(&a.common, "127.0.0.1:9105", &["reporting"]).await?;
            pronto_reporting_service::run(a.common.kafka, s, rt.health, rt.metrics, rt.shutdown)
                .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Up(a) => up(a).await,
        Command::Simulate(a) => simulate::run(a).await,
        Command::CheckPolicy(a) => Ok(check_policy(a)),
        Command::Replay(a) => replay::run(a).await,
        Command::Export(a) => export::run(a).await,
        Command::Import(a) => import::run(a).await,
        Command::Report(a) => report(a).await,
    }
}

/// `pronto sentiment model-server`: the service's own model behind the `SentimentModel`
/// gRPC interface.
async fn model_server(a: sentiment::ModelServerArgs) -> anyhow::Result<ExitCode> {
    let _t = init_telemetry("pronto-sentiment-model", a.log_json);
    let Some(tagger) = config("sentiment model-server", "model", a.model.tagger()) else {
        return Ok(ExitCode::from(EXIT_CONFIG));
    };
    let listener = tokio::net::TcpListener::bind(a.grpc_addr)
        .await
        .with_context(|| format!("binding {}", a.grpc_addr))?;
    let m = tagger.local();
    tracing::info!(
        model = m.name(),
        version = m.version(),
        "serving pronto.v1.SentimentModel"
    );
    let shutdown = pronto_runtime::shutdown_token();
    pronto_sentiment_service::serve_model(
        listener,
        tagger,
        pronto_runtime::Metrics::default(),
        shutdown,
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// `pronto sentiment rescore`: a period's history scored again, with progress.
async fn rescore(a: sentiment::RescoreArgs) -> anyhow::Result<ExitCode> {
    let Some(tagger) = config("sentiment rescore", "model", a.model.tagger()) else {
        return Ok(ExitCode::from(EXIT_CONFIG));
    };
    if a.period.refused("pronto sentiment rescore") {
        return Ok(ExitCode::from(2));
    }
    let m = tagger.local();
    eprintln!(
        "re-scoring {} with {} {}{}",
        a.kafka.events_topic,
        m.name(),
        m.version(),
        tagger
            .external()
            .map(|x| format!(" (external model {} first)", x.url()))
            .unwrap_or_default()
    );
    let started = std::time::Instant::now();
    let summary = pronto_sentiment_service::rescore(
        &a.kafka,
        &tagger,
        a.period.from,
        a.period.to,
        |done, total| eprint!("\rrescoring: {done}/{total} records"),
    )
    .await?;
    eprintln!();
    println!(
        "re-scored {} records in {:.1} s: {} tags published to {}, {} fallbacks to the local model, {} records not events",
        summary.records,
        started.elapsed().as_secs_f64(),
        summary.tags,
        a.kafka.sentiment_topic,
        summary.fallbacks,
        summary.undecodable
    );
    Ok(ExitCode::SUCCESS)
}

/// `pronto escalation redeliver`: the webhook deliveries parked after their last try, posted
/// again.
async fn redeliver(a: RedeliverArgs) -> anyhow::Result<ExitCode> {
    let hook = pronto_escalation_service::webhook::Webhook::new(
        a.webhook.clone(),
        a.webhook_secret.clone(),
    )?;
    let done = pronto_escalation_service::webhook::redeliver(
        a.kafka.connection(),
        &a.kafka.dead_letter_topic,
        &hook,
        |done, total| {
            eprint!(
                "\rreading {}: {done}/{total} records",
                a.kafka.dead_letter_topic
            )
        },
    )
    .await?;
    eprintln!();
    println!(
        "{} parked deliveries: {} delivered to {}, {} failed again",
        done.parked, done.delivered, a.webhook, done.failed
    );
    if done.failed > 0 {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// `pronto up`: the five services in one process; when one fails, the others stop.
async fn up(a: UpArgs) -> anyhow::Result<ExitCode> {
    let _t = init_telemetry("pronto", a.common.log_json);
    let Some(settings) = config("up", "policy", sla_settings(&a.sla)) else {
        return Ok(ExitCode::from(EXIT_CONFIG));
    };
    let Some(tagger) = config("up", "model", a.sentiment.tagger()) else {
        return Ok(ExitCode::from(EXIT_CONFIG));
    };
    let Some(escalation) = config("up", "escalation rules", a.escalation.settings()) else {
        return Ok(ExitCode::from(EXIT_CONFIG));
    };
    let Some(reporting) = config("up", "outsourcers", a.reporting.settings()) else {
        return Ok(ExitCode::from(EXIT_CONFIG));
    };
    let rt = with_admin(
        &a.common,
        "127.0.0.1:9100",
        &["ingest", "sentiment", "sla", "escalation", "reporting"],
    )
    .await?;
    let k = a.common.kafka.clone();
    let (h, m, s) = (rt.health.clone(), rt.metrics.clone(), rt.shutdown.clone());
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(pronto_ingest_service::run(
        k.clone(),
        a.ingest.settings(),
        h.clone(),
        m.clone(),
        s.clone(),
    ));
    tasks.spawn(pronto_sentiment_service::run(
        k.clone(),
        tagger,
        h.clone(),
        m.clone(),
        s.clone(),
    ));
    tasks.spawn(pronto_sla_service::run(
        k.clone(),
        settings,
        h.clone(),
        m.clone(),
        s.clone(),
    ));
    tasks.spawn(pronto_escalation_service::run(
        k.clone(),
        escalation,
        h.clone(),
        m.clone(),
        s.clone(),
    ));
    tasks.spawn(pronto_reporting_service::run(k, reporting, h, m, s.clone()));
    let mut failed = None;
    while let Some(r) = tasks.join_next().await {
        let r = r.map_err(anyhow::Error::from).and_then(|r| r);
        if let Err(e) = r {
            tracing::error!(error = %e, "a service failed; stopping the others");
            s.cancel();
            failed.get_or_insert(e);
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(ExitCode::SUCCESS)
}

/// `pronto check-policy`: an SLA policy or an escalation rules file, checked.
fn check_policy(a: CheckPolicyArgs) -> ExitCode {
    let checked = match &a.escalation_rules {
        Some(file) => load_escalation_rules(Some(file)).map(|r| {
            format!(
                "{}: valid; {} rules, {} levels in all",
                r.version,
                r.rules.len(),
                r.rules.iter().map(|r| r.levels.len()).sum::<usize>()
            )
        }),
        None => load_policy(a.file.as_deref()).map(|p| {
            format!(
                "{}: valid; {} channel targets, {} rules, warnings at {:?}; takes over {}",
                p.version,
                p.targets.len(),
                p.rules.len(),
                p.warn_at,
                p.effective_from
                    .map_or("5 s after it is published".to_string(), |t| {
                        format!("at {t}")
                    })
            )
        }),
    };
    match checked {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pronto check-policy: {e}");
            ExitCode::from(EXIT_CONFIG)
        }
    }
}

/// `pronto report`: the reporting service's report, printed.
async fn report(a: ReportArgs) -> anyhow::Result<ExitCode> {
    if let Some(limit) = a.wait_settled {
        wait_settled(&a.url, limit).await?;
    }
    let format = if a.json { "json" } else { "text" };
    let url = format!(
        "{}/v1/report?group_by={}&bucket={}&format={format}",
        a.url.trim_end_matches('/'),
        a.group_by,
        a.bucket
    );
    let resp = reqwest::get(&url)
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = resp.status();
    let body = resp.text().await?;
    if !status.is_success() {
        eprintln!("pronto report: {status}: {body}");
        return Ok(ExitCode::from(2));
    }
    print!("{body}");
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pronto: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pronto: {e:#}");
            ExitCode::FAILURE
        }
    }
}
