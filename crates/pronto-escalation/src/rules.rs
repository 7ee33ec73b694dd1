//! The escalation rules file: what triggers an escalation, for which conversations, and the
//! ladder of levels it climbs. TOML; versioned by a hash of its content. See
//! `docs/escalation.md` for the format and `default_rules.toml` for the built-in rules.

use pronto_domain::{Channel, ConversationContext, Priority, ReplyKind};
use pronto_sla::Calendar;
use pronto_sla::calendar::CalendarSpec;
use pronto_sla::tomlfile::{line_of, parse};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The built-in rules: breaches go to the queue's team lead, then to the operations manager
/// after two business hours; angry or very negative messages go to the agent, then to the team
/// lead after 30 minutes; three negative messages in a row, a reopened conversation and a
/// customer writing again within a day go to the team lead or the agent.
pub const DEFAULT_RULES_TOML: &str = include_str!("default_rules.toml");

/// A rules file that cannot be used: the same errors, with file, line and field, as an SLA
/// policy file's.
pub use pronto_sla::PolicyError as RulesError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesSpec {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    calendar: Option<CalendarSpec>,
    #[serde(default)]
    rules: Vec<RuleSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    name: String,
    on: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    kinds: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at_least: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    threshold: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tones: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    within: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    channels: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    priorities: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tiers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    queues: Vec<String>,
    levels: Vec<LevelSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelSpec {
    level: String,
    after: String,
    #[serde(default)]
    business_hours: bool,
    #[serde(default)]
    notify: Vec<String>,
}

/// What starts a ladder.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// An SLA breach of one of `kinds` (every kind when empty).
    SlaBreach { kinds: Vec<ReplyKind> },
    /// An SLA warning at `at_least` of its target or more, of one of `kinds`.
    SlaWarning {
        kinds: Vec<ReplyKind>,
        at_least: f64,
    },
    /// A customer message with one of `tones`, or scoring at or below `threshold`.
    Unhappy { tones: Vec<String>, threshold: f64 },
    /// `count` negative customer messages in a row in one conversation (at or below
    /// `threshold`).
    NegativeStreak { count: u32, threshold: f64 },
    /// A customer opens a conversation within `within_ms` of starting another one.
    RepeatContact { within_ms: i64 },
    /// A solved or closed conversation is reopened.
    Reopened,
}

impl Trigger {
    pub fn name(&self) -> &'static str {
        match self {
            Trigger::SlaBreach { .. } => "sla_breach",
            Trigger::SlaWarning { .. } => "sla_warning",
            Trigger::Unhappy { .. } => "unhappy",
            Trigger::NegativeStreak { .. } => "negative_streak",
            Trigger::RepeatContact { .. } => "repeat_contact",
            Trigger::Reopened => "reopened",
        }
    }
}

/// One level of a ladder.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    pub name: String,
    /// Delay after the trigger, in milliseconds.
    pub after_ms: i64,
    /// The delay counts the calendar's open hours only.
    pub business_hours: bool,
    pub notify: Vec<String>,
}

/// Which conversations a rule applies to; an empty list allows any value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub channels: Vec<Channel>,
    pub priorities: Vec<Priority>,
    pub tiers: Vec<String>,
    pub queues: Vec<String>,
}

impl Filter {
    pub fn matches(&self, ctx: &ConversationContext) -> bool {
        (self.channels.is_empty() || self.channels.contains(&ctx.channel))
            && (self.priorities.is_empty() || self.priorities.contains(&ctx.priority))
            && (self.tiers.is_empty() || self.tiers.iter().any(|t| *t == ctx.customer_tier))
            && (self.queues.is_empty() || self.queues.iter().any(|q| *q == ctx.queue))
    }
}

/// One rule: a trigger, a filter and a ladder.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub trigger: Trigger,
    pub filter: Filter,
    pub levels: Vec<Level>,
}

/// A loaded, validated rules file.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub name: String,
    /// `name@hash` of the content: recorded on every escalation.
    pub version: String,
    pub rules: Vec<Rule>,
    pub calendar: Calendar,
    /// The longest `within` of the repeat-contact rules: how long a customer's past
    /// conversations are remembered.
    pub repeat_horizon_ms: i64,
    /// The file's text, as recorded with the version.
    pub source: String,
}

