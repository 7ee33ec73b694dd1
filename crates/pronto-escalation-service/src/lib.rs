//! The escalation service: reads SLA verdicts and sentiment tags, applies the escalation
//! rules, publishes each escalation once to its topic, streams it to supervisors' consoles
//! over gRPC, and posts it to a webhook when one is configured.

use pronto_domain::{
    EscalationFact, EscalationHandled, EscalationRecord, EscalationState, EventTime, Fault,
    VersionRecord,
};
use pronto_escalation::{Escalator, RuleSet};
use pronto_grpc::{EscalationService, EscalationServiceServer};
use pronto_kafka::rdkafka::message::Message;
use pronto_kafka::{
    DeadLetters, InFlight, KafkaArgs, Publisher, assign_from_beginning, group_consumer_committing,
    reader, record_span,
};
use pronto_proto::v1 as pb;
use pronto_runtime::fault::grpc_code;
use pronto_runtime::{CancellationToken, Health, Metrics};
use prost::Message as _;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};
use tracing::Instrument as _;

/// Consumer group of the escalation service. Its members share the input partitions; they
/// commit no offsets, as each rebuilds its ladders by reading its partitions from the start.
pub const GROUP: &str = "pronto-escalation-ladders";

/// Settings of the escalation service.
#[derive(Debug, Clone)]
pub struct EscalationSettings {
    pub grpc_addr: SocketAddr,
    /// Where to POST each new escalation as JSON, if anywhere.
    pub webhook: Option<String>,
    /// Key for the HMAC-SHA256 `Pronto-Signature` header of webhook posts.
    pub webhook_secret: Option<String>,
    /// The escalation rules, and the file they came from.
    pub rules: RuleSet,
    pub rules_file: Option<String>,
    /// How far the ladders' clock stays behind the inputs' event time (and the wall clock),
    /// so that an acknowledgement, reply or solve arriving this late still stops a level
    /// that was due after it.
    pub grace: Duration,
}

pub mod webhook;

#[derive(Default)]
struct Board {
    order: Vec<String>,
    /// Every escalation raised, as the gRPC face streams it.
    raised: HashMap<String, pb::EscalationEvent>,
    state: HashMap<String, EscalationState>,
    /// Rules versions recorded on the topic, with when each took effect.
    rules: HashMap<String, EventTime>,
}

impl Board {
    /// Folds one record of the escalations topic; tells the escalator of acknowledgements
    /// and resolutions.
    fn apply(&mut self, record: &EscalationRecord, escalator: &Mutex<Escalator>) {
        match record {
            EscalationRecord::Fact(EscalationFact::Raised(r)) => {
                if !self.raised.contains_key(&r.escalation_id) {
                    self.order.push(r.escalation_id.clone());
                    self.raised
                        .insert(r.escalation_id.clone(), pb::EscalationEvent::from(record));
                }
            }
            EscalationRecord::Fact(EscalationFact::Withdrawn(w)) => {
                self.move_to(&w.escalation_id, EscalationState::Withdrawn);
            }
            EscalationRecord::Handled(h) => {
                self.move_to(&h.escalation_id, h.state);
                escalator
                    .lock()
                    .expect("escalator lock")
                    .stop(&h.escalation_id, h.at);
            }
            EscalationRecord::RulesInForce(v) => {
                // No effective_from: the first version, in force from the beginning.
                let at = v.effective_from.unwrap_or(EventTime(i64::MIN));
                self.rules.entry(v.version.clone()).or_insert(at);
            }
        }
    }

    fn move_to(&mut self, id: &str, to: EscalationState) {
        let s = self.state.entry(id.to_string()).or_default();
        *s = s.then(to);
    }
}

struct Shared {
    board: Mutex<Board>,
    escalator: Mutex<Escalator>,
    tx: broadcast::Sender<pb::EscalationEvent>,
    publisher: Publisher,
    topic: String,
}

