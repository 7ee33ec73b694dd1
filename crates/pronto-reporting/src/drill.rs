//! Drill-down: from a figure of a report to the conversations behind it.

use crate::model::{NONE, ReadModel};
use crate::query::{Dimension, Keyer, Query};
use pronto_domain::{Polarity, ReplyKind};
use serde::Serialize;
use std::collections::BTreeMap;

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
        let mut hits: BTreeMap<(String, String), u64> = BTreeMap::new();
        let mut hit = |keys: Option<crate::query::Keys<'_>>, tenant: &str, conversation: &str| {
            if keys.is_some_and(|k| {
                k.iter()
                    .map(|k| k.as_ref())
                    .eq(want.iter().map(String::as_str))
            }) {
                *hits
                    .entry((tenant.to_string(), conversation.to_string()))
                    .or_default() += 1;
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
                        let keys = keyer.keys(
                            &m.tenant,
                            &m.conversation,
                            m.channel,
                            &m.queue,
                            &m.agent,
                            m.at,
                        );
                        hit(keys, &m.tenant, &m.conversation);
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
                        let keys = keyer.keys(
                            &c.tenant,
                            &c.conversation,
                            c.channel,
                            &c.queue,
                            &c.agent,
                            c.customer_at,
                        );
                        hit(keys, &c.tenant, &c.conversation);
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
                    let queue = self.queue_of(&t.conv);
                    let keys = keyer.keys(&t.conv.0, &t.conv.1, t.channel, queue, NONE, t.at);
                    hit(keys, &t.conv.0, &t.conv.1);
                }
            }
            Figure::Escalations => {
                for e in self.escalations.values() {
                    let queue = if e.queue == NONE {
                        self.queue_of(&e.conv)
                    } else {
                        &e.queue
                    };
                    let keys = keyer.keys(&e.tenant, &e.conv.1, e.channel, queue, NONE, e.at);
                    hit(keys, &e.conv.0, &e.conv.1);
                }
            }
        }
        let count = hits.values().sum();
        let truncated = hits.len() > limit;
        Drill {
            figure,
            count,
            conversations: hits
                .into_iter()
                .take(limit)
                .map(|((tenant, conversation_id), records)| ConversationRef {
                    tenant,
                    conversation_id,
                    records,
                })
                .collect(),
            truncated,
        }
    }
}
