//! `pronto replay`: every derived fact of a period recomputed from the topics, with the
//! report and a digest.

use clap::Args;
use pronto_kafka::RangeReader;
use pronto_kafka::rdkafka::message::Message;
use pronto_reporting::{Dimension, Query};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    #[command(flatten)]
    kafka: pronto_kafka::KafkaArgs,
    /// First publication time to include (RFC 3339); the beginning of the events topic when
    /// absent. Offsets are found by timestamp.
    #[arg(long, value_parser = crate::sentiment::parse_time)]
    from: Option<i64>,
    /// Publication time to stop before (RFC 3339); the end of the topic now when absent.
    #[arg(long, value_parser = crate::sentiment::parse_time)]
    to: Option<i64>,
    /// As the SLA service's setting of the same name.
    #[arg(long, default_value = "500ms", value_parser = humantime::parse_duration)]
    allowed_lateness: Duration,
    /// Sentiment model file for the tags; the built-in lexicon when not given.
    #[arg(long)]
    sentiment_model: Option<std::path::PathBuf>,
    /// Dimensions of the printed report, comma-separated: channel, queue, agent, bucket,
    /// tenant.
    #[arg(long, default_value = "channel")]
    group_by: String,
}

pub(crate) async fn run(a: ReplayArgs) -> anyhow::Result<ExitCode> {
    if let (Some(from), Some(to)) = (a.from, a.to)
        && from >= to
    {
        eprintln!("pronto replay: --from must be before --to");
        return Ok(ExitCode::from(2));
    }
    let mut query = Query::default();
    for d in a.group_by.split(',').filter(|d| !d.is_empty()) {
        let Some(dim) = Dimension::parse(d.trim()) else {
            eprintln!(
                "pronto replay: --group-by: unknown dimension '{d}'; expected channel, queue, agent, bucket or tenant"
            );
            return Ok(ExitCode::from(2));
        };
        query.group_by.push(dim);
    }
    let sentiment = match pronto_sentiment_service::open_model(a.sentiment_model.as_deref()) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("pronto replay: {e}");
            return Ok(ExitCode::from(crate::EXIT_CONFIG));
        }
    };

    // The policy versions in force, as every SLA replica reads them.
    let mut versions = pronto_sla::PolicyVersions::empty();
    let mut policies =
        RangeReader::open(&a.kafka.brokers, &a.kafka.policies_topic, None, None).await?;
    while let Some(m) = policies.next().await? {
        match pronto_sla_service::policies::decode(m.payload().unwrap_or_default()) {
            Ok((from, p)) => {
                versions.add(from, p);
            }
            Err(e) => eprintln!("skipping a policy record at offset {}: {e}", m.offset()),
        }
    }
    if versions.is_empty() {
        eprintln!(
            "no policy version on {}; replaying under the built-in policy",
            a.kafka.policies_topic
        );
        versions = pronto_sla::PolicyVersions::single(Arc::new(pronto_sla::Policy::builtin()));
    }

    let mut range =
        RangeReader::open(&a.kafka.brokers, &a.kafka.events_topic, a.from, a.to).await?;
    let total = range.total();
    let mut events = Vec::with_capacity(total as usize);
    let mut undecodable = 0u64;
    eprint!("\rreading {}: 0/{total} records", a.kafka.events_topic);
    while let Some(m) = range.next().await? {
        match pronto_proto::decode_event(m.payload().unwrap_or_default()) {
            Ok(e) => events.push((m.partition(), e)),
            Err(_) => undecodable += 1,
        }
        if range.read().is_multiple_of(10_000) || range.read() == total {
            eprint!(
                "\rreading {}: {}/{total} records",
                a.kafka.events_topic,
                range.read()
            );
        }
    }
    eprintln!();
    let started = std::time::Instant::now();
    let replayed = pronto_replay::replay(
        events,
        &pronto_replay::Settings {
            policies: &versions,
            allowed_lateness_ms: a.allowed_lateness.as_millis() as i64,
            sentiment: sentiment.as_ref(),
            until: None,
        },
    );
    print!("{}", replayed.report(&query).to_table());
    println!(
        "replayed {} events ({} records not events) in {:.1} s: {} SLA facts, {} sentiment tags, {} escalations",
        replayed.events,
        undecodable,
        started.elapsed().as_secs_f64(),
        replayed.sla.len(),
        replayed.tags.len(),
        replayed.escalations.len()
    );
    println!("digest: {}", replayed.digest());
    Ok(ExitCode::SUCCESS)
}
