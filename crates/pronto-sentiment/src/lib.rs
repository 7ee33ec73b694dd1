//! Sentiment and tone of customer messages, in Italian and English.
//!
//! The built-in model is a lexicon written for this project (no third-party word lists):
//! word polarities, negation, intensifiers, emoji, shouting and repeated `!`.

pub mod eval;
mod features;
mod lexicon;
pub mod linear;
mod signature;
pub mod tag;

pub use eval::Confusion;
use lexicon::class;
pub use linear::{LinearModel, TrainConfig, cross_validate};
use pronto_domain::Polarity;
pub use signature::is_signed;
pub use tag::{ModelLoadError, Reading, Taggable, load_model, open_model, tag, taggable};

/// What the model says about one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub polarity: Polarity,
    /// In [-1, 1].
    pub score: f64,
    /// `en`, `it` or `other`.
    pub language: &'static str,
    pub tones: Vec<&'static str>,
}

/// A sentiment model: a pure function of the text.
pub trait Model: Send + Sync {
    fn name(&self) -> &str;
    fn version(&self) -> &str;
    fn assess(&self, text: &str) -> Assessment;
}

/// The built-in lexicon model.
#[derive(Debug, Default, Clone, Copy)]
pub struct Lexicon;

/// Sums of word polarities within this distance of zero are neutral.
const NEUTRAL_BAND: f64 = 0.5;

/// Words that shift the weight of a sentence to what follows them.
const CONTRAST: &[&str] = &[
    "but", "however", "although", "though", "ma", "però", "tuttavia", "eppure", "comunque",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Word,
    /// A run of punctuation, an emoticon, or an emoji.
    Symbol,
}

#[derive(Debug)]
struct Token<'a> {
    raw: &'a str,
    /// Where the token's normal form lies in [`Tokens::norms`]: lower case, runs of three or
    /// more of a character cut to two, hashtag mark and Italian elision removed.
    norm: (usize, usize),
    kind: Kind,
    /// The word had a character repeated three or more times ("sooo").
    elongated: bool,
    /// The normal form's [`lexicon::class`] bits (0 for a symbol).
    class: u16,
}

/// The tokens of a text, their normal forms one after another in one string.
struct Tokens<'a> {
    list: Vec<Token<'a>>,
    norms: String,
}

impl Tokens<'_> {
    fn norm(&self, t: &Token<'_>) -> &str {
        &self.norms[t.norm.0..t.norm.1]
    }
}

/// Characters that only modify the emoji before them.
fn is_modifier(c: char) -> bool {
    matches!(c, '\u{fe0f}' | '\u{200d}' | '\u{1f3fb}'..='\u{1f3ff}')
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '\'' || c == '’'
}

fn tokens<'a>(text: &'a str, lists: &lexicon::Lexicons) -> Tokens<'a> {
    let mut out = Tokens {
        list: Vec::with_capacity(text.len() / 4),
        norms: String::with_capacity(text.len()),
    };
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c.is_whitespace() || is_modifier(c) {
            continue;
        }
        let next_is_word = chars.peek().is_some_and(|(_, n)| n.is_alphanumeric());
        let (kind, end) = if is_word_char(c) || ((c == '#' || c == '@') && next_is_word) {
            let mut end = start + c.len_utf8();
            while let Some((i, n)) = chars.peek().copied() {
                if !is_word_char(n) {
                    break;
                }
                end = i + n.len_utf8();
                chars.next();
            }
            (Kind::Word, end)
        } else if c.is_ascii_punctuation() {
            let mut end = start + 1;
            while let Some((i, n)) = chars.peek().copied() {
                if n.is_ascii_punctuation() {
                    end = i + 1;
                    chars.next();
                    continue;
                }
                // An emoticon may end in one letter (":D", ":p"), if no word follows.
                let mut ahead = chars.clone();
                ahead.next();
                let alone = ahead.peek().is_none_or(|(_, c)| !c.is_alphanumeric());
                if n.is_ascii_alphabetic() && end - start <= 2 && alone {
                    end = i + 1;
                    chars.next();
                }
                break;
            }
            (Kind::Symbol, end)
        } else {
            (Kind::Symbol, start + c.len_utf8())
        };
        let raw = &text[start..end];
        let from = out.norms.len();
        let elongated = normalise(raw, &mut out.norms);
        let norm = (from, out.norms.len());
        let class = match kind {
            Kind::Word => lists.class(&out.norms[from..]),
            Kind::Symbol => 0,
        };
        out.list.push(Token {
            raw,
            norm,
            kind,
            elongated,
            class,
        });
    }
    out
}

