//! `pronto replay`: every derived fact of a period recomputed from the topics, with the
//! report and a digest.

use clap::Args;
use pronto_kafka::rdkafka::message::Message;
use pronto_reporting::{Dimension, Query};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    #[command(flatten)]
    kafka: pronto_kafka::KafkaArgs,
    #[command(flatten)]
    period: crate::period::Period,
    /// As the SLA service's setting of the same name.
    #[arg(long, default_value = "500ms", value_parser = humantime::parse_duration)]
    allowed_lateness: Duration,
    /// As the SLA service's setting of the same name.
    #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
    correction_window: Duration,
    /// Sentiment model file for the tags; the built-in lexicon when not given.
    #[arg(long)]
    sentiment_model: Option<std::path::PathBuf>,
    /// Dimensions of the printed report, comma-separated: channel, queue, agent, tier,
    /// outsourcer, bucket, tenant.
    #[arg(long, default_value = "channel")]
    group_by: String,
    /// Who works each queue and agent, for --group-by outsourcer (as the reporting service's
    /// setting of the same name).
    #[arg(long)]
    outsourcers: Option<std::path::PathBuf>,
    /// What-if: also compute the period under this candidate SLA policy file (for the whole
    /// period) and show its compliance beside what really applied, per channel, queue and
    /// agent.
    #[arg(long)]
    policy: Option<std::path::PathBuf>,
    /// Print the report, counts and digest as one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Replay a file written by `pronto export` instead of the topics: no broker needed.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    input: Option<std::path::PathBuf>,
    /// Event time (RFC 3339) to carry the replay to at the end, so warnings, breaches and
    /// escalation levels due before it are derived; the last event's time plus the allowed
    /// lateness when absent.
    #[arg(long, value_parser = crate::period::parse_time)]
    until: Option<i64>,
    /// Only read and decode the range, derive nothing, and say how long it took: the speed of
    /// plain consumption from the broker, to compare a replay's with.
    #[arg(long, conflicts_with_all = ["check_live", "policy"])]
    read_only: bool,
    /// Also read what the live services published (the SLA, sentiment and escalation topics,
    /// up to the replay's end) and compare it with the replay: the digests, and every fact
    /// only one side has or the two sides tell differently. Exit 1 when they differ. Reads
    /// whole topics, so not with --from, --to or --input.
    #[arg(long, conflicts_with_all = ["from", "to", "input"])]
    check_live: bool,
}

/// The facts the live services published on the derived topics, those before `end`, with
/// progress on stderr; and how many records could not be decoded (counted, not compared).
async fn live_facts(
    kafka: &pronto_kafka::KafkaArgs,
    end: pronto_domain::EventTime,
) -> anyhow::Result<(pronto_replay::Entries, u64)> {
    use pronto_domain::{EscalationRecord, Record};
    use pronto_proto::Topic;
    let topics = kafka.topics();
    let (mut sla, mut tags, mut escalations) = (Vec::new(), Vec::new(), Vec::new());
    let mut undecodable = 0u64;
    for topic in [Topic::Sla, Topic::Sentiment, Topic::Escalations] {
        let name = topics.name(topic);
        let mut range =
            pronto_kafka::RangeReader::open(kafka.connection(), name, None, None).await?;
        let before = undecodable;
        show_reading(name, &range);
        while let Some(m) = range.next().await? {
            let Ok(record) = pronto_proto::decode(topic, m.payload().unwrap_or_default()) else {
                undecodable += 1;
                show_reading(name, &range);
                continue;
            };
            // Acknowledgements, resolutions and rules versions share the escalation topic:
            // inputs of the escalation rules, not facts derived.
            if record.at().is_some_and(|at| at < end) {
                match record {
                    Record::Sla(f) => sla.push(f),
                    Record::Tag(t) => tags.push(t),
                    Record::Escalation(EscalationRecord::Fact(f)) => escalations.push(f),
                    _ => {}
                }
            }
            show_reading(name, &range);
        }
        eprintln!(" ({} undecodable)", undecodable - before);
    }
    Ok((
        pronto_replay::entries(&sla, &tags, &escalations),
        undecodable,
    ))
}

