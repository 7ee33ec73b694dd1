//! The policy versions in force over time. A verdict depends on the version in force when its
//! clock started, so live runs and replays of any period agree as long as they see the same
//! list of versions, which is itself a log (the policies topic).

use crate::Policy;
use pronto_domain::EventTime;
use std::sync::Arc;

/// Policy versions ordered by the instant each takes over.
#[derive(Debug, Clone)]
pub struct PolicyVersions {
    /// `(effective_from, policy)`, sorted by instant; equal instants keep arrival order.
    entries: Vec<(EventTime, Arc<Policy>)>,
}

impl PolicyVersions {
    /// One policy, in force for all time.
    pub fn single(policy: Arc<Policy>) -> Self {
        Self {
            entries: vec![(EventTime(i64::MIN), policy)],
        }
    }

    /// No version yet; [`PolicyVersions::add`] the first before asking which is in force.
    pub fn empty() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// Adds `policy` taking over at `from`. A version already listed is ignored (the first
    /// publication of a version is the one that counts); returns whether it was added.
    pub fn add(&mut self, from: EventTime, policy: Arc<Policy>) -> bool {
        if self.get(&policy.version).is_some() {
            return false;
        }
        let at = self.entries.partition_point(|(t, _)| *t <= from);
        self.entries.insert(at, (from, policy));
        true
    }

    /// The version in force at `at`: the last to take over at or before it. Before the first
    /// version's instant, the first applies (it is the earliest policy known).
    ///
    /// # Panics
    /// When no version was added.
    pub fn in_force(&self, at: EventTime) -> &Arc<Policy> {
        let i = self.entries.partition_point(|(t, _)| *t <= at);
        &self.entries[i.saturating_sub(1)].1
    }

    /// The version that takes over last.
    pub fn latest(&self) -> Option<&(EventTime, Arc<Policy>)> {
        self.entries.last()
    }

    /// A listed version by its name.
    pub fn get(&self, version: &str) -> Option<&(EventTime, Arc<Policy>)> {
        self.entries.iter().find(|(_, p)| p.version == version)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The versions, by the instant each takes over.
    pub fn iter(&self) -> impl Iterator<Item = &(EventTime, Arc<Policy>)> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(name: &str) -> Arc<Policy> {
        let text = crate::policy::DEFAULT_POLICY_TOML.replacen(
            "name = \"default\"",
            &format!("name = \"{name}\""),
            1,
        );
        Arc::new(Policy::from_toml("test", &text).unwrap())
    }

    #[test]
    fn the_version_in_force_is_the_last_to_take_over() {
        let (a, b, c) = (policy("a"), policy("b"), policy("c"));
        let mut v = PolicyVersions::empty();
        assert!(v.add(EventTime(100), Arc::clone(&a)));
        assert!(v.add(EventTime(300), Arc::clone(&c)));
        // Published later, taking over earlier: ordered by instant, not arrival.
        assert!(v.add(EventTime(200), Arc::clone(&b)));
        // A version published again keeps its first instant.
        assert!(!v.add(EventTime(250), Arc::clone(&a)));
        let at = |t: i64| v.in_force(EventTime(t)).name.clone();
        assert_eq!(
            [
                at(0),
                at(100),
                at(199),
                at(200),
                at(299),
                at(300),
                at(i64::MAX)
            ],
            ["a", "a", "a", "b", "b", "c", "c"]
        );
        assert_eq!(v.latest().unwrap().1.name, "c");
        assert_eq!(v.get(&b.version).unwrap().0, EventTime(200));
        assert_eq!(v.len(), 3);
    }
}
