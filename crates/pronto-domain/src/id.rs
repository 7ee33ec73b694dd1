//! Identifier newtypes and deterministic fact ids.

use crate::Name;
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
///
/// Kept inline, with no allocation, up to 24 bytes (most ids are shorter): an event carries
/// several, and every stage copies some of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(Name);

impl Id {
    pub fn parse(value: impl Into<Name>) -> Result<Self, IdError> {
        let value = value.into();
        if value.is_empty() {
            return Err(IdError::Empty);
        }
        if value.len() > MAX_ID_BYTES {
            return Err(IdError::TooLong(value.len()));
        }
        // Printable ASCII, as ids nearly always are, has no control character to look for.
        if !value.bytes().all(|b| matches!(b, b' '..=b'~'))
            && let Some((at, _)) = value.char_indices().find(|(_, c)| c.is_control())
        {
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

/// A deterministic id for a derived fact: the kind, a dash, and the first 128 bits of SHA-256
/// over the kind and the parts, each prefixed by its length (LEB128) so that ("ab","c") and
/// ("a","bc") differ.
///
/// Re-processing the same input yields the same id, which is what lets consumers drop
/// duplicates after a restart.
pub fn fact_id(kind: &str, parts: &[&str]) -> String {
    fact_id_of(kind, digest128(kind, parts))
}

/// The fact id of `kind` whose 128 bits are `digest`, as [`fact_id`] writes it: for ids whose
/// digest is kept, so that it is worked out once.
pub fn fact_id_of(kind: &str, digest: u128) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = digest.to_be_bytes();
    let mut hex = [0u8; 32];
    for (pair, b) in hex.chunks_exact_mut(2).zip(&digest) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0x0f)];
    }
    let mut id = String::with_capacity(kind.len() + 1 + 32);
    id.push_str(kind);
    id.push('-');
    id.push_str(std::str::from_utf8(&hex).expect("hex digits are ASCII"));
    id
}

/// The first 128 bits (big-endian) of SHA-256 over `kind` and `parts`, each prefixed by its
/// length (LEB128): what [`fact_id`] writes in hex, for keys kept as numbers.
pub fn digest128(kind: &str, parts: &[&str]) -> u128 {
    // Made for every verdict. SHA-256 works through 64-byte blocks, so the prefixes are kept
    // short; the input is laid out in one buffer on the stack and hashed at once.
    let mut input = [0u8; 512];
    let mut n = 0;
    let mut hasher: Option<Sha256> = None;
    for p in std::iter::once(&kind).chain(parts) {
        let mut prefix = [0u8; 10];
        let len = leb128(p.len() as u64, &mut prefix);
        for piece in [&prefix[..len], p.as_bytes()] {
            if hasher.is_none() && n + piece.len() <= input.len() {
                copy_short(&mut input[n..n + piece.len()], piece);
                n += piece.len();
            } else {
                // Longer than the buffer: hashed as it comes, to the same digest.
                let h = hasher.get_or_insert_with(|| Sha256::new_with_prefix(&input[..n]));
                h.update(piece);
            }
        }
    }
    let digest = match hasher {
        Some(h) => h.finalize(),
        None => Sha256::digest(&input[..n]),
    };
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    u128::from_be_bytes(first)
}

/// Copies `src` into `dst` (of the same length) with a few moves of fixed size when it is
/// short, as the parts of an id mostly are, rather than a call to `memcpy` each.
fn copy_short(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    match n {
        0 => {}
        1..=3 => {
            dst[0] = src[0];
            dst[n / 2] = src[n / 2];
            dst[n - 1] = src[n - 1];
        }
        4..=7 => {
            dst[..4].copy_from_slice(&src[..4]);
            dst[n - 4..].copy_from_slice(&src[n - 4..]);
        }
        8..=16 => {
            dst[..8].copy_from_slice(&src[..8]);
            dst[n - 8..].copy_from_slice(&src[n - 8..]);
        }
        17..=32 => {
            dst[..16].copy_from_slice(&src[..16]);
            dst[n - 16..].copy_from_slice(&src[n - 16..]);
        }
        33..=64 => {
            dst[..32].copy_from_slice(&src[..32]);
            dst[n - 32..].copy_from_slice(&src[n - 32..]);
        }
        _ => dst.copy_from_slice(src),
    }
}