impl ReplayArgs {
    /// The export file read, as messages name it.
    fn input_name(&self) -> String {
        self.input
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }
}

/// Reads the range and derives from it at once: the derivation runs on a thread of its own as
/// the records come, so a replay takes about as long as the slower of the two, not their sum.
/// Returns the replay, how many records were not events, and when the reading was done.
async fn replay_while_reading(
    a: &ReplayArgs,
    settings: &pronto_replay::Settings<'_>,
) -> anyhow::Result<(pronto_replay::Replay, u64, f64)> {
    let started = std::time::Instant::now();
    tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::channel();
            let deriving = scope.spawn(move || pronto_replay::replay(rx, settings));
            // The deriving thread ends when the sender is dropped, at the end of the reading.
            let read = tokio::runtime::Handle::current().block_on(read_range(a, move |p, e| {
                tx.send((p, e))
                    .expect("the replay runs until the reading ends");
            }));
            let read_seconds = started.elapsed().as_secs_f64();
            let replayed = deriving.join().expect("the replay does not panic");
            read.map(|undecodable| (replayed, undecodable, read_seconds))
        })
    })
}

/// How far the reading of `topic` has come, on stderr (`reading TOPIC: n/total records`, on
/// one line each report rewrites): at the start, every 10,000 records and at the last.
fn show_reading(topic: &str, range: &pronto_kafka::RangeReader) {
    let (read, total) = (range.read(), range.total());
    if read.is_multiple_of(10_000) || read == total {
        eprint!("\rreading {topic}: {read}/{total} records");
    }
}

/// The events of the range, each with its partition, and how many records were not events.
async fn read_events(a: &ReplayArgs) -> anyhow::Result<(Vec<(i32, pronto_domain::Event)>, u64)> {
    let mut events = Vec::new();
    let undecodable = read_range(a, |partition, e| events.push((partition, e))).await?;
    Ok((events, undecodable))
}

/// Reads the range's records in log order, with progress, handing each event to `each` with
/// its partition; returns how many records were not events.
async fn read_range(
    a: &ReplayArgs,
    mut each: impl FnMut(i32, pronto_domain::Event),
) -> anyhow::Result<u64> {
    let mut range = a.period.events(&a.kafka).await?;
    let topic = &a.kafka.events_topic;
    let mut undecodable = 0u64;
    show_reading(topic, &range);
    while let Some(m) = range.next().await? {
        match pronto_proto::events::decode(m.payload().unwrap_or_default()) {
            Ok(e) => each(m.partition(), e),
            Err(_) => undecodable += 1,
        }
        show_reading(topic, &range);
    }
    eprintln!();
    Ok(undecodable)
}

