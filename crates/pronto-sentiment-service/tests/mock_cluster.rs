//! The sentiment service against librdkafka's in-process mock cluster: a customer message is
//! tagged, a record that is not an event is parked in the dead-letter topic with its reason,
//! and the service drains and returns on shutdown.

use pronto_domain::{EventTime, Limits, RawEvent};
use pronto_kafka::rdkafka::consumer::StreamConsumer;
use pronto_kafka::rdkafka::message::Message;
use pronto_kafka::rdkafka::mocking::MockCluster;
use pronto_kafka::{KafkaArgs, Publisher, assign_from_beginning, reader};
use pronto_proto::v1 as pb;
use pronto_runtime::{CancellationToken, Health, Metrics};
use prost::Message as _;
use std::time::Duration;

async fn next(c: &StreamConsumer) -> Vec<u8> {
    let m = tokio::time::timeout(Duration::from_secs(30), c.recv())
        .await
        .expect("a record arrives")
        .expect("no consumer error");
    m.payload().unwrap_or_default().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_messages_and_parks_garbage() {
    let cluster = MockCluster::new(1).unwrap();
    let kafka = KafkaArgs::with_brokers(&cluster.bootstrap_servers());
    let topics = kafka.topics();
    for t in topics.all() {
        cluster.create_topic(t, 2, 1).unwrap();
    }
    let publisher = Publisher::new(&kafka.brokers).unwrap();
    let raw: RawEvent = serde_json::from_str(
        r#"{"event_id":"m1","tenant":"acme","conversation_id":"c1","occurred_at":"2026-03-02T09:00:00Z",
            "source":"test","channel":"twitter",
            "customer_message":{"text":"Servizio pessimo, sono furioso!!","customer_id":"u1"}}"#,
    )
    .unwrap();
    let event = raw
        .validate(EventTime(1_772_442_000_000), &Limits::default())
        .unwrap();
    let bytes = pronto_proto::event_to_pb(&event).encode_to_vec();
    publisher
        .publish(&topics.events, "acme/c1", &bytes, "pronto.v1.Event")
        .await
        .unwrap();
    let (_, bad_offset) = publisher
        .publish(
            &topics.events,
            "acme/c2",
            b"\xff\xfenot protobuf",
            "pronto.v1.Event",
        )
        .await
        .unwrap();

    let shutdown = CancellationToken::new();
    let health = Health::default();
    let service = tokio::spawn(pronto_sentiment_service::run(
        kafka.clone(),
        std::sync::Arc::new(pronto_sentiment_service::Tagger::new(std::sync::Arc::new(
            pronto_sentiment::Lexicon,
        ))),
        health.clone(),
        Metrics::default(),
        shutdown.clone(),
    ));

    let tags = reader(&kafka.brokers).unwrap();
    assign_from_beginning(&tags, &[&topics.sentiment]).unwrap();
    let tag =
        pronto_proto::tag_from_pb(pb::SentimentTag::decode(next(&tags).await.as_slice()).unwrap())
            .unwrap();
    assert_eq!(tag.event_id, "m1");
    assert_eq!(tag.language, "it");
    assert_eq!(tag.polarity, pronto_domain::Polarity::Negative);
    assert!(tag.tones.iter().any(|t| t == "angry"), "{:?}", tag.tones);
    assert_eq!(tag.model_name, "lexicon");

    let dead = reader(&kafka.brokers).unwrap();
    assign_from_beginning(&dead, &[&topics.dead_letter]).unwrap();
    let letter = pb::DeadLetter::decode(next(&dead).await.as_slice()).unwrap();
    assert_eq!(letter.topic, topics.events);
    assert_eq!(letter.offset, bad_offset);
    assert_eq!(letter.key, b"acme/c2");
    assert_eq!(letter.payload, b"\xff\xfenot protobuf");
    assert_eq!(letter.service, "sentiment");
    assert!(
        letter.reason.contains("pronto.v1.Event"),
        "{}",
        letter.reason
    );

    assert!(health.not_ready().is_empty());
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(15), service)
        .await
        .expect("the service drains and returns")
        .unwrap()
        .unwrap();
}
