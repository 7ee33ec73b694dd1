//! `pronto import`: history from a file into the events topic, with progress and a summary
//! of the rows refused and why.

use clap::{Args, ValueEnum};
use futures::future::try_join_all;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    /// One event per line, as `POST /v1/events` takes it.
    Jsonl,
    /// The public "Customer Support on Twitter" layout: tweet_id, author_id, inbound,
    /// created_at, text, response_tweet_id, in_response_to_tweet_id.
    Twcs,
    /// CSV in any layout, one row per event, read through the column mapping of --mapping.
    Csv,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    kafka: pronto_kafka::KafkaArgs,
    /// The file to import.
    #[arg(long)]
    file: std::path::PathBuf,
    /// Its layout.
    #[arg(long, value_enum)]
    format: Format,
    /// The column mapping of a CSV file (TOML; see docs/import.md).
    #[arg(long, required_if_eq("format", "csv"))]
    mapping: Option<std::path::PathBuf>,
    /// Tenant of the conversations (twcs, and csv when the mapping names none; JSON Lines
    /// events name their own).
    #[arg(long, default_value = "twcs")]
    tenant: String,
    /// Check the file and print the summary without publishing anything.
    #[arg(long)]
    dry_run: bool,
}

/// Events published per round trip to the broker.
const BATCH: usize = 500;

pub(crate) async fn run(a: ImportArgs) -> anyhow::Result<ExitCode> {
    if pronto_domain::Id::parse(a.tenant.as_str()).is_err() {
        eprintln!("pronto import: --tenant '{}' is not a valid id", a.tenant);
        return Ok(ExitCode::from(2));
    }
    let file = match std::fs::File::open(&a.file) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("pronto import: {}: {e}", a.file.display());
            return Ok(ExitCode::from(2));
        }
    };
    let progress = |rows: usize| {
        if rows.is_multiple_of(1000) {
            eprint!("\rreading {}: {rows} rows", a.file.display());
        }
    };
    let mapping = match (&a.format, &a.mapping) {
        (Format::Csv, Some(path)) => {
            match std::fs::read_to_string(path)
                .map_err(|e| e.to_string())
                .and_then(|text| pronto_import::Mapping::from_toml(&text))
            {
                Ok(m) => Some(m),
                Err(e) => {
                    let e = e.replace('\n', " ");
                    eprintln!("pronto import: {}: {e}", path.display());
                    return Ok(ExitCode::from(2));
                }
            }
        }
        _ => None,
    };
    let import = match (a.format, &mapping) {
        (Format::Jsonl, _) => pronto_import::json_lines(file, progress),
        (Format::Twcs, _) => pronto_import::twcs(file, &a.tenant, progress),
        (Format::Csv, Some(m)) => pronto_import::csv_mapped(file, m, &a.tenant, progress),
        (Format::Csv, None) => {
            eprintln!("pronto import: --format csv needs --mapping FILE");
            return Ok(ExitCode::from(2));
        }
    };
    eprintln!("\rreading {}: {} rows", a.file.display(), import.rows);
    let conversations: std::collections::HashSet<String> = import
        .events
        .iter()
        .map(|e| e.key().as_str().to_string())
        .collect();
    if !a.dry_run && !import.events.is_empty() {
        let topics = a.kafka.topics();
        pronto_kafka::ensure_topics(
            a.kafka.connection(),
            &topics.all(),
            a.kafka.partitions,
            Duration::from_secs(60),
        )
        .await?;
        let publisher = pronto_kafka::Publisher::new(a.kafka.connection())?;
        let total = import.events.len();
        for (i, batch) in import.events.chunks(BATCH).enumerate() {
            try_join_all(batch.iter().map(|e| {
                let bytes = pronto_proto::events::encode(e);
                let publisher = &publisher;
                let topic = &topics.events;
                async move {
                    publisher
                        .publish(topic, e.key().as_str(), &bytes, "pronto.v1.Event")
                        .await
                }
            }))
            .await?;
            eprint!(
                "\rpublishing: {}/{total} events",
                (i * BATCH + batch.len()).min(total)
            );
        }
        eprintln!();
    }
    println!(
        "{} {} events in {} conversations from {} rows; {} rows refused",
        if a.dry_run { "checked" } else { "imported" },
        import.events.len(),
        conversations.len(),
        import.rows,
        import.rejected.len()
    );
    for r in import.rejected.iter().take(20) {
        println!("  row {}: {}", r.row, r.reason);
    }
    if import.rejected.len() > 20 {
        println!("  ... and {} more", import.rejected.len() - 20);
    }
    Ok(ExitCode::SUCCESS)
}
