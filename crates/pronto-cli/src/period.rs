//! The period flags of the commands that go through history.

use clap::Args;

/// A range of publication times; offsets are found by the records' timestamps.
#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct Period {
    /// First publication time to include (RFC 3339); the beginning of the topic when absent.
    #[arg(long, value_parser = parse_time)]
    pub(crate) from: Option<i64>,
    /// Publication time to stop before (RFC 3339); the end of the topic now when absent.
    #[arg(long, value_parser = parse_time)]
    pub(crate) to: Option<i64>,
}

impl Period {
    /// Whether the period is empty by construction (`--from` not before `--to`); says so.
    pub(crate) fn refused(&self, command: &str) -> bool {
        let bad = matches!((self.from, self.to), (Some(f), Some(t)) if f >= t);
        if bad {
            eprintln!("{command}: --from must be before --to");
        }
        bad
    }
}

impl Period {
    /// A reader of the events topic over this period.
    pub(crate) async fn events(
        &self,
        kafka: &pronto_kafka::KafkaArgs,
    ) -> pronto_kafka::Result<pronto_kafka::RangeReader> {
        pronto_kafka::RangeReader::open(kafka.connection(), &kafka.events_topic, self.from, self.to)
            .await
    }
}

pub(crate) fn parse_time(s: &str) -> Result<i64, String> {
    pronto_domain::EventTime::parse_rfc3339(s)
        .map(|t| t.millis())
        .map_err(|e| e.to_string())
}
