//! What the live services published equals what `pronto replay` derives from the same topics.
//!
//! Conversations are published in real time through the ingest service (each event stamped
//! with the moment it is sent); the sentiment, SLA and escalation services derive their facts
//! as they come, warnings and breaches fired by the wall clock. Once every deadline before an
//! instant has passed, `pronto replay --check-live --until` that instant reads the same topics
//! and finds the same facts, the same digest. A service that did not see part of the input
//! shows up as a difference.

use pronto_e2e::{Proc, free_ports, pronto_bin, run_pronto as pronto, start_broker, wait_ready};
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now_ms() -> i64 {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    i64::try_from(ms).unwrap()
}

fn rfc3339(ms: i64) -> String {
    pronto_domain::EventTime(ms).to_rfc3339()
}

/// An event of conversation `c` at this moment.
fn event(id: &str, c: &str, payload: (&str, Value)) -> Value {
    let mut v = json!({
        "event_id": id, "tenant": "acme", "conversation_id": c,
        "occurred_at": rfc3339(now_ms()), "source": "test", "channel": "chat",
    });
    v[payload.0] = payload.1;
    v
}

/// A message from the conversation's own customer (one customer writing in several
/// conversations would be a repeat contact).
fn message(c: &str, text: &str) -> (&'static str, Value) {
    (
        "customer_message",
        json!({"text": text, "customer_id": format!("u-{c}")}),
    )
}

fn reply() -> (&'static str, Value) {
    (
        "reply_sent",
        json!({"text": "Done - Giulia", "author_kind": "human", "visibility": "public", "agent_id": "a1"}),
    )
}

struct Stack {
    dir: tempfile::TempDir,
    brokers: String,
}

