//! The SLA service: one SLA engine per assigned partition of the events topic.
//!
//! State is rebuilt from the log: when a partition is (re)assigned, or a gap in offsets shows
//! the engine missed records, the engine is rebuilt by reading the partition from its start
//! up to the next record, with outputs suppressed (they were published before the offset
//! was committed). Verdicts carry deterministic ids, so the few re-published after a crash
//! are dropped by consumers.
//!
//! Policy versions come from the policies topic (see [`policies`]): each clock follows the
//! version in force when it started, in live runs, restores and replays alike.
//!
//! Live mode: when a partition has been idle for `idle_advance`, event time moves to the
//! wall clock, so breaches fire with no new event. The breach carries its deadline as event
//! time, so replay emits the identical fact.

use pronto_domain::SlaFact;
use pronto_kafka::rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use pronto_kafka::rdkafka::message::Message;
use pronto_kafka::rdkafka::{Offset, TopicPartitionList};
use pronto_kafka::{
    DeadLetters, KafkaArgs, Publisher, Topics, TxPublisher, group_consumer_committing, reader,
    record_span,
};
use pronto_runtime::{CancellationToken, Health, Metrics};
use pronto_sla::{Engine, Policy, PolicyVersions};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tracing::Instrument as _;

pub mod explain;
pub mod policies;

/// Consumer group of the SLA service.
pub const GROUP: &str = "pronto-sla";

/// Settings of the SLA service.
#[derive(Debug, Clone)]
pub struct SlaSettings {
    /// The policy this replica offers: published on the policies topic unless its version
    /// is there already.
    pub policy: Arc<Policy>,
    /// Where it came from; re-read on SIGHUP. `None` for the built-in policy.
    pub policy_file: Option<std::path::PathBuf>,
    /// How far out of order events may arrive and still be applied before a verdict.
    pub allowed_lateness: Duration,
    /// After this long with no record on a partition, event time follows the wall clock.
    pub idle_advance: Duration,
    /// How long a conversation keeps its events after its clocks closed, so that an event
    /// later than the allowed lateness is put in its place and the verdicts it changes are
    /// corrected; `None` keeps none.
    pub correction_window: Option<Duration>,
    /// Commit verdicts and input offsets together in Kafka transactions (exactly-once), with
    /// the transactional id `pronto-sla-<instance id>`. Needs a broker with transactions.
    pub transactions: bool,
}

struct PartitionEngine {
    engine: Engine,
    next_offset: i64,
    last_record: Instant,
}

struct Outputs {
    publisher: Publisher,
    /// Set when verdicts are written in transactions: then every publish happens inside
    /// the transaction the caller opened.
    tx: Option<TxPublisher>,
    topic: String,
    published: Arc<AtomicU64>,
}

