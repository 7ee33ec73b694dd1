//! SLA policies: targets per channel, the business calendar, what pauses the clock, what
//! counts as a reply, and when to warn. Loaded from TOML; versioned by a hash of content.

use crate::calendar::{Calendar, CalendarSpec};
use chrono::NaiveDate;
use pronto_domain::{Channel, ConversationContext, ConversationStatus, EventTime, Priority};
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
    #[error("{file}: {reason}")]
    Unreadable { file: String, reason: String },
    #[error("{file}: {}{field}: {reason}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
    Invalid {
        file: String,
        /// Where the field is written, when it is (a missing field has no line).
        line: Option<usize>,
        field: String,
        reason: String,
    },
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
    /// From the first customer message to solved; not measured when absent.
    pub resolution: Option<Target>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetSpec {
    first_reply: String,
    next_reply: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resolution: Option<String>,
    #[serde(default = "calendar_basis")]
    basis: Basis,
}

fn calendar_basis() -> Basis {
    Basis::Calendar
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchSpec {
    channel: Option<String>,
    priority: Option<String>,
    customer_tier: Option<String>,
    queue: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    name: String,
    #[serde(rename = "match")]
    matches: MatchSpec,
    first_reply: String,
    next_reply: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resolution: Option<String>,
    #[serde(default = "calendar_basis")]
    basis: Basis,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicySpec {
    name: String,
    /// When this version takes over (RFC 3339); when it is published, if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    effective_from: Option<String>,
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
    #[serde(default)]
    rules: Vec<RuleSpec>,
}

/// What a rule applies to; an unset dimension matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Match {
    pub channel: Option<Channel>,
    pub priority: Option<Priority>,
    pub customer_tier: Option<String>,
    pub queue: Option<String>,
}

impl Match {
    fn matches(&self, ctx: &ConversationContext) -> bool {
        self.matches_parts(ctx.channel, ctx.priority, &ctx.customer_tier, &ctx.queue)
    }

    fn matches_parts(&self, channel: Channel, priority: Priority, tier: &str, queue: &str) -> bool {
        self.channel.is_none_or(|c| c == channel)
            && self.priority.is_none_or(|p| p == priority)
            && self.customer_tier.as_deref().is_none_or(|t| t == tier)
            && self.queue.as_deref().is_none_or(|q| q == queue)
    }

    /// Precedence: more dimensions set wins; among as many, priority outranks customer
    /// tier, which outranks queue, which outranks channel.
    fn specificity(&self) -> (u32, u32) {
        let dims = [
            (self.priority.is_some(), 8),
            (self.customer_tier.is_some(), 4),
            (self.queue.is_some(), 2),
            (self.channel.is_some(), 1),
        ];
        (
            dims.iter().filter(|d| d.0).count() as u32,
            dims.iter().filter(|d| d.0).map(|d| d.1).sum(),
        )
    }
}

/// A target rule: for conversations that match, these targets instead of the channel's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub matches: Match,
    pub first_reply: Target,
    pub next_reply: Target,
    /// The rule's resolution target; the channel's when the rule sets none.
    pub resolution: Option<Target>,
}

/// A target duration such as `5m` or `1h 30m`, in milliseconds; positive.
fn target_ms(text: &str) -> Result<i64, String> {
    let d = humantime::parse_duration(text)
        .map_err(|e| format!("'{text}' is not a duration such as \"30m\" or \"1h 30m\" ({e})"))?;
    if d.is_zero() {
        return Err("must be positive".into());
    }
    Ok(d.as_millis() as i64)
}

fn default_pauses() -> Vec<String> {
    vec!["pending_customer".into(), "on_hold".into()]
}

/// Parses a policy file's text; syntax errors name the line and column.
fn parse_spec(file: &str, text: &str) -> Result<PolicySpec, PolicyError> {
    crate::tomlfile::parse(text).map_err(|message| PolicyError::Syntax {
        file: file.into(),
        message,
    })
}

