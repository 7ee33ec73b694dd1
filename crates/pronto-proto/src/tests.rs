//! Round trips of every topic's records through their protobuf bytes.

use crate::v1 as pb;
use crate::*;
use pronto_domain::{
    Channel, ConversationContext, EscalationFact, EscalationRaised, EscalationWithdrawn, Event,
    EventTime, Limits, Name, Payload, Polarity, Priority, RawEvent, ReplyKind, ReplyLatency,
    SentimentTag, SlaBreach, SlaCorrection, SlaFact, SlaWarning,
};
use pronto_domain::{EscalationHandled, EscalationRecord, EscalationState, Record, VersionRecord};
use prost::Message;

use pronto_domain::Id;

fn sample() -> Event {
    let raw: RawEvent = serde_json::from_str(
        r#"{"event_id":"e1","tenant":"acme","conversation_id":"c1",
        "occurred_at":"2026-03-02T08:59:00.250Z","source":"test","channel":"whatsapp",
        "reply_sent":{"text":"Hi, Marco here","agent_id":"a7","agent_display_name":"Marco"}}"#,
    )
    .unwrap();
    raw.validate(EventTime(1_772_442_000_000), &Limits::default())
        .unwrap()
}

#[test]
fn events_round_trip_through_protobuf_bytes() {
    let e = sample();
    let bytes = pb::Event::from(&e).encode_to_vec();
    assert_eq!(events::decode(&bytes).unwrap(), e);
}

#[test]
fn merges_round_trip_with_and_without_a_wait() {
    for waiting in [
        None,
        Some((EventTime(1_772_441_000_250), Id::parse("m7").unwrap())),
    ] {
        let mut e = sample();
        e.payload = Payload::Merged {
            from: Id::parse("c2").unwrap(),
            waiting,
        };
        let bytes = pb::Event::from(&e).encode_to_vec();
        assert_eq!(events::decode(&bytes).unwrap(), e);
    }
}

#[test]
fn unknown_enum_numbers_are_named_in_the_error() {
    let mut pbe = pb::Event::from(&sample());
    pbe.envelope.as_mut().unwrap().channel = 42;
    let errs = Event::try_from(pbe).unwrap_err();
    assert_eq!(errs.0[0].path, "channel");
    assert!(errs.0[0].reason.contains("'42'"));
}

#[test]
fn garbage_bytes_are_a_decode_error_not_a_panic() {
    assert!(events::decode(&[0xff, 0xff, 0xff]).is_err());
    assert!(events::decode(b"").is_err());
}

#[test]
fn sla_facts_round_trip() {
    let f = SlaFact::Breach(SlaBreach {
        fact_id: "brk-1".into(),
        clock_id: "clk-1".into(),
        context: ConversationContext {
            tenant: "acme".into(),
            conversation_id: "c1".into(),
            channel: Channel::Email,
            queue: "billing".into(),
            priority: Priority::High,
            customer_tier: String::new().into(),
        },
        kind: ReplyKind::First,
        customer_event_id: "e1".into(),
        customer_at: EventTime(1000),
        deadline: EventTime(2000),
        target_ms: 1000,
        policy_version: "default@abc".into(),
    });
    let bytes = pb::SlaFact::from(&f).encode_to_vec();
    let back = sla::decode(&bytes).unwrap();
    assert_eq!(back, f);
    let _ = Id::parse("x").unwrap();
}

