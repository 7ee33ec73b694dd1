//! The facts a replay derived, each kept as a digest reads it: its kind, its id and the
//! SHA-256 of its protobuf encoding, worked out as the fact is derived; the encoding itself
//! only when the caller asked for the facts back.
//!
//! Hashing each encoding while it is still in the cache, and keeping 32 bytes of it rather
//! than the whole, holds a fraction of the memory and leaves the digest nothing to do but put
//! small records in order and hash those.

use crate::{Encoder, Entries, Fact, KINDS};
use pronto_domain::{EscalationFact, SentimentTag, SlaFact};
use sha2::{Digest, Sha256};

/// Bytes per block: few blocks for a large replay, little left unused in the last one.
const BLOCK: usize = 4 << 20;

/// One kept fact: where its id (and, when kept, its encoding right after) lies in the blocks.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// SHA-256 of the fact's protobuf encoding.
    hash: [u8; 32],
    block: u32,
    start: u32,
    id_len: u32,
    /// Bytes of the encoding after the id; 0 when encodings are not kept.
    encoding_len: u32,
    /// Index into [`KINDS`].
    kind: u8,
}

/// What the digest order sorts by: a fact's kind, its id's prefix and its place.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key {
    /// The id's first 16 bytes as a number (zero-padded): it orders as the bytes do, so two
    /// facts whose prefixes differ are put in order without reading their ids.
    prefix: u128,
    /// The place of the fact's slot.
    index: u32,
    /// Index into [`KINDS`].
    kind: u8,
}

impl Key {
    /// The order keys are sorted in, which needs no id: facts whose prefixes are the same
    /// are put in order by their ids afterwards, when the ids are read.
    fn rank(&self) -> (u8, u128, u32) {
        (self.kind, self.prefix, self.index)
    }
}

/// Sorts keys by [`Key::rank`]: what a replay does with [`Kept::take_keys`] while it keeps
/// more facts.
pub(crate) fn sort_keys(keys: &mut [Key]) {
    keys.sort_unstable_by_key(Key::rank);
}

/// Two runs of keys sorted by [`Key::rank`], as one.
fn merge(a: &[Key], b: &[Key]) -> Vec<Key> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].rank() <= b[j].rank() {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
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
        use pronto_proto::{escalations, sentiment, sla};
        Ok(match self.kind {
            "sla" => Derived::Sla(sla::decode(self.encoding)?),
            "tag" => Derived::Tag(sentiment::decode(self.encoding)?),
            _ => Derived::Escalation(EscalationFact::try_from(pronto_proto::decode_message::<
                pronto_proto::v1::EscalationEvent,
            >(
                escalations::MESSAGE,
                self.encoding,
            )?)?),
        })
    }
}

/// Facts kept in the order derived.
#[derive(Debug, Default)]
pub(crate) struct Kept {
    /// Whether encodings are kept, for [`Kept::iter`].
    encodings: bool,
    blocks: Vec<Vec<u8>>,
    slots: Vec<Slot>,
    /// The keys of the first facts kept, sorted by [`Key::rank`] (see [`Kept::take_keys`]).
    sorted: Vec<Key>,
    /// The keys of the facts kept after those, in the order kept.
    keys: Vec<Key>,
    counts: [u64; 3],
    encoder: Encoder,
}

impl Kept {
    /// Keeps each fact's encoding too, when `encodings`, so that the facts can be read back.
    pub(crate) fn new(encodings: bool) -> Self {
        Self {
            encodings,
            ..Self::default()
        }
    }

    /// Makes room for about `facts` facts.
    pub(crate) fn reserve(&mut self, facts: usize) {
        self.slots.reserve(facts);
        self.keys.reserve(facts);
    }

    /// The keys of the facts kept since the last call, to be sorted ([`sort_keys`]) on another
    /// thread while more facts are kept, and handed back with [`Kept::put_sorted`]: the digest
    /// then has only the later ones to sort.
    pub(crate) fn take_keys(&mut self) -> Vec<Key> {
        std::mem::take(&mut self.keys)
    }

    /// Takes back keys [`Kept::take_keys`] gave, sorted by [`Key::rank`]. Every key taken
    /// must come back, or its fact is missing from the digest.
    pub(crate) fn put_sorted(&mut self, keys: Vec<Key>) {
        debug_assert!(
            keys.is_sorted_by_key(Key::rank),
            "keys handed back in order"
        );
        self.sorted = if self.sorted.is_empty() {
            keys
        } else {
            merge(&self.sorted, &keys)
        };
    }

    /// Keeps `fact`, known by `id`.
    pub(crate) fn keep(&mut self, id: &str, fact: Fact<'_>) {
        self.keep_hashed(id, fact, None);
    }

