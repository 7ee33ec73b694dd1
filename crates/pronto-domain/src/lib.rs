//! Pronto's domain: interaction events as integrators publish them, the facts derived from
//! them, and the validation that turns untrusted input into these types.
//!
//! Nothing here knows of Kafka, gRPC or HTTP, and nothing reads the wall clock: time is
//! always an argument.

#[macro_use]
mod event;
mod facts;
mod fault;
mod id;
mod intern;
mod raw;
mod records;
mod time;

pub use event::{
    AuthorKind, Channel, ConversationKey, ConversationStatus, Envelope, Event, Payload, Priority,
    Visibility,
};
pub use facts::{
    ConversationContext, EscalationFact, EscalationRaised, EscalationWithdrawn, FactId, Name,
    Polarity, ReplyKind, ReplyLatency, SentimentTag, SlaBreach, SlaCorrection, SlaFact, SlaWarning,
};
pub use fault::{Classified, Fault};
pub use id::{
    BoundedText, Id, IdError, MAX_ID_BYTES, digest128, fact_id, fact_id_bits, fact_id_of, id_bits,
};
pub use intern::Interner;
pub use raw::{
    FieldError, Limits, RawAssignment, RawCustomerMessage, RawEvent, RawMerged, RawPriority,
    RawReply, RawStatus, RawTime, SCHEMA_VERSION, ValidationErrors,
};
pub use records::{EscalationHandled, EscalationRecord, EscalationState, Record, VersionRecord};
pub use time::{EventTime, TimeError};
