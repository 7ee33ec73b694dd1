//! The facts a replay derived, each kept as a digest reads it: its kind, its id and its
//! protobuf encoding, written once as the fact is derived into large blocks that never move.
//!
//! Keeping the encodings rather than the facts holds less memory (an encoding is about half
//! of a fact with its strings), and leaves the digest nothing to do but put them in order and
//! hash them.

use crate::{Entries, Fact, KINDS};
use pronto_domain::{EscalationFact, SentimentTag, SlaFact};
use sha2::{Digest, Sha256};

/// Bytes per block: few blocks for a large replay, little left unused in the last one.
const BLOCK: usize = 4 << 20;

/// One kept fact, written in a block as a digest hashes it: the kind's name, the id and the
/// encoding, each after its length (8 bytes, big-endian).
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The id's first 16 bytes as a number (zero-padded): it orders as the bytes do, so two
    /// facts whose prefixes differ are put in order without reading their ids.
    prefix: u128,
    block: u32,
    start: u32,
    /// Bytes from `start` to the end of the encoding.
    len: u32,
    /// Where the id (its length first) starts, from `start`.
    id_at: u8,
    /// Index into [`KINDS`].
    kind: u8,
}

/// A kept fact, read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeptFact<'a> {
    /// `sla`, `tag` or `escalation`.
    pub kind: &'static str,
    pub id: &'a str,
    /// The fact's protobuf encoding (`pronto.v1.SlaFact`, `SentimentTag`, `EscalationEvent`).
    pub encoding: &'a [u8],
}

/// A derived fact, read back from its encoding.
#[derive(Debug, Clone)]
pub enum Derived {
    Sla(SlaFact),
    Tag(SentimentTag),
    Escalation(EscalationFact),
}

impl KeptFact<'_> {
    /// The fact itself, decoded from its encoding.
    pub fn decode(&self) -> Result<Derived, pronto_proto::DecodeError> {
        use pronto_proto::{decode, v1 as pb};
        Ok(match self.kind {
            "sla" => Derived::Sla(pronto_proto::sla_fact_from_pb(decode::<pb::SlaFact>(
                "pronto.v1.SlaFact",
                self.encoding,
            )?)?),
            "tag" => Derived::Tag(pronto_proto::tag_from_pb(decode::<pb::SentimentTag>(
                "pronto.v1.SentimentTag",
                self.encoding,
            )?)?),
            _ => Derived::Escalation(pronto_proto::escalation_fact_from_pb(decode::<
                pb::EscalationEvent,
            >(
                "pronto.v1.EscalationEvent",
                self.encoding,
            )?)?),
        })
    }
}

/// Facts kept in the order derived.
#[derive(Debug, Default)]
pub(crate) struct Kept {
    blocks: Vec<Vec<u8>>,
    slots: Vec<Slot>,
    counts: [u64; 3],
    scratch: Vec<u8>,
}

impl Kept {
    /// Makes room for about `facts` facts.
    pub(crate) fn reserve(&mut self, facts: usize) {
        self.slots.reserve(facts);
    }

    /// Keeps `fact`, known by `id`.
    pub(crate) fn keep(&mut self, id: &str, fact: Fact<'_>) {
        self.scratch.clear();
        fact.encode(&mut self.scratch);
        let kind = fact.kind();
        self.counts[usize::from(kind)] += 1;
        let name = KINDS[usize::from(kind)];
        let need = 3 * 8 + name.len() + id.len() + self.scratch.len();
        let fits = self
            .blocks
            .last()
            .is_some_and(|b| b.capacity() - b.len() >= need);
        if !fits {
            self.blocks.push(Vec::with_capacity(BLOCK.max(need)));
        }
        let block_index = self.blocks.len() - 1;
        let block = &mut self.blocks[block_index];
        let start = block.len();
        for part in [name.as_bytes(), id.as_bytes(), &self.scratch] {
            block.extend_from_slice(&(part.len() as u64).to_be_bytes());
            block.extend_from_slice(part);
        }
        // A fact of 4 GiB cannot be derived: ids are short, facts small.
        self.slots.push(Slot {
            prefix: prefix(id),
            block: block_index as u32,
            start: start as u32,
            len: need as u32,
            id_at: (8 + name.len()) as u8,
            kind,
        });
    }

    /// Facts kept of each kind, in the order of [`KINDS`] (delivered twice counted twice).
    pub(crate) fn counts(&self) -> [u64; 3] {
        self.counts
    }

    /// The bytes a digest hashes for the fact of `slot`.
    fn entry(&self, slot: &Slot) -> &[u8] {
        let at = slot.start as usize;
        &self.blocks[slot.block as usize][at..at + slot.len as usize]
    }

