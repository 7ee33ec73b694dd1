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

use pronto_kafka::rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use pronto_kafka::rdkafka::message::BorrowedMessage;
use pronto_kafka::rdkafka::message::Message;
use pronto_kafka::rdkafka::{Offset, TopicPartitionList};
use pronto_kafka::{
    DeadLetters, KafkaArgs, Publisher, Record, Topics, TxPublisher, group_consumer_committing,
    reader, record_span,
};
use pronto_runtime::{CancellationToken, Health, Metrics};
use pronto_sla::{Engine, Policy, PolicyVersions};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tracing::Instrument as _;

pub mod explain;
mod outputs;
pub mod policies;

use outputs::Outputs;

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

/// The engines of the partitions this replica holds, and what it takes to rebuild one.
struct Engines<'a> {
    by_partition: HashMap<i32, PartitionEngine>,
    versions: PolicyVersions,
    connection: pronto_kafka::Connection,
    topics: &'a Topics,
    settings: &'a SlaSettings,
    restores: Arc<std::sync::atomic::AtomicU64>,
}

impl Engines<'_> {
    /// Applies one record of the events topic and hands its verdicts (or its dead letter) to
    /// `out`; rebuilds the partition's engine from the log first when it is new here or missed
    /// records.
    async fn process(
        &mut self,
        m: &BorrowedMessage<'_>,
        out: &mut Outputs,
        dead: &DeadLetters,
    ) -> anyhow::Result<()> {
        let p = m.partition();
        let stale = self
            .by_partition
            .get(&p)
            .is_none_or(|pe| pe.next_offset != m.offset());
        if stale {
            let engine = restore(
                &self.connection,
                self.topics,
                p,
                m.offset(),
                self.settings,
                &self.versions,
            )
            .await?;
            self.restores.fetch_add(1, Ordering::Relaxed);
            self.by_partition.insert(
                p,
                PartitionEngine {
                    engine,
                    next_offset: m.offset(),
                    last_record: Instant::now(),
                },
            );
        }
        let pe = self.by_partition.get_mut(&p).expect("engine present");
        out.begin()?;
        let deliveries = async {
            match pronto_proto::events::decode(m.payload().unwrap_or_default()) {
                Err(e) => match out.tx() {
                    Some(tx) => {
                        dead.park_in(tx, m, &e.to_string()).await?;
                        anyhow::Ok(Vec::new())
                    }
                    None => Ok(vec![dead.send(m, &e.to_string()).await?]),
                },
                Ok(event) => out.send(&pe.engine.apply_owned(event)).await,
            }
        }
        .instrument(record_span("sla", m))
        .await?;
        out.sent(Some(Record::of(m)), deliveries);
        pe.next_offset = m.offset() + 1;
        pe.last_record = Instant::now();
        Ok(())
    }

    /// Takes a policy version read from the topic; whether it was new.
    fn add_policy(&mut self, from: pronto_domain::EventTime, policy: Arc<Policy>) -> bool {
        if !self.versions.add(from, Arc::clone(&policy)) {
            return false;
        }
        for pe in self.by_partition.values_mut() {
            pe.engine.add_policy(from, Arc::clone(&policy));
        }
        true
    }

    /// Moves event time to the wall clock on partitions idle for `idle_advance`, so that
    /// breaches fire with no new event; drops the engines of partitions a rebalance moved to
    /// another replica (if they come back, their engine is rebuilt from the log).
    async fn advance_idle(
        &mut self,
        consumer: &StreamConsumer,
        out: &mut Outputs,
    ) -> anyhow::Result<()> {
        if let Ok(assigned) = consumer.assignment() {
            let mine: std::collections::HashSet<i32> = assigned
                .elements_for_topic(&self.topics.events)
                .iter()
                .map(|e| e.partition())
                .collect();
            self.by_partition.retain(|p, _| mine.contains(p));
        }
        let now = pronto_runtime::wall_clock();
        for pe in self.by_partition.values_mut() {
            if pe.last_record.elapsed() < self.settings.idle_advance {
                continue;
            }
            let facts = pe.engine.advance(now);
            if facts.is_empty() {
                continue;
            }
            out.begin()?;
            let deliveries = out.send(&facts).await?;
            out.sent(None, deliveries);
        }
        Ok(())
    }
}

