//! Who works each queue and agent: the outsourcer slice of reports.
//!
//! A TOML file names each outsourcer with the queues it works and the agents it employs:
//!
//! ```toml
//! [outsourcers.contactlab-milano]
//! queues = ["billing", "returns"]
//! agents = ["a-31", "a-32"]
//!
//! [outsourcers.in-house]
//! queues = ["vip"]
//! ```
//!
//! A record counts for its agent's outsourcer, else its queue's; `(none)` when neither is
//! listed. An agent or queue listed under two outsourcers is refused.

use crate::model::NONE;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    outsourcers: BTreeMap<String, Members>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Members {
    #[serde(default)]
    queues: Vec<String>,
    #[serde(default)]
    agents: Vec<String>,
}

/// Outsourcers by agent and by queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outsourcers {
    by_agent: HashMap<String, String>,
    by_queue: HashMap<String, String>,
}

impl Outsourcers {
    /// Reads the file's text; the error names the line or the entry at fault.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: File = pronto_config::parse(text)?;
        let mut out = Outsourcers::default();
        for (name, members) in &file.outsourcers {
            for (what, names, map) in [
                ("agent", &members.agents, &mut out.by_agent),
                ("queue", &members.queues, &mut out.by_queue),
            ] {
                for member in names {
                    if let Some(other) = map.insert(member.clone(), name.clone())
                        && other != *name
                    {
                        return Err(format!(
                            "outsourcers: {what} '{member}' is listed under both '{other}' and '{name}'"
                        ));
                    }
                }
            }
        }
        Ok(out)
    }

    /// The outsourcer a record of `queue` handled by `agent` counts for.
    pub fn of<'a>(&'a self, queue: &str, agent: &str) -> &'a str {
        self.by_agent
            .get(agent)
            .or_else(|| self.by_queue.get(queue))
            .map_or(NONE, String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.by_agent.is_empty() && self.by_queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
[outsourcers.contactlab]
queues = [\"billing\", \"returns\"]
agents = [\"a-31\"]

[outsourcers.in-house]
queues = [\"vip\"]
agents = [\"a-1\"]
";

    #[test]
    fn the_agent_decides_then_the_queue() {
        let o = Outsourcers::from_toml(FILE).unwrap();
        assert_eq!(o.of("billing", "a-9"), "contactlab");
        // An in-house agent helping on an outsourced queue counts in-house.
        assert_eq!(o.of("billing", "a-1"), "in-house");
        assert_eq!(o.of("vip", "a-31"), "contactlab");
        assert_eq!(o.of("sales", "a-9"), NONE);
    }

    #[test]
    fn a_member_of_two_outsourcers_or_a_bad_file_is_refused() {
        let twice = format!("{FILE}\n[outsourcers.other]\nqueues = [\"vip\"]\n");
        let e = Outsourcers::from_toml(&twice).unwrap_err();
        assert!(e.contains("queue 'vip' is listed under both"), "{e}");
        let e = Outsourcers::from_toml("[outsourcers.x]\nteams = []\n").unwrap_err();
        assert!(
            e.starts_with("line 2, column 1: unknown field `teams`"),
            "{e}"
        );
    }
}
