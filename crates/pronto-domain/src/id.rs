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
    // Written straight into one string: ids are made for every verdict, so no formatting.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(kind.len() + 1 + 32);
    id.push_str(kind);
    id.push('-');
    for b in &digest[..16] {
        id.push(char::from(HEX[usize::from(b >> 4)]));
        id.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    id
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
        // The kind, a dash, and the first 128 bits of SHA-256 over the length-prefixed parts,
        // in lower-case hex.
        let mut h = Sha256::new();
        for p in ["lat", "a", "b"] {
            h.update((p.len() as u64).to_be_bytes());
            h.update(p.as_bytes());
        }
        assert_eq!(
            fact_id("lat", &["a", "b"]),
            format!("lat-{}", hex::encode(&h.finalize()[..16]))
        );
        assert_ne!(fact_id("lat", &["a"]), fact_id("brk", &["a"]));
        assert!(fact_id("lat", &["x"]).starts_with("lat-"));
        assert_eq!(fact_id("lat", &["x"]).len(), 4 + 32);
    }
}