/// Rebuilds an engine from the start of `partition` up to (not including) `until`.
async fn restore(
    brokers: &pronto_kafka::Connection,
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

/// Where the policy in use came from, as recorded with its version.
fn file_name(settings: &SlaSettings) -> String {
    settings
        .policy_file
        .as_ref()
        .map_or("built-in policy".to_string(), |p| p.display().to_string())
}

/// Where verdicts go: in transactions when asked for, else acknowledged one by one.
async fn outputs(
    kafka: &KafkaArgs,
    settings: &SlaSettings,
    publisher: &Publisher,
    metrics: &Metrics,
) -> anyhow::Result<Outputs> {
    let topic = kafka.topics().sla;
    let published = metrics.counter("pronto_sla_facts_total");
    if !settings.transactions {
        return Ok(Outputs::at_least_once(
            publisher.clone(),
            topic,
            published,
            kafka.max_in_flight,
        ));
    }
    anyhow::ensure!(
        !kafka.instance_id.is_empty(),
        "transactions need a stable instance id (--instance-id) for the transactional id"
    );
    let id = format!("{GROUP}-{}", kafka.instance_id);
    tracing::info!(transactional_id = %id, "writing verdicts in Kafka transactions");
    let tx = TxPublisher::new(kafka.connection(), &id).await?;
    Ok(Outputs::transactional(
        tx,
        topic,
        published,
        kafka.max_in_flight,
    ))
}

/// Publishes the policy this replica offers unless its version is on the topic already, and
/// waits to read it back: engines take versions from the topic only.
async fn offer_policy(
    kafka: &KafkaArgs,
    settings: &SlaSettings,
    publisher: &Publisher,
    log: &policies::PolicyLog,
    versions: &mut PolicyVersions,
    dead: &DeadLetters,
) -> anyhow::Result<()> {
    let topics = kafka.topics();
    let offered = &settings.policy;
    let Some(from) = policies::activation(versions, offered, pronto_runtime::wall_clock())
        .map_err(anyhow::Error::msg)?
    else {
        return Ok(());
    };
    policies::publish(
        publisher,
        &topics.policies,
        offered,
        &file_name(settings),
        from,
        &kafka.instance_id,
    )
    .await?;
    while versions.get(&offered.version).is_none() {
        let next = tokio::time::timeout(Duration::from_secs(30), log.next(dead))
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
    Ok(())
}

/// On SIGHUP: re-reads the policy file and publishes its version when it is new. A failure
/// is logged and counted; the versions in force stay.
async fn on_hangup(
    kafka: &KafkaArgs,
    settings: &SlaSettings,
    publisher: &Publisher,
    versions: &PolicyVersions,
    metrics: &Metrics,
) {
    let outcome = match reload(settings.policy_file.as_deref(), versions) {
        Ok(Some((policy, from))) => policies::publish(
            publisher,
            &kafka.topics().policies,
            &policy,
            &file_name(settings),
            from,
            &kafka.instance_id,
        )
        .await
        .map_err(|e| e.to_string()),
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => {
            metrics
                .counter("pronto_sla_policy_reloads_total")
                .fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            metrics
                .counter("pronto_sla_policy_reload_failures_total")
                .fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "SLA policy reload failed; the versions in force stay");
        }
    }
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
    let publisher = Publisher::new(kafka.connection())?;
    let dead = DeadLetters::new(publisher.clone(), &topics.dead_letter, "sla");
    let mut out = outputs(&kafka, &settings, &publisher, &metrics).await?;
    let (log, mut versions) =
        policies::PolicyLog::open(kafka.connection(), &topics.policies, Some(&dead)).await?;
    offer_policy(&kafka, &settings, &publisher, &log, &mut versions, &dead).await?;
    let versions_read = metrics.counter("pronto_sla_policy_versions_read_total");
    versions_read.store(versions.len() as u64, Ordering::Relaxed);
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let consumer = group_consumer_committing(
        kafka.connection(),
        GROUP,
        &kafka.instance_id,
        &[&topics.events],
        out.tx().is_none(),
    )?;
    tracing::info!(
        policy = %versions.in_force(pronto_runtime::wall_clock()).version,
        versions = versions.len(),
        topic = %topics.events,
        "SLA service consuming"
    );
    let mut engines = Engines {
        by_partition: HashMap::new(),
        versions,
        connection: kafka.connection(),
        topics: &topics,
        settings: &settings,
        restores: metrics.counter("pronto_sla_restores_total"),
    };
    // Breaches are announced within one tick of event time passing their deadline.
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    ready.store(true, Ordering::Relaxed);
    let outcome = loop {
        let commit_by = out.commit_by();
        let step = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break Ok(()),
            acked = out.acknowledged(&consumer) => acked,
            _ = tokio::time::sleep_until(commit_by.unwrap_or_else(tokio::time::Instant::now)), if commit_by.is_some() => {
                out.commit_if_due(&consumer).await
            }
            next = log.next(&dead) => next.map(|next| {
                if let Some((from, policy)) = next
                    && engines.add_policy(from, Arc::clone(&policy))
                {
                    versions_read.store(engines.versions.len() as u64, Ordering::Relaxed);
                    tracing::info!(version = %policy.version, effective_from = %from, "SLA policy version read");
                }
            }),
            _ = hup.recv() => {
                on_hangup(&kafka, &settings, &publisher, &engines.versions, &metrics).await;
                Ok(())
            }
            _ = tick.tick() => match engines.advance_idle(&consumer, &mut out).await {
                Ok(()) => out.commit_if_due(&consumer).await,
                Err(e) => Err(e),
            },
            m = consumer.recv(), if !out.is_full() => match m {
                Ok(m) => match engines.process(&m, &mut out, &dead).await {
                    Ok(()) => out.commit_if_due(&consumer).await,
                    Err(e) => Err(e),
                },
                Err(e) => Err(e.into()),
            },
        };
        if let Err(e) = step {
            break Err(e);
        }
    };
    match outcome {
        // Stopping: what is in flight is waited for (or committed), then the offsets.
        Ok(()) => {
            out.finish(&consumer).await?;
            if out.tx().is_none() {
                consumer.commit_consumer_state(CommitMode::Sync).ok();
            }
        }
        // Nothing of the open transaction becomes visible; what was acknowledged stays, and
        // the records after it are processed again after a restart.
        Err(e) => {
            out.abort().await;
            return Err(e);
        }
    }
    publisher.flush(Duration::from_secs(5));
    tracing::info!("SLA service stopped");
    Ok(())
}