impl Shared {
    /// Publishes `record` under `key`, and once the broker acknowledged it, folds it into the
    /// board and streams it to consoles (escalations and their changes, not rules versions).
    async fn record(
        &self,
        key: &str,
        record: &EscalationRecord,
    ) -> anyhow::Result<pb::EscalationEvent> {
        let ev = pb::EscalationEvent::from(record);
        self.publisher
            .publish(
                &self.topic,
                key,
                &ev.encode_to_vec(),
                pronto_proto::escalations::MESSAGE,
            )
            .await?;
        self.board
            .lock()
            .expect("board lock")
            .apply(record, &self.escalator);
        if !matches!(record, EscalationRecord::RulesInForce(_)) {
            let _ = self.tx.send(ev.clone());
        }
        Ok(ev)
    }

    fn key_of(&self, id: &str) -> Option<String> {
        let board = self.board.lock().expect("board lock");
        match board.raised.get(id)?.event.as_ref()? {
            pb::escalation_event::Event::Raised(r) => {
                let c = r.context.as_ref()?;
                Some(format!("{}/{}", c.tenant, c.conversation_id))
            }
            _ => None,
        }
    }

    async fn transition(
        &self,
        id: &str,
        by: &str,
        to: EscalationState,
    ) -> Result<pb::EscalationEvent, Status> {
        if id.is_empty() {
            return Err(Status::new(
                grpc_code(Fault::User),
                "escalation_id: is required",
            ));
        }
        let key = self.key_of(id).ok_or_else(|| {
            Status::not_found(format!("escalation {id} is not known to this service"))
        })?;
        {
            let board = self.board.lock().expect("board lock");
            let current = board.state.get(id).copied().unwrap_or_default();
            if let Err(why) = current.may_become(to) {
                return Err(Status::failed_precondition(format!(
                    "escalation {id} {why}"
                )));
            }
        }
        let now = pronto_runtime::wall_clock();
        let record = EscalationRecord::Handled(EscalationHandled {
            escalation_id: id.into(),
            state: to,
            by: by.into(),
            at: now,
        });
        // Folded into the board, an acknowledged or resolved ladder climbs no further.
        self.record(&key, &record).await.map_err(|e| {
            Status::new(
                grpc_code(Fault::External),
                format!("broker did not acknowledge: {e}"),
            )
        })
    }
}

struct Api(Arc<Shared>, CancellationToken);

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::EscalationEvent, Status>> + Send>>;

#[tonic::async_trait]
impl EscalationService for Api {
    type WatchEscalationsStream = EventStream;

    async fn watch_escalations(
        &self,
        req: Request<pb::WatchEscalationsRequest>,
    ) -> Result<Response<Self::WatchEscalationsStream>, Status> {
        let rx = self.0.tx.subscribe();
        let existing: Vec<pb::EscalationEvent> = if req.get_ref().include_existing {
            let board = self.0.board.lock().expect("board lock");
            board
                .order
                .iter()
                .filter_map(|id| board.raised.get(id).cloned())
                .collect()
        } else {
            Vec::new()
        };
        let live = BroadcastStream::new(rx).filter_map(|r| r.ok());
        // Streams end when the service stops, so that a graceful shutdown does not wait on
        // consoles that never hang up.
        let stopping = self.1.clone();
        let stream = futures::StreamExt::take_until(
            tokio_stream::iter(existing).chain(live).map(Ok),
            async move { stopping.cancelled().await },
        );
        Ok(Response::new(Box::pin(stream)))
    }

    async fn acknowledge(
        &self,
        req: Request<pb::AcknowledgeRequest>,
    ) -> Result<Response<pb::EscalationEvent>, Status> {
        let r = req.into_inner();
        self.0
            .transition(&r.escalation_id, &r.by, EscalationState::Acknowledged)
            .await
            .map(Response::new)
    }

    async fn resolve(
        &self,
        req: Request<pb::ResolveRequest>,
    ) -> Result<Response<pb::EscalationEvent>, Status> {
        let r = req.into_inner();
        self.0
            .transition(&r.escalation_id, &r.by, EscalationState::Resolved)
            .await
            .map(Response::new)
    }
}