impl Outputs {
    async fn publish(&self, facts: &[SlaFact]) -> anyhow::Result<()> {
        for f in facts {
            let bytes = pronto_proto::sla::encode(f);
            let ctx = f.context();
            let key = format!("{}/{}", ctx.tenant, ctx.conversation_id);
            match &self.tx {
                Some(tx) => {
                    tx.send(&self.topic, &key, &bytes, "pronto.v1.SlaFact")
                        .await?
                }
                None => {
                    self.publisher
                        .publish(&self.topic, &key, &bytes, "pronto.v1.SlaFact")
                        .await?;
                }
            }
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
    versions: &PolicyVersions,
) -> anyhow::Result<Engine> {
    let mut engine = Engine::with_versions(
        versions.clone(),
        settings.allowed_lateness.as_millis() as i64,
    )
    .with_correction_window(settings.correction_window.map(|w| w.as_millis() as i64));
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
        if let Ok(e) = pronto_proto::events::decode(m.payload().unwrap_or_default()) {
            engine.apply_owned(e);
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

/// Re-reads the policy file: the policy to publish and when it takes over, `None` when its
/// version is published already, or why it cannot be used.
fn reload(
    file: Option<&std::path::Path>,
    versions: &PolicyVersions,
) -> Result<Option<(Policy, pronto_domain::EventTime)>, String> {
    let Some(file) = file else {
        return Ok(None);
    };
    let policy = Policy::load(file).map_err(|e| e.to_string())?;
    let from = policies::activation(versions, &policy, pronto_runtime::wall_clock())?;
    tracing::info!(version = %policy.version, new = from.is_some(), "SLA policy file re-read");
    Ok(from.map(|f| (policy, f)))
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
    let tx = if settings.transactions {
        anyhow::ensure!(
            !kafka.instance_id.is_empty(),
            "transactions need a stable instance id (--instance-id) for the transactional id"
        );
        let id = format!("{GROUP}-{}", kafka.instance_id);
        tracing::info!(transactional_id = %id, "writing verdicts in Kafka transactions");
        Some(TxPublisher::new(&kafka.brokers, &id).await?)
    } else {
        None
    };
    let out = Outputs {
        publisher: publisher.clone(),
        tx,
        topic: topics.sla.clone(),
        published: metrics.counter("pronto_sla_facts_total"),
    };
    let restores = metrics.counter("pronto_sla_restores_total");
    let file_name = |f: &Option<std::path::PathBuf>| {
        f.as_ref()
            .map_or("built-in policy".to_string(), |p| p.display().to_string())
    };
    let (log, mut versions) =
        policies::PolicyLog::open(&kafka.brokers, &topics.policies, Some(&dead)).await?;
    let offered = &settings.policy;
    match policies::activation(&versions, offered, pronto_runtime::wall_clock())
        .map_err(anyhow::Error::msg)?
    {
        None => {}
        Some(from) => {
            policies::publish(
                &publisher,
                &topics.policies,
                offered,
                &file_name(&settings.policy_file),
                from,
                &kafka.instance_id,
            )
            .await?;
            // Engines take versions from the topic only: wait to read ours back.
            while versions.get(&offered.version).is_none() {
                let next = tokio::time::timeout(Duration::from_secs(30), log.next(&dead))
                    .await
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "the published policy did not come back from {} within 30 s",
                            topics.policies
                        )
                    })??;
                if let Some((from, p)) = next {
                    versions.add(from, p);
                }
            }
        }
    }
    let versions_read = metrics.counter("pronto_sla_policy_versions_read_total");
    versions_read.store(versions.len() as u64, Ordering::Relaxed);
    let reloads = metrics.counter("pronto_sla_policy_reloads_total");
    let reload_failures = metrics.counter("pronto_sla_policy_reload_failures_total");
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let consumer = group_consumer_committing(
        &kafka.brokers,
        GROUP,
        &kafka.instance_id,
        &[&topics.events],
        out.tx.is_none(),
    )?;
    let mut engines: HashMap<i32, PartitionEngine> = HashMap::new();
    // Breaches are announced within one tick of event time passing their deadline.
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    ready.store(true, Ordering::Relaxed);
    tracing::info!(
        policy = %versions.in_force(pronto_runtime::wall_clock()).version,
        versions = versions.len(),
        topic = %topics.events,
        "SLA service consuming"
    );
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            next = log.next(&dead) => {
                if let Some((from, policy)) = next?
                    && versions.add(from, Arc::clone(&policy))
                {
                    for pe in engines.values_mut() {
                        pe.engine.add_policy(from, Arc::clone(&policy));
                    }
                    versions_read.store(versions.len() as u64, Ordering::Relaxed);
                    tracing::info!(version = %policy.version, effective_from = %from, "SLA policy version read");
                }
            }
            _ = hup.recv() => {
                let outcome = reload(settings.policy_file.as_deref(), &versions).map(|offer| async {
                    if let Some((policy, from)) = offer {
                        policies::publish(&publisher, &topics.policies, &policy, &file_name(&settings.policy_file), from, &kafka.instance_id).await?;
                    }
                    anyhow::Ok(())
                });
                let outcome = match outcome {
                    Ok(publish) => publish.await.map_err(|e| e.to_string()),
                    Err(e) => Err(e),
                };
                match outcome {
                    Ok(()) => { reloads.fetch_add(1, Ordering::Relaxed); }
                    Err(e) => {
                        reload_failures.fetch_add(1, Ordering::Relaxed);
                        tracing::error!(error = %e, "SLA policy reload failed; the versions in force stay");
                    }
                }
            }
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
                        if facts.is_empty() {
                            continue;
                        }
                        match &out.tx {
                            None => out.publish(&facts).await?,
                            Some(tx) => {
                                tx.begin()?;
                                out.publish(&facts).await?;
                                tx.commit(None).await?;
                            }
                        }
                    }
                }
            }
            m = consumer.recv() => {
                let m = m?;
                let p = m.partition();
                let stale = engines.get(&p).is_none_or(|pe| pe.next_offset != m.offset());
                if stale {
                    let engine = restore(&kafka.brokers, &topics, p, m.offset(), &settings, &versions).await?;
                    restores.fetch_add(1, Ordering::Relaxed);
                    engines.insert(p, PartitionEngine { engine, next_offset: m.offset(), last_record: Instant::now() });
                }
                let pe = engines.get_mut(&p).expect("engine present");
                let span = record_span("sla", &m);
                if let Some(tx) = &out.tx {
                    tx.begin()?;
                }
                let processed = async {
                    match pronto_proto::events::decode(m.payload().unwrap_or_default()) {
                        Err(e) => match &out.tx {
                            Some(tx) => dead.park_in(tx, &m, &e.to_string()).await?,
                            None => dead.park(&m, &e.to_string()).await?,
                        },
                        Ok(event) => {
                            let facts = pe.engine.apply_owned(event);
                            out.publish(&facts).await?;
                        }
                    }
                    anyhow::Ok(())
                }
                .instrument(span)
                .await;
                match (&out.tx, processed) {
                    (None, processed) => {
                        processed?;
                        consumer.store_offset_from_message(&m)?;
                    }
                    (Some(tx), Ok(())) => {
                        // The verdicts and the next offset to read become visible together.
                        let mut next = TopicPartitionList::new();
                        next.add_partition_offset(m.topic(), p, Offset::Offset(m.offset() + 1))?;
                        tx.commit(Some((next, consumer.group_metadata().ok_or_else(|| anyhow::anyhow!("no consumer group metadata"))?))).await?;
                    }
                    (Some(tx), Err(e)) => {
                        tx.abort().await.ok();
                        return Err(e);
                    }
                }
                pe.next_offset = m.offset() + 1;
                pe.last_record = Instant::now();
            }
        }
    }
    if out.tx.is_none() {
        consumer.commit_consumer_state(CommitMode::Sync).ok();
    }
    publisher.flush(Duration::from_secs(5));
    tracing::info!("SLA service stopped");
    Ok(())
}
