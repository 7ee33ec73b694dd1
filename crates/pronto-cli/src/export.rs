//! `pronto export`: a period's input events and the policy versions in force, in a
//! self-describing JSON Lines file that `pronto replay --input` replays with no broker.
//!
//! The file: a header line (`{"pronto_export": 1, ...}` with the topic, range and counts),
//! one line per policy version (`{"policy": {...}}`), the escalation rules in force
//! (`{"escalation_rules": {...}}`) and each acknowledgement or resolution of an escalation
//! (`{"escalation_stop": {...}}`), one line per event in log order
//! (`{"partition": p, "event": {...}}`, the event as `POST /v1/events` takes it), and a last
//! line `{"sha256": "<hex>"}` over every byte before it, checked before replaying.

use clap::Args;
use pronto_domain::{EscalationRecord, Event, EventTime, Limits, RawEvent, VersionRecord};
use pronto_kafka::RangeReader;
use pronto_kafka::rdkafka::message::Message;
use pronto_sla::{Policy, PolicyVersions};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::Arc;

const FORMAT: u64 = 1;

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    kafka: pronto_kafka::KafkaArgs,
    #[command(flatten)]
    period: crate::period::Period,
    /// The file to write.
    #[arg(long)]
    out: std::path::PathBuf,
}

/// Reads every policy version on the policies topic.
pub(crate) async fn policy_versions(
    kafka: &pronto_kafka::KafkaArgs,
) -> anyhow::Result<PolicyVersions> {
    let mut versions = PolicyVersions::empty();
    let mut policies =
        RangeReader::open(kafka.connection(), &kafka.policies_topic, None, None).await?;
    while let Some(m) = policies.next().await? {
        let added = pronto_proto::policies::decode(m.payload().unwrap_or_default())
            .map_err(|e| e.to_string())
            .and_then(|r| versions.add_record(&r).map_err(|e| e.to_string()));
        if let Err(e) = added {
            eprintln!("skipping a policy record at offset {}: {e}", m.offset());
        }
    }
    Ok(versions)
}

/// Reads what the escalation service recorded beyond its escalations: the rules version in
/// force (the last recorded) and every acknowledgement and resolution.
pub(crate) async fn escalation_inputs(
    kafka: &pronto_kafka::KafkaArgs,
) -> anyhow::Result<pronto_replay::EscalationInputs> {
    let topic = kafka.topics().escalations;
    let mut inputs = pronto_replay::EscalationInputs::default();
    let mut range = RangeReader::open(kafka.connection(), &topic, None, None).await?;
    while let Some(m) = range.next().await? {
        // Escalations raised and withdrawn are facts a replay derives again; records that do
        // not decode were left out of the live service's board too.
        match pronto_proto::escalations::decode(m.payload().unwrap_or_default()) {
            Ok(EscalationRecord::Handled(h)) => inputs.stops.push((h.escalation_id, h.at)),
            Ok(EscalationRecord::RulesInForce(r)) => match rules_from_record(&r) {
                Ok(rules) => {
                    inputs.rules = rules;
                    inputs.effective_from = r.effective_from;
                }
                Err(e) => eprintln!(
                    "skipping an escalation rules record at offset {}: {e}",
                    m.offset()
                ),
            },
            Ok(EscalationRecord::Fact(_)) | Err(_) => {}
        }
    }
    Ok(inputs)
}

/// A rules version as recorded: its text, under the version it was recorded with.
fn rules_from_record(r: &VersionRecord) -> Result<pronto_escalation::RuleSet, String> {
    let mut rules =
        pronto_escalation::RuleSet::from_toml(&r.file, &r.source).map_err(|e| e.to_string())?;
    rules.version.clone_from(&r.version);
    Ok(rules)
}

