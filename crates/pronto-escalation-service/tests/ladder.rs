//! Ladders in the running service, against librdkafka's in-process mock cluster: a level
//! climbs when its delay passes, an acknowledgement over gRPC stops the climb, an SLA
//! correction withdraws what was raised, and a restart raises nothing twice.

use pronto_domain::{
    Channel, ConversationContext, EventTime, ReplyKind, SlaBreach, SlaCorrection, SlaFact,
};
use pronto_kafka::rdkafka::message::Message;
use pronto_kafka::{KafkaArgs, Publisher, assign_from_beginning, reader};
use pronto_proto::v1 as pb;
use pronto_runtime::{CancellationToken, Health, Metrics};
use prost::Message as _;
use std::time::Duration;

const RULES: &str = r#"
name = "fast"
[[rules]]
name = "breach"
on = "sla_breach"
levels = [
  { level = "team_lead", after = "0m", notify = ["lead"] },
  { level = "manager", after = "3s", notify = ["boss"] },
]
"#;

fn breach(conv: &str, deadline: EventTime) -> SlaFact {
    SlaFact::Breach(SlaBreach {
        fact_id: format!("brk-{conv}"),
        clock_id: format!("clk-{conv}"),
        context: ConversationContext::new("acme", conv, Channel::Chat),
        kind: ReplyKind::First,
        customer_event_id: format!("m-{conv}").into(),
        customer_at: EventTime(deadline.millis() - 60_000),
        deadline,
        target_ms: 60_000,
        policy_version: "default@x".into(),
    })
}

fn free_port() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn start(
    kafka: &KafkaArgs,
    addr: std::net::SocketAddr,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let shutdown = CancellationToken::new();
    let service = tokio::spawn(pronto_escalation_service::run(
        kafka.clone(),
        pronto_escalation_service::EscalationSettings {
            grpc_addr: addr,
            webhook: None,
            webhook_secret: None,
            rules: pronto_escalation::RuleSet::from_toml("fast.toml", RULES).unwrap(),
            rules_file: Some("fast.toml".into()),
            grace: Duration::from_millis(200),
        },
        Health::default(),
        Metrics::default(),
        shutdown.clone(),
    ));
    (shutdown, service)
}

/// Every record of the escalations topic so far.
async fn escalation_log(kafka: &KafkaArgs) -> Vec<pb::EscalationEvent> {
    let topic = kafka.topics().escalations;
    let r = reader(&kafka.brokers).unwrap();
    assign_from_beginning(&r, &[&topic]).unwrap();
    let mut out = Vec::new();
    while let Ok(Ok(m)) = tokio::time::timeout(Duration::from_millis(1500), r.recv()).await {
        out.push(pb::EscalationEvent::decode(m.payload().unwrap()).unwrap());
    }
    out
}

