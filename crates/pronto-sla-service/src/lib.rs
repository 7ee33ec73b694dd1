//! The SLA service: one SLA engine per assigned partition of the events topic.
//!
//! State is rebuilt from the log: when a partition is (re)assigned, or a gap in offsets shows
//! the engine missed records, the engine is rebuilt by reading the partition from its start
//! up to the next record, with outputs suppressed (they were published before the offset
//! was committed). Verdicts carry deterministic ids, so the few re-published after a crash
//! are dropped by consumers.
//!
//! Live mode: when a partition has been idle for `idle_advance`, event time moves to the
//! wall clock, so breaches fire with no new event. The breach carries its deadline as event
//! time, so replay emits the identical fact.

use pronto_domain::SlaFact;
use pronto_kafka::rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use pronto_kafka::rdkafka::message::Message;
use pronto_kafka::rdkafka::{Offset, TopicPartitionList};
use pronto_kafka::{
    DeadLetters, KafkaArgs, Publisher, Topics, group_consumer, reader, record_span,
};
use pronto_runtime::{CancellationToken, Health, Metrics};
use pronto_sla::{Engine, Policy};
use prost::Message as _;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tracing::Instrument as _;

/// Consumer group of the SLA service.
pub const GROUP: &str = "pronto-sla";

/// Settings of the SLA service.
#[derive(Debug, Clone)]
pub struct SlaSettings {
    pub policy: Arc<Policy>,
    /// How far out of order events may arrive and still be applied before a verdict.
    pub allowed_lateness: Duration,
    /// After this long with no record on a partition, event time follows the wall clock.
    pub idle_advance: Duration,
}

struct PartitionEngine {
    engine: Engine,
    next_offset: i64,
    last_record: Instant,
}

struct Outputs {
    publisher: Publisher,
    topic: String,
    published: Arc<AtomicU64>,
}

impl Outputs {
    async fn publish(&self, facts: &[SlaFact]) -> anyhow::Result<()> {
        for f in facts {
            let bytes = pronto_proto::sla_fact_to_pb(f).encode_to_vec();
            let ctx = f.context();
            let key = format!("{}/{}", ctx.tenant, ctx.conversation_id);
            self.publisher
                .publish(&self.topic, &key, &bytes, "pronto.v1.SlaFact")
                .await?;
            tracing::debug!(kind = f.kind(), fact = f.fact_id(), at = %f.at(), "verdict");
        }
        self.published
            .fetch_add(facts.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// Rebuilds an engine from the start of `partition` up to (not including) `until`.
async fn restore(
    brokers: &str,
    topics: &Topics,
    partition: i32,
    until: i64,
    settings: &SlaSettings,
) -> anyhow::Result<Engine> {
    let mut engine = Engine::new(
        Arc::clone(&settings.policy),
        settings.allowed_lateness.as_millis() as i64,
    );
    if until <= 0 {
        return Ok(engine);
    }
    let r: StreamConsumer = reader(brokers)?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topics.events, partition, Offset::Beginning)?;
    r.assign(&tpl)?;
    let started = Instant::now();
    let mut n = 0u64;
    loop {
        let m = r.recv().await?;
        if m.offset() >= until {
            break;
        }
        if let Ok(e) = pronto_proto::decode_event(m.payload().unwrap_or_default()) {
            engine.apply(&e);
            n += 1;
        }
        if m.offset() + 1 >= until {
            break;
        }
    }
    tracing::info!(
        partition,
        records = n,
        until,
        took_ms = started.elapsed().as_millis() as u64,
        "engine restored from the log"
    );
    Ok(engine)
}

/// Runs until `shutdown`, then commits and returns.
pub async fn run(
    kafka: KafkaArgs,
    settings: SlaSettings,
    health: Health,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let ready = health.component("sla");
    let topics = kafka.topics();
    let publisher = Publisher::new(&kafka.brokers)?;
    let dead = DeadLetters::new(publisher.clone(), &topics.dead_letter, "sla");
    let out = Outputs {
        publisher: publisher.clone(),
        topic: topics.sla.clone(),
        published: metrics.counter("pronto_sla_facts_total"),
    };
    let restores = metrics.counter("pronto_sla_restores_total");
    let consumer = group_consumer(&kafka.brokers, GROUP, &kafka.instance_id, &[&topics.events])?;
    let mut engines: HashMap<i32, PartitionEngine> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    ready.store(true, Ordering::Relaxed);
    tracing::info!(policy = %settings.policy.version, topic = %topics.events, "SLA service consuming");
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {
                // Partitions moved to another replica in a rebalance are dropped here; if
                // they come back, their engine is rebuilt from the log.
                if let Ok(assigned) = consumer.assignment() {
                    let mine: std::collections::HashSet<i32> = assigned
                        .elements_for_topic(&topics.events)
                        .iter()
                        .map(|e| e.partition())
                        .collect();
                    engines.retain(|p, _| mine.contains(p));
                }
                let now = pronto_runtime::wall_clock();
                for pe in engines.values_mut() {
                    if pe.last_record.elapsed() >= settings.idle_advance {
                        let facts = pe.engine.advance(now);
                        out.publish(&facts).await?;
                    }
                }
            }
            m = consumer.recv() => {
                let m = m?;
                let p = m.partition();
                let stale = engines.get(&p).is_none_or(|pe| pe.next_offset != m.offset());
                if stale {
                    let engine = restore(&kafka.brokers, &topics, p, m.offset(), &settings).await?;
                    restores.fetch_add(1, Ordering::Relaxed);
                    engines.insert(p, PartitionEngine { engine, next_offset: m.offset(), last_record: Instant::now() });
                }
                let pe = engines.get_mut(&p).expect("engine present");
                let span = record_span("sla", &m);
                async {
                    match pronto_proto::decode_event(m.payload().unwrap_or_default()) {
                        Err(e) => dead.park(&m, &e.to_string()).await?,
                        Ok(event) => {
                            let facts = pe.engine.apply(&event);
                            out.publish(&facts).await?;
                        }
                    }
                    anyhow::Ok(())
                }
                .instrument(span)
                .await?;
                pe.next_offset = m.offset() + 1;
                pe.last_record = Instant::now();
                consumer.store_offset_from_message(&m)?;
            }
        }
    }
    consumer.commit_consumer_state(CommitMode::Sync).ok();
    publisher.flush(Duration::from_secs(5));
    tracing::info!("SLA service stopped");
    Ok(())
}