    /// Keeps `fact`, known by `id`, whose digest hash (SHA-256 of its encoding) is `hash`
    /// when it was worked out already (by the stage that derived the fact).
    pub(crate) fn keep_hashed(&mut self, id: &str, fact: Fact<'_>, hash: Option<[u8; 32]>) {
        let encoding: &[u8] = if self.encodings || hash.is_none() {
            self.encoder.encode(&fact)
        } else {
            &[]
        };
        let hash = hash.unwrap_or_else(|| Sha256::digest(encoding).into());
        let encoding = if self.encodings { encoding } else { &[] };
        let kind = fact.kind();
        self.counts[usize::from(kind)] += 1;
        let need = id.len() + encoding.len();
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
        block.extend_from_slice(id.as_bytes());
        block.extend_from_slice(encoding);
        // A fact of 4 GiB cannot be derived: ids are short, facts small; fewer than 2^32
        // facts fit in memory as slots.
        self.keys.push(Key {
            prefix: prefix(id),
            index: self.slots.len() as u32,
            kind,
        });
        self.slots.push(Slot {
            hash,
            block: block_index as u32,
            start: start as u32,
            id_len: id.len() as u32,
            encoding_len: encoding.len() as u32,
            kind,
        });
    }

    /// Facts kept of each kind, in the order of [`KINDS`] (delivered twice counted twice).
    pub(crate) fn counts(&self) -> [u64; 3] {
        self.counts
    }

    fn id_bytes(&self, slot: &Slot) -> &[u8] {
        let at = slot.start as usize;
        &self.blocks[slot.block as usize][at..at + slot.id_len as usize]
    }

    fn id(&self, slot: &Slot) -> &str {
        // Written from a `&str` by `keep`.
        std::str::from_utf8(self.id_bytes(slot)).unwrap_or_default()
    }

