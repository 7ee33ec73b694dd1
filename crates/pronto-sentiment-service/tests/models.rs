//! The tagger's models over real gRPC on 127.0.0.1: an external model that answers, is late,
//! fails or answers nonsense (the tag then comes from the local model); Pronto's own model
//! server; reloading a model file; tags of agents' replies.

use pronto_domain::{Event, Polarity};
use pronto_grpc::SentimentModelClient;
use pronto_grpc::{SentimentModel, SentimentModelServer};
use pronto_proto::v1 as pb;
use pronto_runtime::{CancellationToken, Metrics};
use pronto_sentiment::tag;
use pronto_sentiment::{Lexicon, LinearModel, Model, TrainConfig};
use pronto_sentiment_service::{ExternalModel, Fallback, Tagger};
use std::sync::Arc;
use std::time::Duration;
use tonic::{Request, Response, Status};

fn message(text: &str) -> Event {
    pronto_testkit::customer_message("m1", "c1", "2026-03-02T09:00:00Z", text)
}

fn reply(text: &str, author: &str) -> Event {
    pronto_testkit::reply("r1", "c1", "2026-03-02T09:05:00Z", text, author)
}

/// An external model whose behaviour the test chooses.
#[derive(Clone, Copy)]
enum Mode {
    Answer,
    Late,
    Fail,
    Nonsense,
}

struct Fake(Mode);

#[tonic::async_trait]
impl SentimentModel for Fake {
    async fn assess(
        &self,
        request: Request<pb::AssessRequest>,
    ) -> Result<Response<pb::AssessResponse>, Status> {
        let r = request.into_inner();
        assert_eq!(r.tenant, "acme");
        assert_eq!(r.channel, pb::Channel::Chat as i32);
        let mut answer = pb::AssessResponse {
            polarity: pb::Polarity::Positive as i32,
            score: 0.9,
            language: String::new(),
            tones: vec!["sarcasm".into()],
            model_name: "big-model".into(),
            model_version: format!("v7-{}", r.language_hint),
        };
        match self.0 {
            Mode::Answer => {}
            Mode::Late => tokio::time::sleep(Duration::from_secs(3)).await,
            Mode::Fail => return Err(Status::unavailable("model is warming up")),
            Mode::Nonsense => answer.score = 7.0,
        }
        Ok(Response::new(answer))
    }
}

async fn serve(routes: tonic::service::Routes, shutdown: &CancellationToken) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(pronto_runtime::serve_grpc(
        listener,
        routes,
        "pronto.v1.SentimentModel",
        shutdown.clone(),
    ));
    url
}

#[tokio::test]
async fn an_external_model_is_used_when_it_answers_in_time_and_the_local_one_otherwise() {
    let shutdown = CancellationToken::new();
    let text = "Il servizio è stato pessimo, che vergogna!";
    for (mode, want) in [
        (Mode::Answer, None),
        (Mode::Late, Some("timeout")),
        (Mode::Fail, Some("error")),
        (Mode::Nonsense, Some("invalid")),
    ] {
        let url = serve(
            tonic::service::Routes::new(SentimentModelServer::new(Fake(mode))),
            &shutdown,
        )
        .await;
        let tagger = Tagger::new(Arc::new(Lexicon))
            .with_external(ExternalModel::new(&url, Duration::from_millis(500)).unwrap());
        let started = std::time::Instant::now();
        let (t, fallback) = tagger.tag(&message(text)).await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "never waits past the timeout"
        );
        match want {
            None => {
                assert_eq!(fallback, None);
                assert_eq!(t.model_name, "big-model");
                // Pronto's language detection went as a hint and stays, since the answer had none.
                assert_eq!(t.model_version, "v7-it");
                assert_eq!(t.language, "it");
                assert_eq!(t.polarity, Polarity::Positive);
                // Tones: the model's added to Pronto's own.
                assert!(t.tones.iter().any(|x| x == "sarcasm"), "{:?}", t.tones);
                assert!(t.tones.iter().any(|x| x == "complaint"), "{:?}", t.tones);
            }
            Some(kind) => {
                let why = fallback.expect("fell back").to_string();
                assert!(why.starts_with(kind), "{why}");
                assert_eq!(t.model_name, "lexicon");
                assert_eq!(t.polarity, Polarity::Negative);
            }
        }
    }
    // Nobody listening at all.
    let tagger = Tagger::new(Arc::new(Lexicon)).with_external(
        ExternalModel::new("http://127.0.0.1:9", Duration::from_millis(300)).unwrap(),
    );
    let (t, fallback) = tagger.tag(&message(text)).await.unwrap();
    assert!(
        matches!(fallback, Some(Fallback::Error(_) | Fallback::Timeout)),
        "{fallback:?}"
    );
    assert_eq!(t.model_name, "lexicon");
    assert!(ExternalModel::new("not a url", Duration::from_millis(1)).is_err());
    shutdown.cancel();
}