/// Appends the token lower-cased, with elongations folded ("sooooo" -> "soo") and hashtag
/// marks and Italian elided articles stripped ("l'assistenza" -> "assistenza"); says whether
/// anything was folded.
fn normalise(token: &str, out: &mut String) -> bool {
    if token.is_ascii() {
        normalise_ascii(token, out)
    } else {
        normalise_any(token, out)
    }
}

/// [`normalise`] of an ASCII token (most are), in one pass.
fn normalise_ascii(token: &str, out: &mut String) -> bool {
    let t = token.trim_start_matches('#').as_bytes();
    // An elided article: up to three characters and an apostrophe before the rest ("l'", "dell'"),
    // not an English "n't".
    let from = match t.iter().rposition(|&b| b == b'\'') {
        Some(q) if q <= 3 && q + 1 < t.len() && !t[q + 1..].eq_ignore_ascii_case(b"t") => q + 1,
        _ => 0,
    };
    fold_runs(
        t[from..].iter().map(|b| char::from(b.to_ascii_lowercase())),
        out,
    )
}

/// [`normalise`] of any token.
fn normalise_any(token: &str, out: &mut String) -> bool {
    let lower = token
        .trim_start_matches('#')
        .replace('’', "'")
        .to_lowercase();
    let rest = match lower.rsplit_once('\'') {
        Some((prefix, rest)) if prefix.chars().count() <= 3 && !rest.is_empty() && rest != "t" => {
            rest
        }
        _ => &lower,
    };
    fold_runs(rest.chars(), out)
}

/// Appends the characters with every run of three or more cut to two ("sooooo" -> "soo");
/// says whether any was cut.
fn fold_runs(chars: impl Iterator<Item = char>, out: &mut String) -> bool {
    let (mut run, mut prev, mut folded) = (0, None, false);
    for c in chars {
        if Some(c) == prev {
            run += 1;
            if run >= 2 {
                folded = true;
                continue;
            }
        } else {
            run = 0;
        }
        prev = Some(c);
        out.push(c);
    }
    folded
}

/// Every run of a repeated letter made single ("baad" -> "bad").
fn single_letters(w: &str) -> String {
    let mut v: Vec<char> = w.chars().collect();
    v.dedup();
    v.into_iter().collect()
}

impl Model for Lexicon {
    fn name(&self) -> &str {
        "lexicon"
    }

    fn version(&self) -> &str {
        "2"
    }

