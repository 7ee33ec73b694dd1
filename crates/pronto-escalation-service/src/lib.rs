//! The escalation service: reads SLA verdicts and sentiment tags, applies the escalation
//! rules, publishes each escalation once to its topic, streams it to supervisors' consoles
//! over gRPC, and posts it to a webhook when one is configured.

use pronto_escalation::{Escalator, Rules};
use pronto_kafka::rdkafka::consumer::{CommitMode, Consumer};
use pronto_kafka::rdkafka::message::Message;
use pronto_kafka::{
    DeadLetters, KafkaArgs, Publisher, assign_from_beginning, group_consumer, reader, record_span,
};
use pronto_proto::v1 as pb;
use pronto_proto::v1::escalation_service_server::{EscalationService, EscalationServiceServer};
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

/// Consumer group of the escalation service.
pub const GROUP: &str = "pronto-escalation";

/// Settings of the escalation service.
#[derive(Debug, Clone)]
pub struct EscalationSettings {
    pub grpc_addr: SocketAddr,
    /// Where to POST each new escalation as JSON, if anywhere.
    pub webhook: Option<String>,
    /// Key for the HMAC-SHA256 `Pronto-Signature` header of webhook posts.
    pub webhook_secret: Option<String>,
}

pub mod webhook;

#[derive(Default)]
struct Board {
    order: Vec<String>,
    raised: HashMap<String, pb::EscalationEvent>,
    state: HashMap<String, &'static str>,
}

struct Shared {
    board: Mutex<Board>,
    tx: broadcast::Sender<pb::EscalationEvent>,
    publisher: Publisher,
    topic: String,
}

impl Shared {
    async fn publish(&self, key: &str, ev: &pb::EscalationEvent) -> anyhow::Result<()> {
        self.publisher
            .publish(
                &self.topic,
                key,
                &ev.encode_to_vec(),
                "pronto.v1.EscalationEvent",
            )
            .await?;
        let _ = self.tx.send(ev.clone());
        Ok(())
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
        to: &'static str,
    ) -> Result<pb::EscalationEvent, Status> {
        if id.is_empty() {
            return Err(Status::invalid_argument("escalation_id: is required"));
        }
        let key = self.key_of(id).ok_or_else(|| {
            Status::not_found(format!("escalation {id} is not known to this service"))
        })?;
        {
            let board = self.board.lock().expect("board lock");
            let current = board.state.get(id).copied().unwrap_or("raised");
            if current == "resolved" || (current == to) {
                return Err(Status::failed_precondition(format!(
                    "escalation {id} is already {current}"
                )));
            }
        }
        let at = Some(pronto_proto::timestamp(pronto_runtime::wall_clock()));
        let event = match to {
            "acknowledged" => {
                pb::escalation_event::Event::Acknowledged(pb::EscalationAcknowledged {
                    escalation_id: id.into(),
                    by: by.into(),
                    at,
                })
            }
            _ => pb::escalation_event::Event::Resolved(pb::EscalationResolved {
                escalation_id: id.into(),
                by: by.into(),
                at,
            }),
        };
        let ev = pb::EscalationEvent { event: Some(event) };
        self.publish(&key, &ev)
            .await
            .map_err(|e| Status::unavailable(format!("broker did not acknowledge: {e}")))?;
        self.board
            .lock()
            .expect("board lock")
            .state
            .insert(id.to_string(), to);
        Ok(ev)
    }
}

struct Api(Arc<Shared>);

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
        let stream = tokio_stream::iter(existing).chain(live).map(Ok);
        Ok(Response::new(Box::pin(stream)))
    }

    async fn acknowledge(
        &self,
        req: Request<pb::AcknowledgeRequest>,
    ) -> Result<Response<pb::EscalationEvent>, Status> {
        let r = req.into_inner();
        self.0
            .transition(&r.escalation_id, &r.by, "acknowledged")
            .await
            .map(Response::new)
    }

    async fn resolve(
        &self,
        req: Request<pb::ResolveRequest>,
    ) -> Result<Response<pb::EscalationEvent>, Status> {
        let r = req.into_inner();
        self.0
            .transition(&r.escalation_id, &r.by, "resolved")
            .await
            .map(Response::new)
    }
}

