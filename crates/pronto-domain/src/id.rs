//! Identifier newtypes and deterministic fact ids.

use sha2::{Digest, Sha256};
use std::fmt;

/// Longest identifier accepted, in bytes.
pub const MAX_ID_BYTES: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must not be empty")]
    Empty,
    #[error("is {0} bytes long; at most {MAX_ID_BYTES} are allowed")]
    TooLong(usize),
    #[error("contains a control character at byte {0}")]
    ControlChar(usize),
}

/// A non-empty identifier of at most [`MAX_ID_BYTES`] bytes with no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(String);

impl Id {
    pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
        let value = value.into();
        if value.is_empty() {
            return Err(IdError::Empty);
        }
        if value.len() > MAX_ID_BYTES {
            return Err(IdError::TooLong(value.len()));
        }
        if let Some((at, _)) = value.char_indices().find(|(_, c)| c.is_control()) {
            return Err(IdError::ControlChar(at));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Free text (a message body) already checked against the size limit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BoundedText(String);

impl BoundedText {
    pub(crate) fn new_unchecked(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A deterministic id for a derived fact: the first 128 bits of SHA-256 over the parts,
/// each length-prefixed so that ("ab","c") and ("a","bc") differ.
///
/// Re-processing the same input yields the same id, which is what lets consumers drop
/// duplicates after a restart.
pub fn fact_id(kind: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in std::iter::once(&kind).chain(parts) {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    let digest = h.finalize();
    format!("{kind}-{}", hex::encode(&digest[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_refuse_empty_long_and_control_characters() {
        assert_eq!(Id::parse(""), Err(IdError::Empty));
        assert_eq!(Id::parse("a".repeat(257)), Err(IdError::TooLong(257)));
        assert_eq!(Id::parse("ab\ncd"), Err(IdError::ControlChar(2)));
        assert_eq!(Id::parse("conv-1").unwrap().as_str(), "conv-1");
    }

    #[test]
    fn fact_ids_are_deterministic_and_unambiguous() {
        assert_eq!(fact_id("lat", &["a", "b"]), fact_id("lat", &["a", "b"]));
        assert_ne!(fact_id("lat", &["ab", "c"]), fact_id("lat", &["a", "bc"]));
        assert_ne!(fact_id("lat", &["a"]), fact_id("brk", &["a"]));
        assert!(fact_id("lat", &["x"]).starts_with("lat-"));
        assert_eq!(fact_id("lat", &["x"]).len(), 4 + 32);
    }
}