    fn assess(&self, text: &str) -> Assessment {
        let lists = lexicon::lexicons();
        let toks = tokens(text, lists);
        // Stop words of each language, and every class any word has.
        let (mut en, mut it, mut classes) = (0, 0, 0);
        for t in toks.list.iter().filter(|t| t.kind == Kind::Word) {
            en += usize::from(t.class & class::EN_STOP != 0);
            it += usize::from(t.class & class::IT_STOP != 0);
            classes |= t.class;
        }
        let language = match (en, it) {
            (0, 0) => "other",
            (e, i) if i > e => "it",
            _ => "en",
        };
        let word_lists: &[&lexicon::Lists] = match language {
            "en" => &[&lists.en],
            "it" => &[&lists.it],
            _ => &[&lists.en, &lists.it],
        };
        let lookup = |w: &str| word_lists.iter().find_map(|l| l.word(w));
        let mut key = String::new();
        let mut phrase = |a: &str, b: &str| {
            key.clear();
            key.push_str(a);
            key.push(' ');
            key.push_str(b);
            word_lists.iter().find_map(|l| l.phrases.get(&key).copied())
        };
        let (mut letters, mut caps_letters, mut bangs, mut question) = (0, 0, 0, false);
        for c in text.chars() {
            letters += usize::from(c.is_alphabetic());
            caps_letters += usize::from(c.is_uppercase());
            bangs += usize::from(c == '!');
            question |= c == '?';
        }
        let shouting = letters >= 8 && caps_letters * 10 >= letters * 7;

        // (token index, value) of every hit, and where the last contrast word stands.
        let mut hits: Vec<(usize, f64)> = Vec::new();
        let mut contrast_at = None;
        let mut angry_words = 0;
        let mut negate_left = 0;
        let mut boost = 1.0;
        let mut i = 0;
        let toks_list = &toks.list;
        while i < toks_list.len() {
            let t = &toks_list[i];
            let at = i;
            i += 1;
            if t.kind == Kind::Symbol {
                if let Some(v) = lists.symbols.word(toks.norm(t)) {
                    if v < -2.5 {
                        angry_words += 1;
                    }
                    hits.push((at, v));
                } else if t.raw.contains(['.', ',', ';', '!', '?', ':']) {
                    // Punctuation ends the reach of a negation.
                    negate_left = 0;
                    boost = 1.0;
                }
                continue;
            }
            let w = toks.norm(t);
            if w.starts_with('@') {
                continue;
            }
            if t.class & class::CONTRAST != 0 {
                contrast_at = Some(at);
                negate_left = 0;
                continue;
            }
            // Only a word some phrase starts with can start one.
            let next_word = toks_list
                .get(i)
                .filter(|n| n.kind == Kind::Word && t.class & class::PHRASE_START != 0)
                .map(|n| toks.norm(n));
            let mut found = next_word.and_then(|n| phrase(w, n));
            if found.is_some() {
                i += 1;
            } else {
                if t.class & class::NEGATOR != 0 {
                    negate_left = 3;
                    continue;
                }
                if t.class & class::INTENSIFIER != 0
                    && let Some(b) = lexicon::intensifier(w)
                {
                    boost = b;
                    continue;
                }
                found = lookup(w).or_else(|| {
                    if t.elongated {
                        lookup(&single_letters(w))
                    } else {
                        None
                    }
                });
            }
            if let Some(mut v) = found {
                if t.class & class::ANGER != 0 {
                    angry_words += 1;
                }
                v *= boost;
                if t.elongated {
                    v *= 1.3;
                }
                let shouted = !shouting
                    && t.raw.chars().count() > 2
                    && t.raw.chars().all(|c| !c.is_lowercase())
                    && t.raw.chars().any(|c| c.is_uppercase());
                if shouted {
                    v *= 1.5;
                }
                if negate_left > 0 {
                    v *= -0.6;
                }
                hits.push((at, v));
            }
            boost = 1.0;
            negate_left = (negate_left - 1).max(0);
        }
        let mut sum: f64 = hits
            .iter()
            .map(|(at, v)| match contrast_at {
                Some(c) if *at < c => v * 0.5,
                Some(_) => v * 1.5,
                None => *v,
            })
            .sum();
        if bangs >= 2 && sum != 0.0 {
            sum *= 1.0 + 0.1 * bangs.min(5) as f64;
        }
        if shouting && sum < 0.0 {
            sum *= 1.3;
        }
        // Saturating map into [-1, 1].
        let score = sum / (sum.abs() + 2.0);
        let polarity = if sum > NEUTRAL_BAND {
            Polarity::Positive
        } else if sum < -NEUTRAL_BAND {
            Polarity::Negative
        } else {
            Polarity::Neutral
        };

        let mut tones = Vec::new();
        if score < -0.2 && (angry_words > 0 || shouting || bangs >= 2) {
            tones.push("angry");
        }
        if classes & class::COMPLAINT != 0 || score < -0.3 {
            tones.push("complaint");
        }
        if score > 0.3 {
            tones.push("praise");
        }
        if question {
            tones.push("question");
        }
        if classes & class::THANKS != 0 {
            tones.push("thanks");
        }
        Assessment {
            polarity,
            score,
            language,
            tones,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Assessment {
        Lexicon.assess(text)
    }

    #[test]
    fn ascii_tokens_normalise_as_any_token_does() {
        // Every token up to 5 characters over an alphabet of what normalising treats apart
        // (hashtags, apostrophes, "t", case, repeats), and longer ones drawn at random.
        let alphabet = ['#', '\'', 't', 'T', 'a', 'A', 'l', 'o', '1'];
        let mut tokens = vec![String::new()];
        let mut level = vec![String::new()];
        for _ in 0..5 {
            level = level
                .iter()
                .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}")))
                .collect();
            tokens.extend(level.iter().cloned());
        }
        let mut seed = 7u64;
        for _ in 0..20_000 {
            let len = 6 + (seed % 10) as usize;
            let t: String = (0..len)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    alphabet[(seed >> 33) as usize % alphabet.len()]
                })
                .collect();
            tokens.push(t);
        }
        let via = |f: fn(&str, &mut String) -> bool, t: &str| {
            let mut out = "before ".to_string();
            let folded = f(t, &mut out);
            (out, folded)
        };
        for t in &tokens {
            assert_eq!(via(normalise_ascii, t), via(normalise_any, t), "{t:?}");
        }
    }

    #[test]
    fn clear_cases_in_both_languages() {
        assert_eq!(
            p("Thank you so much, great service!").polarity,
            Polarity::Positive
        );
        assert_eq!(
            p("This is terrible, my flight was cancelled").polarity,
            Polarity::Negative
        );
        assert_eq!(
            p("Grazie mille, servizio ottimo").polarity,
            Polarity::Positive
        );
        assert_eq!(
            p("Servizio pessimo, è una vergogna").polarity,
            Polarity::Negative
        );
        assert_eq!(
            p("What time does the store open tomorrow?").polarity,
            Polarity::Neutral
        );
    }

    #[test]
    fn language_is_detected() {
        assert_eq!(
            p("where is my order and when will it arrive").language,
            "en"
        );
        assert_eq!(p("dove è il mio ordine e quando arriva").language, "it");
        assert_eq!(p("12345 !!!").language, "other");
    }

    #[test]
    fn negation_flips_polarity() {
        assert_eq!(p("the agent was not helpful").polarity, Polarity::Negative);
        assert_eq!(p("non sono soddisfatto").polarity, Polarity::Negative);
        assert!(p("not bad at all").score > p("bad").score);
    }

    #[test]
    fn intensity_shouting_and_elongation_strengthen() {
        assert!(p("very bad").score < p("bad").score);
        assert!(p("this is BAD").score < p("this is bad").score);
        assert_eq!(p("sooo baaaad").polarity, Polarity::Negative);
        assert!(p("awful!!!").score < p("awful").score);
    }

    #[test]
    fn tones() {
        let a = p("WORST SERVICE EVER, I AM FURIOUS!!!");
        assert!(a.tones.contains(&"angry"), "{a:?}");
        assert!(p("Thanks for the quick help").tones.contains(&"thanks"));
        assert!(p("Is my parcel lost?").tones.contains(&"question"));
        assert!(p("Voglio fare un reclamo").tones.contains(&"complaint"));
    }

    #[test]
    fn emoji_count() {
        assert_eq!(p("ok 😡").polarity, Polarity::Negative);
        assert_eq!(p("ok 😍").polarity, Polarity::Positive);
    }

    #[test]
    fn emoticons_hashtags_and_mentions() {
        assert_eq!(p("see you tomorrow :)").polarity, Polarity::Positive);
        assert_eq!(p("see you tomorrow :(((").polarity, Polarity::Negative);
        assert_eq!(p("ci vediamo domani :-(").polarity, Polarity::Negative);
        assert_eq!(p("again #fail").polarity, Polarity::Negative);
        // A mention is a name, not a word: @awesome_shop says nothing about the mood.
        assert_eq!(p("@awesome order 55 shipped").polarity, Polarity::Neutral);
        assert_eq!(p("❤️❤️").polarity, Polarity::Positive);
        assert_eq!(p("so funny :D").polarity, Polarity::Positive);
        // Brackets do not eat the word they open.
        assert_eq!(p("(terrible)").polarity, Polarity::Negative);
    }

    #[test]
    fn phrases_stems_and_contrast() {
        assert_eq!(
            p("I have been on hold for an hour").polarity,
            Polarity::Negative
        );
        // Italian inflections through stems: ottimo, ottima, ottimi, ottime.
        for w in ["ottimo", "ottima", "ottimi", "ottime"] {
            assert_eq!(p(&format!("servizio {w}")).polarity, Polarity::Positive);
        }
        // What follows "but" / "ma" weighs more than what precedes it.
        assert_eq!(
            p("the staff was nice but the flight was a disaster").polarity,
            Polarity::Negative
        );
        assert_eq!(
            p("il ritardo è stato fastidioso ma il personale è stato bravissimo").polarity,
            Polarity::Positive
        );
        // Punctuation ends the reach of a negation.
        assert_eq!(p("not today. Great service").polarity, Polarity::Positive);
    }

    #[test]
    fn scores_stay_in_range() {
        let s = p(&"terrible ".repeat(500)).score;
        assert!((-1.0..=1.0).contains(&s));
        assert_eq!(p("").polarity, Polarity::Neutral);
    }
}