/// A loaded, validated policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    /// `name@hash`: names the exact content that produced a verdict.
    pub version: String,
    pub targets: BTreeMap<Channel, ChannelTargets>,
    /// Target rules, most specific first.
    pub rules: Vec<Rule>,
    pub calendar: Calendar,
    pub pause_statuses: Vec<ConversationStatus>,
    /// Fractions of each target in (0, 1) at which a warning fires.
    pub warn_at: Vec<f64>,
    pub count_bot_replies: bool,
    pub count_private_notes: bool,
    /// The instant the file says this version takes over, if it says one.
    pub effective_from: Option<EventTime>,
    /// The file's text, as published with the version so a replay can rebuild it.
    pub source: String,
}

impl Policy {
    /// The built-in policy.
    pub fn builtin() -> Self {
        Self::from_toml("built-in policy", DEFAULT_POLICY_TOML)
            .expect("the built-in policy is valid")
    }

    /// Parses and validates a policy; `file` names it in error messages.
    pub fn from_toml(file: &str, text: &str) -> Result<Self, PolicyError> {
        Self::build(file, text, None)
    }

    /// Loads a policy file, with the holidays of the iCalendar file it names
    /// (`calendar.holidays_ical`, relative to the policy file). The policy's `source` is then
    /// a self-contained text with those holidays listed, so a replay needs no other file.
    pub fn load(path: &std::path::Path) -> Result<Self, PolicyError> {
        let file = path.display().to_string();
        let unreadable = |file: &str, e: std::io::Error| PolicyError::Unreadable {
            file: file.to_string(),
            reason: e.to_string(),
        };
        let text = std::fs::read_to_string(path).map_err(|e| unreadable(&file, e))?;
        let spec = parse_spec(&file, &text)?;
        let Some(ics) = spec.calendar.as_ref().and_then(|c| c.holidays_ical.clone()) else {
            return Self::from_toml(&file, &text);
        };
        let ics_path = path
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join(&ics);
        let invalid = |reason: String| PolicyError::Invalid {
            file: file.clone(),
            line: crate::tomlfile::line_of(&text, "calendar.holidays_ical"),
            field: "calendar.holidays_ical".into(),
            reason,
        };
        let ics_text = std::fs::read_to_string(&ics_path)
            .map_err(|e| invalid(format!("{}: {e}", ics_path.display())))?;
        let days = crate::calendar::holidays_from_ical(&ics_text)
            .map_err(|e| invalid(format!("{}: {e}", ics_path.display())))?;
        let mut policy = Self::build(&file, &text, Some(days))?;
        let mut resolved = spec;
        if let Some(c) = resolved.calendar.as_mut() {
            c.holidays = policy.calendar.holidays().collect();
            c.holidays_ical = None;
        }
        policy.source = format!(
            "# {file}, with the holidays of {ics} listed\n{}",
            toml::to_string(&resolved).expect("a policy spec serializes")
        );
        Ok(policy)
    }

