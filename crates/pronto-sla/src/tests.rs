//! Engine behaviour, tested on hand-made conversations.

use crate::{Engine, Policy, PolicyVersions};
use pronto_domain::{
    AuthorKind, BoundedText, Channel, ConversationStatus, Envelope, Event, EventTime, Id, Payload,
    ReplyKind, SlaFact, Visibility,
};
use proptest::prelude::*;
use std::sync::Arc;

const T0: i64 = 1_772_442_000_000; // Monday 2026-03-02T09:00:00Z, 10:00 in Rome
const MIN: i64 = 60_000;

fn ev(id: &str, conv: &str, channel: Channel, at_min: i64, payload: Payload) -> Event {
    Event {
        envelope: Envelope {
            event_id: Id::parse(id).unwrap(),
            tenant: Id::parse("acme").unwrap(),
            conversation_id: Id::parse(conv).unwrap(),
            occurred_at: EventTime(T0 + at_min * MIN),
            source: Id::parse("test").unwrap(),
            schema_version: 1,
            channel,
        },
        payload,
    }
}

fn customer() -> Payload {
    Payload::CustomerMessage {
        text: BoundedText::default(),
        customer_id: Id::parse("u1").unwrap(),
        customer_tier: None,
    }
}

fn reply(author: AuthorKind, visibility: Visibility) -> Payload {
    Payload::ReplySent {
        text: BoundedText::default(),
        author,
        visibility,
        agent_id: Some(Id::parse("a1").unwrap()),
        agent_display_name: None,
    }
}

fn human() -> Payload {
    reply(AuthorKind::Human, Visibility::Public)
}

fn engine() -> Engine {
    Engine::new(Arc::new(Policy::builtin()), 0)
}

/// A stricter second version: chat answered in 20 minutes, bot replies count, no pauses
/// for pending-on-customer.
fn stricter() -> Arc<Policy> {
    let text = crate::policy::DEFAULT_POLICY_TOML
        .replacen("name = \"default\"", "name = \"strict\"", 1)
        .replacen("count_bot_replies = false", "count_bot_replies = true", 1)
        .replacen(
            "pause_statuses = [\"pending_customer\", \"on_hold\"]",
            "pause_statuses = [\"on_hold\"]",
            1,
        )
        .replace(
            "[targets.chat]\nfirst_reply = \"1h\"\nnext_reply = \"1h\"",
            "[targets.chat]\nfirst_reply = \"20m\"\nnext_reply = \"20m\"\nresolution = \"2h\"",
        )
        .replace(
            "[targets.email]\nfirst_reply = \"24h\"\nnext_reply = \"24h\"",
            "[targets.email]\nfirst_reply = \"24h\"\nnext_reply = \"24h\"\nresolution = \"8h\"\nbasis = \"business\"",
        );
    Arc::new(Policy::from_toml("strict", &text).unwrap())
}

/// The built-in policy until `T0 + change_min`, the stricter one from then on.
fn versions(change_min: i64) -> PolicyVersions {
    let mut v = PolicyVersions::single(Arc::new(Policy::builtin()));
    v.add(EventTime(T0 + change_min * MIN), stricter());
    v
}

fn run(events: &[Event]) -> Vec<SlaFact> {
    let mut e = engine();
    events.iter().flat_map(|ev| e.apply(ev)).collect()
}

fn latencies(facts: &[SlaFact]) -> Vec<(ReplyKind, i64, bool)> {
    facts
        .iter()
        .filter_map(|f| match f {
            SlaFact::Latency(l) => Some((l.kind, l.calendar_ms, l.met)),
            _ => None,
        })
        .collect()
}

