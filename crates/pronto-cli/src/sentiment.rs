//! `pronto sentiment eval` and `pronto sentiment train`: measure a sentiment model on a
//! labelled CSV file, and fit the trainable model to one.

use clap::{Args, Subcommand};
use pronto_domain::Polarity;
use pronto_sentiment::{Confusion, Lexicon, LinearModel, Model, TrainConfig, cross_validate};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, Subcommand)]
pub(crate) enum SentimentAction {
    /// Accuracy, macro-F1, confusion matrix and speed of a model on a labelled CSV file.
    Eval(EvalArgs),
    /// Fit the trainable model to a labelled CSV file and write the model file.
    Train(TrainArgs),
    /// Serve the built-in or a trained model as `pronto.v1.SentimentModel` over gRPC, the
    /// interface the sentiment service asks with --external-model. SIGHUP re-reads the model.
    ModelServer(ModelServerArgs),
    /// Score history again with another model: tag every message and reply of the events
    /// published in [--from, --to) and publish the tags, marked as re-scored. Reports then
    /// show the new model's view; escalation ignores re-scored tags.
    Rescore(RescoreArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RescoreArgs {
    #[command(flatten)]
    pub(crate) kafka: pronto_kafka::KafkaArgs,
    #[command(flatten)]
    pub(crate) model: crate::ModelArgs,
    #[command(flatten)]
    pub(crate) period: crate::period::Period,
}

#[derive(Debug, Args)]
pub(crate) struct ModelServerArgs {
    /// Address for gRPC.
    #[arg(
        long,
        env = "PRONTO_SENTIMENT_MODEL_ADDR",
        default_value = "127.0.0.1:50054"
    )]
    pub(crate) grpc_addr: std::net::SocketAddr,
    #[command(flatten)]
    pub(crate) model: crate::ModelArgs,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "PRONTO_LOG_JSON")]
    pub(crate) log_json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DataArgs {
    /// CSV file with a header row, a text column and a label column (positive, neutral,
    /// negative).
    #[arg(long)]
    data: PathBuf,
    /// Name of the text column.
    #[arg(long, default_value = "text")]
    text_column: String,
    /// Name of the label column; by default the first of label, sentiment, polarity,
    /// airline_sentiment.
    #[arg(long)]
    label_column: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct EvalArgs {
    #[command(flatten)]
    data: DataArgs,
    /// A model file written by `pronto sentiment train`; the built-in lexicon when absent.
    #[arg(long, conflicts_with = "trainable")]
    model: Option<PathBuf>,
    /// Evaluate the trainable model by stratified k-fold cross-validation on this one file.
    #[arg(long)]
    trainable: bool,
    /// Folds for --trainable.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    #[command(flatten)]
    training: TrainingArgs,
}

/// Settings of the trainable model's fit.
#[derive(Debug, Args)]
pub(crate) struct TrainingArgs {
    /// Training passes over the data.
    #[arg(long, default_value_t = TrainConfig::default().epochs)]
    epochs: usize,
    /// log2 of the number of hashed feature buckets (8 to 24); the model file holds
    /// 16 bytes per bucket.
    #[arg(long, default_value_t = TrainConfig::default().bits, value_parser = clap::value_parser!(u32).range(8..=24))]
    bits: u32,
    /// AdaGrad step size.
    #[arg(long, default_value_t = TrainConfig::default().learning_rate)]
    learning_rate: f32,
    /// L2 penalty on the weights.
    #[arg(long, default_value_t = TrainConfig::default().l2)]
    l2: f32,
    /// Naive-Bayes feature scaling: 0 off, 1 full, in between a blend.
    #[arg(long, default_value_t = TrainConfig::default().nb)]
    nb: f32,
}

impl TrainingArgs {
    fn config(&self) -> TrainConfig {
        TrainConfig {
            epochs: self.epochs,
            bits: self.bits,
            learning_rate: self.learning_rate,
            l2: self.l2,
            nb: self.nb,
            ..TrainConfig::default()
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Where to write the model.
    #[arg(long)]
    out: PathBuf,
    /// The model's name, recorded with every tag it makes.
    #[arg(long, default_value = "linear")]
    name: String,
    #[command(flatten)]
    training: TrainingArgs,
}

/// Labelled texts from a CSV file, or a one-line reason.
fn load(a: &DataArgs) -> Result<Vec<(String, Polarity)>, String> {
    let file = a.data.display();
    let mut r = csv::Reader::from_path(&a.data).map_err(|e| format!("{file}: {e}"))?;
    let headers = r.headers().map_err(|e| format!("{file}: {e}"))?.clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let text = col(&a.text_column).ok_or_else(|| {
        format!(
            "{file}: no column '{}' (columns: {})",
            a.text_column,
            headers.iter().collect::<Vec<_>>().join(", ")
        )
    })?;
    let label = match &a.label_column {
        Some(l) => col(l).ok_or_else(|| format!("{file}: no column '{l}'"))?,
        None => ["label", "sentiment", "polarity", "airline_sentiment"]
            .iter()
            .find_map(|n| col(n))
            .ok_or_else(|| format!("{file}: no label column; name it with --label-column"))?,
    };
    let mut out = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let row = i + 2;
        let rec = rec.map_err(|e| format!("{file}: row {row}: {e}"))?;
        let y = rec.get(label).unwrap_or_default().trim().to_lowercase();
        let y = Polarity::parse(&y).ok_or_else(|| {
            format!("{file}: row {row}: label '{y}' is not positive, neutral or negative")
        })?;
        out.push((rec.get(text).unwrap_or_default().to_string(), y));
    }
    if out.is_empty() {
        return Err(format!("{file}: no rows"));
    }
    Ok(out)
}

fn measure(model: &dyn Model, data: &[(String, Polarity)]) -> (Confusion, f64) {
    let mut cm = Confusion::default();
    let started = Instant::now();
    for (text, truth) in data {
        cm.add(*truth, model.assess(text).polarity);
    }
    let rate = data.len() as f64 / started.elapsed().as_secs_f64().max(1e-9);
    (cm, rate)
}

fn fail(msg: String) -> ExitCode {
    eprintln!("pronto sentiment: {msg}");
    ExitCode::from(2)
}

/// `pronto sentiment eval`.
pub(crate) fn eval(a: EvalArgs) -> ExitCode {
    let data = match load(&a.data) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    println!("data: {} ({} messages)", a.data.data.display(), data.len());
    if a.trainable {
        if a.folds < 2 || a.folds > data.len() {
            return fail(format!("--folds must be between 2 and {}", data.len()));
        }
        let started = Instant::now();
        let cfg = a.training.config();
        let cm = cross_validate(&data, a.folds, &cfg);
        println!(
            "model: trainable linear, stratified {}-fold cross-validation ({:.1} s)",
            a.folds,
            started.elapsed().as_secs_f64()
        );
        let model = LinearModel::train(&data, &cfg, "linear");
        let (_, rate) = measure(&model, &data);
        print!("{cm}");
        println!("\nspeed: {rate:.0} messages/s (one core, scoring only)");
    } else {
        let loaded;
        let model: &dyn Model = match &a.model {
            Some(p) => match pronto_sentiment::load_model(p) {
                Ok(m) => {
                    loaded = m;
                    &loaded
                }
                Err(e) => return fail(e.to_string()),
            },
            None => &Lexicon,
        };
        let (cm, rate) = measure(model, &data);
        println!("model: {} {}", model.name(), model.version());
        print!("{cm}");
        println!("\nspeed: {rate:.0} messages/s (one core)");
    }
    ExitCode::SUCCESS
}

/// `pronto sentiment train`.
pub(crate) fn train(a: TrainArgs) -> ExitCode {
    let data = match load(&a.data) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let cfg = a.training.config();
    let started = Instant::now();
    eprintln!(
        "training on {} messages ({} epochs)...",
        data.len(),
        cfg.epochs
    );
    let model = LinearModel::train(&data, &cfg, &a.name);
    if let Err(e) = std::fs::write(&a.out, model.to_bytes()) {
        return fail(format!("{}: {e}", a.out.display()));
    }
    println!(
        "wrote {} ({} {}), trained in {:.1} s",
        a.out.display(),
        model.name(),
        model.version(),
        started.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}
