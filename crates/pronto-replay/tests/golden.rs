//! The seeded sample's facts, pinned: the replay of the sample `pronto simulate` publishes by
//! default (seed 7) and of the demo's 300 conversations must give these digests and reports
//! (as JSON, and by channel and queue as CSV).
//! A change that moves code between crates changes no fact; one that means to change facts
//! changes these values on purpose, and says why.

use pronto_domain::Event;
use pronto_escalation::RuleSet;
use pronto_replay::{EscalationInputs, Settings, replay};
use pronto_reporting::{Dimension, Query};
use pronto_sim::{SimConfig, generate};
use pronto_sla::{Policy, PolicyVersions};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The digest of the facts, the SHA-256 of the whole report as JSON, and that of the report
/// by channel and queue as CSV.
fn replay_sample(conversations: usize) -> (String, String, String) {
    let events = generate(&SimConfig {
        conversations,
        ..SimConfig::default()
    });
    let policies = PolicyVersions::single(Arc::new(Policy::builtin()));
    let escalation = EscalationInputs {
        rules: RuleSet::builtin(),
        ..EscalationInputs::default()
    };
    let settings = Settings {
        policies: &policies,
        allowed_lateness_ms: 500,
        correction_window_ms: Some(pronto_sla::DEFAULT_CORRECTION_WINDOW_MS),
        sentiment: &pronto_sentiment::Lexicon,
        until: None,
        escalation: &escalation,
        expected_events: None,
        keep_encodings: false,
    };
    // Three partitions by conversation; the digest does not depend on how events are split.
    let partition = |e: &Event| (e.key().as_str().len() % 3) as i32;
    let r = replay(events.iter().map(|e| (partition(e), e.clone())), &settings);
    let report = serde_json::to_vec(&r.report(&Query::default())).expect("a report is JSON");
    let sliced = r.report(&Query {
        group_by: vec![Dimension::Channel, Dimension::Queue],
        ..Query::default()
    });
    let sha = |bytes: &[u8]| format!("sha256:{}", hex::encode(Sha256::digest(bytes)));
    (r.digest(), sha(&report), sha(sliced.to_csv().as_bytes()))
}

#[test]
fn the_default_sample_derives_the_facts_it_always_has() {
    let (digest, report, csv) = replay_sample(200);
    assert_eq!(
        digest,
        "sha256:392bdff2bbc5230bf07e10bbf795780cbaa65fa4408aa7b4bf5b78d92a12fbbb"
    );
    assert_eq!(
        report,
        "sha256:654dfd3196c01273b88979f8238594355756efd750b8c1cb77336fa5c9bfb3a9"
    );
    assert_eq!(
        csv,
        "sha256:4c89bbf0bc3012047015d6f6817f5e2ce4623f0a781cb58fd8094b4ac6169090"
    );
}

#[test]
fn the_demo_sample_derives_the_facts_it_always_has() {
    let (digest, report, csv) = replay_sample(300);
    assert_eq!(
        digest,
        "sha256:f9a0d0b019be34ce94d150a31e94f491e37580002b9c3b40af3a381af5c410d9"
    );
    assert_eq!(
        report,
        "sha256:39cbcc7f74e5c2fd58de7df3cee303c9d94e2852d681ce0adeaf9e9aca8bc405"
    );
    assert_eq!(
        csv,
        "sha256:8ecd96bc2db70b9f6febfd450087864ae5c598a88509a0c813e520cdc99bc027"
    );
}
