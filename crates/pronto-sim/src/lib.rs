//! A seeded generator of sample conversations: mixed channels, Italian and English text,
//! some late replies, some angry customers, some never answered. The same seed always gives
//! the same events, in event-time order.

use pronto_domain::{
    AuthorKind, BoundedText, Channel, Envelope, Event, EventTime, Id, Payload, Priority, Visibility,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Monday 2026-03-02T08:00:00Z.
pub const DEFAULT_START: EventTime = EventTime(1_772_438_400_000);

/// What to generate.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub conversations: usize,
    pub tenant: String,
    pub start: EventTime,
    /// Conversations start spread over this many hours after `start`.
    pub spread_hours: i64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 7,
            conversations: 200,
            tenant: "acme".into(),
            start: DEFAULT_START,
            spread_hours: 8,
        }
    }
}

const QUEUES: [(&str, [(&str, &str); 3]); 3] = [
    (
        "billing",
        [
            ("a-giulia", "Giulia"),
            ("a-marco", "Marco"),
            ("a-sara", "Sara"),
        ],
    ),
    (
        "tech",
        [("a-luca", "Luca"), ("a-emma", "Emma"), ("a-noah", "Noah")],
    ),
    (
        "sales",
        [
            ("a-chiara", "Chiara"),
            ("a-liam", "Liam"),
            ("a-anna", "Anna"),
        ],
    ),
];

const EN_NEUTRAL: &[&str] = &[
    "Hi, where is my order #{n}? It was due yesterday.",
    "Can you tell me how to change my billing address?",
    "My router keeps dropping the connection, what should I do?",
    "Is the premium plan available in my area?",
];
const EN_ANGRY: &[&str] = &[
    "This is UNACCEPTABLE!!! Third time I write and nobody answers. Worst service ever.",
    "I am furious, you charged me twice and I want a refund now!!",
    "Terrible experience, my parcel is lost and your support is useless.",
];
const EN_HAPPY: &[&str] = &[
    "Thanks a lot, the new plan works great!",
    "Great service from your team yesterday, thank you!",
];
const IT_NEUTRAL: &[&str] = &[
    "Buongiorno, dove si trova il mio ordine {n}? Doveva arrivare ieri.",
    "Come posso cambiare l'indirizzo di fatturazione?",
    "Il modem si disconnette di continuo, cosa devo fare?",
    "L'offerta premium è disponibile nella mia zona?",
];
const IT_ANGRY: &[&str] = &[
    "È una VERGOGNA!!! Scrivo da tre giorni e nessuno risponde. Servizio pessimo.",
    "Sono furioso, mi avete addebitato due volte e voglio il rimborso subito!!",
    "Esperienza terribile, il pacco è perso e l'assistenza è inutile.",
];
const IT_HAPPY: &[&str] = &[
    "Grazie mille, la nuova offerta funziona benissimo!",
    "Servizio ottimo ieri, complimenti al vostro team!",
];

fn target_ms(channel: Channel) -> i64 {
    match channel {
        Channel::Phone => 5 * 60_000,
        Channel::Email => 24 * 3_600_000,
        _ => 3_600_000,
    }
}

struct Builder<'a> {
    cfg: &'a SimConfig,
    conv: String,
    channel: Channel,
    seq: usize,
    out: Vec<Event>,
}

impl Builder<'_> {
    fn push(&mut self, at: i64, payload: Payload) {
        self.seq += 1;
        let id = format!("{}-e{}", self.conv, self.seq);
        self.out.push(Event {
            envelope: Envelope {
                event_id: Id::parse(id).expect("generated ids are valid"),
                tenant: Id::parse(self.cfg.tenant.clone()).expect("tenant is a valid id"),
                conversation_id: Id::parse(self.conv.clone()).expect("generated ids are valid"),
                occurred_at: EventTime(at),
                source: Id::parse("pronto-sim").expect("valid id"),
                schema_version: 1,
                channel: self.channel,
            },
            payload,
        });
    }
}

fn pick<'a>(rng: &mut ChaCha8Rng, pool: &[&'a str]) -> &'a str {
    pool[rng.random_range(0..pool.len())]
}

