//! What the services' tests share: librdkafka's in-process mock cluster with every topic, the
//! next record a consumer reads, waiting until a counter reaches a value, and events written
//! as integrators write them (JSON), validated as ingest validates them.
//!
//! Only tests depend on this crate.

use pronto_domain::{Event, EventTime, Limits, RawEvent};
use pronto_kafka::KafkaArgs;
use pronto_kafka::rdkafka::consumer::StreamConsumer;
use pronto_kafka::rdkafka::message::Message;
use pronto_kafka::rdkafka::mocking::MockCluster;
use pronto_kafka::rdkafka::producer::DefaultProducerContext;
use pronto_runtime::Metrics;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How long a test waits for what it expects before it fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The instant test events are validated at: 2026-03-02T09:00:00Z.
pub const NOW: EventTime = EventTime(1_772_442_000_000);

/// A one-broker mock cluster with every topic of the default names, `partitions` each, and
/// the settings that reach it. The cluster stops when the value is dropped.
pub fn mock_cluster(partitions: i32) -> (MockCluster<'static, DefaultProducerContext>, KafkaArgs) {
    let cluster = MockCluster::new(1).expect("a mock cluster starts");
    let kafka = KafkaArgs::with_brokers(&cluster.bootstrap_servers());
    for t in kafka.topics().all() {
        cluster
            .create_topic(t, partitions, 1)
            .expect("the mock cluster creates a topic");
    }
    (cluster, kafka)
}

/// The payload of the next record `c` reads; fails the test when none comes in [`PATIENCE`].
pub async fn next_payload(c: &StreamConsumer) -> Vec<u8> {
    let m = tokio::time::timeout(PATIENCE, c.recv())
        .await
        .expect("a record arrives")
        .expect("no consumer error");
    m.payload().unwrap_or_default().to_vec()
}

/// Waits until the counter `name` of `metrics` reaches `want`; fails the test when it has not
/// in [`PATIENCE`].
pub async fn until(metrics: &Metrics, name: &str, want: u64) {
    let counter = metrics.counter(name);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while counter.load(Ordering::Relaxed) < want {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} stayed at {}",
            counter.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The event `json` describes, validated at [`NOW`] as ingest validates what it receives.
///
/// # Panics
/// When `json` is not a valid event: a test's own input is wrong.
pub fn event(json: &str) -> Event {
    let raw: RawEvent = serde_json::from_str(json).expect("an event's JSON");
    raw.validate(NOW, &Limits::default())
        .expect("a valid event")
}

/// A chat message of customer `u1` of tenant `acme`.
pub fn customer_message(id: &str, conversation: &str, at: &str, text: &str) -> Event {
    event(&format!(
        r#"{{"event_id":"{id}","tenant":"acme","conversation_id":"{conversation}",
            "occurred_at":"{at}","source":"test","channel":"chat",
            "customer_message":{{"text":{},"customer_id":"u1"}}}}"#,
        serde_json::to_string(text).expect("a string is JSON")
    ))
}

/// A public chat reply of agent `a1` (Giulia Rossi) of tenant `acme`, written by `author`
/// (`human` or `bot`).
pub fn reply(id: &str, conversation: &str, at: &str, text: &str, author: &str) -> Event {
    event(&format!(
        r#"{{"event_id":"{id}","tenant":"acme","conversation_id":"{conversation}",
            "occurred_at":"{at}","source":"test","channel":"chat",
            "reply_sent":{{"text":{},"author_kind":"{author}","visibility":"public",
                           "agent_id":"a1","agent_display_name":"Giulia Rossi"}}}}"#,
        serde_json::to_string(text).expect("a string is JSON")
    ))
}
