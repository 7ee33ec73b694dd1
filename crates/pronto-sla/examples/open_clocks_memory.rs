//! Memory held per open conversation: opens N conversations, each with K customer messages
//! waiting for a reply (so one running clock and its timers, and from the second message on a
//! journal of the conversation's events for corrections), and reports the growth of the
//! process's resident memory divided by N.
//!
//! It runs on the system allocator, which hands large freed blocks back at once, so the growth
//! is what the engine holds. The `pronto` binary allocates with mimalloc, which keeps the
//! tables' outgrown buffers resident until it purges them; this example does not measure that.
//!
//! `cargo run --release -p pronto-sla --example open_clocks_memory -- 1000000 [K=1]`

use pronto_domain::{BoundedText, Channel, Envelope, Event, EventTime, Id, Payload};
use pronto_sla::{Engine, Policy};
use std::sync::Arc;

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
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let k: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1)
        .max(1);
    let t0 = 1_772_442_000_000i64;
    let before = resident_bytes();
    let mut engine = Engine::new(Arc::new(Policy::builtin()), 0);
    for (j, i) in (0..k).flat_map(|j| (0..n).map(move |i| (j, i))) {
        let e = Event {
            envelope: Envelope {
                event_id: Id::parse(format!("m{i}-{j}")).expect("valid id"),
                tenant: Id::parse("acme").expect("valid id"),
                conversation_id: Id::parse(format!("c{i}")).expect("valid id"),
                occurred_at: EventTime(t0 + (j * n + i) as i64),
                source: Id::parse("bench").expect("valid id"),
                schema_version: 1,
                channel: Channel::Email,
            },
            payload: Payload::CustomerMessage {
                text: BoundedText::new("Where is my order?"),
                customer_id: Id::parse(format!("u{i}")).expect("valid id"),
                customer_tier: None,
            },
        };
        engine.apply(&e);
    }
    let after = resident_bytes();
    let stats = engine.stats();
    println!(
        "open conversations: {}, messages each: {k}, open clocks: {}, timers: {}, resident growth: {} MiB, per open conversation: {} bytes",
        stats.conversations,
        stats.open_clocks,
        stats.timers,
        (after - before) / (1 << 20),
        (after - before) / n as u64
    );
}