impl Default for RuleSet {
    fn default() -> Self {
        Self::builtin()
    }
}

impl RuleSet {
    pub fn builtin() -> Self {
        Self::from_toml("built-in escalation rules", DEFAULT_RULES_TOML)
            .expect("the built-in escalation rules are valid")
    }

    pub fn load(path: &std::path::Path) -> Result<Self, RulesError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| RulesError::Unreadable {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        Self::from_toml(&file, &text)
    }

    /// Validates a rules file's text; every error names the file, the line and the field.
    pub fn from_toml(file: &str, text: &str) -> Result<Self, RulesError> {
        let spec: RulesSpec = parse(text).map_err(|message| RulesError::Syntax {
            file: file.into(),
            message,
        })?;
        let invalid = |field: &str, reason: String| RulesError::Invalid {
            file: file.into(),
            line: line_of(text, field),
            field: field.into(),
            reason,
        };
        if spec.name.trim().is_empty() {
            return Err(invalid("name", "is empty".into()));
        }
        let calendar = match &spec.calendar {
            None => None,
            Some(c) => {
                if c.holidays_ical.is_some() {
                    return Err(invalid(
                        "calendar.holidays_ical",
                        "is not read here; list the holidays under calendar.holidays".into(),
                    ));
                }
                Some(
                    c.build()
                        .map_err(|(f, reason)| invalid(&format!("calendar.{f}"), reason))?,
                )
            }
        };
        let mut rules: Vec<Rule> = Vec::new();
        let mut repeat_horizon_ms = 0;
        for (i, r) in spec.rules.iter().enumerate() {
            let at = |field: &str| format!("rules[{i}] ({}).{field}", r.name);
            if r.name.trim().is_empty() {
                return Err(invalid(&at("name"), "is empty".into()));
            }
            if rules.iter().any(|o| o.name == r.name) {
                return Err(invalid(
                    &at("name"),
                    format!("another rule is named '{}'", r.name),
                ));
            }
            let trigger = trigger(r).map_err(|(f, reason)| invalid(&at(f), reason))?;
            if let Trigger::RepeatContact { within_ms } = trigger {
                repeat_horizon_ms = repeat_horizon_ms.max(within_ms);
            }
            let filter = filter(r).map_err(|(f, reason)| invalid(&at(f), reason))?;
            if r.levels.is_empty() {
                return Err(invalid(
                    &at("levels"),
                    "a rule needs at least one level".into(),
                ));
            }
            let mut levels: Vec<Level> = Vec::new();
            for (j, l) in r.levels.iter().enumerate() {
                let at = |f: &str| at(&format!("levels[{j}].{f}"));
                let ok_name = !l.level.is_empty()
                    && l.level
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !ok_name {
                    return Err(invalid(
                        &at("level"),
                        format!(
                            "'{}' is not a level name (lower-case letters, digits and _)",
                            l.level
                        ),
                    ));
                }
                if levels.iter().any(|o| o.name == l.level) {
                    return Err(invalid(
                        &at("level"),
                        format!("'{}' appears twice in this ladder", l.level),
                    ));
                }
                let after_ms =
                    duration_ms(&l.after).map_err(|reason| invalid(&at("after"), reason))?;
                if let Some(prev) = levels.last()
                    && (after_ms < prev.after_ms
                        || (after_ms == prev.after_ms && l.business_hours == prev.business_hours))
                {
                    return Err(invalid(
                        &at("after"),
                        format!(
                            "{} is not later than the level before ('{}', after {}): delays count from the trigger",
                            l.after,
                            prev.name,
                            r.levels[j - 1].after
                        ),
                    ));
                }
                if l.business_hours && calendar.is_none() {
                    return Err(invalid(
                        &at("business_hours"),
                        "needs a [calendar] in this file".into(),
                    ));
                }
                levels.push(Level {
                    name: l.level.clone(),
                    after_ms,
                    business_hours: l.business_hours,
                    notify: l.notify.clone(),
                });
            }
            rules.push(Rule {
                name: r.name.clone(),
                trigger,
                filter,
                levels,
            });
        }
        let canonical = serde_json::to_string(&spec).expect("a rules spec serializes");
        let hash = hex::encode(&Sha256::digest(canonical.as_bytes())[..6]);
        Ok(Self {
            version: format!("{}@{hash}", spec.name),
            name: spec.name,
            rules,
            calendar: calendar.unwrap_or_else(Calendar::always_open),
            repeat_horizon_ms,
            source: text.to_string(),
        })
    }
}

