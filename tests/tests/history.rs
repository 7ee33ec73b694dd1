//! Commands that read history from a Tansu broker process: `pronto sentiment rescore` and
//! `pronto replay` find their range by publication time (offsets by timestamp, which the
//! in-process mock cluster lacks), and `pronto sla explain` tells one conversation's clocks.

use pronto_domain::EventTime;
use pronto_e2e::{Proc, free_ports, pronto_bin, run_pronto as pronto, start_broker, wait_ready};
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

/// Runs `pronto sentiment rescore` with `extra` flags.
fn rescore(brokers: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["sentiment", "rescore", "--brokers", brokers];
    args.extend(extra);
    pronto(&args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescore_explain_and_replay_read_history_from_the_broker() {
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

    // The timeline of c1: its message, the clock under the built-in policy (no SLA service
    // has published one), and the reply that met the target.
    let (code, out, err) = pronto(&[
        "sla",
        "explain",
        "--brokers",
        &brokers,
        "acme/c1",
        "--at",
        "2026-03-03T00:00:00Z",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("explaining under the built-in policy"),
        "{err}"
    );
    assert!(
        err.contains("reading pronto.events.v1: 5/5 records"),
        "{err}"
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "conversation acme/c1", "{out}");
    assert!(
        out.contains("2026-03-02T09:00:00.000Z  customer message m1"),
        "{out}"
    );
    assert!(
        out.contains("first reply clock starts under default@"),
        "{out}"
    );
    assert!(
        out.contains("2026-03-02T09:05:00.000Z  human public reply r1 by a1"),
        "{out}"
    );
    assert!(
        out.contains("first reply clock stops: waited 5m calendar"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("no clock open"), "{out}");
    // Before the reply, the clock was open.
    let (code, out, _) = pronto(&[
        "sla",
        "explain",
        "--brokers",
        &brokers,
        "acme/c1",
        "--at",
        "2026-03-02T09:03:00Z",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains("first reply clock open since 2026-03-02T09:00:00.000Z"),
        "{out}"
    );
    assert!(!out.contains("r1"), "{out}");

    // The audit view at the same instant: the clock, its policy version, nothing announced.
    let (code, out, err) = pronto(&[
        "audit",
        "--brokers",
        &brokers,
        "--conversation",
        "acme/c1",
        "--at",
        "2026-03-02T09:03:00Z",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("first reply clock: open since 2026-03-02T09:00:00.000Z (m1) under default@"),
        "{out}"
    );
    assert!(out.contains("verdicts until then: 0"), "{out}");

    let (code, _, err) = pronto(&["sla", "explain", "--brokers", &brokers, "acme/nobody"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no events of acme/nobody"), "{err}");
    let (code, _, err) = pronto(&["sla", "explain", "--brokers", &brokers, "c1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not TENANT/CONVERSATION_ID"), "{err}");

    // Replaying the whole topic twice gives the same digest; a shorter period another.
    let digest = |out: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix("digest: "))
            .unwrap_or_else(|| panic!("no digest in {out}"))
            .to_string()
    };
    let (code, first, err) = pronto(&["replay", "--brokers", &brokers]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("reading pronto.events.v1: 5/5 records"),
        "{err}"
    );
    assert!(
        first.contains("replayed 5 events (0 records not events)"),
        "{first}"
    );
    assert!(first.contains("5 sentiment tags"), "{first}");
    assert!(first.contains("total"), "{first}");
    let (_, second, _) = pronto(&["replay", "--brokers", &brokers]);
    assert_eq!(digest(&first), digest(&second));
    assert!(digest(&first).starts_with("sha256:"));
    let (code, part, err) = pronto(&["replay", "--brokers", &brokers, "--to", &mark]);
    assert_eq!(code, 0, "{err}");
    assert!(part.contains("replayed 3 events"), "{part}");
    assert_ne!(digest(&part), digest(&first));
    let (code, _, err) = pronto(&["replay", "--brokers", &brokers, "--group-by", "planet"]);
    assert_eq!(code, 2, "{err}");

    // What-if: under a candidate with a one-minute chat target, the replies of five minutes
    // that met the built-in hour all miss, and the unanswered conversation breaches.
    let candidate = dir.path().join("candidate.toml");
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../crates/pronto-sla/src/default_policy.toml"),
    )
    .unwrap()
    .replacen("name = \"default\"", "name = \"whatif\"", 1)
    .replace(
        "[targets.chat]\nfirst_reply = \"1h\"",
        "[targets.chat]\nfirst_reply = \"1m\"",
    );
    std::fs::write(&candidate, text).unwrap();
    let (code, out, err) = pronto(&[
        "replay",
        "--brokers",
        &brokers,
        "--policy",
        candidate.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("what-if: ") && out.contains("(whatif@"),
        "{out}"
    );
    let chat = out
        .split("what-if: ")
        .nth(1)
        .and_then(|w| w.lines().find(|l| l.starts_with("chat ")))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        chat.contains("100% (2/2)") && chat.contains("0% (0/3)") && chat.ends_with("-100 pp"),
        "{chat}"
    );
    assert_eq!(
        digest(&out),
        digest(&first),
        "the period as applied is unchanged"
    );
    let (code, _, err) = pronto(&["replay", "--brokers", &brokers, "--policy", "/nowhere.toml"]);
    assert_eq!(code, 64, "{err}");

    // Export, then replay the file with no broker at all: the same digest.
    let file = dir.path().join("period.jsonl");
    let (code, out, err) = pronto(&[
        "export",
        "--brokers",
        &brokers,
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("exported 5 events and 0 policy versions"),
        "{out}"
    );
    assert!(err.contains("exporting: 5/5 records"), "{err}");
    let nowhere = format!("127.0.0.1:{}", free_ports(1)[0]);
    let (code, offline, err) = pronto(&[
        "replay",
        "--brokers",
        &nowhere,
        "--input",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(digest(&offline), digest(&first));
    assert!(
        err.contains(&format!("reading {}: 100% (5 events)", file.display())),
        "{err}"
    );
    // A file changed after export is refused, naming the line.
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replacen("where is my parcel?", "where is my parcel!", 1),
    )
    .unwrap();
    let (code, _, err) = pronto(&["replay", "--input", file.to_str().unwrap()]);
    assert_eq!(code, 65, "{err}");
    assert!(err.contains("does not match the content"), "{err}");
}