/// Reads the escalations topic back from its beginning, so that a restarted service knows
/// what it already raised (and raises, streams and posts nothing twice) and what was
/// acknowledged or resolved.
async fn load_board(brokers: &str, topic: &str, shared: &Shared) -> anyhow::Result<()> {
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
    let mut n = 0;
    while !remaining.is_empty() {
        let m = r.recv().await?;
        if let Ok(ev) = pronto_proto::decode::<pb::EscalationEvent>(
            "pronto.v1.EscalationEvent",
            m.payload().unwrap_or_default(),
        ) {
            let mut board = shared.board.lock().expect("board lock");
            match &ev.event {
                Some(pb::escalation_event::Event::Raised(r))
                    if !board.raised.contains_key(&r.escalation_id) =>
                {
                    board.order.push(r.escalation_id.clone());
                    board.raised.insert(r.escalation_id.clone(), ev.clone());
                }
                Some(pb::escalation_event::Event::Acknowledged(a)) => {
                    board.state.insert(a.escalation_id.clone(), "acknowledged");
                }
                Some(pb::escalation_event::Event::Resolved(r)) => {
                    board.state.insert(r.escalation_id.clone(), "resolved");
                }
                _ => {}
            }
            n += 1;
        }
        if remaining
            .get(&m.partition())
            .is_some_and(|high| m.offset() + 1 >= *high)
        {
            remaining.remove(&m.partition());
        }
    }
    tracing::info!(records = n, "escalation board restored from the log");
    Ok(())
}

/// Runs until `shutdown`, then commits and returns.
pub async fn run(
    kafka: KafkaArgs,
    settings: EscalationSettings,
    health: Health,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let ready = health.component("escalation");
    let topics = kafka.topics();
    let publisher = Publisher::new(&kafka.brokers)?;
    let dead = DeadLetters::new(publisher.clone(), &topics.dead_letter, "escalation");
    let (tx, _) = broadcast::channel(1024);
    let shared = Arc::new(Shared {
        board: Mutex::new(Board::default()),
        tx,
        publisher: publisher.clone(),
        topic: topics.escalations.clone(),
    });
    load_board(&kafka.brokers, &topics.escalations, &shared).await?;
    let grpc = {
        let svc = EscalationServiceServer::new(Api(Arc::clone(&shared)));
        let token = shutdown.clone();
        let listener = tokio::net::TcpListener::bind(settings.grpc_addr).await?;
        tokio::spawn(pronto_runtime::serve_grpc(
            listener,
            tonic::service::Routes::new(svc),
            "pronto.v1.EscalationService",
            token,
        ))
    };
    let consumer = group_consumer(
        &kafka.brokers,
        GROUP,
        &kafka.instance_id,
        &[&topics.sla, &topics.sentiment],
    )?;
    let mut escalator = Escalator::new(Rules::default());
    let hook = settings
        .webhook
        .clone()
        .map(|url| webhook::Webhook::new(url, settings.webhook_secret.clone()))
        .transpose()?;
    let raised_total = metrics.counter("pronto_escalations_raised_total");
    ready.store(true, Ordering::Relaxed);
    loop {
        let m = tokio::select! {
            _ = shutdown.cancelled() => break,
            m = consumer.recv() => m?,
        };
        let span = record_span("escalation", &m);
        async {
            let payload = m.payload().unwrap_or_default();
            let decoded = if m.topic() == topics.events {
                pronto_proto::decode_event(payload).map(|e| {
                    escalator.on_event(&e);
                    None
                })
            } else if m.topic() == topics.sla {
                pronto_proto::decode::<pb::SlaFact>("pronto.v1.SlaFact", payload)
                    .and_then(pronto_proto::sla_fact_from_pb)
                    .map(|f| escalator.on_sla(&f))
            } else {
                pronto_proto::decode::<pb::SentimentTag>("pronto.v1.SentimentTag", payload)
                    .and_then(pronto_proto::tag_from_pb)
                    .map(|t| escalator.on_tag(&t))
            };
            match decoded {
                Err(e) => dead.park(&m, &e.to_string()).await?,
                Ok(None) => {}
                Ok(Some(esc)) => {
                    let fresh = !shared
                        .board
                        .lock()
                        .expect("board lock")
                        .raised
                        .contains_key(&esc.escalation_id);
                    if fresh {
                        let ev = pronto_proto::escalation_to_pb(&esc);
                        let key = format!("{}/{}", esc.context.tenant, esc.context.conversation_id);
                        shared.publish(&key, &ev).await?;
                        {
                            let mut board = shared.board.lock().expect("board lock");
                            board.order.push(esc.escalation_id.clone());
                            board.raised.insert(esc.escalation_id.clone(), ev);
                        }
                        raised_total.fetch_add(1, Ordering::Relaxed);
                        tracing::info!(escalation = %esc, "escalation raised");
                        if let Some(hook) = &hook {
                            tokio::spawn(webhook::deliver_or_park(
                                hook.clone(),
                                publisher.clone(),
                                topics.dead_letter.clone(),
                                topics.escalations.clone(),
                                esc,
                            ));
                        }
                    }
                }
            }
            anyhow::Ok(())
        }
        .instrument(span)
        .await?;
        consumer.store_offset_from_message(&m)?;
    }
    consumer.commit_consumer_state(CommitMode::Sync).ok();
    publisher.flush(Duration::from_secs(5));
    let _ = grpc.await;
    tracing::info!("escalation service stopped");
    Ok(())
}
