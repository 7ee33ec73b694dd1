//! History import: rows of CSV or JSON Lines turned into validated events, with every row
//! refused and why. Pure: it reads from the reader it is given and returns events; publishing
//! them is the caller's.
//!
//! Three layouts:
//! - **JSON Lines**: one event per line, exactly as `POST /v1/events` takes it.
//! - **CSV through a column mapping** ([`Mapping`]): one row per event, any columns.
//! - **Customer Support on Twitter** (`twcs`): `tweet_id, author_id, inbound, created_at,
//!   text, response_tweet_id, in_response_to_tweet_id`. Threads are rebuilt from the reply
//!   ids (a conversation per first tweet whose parent is not in the file), inbound tweets
//!   become customer messages, outbound ones human public replies by the brand account, and
//!   the brand (the author of the thread's first outbound tweet) is the conversation's queue.

mod mapped;

pub use mapped::{Columns, Fixed, Mapping, TimeFormat, csv_mapped};
use pronto_domain::{Event, EventTime, Limits, RawEvent};
use std::collections::HashMap;
use std::io::{BufRead, Read};

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// 1-based, counting the header of a CSV file as row 1.
    pub row: usize,
    pub reason: String,
}

/// What an import read.
#[derive(Debug, Default)]
pub struct Import {
    /// Rows read (without a CSV header).
    pub rows: usize,
    /// Events in the order to publish them (each conversation's in time order).
    pub events: Vec<Event>,
    pub rejected: Vec<Rejected>,
}

/// Past history is accepted whatever the clock says now.
fn limits() -> Limits {
    Limits {
        max_future_ms: i64::MAX,
        ..Limits::default()
    }
}

/// An event from its JSON form, validated as ingest does; `Err` names the fields at fault.
fn event(raw: Result<RawEvent, serde_json::Error>) -> Result<Event, String> {
    raw.map_err(|e| e.to_string()).and_then(|raw| {
        raw.validate(EventTime(0), &limits())
            .map_err(|e| e.to_string())
    })
}

/// Reads events from JSON Lines, one as `POST /v1/events` takes it per line; blank lines are
/// skipped. `progress(rows)` is called as lines are read.
pub fn json_lines(reader: impl Read, mut progress: impl FnMut(usize)) -> Import {
    let mut out = Import::default();
    for (i, line) in std::io::BufReader::new(reader).lines().enumerate() {
        let row = i + 1;
        let Ok(line) = line.map_err(|e| {
            out.rejected.push(Rejected {
                row,
                reason: e.to_string(),
            })
        }) else {
            break;
        };
        if line.trim().is_empty() {
            continue;
        }
        out.rows += 1;
        match event(serde_json::from_str(&line)) {
            Ok(e) => out.events.push(e),
            Err(reason) => out.rejected.push(Rejected { row, reason }),
        }
        progress(out.rows);
    }
    out
}

/// A CSV reader past its header, and the header; `Err` is the import that refuses a file
/// with none.
fn with_header<R: Read>(
    reader: R,
    delimiter: u8,
) -> Result<(csv::Reader<R>, csv::StringRecord), Import> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(reader);
    match csv.headers() {
        Ok(h) => {
            let h = h.clone();
            Ok((csv, h))
        }
        Err(e) => Err(Import {
            rejected: vec![Rejected {
                row: 1,
                reason: format!("no header: {e}"),
            }],
            ..Import::default()
        }),
    }
}

/// One tweet of the file.
struct Tweet {
    row: usize,
    id: String,
    author: String,
    inbound: bool,
    at: EventTime,
    text: String,
    parent: Option<String>,
}

/// `192625.0` and `192625` name the same tweet.
fn tweet_id(s: &str) -> String {
    s.trim().trim_end_matches(".0").to_string()
}

