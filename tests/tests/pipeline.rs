//! The whole pipeline, end to end: a Tansu broker process and the five services as separate
//! processes. Conversations go in over HTTP and gRPC, alongside bad input; the SLA service is
//! killed mid-stream and restarted; the report and escalations that come out are checked
//! against values computed here, directly from the events, by the semantics in PRODUCT.md.

use axum::http::HeaderMap;
use pronto_domain::{AuthorKind, Channel, Event, Payload, Visibility};
use pronto_e2e::{Proc, free_ports, pronto_bin, start_broker, wait_ready};
use pronto_proto::v1 as pb;
use pronto_sim::{SimConfig, generate};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Per channel: customer messages, answered, reply latencies, met, breached, and the
/// conversations left waiting for a reply.
#[derive(Debug, Default, Clone)]
struct Expected {
    unanswered: HashSet<String>,
    /// Human public replies, and those the sample signs ("^X" or "Name, Servizio Clienti").
    human_replies: u64,
    signed: u64,
    messages: u64,
    answered: u64,
    latencies: Vec<i64>,
    met: u64,
    breached: u64,
}

fn target_ms(c: Channel) -> i64 {
    match c {
        Channel::Phone => 5 * 60_000,
        Channel::Email => 24 * 3_600_000,
        _ => 3_600_000,
    }
}

/// Reply latency = first unanswered customer message to the next public human reply; any
/// public reply answers a message; a clock never answered breaches.
fn expected(events: &[Event]) -> BTreeMap<&'static str, Expected> {
    let mut by_conv: BTreeMap<String, Vec<&Event>> = BTreeMap::new();
    for e in events {
        by_conv
            .entry(e.key().as_str().to_string())
            .or_default()
            .push(e);
    }
    let mut out: BTreeMap<&'static str, Expected> = BTreeMap::new();
    for evs in by_conv.values() {
        let channel = evs[0].envelope.channel;
        let x = out.entry(channel.as_str()).or_default();
        let mut pending: Option<i64> = None;
        let mut waiting = 0u64;
        for e in evs {
            match &e.payload {
                Payload::CustomerMessage { .. } => {
                    x.messages += 1;
                    waiting += 1;
                    pending.get_or_insert(e.at().millis());
                }
                Payload::ReplySent {
                    author,
                    visibility,
                    text,
                    ..
                } if *visibility == Visibility::Public => {
                    if *author == AuthorKind::Human {
                        x.human_replies += 1;
                        let t = text.as_str();
                        x.signed += u64::from(t.contains(" ^") || t.contains("Servizio Clienti"));
                    }
                    x.answered += waiting;
                    waiting = 0;
                    if *author == AuthorKind::Human
                        && let Some(start) = pending.take()
                    {
                        let l = e.at().millis() - start;
                        x.latencies.push(l);
                        if l <= target_ms(channel) {
                            x.met += 1;
                        } else {
                            x.breached += 1;
                        }
                    }
                }
                _ => {}
            }
        }
        if pending.is_some() {
            x.breached += 1;
            x.unanswered
                .insert(evs[0].envelope.conversation_id.to_string());
        }
    }
    out
}

fn nearest_rank(v: &[i64], p: usize) -> i64 {
    let mut s = v.to_vec();
    s.sort();
    s[(p * s.len()).div_ceil(100).max(1) - 1]
}

struct Services {
    dir: tempfile::TempDir,
    pronto: std::path::PathBuf,
    brokers: String,
    ports: HashMap<&'static str, u16>,
}

