//! Reading TOML configuration files (SLA policies, escalation rules, import mappings,
//! outsourcers) with errors that say where.

use serde::de::DeserializeOwned;

/// Parses `text`; a syntax or type error names its line and column.
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    toml::from_str(text).map_err(|e| {
        let place = e.span().map(|r| {
            let before = &text[..r.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: ")
        });
        format!(
            "{}{}",
            place.unwrap_or_default(),
            e.message().trim_end().replace('\n', " ")
        )
    })
}

/// The line (1-based) where the value at `field` is written: a path such as
/// `targets.chat.first_reply`, `warn_at[1]` or `rules[0] (gold).match.queue`. When only a
/// prefix of the path is written, the line of the deepest part found.
pub fn line_of(text: &str, field: &str) -> Option<usize> {
    let root = toml::de::DeTable::parse(text).ok()?;
    let mut found: Option<std::ops::Range<usize>> = None;
    let mut table = Some(root.get_ref());
    for part in field.split('.') {
        // "rules[0] (gold)" is key "rules", index 0.
        let part = part.split(" (").next().unwrap_or(part);
        let (key, index) = match part.split_once('[') {
            Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        let Some((_, mut value)) =
            table.and_then(|t| t.iter().find(|(k, _)| k.get_ref().as_ref() == key))
        else {
            break;
        };
        if let Some(item) = index.and_then(|i| value.get_ref().as_array()?.get(i)) {
            value = item;
        }
        found = Some(value.span());
        table = value.get_ref().as_table();
    }
    let at = found?.start.min(text.len());
    Some(text[..at].matches('\n').count() + 1)
}