    fn read(&self, slot: &Slot) -> KeptFact<'_> {
        let at = slot.start as usize + slot.id_len as usize;
        KeptFact {
            kind: KINDS[usize::from(slot.kind)],
            id: self.id(slot),
            encoding: &self.blocks[slot.block as usize][at..at + slot.encoding_len as usize],
        }
    }

    /// Every fact kept, in the order derived; `None` unless encodings were kept.
    pub(crate) fn iter(&self) -> Option<impl Iterator<Item = KeptFact<'_>>> {
        self.encodings
            .then(|| self.slots.iter().map(|s| self.read(s)))
    }

    /// The facts in digest order: by kind name, then id, each id once (the first derived).
    /// The keys not sorted yet are sorted, on two threads when none were, and merged with
    /// those that were; then ids that share a prefix are read to put them in order.
    fn ordered(&self) -> Vec<&Slot> {
        let mut rest = self.keys.clone();
        let keys = if self.sorted.is_empty() {
            let half = rest.len() / 2;
            let (front, back) = rest.split_at_mut(half);
            std::thread::scope(|s| {
                s.spawn(|| sort_keys(front));
                sort_keys(back);
            });
            let (front, back) = rest.split_at(half);
            merge(front, back)
        } else {
            sort_keys(&mut rest);
            merge(&self.sorted, &rest)
        };
        let mut ordered: Vec<&Slot> = Vec::with_capacity(keys.len());
        let mut run: Vec<&Key> = Vec::new();
        for same in keys.chunk_by(|a, b| (a.kind, a.prefix) == (b.kind, b.prefix)) {
            if let [one] = same {
                ordered.push(self.slot(one));
                continue;
            }
            // Ids sharing a prefix: in order of their bytes, the first derived first (the
            // sort is stable, and the keys are in the order derived); each id once.
            run.clear();
            run.extend(same);
            run.sort_by(|a, b| self.id_bytes(self.slot(a)).cmp(self.id_bytes(self.slot(b))));
            for pair in
                run.chunk_by(|a, b| self.id_bytes(self.slot(a)) == self.id_bytes(self.slot(b)))
            {
                ordered.push(self.slot(pair[0]));
            }
        }
        ordered
    }

    fn slot(&self, key: &Key) -> &Slot {
        &self.slots[key.index as usize]
    }

    /// The digest over the facts in digest order, as [`crate::digest`] takes it over entries.
    ///
    /// In order, the facts' slots and ids lie all over memory: one thread gathers the bytes
    /// to hash, a chunk at a time, while the other hashes the chunk gathered before.
    pub(crate) fn digest(&self) -> String {
        const CHUNK: usize = 4096;
        let ordered = self.ordered();
        let mut h = Sha256::new();
        std::thread::scope(|s| {
            let (full_tx, full) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
            let (empty_tx, empty) = std::sync::mpsc::channel::<Vec<u8>>();
            s.spawn(move || {
                for chunk in ordered.chunks(CHUNK) {
                    let mut buf = empty.try_recv().unwrap_or_default();
                    buf.clear();
                    for slot in chunk {
                        let kind = KINDS[usize::from(slot.kind)].as_bytes();
                        for part in [kind, self.id_bytes(slot), &slot.hash] {
                            buf.extend_from_slice(&(part.len() as u64).to_be_bytes());
                            buf.extend_from_slice(part);
                        }
                    }
                    // The hashing ends only when this sender is dropped.
                    let _ = full_tx.send(buf);
                }
            });
            for buf in full {
                h.update(&buf);
                // The gatherer may have finished; then the buffer is not needed.
                let _ = empty_tx.send(buf);
            }
        });
        format!("sha256:{}", hex::encode(h.finalize()))
    }

    /// The facts as entries.
    pub(crate) fn entries(&self) -> Entries {
        self.ordered()
            .iter()
            .map(|s| ((KINDS[usize::from(s.kind)], self.id(s).to_string()), s.hash))
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

    /// The entries of `tags`, worked out apart from [`Kept`]: the first of two tags with one
    /// id is the one kept.
    fn entries_of(tags: &[SentimentTag]) -> Entries {
        let mut expected = Entries::new();
        for t in tags {
            let mut bytes = Vec::new();
            Fact::Tag(t).encode(&mut bytes);
            expected
                .entry(("tag", t.fact_id.clone()))
                .or_insert(Sha256::digest(&bytes).into());
        }
        expected
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
        let mut kept = Kept::new(true);
        let mut bare = Kept::new(false);
        for t in &tags {
            kept.keep(&t.fact_id, Fact::Tag(t));
            bare.keep(&t.fact_id, Fact::Tag(t));
        }
        let expected = entries_of(&tags);
        assert_eq!(kept.counts(), [0, 0, ids.len() as u64]);
        assert_eq!(kept.entries(), expected);
        assert_eq!(kept.digest(), crate::digest(&expected));
        let back: Vec<&str> = kept.iter().unwrap().map(|f| f.id).collect();
        assert_eq!(back, ids);
        // Without the encodings, the same entries and digest, and no facts to read back.
        assert_eq!(bare.entries(), expected);
        assert_eq!(bare.digest(), kept.digest());
        assert!(bare.iter().is_none());
    }

    /// `n` tags with `distinct` different ids, which share their first 16 bytes, in no
    /// particular order.
    fn scattered(n: u64, distinct: u64) -> Vec<SentimentTag> {
        (0..n)
            .map(|i| {
                let k = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) % distinct;
                tag(&format!("lat-0123456789ab{k:x}"), i as f64)
            })
            .collect()
    }

    #[test]
    fn many_facts_give_the_digest_of_their_entries() {
        // More than a chunk of the digest's gathering, ids repeated and sharing prefixes,
        // derived in no particular order.
        let tags = scattered(10_000, 7_000);
        let mut kept = Kept::new(false);
        for t in &tags {
            kept.keep(&t.fact_id, Fact::Tag(t));
        }
        let expected = entries_of(&tags);
        assert!(expected.len() < tags.len());
        assert_eq!(kept.entries(), expected);
        assert_eq!(kept.digest(), crate::digest(&expected));
    }

    #[test]
    fn keys_sorted_apart_while_facts_are_kept_give_the_same_digest() {
        // Ids repeated across the keys taken and those kept after, sharing prefixes.
        let tags = scattered(10_000, 5_000);
        let expected = entries_of(&tags);
        for cuts in [&[0][..], &[4_000], &[3_000, 7_000], &[10_000]] {
            let mut kept = Kept::new(false);
            let mut taken = Vec::new();
            for (i, t) in tags.iter().enumerate() {
                if cuts.contains(&i) {
                    taken.push(kept.take_keys());
                }
                kept.keep(&t.fact_id, Fact::Tag(t));
            }
            if cuts.contains(&tags.len()) {
                taken.push(kept.take_keys());
            }
            // Handed back in any order.
            for mut keys in taken.into_iter().rev() {
                sort_keys(&mut keys);
                kept.put_sorted(keys);
            }
            assert_eq!(kept.entries(), expected, "cut at {cuts:?}");
            assert_eq!(kept.digest(), crate::digest(&expected), "cut at {cuts:?}");
        }
    }

    #[test]
    fn a_fact_larger_than_what_is_left_of_a_block_starts_another() {
        let mut kept = Kept::new(true);
        let long = "x".repeat(BLOCK / 3);
        let tags: Vec<SentimentTag> = (0..5).map(|i| tag(&format!("{long}{i}"), 0.0)).collect();
        for t in &tags {
            kept.keep(&t.fact_id, Fact::Tag(t));
        }
        assert!(kept.blocks.len() >= 2);
        // Written where it fits: no block grows past its size (and so none ever moved).
        assert!(kept.blocks.iter().all(|b| b.len() <= BLOCK));
        for (f, t) in kept.iter().unwrap().zip(&tags) {
            let mut bytes = Vec::new();
            Fact::Tag(t).encode(&mut bytes);
            assert_eq!(
                (f.kind, f.id, f.encoding),
                ("tag", t.fact_id.as_str(), &bytes[..])
            );
        }
    }
}