impl Services {
    fn spawn(&self, svc: &'static str) -> Proc {
        let mut cmd = Command::new(&self.pronto);
        cmd.arg(svc)
            .args(["--brokers", &self.brokers, "--partitions", "3"])
            .args([
                "--admin-addr",
                &format!("127.0.0.1:{}", self.ports[&*format!("{svc}-admin")]),
            ])
            .env("RUST_LOG", "info,rdkafka=warn");
        match svc {
            "ingest" => {
                cmd.args([
                    "--ingest-http-addr",
                    &format!("127.0.0.1:{}", self.ports["ingest-http"]),
                ]);
                cmd.args([
                    "--ingest-grpc-addr",
                    &format!("127.0.0.1:{}", self.ports["ingest-grpc"]),
                ]);
            }
            "sla" => {
                cmd.args(["--idle-advance", "8s", "--allowed-lateness", "5s"]);
            }
            "escalation" => {
                cmd.args([
                    "--escalation-grpc-addr",
                    &format!("127.0.0.1:{}", self.ports["escalation-grpc"]),
                ]);
                cmd.args([
                    "--webhook",
                    &format!("http://127.0.0.1:{}/hook", self.ports["webhook"]),
                ]);
            }
            "reporting" => {
                cmd.args([
                    "--reporting-http-addr",
                    &format!("127.0.0.1:{}", self.ports["reporting-http"]),
                ]);
                cmd.args([
                    "--reporting-grpc-addr",
                    &format!("127.0.0.1:{}", self.ports["reporting-grpc"]),
                ]);
            }
            _ => {}
        }
        Proc::spawn(svc, cmd, self.dir.path())
    }

    fn url(&self, port: &str, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.ports[port])
    }
}

