//! Drill-down: from a figure of a report to the conversations behind it.

use crate::model::{NONE_SYMBOL, ReadModel};
use crate::query::{Dimension, Keyer, Query};
use pronto_domain::{Polarity, ReplyKind};
use serde::Serialize;
use std::collections::HashMap;

/// A figure of a report row that counts conversations' records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    CustomerMessages,
    AnsweredMessages,
    /// Customer messages without a reply.
    UnansweredMessages,
    SlaMet,
    SlaBreached,
    ResolutionMet,
    ResolutionBreached,
    SentimentPositive,
    SentimentNeutral,
    SentimentNegative,
    Escalations,
}

impl Figure {
    pub const NAMES: &str = "customer_messages, answered_messages, unanswered_messages, sla_met, sla_breached, resolution_met, resolution_breached, sentiment_positive, sentiment_neutral, sentiment_negative, escalations";

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "customer_messages" => Self::CustomerMessages,
            "answered_messages" => Self::AnsweredMessages,
            "unanswered_messages" => Self::UnansweredMessages,
            "sla_met" => Self::SlaMet,
            "sla_breached" => Self::SlaBreached,
            "resolution_met" => Self::ResolutionMet,
            "resolution_breached" => Self::ResolutionBreached,
            "sentiment_positive" => Self::SentimentPositive,
            "sentiment_neutral" => Self::SentimentNeutral,
            "sentiment_negative" => Self::SentimentNegative,
            "escalations" => Self::Escalations,
            _ => return None,
        })
    }
}

/// A conversation behind a figure, and how many of the figure's records it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversationRef {
    pub tenant: String,
    pub conversation_id: String,
    pub records: u64,
}

/// The conversations behind a figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drill {
    pub figure: Figure,
    /// The figure's value: the records counted, as in the report.
    pub count: u64,
    /// Conversations, by tenant and id, at most the limit asked for.
    pub conversations: Vec<ConversationRef>,
    /// True when more conversations than the limit hold such records.
    pub truncated: bool,
}

impl ReadModel {
    /// The conversations behind `figure` in the slice where each `(dimension, value)` of
    /// `filter` holds (values as the report shows them), within `q`'s time range and zone.
    pub fn drill(
        &self,
        q: &Query,
        filter: &[(Dimension, String)],
        figure: Figure,
        limit: usize,
    ) -> Drill {
        let q = Query {
            group_by: filter.iter().map(|(d, _)| *d).collect(),
            ..q.clone()
        };
        let want: Vec<String> = filter.iter().map(|(_, v)| v.clone()).collect();
        let keyer = Keyer { q: &q, model: self };
        // Records by conversation index.
        let mut hits: HashMap<u32, u64, rustc_hash::FxBuildHasher> = HashMap::default();
        let mut hit = |keys: Option<crate::query::Keys<'_>>, conv: u32| {
            if keys.is_some_and(|k| {
                k.iter()
                    .map(|k| k.as_ref())
                    .eq(want.iter().map(String::as_str))
            }) {
                *hits.entry(conv).or_default() += 1;
            }
        };
        match figure {
            Figure::CustomerMessages | Figure::AnsweredMessages | Figure::UnansweredMessages => {
                for m in self.messages.values() {
                    let counts = match figure {
                        Figure::AnsweredMessages => m.answered,
                        Figure::UnansweredMessages => !m.answered,
                        _ => true,
                    };
                    if counts {
                        hit(
                            keyer.keys(m.conv, m.channel, m.queue, m.agent, m.at),
                            m.conv,
                        );
                    }
                }
            }
            Figure::SlaMet
            | Figure::SlaBreached
            | Figure::ResolutionMet
            | Figure::ResolutionBreached => {
                for c in self.clocks.values() {
                    let missed = c.breached || c.met == Some(false);
                    let met = !missed && c.met == Some(true);
                    let resolution = c.kind == ReplyKind::Resolution;
                    let counts = match figure {
                        Figure::SlaMet => met && !resolution,
                        Figure::SlaBreached => missed && !resolution,
                        Figure::ResolutionMet => met && resolution,
                        _ => missed && resolution,
                    };
                    if counts {
                        let keys = keyer.keys(c.conv, c.channel, c.queue, c.agent, c.customer_at);
                        hit(keys, c.conv);
                    }
                }
            }
            Figure::SentimentPositive | Figure::SentimentNeutral | Figure::SentimentNegative => {
                let polarity = match figure {
                    Figure::SentimentPositive => Polarity::Positive,
                    Figure::SentimentNeutral => Polarity::Neutral,
                    _ => Polarity::Negative,
                };
                for t in self.tags.values().filter(|t| t.polarity == polarity) {
                    let queue = self.queue_of(t.conv);
                    hit(
                        keyer.keys(t.conv, t.channel, queue, NONE_SYMBOL, t.at),
                        t.conv,
                    );
                }
            }
            Figure::Escalations => {
                for e in self.escalations.values() {
                    let queue = if e.queue == NONE_SYMBOL {
                        self.queue_of(e.conv)
                    } else {
                        e.queue
                    };
                    hit(
                        keyer.keys(e.conv, e.channel, queue, NONE_SYMBOL, e.at),
                        e.conv,
                    );
                }
            }
        }
        let count = hits.values().sum();
        let truncated = hits.len() > limit;
        // By tenant and conversation id.
        let mut named: Vec<(&str, &str, u64)> = hits
            .into_iter()
            .map(|(conv, records)| {
                let (tenant, conversation) = self.conv_names(conv);
                (tenant, conversation, records)
            })
            .collect();
        named.sort_unstable();
        Drill {
            figure,
            count,
            conversations: named
                .into_iter()
                .take(limit)
                .map(|(tenant, conversation_id, records)| ConversationRef {
                    tenant: tenant.to_string(),
                    conversation_id: conversation_id.to_string(),
                    records,
                })
                .collect(),
            truncated,
        }
    }
}
