//! Escalation rules: turn SLA breaches and unhappy customer messages into escalations.
//!
//! Pure and deterministic: an escalation's id is derived from the fact that triggered it, so
//! re-processing the same facts after a restart raises nothing new.

use pronto_domain::{
    ConversationContext, EscalationLevel, EscalationRaised, Event, Payload, Polarity, SentimentTag,
    SlaFact, fact_id,
};
use std::collections::HashMap;

/// The rule set in force. Its `version` is recorded on every escalation.
#[derive(Debug, Clone)]
pub struct Rules {
    pub version: String,
    /// A negative message at or below this score escalates.
    pub negative_threshold: f64,
    /// An angry message escalates whatever its score.
    pub escalate_angry: bool,
    pub breach_level: EscalationLevel,
    pub negative_level: EscalationLevel,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            version: "rules-v1".into(),
            negative_threshold: -0.5,
            escalate_angry: true,
            breach_level: EscalationLevel::TeamLead,
            negative_level: EscalationLevel::Agent,
        }
    }
}

/// Applies [`Rules`] to a stream of facts.
#[derive(Debug, Default)]
pub struct Escalator {
    rules: Rules,
    /// The last context seen per conversation (queue, priority), to enrich sentiment triggers.
    contexts: HashMap<(String, String), ConversationContext>,
}

