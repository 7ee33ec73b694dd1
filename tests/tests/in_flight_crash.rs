//! A consuming service killed with thousands of records in flight loses nothing: at the moment
//! of the crash, every record below the committed offsets already has its output on the topic
//! (nothing was committed before its output was durable), and after a restart every expected
//! output is there.

use pronto_domain::Event;
use pronto_e2e::{Proc, free_ports, pronto_bin, start_broker};
use pronto_kafka::rdkafka::config::ClientConfig;
use pronto_kafka::rdkafka::consumer::{BaseConsumer, Consumer};
use pronto_kafka::rdkafka::message::Message;
use pronto_kafka::rdkafka::{Offset, TopicPartitionList};
use pronto_kafka::{InFlight, KafkaArgs, Publisher, assign_from_beginning, reader};
use pronto_sim::{SimConfig, generate};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(180);

/// What the sentiment service tags: customer messages and replies by people.
fn tagged(e: &Event) -> bool {
    pronto_sentiment::taggable(e).is_some()
}

/// Every record of `topic` published so far, as (partition, offset, payload).
async fn read_all(brokers: &str, topic: &str) -> Vec<(i32, i64, Vec<u8>)> {
    let c = reader(brokers).unwrap();
    assign_from_beginning(&c, &[topic]).unwrap();
    let mut out = Vec::new();
    // Some brokers count batches, not records, in the ends they report: read until quiet.
    loop {
        match tokio::time::timeout(Duration::from_secs(2), c.recv()).await {
            Ok(m) => {
                let m = m.unwrap();
                out.push((
                    m.partition(),
                    m.offset(),
                    m.payload().unwrap_or_default().to_vec(),
                ));
            }
            Err(_) => return out,
        }
    }
}

/// The event ids that the tags on the sentiment topic are for, with repeats.
async fn tagged_ids(brokers: &str, topic: &str) -> Vec<String> {
    read_all(brokers, topic)
        .await
        .into_iter()
        .map(|(_, _, p)| {
            pronto_proto::sentiment::decode(&p)
                .expect("a tag decodes")
                .event_id
                .to_string()
        })
        .collect()
}

/// The consumer group's committed offset of each partition of `topic`.
fn committed(brokers: &str, group: &str, topic: &str, partitions: i32) -> BTreeMap<i32, i64> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let got = c
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("committed offsets are readable");
    (0..partitions)
        .map(|p| {
            let at = match got.find_partition(topic, p).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => o,
                _ => 0,
            };
            (p, at)
        })
        .collect()
}

fn start_sentiment(pronto: &std::path::Path, brokers: &str, dir: &std::path::Path) -> Proc {
    let mut cmd = Command::new(pronto);
    cmd.args(["sentiment", "--brokers", brokers, "--partitions", "3"])
        .args(["--admin-addr", &format!("127.0.0.1:{}", free_ports(1)[0])])
        .args(["--instance-id", "crash-test", "--max-in-flight", "20000"])
        // Offsets committed often, so that the crash comes between commits.
        .args(["--kafka-option", "auto.commit.interval.ms=200"])
        .env("RUST_LOG", "info,rdkafka=warn");
    Proc::spawn("sentiment", cmd, dir)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sentiment_service_killed_with_records_in_flight_tags_everything_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (_broker, brokers) = start_broker(dir.path());
    let kafka = KafkaArgs::with_brokers(&brokers);
    let topics = kafka.topics();
    pronto_kafka::ensure_topics(&brokers, &topics.all(), 3, Duration::from_secs(30))
        .await
        .unwrap();

    // A backlog of the seeded sample, published before the service starts.
    let events = generate(&SimConfig {
        conversations: 10_000,
        ..SimConfig::default()
    });
    let publisher = Publisher::new(&brokers).unwrap();
    let mut window = InFlight::new(5000);
    for e in &events {
        while window.is_full() {
            window.next().await.transpose().unwrap();
        }
        let bytes = pronto_proto::events::encode(e);
        let d = publisher
            .send(&topics.events, e.key().as_str(), &bytes, "pronto.v1.Event")
            .await
            .unwrap();
        window.push(vec![d], ());
    }
    window.drain(|()| Ok(())).await.unwrap();
    let expected: BTreeSet<String> = events
        .iter()
        .filter(|e| tagged(e))
        .map(|e| e.envelope.event_id.to_string())
        .collect();
    assert!(expected.len() > 5000, "{} taggable events", expected.len());

    // Start the service and kill it once two thousand tags are out and it has committed
    // offsets: it has thousands of records in flight, or acknowledged but not yet committed.
    let pronto = pronto_bin();
    let first = start_sentiment(&pronto, &brokers, dir.path());
    {
        let c = reader(&brokers).unwrap();
        assign_from_beginning(&c, &[&topics.sentiment]).unwrap();
        let deadline = Instant::now() + PATIENCE;
        let mut n = 0;
        loop {
            assert!(Instant::now() < deadline, "{}", first.log_text());
            if let Ok(m) = tokio::time::timeout(Duration::from_secs(1), c.recv()).await {
                m.unwrap();
                n += 1;
            }
            if n >= 2000
                && n % 100 == 0
                && committed(&brokers, "pronto-sentiment", &topics.events, 3)
                    .values()
                    .sum::<i64>()
                    > 0
            {
                break;
            }
        }
    }
    first.crash();

    // At the crash: every taggable event below the committed offsets has its tag on the topic.
    let at_crash: BTreeSet<String> = tagged_ids(&brokers, &topics.sentiment)
        .await
        .into_iter()
        .collect();
    let offsets = committed(&brokers, "pronto-sentiment", &topics.events, 3);
    let by_position: BTreeMap<(i32, i64), Event> = read_all(&brokers, &topics.events)
        .await
        .into_iter()
        .map(|(p, o, bytes)| ((p, o), pronto_proto::events::decode(&bytes).unwrap()))
        .collect();
    let committed_taggable: Vec<&Event> = by_position
        .iter()
        .filter(|((p, o), e)| *o < offsets[p] && tagged(e))
        .map(|(_, e)| e)
        .collect();
    let untagged: Vec<&str> = committed_taggable
        .iter()
        .filter(|e| !at_crash.contains(e.envelope.event_id.as_str()))
        .map(|e| e.envelope.event_id.as_str())
        .collect();
    assert!(
        untagged.is_empty(),
        "committed past {} events whose tags were not on the topic (offsets {offsets:?}): {:?}",
        untagged.len(),
        &untagged[..untagged.len().min(5)]
    );
    assert!(
        !committed_taggable.is_empty(),
        "nothing was committed before the crash"
    );
    assert!(
        at_crash.len() < expected.len(),
        "the service finished before the crash ({} tags): nothing was in flight",
        at_crash.len()
    );

    // After a restart, every expected tag is there (some twice: the records processed after
    // the last commit were processed again, with the same ids).
    let _second = start_sentiment(&pronto, &brokers, dir.path());
    let deadline = Instant::now() + PATIENCE;
    loop {
        let ids = tagged_ids(&brokers, &topics.sentiment).await;
        let distinct: BTreeSet<String> = ids.iter().cloned().collect();
        if distinct == expected {
            eprintln!(
                "{} tags at the crash, {} committed events tagged, {} tags after restart for {} taggable events",
                at_crash.len(),
                committed_taggable.len(),
                ids.len(),
                expected.len()
            );
            break;
        }
        assert!(
            distinct.is_subset(&expected),
            "a tag for an event that was not published"
        );
        assert!(
            Instant::now() < deadline,
            "{} of {} tags after restart",
            distinct.len(),
            expected.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
