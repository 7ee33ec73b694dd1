use super::*;
use pronto_domain::{
    Channel, Envelope, Id, Priority, ReplyKind, ReplyLatency, SlaBreach, SlaCorrection,
};
use proptest::prelude::*;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

fn ctx(conv: &str) -> ConversationContext {
    ConversationContext {
        tenant: "acme".into(),
        conversation_id: conv.into(),
        channel: Channel::Phone,
        queue: "billing".into(),
        priority: Priority::High,
        customer_tier: Default::default(),
    }
}

fn rules(text: &str) -> RuleSet {
    RuleSet::from_toml("test.toml", text).unwrap()
}

/// A breach ladder: team lead at once, manager 1 h later, director 3 h later (calendar time).
const LADDER: &str = r#"
name = "test"
[[rules]]
name = "breach"
on = "sla_breach"
levels = [
  { level = "team_lead", after = "0m", notify = ["lead@acme"] },
  { level = "manager", after = "1h", notify = ["boss@acme"] },
  { level = "director", after = "3h" },
]
"#;

fn breach(conv: &str, deadline: i64) -> SlaFact {
    SlaFact::Breach(SlaBreach {
        fact_id: format!("brk-{conv}-{deadline}"),
        clock_id: format!("clk-{conv}"),
        context: ctx(conv),
        kind: ReplyKind::First,
        customer_event_id: format!("m-{conv}").into(),
        customer_at: EventTime(deadline - 5 * MIN),
        deadline: EventTime(deadline),
        target_ms: 5 * MIN,
        policy_version: "default@x".into(),
    })
}

fn reply(conv: &str, at: i64) -> SlaFact {
    SlaFact::Latency(ReplyLatency {
        fact_id: format!("lat-{conv}-{at}"),
        clock_id: format!("clk-{conv}"),
        context: ctx(conv),
        kind: ReplyKind::First,
        customer_event_id: format!("m-{conv}").into(),
        customer_at: EventTime(0),
        reply_event_id: "r".into(),
        replied_at: EventTime(at),
        agent_id: "a".into(),
        calendar_ms: at,
        business_ms: at,
        target_ms: 5 * MIN,
        met: false,
        policy_version: "default@x".into(),
    })
}

fn raised(facts: &[EscalationFact]) -> Vec<(String, u32, i64)> {
    facts
        .iter()
        .filter_map(|f| match f {
            EscalationFact::Raised(r) => Some((r.level.clone(), r.step, r.raised_at.millis())),
            _ => None,
        })
        .collect()
}

fn event(conv: &str, id: &str, at: i64, payload: Payload) -> Event {
    Event {
        envelope: Envelope {
            event_id: Id::parse(id).unwrap(),
            tenant: Id::parse("acme").unwrap(),
            conversation_id: Id::parse(conv).unwrap(),
            occurred_at: EventTime(at),
            source: Id::parse("test").unwrap(),
            schema_version: 1,
            channel: Channel::Phone,
        },
        payload,
    }
}

fn customer_message(conv: &str, id: &str, at: i64, customer: &str) -> Event {
    event(
        conv,
        id,
        at,
        Payload::CustomerMessage {
            text: pronto_domain::BoundedText::new("hello"),
            customer_id: Id::parse(customer).unwrap(),
            customer_tier: None,
        },
    )
}

fn tag(conv: &str, n: u32, score: f64, tones: &[&str]) -> SentimentTag {
    SentimentTag {
        fact_id: format!("snt-{conv}-{n}"),
        event_id: format!("m{n}").into(),
        tenant: "acme".into(),
        conversation_id: conv.into(),
        channel: Channel::Phone,
        occurred_at: EventTime(i64::from(n) * MIN),
        polarity: if score < -0.05 {
            Polarity::Negative
        } else if score > 0.05 {
            Polarity::Positive
        } else {
            Polarity::Neutral
        },
        score,
        language: "en".into(),
        tones: tones.iter().map(|t| (*t).into()).collect(),
        model_name: "lexicon".into(),
        model_version: "1".into(),
        reply: false,
        signed: false,
        rescored: false,
    }
}