/// Reads the escalations topic from its beginning until caught up, so that a restarted
/// service knows what it already raised (and raises, streams and posts nothing twice), what
/// was acknowledged or resolved, and which rules versions took effect when; then keeps
/// following it in the background, so that escalations raised by other replicas are known too.
async fn follow_board(
    brokers: pronto_kafka::Connection,
    topic: &str,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    use pronto_kafka::rdkafka::consumer::Consumer as _;
    let r = reader(brokers)?;
    assign_from_beginning(&r, &[topic])?;
    let mut remaining: HashMap<i32, i64> = HashMap::new();
    for e in r.assignment()?.elements() {
        let (low, high) = r.fetch_watermarks(topic, e.partition(), Duration::from_secs(10))?;
        if high > low {
            remaining.insert(e.partition(), high);
        }
    }
    let apply = |shared: &Shared, m: &pronto_kafka::rdkafka::message::BorrowedMessage<'_>| {
        match pronto_proto::escalations::decode(m.payload().unwrap_or_default()) {
            Ok(record) => shared
                .board
                .lock()
                .expect("board lock")
                .apply(&record, &shared.escalator),
            Err(e) => tracing::warn!(
                partition = m.partition(),
                offset = m.offset(),
                error = %e,
                "a record of the escalations topic left out of the board"
            ),
        }
    };
    let mut n = 0;
    while !remaining.is_empty() {
        let m = r.recv().await?;
        apply(&shared, &m);
        n += 1;
        if remaining
            .get(&m.partition())
            .is_some_and(|high| m.offset() + 1 >= *high)
        {
            remaining.remove(&m.partition());
        }
    }
    tracing::info!(records = n, "escalation board restored from the log");
    Ok(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                m = r.recv() => match m {
                    Ok(m) => apply(&shared, &m),
                    Err(e) => tracing::warn!(error = %e, "reading the escalations topic"),
                },
            }
        }
    }))
}

/// The ladders' clock: event time as far as every input topic has got, or the wall clock
/// for a topic with nothing new for a second (it is caught up), less the grace.
struct Clock {
    grace: i64,
    topics: HashMap<String, (EventTime, std::time::Instant)>,
    names: Vec<String>,
}

