//! CSV in any layout, read through a column mapping: one row per event, its kind told by a
//! column (with the values that mean each kind) or fixed for the whole file.
//!
//! A mapping is a TOML file; `docs/import.md` documents it and `docs/import-mapping.example.toml`
//! is a worked example. Each row becomes the JSON an integrator would post to `POST /v1/events`
//! and is validated exactly as ingest validates it, so a refused row names the column at fault.

use crate::{Import, Rejected, event};
use pronto_domain::{EventTime, fact_id};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;

/// Which column holds each field. Only `conversation_id` and `occurred_at` are required.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    /// The event's id; when absent, one is derived from the row's content, so importing the
    /// same file again adds nothing.
    pub event_id: Option<String>,
    pub conversation_id: String,
    pub occurred_at: String,
    /// What the row is; its values are read through `[kinds]`.
    pub kind: Option<String>,
    pub text: Option<String>,
    /// The customer's id on customer messages, the agent's on replies and notes.
    pub author: Option<String>,
    /// The agent's name as customers see it (for signed-reply detection).
    pub author_name: Option<String>,
    pub tenant: Option<String>,
    pub channel: Option<String>,
    /// When it changes along a conversation, an assignment to the new queue comes first.
    pub queue: Option<String>,
    pub customer_tier: Option<String>,
    /// When it changes along a conversation, a priority change comes first.
    pub priority: Option<String>,
    /// The new status, on status rows.
    pub status: Option<String>,
}

/// Values the same on every row, where the file has no column for them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixed {
    pub tenant: Option<String>,
    pub channel: Option<String>,
    /// The `source` of every event; `import-csv` by default.
    pub source: Option<String>,
    /// The kind of every row, when the file has no kind column.
    pub kind: Option<String>,
}

/// How `occurred_at` is written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeFormat {
    /// `rfc3339` (default), `unix_ms`, `unix_s`, or a strftime pattern such as
    /// `%d/%m/%Y %H:%M`.
    #[serde(default = "rfc3339")]
    pub format: String,
    /// IANA zone of times written without an offset, e.g. `Europe/Rome`; UTC when absent.
    pub timezone: Option<String>,
}

fn rfc3339() -> String {
    "rfc3339".into()
}

impl Default for TimeFormat {
    fn default() -> Self {
        Self {
            format: rfc3339(),
            timezone: None,
        }
    }
}

/// A column mapping.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The field separator; `,` by default.
    pub delimiter: Option<char>,
    pub columns: Columns,
    #[serde(default)]
    pub fixed: Fixed,
    /// For each kind, the values of the kind column that mean it. A kind not listed is
    /// meant by its own name.
    #[serde(default)]
    pub kinds: BTreeMap<String, Vec<String>>,
    /// For each status, the values of the status column that mean it, likewise.
    #[serde(default)]
    pub statuses: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub time: TimeFormat,
}

/// What a row can be.
const KINDS: [&str; 7] = [
    "customer_message",
    "reply",
    "bot_reply",
    "private_note",
    "status",
    "assignment",
    "priority",
];