#[test]
fn a_breach_climbs_the_ladder_level_by_level_with_its_why() {
    let mut e = Escalator::new(rules(LADDER));
    let first = e.on_sla(&breach("c1", 10 * MIN));
    assert_eq!(raised(&first), [("team_lead".to_string(), 0, 10 * MIN)]);
    let EscalationFact::Raised(r) = &first[0] else {
        panic!()
    };
    assert_eq!(r.trigger_ids, ["brk-c1-600000", "m-c1"]);
    assert_eq!(r.recipients, ["lead@acme"]);
    assert_eq!(r.rule, "breach");
    assert!(r.policy_version.starts_with("test@"));
    assert!(
        r.reason.contains("5 min") && r.reason.contains("default@x"),
        "{}",
        r.reason
    );
    assert_eq!(r.ladder_id, r.escalation_id);

    assert!(e.advance(EventTime(10 * MIN + HOUR - 1)).is_empty());
    let second = e.advance(EventTime(10 * MIN + HOUR));
    assert_eq!(
        raised(&second),
        [("manager".to_string(), 1, 10 * MIN + HOUR)]
    );
    let EscalationFact::Raised(m) = &second[0] else {
        panic!()
    };
    assert_eq!(m.ladder_id, r.escalation_id);
    assert_ne!(m.escalation_id, r.escalation_id);
    assert!(m.reason.contains("not acknowledged 1 h"), "{}", m.reason);
    assert_eq!(
        raised(&e.advance(EventTime(100 * HOUR))),
        [("director".to_string(), 2, 10 * MIN + 3 * HOUR)]
    );
    assert_eq!(e.pending(), 0);
    // The same breach delivered again raises nothing.
    assert!(e.on_sla(&breach("c1", 10 * MIN)).is_empty());
}

#[test]
fn an_acknowledged_ladder_stops_climbing() {
    let mut e = Escalator::new(rules(LADDER));
    let first = e.on_sla(&breach("c1", 0));
    let id = first[0].escalation_id().to_string();
    e.advance(EventTime(30 * MIN));
    e.stop(&id, EventTime(40 * MIN));
    assert!(e.advance(EventTime(10 * HOUR)).is_empty());

    // Acknowledged after the manager was due: the manager was told, the director is not.
    let mut e = Escalator::new(rules(LADDER));
    let id = e.on_sla(&breach("c1", 0))[0].escalation_id().to_string();
    e.stop(&id, EventTime(2 * HOUR));
    assert_eq!(
        raised(&e.advance(EventTime(10 * HOUR))),
        [("manager".to_string(), 1, HOUR)]
    );
}

