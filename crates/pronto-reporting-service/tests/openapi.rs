//! The OpenAPI document (docs/openapi.json) against the running reporting service: every
//! route it serves is described, every documented parameter is accepted with its example
//! value, and what is not documented is refused.

use pronto_kafka::KafkaArgs;
use pronto_kafka::rdkafka::mocking::MockCluster;
use pronto_runtime::{CancellationToken, Health, Metrics};
use serde_json::Value;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn example(p: &Value) -> String {
    match &p["example"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_matches_the_service() {
    let spec: Value = serde_json::from_str(pronto_reporting_service::OPENAPI).unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = spec["paths"].as_object().unwrap();
    for route in [
        "/v1/events",
        "/v1/report",
        "/v1/report/conversations",
        "/v1/escalations",
        "/dashboard",
        "/v1/openapi.json",
    ] {
        assert!(paths.contains_key(route), "{route} is not described");
    }
    // Every $ref resolves.
    let text = pronto_reporting_service::OPENAPI;
    for r in text.split("\"$ref\": \"#/components/schemas/").skip(1) {
        let name = &r[..r.find('"').unwrap()];
        assert!(
            spec["components"]["schemas"].get(name).is_some(),
            "{name} is referenced but not defined"
        );
    }

    let cluster = MockCluster::new(1).unwrap();
    let kafka = KafkaArgs::with_brokers(&cluster.bootstrap_servers());
    for t in kafka.topics().all() {
        cluster.create_topic(t, 1, 1).unwrap();
    }
    let port = free_port();
    let shutdown = CancellationToken::new();
    let service = tokio::spawn(pronto_reporting_service::run(
        kafka,
        pronto_reporting_service::ReportingSettings {
            http_addr: format!("127.0.0.1:{port}").parse().unwrap(),
            grpc_addr: format!("127.0.0.1:{}", free_port()).parse().unwrap(),
            outsourcers: Default::default(),
        },
        Health::default(),
        Metrics::default(),
        shutdown.clone(),
    ));
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let get = |url: String, query: Vec<(String, String)>| {
        let http = http.clone();
        async move {
            for _ in 0..100 {
                if let Ok(r) = http.get(&url).query(&query).send().await {
                    return r;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            panic!("{url} did not answer");
        }
    };
    let served: Value = get(format!("{base}/v1/openapi.json"), vec![])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(served, spec, "the service serves the document");

    let mut checked = 0;
    for (path, item) in paths {
        let Some(op) = item.get("get") else { continue };
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let required: Vec<(String, String)> = params
            .iter()
            .filter(|p| p["required"] == true)
            .map(|p| (p["name"].as_str().unwrap().to_string(), example(p)))
            .collect();
        for p in &params {
            let name = p["name"].as_str().unwrap();
            let mut query = required.clone();
            if p["required"] != true {
                query.push((name.to_string(), example(p)));
            }
            let r = get(format!("{base}{path}"), query.clone()).await;
            assert_eq!(
                r.status(),
                200,
                "{path} {query:?}: {}",
                r.text().await.unwrap()
            );
            checked += 1;
        }
        // The JSON calls refuse what they do not know (the dashboard page reads its own
        // parameters in the browser).
        if !params.is_empty() && path.starts_with("/v1/") {
            let mut query = required.clone();
            query.push(("no_such_parameter".into(), "1".into()));
            let r = get(format!("{base}{path}"), query.clone()).await;
            assert_eq!(r.status(), 400, "{path} {query:?}");
            let body: Value = r.json().await.unwrap();
            assert!(
                body["details"][0]["reason"]
                    .as_str()
                    .unwrap()
                    .contains("no_such_parameter")
            );
        }
    }
    assert!(checked >= 20, "{checked} parameters checked");
    shutdown.cancel();
    service.await.unwrap().unwrap();
}