    fn read(&self, slot: &Slot) -> KeptFact<'_> {
        let (_, rest) = self.entry(slot).split_at(usize::from(slot.id_at));
        let (len, rest) = rest.split_at(8);
        let id_len = u64::from_be_bytes(len.try_into().unwrap_or_default()) as usize;
        let (id, rest) = rest.split_at(id_len);
        KeptFact {
            kind: KINDS[usize::from(slot.kind)],
            // Written from a `&str` by `keep`.
            id: std::str::from_utf8(id).unwrap_or_default(),
            encoding: &rest[8..],
        }
    }

    /// Every fact kept, in the order derived.
    pub(crate) fn iter(&self) -> impl Iterator<Item = KeptFact<'_>> {
        self.slots.iter().map(|s| self.read(s))
    }

    /// The facts in digest order: by kind name, then id, each id once (the first derived).
    fn ordered(&self) -> Vec<Slot> {
        let mut slots = self.slots.clone();
        // Stable: of two facts with one id, the first derived stays first.
        slots.sort_by(|a, b| {
            (a.kind, a.prefix)
                .cmp(&(b.kind, b.prefix))
                .then_with(|| self.read(a).id.cmp(self.read(b).id))
        });
        slots.dedup_by(|b, a| {
            (a.kind, a.prefix) == (b.kind, b.prefix) && self.read(a).id == self.read(b).id
        });
        slots
    }

    /// SHA-256 over the facts in digest order, as [`crate::digest`] takes it over entries.
    pub(crate) fn digest(&self) -> String {
        let mut h = Sha256::new();
        for slot in self.ordered() {
            h.update(self.entry(&slot));
        }
        format!("sha256:{}", hex::encode(h.finalize()))
    }

    /// The facts as entries.
    pub(crate) fn entries(&self) -> Entries {
        self.ordered()
            .iter()
            .map(|s| self.read(s))
            .map(|f| ((f.kind, f.id.to_string()), f.encoding.to_vec()))
            .collect()
    }
}

/// The first 16 bytes of `id` as a big-endian number, zero-padded.
fn prefix(id: &str) -> u128 {
    let mut head = [0u8; 16];
    let n = id.len().min(16);
    head[..n].copy_from_slice(&id.as_bytes()[..n]);
    u128::from_be_bytes(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pronto_domain::{Channel, EventTime, Polarity};

    fn tag(id: &str, score: f64) -> SentimentTag {
        SentimentTag {
            fact_id: id.into(),
            event_id: "e".into(),
            tenant: "t".into(),
            conversation_id: "c".into(),
            channel: Channel::Chat,
            occurred_at: EventTime(0),
            polarity: Polarity::Neutral,
            score,
            language: "en".into(),
            tones: Vec::new(),
            model_name: "m".into(),
            model_version: "1".into(),
            reply: false,
            signed: false,
            rescored: false,
        }
    }

    #[test]
    fn facts_come_back_in_digest_order_whatever_their_prefixes() {
        let ids = [
            "lat-0123456789abcdef",
            "lat-0123456789abcdee",
            "lat-0123456789ab",
            "lat-0123456789abc",
            "lat-0123456789ab\u{1}",
            "lat",
            "",
            "wdr-ffff",
            "z",
            "lat-0123456789abcdef",
        ];
        let tags: Vec<SentimentTag> = ids
            .iter()
            .enumerate()
            .map(|(place, id)| tag(id, place as f64))
            .collect();
        let mut kept = Kept::default();
        let mut expected = Entries::new();
        for t in &tags {
            kept.keep(&t.fact_id, Fact::Tag(t));
            let mut bytes = Vec::new();
            Fact::Tag(t).encode(&mut bytes);
            // The first of two facts with one id is the one kept.
            expected.entry(("tag", t.fact_id.clone())).or_insert(bytes);
        }
        assert_eq!(kept.counts(), [0, 0, ids.len() as u64]);
        assert_eq!(kept.entries(), expected);
        assert_eq!(kept.digest(), crate::digest(&expected));
        let back: Vec<&str> = kept.iter().map(|f| f.id).collect();
        assert_eq!(back, ids);
    }

    #[test]
    fn a_fact_larger_than_what_is_left_of_a_block_starts_another() {
        let mut kept = Kept::default();
        let long = "x".repeat(BLOCK / 3);
        let tags: Vec<SentimentTag> = (0..5).map(|i| tag(&format!("{long}{i}"), 0.0)).collect();
        for t in &tags {
            kept.keep(&t.fact_id, Fact::Tag(t));
        }
        assert!(kept.blocks.len() >= 2);
        // Written where it fits: no block grows past its size (and so none ever moved).
        assert!(kept.blocks.iter().all(|b| b.len() <= BLOCK));
        for (f, t) in kept.iter().zip(&tags) {
            let mut bytes = Vec::new();
            Fact::Tag(t).encode(&mut bytes);
            assert_eq!(
                (f.kind, f.id, f.encoding),
                ("tag", t.fact_id.as_str(), &bytes[..])
            );
        }
    }
}