impl Clock {
    fn new(names: &[&str], grace: Duration) -> Self {
        Self {
            grace: grace.as_millis() as i64,
            topics: HashMap::new(),
            names: names.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn saw(&mut self, topic: &str, at: EventTime) {
        let e = self
            .topics
            .entry(topic.to_string())
            .or_insert((at, std::time::Instant::now()));
        e.0 = e.0.max(at);
        e.1 = std::time::Instant::now();
    }

    fn now(&self) -> EventTime {
        let wall = pronto_runtime::wall_clock();
        let idle = Duration::from_secs(1);
        let slowest = self
            .names
            .iter()
            .map(|t| match self.topics.get(t) {
                Some((at, seen)) if seen.elapsed() < idle => *at,
                _ => wall,
            })
            .min()
            .unwrap_or(wall);
        EventTime(slowest.min(wall).millis().saturating_sub(self.grace))
    }
}

/// An escalation fact handed to the producer: announced once the broker acknowledged it.
struct Sent {
    fact: EscalationFact,
    event: pb::EscalationEvent,
}

/// Hands each new fact to the producer once, without waiting for the broker; the window gives
/// it back to [`Announcer::announce`] once acknowledged. A fact is on the board from the moment
/// it is sent, so that it is not sent twice while in flight.
async fn emit(
    shared: &Shared,
    facts: Vec<EscalationFact>,
    window: &mut InFlight<Option<Sent>>,
) -> anyhow::Result<()> {
    for f in facts {
        let id = f.escalation_id().to_string();
        let fresh = {
            let board = shared.board.lock().expect("board lock");
            match &f {
                EscalationFact::Raised(_) => !board.raised.contains_key(&id),
                EscalationFact::Withdrawn(_) => {
                    board.state.get(&id) != Some(&EscalationState::Withdrawn)
                }
            }
        };
        if !fresh {
            continue;
        }
        let record = EscalationRecord::Fact(f.clone());
        let key = format!("{}/{}", f.context().tenant, f.context().conversation_id);
        let event = pb::EscalationEvent::from(&record);
        let delivery = shared
            .publisher
            .send(
                &shared.topic,
                &key,
                &event.encode_to_vec(),
                pronto_proto::escalations::MESSAGE,
            )
            .await?;
        shared
            .board
            .lock()
            .expect("board lock")
            .apply(&record, &shared.escalator);
        window.push(vec![delivery], Some(Sent { fact: f, event }));
    }
    Ok(())
}

/// Tells of escalations once they are durable: streams them to consoles, posts them to the
/// webhook, counts and logs them.
struct Announcer<'a> {
    shared: &'a Shared,
    hook: Option<&'a webhook::Webhook>,
    dead_letter_topic: &'a str,
    raised_total: &'a std::sync::atomic::AtomicU64,
}

impl Announcer<'_> {
    fn announce(&self, sent: Option<Sent>) {
        let Some(Sent { fact, event }) = sent else {
            return;
        };
        let _ = self.shared.tx.send(event);
        match &fact {
            EscalationFact::Raised(r) => {
                self.raised_total.fetch_add(1, Ordering::Relaxed);
                tracing::info!(escalation = %r, step = r.step, "escalation raised");
            }
            EscalationFact::Withdrawn(w) => {
                tracing::info!(escalation = %w.escalation_id, reason = %w.reason, "escalation withdrawn");
            }
        }
        if let Some(hook) = self.hook {
            tokio::spawn(webhook::deliver_or_park(
                hook.clone(),
                self.shared.publisher.clone(),
                self.dead_letter_topic.to_string(),
                self.shared.topic.clone(),
                fact,
            ));
        }
    }
}

/// The instant the rules version took effect, as recorded on the topic; recorded now if it
/// is new. The first version ever recorded covers all history (no effective_from).
async fn rules_in_force(
    shared: &Shared,
    settings: &EscalationSettings,
    instance: &str,
) -> anyhow::Result<EventTime> {
    let rules = &settings.rules;
    let first = {
        let board = shared.board.lock().expect("board lock");
        if let Some(at) = board.rules.get(&rules.version) {
            return Ok(*at);
        }
        board.rules.is_empty()
    };
    let now = pronto_runtime::wall_clock();
    let from = if first { EventTime(i64::MIN) } else { now };
    let record = EscalationRecord::RulesInForce(VersionRecord {
        version: rules.version.clone(),
        effective_from: (!first).then_some(now),
        source: rules.source.clone(),
        file: settings
            .rules_file
            .clone()
            .unwrap_or_else(|| "built-in escalation rules".into()),
        publisher: instance.to_string(),
        published_at: None,
    });
    shared.record("escalation-rules", &record).await?;
    tracing::info!(version = %rules.version, first, "escalation rules version recorded");
    Ok(from)
}

/// Feeds one input record to the ladders (or parks it when it does not decode), and hands the
/// escalations it raises or withdraws to the producer.
async fn process(
    m: &pronto_kafka::rdkafka::message::BorrowedMessage<'_>,
    shared: &Shared,
    topics: &pronto_kafka::Topics,
    clock: &mut Clock,
    window: &mut InFlight<Option<Sent>>,
    dead: &DeadLetters,
) -> anyhow::Result<()> {
    let payload = m.payload().unwrap_or_default();
    let decoded = match topics.kind(m.topic()) {
        Some(kind) => pronto_proto::decode(kind, payload).map_err(|e| e.to_string()),
        None => Err(format!(
            "{} is not an input of the escalation rules",
            m.topic()
        )),
    };
    match decoded {
        Err(reason) => window.push(vec![dead.send(m, &reason).await?], None),
        Ok(record) => {
            if let Some(at) = record.at() {
                clock.saw(m.topic(), at);
            }
            let facts = shared
                .escalator
                .lock()
                .expect("escalator lock")
                .on_record(&record);
            emit(shared, facts, window).await?;
        }
    }
    Ok(())
}

