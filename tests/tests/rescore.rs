//! Re-scoring history against a Tansu broker process: `pronto sentiment rescore` finds the
//! range by publication time (offsets by timestamp), which the in-process mock cluster cannot.

use pronto_domain::EventTime;
use pronto_e2e::{Proc, free_ports, pronto_bin, start_broker, wait_ready};
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now() -> EventTime {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    EventTime(i64::try_from(ms).unwrap())
}

fn message(id: &str, conversation: &str, text: &str) -> Value {
    json!({
        "event_id": id, "tenant": "acme", "conversation_id": conversation,
        "occurred_at": "2026-03-02T09:00:00Z", "source": "test", "channel": "chat",
        "customer_message": {"text": text, "customer_id": "u1"}
    })
}

fn reply(id: &str, conversation: &str, text: &str) -> Value {
    json!({
        "event_id": id, "tenant": "acme", "conversation_id": conversation,
        "occurred_at": "2026-03-02T09:05:00Z", "source": "test", "channel": "chat",
        "reply_sent": {"text": text, "author_kind": "human", "visibility": "public", "agent_id": "a1"}
    })
}

/// Runs `pronto sentiment rescore` with `extra` flags; returns exit code, stdout and stderr.
fn rescore(brokers: &str, extra: &[&str]) -> (i32, String, String) {
    let out = Command::new(pronto_bin())
        .args(["sentiment", "rescore", "--brokers", brokers])
        .args(extra)
        .output()
        .expect("pronto runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescoring_reads_the_range_published_between_two_instants() {
    let dir = tempfile::tempdir().unwrap();
    let (_broker, brokers) = start_broker(dir.path());
    let [admin, http] = free_ports(2)[..] else {
        unreachable!()
    };
    let mut cmd = Command::new(pronto_bin());
    cmd.args(["ingest", "--brokers", &brokers, "--partitions", "2"])
        .args(["--admin-addr", &format!("127.0.0.1:{admin}")])
        .args(["--ingest-http-addr", &format!("127.0.0.1:{http}")])
        .args(["--ingest-grpc-addr", "127.0.0.1:0"])
        .env("RUST_LOG", "warn");
    let ingest = Proc::spawn("ingest", cmd, dir.path());
    assert!(
        wait_ready(
            &format!("http://127.0.0.1:{admin}/readyz"),
            Duration::from_secs(60)
        )
        .await,
        "ingest not ready: {}",
        ingest.log_text()
    );
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{http}/v1/events");
    let post = |body: Value| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let r = client.post(&url).json(&body).send().await.unwrap();
            assert!(r.status().is_success(), "{:?}", r.text().await);
        }
    };

    post(message("m1", "c1", "where is my parcel?")).await;
    post(reply("r1", "c1", "Tomorrow. ^GR")).await;
    post(message("m2", "c2", "Pessimo servizio!!!")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mark = now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    post(message("m3", "c3", "thanks, great help")).await;
    post(reply("r3", "c3", "You are welcome")).await;

    let summary = |out: &str| -> (u64, u64) {
        let line = out.lines().find(|l| l.starts_with("re-scored")).unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        let records = words[1].parse().unwrap();
        let tags = words[words.iter().position(|w| *w == "tags").unwrap() - 1]
            .parse()
            .unwrap();
        (records, tags)
    };
    let (code, out, err) = rescore(&brokers, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(summary(&out), (5, 5), "{out}");
    assert!(err.contains("rescoring: 5/5 records"), "{err}");

    let mark = mark.to_rfc3339();
    let (code, out, err) = rescore(&brokers, &["--to", &mark]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(summary(&out), (3, 3), "{out}");
    let (code, out, err) = rescore(&brokers, &["--from", &mark]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(summary(&out), (2, 2), "{out}");
    let (code, out, err) = rescore(&brokers, &["--from", &now().to_rfc3339()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(summary(&out), (0, 0), "{out}");

    let (code, _, err) = rescore(&brokers, &["--from", &mark, "--to", &mark]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--from must be before --to"), "{err}");
}