/// A delay such as `0m`, `30m` or `1h 30m`, in milliseconds; zero allowed.
fn duration_ms(text: &str) -> Result<i64, String> {
    if text.trim() == "0" {
        return Ok(0);
    }
    humantime::parse_duration(text)
        .map(|d| d.as_millis() as i64)
        .map_err(|e| {
            format!("'{text}' is not a duration such as \"0m\", \"30m\" or \"1h 30m\" ({e})")
        })
}

type FieldError = (&'static str, String);

fn trigger(r: &RuleSpec) -> Result<Trigger, FieldError> {
    let only = |field: &'static str, set: bool, allowed: &[&str]| -> Result<(), FieldError> {
        if set && !allowed.contains(&r.on.as_str()) {
            return Err((
                field,
                format!("applies only to on = {}", allowed.join(" or ")),
            ));
        }
        Ok(())
    };
    only("kinds", !r.kinds.is_empty(), &["sla_breach", "sla_warning"])?;
    only("at_least", r.at_least.is_some(), &["sla_warning"])?;
    only(
        "threshold",
        r.threshold.is_some(),
        &["unhappy", "negative_streak"],
    )?;
    only("tones", !r.tones.is_empty(), &["unhappy"])?;
    only("count", r.count.is_some(), &["negative_streak"])?;
    only("within", r.within.is_some(), &["repeat_contact"])?;
    let kinds = r
        .kinds
        .iter()
        .map(|k| {
            ReplyKind::parse(k).ok_or_else(|| {
                (
                    "kinds",
                    format!("unknown kind '{k}'; expected one of {}", ReplyKind::names()),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let threshold = match r.threshold {
        Some(t) if !(-1.0..=0.0).contains(&t) => {
            return Err(("threshold", format!("{t} is not a score between -1 and 0")));
        }
        Some(t) => t,
        None => -0.5,
    };
    Ok(match r.on.as_str() {
        "sla_breach" => Trigger::SlaBreach { kinds },
        "sla_warning" => {
            let at_least = r.at_least.unwrap_or(0.0);
            if !(0.0..1.0).contains(&at_least) {
                return Err(("at_least", format!("{at_least} is not a fraction below 1")));
            }
            Trigger::SlaWarning { kinds, at_least }
        }
        "unhappy" => {
            const TONES: [&str; 5] = ["angry", "complaint", "praise", "question", "thanks"];
            if let Some(t) = r.tones.iter().find(|t| !TONES.contains(&t.as_str())) {
                return Err((
                    "tones",
                    format!("unknown tone '{t}'; expected some of {}", TONES.join(", ")),
                ));
            }
            Trigger::Unhappy {
                tones: if r.tones.is_empty() {
                    vec!["angry".into()]
                } else {
                    r.tones.clone()
                },
                threshold,
            }
        }
        "negative_streak" => {
            let count = r.count.unwrap_or(3);
            if count < 2 {
                return Err(("count", "a streak is at least 2 messages".into()));
            }
            Trigger::NegativeStreak { count, threshold }
        }
        "repeat_contact" => {
            let within = r.within.as_deref().unwrap_or("24h");
            let within_ms = duration_ms(within).map_err(|e| ("within", e))?;
            if within_ms == 0 {
                return Err(("within", "must be positive".into()));
            }
            Trigger::RepeatContact { within_ms }
        }
        "reopened" => Trigger::Reopened,
        other => {
            return Err((
                "on",
                format!(
                    "unknown trigger '{other}'; expected sla_breach, sla_warning, unhappy, negative_streak, repeat_contact or reopened"
                ),
            ));
        }
    })
}

fn filter(r: &RuleSpec) -> Result<Filter, FieldError> {
    let channels = r
        .channels
        .iter()
        .map(|c| {
            Channel::parse(c).ok_or_else(|| {
                (
                    "channels",
                    format!(
                        "unknown channel '{c}'; expected one of {}",
                        Channel::names()
                    ),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let priorities = r
        .priorities
        .iter()
        .map(|p| {
            Priority::parse(p).ok_or_else(|| {
                (
                    "priorities",
                    format!(
                        "unknown priority '{p}'; expected one of {}",
                        Priority::names()
                    ),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Filter {
        channels,
        priorities,
        tiers: r.tiers.clone(),
        queues: r.queues.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        RuleSet::from_toml("rules.toml", text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_built_in_rules_load_and_have_a_version() {
        let r = RuleSet::builtin();
        assert!(r.version.starts_with("default@"), "{}", r.version);
        assert!(r.rules.len() >= 5);
        assert!(r.rules.iter().any(|r| r.levels.len() >= 2));
    }

    #[test]
    fn the_version_follows_the_content_not_the_layout() {
        let a = "name = \"x\"\n[[rules]]\nname = \"b\"\non = \"sla_breach\"\nlevels = [{ level = \"agent\", after = \"0m\" }]\n";
        let b = "name = \"x\"\n\n[[rules]]\non = \"sla_breach\"\nname = \"b\"\n\nlevels = [ { after = \"0m\", level = \"agent\" } ]\n";
        let c = a.replace("agent", "team_lead");
        let v = |t: &str| RuleSet::from_toml("f", t).unwrap().version;
        assert_eq!(v(a), v(b));
        assert_ne!(v(a), v(&c));
    }

    #[test]
    fn errors_name_the_line_and_field() {
        let text = "name = \"x\"\n\n[[rules]]\nname = \"b\"\non = \"sla_breach\"\nchannels = [\"fax\"]\nlevels = [{ level = \"agent\", after = \"0m\" }]\n";
        let e = err(text);
        assert!(
            e.contains("line 6") && e.contains("channels") && e.contains("fax"),
            "{e}"
        );

        let text = "name = \"x\"\n[[rules]]\nname = \"b\"\non = \"sla_breach\"\ncount = 3\nlevels = [{ level = \"agent\", after = \"0m\" }]\n";
        let e = err(text);
        assert!(e.contains("line 5") && e.contains("negative_streak"), "{e}");

        let text = "name = \"x\"\n[[rules]]\nname = \"b\"\non = \"pigeon\"\nlevels = [{ level = \"agent\", after = \"0m\" }]\n";
        assert!(err(text).contains("unknown trigger 'pigeon'"));

        let text = "name = \"x\"\n[[rules]]\nname = \"b\"\non = \"reopened\"\nlevels = []\n";
        assert!(err(text).contains("at least one level"));

        let text = "name = \"x\"\n[[rules]]\nname = \"b\"\non = \"reopened\"\nlevels = [{ level = \"agent\", after = \"1h\" }, { level = \"lead\", after = \"30m\" }]\n";
        let e = err(text);
        assert!(
            e.contains("levels[1].after") && e.contains("not later"),
            "{e}"
        );

        let text = "name = \"x\"\n[[rules]]\nname = \"b\"\non = \"reopened\"\nlevels = [{ level = \"agent\", after = \"0m\", business_hours = true }]\n";
        assert!(err(text).contains("needs a [calendar]"));

        let text = "name = \"x\"\n[[rules]]\nname = \"b\"\non = \"reopened\"\nlevels = [{ level = \"agent\", after = \"soon\" }]\n";
        assert!(err(text).contains("'soon' is not a duration"));

        let text = "name = \"x\"\nrules = 3\n";
        assert!(err(text).contains("line 2"), "{}", err(text));
    }

    #[test]
    fn filters_allow_any_value_of_an_unlisted_dimension() {
        let f = Filter {
            channels: vec![Channel::Phone],
            tiers: vec!["gold".into()],
            ..Filter::default()
        };
        let mut ctx = ConversationContext::new("t", "c", Channel::Phone);
        assert!(!f.matches(&ctx));
        ctx.customer_tier = "gold".into();
        assert!(f.matches(&ctx));
        ctx.channel = Channel::Email;
        assert!(!f.matches(&ctx));
    }
}
