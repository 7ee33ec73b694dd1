//! The built-in word lists, written for Pronto. Values are polarities in [-3, 3]. The polarity
//! lists live in `lexicon/*.txt` so that they can be read and reviewed as plain text.

use rustc_hash::FxHashMap;
use std::sync::OnceLock;

pub(crate) const EN_STOP: &[&str] = &[
    "the", "and", "is", "are", "was", "my", "i", "you", "your", "to", "of", "it", "for", "on",
    "this", "that", "with", "have", "has", "be", "where", "when", "what", "will", "at", "me", "we",
    "an", "a", "can", "do", "does", "not", "no",
];

pub(crate) const IT_STOP: &[&str] = &[
    "il", "lo", "la", "le", "gli", "di", "che", "e", "è", "un", "una", "per", "non", "mi", "mio",
    "mia", "sono", "del", "della", "con", "ho", "ma", "come", "dove", "quando", "ancora", "da",
    "vostro", "vostra", "ci", "si", "ordine", "questo", "anche",
];

pub(crate) const NEGATORS: &[&str] = &[
    "not", "no", "never", "don't", "doesn't", "didn't", "isn't", "wasn't", "aren't", "won't",
    "can't", "cannot", "nothing", "non", "mai", "nessun", "nessuno", "niente", "nemmeno",
    "neanche",
];

pub(crate) const ANGER: &[&str] = &[
    "furious",
    "angry",
    "outrageous",
    "disgusting",
    "ridiculous",
    "unacceptable",
    "worst",
    "pathetic",
    "scandaloso",
    "vergogna",
    "vergognoso",
    "inaccettabile",
    "schifo",
    "ridicolo",
    "arrabbiato",
    "furioso",
    "pessimo",
    "😡",
    "🤬",
    "😠",
];

pub(crate) const COMPLAINT: &[&str] = &[
    "complaint",
    "complain",
    "refund",
    "broken",
    "never",
    "still",
    "waiting",
    "reclamo",
    "rimborso",
    "guasto",
    "rotto",
    "ancora",
    "aspetto",
    "attesa",
    "disservizio",
];

pub(crate) const THANKS: &[&str] = &["thanks", "thank", "thx", "ty", "grazie", "ringrazio"];

pub(crate) fn intensifier(word: &str) -> Option<f64> {
    Some(match word {
        "very" | "really" | "so" | "soo" | "extremely" | "totally" | "absolutely" | "molto"
        | "davvero" | "veramente" | "proprio" | "super" | "troppo" | "tanto" => 1.5,
        "slightly" | "somewhat" | "abbastanza" | "poco" => 0.6,
        _ => return None,
    })
}

/// The word lists of one language, parsed once from the files under `lexicon/`.
#[derive(Debug, Default)]
pub(crate) struct Lists {
    words: FxHashMap<String, f64>,
    /// Entries written `stem*`, by stem.
    stems: FxHashMap<String, f64>,
    /// Two-word phrases, as "first second".
    pub(crate) phrases: FxHashMap<String, f64>,
    longest_stem: usize,
}

/// The shortest stem a `*` entry may have.
const MIN_STEM: usize = 4;

impl Lists {
    fn parse(text: &str) -> Self {
        let mut l = Self::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (term, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("lexicon line {}: no value", n + 1));
            let value: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("lexicon line {}: bad value {value:?}", n + 1));
            if let Some(stem) = term.strip_suffix('*') {
                assert!(
                    stem.chars().count() >= MIN_STEM,
                    "lexicon line {}: stem too short",
                    n + 1
                );
                l.longest_stem = l.longest_stem.max(stem.chars().count());
                l.stems.insert(stem.to_string(), value);
            } else if term.contains(' ') {
                l.phrases.insert(term.to_string(), value);
            } else {
                l.words.insert(term.to_string(), value);
            }
        }
        l
    }

    /// The polarity of one normalised word: exact, else the longest matching stem.
    pub(crate) fn word(&self, w: &str) -> Option<f64> {
        if let Some(v) = self.words.get(w) {
            return Some(*v);
        }
        // The longest stem that starts the word wins.
        let mut best = None;
        for (count, (i, c)) in w.char_indices().enumerate() {
            let chars = count + 1;
            if chars > self.longest_stem {
                break;
            }
            if chars >= MIN_STEM
                && let Some(v) = self.stems.get(&w[..i + c.len_utf8()])
            {
                best = Some(*v);
            }
        }
        best
    }
}

pub(crate) struct Lexicons {
    pub(crate) en: Lists,
    pub(crate) it: Lists,
    pub(crate) symbols: Lists,
}

pub(crate) fn lexicons() -> &'static Lexicons {
    static L: OnceLock<Lexicons> = OnceLock::new();
    L.get_or_init(|| Lexicons {
        en: Lists::parse(include_str!("../lexicon/en.txt")),
        it: Lists::parse(include_str!("../lexicon/it.txt")),
        symbols: Lists::parse(include_str!("../lexicon/symbols.txt")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_lists_parse_and_hold_what_they_say() {
        let l = lexicons();
        assert!(l.en.word("terrible").unwrap() < -2.0);
        assert!(l.en.word("excellent").unwrap() > 2.0);
        assert!(l.en.phrases.contains_key("on hold"));
        // Stems match inflections, never words shorter than the stem.
        assert!(l.it.word("ottimo").unwrap() > 2.0);
        assert!(l.it.word("ottimi").unwrap() > 2.0);
        assert!(l.it.word("vergognoso").unwrap() < -2.0);
        assert_eq!(l.it.word("ott"), None);
        assert!(l.symbols.word("😡").unwrap() < -2.0);
        assert!(l.symbols.word(":(").unwrap() < 0.0);
        assert!(l.en.words.len() > 300 && l.it.words.len() + l.it.stems.len() > 300);
    }
}