pub(crate) async fn run(a: ExportArgs) -> anyhow::Result<ExitCode> {
    if a.period.refused("pronto export") {
        return Ok(ExitCode::from(2));
    }
    let versions = policy_versions(&a.kafka).await?;
    let escalation = escalation_inputs(&a.kafka).await?;
    let mut range = a.period.events(&a.kafka).await?;
    let total = range.total();
    let file = match std::fs::File::create(&a.out) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("pronto export: {}: {e}", a.out.display());
            return Ok(ExitCode::from(2));
        }
    };
    let mut w = Hashing::new(std::io::BufWriter::new(file));
    let time = |t: Option<i64>| t.map(|t| EventTime(t).to_rfc3339());
    w.line(&json!({
        "pronto_export": FORMAT,
        "events_topic": a.kafka.events_topic,
        "published_from": time(a.period.from),
        "published_to": time(a.period.to),
        "events": total,
        "policies": versions.len(),
    }))?;
    write_inputs(&mut w, &versions, &escalation)?;
    let (mut events, mut skipped) = (0u64, 0u64);
    while let Some(m) = range.next().await? {
        match pronto_proto::events::decode(m.payload().unwrap_or_default()) {
            Ok(e) => {
                w.line(&json!({"partition": m.partition(), "event": e.to_json()}))?;
                events += 1;
            }
            Err(_) => skipped += 1,
        }
        if range.read().is_multiple_of(10_000) || range.read() == total {
            eprint!("\rexporting: {}/{total} records", range.read());
        }
    }
    eprintln!();
    let sum = w.finish()?;
    println!(
        "exported {events} events and {} policy versions to {} ({skipped} records not events); sha256 {sum}",
        versions.len(),
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes a complete export file of `events` (no broker involved: `pronto simulate --out`);
/// returns the checksum.
pub(crate) fn write_file(
    path: &std::path::Path,
    versions: &PolicyVersions,
    escalation: &pronto_replay::EscalationInputs,
    events: &[(i32, Event)],
) -> std::io::Result<String> {
    let file = std::fs::File::create(path)?;
    let mut w = Hashing::new(std::io::BufWriter::new(file));
    w.line(&json!({
        "pronto_export": FORMAT,
        "events_topic": null,
        "published_from": null,
        "published_to": null,
        "events": events.len(),
        "policies": versions.len(),
    }))?;
    write_inputs(&mut w, versions, escalation)?;
    for (p, e) in events {
        w.line(&json!({"partition": p, "event": e.to_json()}))?;
    }
    w.finish()
}

/// The policy version and escalation lines of an export.
fn write_inputs<W: Write>(
    w: &mut Hashing<W>,
    versions: &PolicyVersions,
    escalation: &pronto_replay::EscalationInputs,
) -> std::io::Result<()> {
    for (from, p) in versions.iter() {
        w.line(&json!({"policy": {
            "version": p.version,
            "effective_from": from.millis(),
            "source": p.source,
        }}))?;
    }
    w.line(&json!({"escalation_rules": {
        "version": escalation.rules.version,
        "effective_from": escalation.effective_from.map(|t| t.millis()),
        "source": escalation.rules.source,
    }}))?;
    for (id, at) in &escalation.stops {
        w.line(&json!({"escalation_stop": {"escalation_id": id, "at": at.millis()}}))?;
    }
    Ok(())
}

/// Writes lines and keeps the SHA-256 of everything written.
struct Hashing<W: Write> {
    inner: W,
    sha: Sha256,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            sha: Sha256::new(),
        }
    }

    fn line(&mut self, v: &Value) -> std::io::Result<()> {
        let mut bytes = serde_json::to_vec(v).expect("JSON of plain values");
        bytes.push(b'\n');
        self.sha.update(&bytes);
        self.inner.write_all(&bytes)
    }

    fn finish(mut self) -> std::io::Result<String> {
        let sum = hex::encode(self.sha.clone().finalize());
        let mut last = serde_json::to_vec(&json!({ "sha256": sum })).expect("JSON");
        last.push(b'\n');
        self.inner.write_all(&last)?;
        self.inner.flush()?;
        Ok(sum)
    }
}

/// An event line of an export file.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EventLine {
    partition: i32,
    event: RawEvent,
}

