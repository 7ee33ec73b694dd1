//! Policy versions as the policies topic records them: the record that publishes a version,
//! the version read back from a record, and when a newly offered version may take over.

use crate::{Policy, PolicyError, PolicyVersions};
use pronto_domain::{Classified, EventTime, Fault, VersionRecord};
use std::sync::Arc;

/// Why a policies-topic record holds no policy.
#[derive(Debug, thiserror::Error)]
pub enum PublishedError {
    #[error("policy {version}: effective_from is missing")]
    Undated { version: String },
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

/// A record published wrong stays wrong: reading it again fails the same way.
impl Classified for PublishedError {
    fn fault(&self) -> Fault {
        Fault::User
    }
}

/// A version published without `effective_from` takes over this long after it is published,
/// so that every replica has read it before it applies to any event.
pub const ACTIVATION_DELAY_MS: i64 = 5_000;

/// A policy version read back from its record.
#[derive(Debug, Clone)]
pub struct Published {
    /// The instant it takes over.
    pub from: EventTime,
    /// The policy, named as published.
    pub policy: Arc<Policy>,
    /// The version this build works out from the text, when it differs from the published
    /// name (verdicts keep the published name, so that a replay names what the live run did).
    pub computed_version: Option<String>,
}

/// The record that publishes `policy` (read from `file`) taking over at `from`, by
/// `publisher` at `now` on its wall clock.
pub fn record(
    policy: &Policy,
    file: &str,
    from: EventTime,
    publisher: &str,
    now: EventTime,
) -> VersionRecord {
    VersionRecord {
        version: policy.version.clone(),
        effective_from: Some(from),
        source: policy.source.clone(),
        file: file.to_string(),
        publisher: publisher.to_string(),
        published_at: Some(now),
    }
}

/// The policy a record publishes, or why its text is not a policy.
pub fn read(r: &VersionRecord) -> Result<Published, PublishedError> {
    let from = r.effective_from.ok_or_else(|| PublishedError::Undated {
        version: r.version.clone(),
    })?;
    let mut policy = Policy::from_toml(&r.file, &r.source)?;
    let computed_version = (policy.version != r.version).then(|| policy.version.clone());
    policy.version.clone_from(&r.version);
    Ok(Published {
        from,
        policy: Arc::new(policy),
        computed_version,
    })
}

/// When `policy` should take over, given the versions published so far and the wall clock:
/// `Ok(None)` when its version is published already (each version is published once).
/// An `effective_from` in the past is refused once any version exists: verdicts already
/// emitted would no longer match a replay.
pub fn activation(
    versions: &PolicyVersions,
    policy: &Policy,
    now: EventTime,
) -> Result<Option<EventTime>, String> {
    if versions.get(&policy.version).is_some() {
        return Ok(None);
    }
    match policy.effective_from {
        None => Ok(Some(now.plus_millis(ACTIVATION_DELAY_MS))),
        Some(at) if versions.is_empty() || at >= now => Ok(Some(at)),
        Some(at) => Err(format!(
            "policy {}: effective_from {at} is in the past; verdicts already emitted under {} would change. Leave effective_from out, or set a later instant",
            policy.version,
            versions.in_force(now).version
        )),
    }
}

impl PolicyVersions {
    /// Adds the version a policies-topic record publishes; whether it was new, or why the
    /// record holds no policy.
    pub fn add_record(&mut self, r: &VersionRecord) -> Result<bool, PublishedError> {
        let p = read(r)?;
        Ok(self.add(p.from, p.policy))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(extra: &str) -> Policy {
        let text = format!("{extra}\n{}", crate::policy::DEFAULT_POLICY_TOML).replacen(
            "name = \"default\"",
            "name = \"contract\"",
            1,
        );
        Policy::from_toml("contract.toml", &text).unwrap()
    }

    #[test]
    fn a_record_reads_back_with_its_version_and_instant() {
        let p = policy("");
        let r = record(
            &p,
            "contract.toml",
            EventTime(5_000),
            "sla-0",
            EventTime(1_000),
        );
        let back = read(&r).unwrap();
        assert_eq!(back.from, EventTime(5_000));
        assert_eq!(back.policy.version, p.version);
        assert_eq!(back.computed_version, None);
        // Published under another name: the name stays, and the difference is told.
        let renamed = VersionRecord {
            version: "contract@0000".into(),
            ..r.clone()
        };
        let back = read(&renamed).unwrap();
        assert_eq!(back.policy.version, "contract@0000");
        assert_eq!(back.computed_version.as_deref(), Some(p.version.as_str()));
        // Text that is not a policy names its file.
        let bad = VersionRecord {
            source: "name = ".into(),
            ..r.clone()
        };
        let err = read(&bad).unwrap_err();
        assert!(err.to_string().contains("contract.toml"), "{err}");
        assert_eq!(err.fault(), Fault::User);
        let undated = VersionRecord {
            effective_from: None,
            ..r
        };
        assert!(
            read(&undated)
                .unwrap_err()
                .to_string()
                .contains("effective_from")
        );
    }

    #[test]
    fn a_version_is_published_once_and_never_into_the_past() {
        let now = EventTime(1_800_000_000_000);
        let mut versions = PolicyVersions::empty();
        let first = policy("effective_from = \"2026-01-01T00:00:00Z\"");
        // The first version may cover history.
        let at = activation(&versions, &first, now).unwrap().unwrap();
        assert_eq!(at.to_rfc3339(), "2026-01-01T00:00:00.000Z");
        let r = record(&first, "contract.toml", at, "sla-0", now);
        assert!(versions.add_record(&r).unwrap());
        assert!(!versions.add_record(&r).unwrap());
        assert_eq!(activation(&versions, &first, now), Ok(None));

        let second = policy("");
        assert_eq!(
            activation(&versions, &second, now),
            Ok(Some(now.plus_millis(ACTIVATION_DELAY_MS)))
        );
        let past = policy("effective_from = \"2026-06-01T00:00:00Z\"");
        let err = activation(&versions, &past, now).unwrap_err();
        assert!(err.contains("in the past"), "{err}");
        let future = policy("effective_from = \"2030-01-01T00:00:00Z\"");
        assert_eq!(
            activation(&versions, &future, now)
                .unwrap()
                .unwrap()
                .to_rfc3339(),
            "2030-01-01T00:00:00.000Z"
        );
    }
}