impl Stack {
    /// Starts `svc` and waits until it is ready.
    async fn start(&self, svc: &str, extra: &[String]) -> Proc {
        let [admin] = free_ports(1)[..] else {
            unreachable!()
        };
        let mut cmd = Command::new(pronto_bin());
        cmd.arg(svc)
            .args(["--brokers", &self.brokers, "--partitions", "2"])
            .args(["--admin-addr", &format!("127.0.0.1:{admin}")])
            .args(extra)
            .env("RUST_LOG", "warn");
        let p = Proc::spawn(svc, cmd, self.dir.path());
        let ready = format!("http://127.0.0.1:{admin}/readyz");
        assert!(
            wait_ready(&ready, Duration::from_secs(60)).await,
            "{svc} not ready: {}",
            p.log_text()
        );
        p
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_facts_are_the_replay_of_the_same_topics() {
    let dir = tempfile::tempdir().unwrap();
    let (_broker, brokers) = start_broker(dir.path());
    // Chat answered within 3 seconds, a warning at half of it: verdicts within the test.
    let policy = dir.path().join("fast.toml");
    let text = include_str!("../../crates/pronto-sla/src/default_policy.toml")
        .replacen("name = \"default\"", "name = \"fast\"", 1)
        .replacen(
            "[targets.chat]\nfirst_reply = \"1h\"\nnext_reply = \"1h\"",
            "[targets.chat]\nfirst_reply = \"3s\"\nnext_reply = \"3s\"",
            1,
        );
    std::fs::write(&policy, text).unwrap();
    let stack = Stack { dir, brokers };
    let [http] = free_ports(1)[..] else {
        unreachable!()
    };
    let http_addr = format!("127.0.0.1:{http}");
    let _ingest = stack
        .start(
            "ingest",
            &[
                "--ingest-http-addr".into(),
                http_addr.clone(),
                "--ingest-grpc-addr".into(),
                "127.0.0.1:0".into(),
            ],
        )
        .await;
    let _sentiment = stack.start("sentiment", &[]).await;
    let sla = stack
        .start(
            "sla",
            &[
                "--policy".into(),
                policy.to_str().unwrap().into(),
                "--allowed-lateness".into(),
                "1s".into(),
            ],
        )
        .await;
    let _escalation = stack
        .start(
            "escalation",
            &["--escalation-grpc-addr".into(), "127.0.0.1:0".into()],
        )
        .await;
    // The SLA service takes its policy over 5 seconds after publishing it.
    tokio::time::sleep(Duration::from_secs(6)).await;

    let client = reqwest::Client::new();
    let url = format!("http://{http_addr}/v1/events");
    let post = |events: Vec<Value>| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let r = client
                .post(&url)
                .json(&json!({ "events": events }))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{:?}", r.text().await);
        }
    };
    // Nine conversations: three answered in time, three answered late, three never; one
    // customer of each is angry.
    let convs: Vec<String> = (0..9).map(|i| format!("c{i}")).collect();
    post(
        convs
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let text = if i % 3 == 0 {
                    "This is terrible, I am furious!!!"
                } else {
                    "Where is my order?"
                };
                event(&format!("m-{c}"), c, message(c, text))
            })
            .collect(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    post(
        convs
            .iter()
            .step_by(3)
            .map(|c| event(&format!("r-{c}"), c, reply()))
            .collect(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(3000)).await;
    post(
        convs
            .iter()
            .skip(1)
            .step_by(3)
            .map(|c| event(&format!("r-{c}"), c, reply()))
            .collect(),
    )
    .await;
    // Every deadline before `until` has passed, and the services' lateness and grace with it.
    let until = now_ms() + 4_000;
    tokio::time::sleep(Duration::from_millis(9_000)).await;

    let replay = |until: i64| {
        pronto(&[
            "replay",
            "--brokers",
            &stack.brokers,
            "--check-live",
            "--until",
            &rfc3339(until),
            "--allowed-lateness",
            "1s",
            "--json",
        ])
    };
    let (code, out, err) = replay(until);
    let v: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
    assert_eq!(code, 0, "{err}\n{:#}", v["live"]);
    let live = &v["live"];
    assert_eq!(live["same"], true, "{live:#}");
    assert_eq!(live["digest"], v["digest"]);
    assert_eq!(live["records_undecodable"], 0, "{err}");
    // Each topic read to its end: "reading TOPIC: n/n records (0 undecodable)".
    for topic in [
        "pronto.sla.v1",
        "pronto.sentiment.v1",
        "pronto.escalations.v1",
    ] {
        let whole = err.split(['\r', '\n']).any(|l| {
            l.strip_prefix(&format!("reading {topic}: "))
                .and_then(|rest| rest.split_once('/'))
                .is_some_and(|(read, rest)| {
                    read.parse::<u64>().is_ok_and(|n| n > 0)
                        && rest == format!("{read} records (0 undecodable)")
                })
        });
        assert!(whole, "{topic}: {err}");
    }
    // Tags of 15 messages and replies, 9 clocks (3 met, 3 late, 3 breached with warnings),
    // and escalations for the breaches and the angry customers.
    let sla_facts = v["sla_facts"].as_u64().unwrap();
    assert!(sla_facts >= 9 + 6 + 9, "{v}");
    assert!(v["escalations"].as_u64().unwrap() >= 6, "{v}");
    assert_eq!(
        live["facts"].as_u64(),
        Some(
            sla_facts + v["sentiment_tags"].as_u64().unwrap() + v["escalations"].as_u64().unwrap()
        )
    );

    // The SLA service stops; a conversation comes that only the replay knows of, and a record
    // on the SLA topic that cannot be decoded.
    assert!(sla.terminate(Duration::from_secs(15)));
    pronto_kafka::Publisher::new(&stack.brokers)
        .unwrap()
        .publish(
            "pronto.sla.v1",
            "c-late",
            b"not a fact",
            "pronto.v1.SlaFact",
        )
        .await
        .unwrap();
    post(vec![event("m-late", "c-late", message("c-late", "hello?"))]).await;
    tokio::time::sleep(Duration::from_millis(5_000)).await;
    let (code, out, err) = replay(now_ms() - 500);
    assert_eq!(code, 1, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let only_replayed: Vec<&str> = v["live"]["only_replayed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    // Its warning and breach: verdicts no live service announced.
    assert!(
        only_replayed.iter().any(|x| x.starts_with("sla brk-")),
        "{only_replayed:?}"
    );
    assert!(v["live"]["only_live"].as_array().unwrap().is_empty(), "{v}");
    assert_eq!(v["live"]["records_undecodable"], 1, "{v}");
    assert_ne!(v["live"]["digest"], v["digest"]);
}