/// An event line as `pronto export` writes it, read by the replay's compact reader; `None`
/// for a line written any other way, which serde_json then reads.
fn read_compact_line(line: &str) -> Option<EventLine> {
    let (partition, event) = pronto_replay::compact::read_export_line(line)?;
    Some(EventLine { partition, event })
}

/// Opens an export file: reads its inputs (the policy versions and the escalation lines, which
/// come before the events) and returns them with a reader of its events, which go one at a time
/// so that a replay can derive as they are read.
pub(crate) fn open(
    path: &std::path::Path,
) -> Result<(PolicyVersions, pronto_replay::EscalationInputs, Events), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let size = file.metadata().map_or(0, |m| m.len());
    let mut events = Events {
        path: path.to_path_buf(),
        reader: Some(std::io::BufReader::with_capacity(1 << 20, file)),
        line: String::new(),
        n: 0,
        sha: Sha256::new(),
        first: None,
        inputs_done: false,
        checked: false,
        error: None,
        count: 0,
        announced: None,
        done_at: None,
        progress: Progress {
            size,
            ..Progress::default()
        },
        report: None,
        next_report: 0,
        lenient: Limits {
            earliest: EventTime(i64::MIN),
            max_future_ms: i64::MAX,
            ..Limits::default()
        },
    };
    let mut versions = PolicyVersions::empty();
    let mut escalation = pronto_replay::EscalationInputs::default();
    while let Some(line) = events.next_line()? {
        match line {
            Line::Event(partition, event) => {
                events.first = Some((partition, event));
                break;
            }
            Line::Policy(from, policy) => {
                versions.add(from, policy);
            }
            Line::Rules(rules, from) => {
                escalation.rules = rules;
                escalation.effective_from = from;
            }
            Line::Stop(id, at) => escalation.stops.push((id, at)),
            Line::Header | Line::Checksum => {}
        }
    }
    events.inputs_done = true;
    Ok((versions, escalation, events))
}

/// What one line of an export file holds.
enum Line {
    Header,
    Policy(EventTime, Arc<Policy>),
    Rules(pronto_escalation::RuleSet, Option<EventTime>),
    Stop(String, EventTime),
    Event(i32, Event),
    Checksum,
}

/// The events of an export file, read as they are asked for. An error ends them; `finish`
/// then says what it was, as it says when the file ends without its checksum.
pub(crate) struct Events {
    path: std::path::PathBuf,
    /// Taken out while a line is read (see [`Events::next_line`]).
    reader: Option<std::io::BufReader<std::fs::File>>,
    /// The last line read, its buffer kept for the next.
    line: String,
    /// The number of the last line read.
    n: usize,
    sha: Sha256,
    /// The first event, read while looking for the inputs.
    first: Option<(i32, Event)>,
    inputs_done: bool,
    checked: bool,
    error: Option<String>,
    count: u64,
    /// How many events the header says the file holds.
    announced: Option<u64>,
    done_at: Option<std::time::Instant>,
    /// How far the reading has come, told to `report` at every hundredth of the file.
    progress: Progress,
    report: Option<Reporter>,
    /// Bytes read at which `report` is told next.
    next_report: u64,
    /// The checks an exported event passes: any time, however far from the export.
    lenient: Limits,
}

/// What is told how far the reading of an export file has come.
type Reporter = Box<dyn FnMut(&Progress) + Send>;

/// How far the reading of an export file has come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Progress {
    /// Bytes read, of `size`.
    pub(crate) read: u64,
    pub(crate) size: u64,
    /// Event lines read.
    pub(crate) events: u64,
    /// Whether the reading has ended: at the end of the file, or at an error.
    pub(crate) done: bool,
}

impl Progress {
    /// The hundredths of the file read.
    pub(crate) fn percent(&self) -> u64 {
        match self.size {
            0 => 100,
            size => self.read.min(size) * 100 / size,
        }
    }
}

