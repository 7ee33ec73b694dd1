//! `pronto sla explain` and `pronto audit`: one conversation's clocks, from the topics.

use clap::Args;
use pronto_kafka::KafkaArgs;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    #[command(flatten)]
    pub(crate) kafka: KafkaArgs,
    /// The conversation, as TENANT/CONVERSATION_ID.
    #[arg(long)]
    pub(crate) conversation: String,
    /// The instant (RFC 3339).
    #[arg(long, value_parser = crate::period::parse_time)]
    pub(crate) at: i64,
}

/// What to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Show {
    /// Every event and verdict, with the clock after each.
    Timeline,
    /// The clocks as they stood at the instant, and the verdicts until then.
    AsOf,
}

pub(crate) async fn run(
    kafka: &KafkaArgs,
    conversation: &str,
    at: Option<i64>,
    show: Show,
) -> anyhow::Result<ExitCode> {
    let command = match show {
        Show::Timeline => "pronto sla explain",
        Show::AsOf => "pronto audit",
    };
    let Some((tenant, id)) = conversation.split_once('/') else {
        eprintln!("{command}: '{conversation}' is not TENANT/CONVERSATION_ID");
        return Ok(ExitCode::from(2));
    };
    for (what, part) in [("tenant", tenant), ("conversation id", id)] {
        if let Err(e) = pronto_domain::Id::parse(part) {
            eprintln!("{command}: the {what} {e}");
            return Ok(ExitCode::from(2));
        }
    }
    let (_log, mut versions) = pronto_sla_service::policies::PolicyLog::open(
        kafka.connection(),
        &kafka.policies_topic,
        None,
    )
    .await?;
    if versions.is_empty() {
        eprintln!(
            "no policy version on {}; explaining under the built-in policy",
            kafka.policies_topic
        );
        versions =
            pronto_sla::PolicyVersions::single(std::sync::Arc::new(pronto_sla::Policy::builtin()));
    }
    let (events, undecodable) =
        pronto_sla_service::explain::conversation_events(kafka, conversation, |done, total| {
            eprint!("\rreading {}: {done}/{total} records", kafka.events_topic)
        })
        .await?;
    eprintln!();
    if events.is_empty() {
        eprintln!(
            "{command}: no events of {conversation} on {}",
            kafka.events_topic
        );
        return Ok(ExitCode::from(1));
    }
    if undecodable > 0 {
        eprintln!(
            "{undecodable} records of this conversation are not events (see the dead-letter topic)"
        );
    }
    let until = at.map_or_else(pronto_runtime::wall_clock, pronto_domain::EventTime);
    let x = pronto_sla::explain(&versions, conversation, &events, until);
    match show {
        Show::Timeline => print!("{x}"),
        Show::AsOf => print!("{}", x.as_of()),
    }
    Ok(ExitCode::SUCCESS)
}