pub(crate) async fn run(a: ReplayArgs) -> anyhow::Result<ExitCode> {
    if a.period.refused("pronto replay") {
        return Ok(ExitCode::from(2));
    }
    let Options {
        query,
        candidate,
        outsourcers,
        sentiment,
    } = match Options::of(&a) {
        Ok(o) => o,
        Err((code, message)) => {
            eprintln!("pronto replay: {message}");
            return Ok(code);
        }
    };

    let reading = std::time::Instant::now();
    let (versions, escalation, file) = match &a.input {
        Some(path) => match crate::export::open(path) {
            Ok((versions, escalation, events)) => {
                let events =
                    events.with_progress(crate::export::progress_on_stderr(a.input_name()));
                (versions, escalation, Some(events))
            }
            Err(e) => {
                eprintln!("pronto replay: {e}");
                return Ok(ExitCode::from(65));
            }
        },
        None => {
            let versions = crate::export::policy_versions(&a.kafka).await?;
            let escalation = crate::export::escalation_inputs(&a.kafka).await?;
            (versions, escalation, None)
        }
    };
    let versions = if versions.is_empty() {
        eprintln!("no policy version recorded; replaying under the built-in policy");
        pronto_sla::PolicyVersions::single(Arc::new(pronto_sla::Policy::builtin()))
    } else {
        versions
    };
    let lateness = a.allowed_lateness.as_millis() as i64;
    let until = a.until.map(pronto_domain::EventTime);
    let window = crate::window(a.correction_window).map(|w| w.as_millis() as i64);
    let settings = pronto_replay::Settings {
        policies: &versions,
        allowed_lateness_ms: lateness,
        correction_window_ms: window,
        sentiment: sentiment.as_ref(),
        until,
        escalation: &escalation,
        expected_events: file.as_ref().and_then(|f| f.announced()),
        keep_encodings: false,
    };
    // A whole file's events, its refusal printed (exit 65) when it is not whole.
    let whole = |mut file: crate::export::Events| {
        let events: Vec<(i32, pronto_domain::Event)> = (&mut file).collect();
        match file.finish() {
            Ok(n) => {
                eprintln!("read {n} events from {}", a.input_name());
                Ok(events)
            }
            Err(e) => {
                eprintln!("pronto replay: {e}");
                Err(ExitCode::from(65))
            }
        }
    };
    if a.read_only {
        let (events, undecodable) = match file {
            Some(file) => match whole(file) {
                Ok(events) => (events, 0),
                Err(code) => return Ok(code),
            },
            None => read_events(&a).await?,
        };
        let read_seconds = reading.elapsed().as_secs_f64();
        if a.json {
            let v = serde_json::json!({
                "events": events.len(),
                "records_not_events": undecodable,
                "read_seconds": read_seconds,
            });
            println!("{v}");
        } else {
            println!(
                "read {} events ({undecodable} records not events) in {read_seconds:.1} s",
                events.len()
            );
        }
        std::mem::forget(events);
        return Ok(ExitCode::SUCCESS);
    }
    // A what-if replays the events twice, so it keeps them; otherwise a file or a range is
    // derived from as it is read.
    let (events, undecodable, read_seconds, streamed) = match (file, &candidate) {
        (Some(file), Some(_)) => match whole(file) {
            Ok(events) => (events, 0, reading.elapsed().as_secs_f64(), None),
            Err(code) => return Ok(code),
        },
        (Some(mut file), None) => {
            let replayed = pronto_replay::replay(&mut file, &settings);
            let read_seconds = file
                .done_at()
                .map_or(0.0, |t| t.duration_since(reading).as_secs_f64());
            if let Err(e) = file.finish() {
                eprintln!("pronto replay: {e}");
                exit_without_freeing(replayed, None::<()>);
                return Ok(ExitCode::from(65));
            }
            eprintln!("read {} events from {}", replayed.events, a.input_name());
            (Vec::new(), 0, read_seconds, Some(replayed))
        }
        (None, Some(_)) => {
            let (events, undecodable) = read_events(&a).await?;
            (events, undecodable, reading.elapsed().as_secs_f64(), None)
        }
        (None, None) => {
            let (replayed, undecodable, read_seconds) = replay_while_reading(&a, &settings).await?;
            (Vec::new(), undecodable, read_seconds, Some(replayed))
        }
    };
    let what_if = candidate.map(|policy| {
        let single = pronto_sla::PolicyVersions::single(Arc::clone(&policy));
        let settings = pronto_replay::Settings {
            policies: &single,
            expected_events: Some(events.len() as u64),
            ..settings
        };
        let mut candidate = pronto_replay::replay(events.iter().cloned(), &settings);
        candidate.set_outsourcers(outsourcers.clone());
        (policy, candidate)
    });
    let mut replayed = match streamed {
        Some(replayed) => replayed,
        None => {
            let settings = pronto_replay::Settings {
                expected_events: Some(events.len() as u64),
                ..settings
            };
            pronto_replay::replay(events, &settings)
        }
    };
    replayed.set_outsourcers(outsourcers);
    // The report and the digest read the replay each on its own; the report is made while
    // the digest is taken.
    let (digest, report) = std::thread::scope(|s| {
        let report = s.spawn(|| replayed.report(&query));
        let digest = replayed.digest();
        let report = report
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (digest, report)
    });
    let counts = replayed.counts();
    let total_seconds = reading.elapsed().as_secs_f64();
    // The live side, read up to where the replay ended.
    let live = if a.check_live {
        Some(compare_live(&a.kafka, &replayed).await?)
    } else {
        None
    };
    let differs = live.as_ref().is_some_and(|l| l["same"] == false);
    let code = if differs {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    if a.json {
        let v = serde_json::json!({
            "events": replayed.events,
            "records_not_events": undecodable,
            "read_seconds": read_seconds,
            "total_seconds": total_seconds,
            "sla_facts": counts.sla,
            "sentiment_tags": counts.tags,
            "escalations": counts.escalations,
            "digest": digest,
            "report": report,
            "live": live,
        });
        println!("{v}");
        exit_without_freeing(replayed, what_if);
        return Ok(code);
    }
    print!("{}", report.to_table());
    println!(
        "replayed {} events ({} records not events) in {total_seconds:.1} s (the reading done after {read_seconds:.1} s): {} SLA facts, {} sentiment tags, {} escalations",
        replayed.events, undecodable, counts.sla, counts.tags, counts.escalations
    );
    println!("digest: {digest}");
    if let Some(l) = &live {
        print_live(l, differs);
    }
    if let Some((policy, candidate)) = what_if {
        print_what_if(&a, &policy, &replayed, &candidate);
    }
    exit_without_freeing(replayed, None::<()>);
    Ok(code)
}

/// Leaves the replay's millions of small allocations to the operating system, which takes
/// them back at once when the command ends, instead of freeing them one by one (seconds).
/// What `pronto replay` takes from its flags besides where to read: the report's slices, a
/// candidate policy for a what-if, the outsourcers, and the sentiment model.
struct Options {
    query: Query,
    candidate: Option<Arc<pronto_sla::Policy>>,
    outsourcers: pronto_reporting::Outsourcers,
    sentiment: Arc<dyn pronto_sentiment::Model>,
}

impl Options {
    /// The options of `a`, or the exit code and message of the first flag that is wrong.
    fn of(a: &ReplayArgs) -> Result<Self, (ExitCode, String)> {
        let config = |e: String| (ExitCode::from(crate::EXIT_CONFIG), e);
        let mut query = Query::default();
        for d in a.group_by.split(',').filter(|d| !d.is_empty()) {
            let Some(dim) = Dimension::parse(d.trim()) else {
                return Err((
                    ExitCode::from(2),
                    format!(
                        "--group-by: unknown dimension '{d}'; expected {}",
                        Dimension::NAMES
                    ),
                ));
            };
            query.group_by.push(dim);
        }
        let candidate = a
            .policy
            .as_deref()
            .map(pronto_sla::Policy::load)
            .transpose()
            .map_err(|e| config(e.to_string()))?
            .map(Arc::new);
        let outsourcers =
            crate::load_outsourcers(a.outsourcers.as_deref()).map_err(|e| config(e.to_string()))?;
        let sentiment = pronto_sentiment::open_model(a.sentiment_model.as_deref())
            .map_err(|e| config(e.to_string()))?;
        Ok(Self {
            query,
            candidate,
            outsourcers,
            sentiment,
        })
    }
}

/// The replay's facts against those the live services published up to where it ended.
async fn compare_live(
    kafka: &pronto_kafka::KafkaArgs,
    replayed: &pronto_replay::Replay,
) -> anyhow::Result<serde_json::Value> {
    let (live, live_undecodable) = live_facts(kafka, replayed.until).await?;
    let ours = replayed.entries();
    let (only_live, only_replayed, different) = pronto_replay::differences(&live, &ours);
    Ok(serde_json::json!({
        "digest": pronto_replay::digest(&live),
        "facts": live.len(),
        "records_undecodable": live_undecodable,
        "same": only_live.is_empty() && only_replayed.is_empty() && different.is_empty(),
        "only_live": only_live,
        "only_replayed": only_replayed,
        "different": different,
    }))
}

/// The live comparison, as the text output tells it.
fn print_live(l: &serde_json::Value, differs: bool) {
    println!(
        "live:   {} ({} facts published, {} records undecodable){}",
        l["digest"].as_str().unwrap_or_default(),
        l["facts"],
        l["records_undecodable"],
        if differs { "" } else { ": the same" }
    );
    for (key, what) in [
        ("only_live", "published live, not replayed"),
        ("only_replayed", "replayed, not published live"),
        ("different", "told differently"),
    ] {
        let ids = l[key].as_array().cloned().unwrap_or_default();
        if !ids.is_empty() {
            println!("  {} {what}:", ids.len());
            for id in ids.iter().take(20) {
                println!("    {}", id.as_str().unwrap_or_default());
            }
        }
    }
}

/// The what-if against the versions in force, slice by slice.
fn print_what_if(
    a: &ReplayArgs,
    policy: &pronto_sla::Policy,
    replayed: &pronto_replay::Replay,
    candidate: &pronto_replay::Replay,
) {
    println!();
    println!(
        "what-if: {} ({}) against the versions in force",
        a.policy
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        policy.version
    );
    for dim in [Dimension::Channel, Dimension::Queue, Dimension::Agent] {
        println!();
        print!("{}", side_by_side(dim, replayed, candidate));
    }
    println!("candidate digest: {}", candidate.digest());
}

fn exit_without_freeing<T>(replayed: pronto_replay::Replay, what_if: Option<T>) {
    std::mem::forget(replayed);
    std::mem::forget(what_if);
}

/// Reply-target compliance per value of `dim`, as it applied and under the candidate.
fn side_by_side(
    dim: Dimension,
    actual: &pronto_replay::Replay,
    candidate: &pronto_replay::Replay,
) -> String {
    use std::fmt::Write as _;
    let q = Query {
        group_by: vec![dim],
        ..Query::default()
    };
    let (a, c) = (actual.report(&q), candidate.report(&q));
    let mut keys: Vec<String> = a
        .rows
        .iter()
        .chain(&c.rows)
        .map(|r| r.keys[0].clone())
        .collect();
    keys.sort();
    keys.dedup();
    let find = |rows: &[pronto_reporting::Row], k: &str| {
        rows.iter()
            .find(|r| r.keys[0] == k)
            .map_or((0, 0, 0.0), |r| {
                (r.sla_met, r.sla_breached, r.sla_compliance)
            })
    };
    let cell = |(met, breached, compliance): (u64, u64, f64)| {
        if met + breached == 0 {
            "-".to_string()
        } else {
            format!("{:.0}% ({met}/{})", compliance * 100.0, met + breached)
        }
    };
    let mut lines = vec![[
        dim.as_str().to_string(),
        "as applied".to_string(),
        "candidate".to_string(),
        "change".to_string(),
    ]];
    let rows = keys
        .iter()
        .map(|k| (k.clone(), find(&a.rows, k), find(&c.rows, k)))
        .chain(std::iter::once((
            "total".to_string(),
            (
                a.total.sla_met,
                a.total.sla_breached,
                a.total.sla_compliance,
            ),
            (
                c.total.sla_met,
                c.total.sla_breached,
                c.total.sla_compliance,
            ),
        )));
    for (k, x, y) in rows {
        let change = if x.0 + x.1 == 0 || y.0 + y.1 == 0 {
            "-".to_string()
        } else {
            format!("{:+.0} pp", (y.2 - x.2) * 100.0)
        };
        lines.push([k, cell(x), cell(y), change]);
    }
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for l in &lines {
        let _ = writeln!(
            out,
            "{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}",
            l[0],
            l[1],
            l[2],
            l[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
    }
    out
}
