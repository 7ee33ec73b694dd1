//! The SLA service against librdkafka's in-process mock cluster: it publishes its policy on
//! the policies topic, follows versions published there, re-reads its file on SIGHUP keeping
//! the versions in force when the file is invalid, and names in each verdict the version in
//! force when the clock started.

use pronto_domain::{EventTime, SlaFact};
use pronto_kafka::{Publisher, assign_from_beginning, reader};
use pronto_proto::v1 as pb;
use pronto_runtime::{CancellationToken, Health, Metrics};
use pronto_sla::Policy;
use pronto_sla_service::policies;
use pronto_testkit::{mock_cluster, next_payload, until};
use prost::Message as _;
use std::sync::Arc;
use std::time::Duration;

fn policy_text(name: &str, chat_target: &str, effective_from: Option<&str>) -> String {
    let mut text = pronto_sla::policy::DEFAULT_POLICY_TOML
        .replacen("name = \"default\"", &format!("name = \"{name}\""), 1)
        .replace(
            "[targets.chat]\nfirst_reply = \"1h\"\nnext_reply = \"1h\"",
            &format!(
                "[targets.chat]\nfirst_reply = \"{chat_target}\"\nnext_reply = \"{chat_target}\""
            ),
        );
    if let Some(at) = effective_from {
        text = format!("effective_from = \"{at}\"\n{text}");
    }
    text
}

fn message(id: &str, conv: &str, at: &str) -> Vec<u8> {
    pronto_proto::events::encode(&pronto_testkit::customer_message(id, conv, at, "hello"))
}