/// The 128 bits a fact id (`kind-` and 32 hex digits, as [`fact_id`] makes them) stands for;
/// `None` for an id of another shape.
pub fn fact_id_bits(id: &str) -> Option<u128> {
    // A dash, then 32 lowercase hex digits to the end (so that dash is the last one).
    let tail = id.as_bytes().last_chunk::<33>()?;
    if tail[0] != b'-' {
        return None;
    }
    // Every verdict's, tag's and escalation's id is read back to its bits, several times
    // over: eight digits at a time.
    let mut bits = 0u128;
    for word in tail[1..].chunks_exact(8) {
        let word = u64::from_be_bytes(word.try_into().expect("eight digits"));
        bits = bits << 32 | u128::from(hex_word(word)?);
    }
    Some(bits)
}

/// The number eight lowercase hex digits (one a byte, the first the highest) write; `None`
/// when a byte is not one. Each byte is told apart and turned into its digit on its own, in
/// one 64-bit word: with the top bit of each byte set first, subtracting a byte-wide bound
/// never borrows from the next byte, and the top bit left says which side of it the byte was.
fn hex_word(v: u64) -> Option<u32> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    if v & HIGH != 0 {
        return None;
    }
    let at_least = |low: u8| (v | HIGH).wrapping_sub(ONES * u64::from(low)) & HIGH;
    let at_most = |high: u8| ((ONES * u64::from(high)) | HIGH).wrapping_sub(v) & HIGH;
    let digit = at_least(b'0') & at_most(b'9');
    let letter = at_least(b'a') & at_most(b'f');
    if digit | letter != HIGH {
        return None;
    }
    // '0'..'9' are 0x30..0x39, 'a'..'f' 0x61..0x66: the low four bits, plus 9 for a letter
    // (whose bit 6 is set).
    let nibbles = (v & (ONES * 0x0f)) + ((v >> 6) & ONES) * 9;
    // Pairs of digits into bytes, bytes into 16 bits, those into 32.
    let x = (nibbles | nibbles >> 4) & 0x00ff_00ff_00ff_00ff;
    let x = (x | x >> 8) & 0x0000_ffff_0000_ffff;
    Some((x | x >> 16) as u32)
}

/// The 128 bits an id is known by in memory: those it stands for when it is a fact id,
/// else [`digest128`] of the whole id. Two ids with the same bits are taken for one (as likely
/// as two fact ids colliding).
pub fn id_bits(id: &str) -> u128 {
    fact_id_bits(id).unwrap_or_else(|| digest128("id", &[id]))
}

