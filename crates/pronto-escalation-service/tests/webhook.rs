//! Webhook delivery against librdkafka's in-process mock cluster and a real HTTP receiver:
//! posts are signed, a delivery that keeps failing is parked in the dead-letter topic with
//! its reason, and `redeliver` posts it again.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use pronto_domain::{Channel, ConversationContext, EventTime, ReplyKind, SlaBreach, SlaFact};
use pronto_escalation_service::webhook::{DEAD_LETTER_SERVICE, Webhook, redeliver};
use pronto_kafka::rdkafka::message::Message;
use pronto_kafka::{Publisher, assign_from_beginning, reader};
use pronto_proto::v1 as pb;
use pronto_runtime::{CancellationToken, Health, Metrics};
use prost::Message as _;
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Received = Arc<Mutex<Vec<(String, String, String)>>>;

/// An HTTP receiver on a free port that records (escalation id, signature, body), and
/// answers `status`.
async fn receiver(status: u16) -> (String, Received) {
    let got: Received = Arc::default();
    let app = {
        let got = Arc::clone(&got);
        axum::Router::new().route(
            "/hook",
            axum::routing::post(move |h: HeaderMap, body: String| {
                let got = Arc::clone(&got);
                async move {
                    let header = |k: &str| {
                        h.get(k)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string()
                    };
                    got.lock().unwrap().push((
                        header("pronto-escalation-id"),
                        header("pronto-signature"),
                        body,
                    ));
                    axum::http::StatusCode::from_u16(status).unwrap()
                }
            }),
        )
    };
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, got)
}

/// Checks a `Pronto-Signature` the way a receiver would.
fn verify(secret: &str, header: &str, body: &str) -> bool {
    let Some((t, v1)) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes()) == v1
}

fn breach() -> SlaFact {
    let mut ctx = ConversationContext::new("acme", "c1", Channel::Chat);
    ctx.queue = "billing".into();
    SlaFact::Breach(SlaBreach {
        fact_id: "brk-1".into(),
        clock_id: "clk-1".into(),
        context: ctx,
        kind: ReplyKind::First,
        customer_event_id: "m1".into(),
        customer_at: EventTime(1_772_442_000_000),
        deadline: EventTime(1_772_445_600_000),
        target_ms: 3_600_000,
        policy_version: "default@x".into(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_webhook_is_parked_then_redelivered_signed() {
    let (_cluster, kafka) = pronto_testkit::mock_cluster(1);
    let topics = kafka.topics();
    // The receiver is down (answers 503) while the service runs.
    let (down, refused) = receiver(503).await;
    let shutdown = CancellationToken::new();
    let service = tokio::spawn(pronto_escalation_service::run(
        kafka.clone(),
        pronto_escalation_service::EscalationSettings {
            grpc_addr: "127.0.0.1:0".parse().unwrap(),
            webhook: Some(down.clone()),
            webhook_secret: Some("s3cret".into()),
            rules: pronto_escalation::RuleSet::from_toml(
                "one-level.toml",
                "name = \"one-level\"\n[[rules]]\nname = \"breach\"\non = \"sla_breach\"\nlevels = [{ level = \"team_lead\", after = \"0m\" }]\n",
            )
            .unwrap(),
            rules_file: None,
            grace: Duration::from_millis(100),
        },
        Health::default(),
        Metrics::default(),
        shutdown.clone(),
    ));
    let publisher = Publisher::new(&kafka.brokers).unwrap();
    publisher
        .publish(
            &topics.sla,
            "acme/c1",
            &pronto_proto::sla::encode(&breach()),
            "pronto.v1.SlaFact",
        )
        .await
        .unwrap();

    // Every attempt was signed; after the last, the delivery is parked with its reason.
    let dead = reader(&kafka.brokers).unwrap();
    assign_from_beginning(&dead, &[&topics.dead_letter]).unwrap();
    let m = tokio::time::timeout(Duration::from_secs(30), dead.recv())
        .await
        .expect("a dead letter arrives")
        .unwrap();
    let letter = pb::DeadLetter::decode(m.payload().unwrap()).unwrap();
    assert_eq!(letter.service, DEAD_LETTER_SERVICE);
    assert!(
        letter
            .reason
            .contains("gave up after 4 attempts: refused with 503"),
        "{}",
        letter.reason
    );
    assert_eq!(letter.key, b"acme/c1");
    let attempts = refused.lock().unwrap().clone();
    assert_eq!(attempts.len(), 4);
    for (id, signature, body) in &attempts {
        assert!(id.starts_with("esc-"), "{id}");
        assert!(verify("s3cret", signature, body), "{signature}");
        assert!(!verify("wrong", signature, body));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["escalation_id"].as_str(), Some(id.as_str()));
        assert_eq!(v["queue"], "billing");
    }
    assert_eq!(letter.payload, attempts[0].2.as_bytes());
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), service)
        .await
        .expect("the service stops")
        .unwrap()
        .unwrap();

    // Back up: the parked delivery goes out again, signed anew.
    let (up, delivered) = receiver(200).await;
    let hook = Webhook::new(up, Some("s3cret".into())).unwrap();
    let mut progress = Vec::new();
    let done = redeliver(kafka.connection(), &topics.dead_letter, &hook, |d, t| {
        progress.push((d, t))
    })
    .await
    .unwrap();
    assert_eq!((done.parked, done.delivered, done.failed), (1, 1, 0));
    assert_eq!(progress.last(), Some(&(1, 1)));
    let got = delivered.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, attempts[0].0);
    assert_eq!(got[0].2, attempts[0].2);
    assert!(verify("s3cret", &got[0].1, &got[0].2));
}
