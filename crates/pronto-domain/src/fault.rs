//! Whose doing an error is. Every library error says so, and every face (HTTP, gRPC, the
//! command line) answers from that one fact, through one mapping (`pronto_runtime::fault`):
//! a user's error is refused with what to change, an outside system's is worth trying again,
//! an internal one is a defect to report.

use std::fmt;

/// Whose doing an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The input is wrong (a field, a file, a request): the same input fails the same way.
    User,
    /// Something outside failed (the broker, a webhook receiver, a model server): trying
    /// again may succeed.
    External,
    /// Pronto itself is wrong: a defect.
    Internal,
}

impl Fault {
    /// Whether trying the same thing again may succeed.
    pub fn retryable(self) -> bool {
        self == Fault::External
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fault::User => "user",
            Fault::External => "external",
            Fault::Internal => "internal",
        })
    }
}

/// An error that knows whose doing it is.
pub trait Classified: std::error::Error {
    fn fault(&self) -> Fault;

    /// Whether trying the same thing again may succeed.
    fn retryable(&self) -> bool {
        self.fault().retryable()
    }
}

impl Classified for crate::ValidationErrors {
    fn fault(&self) -> Fault {
        Fault::User
    }
}

impl Classified for crate::TimeError {
    fn fault(&self) -> Fault {
        Fault::User
    }
}

impl Classified for crate::IdError {
    fn fault(&self) -> Fault {
        Fault::User
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EventTime, FieldError, ValidationErrors};

    #[test]
    fn only_what_failed_outside_is_worth_trying_again() {
        assert!(Fault::External.retryable());
        assert!(!Fault::User.retryable());
        assert!(!Fault::Internal.retryable());
        let invalid = ValidationErrors(vec![FieldError::new("event_id", "is required")]);
        assert_eq!(invalid.fault(), Fault::User);
        assert!(!invalid.retryable());
        let time = EventTime::parse_rfc3339("yesterday").unwrap_err();
        assert_eq!(time.fault(), Fault::User);
    }
}
