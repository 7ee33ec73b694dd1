//! The window of records in flight, against librdkafka's mock cluster: entries come back in
//! the order they went in, only once the broker acknowledged their deliveries, and a delivery
//! the broker refuses fails the window.

use pronto_kafka::rdkafka::mocking::MockCluster;
use pronto_kafka::rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use pronto_kafka::{InFlight, Publisher};
use std::time::Duration;

const TOPIC: &str = "in-flight";

fn cluster() -> MockCluster<'static, pronto_kafka::rdkafka::producer::DefaultProducerContext> {
    let cluster = MockCluster::new(1).expect("a mock cluster starts");
    cluster
        .create_topic(TOPIC, 3, 1)
        .expect("the mock cluster creates a topic");
    cluster
}

#[tokio::test]
async fn entries_come_back_in_order_once_their_deliveries_are_acknowledged() {
    let cluster = cluster();
    // A slow broker: every acknowledgement takes a round trip of 50 ms.
    cluster
        .broker_round_trip_time(1, Duration::from_millis(50))
        .unwrap();
    let publisher = Publisher::new(&cluster.bootstrap_servers()).unwrap();
    let mut window = InFlight::new(300);
    for i in 0..100u32 {
        // Entries with none, one and two outputs, spread over the partitions.
        let mut deliveries = Vec::new();
        for k in 0..i % 3 {
            let key = format!("conversation-{}", i * 7 + k);
            deliveries.push(
                publisher
                    .send(TOPIC, &key, &i.to_be_bytes(), "test")
                    .await
                    .unwrap(),
            );
        }
        window.push(deliveries, i);
    }
    // 99 deliveries and 100 entries: not full at 300.
    assert!(!window.is_full());
    assert_eq!(window.len(), 100);
    let mut order = Vec::new();
    while let Some(done) = window.next().await {
        order.push(done.expect("every delivery acknowledged"));
    }
    assert_eq!(order, (0..100).collect::<Vec<_>>());
    assert!(window.is_empty());
}

#[tokio::test]
async fn a_window_is_full_at_its_limit_of_deliveries_and_frees_as_they_come_back() {
    let cluster = cluster();
    let publisher = Publisher::new(&cluster.bootstrap_servers()).unwrap();
    let mut window = InFlight::new(10);
    for i in 0..5u32 {
        let a = publisher.send(TOPIC, "a", b"x", "test").await.unwrap();
        let b = publisher.send(TOPIC, "b", b"y", "test").await.unwrap();
        window.push(vec![a, b], i);
    }
    assert!(window.is_full(), "ten deliveries fill a window of ten");
    assert_eq!(window.next().await.transpose().unwrap(), Some(0));
    assert!(
        !window.is_full(),
        "the first entry's two deliveries left the window"
    );
    window.drain(|_| Ok(())).await.unwrap();
    assert!(window.is_empty());
}

#[tokio::test]
async fn a_refused_delivery_fails_the_window() {
    let cluster = cluster();
    let publisher = Publisher::new(&cluster.bootstrap_servers()).unwrap();
    let mut window = InFlight::new(100);
    // Every produce request is refused with an error no retry can fix.
    cluster.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED; 50],
    );
    let d = publisher
        .send(TOPIC, "k", b"refused", "test")
        .await
        .unwrap();
    window.push(vec![d], "refused");
    let outcome = tokio::time::timeout(Duration::from_secs(60), window.next())
        .await
        .expect("the refusal comes back")
        .expect("the entry comes back");
    assert!(
        outcome.is_err(),
        "a refused delivery is an error: {outcome:?}"
    );
}
