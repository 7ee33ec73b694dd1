//! How the SLA engine's speed depends on how many conversations it holds: the seeded sample
//! (`pronto-sim`, over 24 hours) at several sizes, each applied to a fresh engine again and
//! again (about two million events in all per size), printing the fastest pass. The criterion
//! benchmark (`benches/engine.rs`) gives the typical pass of one size; this gives the best the
//! machine did, and how it falls as the conversations' state outgrows the processor's cache.
//!
//! `cargo run --release -p pronto-sla --example engine_scaling -- 500 2000 20000 100000`

use pronto_domain::EventTime;
use pronto_sim::{SimConfig, generate};
use pronto_sla::{DEFAULT_CORRECTION_WINDOW_MS, Engine, Policy};
use std::sync::Arc;
use std::time::Instant;

/// As the `pronto` binary allocates.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![20_000]
    } else {
        sizes
    };
    let policy = Arc::new(Policy::builtin());
    for conversations in sizes {
        let events = generate(&SimConfig {
            conversations,
            spread_hours: 24,
            ..SimConfig::default()
        });
        let end = EventTime(events.last().map_or(0, |e| e.at().millis()) + 7 * 24 * 3_600_000);
        let passes = (2_000_000 / events.len().max(1)).max(1);
        let mut fastest = f64::MAX;
        for _ in 0..passes {
            let copy = events.clone();
            let started = Instant::now();
            let mut engine = Engine::new(Arc::clone(&policy), 0)
                .with_correction_window(Some(DEFAULT_CORRECTION_WINDOW_MS));
            let mut facts = 0usize;
            for e in copy {
                facts += engine.apply_owned(e).len();
            }
            facts += engine.advance(end).len();
            fastest = fastest.min(started.elapsed().as_secs_f64());
            std::hint::black_box((facts, engine));
        }
        println!(
            "{conversations} conversations, {} events, {passes} passes: fastest {:.0} events/s",
            events.len(),
            events.len() as f64 / fastest
        );
    }
}
