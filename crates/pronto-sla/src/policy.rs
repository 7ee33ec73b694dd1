//! SLA policies: targets per channel, the business calendar, what pauses the clock, what
//! counts as a reply, and when to warn. Loaded from TOML; versioned by a hash of content.

use crate::calendar::{Calendar, CalendarError, Slot, parse_slot, weekday_index};
use chrono::NaiveDate;
use pronto_domain::{Channel, ConversationStatus};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The built-in policy: first and next reply targets from customer expectations (phone 5 min;
/// chat and social media 1 h; e-mail 24 h), in calendar time, with an office calendar in
/// Europe/Rome used to report business time.
pub const DEFAULT_POLICY_TOML: &str = include_str!("default_policy.toml");

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{file}: {message}")]
    Syntax { file: String, message: String },
    #[error("{file}: {field}: {reason}")]
    Invalid {
        file: String,
        field: String,
        reason: String,
    },
    #[error("{file}: {source}")]
    Calendar { file: String, source: CalendarError },
}

/// How a target is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    /// Wall-clock time, net of pauses.
    Calendar,
    /// Only the calendar's opening hours, net of pauses.
    Business,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub ms: i64,
    pub basis: Basis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelTargets {
    pub first_reply: Target,
    pub next_reply: Target,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetSpec {
    first_reply: String,
    next_reply: String,
    #[serde(default = "calendar_basis")]
    basis: Basis,
}

fn calendar_basis() -> Basis {
    Basis::Calendar
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarSpec {
    time_zone: String,
    #[serde(default)]
    hours: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    holidays: Vec<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicySpec {
    name: String,
    #[serde(default)]
    warn_at: Vec<f64>,
    #[serde(default = "default_pauses")]
    pause_statuses: Vec<String>,
    #[serde(default)]
    count_bot_replies: bool,
    #[serde(default)]
    count_private_notes: bool,
    calendar: Option<CalendarSpec>,
    targets: BTreeMap<String, TargetSpec>,
}

fn default_pauses() -> Vec<String> {
    vec!["pending_customer".into(), "on_hold".into()]
}

/// A loaded, validated policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    /// `name@hash`: names the exact content that produced a verdict.
    pub version: String,
    pub targets: BTreeMap<Channel, ChannelTargets>,
    pub calendar: Calendar,
    pub pause_statuses: Vec<ConversationStatus>,
    /// Fractions of each target in (0, 1) at which a warning fires.
    pub warn_at: Vec<f64>,
    pub count_bot_replies: bool,
    pub count_private_notes: bool,
}

impl Policy {
    /// The built-in policy.
    pub fn builtin() -> Self {
        Self::from_toml("built-in policy", DEFAULT_POLICY_TOML)
            .expect("the built-in policy is valid")
    }

    /// Parses and validates a policy; `file` names it in error messages.
    pub fn from_toml(file: &str, text: &str) -> Result<Self, PolicyError> {
        let spec: PolicySpec = toml::from_str(text).map_err(|e| PolicyError::Syntax {
            file: file.into(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
        let invalid = |field: &str, reason: String| PolicyError::Invalid {
            file: file.into(),
            field: field.into(),
            reason,
        };
        let mut targets = BTreeMap::new();
        for (name, t) in &spec.targets {
            let channel = Channel::parse(name).ok_or_else(|| {
                invalid(
                    &format!("targets.{name}"),
                    format!("unknown channel; expected one of {}", Channel::names()),
                )
            })?;
            let ms = |field: &str, text: &str| -> Result<i64, PolicyError> {
                let d = humantime::parse_duration(text).map_err(|e| {
                    invalid(&format!("targets.{name}.{field}"), format!("'{text}': {e}"))
                })?;
                if d.is_zero() {
                    return Err(invalid(
                        &format!("targets.{name}.{field}"),
                        "must be positive".into(),
                    ));
                }
                Ok(d.as_millis() as i64)
            };
            targets.insert(
                channel,
                ChannelTargets {
                    first_reply: Target {
                        ms: ms("first_reply", &t.first_reply)?,
                        basis: t.basis,
                    },
                    next_reply: Target {
                        ms: ms("next_reply", &t.next_reply)?,
                        basis: t.basis,
                    },
                },
            );
        }
        for c in Channel::ALL {
            if !targets.contains_key(c) {
                return Err(invalid("targets", format!("no target for channel '{c}'")));
            }
        }
        for (i, f) in spec.warn_at.iter().enumerate() {
            if !(*f > 0.0 && *f < 1.0) {
                return Err(invalid(
                    &format!("warn_at[{i}]"),
                    format!("{f} is not between 0 and 1"),
                ));
            }
        }
        let mut warn_at = spec.warn_at.clone();
        warn_at.sort_by(f64::total_cmp);
        warn_at.dedup();
        let mut pause_statuses = Vec::new();
        for (i, s) in spec.pause_statuses.iter().enumerate() {
            match ConversationStatus::parse(s) {
                Some(ConversationStatus::PendingCustomer | ConversationStatus::OnHold) => {
                    pause_statuses
                        .push(ConversationStatus::parse(s).unwrap_or(ConversationStatus::OnHold))
                }
                _ => {
                    return Err(invalid(
                        &format!("pause_statuses[{i}]"),
                        format!("'{s}' cannot pause a clock; expected pending_customer or on_hold"),
                    ));
                }
            }
        }
        let calendar = match &spec.calendar {
            None => Calendar::always_open(),
            Some(c) => {
                let tz =
                    Calendar::parse_tz(&c.time_zone).map_err(|source| PolicyError::Calendar {
                        file: file.into(),
                        source,
                    })?;
                let mut week: [Vec<Slot>; 7] = Default::default();
                for (day, slots) in &c.hours {
                    let d = weekday_index(day).ok_or_else(|| {
                        invalid(
                            &format!("calendar.hours.{day}"),
                            "expected mon, tue, wed, thu, fri, sat or sun".into(),
                        )
                    })?;
                    for s in slots {
                        week[d].push(parse_slot(s).map_err(|source| PolicyError::Calendar {
                            file: file.into(),
                            source,
                        })?);
                    }
                }
                Calendar::new(tz, week, c.holidays.iter().copied()).map_err(|source| {
                    PolicyError::Calendar {
                        file: file.into(),
                        source,
                    }
                })?
            }
        };
        let canonical = serde_json::to_string(&spec).expect("a policy spec serializes");
        let hash = hex::encode(&Sha256::digest(canonical.as_bytes())[..6]);
        Ok(Self {
            version: format!("{}@{hash}", spec.name),
            name: spec.name,
            targets,
            calendar,
            pause_statuses,
            warn_at,
            count_bot_replies: spec.count_bot_replies,
            count_private_notes: spec.count_private_notes,
        })
    }

    pub fn targets_for(&self, channel: Channel) -> ChannelTargets {
        self.targets[&channel]
    }

    pub fn pauses(&self, status: ConversationStatus) -> bool {
        self.pause_statuses.contains(&status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_policy_has_the_published_expectations() {
        let p = Policy::builtin();
        assert_eq!(p.targets_for(Channel::Phone).first_reply.ms, 5 * 60_000);
        assert_eq!(p.targets_for(Channel::Twitter).first_reply.ms, 3_600_000);
        assert_eq!(p.targets_for(Channel::Email).first_reply.ms, 24 * 3_600_000);
        assert!(p.version.starts_with("default@"));
        assert!(p.pauses(ConversationStatus::PendingCustomer));
    }

    #[test]
    fn version_changes_with_content() {
        let changed = DEFAULT_POLICY_TOML.replacen("\"5m\"", "\"6m\"", 1);
        let a = Policy::builtin();
        let b = Policy::from_toml("x.toml", &changed).unwrap();
        assert_ne!(a.version, b.version);
        assert_eq!(a.version, Policy::builtin().version);
    }

    #[test]
    fn the_sample_kubernetes_policy_loads() {
        let yaml = include_str!("../../../deploy/kubernetes/sla-policy.yaml");
        let body: String = yaml
            .split_once("policy.toml: |\n")
            .expect("the ConfigMap holds policy.toml")
            .1
            .lines()
            .map(|l| l.strip_prefix("    ").unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        let p = Policy::from_toml("sla-policy.yaml", &body).unwrap();
        assert!(p.version.starts_with("contract-2026@"));
        assert_eq!(
            p.targets_for(Channel::Email).first_reply.basis,
            Basis::Business
        );
        assert_eq!(p.targets_for(Channel::Email).first_reply.ms, 8 * 3_600_000);
    }

    #[test]
    fn errors_name_the_file_and_field() {
        let bad = DEFAULT_POLICY_TOML.replacen("\"5m\"", "\"soon\"", 1);
        let e = Policy::from_toml("ops.toml", &bad).unwrap_err().to_string();
        assert!(e.starts_with("ops.toml: targets.phone.first_reply"), "{e}");
        let e = Policy::from_toml("ops.toml", "name = 1")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("ops.toml: "), "{e}");
        let unknown = DEFAULT_POLICY_TOML.replacen("[targets.phone]", "[targets.fax]", 1);
        let e = Policy::from_toml("ops.toml", &unknown)
            .unwrap_err()
            .to_string();
        assert!(e.contains("targets.fax"), "{e}");
    }
}