#[test]
fn first_reply_is_measured_from_the_first_unanswered_message() {
    let facts = run(&[
        ev("m1", "c", Channel::Phone, 0, customer()),
        ev("m2", "c", Channel::Phone, 1, customer()),
        ev("r1", "c", Channel::Phone, 3, human()),
        ev("m3", "c", Channel::Phone, 10, customer()),
        ev("r2", "c", Channel::Phone, 12, human()),
    ]);
    assert_eq!(
        latencies(&facts),
        [
            (ReplyKind::First, 3 * MIN, true),
            (ReplyKind::Next, 2 * MIN, true)
        ]
    );
    let l = facts
        .iter()
        .find_map(|f| match f {
            SlaFact::Latency(l) => Some(l),
            _ => None,
        })
        .unwrap();
    assert_eq!(l.customer_event_id, "m1");
    assert_eq!(l.reply_event_id, "r1");
    assert_eq!(l.agent_id, "a1");
    assert!(l.policy_version.starts_with("default@"));
    // A clock's id is made from its conversation and the message that started it.
    let clock_ids: Vec<&str> = facts
        .iter()
        .filter_map(|f| match f {
            SlaFact::Latency(l) => Some(l.clock_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        clock_ids,
        [
            pronto_domain::fact_id("clk", &["acme/c", "m1"]),
            pronto_domain::fact_id("clk", &["acme/c", "m3"])
        ]
    );
}

#[test]
fn bots_and_private_notes_do_not_stop_the_clock() {
    let facts = run(&[
        ev("m1", "c", Channel::Chat, 0, customer()),
        ev(
            "b1",
            "c",
            Channel::Chat,
            0,
            reply(AuthorKind::Bot, Visibility::Public),
        ),
        ev(
            "n1",
            "c",
            Channel::Chat,
            5,
            reply(AuthorKind::Human, Visibility::Private),
        ),
        ev("r1", "c", Channel::Chat, 20, human()),
    ]);
    assert_eq!(latencies(&facts), [(ReplyKind::First, 20 * MIN, true)]);
}

#[test]
fn pending_on_customer_pauses_the_clock() {
    let status = |s| Payload::StatusChanged(s);
    let facts = run(&[
        ev("m1", "c", Channel::Email, 0, customer()),
        ev(
            "s1",
            "c",
            Channel::Email,
            10,
            status(ConversationStatus::PendingCustomer),
        ),
        ev(
            "s2",
            "c",
            Channel::Email,
            70,
            status(ConversationStatus::Open),
        ),
        ev("r1", "c", Channel::Email, 75, human()),
    ]);
    assert_eq!(latencies(&facts), [(ReplyKind::First, 15 * MIN, true)]);
}

#[test]
fn business_time_counts_only_opening_hours() {
    // Monday 12:00 Rome to 15:00 Rome: one hour before lunch, one after.
    let facts = run(&[
        ev("m1", "c", Channel::Email, 120, customer()),
        ev("r1", "c", Channel::Email, 300, human()),
    ]);
    let SlaFact::Latency(l) = &facts[0] else {
        panic!()
    };
    assert_eq!(l.calendar_ms, 180 * MIN);
    assert_eq!(l.business_ms, 120 * MIN);
}

#[test]
fn silence_breaches_once_after_warnings_and_the_late_reply_is_not_met() {
    let mut e = engine();
    assert!(
        e.apply(&ev("m1", "c", Channel::Phone, 0, customer()))
            .is_empty()
    );
    // Phone: 5 min target, warnings at 50% and 80%.
    let facts = e.advance(EventTime(T0 + 10 * MIN));
    let kinds: Vec<_> = facts
        .iter()
        .map(|f| (f.kind(), f.at().millis() - T0))
        .collect();
    assert_eq!(
        kinds,
        [
            ("warning", 150_000),
            ("warning", 240_000),
            ("breach", 300_000)
        ]
    );
    assert!(
        e.advance(EventTime(T0 + 20 * MIN)).is_empty(),
        "timers fire once"
    );
    let late = e.apply(&ev("r1", "c", Channel::Phone, 30, human()));
    assert_eq!(latencies(&late), [(ReplyKind::First, 30 * MIN, false)]);
}

#[test]
fn a_reply_exactly_at_the_deadline_is_in_time() {
    let facts = run(&[
        ev("m1", "c", Channel::Phone, 0, customer()),
        ev("r1", "c", Channel::Phone, 5, human()),
    ]);
    assert_eq!(facts.iter().filter(|f| f.kind() == "breach").count(), 0);
    assert_eq!(latencies(&facts), [(ReplyKind::First, 5 * MIN, true)]);
}

#[test]
fn another_conversations_event_moves_time_for_everyone() {
    let facts = run(&[
        ev("m1", "a", Channel::Phone, 0, customer()),
        ev("m2", "b", Channel::Email, 7, customer()),
    ]);
    assert!(
        facts
            .iter()
            .any(|f| f.kind() == "breach" && f.context().conversation_id == "a")
    );
}

#[test]
fn duplicates_are_ignored() {
    let m = ev("m1", "c", Channel::Phone, 0, customer());
    let r = ev("r1", "c", Channel::Phone, 2, human());
    let facts = run(&[m.clone(), m, r.clone(), r]);
    assert_eq!(latencies(&facts).len(), 1);
}

#[test]
fn solving_without_a_reply_cancels_the_clock() {
    let mut e = engine();
    e.apply(&ev("m1", "c", Channel::Phone, 0, customer()));
    e.apply(&ev(
        "s1",
        "c",
        Channel::Phone,
        1,
        Payload::StatusChanged(ConversationStatus::Solved),
    ));
    assert!(e.advance(EventTime(T0 + 60 * MIN)).is_empty());
    assert_eq!(e.stats().open_clocks, 0);
}

#[test]
fn lateness_lets_an_out_of_order_reply_win() {
    let mut e = Engine::new(Arc::new(Policy::builtin()), 10 * MIN);
    let mut facts = e.apply(&ev("m1", "a", Channel::Phone, 0, customer()));
    // Another conversation's event at minute 8 arrives before a's reply at minute 4...
    facts.extend(e.apply(&ev("m2", "b", Channel::Email, 8, customer())));
    facts.extend(e.apply(&ev("r1", "a", Channel::Phone, 4, human())));
    assert!(facts.is_empty(), "nothing is final within the lateness");
    assert_eq!(e.buffered(), 3);
    // ...and is applied in event-time order once the lateness has passed.
    facts.extend(e.advance(EventTime(T0 + 20 * MIN)));
    assert_eq!(latencies(&facts), [(ReplyKind::First, 4 * MIN, true)]);
    assert!(
        !facts
            .iter()
            .any(|f| f.kind() == "breach" && f.context().conversation_id == "a")
    );
    assert_eq!(e.buffered(), 0);
}

#[test]
fn a_clock_follows_the_version_in_force_when_it_started() {
    let mut e = Engine::with_versions(versions(30), 0);
    let events = [
        ev("m1", "c1", Channel::Chat, 0, customer()),
        // Under the built-in policy a bot reply does not count, and pending pauses.
        ev(
            "b1",
            "c1",
            Channel::Chat,
            40,
            reply(AuthorKind::Bot, Visibility::Public),
        ),
        ev(
            "p1",
            "c1",
            Channel::Chat,
            41,
            Payload::StatusChanged(ConversationStatus::PendingCustomer),
        ),
        ev(
            "o1",
            "c1",
            Channel::Chat,
            61,
            Payload::StatusChanged(ConversationStatus::Open),
        ),
        ev("r1", "c1", Channel::Chat, 70, human()),
        // Started after the change: the stricter version's 20-minute target, and a bot
        // reply stops the clock.
        ev("m2", "c2", Channel::Chat, 31, customer()),
        ev(
            "b2",
            "c2",
            Channel::Chat,
            45,
            reply(AuthorKind::Bot, Visibility::Public),
        ),
    ];
    let mut sorted = events.to_vec();
    sorted.sort_by_key(|e| e.at());
    let facts: Vec<SlaFact> = sorted.iter().flat_map(|ev| e.apply(ev)).collect();
    let lat: Vec<(&str, i64, i64, bool, &str)> = facts
        .iter()
        .filter_map(|f| match f {
            SlaFact::Latency(l) => Some((
                l.reply_event_id.as_str(),
                l.calendar_ms / MIN,
                l.target_ms / MIN,
                l.met,
                l.policy_version.split('@').next().unwrap(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        lat,
        [
            ("b2", 14, 20, true, "strict"),
            ("r1", 50, 60, true, "default")
        ]
    );
    // Every fact names the version its clock started under.
    for f in &facts {
        let (clock_start, version) = match f {
            SlaFact::Latency(l) => (l.customer_at, &l.policy_version),
            SlaFact::Warning(w) => (w.customer_at, &w.policy_version),
            SlaFact::Breach(b) => (b.customer_at, &b.policy_version),
            SlaFact::Correction(c) => (c.customer_at, &c.policy_version),
        };
        assert_eq!(&e.policies().in_force(clock_start).version, version);
    }
}

fn arb_conversations() -> impl Strategy<Value = Vec<Event>> {
    let step = (0usize..4, 0i64..40, 0u8..11);
    prop::collection::vec(step, 1..60).prop_map(|steps| {
        let mut t = 0;
        steps
            .into_iter()
            .enumerate()
            .map(|(i, (conv, gap, what))| {
                t += gap;
                let channel = [
                    Channel::Phone,
                    Channel::Chat,
                    Channel::Email,
                    Channel::Twitter,
                ][conv];
                let payload = match what {
                    0 | 1 => customer(),
                    2 => human(),
                    3 => reply(AuthorKind::Bot, Visibility::Public),
                    4 => Payload::StatusChanged(ConversationStatus::PendingCustomer),
                    5 => Payload::StatusChanged(ConversationStatus::Open),
                    6 => Payload::StatusChanged(ConversationStatus::Solved),
                    7 => Payload::StatusChanged(ConversationStatus::Reopened),
                    8 => merged("c9", Some(((t - 30).max(0), "c9-m"))),
                    9 => Payload::AssignmentChanged {
                        queue: Some(
                            Id::parse(if t % 2 == 0 { "billing" } else { "tech" }).unwrap(),
                        ),
                        agent_id: None,
                    },
                    _ => Payload::PriorityChanged(if t % 2 == 0 {
                        pronto_domain::Priority::Urgent
                    } else {
                        pronto_domain::Priority::Normal
                    }),
                };
                ev(&format!("e{i}"), &format!("c{conv}"), channel, t, payload)
            })
            .collect()
    })
}

/// Delays each event's arrival by up to `lateness`, keeping events of equal time in order.
fn arb_arrivals() -> impl Strategy<Value = (Vec<Event>, Vec<Event>)> {
    arb_conversations()
        .prop_flat_map(|events| {
            let n = events.len();
            (Just(events), prop::collection::vec(0i64..=10, n))
        })
        .prop_map(|(events, delays)| {
            let mut arrivals: Vec<(i64, usize, Event)> = events
                .iter()
                .cloned()
                .zip(delays)
                .enumerate()
                .map(|(i, (e, d))| (e.at().millis() + d * MIN, i, e))
                .collect();
            arrivals.sort_by_key(|(t, i, _)| (*t, *i));
            (events, arrivals.into_iter().map(|(_, _, e)| e).collect())
        })
}

proptest! {
    /// Any arrival order within the allowed lateness gives the facts of the ordered log.
    #[test]
    fn shuffling_within_the_lateness_changes_nothing((ordered, shuffled) in arb_arrivals()) {
        let run = |events: &[Event]| {
            let mut e = Engine::with_versions(versions(200), 10 * MIN);
            let mut out: Vec<SlaFact> = events.iter().flat_map(|ev| e.apply(ev)).collect();
            out.extend(e.advance(EventTime(i64::MAX / 2)));
            out
        };
        prop_assert_eq!(run(&ordered), run(&shuffled));
        // Handing the engine its own copies changes nothing either.
        let mut e = Engine::with_versions(versions(200), 10 * MIN);
        let mut owned: Vec<SlaFact> = shuffled.into_iter().flat_map(|ev| e.apply_owned(ev)).collect();
        owned.extend(e.advance(EventTime(i64::MAX / 2)));
        prop_assert_eq!(run(&ordered), owned);
    }

    /// Events arriving later than the lateness: every correction takes back a verdict
    /// announced before it, once, and the run is as deterministic as any other.
    #[test]
    fn corrections_take_back_only_what_was_announced((_, shuffled) in arb_arrivals()) {
        let run = || {
            let mut e = Engine::with_versions(versions(200), 0);
            let mut out: Vec<SlaFact> = shuffled.iter().flat_map(|ev| e.apply(ev)).collect();
            out.extend(e.advance(EventTime(i64::MAX / 2)));
            out
        };
        let facts = run();
        let mut announced = std::collections::HashMap::new();
        let mut taken_back = std::collections::HashSet::new();
        for f in &facts {
            match f {
                SlaFact::Warning(_) => { announced.insert(f.fact_id().to_string(), "warning"); }
                SlaFact::Breach(_) => { announced.insert(f.fact_id().to_string(), "breach"); }
                SlaFact::Latency(_) => { announced.insert(f.fact_id().to_string(), "latency"); }
                SlaFact::Correction(c) => {
                    prop_assert_eq!(announced.get(&c.corrects_fact_id).copied(), Some(c.corrects_kind.as_str()));
                    prop_assert!(taken_back.insert(c.corrects_fact_id.clone()));
                }
            }
        }
        prop_assert_eq!(facts, run());
    }

    /// However late events arrive (within the correction window), what stands once the
    /// corrections are applied is exactly what the ordered log yields.
    #[test]
    fn corrected_late_arrivals_leave_the_facts_of_the_ordered_log((ordered, shuffled) in arb_arrivals()) {
        let end = EventTime(i64::MAX / 2);
        let mut e = Engine::with_versions(versions(200), 0);
        let mut expected: Vec<SlaFact> = ordered.iter().flat_map(|ev| e.apply(ev)).collect();
        expected.extend(e.advance(end));
        let mut e = Engine::with_versions(versions(200), 0);
        let mut live: Vec<SlaFact> = shuffled.iter().flat_map(|ev| e.apply(ev)).collect();
        live.extend(e.advance(end));
        prop_assert_eq!(standing(&live), standing(&expected), "{}", compact(&shuffled));
    }

    /// The same in any arrival order at all, with live ticks between arrivals.
    #[test]
    fn any_arrival_order_corrected_leaves_the_facts_of_the_ordered_log(
        (ordered, shuffled) in arb_conversations().prop_flat_map(|e| (Just(e.clone()), Just(e).prop_shuffle())),
        lateness in 0i64..3,
    ) {
        let end = EventTime(i64::MAX / 2);
        let mut e = Engine::with_versions(versions(200), lateness * MIN);
        let mut expected: Vec<SlaFact> = ordered.iter().flat_map(|ev| e.apply(ev)).collect();
        expected.extend(e.advance(end));
        let mut e = Engine::with_versions(versions(200), lateness * MIN);
        let mut live = Vec::new();
        for ev in &shuffled {
            live.extend(e.apply(ev));
            live.extend(e.advance(EventTime(ev.at().millis() + MIN)));
        }
        live.extend(e.advance(end));
        prop_assert_eq!(standing(&live), standing(&expected), "{}", compact(&shuffled));
    }

    /// Live mode ticks the clock between events; replay does not. Both give the same facts.
    #[test]
    fn live_ticks_and_replay_give_identical_facts(events in arb_conversations(), tick in 1i64..30, change in 0i64..600) {
        let end = EventTime(events.last().unwrap().at().millis() + 48 * 60 * MIN);
        let engine = || Engine::with_versions(versions(change), 0);
        let mut replay = engine();
        let mut a: Vec<SlaFact> = events.iter().flat_map(|e| replay.apply(e)).collect();
        a.extend(replay.advance(end));

        let mut live = engine();
        let mut b = Vec::new();
        let mut now = events[0].at().millis();
        for e in &events {
            while now + tick * MIN < e.at().millis() {
                now += tick * MIN;
                b.extend(live.advance(EventTime(now)));
            }
            b.extend(live.apply(e));
        }
        b.extend(live.advance(end));
        prop_assert_eq!(a, b);
    }

    /// Every warning precedes its breach; every clock breaches at most once; business time
    /// never exceeds calendar time.
    #[test]
    fn verdict_invariants(events in arb_conversations(), change in 0i64..600) {
        let mut e = Engine::with_versions(versions(change), 0);
        let mut facts: Vec<SlaFact> = events.iter().flat_map(|ev| e.apply(ev)).collect();
        facts.extend(e.advance(EventTime(i64::MAX / 2)));
        let mut breached = std::collections::HashSet::new();
        for f in &facts {
            match f {
                SlaFact::Breach(b) => prop_assert!(breached.insert(b.clock_id.clone())),
                SlaFact::Warning(w) => prop_assert!(!breached.contains(&w.clock_id)),
                SlaFact::Latency(l) => {
                    prop_assert!(l.business_ms <= l.calendar_ms);
                    prop_assert!(l.calendar_ms >= 0);
                }
                // Events in order never take back what was announced.
                SlaFact::Correction(c) => prop_assert!(false, "correction in order: {}", c.reason),
            }
            let (start, version) = match f {
                SlaFact::Latency(l) => (l.customer_at, &l.policy_version),
                SlaFact::Warning(w) => (w.customer_at, &w.policy_version),
                SlaFact::Breach(b) => (b.customer_at, &b.policy_version),
                SlaFact::Correction(c) => (c.customer_at, &c.policy_version),
            };
            prop_assert_eq!(&e.policies().in_force(start).version, version);
        }
    }
}

#[test]
fn a_rule_for_urgent_conversations_tightens_the_target() {
    let text = format!(
        "{}\n[[rules]]\nname = \"urgent\"\nmatch = {{ priority = \"urgent\" }}\nfirst_reply = \"30s\"\nnext_reply = \"30s\"\n",
        crate::policy::DEFAULT_POLICY_TOML
    );
    let mut e = Engine::new(Arc::new(Policy::from_toml("p.toml", &text).unwrap()), 0);
    e.apply(&ev(
        "p1",
        "c",
        Channel::Email,
        0,
        Payload::PriorityChanged(pronto_domain::Priority::Urgent),
    ));
    e.apply(&ev("m1", "c", Channel::Email, 1, customer()));
    let facts = e.advance(EventTime(T0 + 2 * MIN));
    let breach = facts
        .iter()
        .find(|f| f.kind() == "breach")
        .expect("urgent target breached");
    assert_eq!(breach.at(), EventTime(T0 + MIN + 30_000));
}

// Explanations.

fn evc(id: &str, conv: &str, at_min: i64, payload: Payload) -> Event {
    ev(id, conv, Channel::Chat, at_min, payload)
}

fn conversation() -> Vec<Event> {
    vec![
        evc("m1", "c1", 0, customer()),
        evc("b1", "c1", 10, reply(AuthorKind::Bot, Visibility::Public)),
        evc(
            "p1",
            "c1",
            20,
            Payload::StatusChanged(ConversationStatus::PendingCustomer),
        ),
        evc(
            "o1",
            "c1",
            40,
            Payload::StatusChanged(ConversationStatus::Open),
        ),
        evc("r1", "c1", 75, human()),
        // Another conversation: not part of c1's story.
        evc("x1", "c2", 5, customer()),
        // 18:00 in Rome, closing time; answered at 10:00 the next morning.
        evc("m2", "c1", 8 * 60, customer()),
        evc("r2", "c1", 24 * 60, human()),
        evc("r2", "c1", 24 * 60, human()),
    ]
}

#[test]
fn the_timeline_tells_every_event_and_verdict_with_its_reason() {
    let policy = Arc::new(Policy::builtin());
    let versions = PolicyVersions::single(Arc::clone(&policy));
    let mut events = conversation();
    events.reverse(); // any order in
    let x = crate::explain(&versions, "acme/c1", &events, EventTime(T0 + 30 * 60 * MIN));
    let whats: Vec<(i64, &str)> = x
        .entries
        .iter()
        .map(|e| ((e.at.millis() - T0) / MIN, e.what.as_str()))
        .collect();
    assert_eq!(
        whats,
        [
            (0, "customer message m1"),
            (10, "bot public reply b1 by a1"),
            (20, "status pending_customer (p1)"),
            (40, "status open (o1)"),
            (50, "warning: 50% of the first reply target"),
            (68, "warning: 80% of the first reply target"),
            (75, "human public reply r1 by a1"),
            (480, "customer message m2"),
            (510, "warning: 50% of the next reply target"),
            (528, "warning: 80% of the next reply target"),
            (540, "breach of the next reply target"),
            (1440, "human public reply r2 by a1"),
            (1440, "human public reply r2 by a1"),
        ]
    );
    let notes = |i: usize| x.entries[i].notes.join(" | ");
    assert!(
        notes(0).contains(&format!(
            "first reply clock starts under {}: target 1h in calendar time",
            policy.version
        )),
        "{}",
        notes(0)
    );
    assert!(
        notes(0).contains("breach at 2026-03-02T10:00:00"),
        "{}",
        notes(0)
    );
    assert!(
        notes(1).contains("bot replies do not count"),
        "{}",
        notes(1)
    );
    assert!(
        notes(2).contains("clock paused") && notes(2).contains("counted 20m calendar"),
        "{}",
        notes(2)
    );
    assert!(
        notes(3).contains("clock resumes") && notes(3).contains("breach at 2026-03-02T10:20:00"),
        "{}",
        notes(3)
    );
    assert!(
        notes(6).contains("waited 55m calendar") && notes(6).ends_with("met"),
        "{}",
        notes(6)
    );
    assert!(
        notes(11).contains("waited 16h calendar, 1h business") && notes(11).contains("missed"),
        "{}",
        notes(11)
    );
    assert!(
        notes(11).contains("outside business hours (Europe/Rome)")
            && notes(11).contains("Mon 02 Mar 18:00 to Tue 03 Mar 09:00"),
        "{}",
        notes(11)
    );
    assert!(notes(12).contains("applied already"), "{}", notes(12));
    assert!(x.open_clock.is_none());

    // The verdicts are the engine's own, on the whole stream.
    let mut engine = Engine::new(policy, 0);
    let mut sorted = conversation();
    sorted.sort_by_key(|e| e.at());
    let mut all: Vec<SlaFact> = sorted.iter().flat_map(|e| engine.apply(e)).collect();
    all.extend(engine.advance(EventTime(T0 + 30 * 60 * MIN)));
    all.retain(|f| f.context().conversation_id == "c1");
    assert_eq!(x.facts, all);
    let text = x.to_string();
    assert!(
        text.starts_with("conversation acme/c1\npolicy default@"),
        "{text}"
    );
    assert!(text.contains("no clock open"), "{text}");
}

#[test]
fn an_instant_mid_clock_shows_the_clock_as_it_stood() {
    let versions = PolicyVersions::single(Arc::new(Policy::builtin()));
    let x = crate::explain(
        &versions,
        "acme/c1",
        &conversation(),
        EventTime(T0 + 30 * MIN),
    );
    let c = x.open_clock.as_ref().unwrap();
    assert_eq!(c.kind, ReplyKind::First);
    assert!(c.running_since.is_none());
    assert_eq!((c.calendar_ms, c.business_ms), (20 * MIN, 20 * MIN));
    assert_eq!(x.entries.len(), 3);
    assert!(
        x.to_string()
            .contains("first reply clock open since 2026-03-02T09:00:00"),
        "{x}"
    );
}

#[test]
fn resolution_is_measured_to_solved_net_of_pauses_and_again_after_a_reopen() {
    let policy = stricter(); // chat: resolution within 2h; pauses only on hold
    let mut e = Engine::new(Arc::clone(&policy), 0);
    let events = [
        evc("m1", "c1", 0, customer()),
        evc("r1", "c1", 10, human()),
        evc(
            "h1",
            "c1",
            20,
            Payload::StatusChanged(ConversationStatus::OnHold),
        ),
        evc("m2", "c1", 60, customer()),
        evc("r2", "c1", 70, human()),
        evc(
            "s1",
            "c1",
            120,
            Payload::StatusChanged(ConversationStatus::Solved),
        ),
        // The customer writes again: a new episode, solved too late.
        evc("m3", "c1", 200, customer()),
        evc("r3", "c1", 205, human()),
        evc(
            "s2",
            "c1",
            400,
            Payload::StatusChanged(ConversationStatus::Solved),
        ),
        // Reopened by an agent: the resolution clock runs with no reply owed.
        evc(
            "o1",
            "c1",
            500,
            Payload::StatusChanged(ConversationStatus::Reopened),
        ),
        evc(
            "s3",
            "c1",
            530,
            Payload::StatusChanged(ConversationStatus::Closed),
        ),
    ];
    let mut facts: Vec<SlaFact> = events.iter().flat_map(|ev| e.apply(ev)).collect();
    facts.extend(e.advance(EventTime(T0 + 1000 * MIN)));
    let resolutions: Vec<(&str, &str, i64, bool, &str)> = facts
        .iter()
        .filter_map(|f| match f {
            SlaFact::Latency(l) if l.kind == ReplyKind::Resolution => Some((
                l.customer_event_id.as_str(),
                l.reply_event_id.as_str(),
                l.calendar_ms / MIN,
                l.met,
                l.policy_version.as_str(),
            )),
            _ => None,
        })
        .collect();
    let v = policy.version.as_str();
    assert_eq!(
        resolutions,
        [
            ("m1", "s1", 80, true, v),
            ("m3", "s2", 200, false, v),
            ("o1", "s3", 30, true, v)
        ]
    );
    // Each resolution clock has its own id, made from the event that started it.
    for f in &facts {
        if let SlaFact::Latency(l) = f
            && l.kind == ReplyKind::Resolution
        {
            let id = pronto_domain::fact_id("res", &["acme/c1", &l.customer_event_id]);
            assert_eq!(l.clock_id, id);
        }
    }
    let timers: Vec<(ReplyKind, &str, i64)> = facts
        .iter()
        .filter_map(|f| match f {
            SlaFact::Breach(b) => Some((b.kind, "breach", (b.deadline.millis() - T0) / MIN)),
            SlaFact::Warning(w) => Some((w.kind, "warning", (w.due_at.millis() - T0) / MIN)),
            SlaFact::Latency(_) | SlaFact::Correction(_) => None,
        })
        .collect();
    // 50% of 2h after 20 minutes counted and the hold; then the second episode's warnings
    // and breach. The replies all came within 20 minutes' half: no reply timer fired.
    assert_eq!(
        timers,
        [
            (ReplyKind::Resolution, "warning", 100),
            (ReplyKind::Resolution, "warning", 260),
            (ReplyKind::Resolution, "warning", 296),
            (ReplyKind::Resolution, "breach", 320),
        ]
    );
    assert_eq!(e.stats().open_clocks, 0);
}

#[test]
fn without_a_resolution_target_nothing_is_measured_to_solved() {
    let facts = run(&[
        evc("m1", "c1", 0, customer()),
        evc("r1", "c1", 10, human()),
        evc(
            "s1",
            "c1",
            20,
            Payload::StatusChanged(ConversationStatus::Solved),
        ),
    ]);
    assert_eq!(latencies(&facts), [(ReplyKind::First, 10 * MIN, true)]);
    assert_eq!(facts.len(), 1);
}

#[test]
fn the_timeline_tells_the_resolution_clock_too() {
    let versions = PolicyVersions::single(stricter());
    let events = [
        evc("m1", "c1", 0, customer()),
        evc(
            "h1",
            "c1",
            20,
            Payload::StatusChanged(ConversationStatus::OnHold),
        ),
        evc("m2", "c1", 60, customer()),
        evc("r2", "c1", 70, human()),
        evc(
            "s1",
            "c1",
            120,
            Payload::StatusChanged(ConversationStatus::Solved),
        ),
        evc("m3", "c1", 200, customer()),
    ];
    let x = crate::explain(&versions, "acme/c1", &events, EventTime(T0 + 210 * MIN));
    let text = x.to_string();
    let notes = |what: &str| {
        x.entries
            .iter()
            .find(|e| e.what.starts_with(what))
            .map(|e| e.notes.join(" | "))
            .unwrap_or_default()
    };
    let m1 = notes("customer message m1");
    assert!(
        m1.contains("resolution clock starts under strict@") && m1.contains("target 2h"),
        "{text}"
    );
    let hold = notes("status on_hold");
    assert!(hold.contains("first reply clock paused"), "{text}");
    assert!(
        hold.contains("resolution clock paused: this status stops it under strict@"),
        "{text}"
    );
    assert!(
        notes("customer message m2").contains("resolution clock resumes; counted 20m calendar"),
        "{text}"
    );
    assert!(
        text.contains("warning: 50% of the resolution target"),
        "{text}"
    );
    assert!(notes("status solved").contains("resolved: took 1h 20m calendar, 1h 20m business; target 2h in calendar time under strict@"), "{text}");
    assert!(notes("status solved").ends_with("met"), "{text}");
    assert!(
        text.contains(
            "at 2026-03-02T12:30:00.000Z: next reply clock open since 2026-03-02T12:20:00.000Z"
        ),
        "{text}"
    );
    assert!(
        text.contains("resolution clock open since 2026-03-02T12:20:00.000Z"),
        "{text}"
    );
}

/// Events in a line each: id, conversation, minute, payload.
fn compact(events: &[Event]) -> String {
    events
        .iter()
        .map(|e| {
            let what = match &e.payload {
                Payload::ReplySent { author, .. } => format!("reply {author:?}"),
                Payload::StatusChanged(s) => format!("status {s}"),
                Payload::Merged { waiting, .. } => format!(
                    "merged {:?}",
                    waiting
                        .as_ref()
                        .map(|(t, m)| ((t.millis() - T0) / MIN, m.to_string()))
                ),
                p => p.kind().to_string(),
            };
            format!(
                "{} {} {} {what}\n",
                e.id(),
                e.envelope.conversation_id,
                (e.at().millis() - T0) / MIN
            )
        })
        .collect()
}

/// The verdicts that stand: those announced and not corrected, without their ids (a verdict
/// announced again after a correction has a new one), in a stable order.
fn standing(facts: &[SlaFact]) -> Vec<String> {
    let corrected: std::collections::HashSet<&str> = facts
        .iter()
        .filter_map(|f| match f {
            SlaFact::Correction(c) => Some(c.corrects_fact_id.as_str()),
            _ => None,
        })
        .collect();
    let mut out: Vec<String> = facts
        .iter()
        .filter(|f| !matches!(f, SlaFact::Correction(_)) && !corrected.contains(f.fact_id()))
        .map(|f| format!("{f:?}").replace(f.fact_id(), ""))
        .collect();
    out.sort();
    out
}

/// Hands `events` to the engine in the order given; returns what it emitted.
fn arrive(e: &mut Engine, events: &[Event]) -> Vec<SlaFact> {
    events.iter().flat_map(|ev| e.apply(ev)).collect()
}

/// What a run emitted, compactly: kind, minutes after T0, and for corrections what they
/// take back.
fn summary(facts: &[SlaFact]) -> Vec<(&'static str, i64, String)> {
    facts
        .iter()
        .filter(|f| f.context().conversation_id == "c1")
        .map(|f| {
            let what = match f {
                SlaFact::Correction(c) => c.corrects_kind.clone(),
                SlaFact::Latency(l) => format!("met={}", l.met),
                SlaFact::Warning(w) => format!("{:.0}%", w.fraction * 100.0),
                SlaFact::Breach(_) => String::new(),
            };
            (f.kind(), (f.at().millis() - T0) / MIN, what)
        })
        .collect()
}

#[test]
fn a_late_reply_takes_back_what_it_came_before() {
    let mut e = engine();
    let facts = arrive(
        &mut e,
        &[
            evc("m1", "c1", 0, customer()),
            // Another conversation moves event time to 09:90; c1 warned at 30 and 48, breached.
            evc("x1", "c2", 90, customer()),
            // The reply of 09:40 arrives only now, past the allowed lateness (none here).
            evc("r1", "c1", 40, human()),
        ],
    );
    assert_eq!(
        summary(&facts),
        [
            ("warning", 30, "50%".into()),
            ("warning", 48, "80%".into()),
            ("breach", 60, String::new()),
            ("correction", 40, "warning".into()),
            ("correction", 40, "breach".into()),
            ("latency", 40, "met=true".into()),
        ]
    );
    // Each correction names the fact it takes back, and why.
    let ids: Vec<&str> = facts.iter().map(|f| f.fact_id()).collect();
    for f in &facts {
        if let SlaFact::Correction(c) = f {
            assert!(ids.contains(&c.corrects_fact_id.as_str()));
            assert!(
                c.reason.contains(
                    "the reply (r1, at 2026-03-02T09:40:00.000Z) arrived after the allowed lateness"
                ),
                "{}",
                c.reason
            );
        }
    }
    let SlaFact::Correction(breach) = &facts[4] else {
        unreachable!()
    };
    assert_eq!(breach.corrects_fact_id, facts[2].fact_id());
}

#[test]
fn a_late_pause_takes_back_timers_and_announces_them_again_later() {
    let mut e = engine();
    let mut facts = arrive(
        &mut e,
        &[
            evc("m1", "c1", 0, customer()),
            evc("x1", "c2", 90, customer()),
            // Pending on the customer since 09:40, known only now.
            evc(
                "p1",
                "c1",
                40,
                Payload::StatusChanged(ConversationStatus::PendingCustomer),
            ),
            // The customer writes at 10:40: 40 minutes counted, 20 to go.
            evc("m2", "c1", 100, customer()),
        ],
    );
    facts.extend(e.advance(EventTime(T0 + 200 * MIN)));
    assert_eq!(
        summary(&facts),
        [
            ("warning", 30, "50%".into()),
            ("warning", 48, "80%".into()),
            ("breach", 60, String::new()),
            ("correction", 40, "warning".into()),
            ("correction", 40, "breach".into()),
            ("warning", 108, "80%".into()),
            ("breach", 120, String::new()),
        ]
    );
    // Announced again under new ids.
    assert_ne!(facts[1].fact_id(), facts[5].fact_id());
    assert_ne!(facts[2].fact_id(), facts[6].fact_id());
}

#[test]
fn a_late_solve_takes_back_the_breach_it_came_before() {
    let mut e = engine();
    let facts = arrive(
        &mut e,
        &[
            evc("m1", "c1", 0, customer()),
            evc("x1", "c1x", 90, customer()),
            evc(
                "s1",
                "c1",
                50,
                Payload::StatusChanged(ConversationStatus::Solved),
            ),
        ],
    );
    assert_eq!(
        summary(&facts),
        [
            ("warning", 30, "50%".into()),
            ("warning", 48, "80%".into()),
            ("breach", 60, String::new()),
            ("correction", 50, "breach".into()),
        ]
    );
}

#[test]
fn a_late_reply_on_a_clock_already_answered_corrects_the_latency() {
    let mut e = engine();
    let facts = arrive(
        &mut e,
        &[
            evc("m1", "c1", 0, customer()),
            // Answered at 09:50 (met), known first...
            evc("r2", "c1", 50, human()),
            // ...then an earlier reply of 09:10 arrives: it was the first reply.
            evc("r1", "c1", 10, human()),
        ],
    );
    assert_eq!(
        summary(&facts),
        [
            ("warning", 30, "50%".into()),
            ("warning", 48, "80%".into()),
            ("latency", 50, "met=true".into()),
            ("correction", 10, "warning".into()),
            ("correction", 10, "warning".into()),
            ("correction", 10, "latency".into()),
            ("latency", 10, "met=true".into()),
        ]
    );
    let SlaFact::Correction(c) = &facts[5] else {
        unreachable!()
    };
    assert_eq!(c.corrects_fact_id, facts[2].fact_id());
    assert!(
        c.reason
            .starts_with("the reply (r1, at 2026-03-02T09:10:00.000Z)"),
        "{}",
        c.reason
    );
    let SlaFact::Latency(l) = &facts[6] else {
        unreachable!()
    };
    assert_eq!((l.reply_event_id.as_str(), l.calendar_ms), ("r1", 10 * MIN));
}

#[test]
fn a_late_message_before_the_clock_started_moves_its_start() {
    let mut e = engine();
    let mut facts = arrive(
        &mut e,
        &[
            evc("m2", "c1", 20, customer()),
            evc("x1", "c2", 60, customer()),
            // The customer had first written at 09:00: the wait began then.
            evc("m1", "c1", 0, customer()),
        ],
    );
    facts.extend(e.advance(EventTime(T0 + 70 * MIN)));
    facts.extend(arrive(&mut e, &[evc("r1", "c1", 70, human())]));
    assert_eq!(
        summary(&facts),
        [
            ("warning", 50, "50%".into()),
            ("correction", 0, "warning".into()),
            ("warning", 30, "50%".into()),
            ("warning", 48, "80%".into()),
            ("breach", 60, String::new()),
            ("latency", 70, "met=false".into()),
        ]
    );
    let SlaFact::Latency(l) = facts.last().unwrap() else {
        unreachable!()
    };
    assert_eq!(
        (l.customer_event_id.as_str(), l.calendar_ms),
        ("m1", 70 * MIN)
    );
}

#[test]
fn a_late_pause_on_a_clock_already_answered_corrects_the_latency() {
    let mut e = engine();
    let facts = arrive(
        &mut e,
        &[
            evc("m1", "c1", 0, customer()),
            evc("r1", "c1", 90, human()),
            // Pending on the customer from 09:20 to 09:50, known only now: 60 minutes waited.
            evc(
                "p1",
                "c1",
                20,
                Payload::StatusChanged(ConversationStatus::PendingCustomer),
            ),
            evc("m2", "c1", 50, customer()),
        ],
    );
    // Once the pause is known, 20 minutes were counted by 09:90; once the customer's 09:50
    // message is known too, 60: each latency taken back in turn but the last.
    assert_eq!(
        latencies(&facts),
        [
            (ReplyKind::First, 90 * MIN, false),
            (ReplyKind::First, 20 * MIN, true),
            (ReplyKind::First, 60 * MIN, true)
        ]
    );
    let corrected: Vec<&str> = facts
        .iter()
        .filter_map(|f| match f {
            SlaFact::Correction(c) => Some(c.corrects_fact_id.as_str()),
            _ => None,
        })
        .collect();
    let standing: Vec<i64> = facts
        .iter()
        .filter_map(|f| match f {
            SlaFact::Latency(l) if !corrected.contains(&l.fact_id.as_str()) => Some(l.calendar_ms),
            _ => None,
        })
        .collect();
    assert_eq!(standing, [60 * MIN]);
    let corrected: Vec<&str> = facts
        .iter()
        .filter_map(|f| match f {
            SlaFact::Correction(c) => Some(c.corrects_kind.as_str()),
            _ => None,
        })
        .collect();
    // The warnings, breach and the 90-minute latency are taken back.
    assert!(
        corrected.contains(&"latency") && corrected.contains(&"breach"),
        "{corrected:?}"
    );
}

#[test]
fn a_reply_after_closing_is_late_though_business_time_stood_still() {
    let text = crate::policy::DEFAULT_POLICY_TOML.replace(
        "[targets.chat]\nfirst_reply = \"1h\"\nnext_reply = \"1h\"",
        "[targets.chat]\nfirst_reply = \"1h\"\nnext_reply = \"1h\"\nbasis = \"business\"",
    );
    let policy = Arc::new(Policy::from_toml("biz", &text).unwrap());
    // 17:00 in Rome (16:00Z); the hour of business time ends at closing, 18:00.
    let run = |reply_min: i64| {
        let mut e = Engine::new(Arc::clone(&policy), 0);
        let mut facts = Vec::new();
        for ev in [
            evc("m1", "c1", 7 * 60, customer()),
            evc("r1", "c1", reply_min, human()),
        ] {
            facts.extend(e.apply(&ev));
        }
        latencies(&facts)
    };
    // At 17:59 Rome: in time. At 18:30 Rome, after closing: an hour of business time counted,
    // as at 18:00, but the deadline has passed.
    assert_eq!(run(7 * 60 + 59), [(ReplyKind::First, 59 * MIN, true)]);
    assert_eq!(run(8 * 60 + 30), [(ReplyKind::First, 90 * MIN, false)]);
}

fn merged(from: &str, waiting: Option<(i64, &str)>) -> Payload {
    Payload::Merged {
        from: Id::parse(from).unwrap(),
        waiting: waiting.map(|(m, id)| (EventTime(T0 + m * MIN), Id::parse(id).unwrap())),
    }
}

#[test]
fn a_merge_carries_the_merged_conversations_wait_over() {
    // c2's customer wrote at 09:00; c2 is merged into c1 at 09:50. What fell due before the
    // merge (50% at 09:30, 80% at 09:48) was c2's to announce; the breach at 10:00 is c1's.
    let mut e = engine();
    let mut facts = arrive(
        &mut e,
        &[
            evc("g1", "c1", 50, merged("c2", Some((0, "c2-m1")))),
            evc("r1", "c1", 70, human()),
        ],
    );
    facts.extend(e.advance(EventTime(T0 + 200 * MIN)));
    assert_eq!(
        summary(&facts),
        [
            ("breach", 60, String::new()),
            ("latency", 70, "met=false".into())
        ]
    );
    let SlaFact::Latency(l) = &facts[1] else {
        unreachable!()
    };
    assert_eq!(
        (l.customer_event_id.as_str(), l.customer_at),
        ("c2-m1", EventTime(T0))
    );
    assert_eq!(
        l.clock_id,
        pronto_domain::fact_id("clk", &["acme/c1", "c2-m1"])
    );

    // c1's own customer wrote later (09:20): the older wait counts.
    let mut e = engine();
    let facts = arrive(
        &mut e,
        &[
            evc("m1", "c1", 20, customer()),
            evc("g1", "c1", 25, merged("c2", Some((0, "c2-m1")))),
            evc("r1", "c1", 40, human()),
        ],
    );
    assert_eq!(latencies(&facts), [(ReplyKind::First, 40 * MIN, true)]);
    // c1's customer wrote first: c1's wait stays.
    let mut e = engine();
    let facts = arrive(
        &mut e,
        &[
            evc("m1", "c1", 0, customer()),
            evc("g1", "c1", 25, merged("c2", Some((10, "c2-m1")))),
            evc("r1", "c1", 40, human()),
        ],
    );
    assert_eq!(latencies(&facts), [(ReplyKind::First, 40 * MIN, true)]);
    let own: Vec<&str> = facts
        .iter()
        .filter_map(|f| match f {
            SlaFact::Latency(l) => Some(l.customer_event_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(own, ["m1"]);
    // Nobody waiting in c2: nothing changes in c1.
    let mut e = engine();
    let facts = arrive(
        &mut e,
        &[
            evc("g1", "c1", 25, merged("c2", None)),
            evc("r1", "c1", 40, human()),
        ],
    );
    assert!(facts.is_empty());
}

#[test]
fn as_of_an_instant_the_clocks_show_what_they_had_counted_and_announced() {
    let versions = PolicyVersions::single(Arc::new(Policy::builtin()));
    let events = [
        evc("m1", "c1", 0, customer()),
        evc(
            "p1",
            "c1",
            20,
            Payload::StatusChanged(ConversationStatus::PendingCustomer),
        ),
        evc(
            "o1",
            "c1",
            40,
            Payload::StatusChanged(ConversationStatus::Open),
        ),
        evc("r1", "c1", 75, human()),
    ];
    let at =
        |min: i64| crate::explain(&versions, "acme/c1", &events, EventTime(T0 + min * MIN)).as_of();
    let paused = at(30);
    assert!(
        paused.starts_with(
            "conversation acme/c1 at 2026-03-02T09:30:00.000Z\npolicy in force: default@"
        ),
        "{paused}"
    );
    assert!(
        paused
            .contains("first reply clock: open since 2026-03-02T09:00:00.000Z (m1) under default@"),
        "{paused}"
    );
    assert!(
        paused.contains("paused; counted 20m calendar, 20m business; target 1h in calendar time"),
        "{paused}"
    );
    assert!(paused.contains("announced: nothing yet"), "{paused}");
    assert!(paused.contains("verdicts until then: 0"), "{paused}");
    let running = at(55);
    assert!(
        running.contains("running; counted 35m calendar"),
        "{running}"
    );
    assert!(running.contains("announced: the 50% warning; due: 80% warning at 2026-03-02T10:08:00.000Z, breach at 2026-03-02T10:20:00.000Z"), "{running}");
    assert!(running.contains("verdicts until then: 1\n  2026-03-02T09:50:00.000Z  50% warning of the first reply target (wrn-"), "{running}");
    let done = at(80);
    assert!(done.contains("no clock open"), "{done}");
    assert!(
        done.contains("first reply clock measured: 55m calendar, 55m business, met"),
        "{done}"
    );
}