impl Escalator {
    pub fn new(rules: Rules) -> Self {
        Self {
            rules,
            contexts: HashMap::new(),
        }
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// An interaction event: keeps the conversation's queue and priority current, so that an
    /// escalation names who owns the conversation.
    pub fn on_event(&mut self, e: &Event) {
        let env = &e.envelope;
        let key = (env.tenant.to_string(), env.conversation_id.to_string());
        let ctx = self.contexts.entry(key).or_insert_with(|| {
            ConversationContext::new(
                env.tenant.as_str(),
                env.conversation_id.as_str(),
                env.channel,
            )
        });
        match &e.payload {
            Payload::AssignmentChanged { queue: Some(q), .. } => ctx.queue = q.to_string(),
            Payload::PriorityChanged(p) => ctx.priority = *p,
            Payload::CustomerMessage {
                customer_tier: Some(t),
                ..
            } => ctx.customer_tier = t.to_string(),
            _ => {}
        }
    }

    /// An SLA fact: a breach escalates.
    pub fn on_sla(&mut self, fact: &SlaFact) -> Option<EscalationRaised> {
        let ctx = fact.context();
        self.contexts.insert(
            (ctx.tenant.clone(), ctx.conversation_id.clone()),
            ctx.clone(),
        );
        let SlaFact::Breach(b) = fact else {
            return None;
        };
        Some(EscalationRaised {
            escalation_id: fact_id("esc", &[&b.fact_id]),
            context: b.context.clone(),
            level: self.rules.breach_level,
            rule: "sla-breach".into(),
            reason: format!(
                "no {} reply within {} (deadline {}, policy {})",
                b.kind,
                human_duration(b.target_ms),
                b.deadline,
                b.policy_version
            ),
            trigger_ids: vec![b.fact_id.clone(), b.customer_event_id.clone()],
            raised_at: b.deadline,
            policy_version: self.rules.version.clone(),
        })
    }

    /// A sentiment tag: a very negative or angry customer message escalates.
    pub fn on_tag(&mut self, tag: &SentimentTag) -> Option<EscalationRaised> {
        // An agent's tone is for quality review, and a re-scored old message is history:
        // neither escalates.
        if tag.reply || tag.rescored {
            return None;
        }
        let angry = self.rules.escalate_angry && tag.tones.iter().any(|t| t == "angry");
        let negative =
            tag.polarity == Polarity::Negative && tag.score <= self.rules.negative_threshold;
        if !(angry || negative) {
            return None;
        }
        let context = self
            .contexts
            .get(&(tag.tenant.clone(), tag.conversation_id.clone()))
            .cloned()
            .unwrap_or_else(|| {
                ConversationContext::new(&tag.tenant, &tag.conversation_id, tag.channel)
            });
        let rule = if angry {
            "angry-message"
        } else {
            "negative-message"
        };
        Some(EscalationRaised {
            escalation_id: fact_id("esc", &[&tag.fact_id]),
            context,
            level: self.rules.negative_level,
            rule: rule.into(),
            reason: format!(
                "customer message {} scored {:.2} ({}{})",
                tag.event_id,
                tag.score,
                tag.polarity,
                if angry { ", angry" } else { "" }
            ),
            trigger_ids: vec![tag.fact_id.clone(), tag.event_id.clone()],
            raised_at: tag.occurred_at,
            policy_version: self.rules.version.clone(),
        })
    }
}

fn human_duration(ms: i64) -> String {
    match ms {
        ms if ms % 3_600_000 == 0 => format!("{} h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{} min", ms / 60_000),
        ms => format!("{} s", ms / 1000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pronto_domain::{Channel, EventTime, Priority, ReplyKind, SlaBreach};

    fn ctx() -> ConversationContext {
        ConversationContext {
            tenant: "acme".into(),
            conversation_id: "c1".into(),
            channel: Channel::Phone,
            queue: "billing".into(),
            priority: Priority::High,
            customer_tier: String::new(),
        }
    }

    fn tag(score: f64, polarity: Polarity, tones: &[&str]) -> SentimentTag {
        SentimentTag {
            fact_id: format!("snt-{score}"),
            event_id: "m1".into(),
            tenant: "acme".into(),
            conversation_id: "c1".into(),
            channel: Channel::Phone,
            occurred_at: EventTime(1000),
            polarity,
            score,
            language: "en".into(),
            tones: tones.iter().map(|t| t.to_string()).collect(),
            model_name: "lexicon".into(),
            model_version: "1".into(),
            reply: false,
            signed: false,
            rescored: false,
        }
    }

    #[test]
    fn a_breach_escalates_to_the_team_lead_with_its_why() {
        let mut e = Escalator::default();
        let breach = SlaFact::Breach(SlaBreach {
            fact_id: "brk-1".into(),
            clock_id: "clk-1".into(),
            context: ctx(),
            kind: ReplyKind::First,
            customer_event_id: "m1".into(),
            customer_at: EventTime(0),
            deadline: EventTime(300_000),
            target_ms: 300_000,
            policy_version: "default@x".into(),
        });
        let esc = e.on_sla(&breach).unwrap();
        assert_eq!(esc.level, EscalationLevel::TeamLead);
        assert_eq!(esc.raised_at, EventTime(300_000));
        assert!(esc.reason.contains("5 min"), "{}", esc.reason);
        assert_eq!(esc.trigger_ids, ["brk-1", "m1"]);
        assert_eq!(esc.escalation_id, e.on_sla(&breach).unwrap().escalation_id);
    }

    #[test]
    fn only_very_negative_or_angry_messages_escalate() {
        let mut e = Escalator::default();
        assert!(e.on_tag(&tag(-0.2, Polarity::Negative, &[])).is_none());
        assert!(e.on_tag(&tag(0.4, Polarity::Positive, &[])).is_none());
        assert_eq!(
            e.on_tag(&tag(-0.7, Polarity::Negative, &[])).unwrap().rule,
            "negative-message"
        );
        assert_eq!(
            e.on_tag(&tag(-0.3, Polarity::Negative, &["angry"]))
                .unwrap()
                .rule,
            "angry-message"
        );
        let mut agent = tag(-0.9, Polarity::Negative, &["angry"]);
        agent.reply = true;
        assert!(
            e.on_tag(&agent).is_none(),
            "an agent's reply never escalates"
        );
        let mut history = tag(-0.9, Polarity::Negative, &["angry"]);
        history.rescored = true;
        assert!(
            e.on_tag(&history).is_none(),
            "a re-scored tag never escalates"
        );
    }

    #[test]
    fn sentiment_escalations_carry_the_known_queue() {
        let mut e = Escalator::default();
        let warn = SlaFact::Breach(SlaBreach {
            fact_id: "b".into(),
            clock_id: "k".into(),
            context: ctx(),
            kind: ReplyKind::First,
            customer_event_id: "m0".into(),
            customer_at: EventTime(0),
            deadline: EventTime(1),
            target_ms: 1,
            policy_version: "p".into(),
        });
        e.on_sla(&warn);
        assert_eq!(
            e.on_tag(&tag(-0.9, Polarity::Negative, &[]))
                .unwrap()
                .context
                .queue,
            "billing"
        );
    }
}
