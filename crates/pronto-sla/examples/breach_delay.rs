//! The delay between a deadline and its breach event in live mode: the engine driven the way
//! the SLA service drives it, against the wall clock. Conversations open at a steady rate,
//! each with a short target and no reply; events are applied as the wall clock reaches their
//! time; every `tick`, a partition idle for `idle-advance` moves event time to the wall clock.
//! Each breach's delay is the wall-clock instant it was emitted minus its deadline.
//!
//! `cargo run --release -p pronto-sla --example breach_delay -- [conversations] [seconds]
//!  [lateness_ms] [tick_ms] [idle_advance_ms]`

use pronto_domain::{BoundedText, Channel, Envelope, Event, EventTime, Id, Payload, SlaFact};
use pronto_sla::{Engine, Policy};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn wall() -> EventTime {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    EventTime(ms)
}

fn arg(i: usize, default: u64) -> u64 {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let n = arg(1, 20_000) as usize;
    let seconds = arg(2, 10);
    let lateness_ms = arg(3, 0) as i64;
    let tick = Duration::from_millis(arg(4, 100));
    let idle_advance = Duration::from_millis(arg(5, 0));
    // A two-second chat target, no warnings: every conversation breaches two seconds after
    // its message.
    let text = pronto_sla::policy::DEFAULT_POLICY_TOML
        .replacen("warn_at = [0.5, 0.8]", "warn_at = []", 1)
        .replace(
            "[targets.chat]\nfirst_reply = \"1h\"\nnext_reply = \"1h\"",
            "[targets.chat]\nfirst_reply = \"2s\"\nnext_reply = \"2s\"",
        );
    let policy = Arc::new(Policy::from_toml("bench", &text).expect("valid policy"));
    let mut engine = Engine::new(policy, lateness_ms);

    let start = wall().millis() + 100;
    let spacing = (seconds * 1000) as f64 / n as f64;
    let at = |i: usize| EventTime(start + (i as f64 * spacing) as i64);
    let event = |i: usize| Event {
        envelope: Envelope {
            event_id: Id::parse(format!("m{i}")).expect("valid id"),
            tenant: Id::parse("acme").expect("valid id"),
            conversation_id: Id::parse(format!("c{i}")).expect("valid id"),
            occurred_at: at(i),
            source: Id::parse("bench").expect("valid id"),
            schema_version: 1,
            channel: Channel::Chat,
        },
        payload: Payload::CustomerMessage {
            text: BoundedText::new("Still waiting"),
            customer_id: Id::parse("u1").expect("valid id"),
            customer_tier: None,
        },
    };

    let mut delays: Vec<i64> = Vec::with_capacity(n);
    let mut next = 0usize;
    let mut last_record = Instant::now();
    let mut next_tick = Instant::now();
    let began = Instant::now();
    let collect = |facts: Vec<SlaFact>, delays: &mut Vec<i64>| {
        let now = wall().millis();
        for f in facts {
            if let SlaFact::Breach(b) = f {
                delays.push(now - b.deadline.millis());
            }
        }
    };
    while delays.len() < n && began.elapsed() < Duration::from_secs(seconds + 60) {
        let now = wall();
        // Records whose time has come arrive, as from the broker.
        while next < n && at(next) <= now {
            let facts = engine.apply(&event(next));
            collect(facts, &mut delays);
            next += 1;
            last_record = Instant::now();
        }
        if Instant::now() >= next_tick {
            next_tick += tick;
            if last_record.elapsed() >= idle_advance {
                let facts = engine.advance(wall());
                collect(facts, &mut delays);
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    delays.sort_unstable();
    let pct = |p: usize| delays[(p * delays.len()).div_ceil(100).max(1) - 1];
    println!(
        "{} breaches of {n}; lateness {lateness_ms} ms, tick {} ms, idle advance {} ms: delay p50 {} ms, p99 {} ms, max {} ms",
        delays.len(),
        tick.as_millis(),
        idle_advance.as_millis(),
        pct(50),
        pct(99),
        delays.last().copied().unwrap_or(0)
    );
}

/// As the `pronto` binary allocates.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