/// Progress on stderr, as `reading FILE: 45% (196000 events)`, on one line that each report
/// rewrites; ended once the file is read.
pub(crate) fn progress_on_stderr(name: String) -> impl FnMut(&Progress) + Send {
    move |p| {
        eprint!("\rreading {name}: {}% ({} events)", p.percent(), p.events);
        if p.done {
            eprintln!();
        }
    }
}

impl Events {
    /// Tells `report` how far the reading has come as the events are read: at every
    /// hundredth of the file and at its end.
    pub(crate) fn with_progress(mut self, report: impl FnMut(&Progress) + Send + 'static) -> Self {
        self.report = Some(Box::new(report));
        self.tell();
        self
    }

    /// Tells the reporter, if any, how far the reading has come, and when to tell it next.
    fn tell(&mut self) {
        let p = self.progress;
        // The next hundredth of the file, rounded up.
        let hundredth = p.size.div_ceil(100).max(1);
        self.next_report = (p.read / hundredth + 1) * hundredth;
        if let Some(report) = &mut self.report {
            report(&p);
        }
    }

    /// Tells the reporter the reading has ended (at the end of the file, or at an error),
    /// once.
    fn end_progress(&mut self) {
        if !self.progress.done {
            self.progress.done = true;
            self.tell();
        }
    }

    /// Counts the line just read (`bytes` long, with its ending), telling the reporter
    /// when a hundredth of the file more has been read.
    fn count_line(&mut self, bytes: usize, parsed: &Result<Option<Line>, String>) {
        self.progress.read += bytes as u64;
        if let Ok(Some(Line::Event(..))) = parsed {
            self.progress.events += 1;
        }
        if self.progress.read >= self.next_report {
            self.tell();
        }
    }

    /// How many events the file's header says it holds: a hint for making room, checked by
    /// no one (the checksum is what proves the file whole).
    pub(crate) fn announced(&self) -> Option<u64> {
        self.announced
    }

    /// When the last line was read.
    pub(crate) fn done_at(&self) -> Option<std::time::Instant> {
        self.done_at
    }