/// Facts that differ in every way one message filled after another could show: another
/// variant, a field set then empty, lists longer then shorter.
fn varied_facts() -> (Vec<SlaFact>, Vec<SentimentTag>, Vec<EscalationFact>) {
    let context = ConversationContext {
        tenant: "acme".into(),
        conversation_id: "a-conversation-id-longer-than-inline".into(),
        channel: Channel::Email,
        queue: "billing".into(),
        priority: Priority::High,
        customer_tier: "gold".into(),
    };
    let bare = ConversationContext {
        queue: Name::default(),
        customer_tier: Name::default(),
        ..context.clone()
    };
    let latency = ReplyLatency {
        fact_id: "lat-1".into(),
        clock_id: "clk-1".into(),
        context: context.clone(),
        kind: ReplyKind::First,
        customer_event_id: "e1".into(),
        customer_at: EventTime(1000),
        reply_event_id: "e2".into(),
        replied_at: EventTime(5000),
        agent_id: "agent-7".into(),
        calendar_ms: 4000,
        business_ms: 3000,
        target_ms: 60_000,
        met: true,
        policy_version: "default@abc".into(),
    };
    let sla = vec![
        SlaFact::Latency(latency.clone()),
        SlaFact::Latency(ReplyLatency {
            context: bare.clone(),
            agent_id: Name::default(),
            calendar_ms: 0,
            business_ms: 0,
            met: false,
            ..latency.clone()
        }),
        SlaFact::Warning(SlaWarning {
            fact_id: "wrn-1".into(),
            clock_id: "clk-1".into(),
            context: context.clone(),
            kind: ReplyKind::Next,
            customer_event_id: "e1".into(),
            customer_at: EventTime(1000),
            due_at: EventTime(46_000),
            fraction: 0.75,
            target_ms: 60_000,
            policy_version: "default@abc".into(),
        }),
        SlaFact::Correction(SlaCorrection {
            fact_id: "cor-1".into(),
            corrects_fact_id: "lat-1".into(),
            corrects_kind: "latency".into(),
            clock_id: "clk-1".into(),
            context: bare.clone(),
            kind: ReplyKind::Resolution,
            customer_at: EventTime(1000),
            reason: "a late reply came first".into(),
            occurred_at: EventTime(7000),
            policy_version: Name::default(),
        }),
        SlaFact::Latency(latency),
    ];
    let tag = SentimentTag {
        fact_id: "tag-1".into(),
        event_id: "e1".into(),
        tenant: "acme".into(),
        conversation_id: "c1".into(),
        channel: Channel::Chat,
        occurred_at: EventTime(1000),
        polarity: Polarity::Negative,
        score: -0.5,
        language: "en".into(),
        tones: vec!["angry".into(), "complaint".into()],
        model_name: "lexicon".into(),
        model_version: "2".into(),
        reply: false,
        signed: true,
        rescored: true,
    };
    let tags = vec![
        tag.clone(),
        SentimentTag {
            tones: Vec::new(),
            score: 0.0,
            polarity: Polarity::Neutral,
            signed: false,
            rescored: false,
            language: Name::default(),
            ..tag.clone()
        },
        SentimentTag {
            tones: vec!["question".into()],
            ..tag
        },
    ];
    let raised = EscalationRaised {
        escalation_id: "esc-1".into(),
        context: context.clone(),
        level: "team_lead".into(),
        step: 1,
        ladder_id: "esc-0".into(),
        recipients: vec!["lead@acme".into(), "boss@acme".into()],
        rule: "breach".into(),
        reason: "no first reply within 1 h".into(),
        trigger_ids: vec!["brk-1".into(), "e1".into()],
        raised_at: EventTime(9000),
        policy_version: "rules@1".into(),
    };
    let escalations = vec![
        EscalationFact::Raised(raised.clone()),
        EscalationFact::Withdrawn(EscalationWithdrawn {
            escalation_id: "esc-1".into(),
            ladder_id: "esc-0".into(),
            context: bare,
            correction_id: "cor-1".into(),
            reason: "the breach it answered was corrected".into(),
            at: EventTime(9500),
        }),
        EscalationFact::Raised(EscalationRaised {
            level: "my_level".into(),
            step: 0,
            recipients: Vec::new(),
            trigger_ids: vec!["tag-1".into()],
            ..raised.clone()
        }),
        EscalationFact::Raised(raised),
    ];
    (sla, tags, escalations)
}