fn raised(log: &[pb::EscalationEvent]) -> Vec<(String, String)> {
    log.iter()
        .filter_map(|e| match &e.event {
            Some(pb::escalation_event::Event::Raised(r)) => Some((
                r.context.as_ref().unwrap().conversation_id.clone(),
                r.level_name.clone(),
            )),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn levels_climb_unless_acknowledged_and_corrections_withdraw_them() {
    let (_cluster, kafka) = pronto_testkit::mock_cluster(2);
    let topics = kafka.topics();
    let addr = free_port();
    let (shutdown, service) = start(&kafka, addr);
    let publisher = Publisher::new(&kafka.brokers).unwrap();
    let publish = |conv: &'static str, deadline: EventTime| {
        let publisher = publisher.clone();
        let topic = topics.sla.clone();
        async move {
            publisher
                .publish(
                    &topic,
                    &format!("acme/{conv}"),
                    &pronto_proto::sla::encode(&breach(conv, deadline)),
                    "pronto.v1.SlaFact",
                )
                .await
                .unwrap();
        }
    };
    // The first level of each ladder is raised at once; acknowledge one over gRPC.
    let mut client = loop {
        match pronto_grpc::EscalationServiceClient::connect(format!("http://{addr}")).await {
            Ok(c) => break c,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    let mut stream = client
        .watch_escalations(pb::WatchEscalationsRequest {
            include_existing: true,
        })
        .await
        .unwrap()
        .into_inner();
    // Once the service is consuming (a warm-up breach came through), three more breaches.
    publish("warmup", EventTime(0)).await;
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(30), stream.message())
            .await
            .expect("the warm-up escalation")
            .unwrap()
            .unwrap();
        if matches!(ev.event, Some(pb::escalation_event::Event::Raised(_))) {
            break;
        }
    }
    let now = pronto_runtime::wall_clock();
    for conv in ["acked", "climbs", "corrected"] {
        publish(conv, now).await;
    }
    let mut first = std::collections::HashMap::new();
    while first.len() < 3 {
        let ev = tokio::time::timeout(Duration::from_secs(20), stream.message())
            .await
            .expect("three escalations")
            .unwrap()
            .unwrap();
        if let Some(pb::escalation_event::Event::Raised(r)) = ev.event {
            if r.context.as_ref().unwrap().conversation_id == "warmup" {
                continue;
            }
            assert_eq!(r.level_name, "team_lead");
            assert_eq!(r.recipients, ["lead"]);
            assert!(r.policy_version.starts_with("fast@"));
            first.insert(r.context.unwrap().conversation_id, r.escalation_id);
        }
    }
    client
        .acknowledge(pb::AcknowledgeRequest {
            escalation_id: first["acked"].clone(),
            by: "lead".into(),
        })
        .await
        .unwrap();

    // The unacknowledged ladders climb to the manager.
    let mut managers = Vec::new();
    while managers.len() < 2 {
        let ev = tokio::time::timeout(Duration::from_secs(20), stream.message())
            .await
            .expect("the managers are told")
            .unwrap()
            .unwrap();
        if let Some(pb::escalation_event::Event::Raised(r)) = ev.event {
            if r.context.as_ref().unwrap().conversation_id == "warmup" {
                continue;
            }
            assert_eq!((r.level_name.as_str(), r.step), ("manager", 1));
            assert_eq!(
                r.ladder_id,
                first[&r.context.as_ref().unwrap().conversation_id]
            );
            managers.push(r.context.unwrap().conversation_id);
        }
    }
    managers.sort();
    assert_eq!(managers, ["climbs", "corrected"]);

    // A correction of one breach withdraws both of its levels.
    let correction = SlaFact::Correction(SlaCorrection {
        fact_id: "cor-1".into(),
        corrects_fact_id: "brk-corrected".into(),
        corrects_kind: "breach".into(),
        clock_id: "clk-corrected".into(),
        context: ConversationContext::new("acme", "corrected", Channel::Chat),
        kind: ReplyKind::First,
        customer_at: EventTime(now.millis() - 60_000),
        reason: "a reply before the deadline arrived late".into(),
        occurred_at: EventTime(now.millis() - 1_000),
        policy_version: "default@x".into(),
    });
    publisher
        .publish(
            &topics.sla,
            "acme/corrected",
            &pronto_proto::sla::encode(&correction),
            "pronto.v1.SlaFact",
        )
        .await
        .unwrap();
    let mut withdrawn = 0;
    while withdrawn < 2 {
        let ev = tokio::time::timeout(Duration::from_secs(20), stream.message())
            .await
            .expect("withdrawals")
            .unwrap()
            .unwrap();
        if let Some(pb::escalation_event::Event::Withdrawn(w)) = ev.event {
            assert_eq!(w.ladder_id, first["corrected"]);
            assert_eq!(w.correction_id, "cor-1");
            withdrawn += 1;
        }
    }
    shutdown.cancel();
    service.await.unwrap().unwrap();

    // A restart reads everything again and raises nothing new.
    let before = escalation_log(&kafka).await;
    let (shutdown, service) = start(&kafka, free_port());
    tokio::time::sleep(Duration::from_secs(6)).await;
    shutdown.cancel();
    service.await.unwrap().unwrap();
    let after = escalation_log(&kafka).await;
    let mut levels = raised(&after);
    levels.retain(|(c, _)| c != "warmup");
    levels.sort();
    assert_eq!(
        levels,
        [
            ("acked".to_string(), "team_lead".to_string()),
            ("climbs".into(), "manager".into()),
            ("climbs".into(), "team_lead".into()),
            ("corrected".into(), "manager".into()),
            ("corrected".into(), "team_lead".into()),
        ]
    );
    assert_eq!(before.len(), after.len(), "the restart wrote nothing");
}