/// Writes `value` as LEB128 (seven bits a byte, low first) into `out`; returns the length.
fn leb128(mut value: u64, out: &mut [u8; 10]) -> usize {
    let mut n = 0;
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out[n] = byte;
            return n + 1;
        }
        out[n] = byte | 0x80;
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_refuse_empty_long_and_control_characters() {
        assert_eq!(Id::parse(""), Err(IdError::Empty));
        assert_eq!(Id::parse("a".repeat(257)), Err(IdError::TooLong(257)));
        assert_eq!(Id::parse("ab\ncd"), Err(IdError::ControlChar(2)));
        assert_eq!(Id::parse("ab\u{7f}"), Err(IdError::ControlChar(2)));
        // Control characters beyond ASCII too, at their byte offset; other letters pass.
        assert_eq!(Id::parse("é\u{85}"), Err(IdError::ControlChar(2)));
        assert_eq!(Id::parse("café-1").unwrap().as_str(), "café-1");
        assert_eq!(Id::parse("conv-1").unwrap().as_str(), "conv-1");
    }

    /// A fact id's bits as a plain reading of its digits gives them.
    fn bits_digit_by_digit(id: &str) -> Option<u128> {
        let tail = id.as_bytes().last_chunk::<33>()?;
        if tail[0] != b'-' {
            return None;
        }
        tail[1..].iter().try_fold(0u128, |bits, &b| {
            let digit = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                _ => return None,
            };
            Some(bits << 4 | u128::from(digit))
        })
    }

    #[test]
    fn fact_id_bits_are_read_as_the_digits_say_and_nothing_else_is() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2_000 {
            let bits = u128::from(next()) << 64 | u128::from(next());
            let id = fact_id_of("sla", bits);
            assert_eq!(fact_id_bits(&id), Some(bits));
            // Any digit put out of the range, at any place, and the id is not a fact id's:
            // the bytes just around each range, capitals, and a byte of a letter beyond ASCII.
            for bad in [b'/', b':', b'`', b'g', b'A', b'F', b'@', 0x00, 0x7f, 0xc3] {
                let mut spoilt = id.clone().into_bytes();
                let at = 4 + (next() % 32) as usize;
                spoilt[at] = bad;
                let spoilt = String::from_utf8_lossy(&spoilt).into_owned();
                assert_eq!(
                    fact_id_bits(&spoilt),
                    bits_digit_by_digit(&spoilt),
                    "{spoilt}"
                );
                assert_eq!(fact_id_bits(&spoilt), None, "{spoilt}");
            }
        }
        // Every byte, in every place of a word.
        for byte in 0..=255u8 {
            for at in 4..36 {
                let mut id = *b"tag-0123456789abcdef0123456789abcdef";
                id[at] = byte;
                let id = String::from_utf8_lossy(&id).into_owned();
                assert_eq!(fact_id_bits(&id), bits_digit_by_digit(&id), "{id}");
            }
        }
    }

    /// A fact id as its definition says, hashed piece by piece.
    fn reference(kind: &str, parts: &[&str]) -> String {
        let mut h = Sha256::new();
        for p in std::iter::once(kind).chain(parts.iter().copied()) {
            match p.len() {
                n @ 0..=127 => h.update([n as u8]),
                n => {
                    let mut n = n;
                    while n > 0 {
                        let more = if n > 127 { 0x80 } else { 0 };
                        h.update([(n & 0x7f) as u8 | more]);
                        n >>= 7;
                    }
                }
            }
            h.update(p.as_bytes());
        }
        format!("{kind}-{}", hex::encode(&h.finalize()[..16]))
    }

    #[test]
    fn parts_of_every_short_length_are_copied_whole() {
        let text: String = (0..100u8).map(|i| char::from(b'!' + i % 90)).collect();
        for n in 0..=100 {
            let src = &text.as_bytes()[..n];
            let mut dst = vec![0u8; n];
            copy_short(&mut dst, src);
            assert_eq!(dst, src);
            let part = &text[..n];
            let parts = [part, &text[n / 3..n], "x"];
            assert_eq!(fact_id("wrn", &parts), reference("wrn", &parts), "{n}");
        }
    }

    #[test]
    fn fact_ids_are_deterministic_and_unambiguous() {
        assert_eq!(fact_id("lat", &["a", "b"]), fact_id("lat", &["a", "b"]));
        assert_ne!(fact_id("lat", &["ab", "c"]), fact_id("lat", &["a", "bc"]));
        // The kind, a dash, and the first 128 bits of SHA-256 over the length-prefixed parts,
        // in lower-case hex; a length of 300 takes two bytes (0xac 0x02).
        let long = "x".repeat(300);
        let huge = "y".repeat(2000);
        for parts in [vec!["a", "b"], vec!["a", &long, "b"], vec![&huge, "", "c"]] {
            assert_eq!(fact_id("lat", &parts), reference("lat", &parts));
        }
        let id = fact_id("lat", &["a", "b"]);
        assert_eq!(fact_id_bits(&id), Some(digest128("lat", &["a", "b"])));
        assert_eq!(fact_id_bits("lat-xyz"), None);
        assert_eq!(fact_id_bits(&id.to_uppercase()), None);
        // Read from the last dash: 32 digits after it, no more and no fewer.
        assert_eq!(fact_id_bits(&format!("x-y{}", &id[4..])), None);
        assert_eq!(fact_id_bits(&format!("lat-0{}", &id[4..])), None);
        assert_eq!(fact_id_bits(&id[..id.len() - 1]), None);
        assert_eq!(fact_id_bits(&id[3..]), fact_id_bits(&id));
        let max = format!("x-{}", "f".repeat(32));
        assert_eq!(fact_id_bits(&max), Some(u128::MAX));
        let mut prefix = [0u8; 10];
        assert_eq!(leb128(300, &mut prefix), 2);
        assert_eq!(prefix[..2], [0xac, 0x02]);
        assert_ne!(fact_id("lat", &["a"]), fact_id("brk", &["a"]));
        assert!(fact_id("lat", &["x"]).starts_with("lat-"));
        assert_eq!(fact_id("lat", &["x"]).len(), 4 + 32);
    }
}
