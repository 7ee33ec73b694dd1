//! The built-in word lists, written for Pronto. Values are polarities in [-3, 3]. The polarity
//! lists live in `lexicon/*.txt` so that they can be read and reviewed as plain text.

use rustc_hash::{FxHashMap, FxHashSet};
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

/// What a normalised word is to the rules besides its polarity, as bits: every list above
/// that holds the word, the intensifiers and the first words of phrases, found in one lookup
/// ([`Lexicons::class`]) rather than one per list.
pub(crate) mod class {
    pub(crate) const EN_STOP: u16 = 1;
    pub(crate) const IT_STOP: u16 = 1 << 1;
    pub(crate) const NEGATOR: u16 = 1 << 2;
    pub(crate) const ANGER: u16 = 1 << 3;
    pub(crate) const COMPLAINT: u16 = 1 << 4;
    pub(crate) const THANKS: u16 = 1 << 5;
    pub(crate) const CONTRAST: u16 = 1 << 6;
    /// [`super::intensifier`] has a weight for it.
    pub(crate) const INTENSIFIER: u16 = 1 << 7;
    /// A phrase of either language starts with it.
    pub(crate) const PHRASE_START: u16 = 1 << 8;
}

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
    /// The first [`MIN_STEM`] characters of every stem: a word that starts otherwise matches
    /// no stem, and is known so with one lookup.
    stem_starts: FxHashSet<String>,
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
                l.stem_starts.insert(stem.chars().take(MIN_STEM).collect());
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
        let start = match w.char_indices().nth(MIN_STEM) {
            Some((end, _)) => &w[..end],
            None => w,
        };
        if !self.stem_starts.contains(start) {
            return None;
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
    /// The [`class`] bits of every word that has any.
    classes: FxHashMap<String, u16>,
}

impl Lexicons {
    /// The [`class`] bits of normalised word `w` (0 when it is on no list).
    pub(crate) fn class(&self, w: &str) -> u16 {
        self.classes.get(w).copied().unwrap_or(0)
    }
}

/// The stop words and other lists of the language rules, as words and their [`class`] bits.
const CLASSED: [(&[&str], u16); 7] = [
    (EN_STOP, class::EN_STOP),
    (IT_STOP, class::IT_STOP),
    (NEGATORS, class::NEGATOR),
    (ANGER, class::ANGER),
    (COMPLAINT, class::COMPLAINT),
    (THANKS, class::THANKS),
    (crate::CONTRAST, class::CONTRAST),
];

/// Every intensifier [`intensifier`] weighs.
const INTENSIFIERS: &[&str] = &[
    "very",
    "really",
    "so",
    "soo",
    "extremely",
    "totally",
    "absolutely",
    "molto",
    "davvero",
    "veramente",
    "proprio",
    "super",
    "troppo",
    "tanto",
    "slightly",
    "somewhat",
    "abbastanza",
    "poco",
];

pub(crate) fn lexicons() -> &'static Lexicons {
    static L: OnceLock<Lexicons> = OnceLock::new();
    L.get_or_init(|| {
        let en = Lists::parse(include_str!("../lexicon/en.txt"));
        let it = Lists::parse(include_str!("../lexicon/it.txt"));
        let mut classes: FxHashMap<String, u16> = FxHashMap::default();
        let mut mark = |w: &str, bit: u16| *classes.entry(w.to_string()).or_default() |= bit;
        for (words, bit) in CLASSED {
            words.iter().for_each(|w| mark(w, bit));
        }
        INTENSIFIERS
            .iter()
            .for_each(|w| mark(w, class::INTENSIFIER));
        // A phrase is looked up as "word next": its first word is what comes before its
        // first space (words hold no spaces).
        for phrase in en.phrases.keys().chain(it.phrases.keys()) {
            let first = phrase.split_once(' ').map_or(phrase.as_str(), |(w, _)| w);
            mark(first, class::PHRASE_START);
        }
        Lexicons {
            en,
            it,
            symbols: Lists::parse(include_str!("../lexicon/symbols.txt")),
            classes,
        }
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

    #[test]
    fn a_word_class_holds_every_list_the_word_is_on() {
        let l = lexicons();
        for (words, bit) in CLASSED {
            for w in words {
                assert_ne!(l.class(w) & bit, 0, "{w}");
            }
        }
        // "non" is an Italian stop word and a negator; "ancora" a stop word and a complaint.
        assert_eq!(l.class("non"), class::IT_STOP | class::NEGATOR);
        assert_eq!(l.class("ancora"), class::IT_STOP | class::COMPLAINT);
        assert_eq!(l.class("helpful"), 0);
        // Every intensifier has its bit, and only those.
        for w in INTENSIFIERS {
            assert!(
                intensifier(w).is_some() && l.class(w) & class::INTENSIFIER != 0,
                "{w}"
            );
        }
        for (w, bits) in &l.classes {
            assert_eq!(
                intensifier(w).is_some(),
                bits & class::INTENSIFIER != 0,
                "{w}"
            );
        }
        assert_ne!(l.class("on") & class::PHRASE_START, 0);
    }
}
