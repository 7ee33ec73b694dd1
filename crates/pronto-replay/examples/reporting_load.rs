//! How fast the reporting read model folds facts, and how long the dashboard's calls take
//! over many of them.
//!
//! Seeded sample conversations (`pronto-sim`) and the facts the services derive from them
//! (by replay: SLA verdicts, sentiment tags, escalations) are prepared first, untimed; then a
//! fresh read model folds them all, in the order the reporting service would meet them, and
//! the dashboard's three calls run over the result: the report by channel, the open
//! escalations, and a drill-down of the breaches of one channel.
//!
//! ```sh
//! MIMALLOC_PURGE_DELAY=0 cargo run --release -p pronto-replay --example reporting_load -- 10000000
//! ```
//!
//! The argument is the number of records to fold (events plus derived facts), at least. It
//! allocates with mimalloc, as the `pronto` binary does; `MIMALLOC_PURGE_DELAY=0` has the
//! allocator hand memory freed while preparing back at once, so that the read model's growth is
//! not hidden by reusing it.

use pronto_domain::{EscalationFact, Event, SentimentTag, SlaFact};
use pronto_reporting::{Dimension, Figure, Query, ReadModel};
use std::sync::Arc;
use std::time::Instant;

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() {
    let want: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let policies = pronto_sla::PolicyVersions::single(Arc::new(pronto_sla::Policy::builtin()));
    let escalation = pronto_replay::EscalationInputs::default();
    let mut events: Vec<Event> = Vec::new();
    let mut sla: Vec<SlaFact> = Vec::new();
    let mut tags: Vec<SentimentTag> = Vec::new();
    let mut escalations: Vec<EscalationFact> = Vec::new();
    let started = Instant::now();
    let mut chunk = 0u64;
    while events.len() + sla.len() + tags.len() + escalations.len() < want {
        let evs = pronto_sim::generate(&pronto_sim::SimConfig {
            seed: chunk,
            conversations: 20_000,
            tenant: format!("t{chunk}"),
            ..pronto_sim::SimConfig::default()
        });
        let r = pronto_replay::replay(
            evs.iter().cloned().map(|e| (0, e)),
            &pronto_replay::Settings {
                policies: &policies,
                allowed_lateness_ms: 500,
                correction_window_ms: Some(pronto_sla::DEFAULT_CORRECTION_WINDOW_MS),
                sentiment: &pronto_sentiment::Lexicon,
                until: None,
                escalation: &escalation,
                expected_events: Some(evs.len() as u64),
                keep_encodings: true,
            },
        );
        events.extend(evs);
        for f in r.facts().expect("encodings kept") {
            match f.decode().expect("a replay's facts decode") {
                pronto_replay::Derived::Sla(f) => sla.push(f),
                pronto_replay::Derived::Tag(t) => tags.push(t),
                pronto_replay::Derived::Escalation(e) => escalations.push(e),
            }
        }
        chunk += 1;
    }
    let total = events.len() + sla.len() + tags.len() + escalations.len();
    eprintln!(
        "prepared {total} records ({} events, {} SLA facts, {} tags, {} escalation facts) in {:.1} s",
        events.len(),
        sla.len(),
        tags.len(),
        escalations.len(),
        started.elapsed().as_secs_f64()
    );

    let before = resident_bytes();
    let mut model = ReadModel::new();
    let t = Instant::now();
    for e in &events {
        model.apply_event(e);
    }
    for f in &sla {
        model.apply_sla(f);
    }
    for tag in &tags {
        model.apply_tag(tag);
    }
    for f in &escalations {
        match f {
            EscalationFact::Raised(r) => model.apply_escalation(r),
            EscalationFact::Withdrawn(w) => model.apply_withdrawal(&w.escalation_id),
        }
    }
    let fold = t.elapsed().as_secs_f64();
    let grown = resident_bytes().saturating_sub(before);
    println!(
        "folded {total} records in {fold:.2} s: {:.0} records/s on one core; read model {} MiB ({} bytes per record)",
        total as f64 / fold,
        grown >> 20,
        grown / total as u64
    );

    let by_channel = Query {
        group_by: vec![Dimension::Channel],
        ..Query::default()
    };
    let mut timings: Vec<(&str, Vec<f64>)> = vec![
        ("GET /v1/report?group_by=channel", Vec::new()),
        ("GET /v1/escalations?state=open&limit=25", Vec::new()),
        (
            "GET /v1/report/conversations?figure=sla_breached&channel=chat",
            Vec::new(),
        ),
    ];
    for _ in 0..5 {
        let t = Instant::now();
        let r = model.report(&by_channel);
        timings[0].1.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(r);
        let t = Instant::now();
        let l = model.escalation_list(Some(pronto_domain::EscalationState::Open), 25);
        timings[1].1.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(l);
        let t = Instant::now();
        let d = model.drill(
            &Query::default(),
            &[(Dimension::Channel, "chat".into())],
            Figure::SlaBreached,
            1000,
        );
        timings[2].1.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(d);
    }
    for (call, mut ms) in timings {
        ms.sort_by(f64::total_cmp);
        println!(
            "{call}: median {:.0} ms, slowest {:.0} ms (5 runs)",
            ms[ms.len() / 2],
            ms[ms.len() - 1]
        );
    }
}

/// As the `pronto` binary allocates.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