impl Mapping {
    /// Reads a mapping; the error names the line, or the setting, at fault.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let m: Mapping = pronto_config::parse(text)?;
        for kind in m.kinds.keys().chain(m.fixed.kind.iter()) {
            if !KINDS.contains(&kind.as_str()) {
                return Err(format!(
                    "kinds: '{kind}' is not a kind; one of {}",
                    KINDS.join(", ")
                ));
            }
        }
        for status in m.statuses.keys() {
            if pronto_domain::ConversationStatus::parse(status).is_none() {
                return Err(format!(
                    "statuses: '{status}' is not a status; one of {}",
                    pronto_domain::ConversationStatus::names()
                ));
            }
        }
        match (&m.columns.kind, &m.fixed.kind) {
            (None, None) => return Err("columns.kind or fixed.kind is required".into()),
            (Some(_), Some(_)) => {
                return Err("columns.kind and fixed.kind: give one, not both".into());
            }
            _ => {}
        }
        if m.delimiter.is_some_and(|d| !d.is_ascii()) {
            return Err("delimiter: must be one ASCII character".into());
        }
        if let Some(zone) = &m.time.timezone
            && zone.parse::<chrono_tz::Tz>().is_err()
        {
            return Err(format!("time.timezone: '{zone}' is not an IANA time zone"));
        }
        Ok(m)
    }

    /// The kind a value of the kind column means.
    fn kind_of(&self, value: &str) -> Option<&'static str> {
        let listed = self
            .kinds
            .iter()
            .find(|(_, values)| values.iter().any(|v| v == value))
            .map(|(k, _)| k.as_str());
        let own = (!self.kinds.contains_key(value)).then_some(value);
        let name = listed.or(own)?;
        KINDS.iter().copied().find(|k| *k == name)
    }

    /// The status a value of the status column means.
    fn status_of<'a>(&'a self, value: &'a str) -> &'a str {
        self.statuses
            .iter()
            .find(|(_, values)| values.iter().any(|v| v == value))
            .map_or(value, |(s, _)| s.as_str())
    }
}

/// Parses `raw` as the mapping's time format says.
fn parse_time(t: &TimeFormat, raw: &str) -> Result<EventTime, String> {
    let bad = |why: &str| format!("'{raw}' is not a time in format '{}' ({why})", t.format);
    match t.format.as_str() {
        "rfc3339" => chrono::DateTime::parse_from_rfc3339(raw)
            .map(|d| EventTime(d.timestamp_millis()))
            .map_err(|e| bad(&e.to_string())),
        "unix_ms" | "unix_s" => {
            let n: i64 = raw.parse().map_err(|_| bad("not a whole number"))?;
            Ok(EventTime(if t.format == "unix_s" {
                n.saturating_mul(1000)
            } else {
                n
            }))
        }
        pattern => {
            if let Ok(d) = chrono::DateTime::parse_from_str(raw, pattern) {
                return Ok(EventTime(d.timestamp_millis()));
            }
            let naive = chrono::NaiveDateTime::parse_from_str(raw, pattern)
                .map_err(|e| bad(&e.to_string()))?;
            let zone: chrono_tz::Tz = t
                .timezone
                .as_deref()
                .unwrap_or("UTC")
                .parse()
                .unwrap_or(chrono_tz::UTC);
            use chrono::TimeZone as _;
            zone.from_local_datetime(&naive)
                .earliest()
                .map(|d| EventTime(d.timestamp_millis()))
                .ok_or_else(|| bad(&format!("no such local time in {zone}")))
        }
    }
}

/// A row read, before it became events.
struct Row {
    row: usize,
    at: EventTime,
    tenant: String,
    conversation: String,
    /// The main event, and changes of queue and priority it carries.
    event: Value,
    queue: String,
    priority: String,
}