/// Generates the sample, sorted by event time (ties keep generation order).
pub fn generate(cfg: &SimConfig) -> Vec<Event> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let channels = [
        (Channel::Phone, 15),
        (Channel::Email, 20),
        (Channel::Chat, 20),
        (Channel::Twitter, 15),
        (Channel::Facebook, 10),
        (Channel::Instagram, 5),
        (Channel::Whatsapp, 15),
    ];
    let total: u32 = channels.iter().map(|c| c.1).sum();
    let mut all = Vec::new();
    for i in 0..cfg.conversations {
        let mut roll = rng.random_range(0..total);
        let channel = channels
            .iter()
            .find(|(_, w)| {
                if roll < *w {
                    true
                } else {
                    roll -= w;
                    false
                }
            })
            .map(|c| c.0)
            .unwrap_or(Channel::Email);
        let italian = rng.random_bool(0.5);
        let mood = rng.random_range(0..100);
        let (queue, agents) = QUEUES[rng.random_range(0..QUEUES.len())];
        let (agent, agent_name) = agents[rng.random_range(0..agents.len())];
        let mut b = Builder {
            cfg,
            conv: format!("conv-{:05}", i + 1),
            channel,
            seq: 0,
            out: Vec::new(),
        };
        let mut t = cfg.start.millis() + rng.random_range(0..cfg.spread_hours.max(1) * 3_600_000);
        let text = |rng: &mut ChaCha8Rng| -> String {
            let pool = match (italian, mood) {
                (false, 0..15) => EN_ANGRY,
                (false, 15..25) => EN_HAPPY,
                (false, _) => EN_NEUTRAL,
                (true, 0..15) => IT_ANGRY,
                (true, 15..25) => IT_HAPPY,
                (true, _) => IT_NEUTRAL,
            };
            pick(rng, pool).replace("{n}", &rng.random_range(10_000..99_999).to_string())
        };
        b.push(
            t,
            Payload::AssignmentChanged {
                queue: Some(Id::parse(queue).expect("valid")),
                agent_id: Some(Id::parse(agent).expect("valid")),
            },
        );
        if mood < 15 {
            b.push(t, Payload::PriorityChanged(Priority::High));
        }
        let rounds = if rng.random_bool(0.35) { 2 } else { 1 };
        for round in 0..rounds {
            t += if round == 0 {
                1000
            } else {
                rng.random_range(60_000..1_800_000)
            };
            let tier = if rng.random_bool(0.2) {
                Some(Id::parse("gold").expect("valid"))
            } else {
                None
            };
            let body = text(&mut rng);
            b.push(
                t,
                Payload::CustomerMessage {
                    text: BoundedText::new(body),
                    customer_id: Id::parse(format!("cust-{}", i + 1)).expect("valid"),
                    customer_tier: tier,
                },
            );
            if rng.random_bool(0.3) {
                t += rng.random_range(5_000..60_000);
                let body = if italian {
                    "Aggiungo: è urgente."
                } else {
                    "Also: this is urgent."
                };
                b.push(
                    t,
                    Payload::CustomerMessage {
                        text: BoundedText::new(body),
                        customer_id: Id::parse(format!("cust-{}", i + 1)).expect("valid"),
                        customer_tier: None,
                    },
                );
            }
            if channel == Channel::Chat && rng.random_bool(0.5) {
                b.push(
                    t + 2000,
                    Payload::ReplySent {
                        text: BoundedText::new(
                            "Thanks for your message, an agent will be with you shortly.",
                        ),
                        author: AuthorKind::Bot,
                        visibility: Visibility::Public,
                        agent_id: None,
                        agent_display_name: None,
                    },
                );
            }
            let fate = rng.random_range(0..100);
            let target = target_ms(channel);
            if fate < 12 {
                // Never answered.
                break;
            }
            if rng.random_bool(0.2) {
                b.push(
                    t + target / 10,
                    Payload::ReplySent {
                        text: BoundedText::new("Customer seems upset, checking the invoice."),
                        author: AuthorKind::Human,
                        visibility: Visibility::Private,
                        agent_id: Some(Id::parse(agent).expect("valid")),
                        agent_display_name: Some(agent_name.into()),
                    },
                );
            }
            let wait = if fate < 35 {
                rng.random_range(target + 1_000..target * 3)
            } else {
                rng.random_range(target / 20..target * 9 / 10)
            };
            t += wait;
            let signed = rng.random_bool(0.6);
            let reply = match (italian, signed) {
                (true, true) => format!("Ciao, ci pensiamo noi. {agent_name}, Servizio Clienti"),
                (true, false) => "Ciao, ci pensiamo noi.".to_string(),
                (false, true) => format!("Hi, we're on it. ^{}", &agent_name[..1]),
                (false, false) => "Hi, we're on it.".to_string(),
            };
            b.push(
                t,
                Payload::ReplySent {
                    text: BoundedText::new(reply),
                    author: AuthorKind::Human,
                    visibility: Visibility::Public,
                    agent_id: Some(Id::parse(agent).expect("valid")),
                    agent_display_name: Some(agent_name.into()),
                },
            );
        }
        all.extend(b.out);
    }
    all.sort_by_key(|e| e.at());
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sample_and_sorted() {
        let cfg = SimConfig {
            conversations: 50,
            ..SimConfig::default()
        };
        let a = generate(&cfg);
        assert_eq!(a, generate(&cfg));
        assert!(a.windows(2).all(|w| w[0].at() <= w[1].at()));
        let other = generate(&SimConfig { seed: 8, ..cfg });
        assert_ne!(a, other);
    }

    #[test]
    fn the_sample_is_varied() {
        let evs = generate(&SimConfig::default());
        let channels: std::collections::BTreeSet<_> =
            evs.iter().map(|e| e.envelope.channel).collect();
        assert!(channels.len() >= 6);
        let texts: Vec<&str> = evs
            .iter()
            .filter_map(|e| match &e.payload {
                Payload::CustomerMessage { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert!(
            texts
                .iter()
                .any(|t| t.contains("ordine") || t.contains("fatturazione"))
        );
        assert!(
            texts
                .iter()
                .any(|t| t.contains("UNACCEPTABLE") || t.contains("furious"))
        );
    }
}