    /// Whether the file was whole and its checksum matched, once every event was read.
    pub(crate) fn finish(self) -> Result<u64, String> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if !self.checked {
            return Err(format!(
                "{}: no checksum line: the file is cut short",
                self.path.display()
            ));
        }
        Ok(self.count)
    }

    /// The next line, `None` at the end of the file.
    fn next_line(&mut self) -> Result<Option<Line>, String> {
        // Out of `self` while the line, which may lie in its buffer, is parsed.
        let mut reader = self.reader.take().expect("put back after every line");
        let parsed = self.next_line_from(&mut reader);
        self.reader = Some(reader);
        parsed
    }

    /// [`Events::next_line`] from `reader`. A line that lies whole in the reader's buffer, as
    /// nearly all do, is parsed where it lies; one that runs past the buffer's end is copied
    /// out.
    fn next_line_from(
        &mut self,
        reader: &mut std::io::BufReader<std::fs::File>,
    ) -> Result<Option<Line>, String> {
        // A read error is left to `read_line` below to report.
        if let Ok(buf) = reader.fill_buf()
            && let Some(end) = memchr::memchr(b'\n', buf)
        {
            self.n += 1;
            // As `BufRead::lines` ends a line: at "\n" or "\r\n".
            let line = &buf[..end];
            let parsed = match std::str::from_utf8(line.strip_suffix(b"\r").unwrap_or(line)) {
                Ok(text) => self.parse_line(text),
                Err(_) => Err(format!(
                    "{}: line {}: stream did not contain valid UTF-8",
                    self.path.display(),
                    self.n
                )),
            };
            reader.consume(end + 1);
            self.count_line(end + 1, &parsed);
            return parsed;
        }
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        let read = reader.read_line(&mut line);
        let bytes = *read.as_ref().unwrap_or(&0);
        let parsed = match read {
            Ok(0) => {
                self.done_at = Some(std::time::Instant::now());
                self.end_progress();
                Ok(None)
            }
            Ok(_) => {
                self.n += 1;
                // As `BufRead::lines` ends a line: at "\n" or "\r\n".
                let text = match line.strip_suffix('\n') {
                    Some(text) => text.strip_suffix('\r').unwrap_or(text),
                    None => &line,
                };
                self.parse_line(text)
            }
            Err(e) => {
                self.n += 1;
                Err(format!("{}: line {}: {e}", self.path.display(), self.n))
            }
        };
        if bytes > 0 {
            self.count_line(bytes, &parsed);
        }
        self.line = line;
        parsed
    }

    /// Line `self.n`, `line`, read.
    fn parse_line(&mut self, line: &str) -> Result<Option<Line>, String> {
        let n = self.n;
        let path = self.path.display();
        let at = |what: String| format!("{path}: line {n}: {what}");
        if self.checked {
            return Err(at("text after the checksum line".into()));
        }
        let lenient = &self.lenient;
        // Event lines, nearly all of the file, are read straight into their types: as
        // `pronto export` writes them by a reader of that form alone, else by serde_json.
        if n > 1
            && let Some(EventLine { partition, event }) =
                read_compact_line(line).or_else(|| serde_json::from_str::<EventLine>(line).ok())
        {
            let event = event
                .validate(EventTime(0), lenient)
                .map_err(|e| at(e.to_string()))?;
            self.sha.update(line.as_bytes());
            self.sha.update(b"\n");
            return Ok(Some(Line::Event(partition, event)));
        }
        let v: Value = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
        let input = |what: &str| {
            if self.inputs_done {
                Err(at(format!("{what} line after the events")))
            } else {
                Ok(())
            }
        };
        let parsed = if n == 1 {
            if v["pronto_export"].as_u64() != Some(FORMAT) {
                return Err(at(format!("not a Pronto export (format {FORMAT})")));
            }
            self.announced = v["events"].as_u64();
            Line::Header
        } else if let Some(sum) = v["sha256"].as_str() {
            let want = hex::encode(self.sha.clone().finalize());
            if sum != want {
                return Err(at(format!(
                    "checksum {sum} does not match the content ({want})"
                )));
            }
            self.checked = true;
            return Ok(Some(Line::Checksum));
        } else if let Some(p) = v.get("policy") {
            input("a policy")?;
            let source = p["source"]
                .as_str()
                .ok_or_else(|| at("policy.source missing".into()))?;
            let from = p["effective_from"]
                .as_i64()
                .ok_or_else(|| at("policy.effective_from missing".into()))?;
            let mut policy =
                Policy::from_toml(&format!("{path}:{n}"), source).map_err(|e| at(e.to_string()))?;
            if let Some(version) = p["version"].as_str() {
                policy.version = version.to_string();
            }
            Line::Policy(EventTime(from), Arc::new(policy))
        } else if let Some(r) = v.get("escalation_rules") {
            input("an escalation_rules")?;
            let (Some(version), Some(source)) = (r["version"].as_str(), r["source"].as_str())
            else {
                return Err(at("escalation_rules.version or .source missing".into()));
            };
            let rules = rules_from_record(&VersionRecord {
                version: version.to_string(),
                source: source.to_string(),
                file: format!("{path}:{n}"),
                ..VersionRecord::default()
            })
            .map_err(at)?;
            Line::Rules(rules, r["effective_from"].as_i64().map(EventTime))
        } else if let Some(s) = v.get("escalation_stop") {
            input("an escalation_stop")?;
            let (Some(id), Some(t)) = (s["escalation_id"].as_str(), s["at"].as_i64()) else {
                return Err(at("escalation_stop.escalation_id or .at missing".into()));
            };
            Line::Stop(id.to_string(), EventTime(t))
        } else {
            let partition = v["partition"]
                .as_i64()
                .and_then(|p| i32::try_from(p).ok())
                .ok_or_else(|| at("partition missing".into()))?;
            let raw: RawEvent =
                serde_json::from_value(v["event"].clone()).map_err(|e| at(e.to_string()))?;
            let event = raw
                .validate(EventTime(0), lenient)
                .map_err(|e| at(e.to_string()))?;
            Line::Event(partition, event)
        };
        self.sha.update(line.as_bytes());
        self.sha.update(b"\n");
        Ok(Some(parsed))
    }
}