#[test]
fn a_message_filled_again_encodes_as_a_fresh_one() {
    let (sla, tags, escalations) = varied_facts();
    let mut m = pb::SlaFact::default();
    for f in &sla {
        m.refill(f);
        assert_eq!(
            m.encode_to_vec(),
            pb::SlaFact::from(f).encode_to_vec(),
            "{f:?}"
        );
        assert_eq!(SlaFact::try_from(m.clone()).unwrap(), *f);
    }
    let mut m = pb::SentimentTag::default();
    for t in &tags {
        m.refill(t);
        assert_eq!(
            m.encode_to_vec(),
            pb::SentimentTag::from(t).encode_to_vec(),
            "{t:?}"
        );
        assert_eq!(SentimentTag::try_from(m.clone()).unwrap(), *t);
    }
    let mut m = pb::EscalationEvent::default();
    for e in &escalations {
        m.refill(e);
        assert_eq!(
            m.encode_to_vec(),
            pb::EscalationEvent::from(e).encode_to_vec()
        );
        assert_eq!(EscalationFact::try_from(m.clone()).unwrap(), *e);
    }
}

/// One record of each kind every topic carries, with the topic that carries it.
fn one_record_of_each_kind() -> Vec<(Topic, Record)> {
    let (sla, tags, escalations) = varied_facts();
    let handled = |state| {
        Record::Escalation(EscalationRecord::Handled(EscalationHandled {
            escalation_id: "esc-1".into(),
            state,
            by: "Giulia".into(),
            at: EventTime(7_000),
        }))
    };
    let version = VersionRecord {
        version: "default@abc".into(),
        effective_from: Some(EventTime(9_000)),
        source: "name = \"default\"".into(),
        file: "policy.toml".into(),
        publisher: "sla-0".into(),
        published_at: Some(EventTime(8_000)),
    };
    let mut records = vec![(Topic::Events, Record::Event(sample()))];
    records.extend(sla.into_iter().map(|f| (Topic::Sla, Record::Sla(f))));
    records.extend(tags.into_iter().map(|t| (Topic::Sentiment, Record::Tag(t))));
    records.extend(escalations.into_iter().map(|f| {
        (
            Topic::Escalations,
            Record::Escalation(EscalationRecord::Fact(f)),
        )
    }));
    records.push((Topic::Escalations, handled(EscalationState::Acknowledged)));
    records.push((Topic::Escalations, handled(EscalationState::Resolved)));
    for effective_from in [None, Some(EventTime(9_000))] {
        records.push((
            Topic::Escalations,
            Record::Escalation(EscalationRecord::RulesInForce(VersionRecord {
                effective_from,
                published_at: None,
                ..version.clone()
            })),
        ));
    }
    records.push((Topic::Policies, Record::Policy(version)));
    records
}

#[test]
fn every_record_round_trips_through_its_topic() {
    let records = one_record_of_each_kind();
    for topic in Topic::ALL {
        assert!(records.iter().any(|(t, _)| *t == topic), "{topic:?}");
    }
    for (topic, record) in records {
        assert_eq!(topic_of(&record), topic);
        let bytes = encode(&record);
        assert_eq!(decode(topic, &bytes).unwrap(), record, "{topic:?}");
    }
}

#[test]
fn a_record_missing_what_it_must_carry_is_an_error_naming_it() {
    let ack = v1::EscalationEvent {
        event: Some(v1::escalation_event::Event::Acknowledged(
            v1::EscalationAcknowledged {
                escalation_id: "esc-1".into(),
                by: "Giulia".into(),
                at: None,
            },
        )),
    };
    let err = decode(Topic::Escalations, &ack.encode_to_vec()).unwrap_err();
    assert!(err.to_string().contains("at is missing"), "{err}");
    let empty = v1::EscalationEvent { event: None }.encode_to_vec();
    assert!(decode(Topic::Escalations, &empty).is_err());
    let undated = v1::PolicyPublished {
        version: "default@abc".into(),
        ..Default::default()
    };
    let err = decode(Topic::Policies, &undated.encode_to_vec()).unwrap_err();
    assert!(err.to_string().contains("effective_from"), "{err}");
    for topic in Topic::ALL {
        let err = decode(topic, b"\xff\xff\xff").unwrap_err();
        assert!(err.to_string().contains(topic.message()), "{err}");
    }
}