/// Reads the Customer Support on Twitter layout; events go to `tenant`.
pub fn twcs(reader: impl Read, tenant: &str, mut progress: impl FnMut(usize)) -> Import {
    let mut out = Import::default();
    let (mut csv, headers) = match with_header(reader, b',') {
        Ok(opened) => opened,
        Err(refused) => return refused,
    };
    let col = |name: &str| headers.iter().position(|h| h == name);
    let needed = [
        "tweet_id",
        "author_id",
        "inbound",
        "created_at",
        "text",
        "in_response_to_tweet_id",
    ];
    let missing: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|n| col(n).is_none())
        .collect();
    if !missing.is_empty() {
        out.rejected.push(Rejected {
            row: 1,
            reason: format!("header lacks {}", missing.join(", ")),
        });
        return out;
    }
    let [id_c, author_c, inbound_c, at_c, text_c, parent_c] = needed.map(|n| col(n).unwrap_or(0));
    let mut tweets: Vec<Tweet> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, record) in csv.records().enumerate() {
        let row = i + 2;
        out.rows += 1;
        progress(out.rows);
        let Ok(r) = record.map_err(|e| {
            out.rejected.push(Rejected {
                row,
                reason: e.to_string(),
            })
        }) else {
            continue;
        };
        let field = |c: usize| r.get(c).unwrap_or("").trim();
        let id = tweet_id(field(id_c));
        let reject = |reason: String| Rejected { row, reason };
        if id.is_empty() {
            out.rejected.push(reject("tweet_id: is empty".into()));
            continue;
        }
        if let Some(first) = seen.get(&id) {
            out.rejected
                .push(reject(format!("tweet_id: {id} already on row {first}")));
            continue;
        }
        let inbound = match field(inbound_c) {
            "True" | "true" => true,
            "False" | "false" => false,
            other => {
                out.rejected
                    .push(reject(format!("inbound: '{other}' is not True or False")));
                continue;
            }
        };
        let at = match chrono::DateTime::parse_from_str(field(at_c), "%a %b %d %H:%M:%S %z %Y") {
            Ok(t) => EventTime(t.timestamp_millis()),
            Err(e) => {
                out.rejected.push(reject(format!(
                    "created_at: '{}' is not like 'Tue Oct 31 22:10:47 +0000 2017' ({e})",
                    field(at_c)
                )));
                continue;
            }
        };
        let parent = Some(tweet_id(field(parent_c))).filter(|p| !p.is_empty());
        seen.insert(id.clone(), row);
        tweets.push(Tweet {
            row,
            id,
            author: field(author_c).to_string(),
            inbound,
            at,
            text: field(text_c).to_string(),
            parent,
        });
    }

    // Threads: each tweet belongs to the first tweet up its reply chain that is in the file.
    let index: HashMap<&str, usize> = tweets
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.as_str(), i))
        .collect();
    let root = |mut i: usize| {
        let mut hops = 0;
        while let Some(p) = tweets[i].parent.as_deref().and_then(|p| index.get(p)) {
            i = *p;
            hops += 1;
            if hops > tweets.len() {
                break; // a cycle in the file: stop where we are
            }
        }
        i
    };
    let mut threads: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut slot: HashMap<usize, usize> = HashMap::new();
    for i in 0..tweets.len() {
        let r = root(i);
        let k = *slot.entry(r).or_insert_with(|| {
            threads.push((r, Vec::new()));
            threads.len() - 1
        });
        threads[k].1.push(i);
    }
    for (r, mut members) in threads {
        members
            .sort_by(|a, b| (tweets[*a].at, &tweets[*a].id).cmp(&(tweets[*b].at, &tweets[*b].id)));
        let conversation = format!("tw-{}", tweets[r].id);
        let start = members.first().map_or(tweets[r].at, |m| tweets[*m].at);
        let brand = members
            .iter()
            .map(|m| &tweets[*m])
            .find(|t| !t.inbound)
            .map(|t| t.author.clone());
        let envelope = |id: String, at: EventTime| {
            serde_json::json!({
                "event_id": id, "tenant": tenant, "conversation_id": conversation,
                "occurred_at": at.to_rfc3339(), "source": "import-twcs", "channel": "twitter",
            })
        };
        let push = |row: usize, json: serde_json::Value, out: &mut Import| match event(
            serde_json::from_value(json),
        ) {
            Ok(e) => out.events.push(e),
            Err(reason) => out.rejected.push(Rejected { row, reason }),
        };
        if let Some(brand) = &brand {
            // The brand answers this thread: its queue from the start.
            let mut v = envelope(format!("{conversation}-queue"), start.plus_millis(-1));
            v["assignment_changed"] = serde_json::json!({ "queue": brand });
            push(tweets[r].row, v, &mut out);
        }
        for m in members {
            let t = &tweets[m];
            let mut v = envelope(format!("tw-{}", t.id), t.at);
            if t.inbound {
                v["customer_message"] =
                    serde_json::json!({ "text": t.text, "customer_id": t.author });
            } else {
                v["reply_sent"] = serde_json::json!({
                    "text": t.text, "author_kind": "human", "visibility": "public",
                    "agent_id": t.author,
                });
            }
            push(t.row, v, &mut out);
        }
    }
    out.rejected.sort_by_key(|r| r.row);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pronto_domain::Payload;

    // Hand-written in the layout of the public dataset; ids and texts are our own.
    const FILE: &str = "\
tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id
10,555,True,Mon Oct 02 10:00:00 +0000 2017,@AcmeHelp my order is late,11,
11,AcmeHelp,False,Mon Oct 02 10:05:00 +0000 2017,@555 Sorry! Can you DM us? ^JD,12,10.0
12,555,True,Mon Oct 02 10:07:00 +0000 2017,@AcmeHelp done,13,11.0
13,AcmeHelp,False,Mon Oct 02 10:37:00 +0000 2017,@555 Thanks - on its way,,12.0
20,777,True,Tue Oct 03 09:00:00 +0000 2017,@AcmeHelp hello?,,99.0
21,777,maybe,Tue Oct 03 09:01:00 +0000 2017,@AcmeHelp ??,,20
22,777,True,yesterday,@AcmeHelp !!,,20
10,555,True,Mon Oct 02 10:00:00 +0000 2017,@AcmeHelp duplicate,,
";

    #[test]
    fn threads_are_rebuilt_from_reply_ids_with_the_brand_as_queue() {
        let mut seen = 0;
        let x = twcs(FILE.as_bytes(), "acme", |n| seen = n);
        assert_eq!((x.rows, seen), (8, 8));
        let rejected: Vec<(usize, &str)> = x
            .rejected
            .iter()
            .map(|r| (r.row, r.reason.split(':').next().unwrap()))
            .collect();
        assert_eq!(
            rejected,
            [(7, "inbound"), (8, "created_at"), (9, "tweet_id")]
        );
        let ids: Vec<(&str, &str)> = x
            .events
            .iter()
            .map(|e| (e.envelope.conversation_id.as_str(), e.id()))
            .collect();
        assert_eq!(
            ids,
            [
                ("tw-10", "tw-10-queue"),
                ("tw-10", "tw-10"),
                ("tw-10", "tw-11"),
                ("tw-10", "tw-12"),
                ("tw-10", "tw-13"),
                // Its parent is not in the file: a conversation of its own, no brand yet.
                ("tw-20", "tw-20"),
            ]
        );
        assert!(matches!(
            &x.events[0].payload,
            Payload::AssignmentChanged { queue: Some(q), .. } if q.as_str() == "AcmeHelp"
        ));
        assert!(matches!(
            &x.events[2].payload,
            Payload::ReplySent { agent_id: Some(a), .. } if a.as_str() == "AcmeHelp"
        ));
        assert_eq!(x.events[1].at().to_rfc3339(), "2017-10-02T10:00:00.000Z");
    }

    #[test]
    fn a_file_without_the_layout_is_refused_on_its_header() {
        let x = twcs("a,b\n1,2\n".as_bytes(), "acme", |_| {});
        assert_eq!(x.rejected.len(), 1);
        assert!(x.rejected[0].reason.contains("header lacks tweet_id"));
        assert!(x.events.is_empty());
    }

    #[test]
    fn json_lines_take_events_as_the_api_does() {
        let file = r#"{"event_id":"e1","tenant":"acme","conversation_id":"c1","occurred_at":"2017-10-02T10:00:00Z","source":"crm","channel":"email","customer_message":{"text":"hi","customer_id":"u1"}}

{"event_id":"e2","tenant":"acme","conversation_id":"c1","occurred_at":"2017-10-02T10:05:00Z","source":"crm","channel":"fax","reply_sent":{"text":"hello","agent_id":"a1"}}
not json
"#;
        let x = json_lines(file.as_bytes(), |_| {});
        assert_eq!((x.rows, x.events.len()), (3, 1));
        assert_eq!(x.rejected[0].row, 3);
        assert!(
            x.rejected[0].reason.contains("channel"),
            "{}",
            x.rejected[0].reason
        );
        assert_eq!(x.rejected[1].row, 4);
    }
}
