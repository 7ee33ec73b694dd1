//! The `pronto` command's own errors: bad flags exit 2, an invalid policy file exits 64, each
//! with a one-line message naming what is wrong, and `--help` documents every setting.

use pronto_e2e::{pronto_bin, run_pronto as run};
use std::process::Command;

#[test]
fn unknown_flags_and_bad_values_exit_2() {
    let (code, _, err) = run(&["sla", "--allowed-lateness", "soon"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--allowed-lateness"), "{err}");
    let (code, _, err) = run(&["simulate", "--batch", "0"]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--batch"), "{err}");
    let (code, _, _) = run(&["fly"]);
    assert_eq!(code, 2);
}

/// Starts `command` with `flag` naming a file holding `content`: it must stop at once with
/// exit 64 and one line naming the file and saying `why`.
fn refuses_config(command: &str, flag: &str, file: &str, content: &str, why: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file);
    std::fs::write(&path, content).unwrap();
    let args = [
        command,
        flag,
        path.to_str().unwrap(),
        "--brokers",
        "127.0.0.1:1",
    ];
    let (code, _, err) = run(&args);
    assert_eq!(code, 64, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(file) && err.contains(why), "{err}");
}

#[test]
fn an_invalid_policy_exits_64_naming_file_and_field() {
    refuses_config(
        "sla",
        "--policy",
        "policy.toml",
        "name = \"x\"\n[targets.fax]\nfirst_reply = \"1h\"\nnext_reply = \"1h\"\n",
        "targets.fax",
    );
}

#[test]
fn an_outsourcers_file_that_lists_a_queue_twice_exits_64() {
    refuses_config(
        "reporting",
        "--outsourcers",
        "outsourcers.toml",
        "[outsourcers.a]\nqueues = [\"billing\"]\n[outsourcers.b]\nqueues = [\"billing\"]\n",
        "queue 'billing' is listed under both",
    );
}

#[test]
fn check_policy_prints_the_version_or_the_error() {
    let (code, out, _) = run(&["check-policy"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("default@") && out.contains("valid"),
        "{out}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "name = \"x\"\n[targets.phone]\nfirst_reply = \"5m\"\nnext_reply = 5\n",
    )
    .unwrap();
    let (code, _, err) = run(&["check-policy", path.to_str().unwrap()]);
    assert_eq!(code, 64, "{err}");
    assert!(err.contains("bad.toml: line 4"), "{err}");
}

#[test]
fn help_documents_every_setting_with_its_environment_variable() {
    let (code, out, _) = run(&["up", "--help"]);
    assert_eq!(code, 0);
    for flag in [
        "--brokers",
        "PRONTO_BROKERS",
        "--instance-id",
        "--ingest-http-addr",
        "--policy",
        "--idle-advance",
        "--webhook",
        "--reporting-grpc-addr",
        "--admin-addr",
    ] {
        assert!(out.contains(flag), "{flag} missing from:\n{out}");
    }
}

fn labelled_fixture(dir: &std::path::Path) -> std::path::PathBuf {
    let rows = [
        ("positive", "Thanks a lot, great service!"),
        ("positive", "Grazie mille, servizio ottimo"),
        ("positive", "Love the new app, well done"),
        ("positive", "Bravissimi, risolto in un attimo"),
        ("negative", "Terrible, my bag is lost again"),
        ("negative", "Servizio pessimo, che vergogna"),
        ("negative", "Worst support ever, nobody answers"),
        ("negative", "Sono furioso, rimborso mai arrivato"),
        ("neutral", "What time does the office open?"),
        ("neutral", "A che ora apre il negozio?"),
        ("neutral", "Where do I send the form"),
        ("neutral", "Dove invio il modulo"),
    ];
    let mut csv = String::from("id,label,text\n");
    for (i, (label, text)) in rows.iter().cycle().take(36).enumerate() {
        csv.push_str(&format!("{i},{label},\"{text}\"\n"));
    }
    let path = dir.join("labelled.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

#[test]
fn sentiment_train_and_eval_on_a_labelled_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = labelled_fixture(dir.path());
    let model = dir.path().join("model.bin");
    let (code, out, err) = run(&[
        "sentiment",
        "train",
        "--data",
        data.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("wrote") && model.exists(), "{out}");

    let (code, out, err) = run(&[
        "sentiment",
        "eval",
        "--data",
        data.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("macro-F1") && out.contains("confusion") && out.contains("messages/s"),
        "{out}"
    );
    assert!(
        out.contains("accuracy  1.000"),
        "a model scores its own training data perfectly:\n{out}"
    );

    let (code, out, _) = run(&[
        "sentiment",
        "eval",
        "--data",
        data.to_str().unwrap(),
        "--trainable",
        "--folds",
        "3",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("3-fold cross-validation"), "{out}");

    let (code, out, _) = run(&["sentiment", "eval", "--data", data.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("model: lexicon"), "{out}");

    std::fs::write(
        dir.path().join("bad.csv"),
        "label,text\npositive,ok\nhappy,great\n",
    )
    .unwrap();
    let (code, _, err) = run(&[
        "sentiment",
        "eval",
        "--data",
        dir.path().join("bad.csv").to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("row 3") && err.contains("'happy'"), "{err}");
}

fn train(data: &std::path::Path, out: &std::path::Path, name: &str) {
    let (code, _, err) = run(&[
        "sentiment",
        "train",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--name",
        name,
        "--bits",
        "12",
    ]);
    assert_eq!(code, 0, "{err}");
}

/// `pronto sentiment model-server` answers over gRPC with the model file it was given, and
/// SIGHUP re-reads the file: a broken file leaves the last good model serving, a new file
/// takes over. SIGTERM stops it cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_server_serves_and_reloads_its_model_file() {
    use pronto_grpc::SentimentModelClient;
    use pronto_proto::v1 as pb;
    let dir = tempfile::tempdir().unwrap();
    let data = labelled_fixture(dir.path());
    let model = dir.path().join("model.bin");
    train(&data, &model, "first");
    let port = pronto_e2e::free_ports(1)[0];
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(pronto_bin());
    cmd.args(["sentiment", "model-server", "--grpc-addr", &addr])
        .arg("--sentiment-model")
        .arg(&model);
    let server = pronto_e2e::Proc::spawn("model-server", cmd, dir.path());
    let url = format!("http://{addr}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut client = loop {
        match SentimentModelClient::connect(url.clone()).await {
            Ok(c) => break c,
            Err(e) if std::time::Instant::now() > deadline => {
                panic!("model server never listened: {e}\n{}", server.log_text())
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    };
    let mut ask = async || {
        client
            .assess(pb::AssessRequest {
                text: "Servizio pessimo, che vergogna".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
    };
    let a = ask().await;
    assert_eq!(a.model_name, "first");
    assert_eq!(a.polarity, pb::Polarity::Negative as i32);
    let first_version = a.model_version.clone();

    let hup = |log_has: &str| {
        let before = server.log_text().matches(log_has).count();
        Command::new("kill")
            .args(["-HUP", &server_pid(&server)])
            .status()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while server.log_text().matches(log_has).count() == before {
            assert!(
                std::time::Instant::now() < deadline,
                "no '{log_has}' in the log:\n{}",
                server.log_text()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    std::fs::write(&model, b"garbage").unwrap();
    hup("reload failed");
    let a = ask().await;
    assert_eq!(
        (a.model_name.as_str(), a.model_version.as_str()),
        ("first", first_version.as_str())
    );

    train(&data, &model, "second");
    hup("model reloaded");
    let a = ask().await;
    assert_eq!(a.model_name, "second");
    // A server drains its open connections before it exits; the client's side of the
    // connection closes on this runtime's other worker while this one waits.
    drop(client);
    let log = server.log.clone();
    assert!(
        server.terminate(std::time::Duration::from_secs(20)),
        "exits cleanly on SIGTERM:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

fn server_pid(p: &pronto_e2e::Proc) -> String {
    p.pid().to_string()
}
