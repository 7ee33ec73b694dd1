//! Throughput of the SLA engine alone (no Kafka): events applied per second on one core, for
//! the seeded sample mix of channels, follow-ups, bot replies and silences.
//!
//! `cargo bench -p pronto-sla --bench engine`

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use pronto_domain::EventTime;
use pronto_sim::{SimConfig, generate};
use pronto_sla::{Engine, Policy};
use std::hint::black_box;
use std::sync::Arc;

fn engine_throughput(c: &mut Criterion) {
    let events = generate(&SimConfig {
        conversations: 20_000,
        spread_hours: 24,
        ..SimConfig::default()
    });
    let policy = Arc::new(Policy::builtin());
    let end = EventTime(events.last().map_or(0, |e| e.at().millis()) + 7 * 24 * 3_600_000);
    let mut group = c.benchmark_group("sla_engine");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.sample_size(10);
    let day = Some(pronto_sla::DEFAULT_CORRECTION_WINDOW_MS);
    // No lateness buffer; the SLA service's default (500 ms); a wide one; no journal.
    for (lateness_ms, window) in [(0, day), (500, day), (5_000, day), (0, None)] {
        let journal = if window.is_some() { "" } else { "_no_journal" };
        group.bench_function(
            format!(
                "apply_{}_events_lateness_{lateness_ms}ms{journal}",
                events.len()
            ),
            |b| {
                // The events are the engine's to keep, as in the service, which decodes
                // each record into an event it owns; copying them is not timed.
                b.iter_batched(
                    || events.clone(),
                    |events| {
                        let mut engine = Engine::new(Arc::clone(&policy), lateness_ms)
                            .with_correction_window(window);
                        let mut facts = 0usize;
                        for e in events {
                            facts += engine.apply_owned(black_box(e)).len();
                        }
                        facts += engine.advance(end).len();
                        // Returned, so that freeing the engine is not timed: a service's
                        // engine lives as long as the service.
                        (engine, black_box(facts))
                    },
                    BatchSize::LargeInput,
                )
            },
        );
    }
    group.finish();
}

criterion_group!(benches, engine_throughput);
criterion_main!(benches);

/// As the `pronto` binary allocates.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