#[tokio::test]
async fn the_model_server_answers_like_the_model_and_refuses_oversized_text() {
    let shutdown = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(pronto_sentiment_service::serve_model(
        listener,
        Arc::new(Tagger::new(Arc::new(Lexicon))),
        Metrics::default(),
        shutdown.clone(),
    ));
    let mut client = loop {
        match SentimentModelClient::connect(url.clone()).await {
            Ok(c) => break c,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let text = "Thanks a lot, the agent was wonderful :)";
    let a = client
        .assess(pb::AssessRequest {
            text: text.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let want = Lexicon.assess(text);
    assert_eq!(a.polarity, pb::Polarity::from(want.polarity) as i32);
    assert_eq!(a.score, want.score);
    assert_eq!(
        (a.model_name.as_str(), a.language.as_str()),
        ("lexicon", "en")
    );
    assert!(a.tones.contains(&"thanks".to_string()));

    let err = client
        .assess(pb::AssessRequest {
            text: "x".repeat(pronto_sentiment_service::MAX_TEXT_BYTES + 1),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    use tonic_types::StatusExt as _;
    let bad = err.get_details_bad_request().expect("a BadRequest detail");
    assert_eq!(bad.field_violations[0].field, "text");
    shutdown.cancel();
}

fn trained(seed: u64) -> LinearModel {
    let data: Vec<(String, Polarity)> = [
        ("great help, thank you", Polarity::Positive),
        ("grazie, ottimo servizio", Polarity::Positive),
        ("terrible, still waiting", Polarity::Negative),
        ("pessimo, nessuno risponde", Polarity::Negative),
        ("what time do you open", Polarity::Neutral),
        ("a che ora aprite", Polarity::Neutral),
    ]
    .iter()
    .map(|(t, y)| (t.to_string(), *y))
    .collect();
    let cfg = TrainConfig {
        bits: 12,
        seed,
        ..TrainConfig::default()
    };
    LinearModel::train(&data, &cfg, "linear")
}

#[test]
fn reload_takes_a_new_model_file_and_keeps_the_last_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.bin");
    let first = trained(1);
    std::fs::write(&path, first.to_bytes()).unwrap();
    let tagger = Tagger::from_file(Some(path.clone())).unwrap();
    assert_eq!(tagger.local().version(), first.version());

    let second = trained(2);
    assert_ne!(second.version(), first.version());
    std::fs::write(&path, second.to_bytes()).unwrap();
    tagger.reload().unwrap();
    assert_eq!(tagger.local().version(), second.version());

    std::fs::write(&path, b"not a model").unwrap();
    let Err(err) = tagger.reload() else {
        panic!("a bad file does not load")
    };
    assert!(err.contains("model.bin"), "{err}");
    assert_eq!(tagger.local().version(), second.version());

    std::fs::remove_file(&path).unwrap();
    assert!(tagger.reload().is_err());
    assert_eq!(tagger.local().version(), second.version());
    assert!(Tagger::from_file(Some(path)).is_err());
}

#[test]
fn replies_by_people_are_tagged_with_their_signature() {
    let signed = tag(&Lexicon, &reply("Ci penso io, a presto. Giulia", "human")).unwrap();
    assert!(signed.reply && signed.signed);
    assert_eq!(signed.event_id, "r1");
    let unsigned = tag(&Lexicon, &reply("We are looking into it.", "human")).unwrap();
    assert!(unsigned.reply && !unsigned.signed);
    assert!(tag(&Lexicon, &reply("Automatic answer ^GR", "bot")).is_none());
    let m = tag(&Lexicon, &message("hello")).unwrap();
    assert!(!m.reply && !m.signed);
}
