//! Whether an agent's reply is signed: with the agent's name, initials such as `^MB`, or a
//! closing such as "Marco, Servizio Clienti" or "- Marco". Signed replies are a measurable
//! driver of loyalty, reported as the signed-reply rate.

/// True when `text` carries a personal signature. `display_name` is the agent's name as the
/// helpdesk knows it, when known.
pub fn is_signed(text: &str, display_name: Option<&str>) -> bool {
    let tail: String = {
        let t = text.trim_end();
        let start = t.char_indices().rev().nth(59).map_or(0, |(i, _)| i);
        t[start..].to_string()
    };
    // Initials: ^MB, ^M, *MB (Twitter-style), at a word boundary.
    let initials = tail.split_whitespace().any(|w| {
        let w = w.trim_end_matches(['.', ',', '!', ')']);
        let rest = w.strip_prefix('^').or_else(|| w.strip_prefix('*'));
        rest.is_some_and(|r| {
            (1..=3).contains(&r.chars().count()) && r.chars().all(|c| c.is_ascii_uppercase())
        })
    });
    if initials {
        return true;
    }
    if let Some(name) = display_name
        .map(str::trim)
        .filter(|n| n.chars().count() >= 2)
    {
        let first = name
            .split_whitespace()
            .next()
            .unwrap_or(name)
            .to_lowercase();
        let lower = tail.to_lowercase();
        let as_word = lower
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| w == first);
        if as_word {
            return true;
        }
    }
    // A closing line "- Name", whether or not the agent's name is known.
    let last_line = text.trim_end().lines().last().unwrap_or("").trim();
    last_line
        .strip_prefix(['-', '–', '—'])
        .map(str::trim)
        .is_some_and(|n| {
            n.chars().next().is_some_and(char::is_uppercase) && n.split_whitespace().count() <= 3
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_recognised() {
        assert!(is_signed("Hi, we're on it. ^M", None));
        assert!(is_signed(
            "Sorry about that, DM us your booking number ^MB.",
            None
        ));
        assert!(is_signed(
            "Ciao, ci pensiamo noi. Marco, Servizio Clienti",
            Some("Marco")
        ));
        assert!(is_signed("We'll fix it today.\n- Giulia", None));
        assert!(is_signed(
            "Grazie dell'attesa, Sara dal team tecnico",
            Some("Sara Rossi")
        ));
    }

    #[test]
    fn unsigned_replies_are_not() {
        assert!(!is_signed("Hi, we're on it.", None));
        assert!(!is_signed("Ciao, ci pensiamo noi.", Some("Marco")));
        assert!(!is_signed("Please check https://example.com/help ^^", None));
        // The name must be a word of the reply, not part of one.
        assert!(!is_signed("We have marcom materials ready.", Some("Marco")));
        assert!(!is_signed("", Some("Marco")));
    }
}
