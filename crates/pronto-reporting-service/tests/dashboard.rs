//! The dashboard in a real headless browser (Chromium through ChromeDriver), against the
//! reporting service reading librdkafka's in-process mock cluster: the page shows the
//! numbers the report computes, and follows new facts without being reloaded.

use fantoccini::{Client, ClientBuilder, Locator};
use pronto_domain::EscalationRaised;
use pronto_kafka::rdkafka::mocking::MockCluster;
use pronto_kafka::{KafkaArgs, Publisher};
use pronto_reporting::{Dimension, Query};
use pronto_runtime::{CancellationToken, Health, Metrics};
use prost::Message as _;
use std::sync::Arc;
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// ChromeDriver on a free port, killed when dropped.
struct Driver {
    child: std::process::Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> Driver {
    let port = free_port();
    let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let child = std::process::Command::new(&bin)
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{bin}: {e} (scripts/install-tools.sh installs chromium and chromium-driver)")
        });
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    let mut chrome = serde_json::json!({
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
    });
    if let Ok(bin) = std::env::var("CHROMIUM") {
        chrome["binary"] = bin.into();
    } else if std::path::Path::new("/usr/bin/chromium").exists() {
        chrome["binary"] = "/usr/bin/chromium".into();
    }
    caps.insert("goog:chromeOptions".into(), chrome);
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    for _ in 0..50 {
        if let Ok(c) = ClientBuilder::new(connector.clone())
            .capabilities(caps.clone())
            .connect(&driver.url)
            .await
        {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("ChromeDriver at {} did not start a browser", driver.url);
}

/// Waits until the element's text satisfies `ok`; returns it.
async fn text_until(c: &Client, css: &str, ok: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    for _ in 0..150 {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            last = e.text().await.unwrap_or_default();
            if ok(&last) {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{css} never got the expected text; last was {last:?}");
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_report_and_follows_new_facts_without_reload() {
    let cluster = MockCluster::new(1).unwrap();
    let kafka = KafkaArgs::with_brokers(&cluster.bootstrap_servers());
    let topics = kafka.topics();
    for t in topics.all() {
        cluster.create_topic(t, 1, 1).unwrap();
    }
    // Sample conversations and the facts the services would derive from them.
    let events = pronto_sim::generate(&pronto_sim::SimConfig {
        seed: 11,
        conversations: 60,
        ..pronto_sim::SimConfig::default()
    });
    let policies = pronto_sla::PolicyVersions::single(Arc::new(pronto_sla::Policy::builtin()));
    let derived = pronto_replay::replay(
        events.iter().cloned().map(|e| (0, e)),
        &pronto_replay::Settings {
            policies: &policies,
            allowed_lateness_ms: 500,
            correction_window_ms: Some(pronto_sla::DEFAULT_CORRECTION_WINDOW_MS),
            sentiment: &pronto_sentiment::Lexicon,
            until: None,
            escalation: &pronto_replay::EscalationInputs::default(),
            expected_events: None,
            keep_encodings: true,
        },
    );
    let publisher = Publisher::new(&kafka.brokers).unwrap();
    for e in &events {
        let key = e.key();
        publisher
            .publish(
                &topics.events,
                key.as_str(),
                &pronto_proto::events::encode(e),
                "pronto.v1.Event",
            )
            .await
            .unwrap();
    }
    for f in derived
        .facts()
        .expect("encodings kept")
        .filter(|f| f.kind == "sla")
    {
        publisher
            .publish(&topics.sla, "k", f.encoding, "pronto.v1.SlaFact")
            .await
            .unwrap();
    }
    let expected = derived.report(&Query {
        group_by: vec![Dimension::Channel],
        ..Query::default()
    });
    assert!(expected.total.sla_met + expected.total.sla_breached > 0);

    let port = free_port();
    let shutdown = CancellationToken::new();
    let service = tokio::spawn(pronto_reporting_service::run(
        kafka.clone(),
        pronto_reporting_service::ReportingSettings {
            http_addr: format!("127.0.0.1:{port}").parse().unwrap(),
            grpc_addr: format!("127.0.0.1:{}", free_port()).parse().unwrap(),
            outsourcers: Default::default(),
        },
        Health::default(),
        Metrics::default(),
        shutdown.clone(),
    ));

    let driver = chromedriver();
    let c = browser(&driver).await;
    c.goto(&format!("http://127.0.0.1:{port}/dashboard?refresh=300"))
        .await
        .unwrap();
    let messages = expected.total.customer_messages.to_string();
    text_until(&c, "#messages", |t| t == messages).await;
    text_until(&c, "#compliance-total", |t| {
        t == pct(expected.total.sla_compliance)
    })
    .await;
    text_until(&c, "#backlog", |t| {
        t == expected.total.unanswered_conversations.to_string()
    })
    .await;
    assert_eq!(text_until(&c, "#open-escalations", |t| t == "0").await, "0");
    // One table row and one bar per channel, with the report's numbers. Read in one script:
    // the page redraws itself while we look.
    let shown = c
        .execute(
            r##"
            const rows = {};
            for (const tr of document.querySelectorAll("#channels tbody tr")) {
              const cells = [...tr.querySelectorAll("td")].map(td => td.textContent);
              rows[tr.dataset.channel] = { met: cells[1], breached: cells[2] };
            }
            for (const bar of document.querySelectorAll("#latency-chart rect[data-percentile='p99']")) {
              rows[bar.dataset.channel].p99 = bar.dataset.ms;
            }
            return rows;
            "##,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        shown.as_object().unwrap().len(),
        expected.rows.len(),
        "{shown}"
    );
    for row in &expected.rows {
        let s = &shown[&row.keys[0]];
        assert_eq!(s["met"], row.sla_met.to_string(), "{shown}");
        assert_eq!(s["breached"], row.sla_breached.to_string(), "{shown}");
        if row.first_reply_calendar.count > 0 {
            assert_eq!(
                s["p99"],
                row.first_reply_calendar.p99_ms.to_string(),
                "{shown}"
            );
        }
    }

    // Mark this page load; new facts must reach it without a reload.
    c.execute("window.sameLoad = 'yes'; return null;", vec![])
        .await
        .unwrap();
    let Some(Ok(pronto_replay::Derived::Sla(first))) = derived
        .facts()
        .expect("encodings kept")
        .find(|f| f.kind == "sla")
        .map(|f| f.decode())
    else {
        panic!("the sample derives SLA facts");
    };
    let ctx = first.context().clone();
    let escalation = EscalationRaised {
        escalation_id: "esc-dashboard-1".into(),
        context: ctx.clone(),
        level: "team_lead".into(),
        step: 0,
        ladder_id: "esc-dashboard-1".into(),
        recipients: vec!["lead".into()],
        rule: "sla-breach".into(),
        reason: "no first reply within 5 min".into(),
        trigger_ids: vec![],
        raised_at: first.at(),
        policy_version: "default@x".into(),
    };
    publisher
        .publish(
            &topics.escalations,
            "k",
            &pronto_proto::v1::EscalationEvent::from(&pronto_domain::EscalationFact::Raised(
                escalation.clone(),
            ))
            .encode_to_vec(),
            "pronto.v1.EscalationEvent",
        )
        .await
        .unwrap();
    text_until(&c, "#open-escalations", |t| t == "1").await;
    let row = text_until(
        &c,
        "#escalations tr[data-escalation='esc-dashboard-1']",
        |t| t.contains("team_lead") && t.contains("sla-breach"),
    )
    .await;
    assert!(row.contains(ctx.conversation_id.as_str()), "{row}");
    // Acknowledged: no longer open.
    let ack = pronto_proto::v1::EscalationEvent {
        event: Some(pronto_proto::v1::escalation_event::Event::Acknowledged(
            pronto_proto::v1::EscalationAcknowledged {
                escalation_id: "esc-dashboard-1".into(),
                by: "lead".into(),
                at: Some(pronto_proto::timestamp(pronto_runtime::wall_clock())),
            },
        )),
    };
    publisher
        .publish(
            &topics.escalations,
            "k",
            &ack.encode_to_vec(),
            "pronto.v1.EscalationEvent",
        )
        .await
        .unwrap();
    text_until(&c, "#open-escalations", |t| t == "0").await;
    let same = c
        .execute("return window.sameLoad || 'reloaded';", vec![])
        .await
        .unwrap();
    assert_eq!(same, serde_json::json!("yes"), "the page was not reloaded");

    c.close().await.unwrap();
    shutdown.cancel();
    service.await.unwrap().unwrap();
}