/// Reads `reader` through `mapping`; `tenant` is the tenant when the mapping names none.
/// `progress(rows)` is called as rows are read.
pub fn csv_mapped(
    reader: impl Read,
    mapping: &Mapping,
    tenant: &str,
    mut progress: impl FnMut(usize),
) -> Import {
    let mut out = Import::default();
    let delimiter = u8::try_from(mapping.delimiter.unwrap_or(',')).unwrap_or(b',');
    let (mut csv, headers) = match crate::with_header(reader, delimiter) {
        Ok(opened) => opened,
        Err(refused) => return refused,
    };
    let c = &mapping.columns;
    let named: Vec<(&str, &String)> = [
        ("event_id", c.event_id.as_ref()),
        ("conversation_id", Some(&c.conversation_id)),
        ("occurred_at", Some(&c.occurred_at)),
        ("kind", c.kind.as_ref()),
        ("text", c.text.as_ref()),
        ("author", c.author.as_ref()),
        ("author_name", c.author_name.as_ref()),
        ("tenant", c.tenant.as_ref()),
        ("channel", c.channel.as_ref()),
        ("queue", c.queue.as_ref()),
        ("customer_tier", c.customer_tier.as_ref()),
        ("priority", c.priority.as_ref()),
        ("status", c.status.as_ref()),
    ]
    .into_iter()
    .filter_map(|(f, col)| col.map(|col| (f, col)))
    .collect();
    let missing: Vec<String> = named
        .iter()
        .filter(|(_, col)| !headers.iter().any(|h| h == col.as_str()))
        .map(|(f, col)| format!("'{col}' (columns.{f})"))
        .collect();
    if !missing.is_empty() {
        out.rejected.push(Rejected {
            row: 1,
            reason: format!("header lacks {}", missing.join(", ")),
        });
        return out;
    }
    let index: HashMap<&str, usize> = named
        .iter()
        .filter_map(|(f, col)| Some((*f, headers.iter().position(|h| h == col.as_str())?)))
        .collect();
    // Where each API field comes from, to name the column in a refusal.
    let column_of = |path: &str| -> Option<&String> {
        let field = match path.rsplit('.').next().unwrap_or(path) {
            "customer_id" | "agent_id" => "author",
            "agent_display_name" => "author_name",
            "status" => "status",
            "priority" => "priority",
            "queue" => "queue",
            "occurred_at" => "occurred_at",
            other => other,
        };
        named.iter().find(|(f, _)| *f == field).map(|(_, c)| *c)
    };
    let source = mapping.fixed.source.as_deref().unwrap_or("import-csv");
    let mut rows: Vec<Row> = Vec::new();
    for (i, record) in csv.records().enumerate() {
        let row = i + 2;
        out.rows += 1;
        progress(out.rows);
        let r = match record {
            Ok(r) => r,
            Err(e) => {
                out.rejected.push(Rejected {
                    row,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let get = |field: &str| {
            index
                .get(field)
                .and_then(|i| r.get(*i))
                .map(str::trim)
                .unwrap_or("")
        };
        let reject = |field: &str, why: String| Rejected {
            row,
            reason: match column_of(field) {
                Some(col) => format!("{field} (column '{col}'): {why}"),
                None => format!("{field}: {why}"),
            },
        };
        let kind_value = match &mapping.fixed.kind {
            Some(k) => k.as_str(),
            None => get("kind"),
        };
        let Some(kind) = mapping.kind_of(kind_value) else {
            out.rejected.push(reject(
                "kind",
                format!("'{kind_value}' means no kind the mapping lists"),
            ));
            continue;
        };
        let at = match parse_time(&mapping.time, get("occurred_at")) {
            Ok(at) => at,
            Err(why) => {
                out.rejected.push(reject("occurred_at", why));
                continue;
            }
        };
        let tenant = match (get("tenant"), &mapping.fixed.tenant) {
            ("", Some(t)) => t.clone(),
            ("", None) => tenant.to_string(),
            (t, _) => t.to_string(),
        };
        let channel = match (get("channel"), &mapping.fixed.channel) {
            ("", Some(ch)) => ch.clone(),
            (ch, _) => ch.to_string(),
        };
        let conversation = get("conversation_id").to_string();
        let text = get("text");
        let author = get("author");
        let id = match get("event_id") {
            "" => fact_id(
                "row",
                &[
                    &tenant,
                    &conversation,
                    &at.millis().to_string(),
                    kind,
                    author,
                    get("status"),
                    text,
                ],
            ),
            id => id.to_string(),
        };
        let blank = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let mut v = json!({
            "event_id": id, "tenant": tenant, "conversation_id": conversation,
            "occurred_at": at.to_rfc3339(), "source": source, "channel": channel,
        });
        match kind {
            "customer_message" => {
                v["customer_message"] = json!({
                    "text": text, "customer_id": blank(author),
                    "customer_tier": blank(get("customer_tier")),
                });
            }
            "reply" | "bot_reply" | "private_note" => {
                v["reply_sent"] = json!({
                    "text": text,
                    "author_kind": if kind == "bot_reply" { "bot" } else { "human" },
                    "visibility": if kind == "private_note" { "private" } else { "public" },
                    "agent_id": blank(author),
                    "agent_display_name": blank(get("author_name")),
                });
            }
            "status" => {
                v["status_changed"] = json!({ "status": mapping.status_of(get("status")) });
            }
            "assignment" => {
                v["assignment_changed"] =
                    json!({ "queue": blank(get("queue")), "agent_id": blank(author) });
            }
            _ => v["priority_changed"] = json!({ "priority": get("priority") }),
        }
        // Validated as ingest would: a refusal names the column behind the field. A change of
        // queue or priority the row carries is checked with it, so a row goes in whole or not.
        let mut errors: Vec<(String, String)> =
            match serde_json::from_value::<pronto_domain::RawEvent>(v.clone()) {
                Err(e) => vec![("row".to_string(), e.to_string())],
                Ok(raw) => match raw.validate(EventTime(0), &crate::limits()) {
                    Ok(_) => Vec::new(),
                    Err(e) => e.0.into_iter().map(|f| (f.path, f.reason)).collect(),
                },
            };
        let priority = get("priority");
        if !priority.is_empty() && pronto_domain::Priority::parse(priority).is_none() {
            errors.push((
                "priority".into(),
                format!(
                    "'{priority}' is not one of {}",
                    pronto_domain::Priority::names()
                ),
            ));
        }
        if let Err(e) = Some(get("queue"))
            .filter(|q| !q.is_empty())
            .map_or(Ok(()), |q| pronto_domain::Id::parse(q).map(|_| ()))
        {
            errors.push(("queue".into(), e.to_string()));
        }
        if !errors.is_empty() {
            errors.dedup_by(|a, b| a.0.ends_with(&b.0) || b.0.ends_with(&a.0));
            let reason = errors
                .into_iter()
                .map(|(path, why)| match column_of(&path) {
                    Some(col) => format!("{path} (column '{col}'): {why}"),
                    None => format!("{path}: {why}"),
                })
                .collect::<Vec<_>>()
                .join("; ");
            out.rejected.push(Rejected { row, reason });
            continue;
        }
        rows.push(Row {
            row,
            at,
            tenant,
            conversation,
            event: v,
            queue: if kind == "assignment" {
                String::new()
            } else {
                get("queue").to_string()
            },
            priority: if kind == "priority" {
                String::new()
            } else {
                get("priority").to_string()
            },
        });
    }

    // Each conversation in time order (ties in file order), with a change of queue or
    // priority a millisecond before the row that first shows it.
    rows.sort_by(|a, b| {
        (&a.tenant, &a.conversation, a.at, a.row).cmp(&(&b.tenant, &b.conversation, b.at, b.row))
    });
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut last: HashMap<(String, String), (String, String)> = HashMap::new();
    for r in rows {
        let id = r.event["event_id"].as_str().unwrap_or_default().to_string();
        if let Some(first) = seen.get(&format!("{}/{id}", r.tenant)) {
            out.rejected.push(Rejected {
                row: r.row,
                reason: format!("event_id: {id} already on row {first}"),
            });
            continue;
        }
        seen.insert(format!("{}/{id}", r.tenant), r.row);
        let state = last
            .entry((r.tenant.clone(), r.conversation.clone()))
            .or_default();
        let extra = |field: &str, value: &str, was: &mut String, payload: Value| {
            if value.is_empty() || value == was {
                return None;
            }
            *was = value.to_string();
            let mut v = r.event.clone();
            for p in [
                "customer_message",
                "reply_sent",
                "status_changed",
                "assignment_changed",
                "priority_changed",
            ] {
                if let Some(o) = v.as_object_mut() {
                    o.remove(p);
                }
            }
            v["event_id"] = json!(format!("{id}-{field}"));
            v["occurred_at"] = json!(r.at.plus_millis(-1).to_rfc3339());
            v[field] = payload;
            Some(v)
        };
        let queue = extra(
            "assignment_changed",
            &r.queue,
            &mut state.0,
            json!({ "queue": r.queue }),
        );
        let priority = extra(
            "priority_changed",
            &r.priority,
            &mut state.1,
            json!({ "priority": r.priority }),
        );
        for v in [queue, priority, Some(r.event)].into_iter().flatten() {
            match event(serde_json::from_value(v)) {
                Ok(e) => out.events.push(e),
                Err(reason) => out.rejected.push(Rejected { row: r.row, reason }),
            }
        }
    }
    out.rejected.sort_by_key(|r| r.row);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pronto_domain::{ConversationStatus, Payload, Priority, Visibility};

    const EXAMPLE: &str = include_str!("../../../docs/import-mapping.example.toml");

    // Hand-written, in the layout the example mapping describes.
    const FILE: &str = "\
ticket;message_id;created;direction;from;agent_name;body;group;plan;prio;new_status
T-100;m1;02/03/2026 10:00;in;cust-1;;Il mio ordine è in ritardo;billing;gold;high;
T-100;m3;02/03/2026 10:25;note;a-7;Giulia;chiesto al magazzino;billing;gold;high;
T-100;m2;02/03/2026 10:20;out;a-7;Giulia;Controllo subito - Giulia;billing;gold;high;
T-100;m4;02/03/2026 11:00;state;a-7;;;returns;gold;urgent;risolto
T-101;m5;31/02/2026 10:00;in;cust-2;;hello;;;;
T-101;m6;03/03/2026 10:00;fax;cust-2;;hello;;;;
T-101;m7;03/03/2026 10:00;in;;;hello;;;;
T-101;m8;03/03/2026 10:00;in;cust-2;;hello;;;asap;
T-101;m1;03/03/2026 10:05;in;cust-2;;again;;;;
";

    fn example() -> Import {
        let m = Mapping::from_toml(EXAMPLE).expect("the example mapping loads");
        csv_mapped(FILE.as_bytes(), &m, "ignored", |_| {})
    }

    #[test]
    fn rows_become_events_through_the_mapping() {
        let x = example();
        assert_eq!(x.rows, 9);
        let ids: Vec<&str> = x.events.iter().map(|e| e.id()).collect();
        // In time order per conversation; a queue or priority change comes a millisecond
        // before the row that shows it.
        assert_eq!(
            ids,
            [
                "m1-assignment_changed",
                "m1-priority_changed",
                "m1",
                "m2",
                "m3",
                "m4-assignment_changed",
                "m4-priority_changed",
                "m4"
            ]
        );
        let m1 = &x.events[2];
        // 10:00 in Rome in March is 09:00 UTC.
        assert_eq!(m1.at().to_rfc3339(), "2026-03-02T09:00:00.000Z");
        assert_eq!(m1.envelope.tenant.as_str(), "acme");
        assert_eq!(m1.envelope.source.as_str(), "helpdesk-export");
        assert!(matches!(
            &m1.payload,
            Payload::CustomerMessage { customer_id, customer_tier: Some(t), .. }
                if customer_id.as_str() == "cust-1" && t.as_str() == "gold"
        ));
        assert!(matches!(
            &x.events[0].payload,
            Payload::AssignmentChanged { queue: Some(q), .. } if q.as_str() == "billing"
        ));
        assert_eq!(x.events[0].at().millis(), m1.at().millis() - 1);
        assert!(matches!(
            &x.events[1].payload,
            Payload::PriorityChanged(Priority::High)
        ));
        assert!(matches!(
            &x.events[3].payload,
            Payload::ReplySent { visibility: Visibility::Public, agent_id: Some(a), agent_display_name: Some(n), .. }
                if a.as_str() == "a-7" && n == "Giulia"
        ));
        assert!(matches!(
            &x.events[4].payload,
            Payload::ReplySent {
                visibility: Visibility::Private,
                ..
            }
        ));
        assert!(matches!(
            &x.events[7].payload,
            Payload::StatusChanged(ConversationStatus::Solved)
        ));
        assert!(matches!(
            &x.events[6].payload,
            Payload::PriorityChanged(Priority::Urgent)
        ));
    }

    #[test]
    fn a_refused_row_names_the_column_at_fault() {
        let x = example();
        let reasons: Vec<(usize, &str)> = x
            .rejected
            .iter()
            .map(|r| (r.row, r.reason.as_str()))
            .collect();
        assert_eq!(reasons.len(), 5, "{reasons:#?}");
        assert_eq!(reasons[0].0, 6);
        assert!(
            reasons[0]
                .1
                .starts_with("occurred_at (column 'created'): '31/02/2026 10:00' is not a time"),
            "{}",
            reasons[0].1
        );
        assert_eq!(
            reasons[1],
            (
                7,
                "kind (column 'direction'): 'fax' means no kind the mapping lists"
            )
        );
        assert_eq!(reasons[2].0, 8);
        assert!(
            reasons[2]
                .1
                .starts_with("customer_message.customer_id (column 'from'):"),
            "{}",
            reasons[2].1
        );
        assert_eq!(reasons[3].0, 9);
        assert!(
            reasons[3].1.starts_with("priority (column 'prio'): 'asap'"),
            "{}",
            reasons[3].1
        );
        assert_eq!(reasons[4], (10, "event_id: m1 already on row 2"));
    }

    #[test]
    fn without_an_id_column_ids_come_from_the_rows_so_a_reimport_adds_nothing() {
        let text = EXAMPLE.replace("event_id = \"message_id\"", "");
        let m = Mapping::from_toml(&text).unwrap();
        let a = csv_mapped(FILE.as_bytes(), &m, "x", |_| {});
        let b = csv_mapped(FILE.as_bytes(), &m, "x", |_| {});
        let ids = |x: &Import| {
            x.events
                .iter()
                .map(|e| e.id().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&a), ids(&b));
        assert!(ids(&a).iter().all(|id| id.starts_with("row-")));
        // The last row is no longer a repeat of the first: its own content, its own id.
        assert_eq!(a.events.len(), 9);
    }

    #[test]
    fn a_mapping_is_refused_with_the_setting_at_fault() {
        let err = |text: &str| Mapping::from_toml(text).unwrap_err();
        assert!(err("[columns]\nconversation_id = 1").contains("line 2"));
        assert!(
            err(&EXAMPLE.replace("reply = [", "answer = [")).contains("'answer' is not a kind")
        );
        assert!(
            err(&EXAMPLE.replace("Europe/Rome", "Europe/Atlantis"))
                .contains("time.timezone: 'Europe/Atlantis'")
        );
        assert!(err(&EXAMPLE.replace("solved = [", "done = [")).contains("'done' is not a status"));
        assert!(
            err(&EXAMPLE.replace("kind = \"direction\"", ""))
                .contains("columns.kind or fixed.kind")
        );
        assert!(
            err(&EXAMPLE.replace("delimiter = \";\"", "delimiter = \"§\"")).contains("delimiter")
        );
        let x = csv_mapped(
            "ticket;created\nT;x\n".as_bytes(),
            &Mapping::from_toml(EXAMPLE).unwrap(),
            "t",
            |_| {},
        );
        assert!(
            x.rejected[0]
                .reason
                .starts_with("header lacks 'message_id' (columns.event_id)"),
            "{}",
            x.rejected[0].reason
        );
    }

    #[test]
    fn times_in_epoch_numbers_and_with_offsets() {
        let t = |format: &str, raw: &str| {
            parse_time(
                &TimeFormat {
                    format: format.into(),
                    timezone: Some("America/New_York".into()),
                },
                raw,
            )
        };
        assert_eq!(t("unix_s", "1772442000"), Ok(EventTime(1_772_442_000_000)));
        assert_eq!(
            t("unix_ms", "1772442000123"),
            Ok(EventTime(1_772_442_000_123))
        );
        assert_eq!(
            t("rfc3339", "2026-03-02T10:00:00+01:00"),
            Ok(EventTime(1_772_442_000_000))
        );
        // 04:00 in New York in early March (EST) is 09:00 UTC.
        assert_eq!(
            t("%Y-%m-%d %H:%M", "2026-03-02 04:00"),
            Ok(EventTime(1_772_442_000_000))
        );
        assert!(t("unix_s", "soon").is_err());
    }
}