/// Runs until `shutdown`.
pub async fn run(
    kafka: KafkaArgs,
    settings: EscalationSettings,
    health: Health,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let ready = health.component("escalation");
    let topics = kafka.topics();
    let publisher = Publisher::new(kafka.connection())?;
    let dead = DeadLetters::new(publisher.clone(), &topics.dead_letter, "escalation");
    let (tx, _) = broadcast::channel(1024);
    let shared = Arc::new(Shared {
        board: Mutex::new(Board::default()),
        escalator: Mutex::new(Escalator::new(settings.rules.clone())),
        tx,
        publisher: publisher.clone(),
        topic: topics.escalations.clone(),
    });
    let follower = follow_board(
        kafka.connection(),
        &topics.escalations,
        Arc::clone(&shared),
        shutdown.clone(),
    )
    .await?;
    let effective_from = rules_in_force(&shared, &settings, &kafka.instance_id).await?;
    shared
        .escalator
        .lock()
        .expect("escalator lock")
        .set_effective_from(effective_from);
    let grpc = {
        let svc = EscalationServiceServer::new(Api(Arc::clone(&shared), shutdown.clone()));
        let token = shutdown.clone();
        let listener = tokio::net::TcpListener::bind(settings.grpc_addr).await?;
        tokio::spawn(pronto_runtime::serve_grpc(
            listener,
            tonic::service::Routes::new(svc),
            "pronto.v1.EscalationService",
            token,
        ))
    };
    let inputs = [
        topics.events.as_str(),
        topics.sla.as_str(),
        topics.sentiment.as_str(),
    ];
    // No offsets are committed: a member reads its partitions from the beginning, rebuilding
    // its ladders; what it raised before is on the board and is not raised again.
    let consumer = group_consumer_committing(
        kafka.connection(),
        GROUP,
        &kafka.instance_id,
        &inputs,
        false,
    )?;
    let hook = settings
        .webhook
        .clone()
        .map(|url| webhook::Webhook::new(url, settings.webhook_secret.clone()))
        .transpose()?;
    let raised_total = metrics.counter("pronto_escalations_raised_total");
    let pending = metrics.counter("pronto_escalation_levels_pending");
    let mut clock = Clock::new(&inputs, settings.grace);
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let announcer = Announcer {
        shared: &shared,
        hook: hook.as_ref(),
        dead_letter_topic: &topics.dead_letter,
        raised_total: &raised_total,
    };
    // Escalations (and dead letters) handed to the producer, not yet acknowledged.
    let mut window = InFlight::new(kafka.max_in_flight);
    ready.store(true, Ordering::Relaxed);
    tracing::info!(rules = %settings.rules.version, %effective_from, "escalation service consuming");
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            Some(done) = window.next(), if !window.is_empty() => announcer.announce(done?),
            _ = tick.tick(), if !window.is_full() => {
                let facts = {
                    let mut e = shared.escalator.lock().expect("escalator lock");
                    let facts = e.advance(clock.now());
                    pending.store(e.pending() as u64, Ordering::Relaxed);
                    facts
                };
                emit(&shared, facts, &mut window).await?;
            }
            m = consumer.recv(), if !window.is_full() => {
                let m = m?;
                process(&m, &shared, &topics, &mut clock, &mut window, &dead)
                    .instrument(record_span("escalation", &m))
                    .await?;
            }
        }
    }
    window
        .drain(|done| {
            announcer.announce(done);
            Ok(())
        })
        .await?;
    drop(consumer);
    publisher.flush(Duration::from_secs(5));
    let _ = grpc.await;
    let _ = follower.await;
    tracing::info!("escalation service stopped");
    Ok(())
}