async fn post(client: &reqwest::Client, url: &str, body: Value) -> (u16, Value) {
    let r = client
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("ingest answers");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let r = client.get(url).send().await.expect("the service answers");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn detail_paths(v: &Value) -> Vec<String> {
    v["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|x| x["path"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conversations_in_report_out_through_five_processes() {
    let dir = tempfile::tempdir().unwrap();
    let (_broker, brokers) = start_broker(dir.path());
    let names = [
        "ingest-admin",
        "sentiment-admin",
        "sla-admin",
        "escalation-admin",
        "reporting-admin",
        "ingest-http",
        "ingest-grpc",
        "escalation-grpc",
        "reporting-http",
        "reporting-grpc",
        "webhook",
    ];
    let ports: HashMap<&'static str, u16> =
        names.iter().copied().zip(free_ports(names.len())).collect();
    let s = Services {
        dir,
        pronto: pronto_bin(),
        brokers,
        ports,
    };

    // A webhook receiver that records every escalation id it is sent (withdrawals, which a
    // late SLA correction may cause, are deliveries of their own).
    let hooks: Arc<Mutex<Vec<String>>> = Arc::default();
    {
        let hooks = Arc::clone(&hooks);
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |h: HeaderMap, body: String| {
                let hooks = Arc::clone(&hooks);
                async move {
                    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                    let id = h
                        .get("pronto-escalation-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    if v["type"] == "escalation.withdrawn" {
                        assert!(id.starts_with("wdr-"), "{id}");
                        return "ok";
                    }
                    assert_eq!(v["type"], "escalation.raised");
                    assert_eq!(v["escalation_id"].as_str(), Some(id.as_str()));
                    hooks.lock().unwrap().push(id);
                    "ok"
                }
            }),
        );
        let l = tokio::net::TcpListener::bind(("127.0.0.1", s.ports["webhook"]))
            .await
            .unwrap();
        tokio::spawn(async move { axum::serve(l, app).await });
    }

    let _ingest = s.spawn("ingest");
    let _sentiment = s.spawn("sentiment");
    let mut sla = Some(s.spawn("sla"));
    let mut escalation = Some(s.spawn("escalation"));
    let _reporting = s.spawn("reporting");
    for svc in ["ingest", "sentiment", "sla", "escalation", "reporting"] {
        let url = s.url(&format!("{svc}-admin"), "/readyz");
        assert!(
            wait_ready(&url, Duration::from_secs(60)).await,
            "{svc} not ready"
        );
    }

    // Every gRPC server answers the standard health check.
    for (port, service) in [
        ("ingest-grpc", "pronto.v1.IngestService"),
        ("reporting-grpc", "pronto.v1.ReportingService"),
        ("escalation-grpc", "pronto.v1.EscalationService"),
    ] {
        let channel = tonic::transport::Channel::from_shared(s.url(port, ""))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut h = tonic_health::pb::health_client::HealthClient::new(channel);
        let status = h
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(
            status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
            "{service}"
        );
    }

    let events = generate(&SimConfig {
        seed: 11,
        conversations: 80,
        ..SimConfig::default()
    });
    let want = expected(&events);
    let client = reqwest::Client::new();
    let ingest_url = s.url("ingest-http", "/v1/events");
    let mut grpc = pronto_grpc::IngestServiceClient::connect(s.url("ingest-grpc", ""))
        .await
        .unwrap();

    // Bad input, each refused with the field and the reason, and nothing of it written.
    let good = events[0].to_json();
    let mut bad_channel = good.clone();
    bad_channel["channel"] = json!("sms");
    bad_channel["event_id"] = json!("bad-1");
    let mut bad_time = good.clone();
    bad_time["occurred_at"] = json!("2026-13-45 25:00");
    bad_time["event_id"] = json!("bad-2");
    let mut huge = good.clone();
    huge["event_id"] = json!("bad-3");
    huge["customer_message"] = json!({"text": "x".repeat(70_000), "customer_id": "u"});
    huge["assignment_changed"] = Value::Null;
    let mut no_ids = good.clone();
    no_ids.as_object_mut().unwrap().remove("event_id");
    no_ids.as_object_mut().unwrap().remove("conversation_id");
    let cases = [
        (json!(bad_channel), vec!["channel"]),
        (json!(bad_time), vec!["occurred_at"]),
        (json!(no_ids), vec!["event_id", "conversation_id"]),
        (
            json!({"events": [good.clone(), bad_channel.clone()]}),
            vec!["events[1].channel"],
        ),
    ];
    for (body, paths) in cases {
        let (status, v) = post(&client, &ingest_url, body).await;
        assert_eq!(status, 400, "{v}");
        assert_eq!(detail_paths(&v), paths, "{v}");
    }
    let (status, v) = post(&client, &ingest_url, json!({"events": [huge]})).await;
    assert_eq!(status, 400);
    assert!(
        detail_paths(&v)
            .iter()
            .any(|p| p == "events[0].customer_message.text" || p == "events[0].payload"),
        "{v}"
    );
    let r = client
        .post(&ingest_url)
        .header("content-type", "application/json")
        .body("{\"event_id\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "malformed JSON");
    // gRPC: an unknown channel number is INVALID_ARGUMENT with a BadRequest detail.
    let mut pbe = pb::Event::from(&events[0]);
    pbe.envelope.as_mut().unwrap().channel = 42;
    pbe.envelope.as_mut().unwrap().event_id = "bad-4".into();
    let err = grpc
        .publish(pb::PublishRequest { event: Some(pbe) })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    use tonic_types::StatusExt;
    let br = err.get_details_bad_request().expect("BadRequest detail");
    assert_eq!(br.field_violations[0].field, "channel");
    assert!(br.field_violations[0].description.contains("'42'"));

    // Valid events: alternate HTTP and gRPC batches; crash the SLA service half way.
    let half = events.len() / 2;
    let publish = |chunk: Vec<Event>, i: usize| {
        let client = client.clone();
        let url = ingest_url.clone();
        let mut grpc = grpc.clone();
        async move {
            if i.is_multiple_of(2) {
                let body: Vec<Value> = chunk.iter().map(|e| e.to_json()).collect();
                let (status, v) = post(&client, &url, json!({ "events": body })).await;
                assert_eq!(status, 200, "{v}");
                assert_eq!(v["accepted"].as_u64(), Some(chunk.len() as u64));
            } else {
                let req = pb::PublishBatchRequest {
                    events: chunk.iter().map(pb::Event::from).collect(),
                };
                let r = grpc.publish_batch(req).await.unwrap().into_inner();
                assert_eq!(r.receipts.len(), chunk.len());
            }
        }
    };
    for (i, chunk) in events[..half].chunks(40).enumerate() {
        publish(chunk.to_vec(), i).await;
    }
    // Let the SLA service work part of the way, then crash it.
    tokio::time::sleep(Duration::from_millis(700)).await;
    sla.take().unwrap().crash();
    for (i, chunk) in events[half..].chunks(40).enumerate() {
        publish(chunk.to_vec(), i + 1).await;
    }
    // A client retry of an already accepted batch changes nothing.
    publish(events[..40].to_vec(), 0).await;
    let sla = s.spawn("sla");
    // Restart the escalation service too: what it raised before is not raised again.
    escalation
        .take()
        .unwrap()
        .terminate(Duration::from_secs(15));
    let _escalation = s.spawn("escalation");
    assert!(
        wait_ready(
            &s.url("escalation-admin", "/readyz"),
            Duration::from_secs(60)
        )
        .await
    );

    // Wait until the report holds every verdict.
    let total_clocks: u64 = want.values().map(|x| x.met + x.breached).sum();
    let total_msgs: u64 = want.values().map(|x| x.messages).sum();
    let total_replies: u64 = want.values().map(|x| x.human_replies).sum();
    let report_url = s.url("reporting-http", "/v1/report?group_by=channel");
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut quiet_polls = 0;
    let mut last_seen = 0;
    let report = loop {
        let r: Value = client
            .get(&report_url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let t = &r["total"];
        let tagged = [
            "sentiment_positive",
            "sentiment_neutral",
            "sentiment_negative",
        ]
        .iter()
        .map(|k| t[*k].as_u64().unwrap_or(0))
        .sum::<u64>();
        let done = t["customer_messages"].as_u64() == Some(total_msgs)
            && tagged == total_msgs
            && t["tagged_replies"].as_u64() == Some(total_replies)
            && t["sla_met"].as_u64().unwrap_or(0) + t["sla_breached"].as_u64().unwrap_or(0)
                == total_clocks;
        // Complete, and no new fact for 3 s: late escalations and any duplicate would show.
        let seen = r["facts_seen"].as_u64().unwrap_or(0);
        quiet_polls = if done && seen == last_seen {
            quiet_polls + 1
        } else {
            0
        };
        last_seen = seen;
        if quiet_polls >= 6 {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "report incomplete: {t}\nSLA log:\n{}",
            sla.log_text()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };

    // The same report as CSV, by month in Rome: one row per channel and month, and the
    // total; and a time zone that does not exist is a 400 naming the parameter.
    let csv = client
        .get(s.url(
            "reporting-http",
            "/v1/report?group_by=channel,bucket&bucket=month&tz=Europe/Rome&format=csv",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status().as_u16(), 200);
    assert_eq!(
        csv.headers()["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    let csv = csv.text().await.unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("channel,bucket,customer_messages,")
    );
    let body: Vec<&str> = lines.collect();
    assert!(body.last().unwrap().starts_with("total,,"));
    let in_csv: u64 = body[..body.len() - 1]
        .iter()
        .map(|l| l.split(',').nth(2).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(in_csv, total_msgs);
    // Drill-down: each channel's breached figure leads to the conversations holding as many
    // breached clocks.
    for row in report["rows"].as_array().unwrap() {
        let channel = row["keys"][0].as_str().unwrap();
        let url = format!("/v1/report/conversations?figure=sla_breached&channel={channel}");
        let (status, d) = get(&client, &s.url("reporting-http", &url)).await;
        assert_eq!(status, 200);
        assert_eq!(d["count"], row["sla_breached"], "{channel}: {d}");
        let listed: u64 = d["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["records"].as_u64().unwrap())
            .sum();
        assert_eq!(Some(listed), row["sla_breached"].as_u64(), "{channel}");
    }
    for (query, field) in [
        ("/v1/report/conversations?figure=happiness", "figure"),
        ("/v1/report?tz=Mars/Olympus", "tz"),
    ] {
        let (status, err) = get(&client, &s.url("reporting-http", query)).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(detail_paths(&err), [field]);
    }

    for (channel, x) in &want {
        let row = report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["keys"][0] == *channel)
            .unwrap_or_else(|| panic!("no row for {channel}"));
        assert_eq!(
            row["customer_messages"].as_u64(),
            Some(x.messages),
            "{channel} messages"
        );
        assert_eq!(
            row["answered_messages"].as_u64(),
            Some(x.answered),
            "{channel} answered"
        );
        assert_eq!(
            row["reply_calendar"]["count"].as_u64(),
            Some(x.latencies.len() as u64),
            "{channel} latencies"
        );
        assert_eq!(row["sla_met"].as_u64(), Some(x.met), "{channel} met");
        assert_eq!(
            row["human_replies"].as_u64(),
            Some(x.human_replies),
            "{channel} replies"
        );
        assert_eq!(
            row["signed_replies"].as_u64(),
            Some(x.signed),
            "{channel} signed"
        );
        assert_eq!(
            row["tagged_replies"].as_u64(),
            Some(x.human_replies),
            "{channel} reply tags"
        );
        assert_eq!(
            row["sla_breached"].as_u64(),
            Some(x.breached),
            "{channel} breached"
        );
        if !x.latencies.is_empty() {
            for p in [50, 90, 99] {
                assert_eq!(
                    row["reply_calendar"][format!("p{p}_ms")].as_i64(),
                    Some(nearest_rank(&x.latencies, p)),
                    "{channel} p{p}"
                );
            }
        }
    }

    // The gRPC face reports the same totals.
    let mut rep = pronto_grpc::ReportingServiceClient::connect(s.url("reporting-grpc", ""))
        .await
        .unwrap();
    let g = rep
        .get_report(pb::ReportRequest {
            group_by: vec![pb::Dimension::Channel as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let gt = g.total.unwrap();
    assert_eq!(gt.customer_messages, total_msgs);
    assert_eq!(gt.sla_met + gt.sla_breached, total_clocks);

    // Escalations: one per breach fact and per unhappy message, each streamed and posted once.
    let mut esc = pronto_grpc::EscalationServiceClient::connect(s.url("escalation-grpc", ""))
        .await
        .unwrap();
    let mut stream = esc
        .watch_escalations(pb::WatchEscalationsRequest {
            include_existing: true,
        })
        .await
        .unwrap()
        .into_inner();
    let reported = report["total"]["escalations"].as_u64().unwrap();
    let mut streamed = HashSet::new();
    let mut breach_convs = HashSet::new();
    while streamed.len() < reported as usize {
        let ev = tokio::time::timeout(Duration::from_secs(20), stream.message())
            .await
            .expect("stream keeps up")
            .unwrap()
            .unwrap();
        if let Some(pb::escalation_event::Event::Raised(r)) = ev.event {
            assert!(
                streamed.insert(r.escalation_id.clone()),
                "escalation streamed twice"
            );
            if r.rule == "sla-breach" {
                breach_convs.insert(r.context.unwrap().conversation_id);
            }
        }
    }
    let unanswered: u64 = want.values().map(|x| x.breached).sum::<u64>()
        - want
            .values()
            .map(|x| x.latencies.len() as u64 - x.met)
            .sum::<u64>();
    assert!(
        breach_convs.len() as u64 >= unanswered.min(1),
        "breaches escalate"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while hooks.lock().unwrap().len() < streamed.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let posted_list = hooks.lock().unwrap().clone();
    let posted: HashSet<String> = posted_list.iter().cloned().collect();
    assert_eq!(posted, streamed, "every escalation reached the webhook");
    assert_eq!(
        posted.len(),
        posted_list.len(),
        "no escalation was posted twice"
    );

    // The restarted SLA service rebuilt its state from the log.
    let metrics = client
        .get(s.url("sla-admin", "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let restores: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("pronto_sla_restores_total "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(
        restores >= 1,
        "no engine was restored from the log:\n{metrics}"
    );

    // Acknowledge one over the API; a second acknowledge is refused.
    let id = streamed.iter().next().unwrap().clone();
    esc.acknowledge(pb::AcknowledgeRequest {
        escalation_id: id.clone(),
        by: "lead-1".into(),
    })
    .await
    .unwrap();
    let again = esc
        .acknowledge(pb::AcknowledgeRequest {
            escalation_id: id,
            by: "lead-1".into(),
        })
        .await;
    assert_eq!(again.unwrap_err().code(), tonic::Code::FailedPrecondition);

    // The restarted SLA service stops cleanly on SIGTERM.
    assert!(
        sla.terminate(Duration::from_secs(15)),
        "SLA service did not drain on SIGTERM"
    );
}
