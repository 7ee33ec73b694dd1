//! Messages per second of the built-in lexicon and the trainable linear model, one core.
//! The messages are hand-written customer messages in English and Italian of typical lengths;
//! the linear model is trained on them with the default settings (its speed depends on the
//! message length and the number of buckets, not on what it learned).
//!
//! `cargo bench -p pronto-sentiment --bench models`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pronto_domain::Polarity;
use pronto_sentiment::{Lexicon, LinearModel, Model, TrainConfig};
use std::hint::black_box;

const MESSAGES: &[(&str, Polarity)] = &[
    (
        "@airline my flight was cancelled and nobody at the desk can tell me why. Three hours on hold!!",
        Polarity::Negative,
    ),
    (
        "Thank you so much to the crew on flight 1234, they were wonderful with my kids :)",
        Polarity::Positive,
    ),
    (
        "What time does boarding start for the 6pm flight to Boston?",
        Polarity::Neutral,
    ),
    (
        "Still waiting for my refund after 6 weeks. This is ridiculous, I want to speak to a manager",
        Polarity::Negative,
    ),
    (
        "Quick question: can I bring a guitar as cabin baggage? #travel",
        Polarity::Neutral,
    ),
    (
        "The new app is great, checked in in 30 seconds 👍",
        Polarity::Positive,
    ),
    (
        "WORST CUSTOMER SERVICE EVER. Lost my bag and nobody answers the phone 😡",
        Polarity::Negative,
    ),
    (
        "Buongiorno, vorrei sapere quando arriva il mio ordine n. 55123",
        Polarity::Neutral,
    ),
    (
        "Servizio pessimo, aspetto da due settimane e nessuno mi risponde. Vergogna!",
        Polarity::Negative,
    ),
    (
        "Grazie mille per la gentilezza e la velocità, siete bravissimi",
        Polarity::Positive,
    ),
    (
        "Il pacco è arrivato rotto e il rimborso non arriva, non sono affatto soddisfatto",
        Polarity::Negative,
    ),
    (
        "A che ora apre il negozio di via Roma domani?",
        Polarity::Neutral,
    ),
    (
        "Ottimo lavoro ragazzi, problema risolto in cinque minuti 😍",
        Polarity::Positive,
    ),
    (
        "Ho cambiato indirizzo, come posso aggiornarlo sul sito?",
        Polarity::Neutral,
    ),
    (
        "ma è possibile che ogni volta ci sia un ritardo?? ridicolo",
        Polarity::Negative,
    ),
    ("ok thanks, I'll try again tomorrow", Polarity::Neutral),
];

fn bench(c: &mut Criterion) {
    let texts: Vec<&str> = MESSAGES.iter().map(|(t, _)| *t).collect();
    let training: Vec<(String, Polarity)> = (0..20)
        .flat_map(|round| {
            MESSAGES
                .iter()
                .map(move |(t, y)| (format!("{t} {round}"), *y))
        })
        .collect();
    let linear = LinearModel::train(&training, &TrainConfig::default(), "bench");

    let mut g = c.benchmark_group("sentiment");
    g.throughput(Throughput::Elements(texts.len() as u64));
    g.bench_function("lexicon", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(Lexicon.assess(black_box(t)));
            }
        })
    });
    g.bench_function("linear", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(linear.assess(black_box(t)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