impl Iterator for Events {
    type Item = (i32, Event);

    fn next(&mut self) -> Option<(i32, Event)> {
        if let Some(first) = self.first.take() {
            self.count += 1;
            return Some(first);
        }
        if self.error.is_some() {
            return None;
        }
        loop {
            match self.next_line() {
                Ok(Some(Line::Event(partition, event))) => {
                    self.count += 1;
                    return Some((partition, event));
                }
                Ok(Some(_)) => {}
                Ok(None) => return None,
                Err(e) => {
                    self.error = Some(e);
                    self.end_progress();
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pronto_domain::RawTime;

    /// What an export file holds.
    struct Exported {
        versions: PolicyVersions,
        escalation: pronto_replay::EscalationInputs,
        events: Vec<(i32, Event)>,
    }

    /// Reads a whole export file, checking its checksum; `Err` says what is wrong and where.
    fn read(path: &std::path::Path) -> Result<Exported, String> {
        let (versions, escalation, mut events) = open(path)?;
        let all = (&mut events).collect();
        events.finish()?;
        Ok(Exported {
            versions,
            escalation,
            events: all,
        })
    }

    /// A directory of its own for a test, and a file path in it.
    fn scratch(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("pronto-export-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.jsonl"));
        (dir, path)
    }

    /// The simulated events of `conversations` conversations, all in `partition`.
    fn simulated(conversations: usize, partition: i32) -> Vec<(i32, Event)> {
        pronto_sim::generate(&pronto_sim::SimConfig {
            conversations,
            ..pronto_sim::SimConfig::default()
        })
        .into_iter()
        .map(|e| (partition, e))
        .collect()
    }

    #[test]
    fn exported_lines_are_read_by_the_compact_reader_as_serde_reads_them() {
        let mut lines = 0;
        for partition in [0, 7, -3, i32::MAX] {
            for (p, event) in simulated(40, partition) {
                let line = json!({"partition": p, "event": event.to_json()}).to_string();
                let fast = read_compact_line(&line).expect("an exported line is compact");
                let slow: EventLine = serde_json::from_str(&line).unwrap();
                assert_eq!(fast.partition, slow.partition);
                // The instant is read to its parts here, left as written by serde: the same
                // event once validated.
                assert!(matches!(
                    fast.event.occurred_at,
                    Some(RawTime::Parts { .. })
                ));
                let lenient = Limits {
                    earliest: EventTime(i64::MIN),
                    max_future_ms: i64::MAX,
                    ..Limits::default()
                };
                assert_eq!(
                    fast.event.validate(EventTime(0), &lenient),
                    slow.event.validate(EventTime(0), &lenient)
                );
                lines += 1;
            }
        }
        assert!(lines > 300);
        let event = r#"{"event_id":"e","tenant":"t"}"#;
        for line in [
            format!(r#"{{"partition":1,"event":{event}}}"#),
            format!(r#"{{"event":{event},"partition":01}}"#),
            format!(r#"{{"event":{event},"partition":-0}}"#),
            format!(r#"{{"event":{event},"partition":+1}}"#),
            format!(r#"{{"event":{event},"partition":2147483648}}"#),
            format!(r#"{{"event":{event},"partition":1.0}}"#),
            format!(r#"{{"event":{event},"partition":1}} "#),
            format!(r#"{{"event":{event}, "partition":1}}"#),
        ] {
            // Written otherwise, as JSON or not: left to serde_json, to read or to refuse.
            assert!(read_compact_line(&line).is_none(), "{line}");
        }
    }

    #[test]
    fn lines_across_the_read_buffer_and_crlf_endings_read_as_any_other() {
        let dir = std::env::temp_dir().join(format!("pronto-export-buf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.jsonl");
        // Lines of many lengths, past the reader's 1 MiB buffer several times, so that some
        // run past its end.
        let events: Vec<(i32, Event)> = (0..6_000i32)
            .map(|i| {
                let raw: RawEvent = serde_json::from_value(json!({
                    "event_id": format!("m{i}"), "tenant": "acme",
                    "conversation_id": format!("c{}", i % 97),
                    "occurred_at": "2026-03-02T09:00:00Z", "source": "t", "channel": "chat",
                    "customer_message": {"text": "é".repeat((i % 301) as usize), "customer_id": "u1"}
                }))
                .unwrap();
                let event = raw
                    .validate(EventTime(1_772_442_000_000), &Limits::default())
                    .unwrap();
                (i % 3, event)
            })
            .collect();
        let mut w = Hashing::new(std::fs::File::create(&path).unwrap());
        w.line(&json!({"pronto_export": FORMAT})).unwrap();
        for (partition, event) in &events {
            w.line(&json!({"partition": partition, "event": event.to_json()}))
                .unwrap();
        }
        w.finish().unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() > 3 << 20);
        assert_eq!(read(&path).unwrap().events, events);

        // Ended by "\r\n" (the checksum is over the lines as read), the same events.
        let text = std::fs::read_to_string(&path).unwrap();
        let mut crlf = Hashing::new(Vec::new());
        for line in text.lines().filter(|l| !l.contains("sha256")) {
            let v: Value = serde_json::from_str(line).unwrap();
            crlf.line(&v).unwrap();
        }
        let sum = crlf.sha.clone().finalize();
        let body = String::from_utf8(crlf.inner.clone())
            .unwrap()
            .replace('\n', "\r\n");
        std::fs::write(
            &path,
            format!("{body}{{\"sha256\":\"{}\"}}\r\n", hex::encode(sum)),
        )
        .unwrap();
        assert_eq!(read(&path).unwrap().events, events);

        // Bytes that are not UTF-8: refused, naming the line.
        let mut bytes = text.into_bytes();
        let at = bytes.iter().position(|&b| b == 0xc3).unwrap();
        bytes[at] = 0xff;
        let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
        std::fs::write(&path, bytes).unwrap();
        let refused = read(&path).err().unwrap();
        assert!(
            refused.ends_with(&format!("line {line}: stream did not contain valid UTF-8")),
            "{refused}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_file_round_trips_policies_and_events_and_refuses_a_cut() {
        let dir = std::env::temp_dir().join(format!("pronto-export-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.jsonl");
        let policy = Policy::builtin();
        let event: Event = serde_json::from_value::<RawEvent>(json!({
            "event_id": "m1", "tenant": "acme", "conversation_id": "c1",
            "occurred_at": "2026-03-02T09:00:00Z", "source": "t", "channel": "chat",
            "customer_message": {"text": "hello", "customer_id": "u1", "customer_tier": "gold"}
        }))
        .unwrap()
        .validate(EventTime(1_772_442_000_000), &Limits::default())
        .unwrap();
        let mut w = Hashing::new(std::fs::File::create(&path).unwrap());
        w.line(&json!({"pronto_export": FORMAT})).unwrap();
        w.line(&json!({"policy": {"version": policy.version, "effective_from": 5, "source": policy.source}}))
            .unwrap();
        w.line(&json!({"partition": 2, "event": event.to_json()}))
            .unwrap();
        w.finish().unwrap();

        let x = read(&path).unwrap();
        assert_eq!(x.events, [(2, event.clone())]);
        let (from, p) = x.versions.iter().next().unwrap();
        assert_eq!(
            (*from, p.version.as_str()),
            (EventTime(5), policy.version.as_str())
        );

        // Cut short: no checksum line.
        let text = std::fs::read_to_string(&path).unwrap();
        let cut: Vec<&str> = text.lines().take(3).collect();
        std::fs::write(&path, cut.join("\n") + "\n").unwrap();
        assert!(read(&path).err().unwrap().contains("cut short"));

        // Inputs come before the events, so that a replay can derive as it reads.
        let mut w = Hashing::new(std::fs::File::create(&path).unwrap());
        w.line(&json!({"pronto_export": FORMAT})).unwrap();
        w.line(&json!({"partition": 2, "event": event.to_json()}))
            .unwrap();
        w.line(&json!({"policy": {"version": policy.version, "effective_from": 5, "source": policy.source}}))
            .unwrap();
        w.finish().unwrap();
        let refused = read(&path).err().unwrap();
        assert!(
            refused.ends_with("line 3: a policy line after the events"),
            "{refused}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn reading_tells_its_progress_at_every_hundredth_and_at_the_end() {
        let (dir, path) = scratch("p");
        let events = simulated(400, 0);
        let versions = PolicyVersions::single(Arc::new(Policy::builtin()));
        let escalation = pronto_replay::EscalationInputs::default();
        write_file(&path, &versions, &escalation, &events).unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        let told = |path: &std::path::Path| {
            let reports = Arc::new(std::sync::Mutex::new(Vec::<Progress>::new()));
            let sink = Arc::clone(&reports);
            let (_, _, events) = open(path).unwrap();
            let mut events = events.with_progress(move |p| sink.lock().unwrap().push(*p));
            let read = (&mut events).count();
            let finished = events.finish();
            let reports = reports.lock().unwrap().clone();
            (read, finished, reports)
        };

        let (read, finished, reports) = told(&path);
        assert_eq!(finished, Ok(events.len() as u64));
        assert_eq!(read, events.len());
        // Every hundredth told, in order, and the end once, last.
        let percents: Vec<u64> = reports.iter().map(Progress::percent).collect();
        let mut distinct = percents.clone();
        distinct.dedup();
        assert_eq!(distinct, (0..=100).collect::<Vec<u64>>(), "{percents:?}");
        assert!(
            reports
                .windows(2)
                .all(|w| w[0].read <= w[1].read && w[0].events <= w[1].events)
        );
        assert_eq!(reports.iter().filter(|p| p.done).count(), 1);
        let last = reports.last().unwrap();
        assert!(last.done);
        assert_eq!((last.read, last.size), (size, size));
        assert_eq!(last.events, events.len() as u64);

        // A line spoilt halfway: the reading ends there, and says so once.
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let half = lines.len() / 2;
        let spoilt: Vec<&str> = lines[..half]
            .iter()
            .copied()
            .chain(["{\"partition\": 0, \"event\": 7}"])
            .chain(lines[half + 1..].iter().copied())
            .collect();
        std::fs::write(&path, spoilt.join("\n") + "\n").unwrap();
        let (read, finished, reports) = told(&path);
        assert!(finished.is_err());
        assert!(read < events.len());
        let last = reports.last().unwrap();
        assert!(last.done && (40..60).contains(&last.percent()), "{last:?}");
        assert_eq!(reports.iter().filter(|p| p.done).count(), 1);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_written_file_carries_the_escalation_rules_and_stops() {
        let (dir, path) = scratch("w");
        let events = simulated(5, 1);
        let versions = PolicyVersions::single(Arc::new(Policy::builtin()));
        let escalation = pronto_replay::EscalationInputs {
            effective_from: Some(EventTime(7)),
            stops: vec![("esc-1".into(), EventTime(9))],
            ..pronto_replay::EscalationInputs::default()
        };
        let sum = write_file(&path, &versions, &escalation, &events).unwrap();
        assert_eq!(sum.len(), 64);
        let x = read(&path).unwrap();
        assert_eq!(x.events, events);
        assert_eq!(x.escalation.rules.version, escalation.rules.version);
        assert_eq!(x.escalation.effective_from, Some(EventTime(7)));
        assert_eq!(x.escalation.stops, escalation.stops);
        assert_eq!(x.versions.iter().next().unwrap().0, EventTime(i64::MIN));
        std::fs::remove_dir_all(&dir).ok();
    }
}
