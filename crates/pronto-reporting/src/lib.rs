//! The reporting read model: folds interaction events, sentiment tags, SLA verdicts and
//! escalations into metrics sliced by channel, queue, agent, customer tier, tenant, outsourcer
//! and time bucket.
//!
//! Every input is keyed by its deterministic id, so a fact delivered twice counts once.

mod drill;
mod model;
mod outsourcers;
mod query;
mod stats;

pub use drill::{ConversationRef, Drill, Figure};
pub use model::{EscalationItem, ReadModel};
pub use outsourcers::Outsourcers;
pub use query::{Bucket, Dimension, Query, Report, Row};
pub use stats::{LatencyStats, percentile};