fn reply(id: &str, conv: &str, at: &str) -> Vec<u8> {
    pronto_proto::events::encode(&pronto_testkit::reply(id, conv, at, "hi", "human"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verdicts_follow_the_policy_versions_published_on_the_topic() {
    let (_cluster, kafka) = mock_cluster(2);
    let topics = kafka.topics();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.toml");
    // The first version covers history from the start of the year.
    let text = policy_text("contract-a", "1h", Some("2026-01-01T00:00:00Z"));
    std::fs::write(&file, &text).unwrap();
    let a = Arc::new(Policy::from_toml(&file.display().to_string(), &text).unwrap());

    let shutdown = CancellationToken::new();
    let metrics = Metrics::default();
    let settings = pronto_sla_service::SlaSettings {
        policy: Arc::clone(&a),
        policy_file: Some(file.clone()),
        allowed_lateness: Duration::ZERO,
        correction_window: Some(Duration::from_secs(24 * 3600)),
        idle_advance: Duration::from_secs(3600),
        transactions: false,
    };
    let service = tokio::spawn(pronto_sla_service::run(
        kafka.clone(),
        settings,
        Health::default(),
        metrics.clone(),
        shutdown.clone(),
    ));

    // The service published its file's version.
    let log = reader(&kafka.brokers).unwrap();
    assign_from_beginning(&log, &[&topics.policies]).unwrap();
    let (from, got) = policies::decode(&next_payload(&log).await).unwrap();
    assert_eq!(got.version, a.version);
    assert_eq!(from.to_rfc3339(), "2026-01-01T00:00:00.000Z");
    until(&metrics, "pronto_sla_policy_versions_read_total", 1).await;

    // Another version, taking over at 09:30 on 2 March, published by someone else.
    let b_text = policy_text("contract-b", "20m", None);
    let b = Policy::from_toml("b.toml", &b_text).unwrap();
    let publisher = Publisher::new(&kafka.brokers).unwrap();
    let b_from = EventTime::parse_rfc3339("2026-03-02T09:30:00Z").unwrap();
    publisher
        .publish(
            &topics.policies,
            policies::KEY,
            &policies::encode(&b, "b.toml", b_from, "test", b_from),
            "pronto.v1.PolicyPublished",
        )
        .await
        .unwrap();
    assert_eq!(
        policies::decode(&next_payload(&log).await)
            .unwrap()
            .1
            .version,
        b.version
    );
    until(&metrics, "pronto_sla_policy_versions_read_total", 2).await;

    // c1's clock starts before 09:30, c2's after; both are answered after 40 minutes.
    for (key, bytes) in [
        ("acme/c1", message("m1", "c1", "2026-03-02T09:00:00Z")),
        ("acme/c2", message("m2", "c2", "2026-03-02T09:35:00Z")),
        ("acme/c1", reply("r1", "c1", "2026-03-02T09:40:00Z")),
        ("acme/c2", reply("r2", "c2", "2026-03-02T10:15:00Z")),
    ] {
        publisher
            .publish(&topics.events, key, &bytes, "pronto.v1.Event")
            .await
            .unwrap();
    }
    let sla = reader(&kafka.brokers).unwrap();
    assign_from_beginning(&sla, &[&topics.sla]).unwrap();
    let mut verdicts = Vec::new();
    while verdicts.len() < 2 {
        let f = pronto_proto::sla::decode(&next_payload(&sla).await).unwrap();
        if let SlaFact::Latency(l) = f {
            verdicts.push((
                l.reply_event_id.to_string(),
                l.target_ms / 60_000,
                l.met,
                l.policy_version.to_string(),
            ));
        }
    }
    verdicts.sort();
    assert_eq!(
        verdicts,
        [
            ("r1".to_string(), 60, true, a.version.clone()),
            ("r2".to_string(), 20, false, b.version.clone()),
        ]
    );

    // SIGHUP with an invalid file: nothing is published and the versions stay.
    let hup = || {
        let status = std::process::Command::new("kill")
            .args(["-HUP", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    };
    std::fs::write(
        &file,
        "name = \"broken\"\n[targets.chat]\nfirst_reply = \"soon\"\n",
    )
    .unwrap();
    hup();
    until(&metrics, "pronto_sla_policy_reload_failures_total", 1).await;

    // SIGHUP with a new valid file: published, taking over a few seconds from now.
    let c_text = policy_text("contract-c", "30m", None);
    std::fs::write(&file, &c_text).unwrap();
    hup();
    until(&metrics, "pronto_sla_policy_reloads_total", 1).await;
    let before = pronto_runtime::wall_clock();
    let (c_from, c) = policies::decode(&next_payload(&log).await).unwrap();
    assert_eq!(c.name, "contract-c");
    assert!(
        c_from > before.plus_millis(-60_000)
            && c_from <= before.plus_millis(policies::ACTIVATION_DELAY_MS)
    );
    until(&metrics, "pronto_sla_policy_versions_read_total", 3).await;

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), service)
        .await
        .expect("the service stops")
        .unwrap()
        .unwrap();
}

/// With transactions (which the mock cluster supports, unlike Tansu), verdicts and dead
/// letters are written in committed transactions that read_committed consumers see.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verdicts_and_offsets_commit_together_in_transactions() {
    let (_cluster, mut kafka) = mock_cluster(1);
    kafka.instance_id = "sla-0".into();
    let topics = kafka.topics();
    let publisher = Publisher::new(&kafka.brokers).unwrap();
    let events = [
        ("acme/c1", message("m1", "c1", "2026-03-02T09:00:00Z")),
        ("acme/c1", reply("r1", "c1", "2026-03-02T09:10:00Z")),
        ("acme/c2", b"not an event".to_vec()),
        ("acme/c3", message("m3", "c3", "2026-03-02T09:20:00Z")),
        ("acme/c3", reply("r3", "c3", "2026-03-02T09:30:00Z")),
    ];
    for (key, bytes) in &events {
        publisher
            .publish(&topics.events, key, bytes, "pronto.v1.Event")
            .await
            .unwrap();
    }
    let shutdown = CancellationToken::new();
    let settings = pronto_sla_service::SlaSettings {
        policy: Arc::new(Policy::builtin()),
        policy_file: None,
        allowed_lateness: Duration::ZERO,
        correction_window: Some(Duration::from_secs(24 * 3600)),
        idle_advance: Duration::from_secs(3600),
        transactions: true,
    };
    let service = tokio::spawn(pronto_sla_service::run(
        kafka.clone(),
        settings,
        Health::default(),
        Metrics::default(),
        shutdown.clone(),
    ));

    // A read_committed reader (librdkafka's default) sees both verdicts and the dead letter.
    let sla = reader(&kafka.brokers).unwrap();
    assign_from_beginning(&sla, &[&topics.sla]).unwrap();
    let mut replies = Vec::new();
    while replies.len() < 2 {
        let f = pronto_proto::sla::decode(&next_payload(&sla).await).unwrap();
        if let SlaFact::Latency(l) = f {
            replies.push(l.reply_event_id);
        }
    }
    assert_eq!(replies, ["r1", "r3"]);
    let dead = reader(&kafka.brokers).unwrap();
    assign_from_beginning(&dead, &[&topics.dead_letter]).unwrap();
    let letter = pb::DeadLetter::decode(next_payload(&dead).await.as_slice()).unwrap();
    assert_eq!(letter.offset, 2);

    // The offsets go with each transaction (send_offsets_to_transaction); the mock
    // cluster accepts them but does not store them, so the group's committed offset cannot
    // be read back here.

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), service)
        .await
        .expect("the service stops")
        .unwrap()
        .unwrap();
}