    /// Validates `text`; `imported` are holidays read from the file `holidays_ical` names.
    fn build(
        file: &str,
        text: &str,
        imported: Option<Vec<NaiveDate>>,
    ) -> Result<Self, PolicyError> {
        let mut spec = parse_spec(file, text)?;
        let invalid = |field: &str, reason: String| PolicyError::Invalid {
            file: file.into(),
            line: crate::tomlfile::line_of(text, field),
            field: field.into(),
            reason,
        };
        // Imported holidays join those listed; the version is computed over the result, the
        // same whether the holidays came from the iCalendar file or the published text.
        if let Some(c) = spec.calendar.as_mut() {
            match (c.holidays_ical.take(), imported) {
                (Some(_), Some(days)) => {
                    c.holidays.extend(days);
                    c.holidays.sort_unstable();
                    c.holidays.dedup();
                }
                (Some(_), None) => {
                    return Err(invalid(
                        "calendar.holidays_ical",
                        "is read only when the policy is loaded from its file".into(),
                    ));
                }
                (None, _) => {}
            }
        }
        let mut targets = BTreeMap::new();
        for (name, t) in &spec.targets {
            let channel = Channel::parse(name).ok_or_else(|| {
                invalid(
                    &format!("targets.{name}"),
                    format!("unknown channel; expected one of {}", Channel::names()),
                )
            })?;
            let ms = |field: &str, text: &str| {
                target_ms(text)
                    .map_err(|reason| invalid(&format!("targets.{name}.{field}"), reason))
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
                    resolution: t
                        .resolution
                        .as_deref()
                        .map(|r| {
                            Ok::<_, PolicyError>(Target {
                                ms: ms("resolution", r)?,
                                basis: t.basis,
                            })
                        })
                        .transpose()?,
                },
            );
        }
        for c in Channel::ALL {
            if !targets.contains_key(c) {
                return Err(invalid("targets", format!("no target for channel '{c}'")));
            }
        }
        let mut rules: Vec<Rule> = Vec::new();
        for (i, r) in spec.rules.iter().enumerate() {
            let at = |field: &str| format!("rules[{i}] ({}).{field}", r.name);
            let m = &r.matches;
            let matches = Match {
                channel: m
                    .channel
                    .as_deref()
                    .map(|c| {
                        Channel::parse(c).ok_or_else(|| {
                            invalid(
                                &at("match.channel"),
                                format!(
                                    "unknown channel '{c}'; expected one of {}",
                                    Channel::names()
                                ),
                            )
                        })
                    })
                    .transpose()?,
                priority: m
                    .priority
                    .as_deref()
                    .map(|p| {
                        Priority::parse(p).ok_or_else(|| {
                            invalid(
                                &at("match.priority"),
                                format!(
                                    "unknown priority '{p}'; expected one of {}",
                                    Priority::names()
                                ),
                            )
                        })
                    })
                    .transpose()?,
                customer_tier: m.customer_tier.clone(),
                queue: m.queue.clone(),
            };
            if matches == Match::default() {
                return Err(invalid(
                    &at("match"),
                    "matches everything; set channel, priority, customer_tier or queue".into(),
                ));
            }
            if let Some(twin) = rules.iter().find(|o| o.matches == matches) {
                return Err(invalid(
                    &at("match"),
                    format!(
                        "is the same as rule '{}': which applies would be ambiguous",
                        twin.name
                    ),
                ));
            }
            let ms = |field: &str, text: &str| {
                target_ms(text).map_err(|reason| invalid(&at(field), reason))
            };
            rules.push(Rule {
                name: r.name.clone(),
                first_reply: Target {
                    ms: ms("first_reply", &r.first_reply)?,
                    basis: r.basis,
                },
                next_reply: Target {
                    ms: ms("next_reply", &r.next_reply)?,
                    basis: r.basis,
                },
                resolution: r
                    .resolution
                    .as_deref()
                    .map(|text| {
                        Ok::<_, PolicyError>(Target {
                            ms: ms("resolution", text)?,
                            basis: r.basis,
                        })
                    })
                    .transpose()?,
                matches,
            });
        }
        // Most specific first; the sort is stable, and equal keys cannot both match (they
        // differ in a value of the same dimensions), so file order never decides.
        rules.sort_by_key(|r| std::cmp::Reverse(r.matches.specificity()));
        for (i, f) in spec.warn_at.iter().enumerate() {
            if !(*f > 0.0 && *f < 1.0) {
                return Err(invalid(
                    &format!("warn_at[{i}]"),
                    format!("{f} is not between 0 and 1"),
                ));
            }
        }
        if spec.warn_at.len() > 16 {
            return Err(invalid(
                "warn_at",
                format!("{} warnings; at most 16 are allowed", spec.warn_at.len()),
            ));
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
            Some(c) => c
                .build()
                .map_err(|(field, reason)| invalid(&format!("calendar.{field}"), reason))?,
        };
        let effective_from = spec
            .effective_from
            .as_deref()
            .map(|s| {
                EventTime::parse_rfc3339(s).map_err(|e| {
                    invalid(
                        "effective_from",
                        format!("'{s}' is not an RFC 3339 instant: {e}"),
                    )
                })
            })
            .transpose()?;
        let canonical = serde_json::to_string(&spec).expect("a policy spec serializes");
        let hash = hex::encode(&Sha256::digest(canonical.as_bytes())[..6]);
        Ok(Self {
            version: format!("{}@{hash}", spec.name),
            name: spec.name,
            targets,
            rules,
            calendar,
            pause_statuses,
            warn_at,
            count_bot_replies: spec.count_bot_replies,
            count_private_notes: spec.count_private_notes,
            effective_from,
            source: text.to_string(),
        })
    }

    pub fn targets_for(&self, channel: Channel) -> ChannelTargets {
        self.targets[&channel]
    }

    /// The targets for a conversation as it stands: those of the most specific matching rule,
    /// else its channel's; and the rule's name (`channel:<name>` for a channel's).
    /// The targets [`Policy::targets_in`] gives, from the conversation's parts: what the
    /// engine asks at each clock start, without building a context.
    pub fn targets_of(
        &self,
        channel: Channel,
        priority: Priority,
        tier: &str,
        queue: &str,
    ) -> ChannelTargets {
        let by_channel = self.targets_for(channel);
        match self
            .rules
            .iter()
            .find(|r| r.matches.matches_parts(channel, priority, tier, queue))
        {
            Some(r) => ChannelTargets {
                first_reply: r.first_reply,
                next_reply: r.next_reply,
                resolution: r.resolution.or(by_channel.resolution),
            },
            None => by_channel,
        }
    }

    pub fn targets_in(&self, ctx: &ConversationContext) -> (ChannelTargets, String) {
        match self.rules.iter().find(|r| r.matches.matches(ctx)) {
            Some(r) => (
                ChannelTargets {
                    first_reply: r.first_reply,
                    next_reply: r.next_reply,
                    resolution: r.resolution.or(self.targets_for(ctx.channel).resolution),
                },
                r.name.clone(),
            ),
            None => (
                self.targets_for(ctx.channel),
                format!("channel:{}", ctx.channel),
            ),
        }
    }

    pub fn pauses(&self, status: ConversationStatus) -> bool {
        self.pause_statuses.contains(&status)
    }
}