#[test]
fn only_an_escalation_id_stops_a_ladder() {
    let id = esc_id(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
    assert_eq!(id, "esc-0123456789abcdef0123456789abcdef");
    assert_eq!(
        esc_bits(&id),
        Some(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef)
    );
    // The same digits under another kind, after another dash, or cut short name no step.
    for other in [
        "lat-0123456789abcdef0123456789abcdef",
        "esc-x-0123456789abcdef0123456789abcdef",
        "esc-0123456789abcdef0123456789abcde",
        "esc-0123456789ABCDEF0123456789ABCDEF",
    ] {
        assert_eq!(esc_bits(other), None, "{other}");
    }
    let mut e = Escalator::new(rules(LADDER));
    let id = e.on_sla(&breach("c1", 0))[0].escalation_id().to_string();
    let bits = esc_bits(&id).expect("an escalation id");
    e.stop(&fact_id_of("brc", bits), EventTime(20 * MIN));
    assert_eq!(e.advance(EventTime(10 * HOUR)).len(), 2);
}

#[test]
fn an_acknowledgement_read_before_its_ladder_starts_still_stops_it() {
    // After a restart the escalations topic is read first: acks come before the facts.
    let mut live = Escalator::new(rules(LADDER));
    let id = live.on_sla(&breach("c1", 0))[0].escalation_id().to_string();
    let mut restarted = Escalator::new(rules(LADDER));
    restarted.stop(&id, EventTime(20 * MIN));
    assert_eq!(raised(&restarted.on_sla(&breach("c1", 0))).len(), 1);
    assert!(restarted.advance(EventTime(10 * HOUR)).is_empty());
}

#[test]
fn the_awaited_reply_or_a_solve_stops_the_ladder() {
    let mut e = Escalator::new(rules(LADDER));
    e.on_sla(&breach("c1", 0));
    e.on_sla(&reply("c1", 90 * MIN));
    assert_eq!(
        raised(&e.advance(EventTime(10 * HOUR))),
        [("manager".to_string(), 1, HOUR)]
    );

    let mut e = Escalator::new(rules(LADDER));
    e.on_sla(&breach("c2", 0));
    e.on_event(&event(
        "c2",
        "s1",
        30 * MIN,
        Payload::StatusChanged(ConversationStatus::Solved),
    ));
    assert!(e.advance(EventTime(10 * HOUR)).is_empty());

    // A solve before the trigger (the conversation was reopened since) does not stop it.
    let mut e = Escalator::new(rules(LADDER));
    e.on_event(&event(
        "c3",
        "s1",
        -HOUR,
        Payload::StatusChanged(ConversationStatus::Solved),
    ));
    e.on_sla(&breach("c3", 0));
    assert_eq!(raised(&e.advance(EventTime(10 * HOUR))).len(), 2);
}

#[test]
fn a_corrected_breach_withdraws_its_escalations_and_climbs_no_further() {
    let mut e = Escalator::new(rules(LADDER));
    let first = e.on_sla(&breach("c1", 0));
    e.advance(EventTime(HOUR));
    let correction = SlaFact::Correction(SlaCorrection {
        fact_id: "cor-1".into(),
        corrects_fact_id: "brk-c1-0".into(),
        corrects_kind: "breach".into(),
        clock_id: "clk-c1".into(),
        context: ctx("c1"),
        kind: ReplyKind::First,
        customer_at: EventTime(-5 * MIN),
        reason: "a reply at -1 min arrived late".into(),
        occurred_at: EventTime(-MIN),
        policy_version: "default@x".into(),
    });
    let out = e.on_sla(&correction);
    let withdrawn: Vec<&str> = out.iter().map(|f| f.escalation_id()).collect();
    assert_eq!(withdrawn.len(), 2, "both raised steps are withdrawn");
    assert!(withdrawn.contains(&first[0].escalation_id()));
    assert!(
        out.iter()
            .all(|f| matches!(f, EscalationFact::Withdrawn(w) if w.correction_id == "cor-1"))
    );
    assert!(e.advance(EventTime(100 * HOUR)).is_empty());
    assert!(e.on_sla(&correction).is_empty(), "withdrawn once");
}

#[test]
fn business_hours_delays_skip_the_night_and_the_weekend() {
    let text = r#"
name = "office"
[calendar]
time_zone = "Europe/Rome"
[calendar.hours]
mon = ["09:00-18:00"]
fri = ["09:00-18:00"]
[[rules]]
name = "breach"
on = "sla_breach"
levels = [
  { level = "team_lead", after = "0m" },
  { level = "manager", after = "2h", business_hours = true },
]
"#;
    let mut e = Escalator::new(rules(text));
    // Friday 2026-11-27 17:30 in Rome (16:30 UTC).
    let friday = EventTime::parse_rfc3339("2026-11-27T16:30:00Z").unwrap();
    e.on_sla(&breach("c1", friday.millis()));
    let monday = EventTime::parse_rfc3339("2026-11-30T09:30:00Z").unwrap(); // 10:30 in Rome
    assert!(e.advance(EventTime(monday.millis() - 1)).is_empty());
    assert_eq!(
        raised(&e.advance(monday)),
        [("manager".to_string(), 1, monday.millis())]
    );
}

#[test]
fn unhappy_customers_escalate_but_agents_and_history_do_not() {
    let mut e = Escalator::default();
    assert!(e.on_tag(&tag("c1", 1, -0.2, &[])).is_empty());
    assert!(e.on_tag(&tag("c1", 2, 0.6, &[])).is_empty());
    let very_negative = e.on_tag(&tag("c1", 3, -0.7, &[]));
    assert_eq!(raised(&very_negative), [("agent".to_string(), 0, 3 * MIN)]);
    let angry = e.on_tag(&tag("c2", 1, -0.1, &["angry"]));
    assert_eq!(raised(&angry).len(), 1);
    let mut agent = tag("c3", 1, -0.9, &["angry"]);
    agent.reply = true;
    assert!(
        e.on_tag(&agent).is_empty(),
        "an agent's reply never escalates"
    );
    let mut history = tag("c3", 2, -0.9, &["angry"]);
    history.rescored = true;
    assert!(
        e.on_tag(&history).is_empty(),
        "a re-scored tag never escalates"
    );
}

#[test]
fn a_negative_streak_escalates_once_when_it_reaches_its_length() {
    let text = r#"
name = "s"
[[rules]]
name = "streak"
on = "negative_streak"
count = 3
threshold = -0.2
levels = [{ level = "team_lead", after = "0m" }]
"#;
    let mut e = Escalator::new(rules(text));
    let scores = [-0.3, -0.4, 0.5, -0.3, -0.3, -0.25, -0.9, -0.6];
    let fired: Vec<u32> = scores
        .iter()
        .enumerate()
        .filter(|(i, s)| !e.on_tag(&tag("c1", *i as u32, **s, &[])).is_empty())
        .map(|(i, _)| i as u32)
        .collect();
    assert_eq!(
        fired,
        [5],
        "the third in a row after the positive message, once"
    );
}

#[test]
fn a_repeat_contact_is_the_later_conversation_whatever_the_arrival_order() {
    let run = |order: &[usize]| {
        let mut e = Escalator::default();
        let msgs = [
            customer_message("c1", "m1", 0, "u1"),
            customer_message("c2", "m2", 5 * HOUR, "u1"),
            customer_message("c3", "m3", 40 * HOUR, "u1"),
            customer_message("c4", "m4", HOUR, "u2"),
        ];
        let mut out: Vec<(String, String, i64)> = order
            .iter()
            .flat_map(|i| e.on_event(&msgs[*i]))
            .map(|f| match f {
                EscalationFact::Raised(r) => (
                    r.rule,
                    r.context.conversation_id.to_string(),
                    r.raised_at.millis(),
                ),
                other => panic!("{other:?}"),
            })
            .collect();
        out.sort();
        out
    };
    let expected = vec![("repeat-contact".to_string(), "c2".to_string(), 5 * HOUR)];
    assert_eq!(run(&[0, 1, 2, 3]), expected);
    assert_eq!(run(&[3, 2, 1, 0]), expected);
    assert_eq!(run(&[1, 3, 0, 2]), expected);
}

#[test]
fn a_reopened_conversation_escalates() {
    let mut e = Escalator::default();
    let out = e.on_event(&event(
        "c1",
        "ev9",
        7 * MIN,
        Payload::StatusChanged(ConversationStatus::Reopened),
    ));
    assert_eq!(raised(&out), [("agent".to_string(), 0, 7 * MIN)]);
    let EscalationFact::Raised(r) = &out[0] else {
        panic!()
    };
    assert_eq!(r.trigger_ids, ["ev9"]);
}

#[test]
fn filters_choose_the_conversations_a_rule_covers() {
    let text = r#"
name = "tiers"
[[rules]]
name = "gold-breach"
on = "sla_breach"
tiers = ["gold"]
kinds = ["first"]
levels = [{ level = "manager", after = "0m" }]
"#;
    let mut e = Escalator::new(rules(text));
    assert!(e.on_sla(&breach("c1", 0)).is_empty());
    let SlaFact::Breach(mut b) = breach("c2", 0) else {
        unreachable!()
    };
    b.context.customer_tier = "gold".into();
    assert_eq!(raised(&e.on_sla(&SlaFact::Breach(b.clone()))).len(), 1);
    b.kind = ReplyKind::Next;
    b.fact_id = "other".into();
    assert!(e.on_sla(&SlaFact::Breach(b)).is_empty());
}

/// One input of the determinism property: a breach, an acknowledgement of a ladder's first
/// step, or a reply to its clock.
#[derive(Debug, Clone)]
enum Input {
    Breach { conv: u8, at: i64 },
    Ack { conv: u8, at: i64 },
    Reply { conv: u8, at: i64 },
}

impl Input {
    fn at(&self) -> i64 {
        match self {
            Input::Breach { at, .. } | Input::Ack { at, .. } | Input::Reply { at, .. } => *at,
        }
    }
}

fn inputs() -> impl Strategy<Value = Vec<Input>> {
    let one = (0u8..4, 0i64..6 * HOUR, 0u8..3).prop_map(|(conv, at, kind)| match kind {
        0 => Input::Breach { conv, at },
        1 => Input::Ack { conv, at },
        _ => Input::Reply { conv, at },
    });
    prop::collection::vec(one, 1..30)
}

fn run(inputs: &[Input], advance_every: Option<i64>) -> Vec<String> {
    let mut e = Escalator::new(rules(LADDER));
    let mut ids: HashMap<u8, String> = HashMap::default();
    let mut out = Vec::new();
    let mut sorted = inputs.to_vec();
    sorted.sort_by_key(Input::at);
    for input in &sorted {
        if let Some(step) = advance_every {
            // A live clock: it has passed everything up to the input's time minus a step,
            // so each stop arrives before the clock reaches its instant.
            out.extend(e.advance(EventTime(input.at() - step)));
        }
        match input {
            Input::Breach { conv, at } => {
                let raised = e.on_sla(&breach(&format!("c{conv}"), *at));
                if let Some(f) = raised.first() {
                    ids.entry(*conv)
                        .or_insert_with(|| f.escalation_id().to_string());
                }
                out.extend(raised);
            }
            Input::Ack { conv, at } => {
                if let Some(id) = ids.get(conv) {
                    e.stop(id, EventTime(*at));
                }
            }
            Input::Reply { conv, at } => out.extend(e.on_sla(&reply(&format!("c{conv}"), *at))),
        }
    }
    out.extend(e.advance(EventTime(10 * HOUR)));
    let mut ids: Vec<String> = out
        .iter()
        .map(|f| {
            format!(
                "{}:{:?}",
                f.escalation_id(),
                raised(std::slice::from_ref(f))
            )
        })
        .collect();
    ids.sort();
    ids
}

proptest! {
    #[test]
    fn a_live_clock_and_a_replay_raise_the_same_escalations(
        inputs in inputs(),
        step in 1i64..HOUR,
    ) {
        prop_assert_eq!(run(&inputs, Some(step)), run(&inputs, None));
    }

    #[test]
    fn levels_are_raised_in_order_and_never_before_they_are_due(inputs in inputs()) {
        let mut e = Escalator::new(rules(LADDER));
        let mut last: HashMap<String, (u32, i64)> = HashMap::default();
        let mut sorted = inputs.clone();
        sorted.sort_by_key(Input::at);
        for input in &sorted {
            let mut facts = e.advance(EventTime(input.at()));
            if let Input::Breach { conv, at } = input {
                facts.extend(e.on_sla(&breach(&format!("c{conv}"), *at)));
            }
            for f in facts {
                if let EscalationFact::Raised(r) = f {
                    prop_assert!(r.raised_at.millis() <= input.at());
                    let prev = last.insert(r.ladder_id.clone(), (r.step, r.raised_at.millis()));
                    match prev {
                        None => prop_assert_eq!(r.step, 0),
                        Some((s, t)) => {
                            prop_assert_eq!(r.step, s + 1);
                            prop_assert!(r.raised_at.millis() > t);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn triggers_before_the_rules_took_effect_start_nothing() {
    let mut e = Escalator::new(rules(LADDER)).with_effective_from(EventTime(HOUR));
    assert!(e.on_sla(&breach("c1", HOUR - 1)).is_empty());
    assert!(e.advance(EventTime(10 * HOUR)).is_empty());
    assert_eq!(raised(&e.on_sla(&breach("c2", HOUR))).len(), 1);
}
