//! The ingest service's HTTP and gRPC faces, over real sockets, publishing to librdkafka's
//! in-process mock cluster: valid events are acknowledged with their offsets and land on the
//! topic keyed by conversation; every kind of bad input is refused with the field and the
//! reason, and writes nothing.

use pronto_ingest_service::{Ingestor, serve};
use pronto_kafka::rdkafka::message::Message;
use pronto_kafka::rdkafka::mocking::MockCluster;
use pronto_kafka::{KafkaArgs, Publisher, assign_from_beginning, reader};
use pronto_proto::v1 as pb;
use pronto_runtime::{CancellationToken, Metrics};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tonic_types::StatusExt;

fn event(id: &str, conv: &str) -> Value {
    json!({
        "event_id": id, "tenant": "acme", "conversation_id": conv,
        "occurred_at": "2026-03-02T09:00:00Z", "source": "test", "channel": "email",
        "customer_message": {"text": "Where is my order?", "customer_id": "u1"}
    })
}

struct Harness {
    _cluster: MockCluster<'static, pronto_kafka::rdkafka::producer::DefaultProducerContext>,
    kafka: KafkaArgs,
    http: String,
    grpc: String,
    shutdown: CancellationToken,
}

async fn start() -> Harness {
    let cluster = MockCluster::new(1).unwrap();
    let kafka = KafkaArgs::with_brokers(&cluster.bootstrap_servers());
    cluster.create_topic(&kafka.events_topic, 3, 1).unwrap();
    let ingestor = Arc::new(Ingestor::new(
        Publisher::new(&kafka.brokers).unwrap(),
        kafka.events_topic.clone(),
        &Metrics::default(),
    ));
    let h = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let g = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (http, grpc) = (
        format!("http://{}", h.local_addr().unwrap()),
        format!("http://{}", g.local_addr().unwrap()),
    );
    let shutdown = CancellationToken::new();
    tokio::spawn(serve(h, g, ingestor, shutdown.clone()));
    Harness {
        _cluster: cluster,
        kafka,
        http,
        grpc,
        shutdown,
    }
}

async fn post(url: &str, body: String) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{url}/v1/events"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn paths(v: &Value) -> Vec<&str> {
    v["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_and_grpc_publish_valid_events_and_refuse_bad_ones() {
    let h = start().await;

    // Refused, each with its field and reason.
    let mut unknown = event("x1", "c9");
    unknown["channel"] = json!("fax");
    let mut late = event("x2", "c9");
    late["occurred_at"] = json!("2999-01-01T00:00:00Z");
    let mut wrong_type = event("x3", "c9");
    wrong_type["customer_message"]["text"] = json!(42);
    let mut extra = event("x4", "c9");
    extra["colour"] = json!("red");
    let cases: Vec<(String, u16, Vec<&str>)> = vec![
        (unknown.to_string(), 400, vec!["channel"]),
        (late.to_string(), 400, vec!["occurred_at"]),
        (wrong_type.to_string(), 400, vec!["customer_message.text"]),
        (extra.to_string(), 400, vec!["colour"]),
        ("{\"event_id\": \"x5\",".into(), 400, vec!["$"]),
        ("[]".into(), 400, vec!["$"]),
        (
            json!({"events": [event("x6", "c9"), unknown.clone()]}).to_string(),
            400,
            vec!["events[1].channel"],
        ),
    ];
    for (body, status, want) in cases {
        let (got, v) = post(&h.http, body.clone()).await;
        assert_eq!(got, status, "{body} -> {v}");
        assert_eq!(paths(&v), want, "{body} -> {v}");
        assert!(
            v["details"][0]["reason"]
                .as_str()
                .is_some_and(|r| !r.is_empty())
        );
    }
    let r = reqwest::Client::new()
        .post(format!("{}/v1/events", h.http))
        .header("content-type", "text/plain")
        .body(event("x7", "c9").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);

    // gRPC refusals carry a BadRequest detail.
    let mut client = pronto_grpc::IngestServiceClient::connect(h.grpc.clone())
        .await
        .unwrap();
    let err = client
        .publish_batch(pb::PublishBatchRequest {
            events: vec![pb::Event::default()],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let fields: Vec<String> = err
        .get_details_bad_request()
        .unwrap()
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert!(
        fields.contains(&"events[0].event_id".to_string()),
        "{fields:?}"
    );
    assert!(
        fields.contains(&"events[0].payload".to_string()),
        "{fields:?}"
    );

    // Accepted: a batch over HTTP, one event over gRPC.
    let (status, v) = post(
        &h.http,
        json!({"events": [event("e1", "c1"), event("e2", "c2")]}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["accepted"], 2);
    assert_eq!(v["receipts"][0]["event_id"], "e1");
    let raw: pronto_domain::RawEvent = serde_json::from_value(event("e3", "c1")).unwrap();
    let e3 = raw
        .validate(
            pronto_domain::EventTime(1_772_442_000_000),
            &pronto_domain::Limits::default(),
        )
        .unwrap();
    let receipt = client
        .publish(pb::PublishRequest {
            event: Some(pb::Event::from(&e3)),
        })
        .await
        .unwrap()
        .into_inner()
        .receipt
        .unwrap();
    assert_eq!(receipt.event_id, "e3");

    // The topic holds exactly the accepted events, keyed by tenant/conversation.
    let c = reader(&h.kafka.brokers).unwrap();
    assign_from_beginning(&c, &[&h.kafka.events_topic]).unwrap();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let m = tokio::time::timeout(Duration::from_secs(20), c.recv())
            .await
            .unwrap()
            .unwrap();
        let e = pronto_proto::events::decode(m.payload().unwrap()).unwrap();
        assert_eq!(m.key(), Some(e.key().as_str().as_bytes()));
        seen.push(e.id().to_string());
    }
    seen.sort();
    assert_eq!(seen, ["e1", "e2", "e3"]);
    assert!(
        tokio::time::timeout(Duration::from_secs(2), c.recv())
            .await
            .is_err(),
        "nothing of a refused request was written"
    );
    h.shutdown.cancel();
}