impl pronto_domain::Classified for PolicyError {
    fn fault(&self) -> pronto_domain::Fault {
        pronto_domain::Fault::User
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

    const RULES: &str = r#"
[[rules]]
name = "phone-high"
match = { channel = "phone", priority = "high" }
first_reply = "2m"
next_reply = "3m"

[[rules]]
name = "gold"
match = { customer_tier = "gold" }
first_reply = "10m"
next_reply = "10m"

[[rules]]
name = "vip-queue-phone"
match = { channel = "phone", queue = "vip" }
first_reply = "1m"
next_reply = "1m"

[[rules]]
name = "urgent"
match = { priority = "urgent" }
first_reply = "30s"
next_reply = "30s"
"#;

    fn ctx(channel: Channel, priority: Priority, tier: &str, queue: &str) -> ConversationContext {
        let mut c = ConversationContext::new("t", "c", channel);
        c.priority = priority;
        c.customer_tier = tier.into();
        c.queue = queue.into();
        c
    }

    #[test]
    fn the_most_specific_rule_wins_whatever_the_file_order() {
        let p = Policy::from_toml("p.toml", &format!("{DEFAULT_POLICY_TOML}{RULES}")).unwrap();
        let name = |c: ConversationContext| {
            // The engine asks by the conversation's parts; the answer is the same.
            assert_eq!(
                p.targets_of(c.channel, c.priority, &c.customer_tier, &c.queue),
                p.targets_in(&c).0
            );
            p.targets_in(&c).1
        };
        assert_eq!(
            name(ctx(Channel::Email, Priority::Normal, "", "")),
            "channel:email"
        );
        assert_eq!(
            name(ctx(Channel::Email, Priority::Normal, "gold", "")),
            "gold"
        );
        assert_eq!(
            name(ctx(Channel::Phone, Priority::Urgent, "", "")),
            "urgent"
        );
        // Two dimensions beat one.
        assert_eq!(
            name(ctx(Channel::Phone, Priority::High, "gold", "")),
            "phone-high"
        );
        // As many dimensions: priority outranks queue.
        assert_eq!(
            name(ctx(Channel::Phone, Priority::High, "", "vip")),
            "phone-high"
        );
        assert_eq!(
            name(ctx(Channel::Phone, Priority::Normal, "", "vip")),
            "vip-queue-phone"
        );
        assert_eq!(
            p.targets_in(&ctx(Channel::Phone, Priority::High, "", ""))
                .0
                .next_reply
                .ms,
            180_000
        );

        // Reversing the rules changes nothing.
        let blocks: Vec<&str> = RULES
            .split("[[rules]]")
            .filter(|b| !b.trim().is_empty())
            .collect();
        let reversed: String = blocks
            .iter()
            .rev()
            .map(|b| format!("[[rules]]{b}"))
            .collect();
        let q = Policy::from_toml("q.toml", &format!("{DEFAULT_POLICY_TOML}\n{reversed}")).unwrap();
        for c in [
            ctx(Channel::Phone, Priority::High, "gold", "vip"),
            ctx(Channel::Phone, Priority::Normal, "gold", "vip"),
            ctx(Channel::Chat, Priority::Urgent, "gold", ""),
        ] {
            assert_eq!(p.targets_in(&c), q.targets_in(&c));
        }
    }

    #[test]
    fn ambiguous_or_empty_rules_are_refused() {
        let twin = format!(
            "{DEFAULT_POLICY_TOML}{RULES}\n[[rules]]\nname = \"again\"\nmatch = {{ priority = \"urgent\" }}\nfirst_reply = \"1m\"\nnext_reply = \"1m\"\n"
        );
        let e = Policy::from_toml("p.toml", &twin).unwrap_err().to_string();
        assert!(
            e.contains("rules[4] (again).match") && e.contains("'urgent'"),
            "{e}"
        );
        let empty = format!(
            "{DEFAULT_POLICY_TOML}\n[[rules]]\nname = \"all\"\nmatch = {{}}\nfirst_reply = \"1m\"\nnext_reply = \"1m\"\n"
        );
        assert!(
            Policy::from_toml("p.toml", &empty)
                .unwrap_err()
                .to_string()
                .contains("matches everything")
        );
    }

    #[test]
    fn errors_name_the_file_and_field() {
        let bad = DEFAULT_POLICY_TOML.replacen("\"5m\"", "\"soon\"", 1);
        let e = Policy::from_toml("ops.toml", &bad).unwrap_err().to_string();
        let line = 1 + DEFAULT_POLICY_TOML[..DEFAULT_POLICY_TOML.find("\"5m\"").unwrap()]
            .matches('\n')
            .count();
        assert!(
            e.starts_with(&format!("ops.toml: line {line}: targets.phone.first_reply")),
            "{e}"
        );
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

    #[test]
    fn semantic_errors_name_the_line() {
        let e = |t: &str| Policy::from_toml("p.toml", t).unwrap_err().to_string();
        // The 1-based line of the first line of `t` starting with `prefix`.
        let line =
            |t: &str, prefix: &str| t.lines().position(|l| l.starts_with(prefix)).unwrap() + 1;
        let cases = [
            (
                "warn_at = [0.5, 0.8]",
                "warn_at = [0.5, 1.5]",
                "warn_at",
                "warn_at[1]: 1.5",
            ),
            (
                "time_zone = \"Europe/Rome\"",
                "time_zone = \"Europe/Roma\"",
                "time_zone",
                "calendar.time_zone: unknown time zone",
            ),
            (
                "mon = [\"09:00-13:00\", \"14:00-18:00\"]",
                "mon = [\"09:00-13:00\",\n  \"14:00-25:00\"]",
                "  \"14:00-25:00",
                "calendar.hours.mon[1]: slot '14:00-25:00'",
            ),
            (
                "[targets.chat]\nfirst_reply = \"1h\"",
                "[targets.chat]\nfirst_reply = \"1 fortnight\"",
                "first_reply = \"1 fortnight",
                "targets.chat.first_reply",
            ),
        ];
        for (from, to, at, want) in cases {
            let text = DEFAULT_POLICY_TOML.replacen(from, to, 1);
            assert_ne!(text, DEFAULT_POLICY_TOML, "{from}");
            let want = format!("p.toml: line {}: {want}", line(&text, at));
            assert!(e(&text).starts_with(&want), "{} / {want}", e(&text));
        }
        let rules = format!(
            "{DEFAULT_POLICY_TOML}\n[[rules]]\nname = \"gold\"\nmatch = {{ channel = \"fax\" }}\nfirst_reply = \"1m\"\nnext_reply = \"1m\"\n"
        );
        let want = format!(
            "p.toml: line {}: rules[0] (gold).match.channel",
            line(&rules, "match")
        );
        assert!(e(&rules).starts_with(&want), "{}", e(&rules));
        // A missing channel: the error points at the targets.
        let missing = DEFAULT_POLICY_TOML.replacen(
            "[targets.email]\nfirst_reply = \"24h\"\nnext_reply = \"24h\"",
            "",
            1,
        );
        let want = format!(
            "p.toml: line {}: targets: no target for channel 'email'",
            line(&missing, "[targets.")
        );
        assert!(e(&missing).starts_with(&want), "{} / {want}", e(&missing));
    }

    const ICS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
BEGIN:VEVENT\r\nUID:1\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Natale\r\nDTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261227\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:2\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Festa della Repubblica\r\nDTSTART;VALUE=DATE:20260602\r\nRRULE:FREQ=YEARLY;COUNT=3\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:3\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Inventory\r\nDTSTART:20260302T080000Z\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";

    #[test]
    fn holidays_come_from_an_icalendar_file() {
        let days: Vec<String> = crate::calendar::holidays_from_ical(ICS)
            .unwrap()
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(
            days,
            [
                "2026-03-02",
                "2026-06-02",
                "2026-12-25",
                "2026-12-26",
                "2027-06-02",
                "2028-06-02"
            ]
        );
        let weekly = ICS.replace("FREQ=YEARLY;COUNT=3", "FREQ=WEEKLY");
        let e = crate::calendar::holidays_from_ical(&weekly).unwrap_err();
        assert!(
            e.contains("'Festa della Repubblica'") && e.contains("only FREQ=YEARLY"),
            "{e}"
        );
        let until = ICS.replace("COUNT=3", "UNTIL=20270701");
        assert_eq!(
            crate::calendar::holidays_from_ical(&until).unwrap().len(),
            5
        );
        assert!(crate::calendar::holidays_from_ical("not a calendar").is_err());
    }

    #[test]
    fn a_policy_file_imports_its_holidays_and_publishes_them_inline() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("it.ics"), ICS).unwrap();
        let text = DEFAULT_POLICY_TOML.replacen(
            "holidays = []",
            "holidays = [\"2026-08-15\"]\nholidays_ical = \"it.ics\"",
            1,
        );
        let path = dir.path().join("policy.toml");
        std::fs::write(&path, &text).unwrap();
        let p = Policy::load(&path).unwrap();
        let days: Vec<String> = p.calendar.holidays().map(|d| d.to_string()).collect();
        assert_eq!(days.len(), 7, "{days:?}");
        assert!(
            days.contains(&"2026-08-15".to_string()) && days.contains(&"2026-12-26".to_string())
        );
        // Monday 2 March 2026 is a holiday now: no business time that day.
        let t = |s: &str| EventTime::parse_rfc3339(s).unwrap();
        assert_eq!(
            p.calendar
                .business_ms(t("2026-03-02T08:00:00Z"), t("2026-03-02T18:00:00Z")),
            0
        );
        // The published text stands alone and gives the same version.
        assert!(!p.source.contains("holidays_ical"), "{}", p.source);
        let again = Policy::from_toml("published", &p.source).unwrap();
        assert_eq!(again.version, p.version);
        assert_eq!(again.calendar, p.calendar);
        // Another holiday file, another version.
        std::fs::write(
            dir.path().join("it.ics"),
            ICS.replace("20261225", "20261224"),
        )
        .unwrap();
        assert_ne!(Policy::load(&path).unwrap().version, p.version);

        // The iCalendar file missing: the field, its line and the file are named.
        std::fs::remove_file(dir.path().join("it.ics")).unwrap();
        let e = Policy::load(&path).unwrap_err().to_string();
        let line = text
            .lines()
            .position(|l| l.starts_with("holidays_ical"))
            .unwrap()
            + 1;
        assert!(
            e.contains(&format!("line {line}: calendar.holidays_ical:")) && e.contains("it.ics"),
            "{e}"
        );
        // Without the file system, the reference cannot be followed.
        let e = Policy::from_toml("p.toml", &text).unwrap_err().to_string();
        assert!(
            e.contains("calendar.holidays_ical: is read only when"),
            "{e}"
        );
        let e = Policy::load(&dir.path().join("absent.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("absent.toml"), "{e}");
    }
}
