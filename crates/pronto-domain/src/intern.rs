//! Names that many records share (tenants, queues, agents, tiers, models, levels), each kept
//! once: a record holds the name's symbol, its index here, and compares, groups and counts by
//! symbol rather than by comparing and copying strings.

use crate::Name;
use rustc_hash::FxBuildHasher;
use std::collections::HashMap;

/// An interner: each distinct name once, known by its symbol.
#[derive(Debug, Clone)]
pub struct Interner {
    names: Vec<Name>,
    index: HashMap<Name, u32, FxBuildHasher>,
}

impl Interner {
    /// The symbol of the name an interner starts with.
    pub const FIRST: u32 = 0;

    /// An interner whose symbol [`Interner::FIRST`] is `first` (the empty name, or the
    /// name a report shows for "none").
    pub fn new(first: &str) -> Self {
        let mut interner = Self {
            names: Vec::new(),
            index: HashMap::default(),
        };
        interner.intern(first);
        interner
    }

    /// The symbol of `name`, made if it is new.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(i) = self.index.get(name) {
            return *i;
        }
        let i = u32::try_from(self.names.len()).expect("fewer than 2^32 distinct names");
        self.names.push(name.into());
        self.index.insert(name.into(), i);
        i
    }

    /// The name of `symbol`.
    ///
    /// # Panics
    /// When `symbol` was not made by this interner.
    pub fn name(&self, symbol: u32) -> &Name {
        &self.names[symbol as usize]
    }

    /// How many names it holds.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Never: it holds at least the name it started with.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_is_kept_once_and_found_by_its_symbol() {
        let mut n = Interner::new("(none)");
        assert_eq!(n.intern("(none)"), Interner::FIRST);
        let billing = n.intern("billing");
        let long = n.intern("a queue name longer than twenty-four bytes");
        assert_eq!(n.intern("billing"), billing);
        assert_ne!(billing, long);
        assert_eq!(n.name(billing), "billing");
        assert_eq!(n.name(long), "a queue name longer than twenty-four bytes");
        assert_eq!(n.name(Interner::FIRST), "(none)");
        assert_eq!(n.len(), 3);
        assert!(!n.is_empty());
    }
}
