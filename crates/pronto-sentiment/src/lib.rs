//! Sentiment and tone of customer messages, in Italian and English.
//!
//! The built-in model is a lexicon written for this project (no third-party word lists):
//! word polarities, negation, intensifiers, emoji, shouting and repeated `!`.

pub mod eval;
mod lexicon;
pub mod linear;
mod signature;

pub use eval::Confusion;
pub use linear::{LinearModel, TrainConfig, cross_validate};
use pronto_domain::Polarity;
pub use signature::is_signed;

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

/// Scores within this distance of zero are neutral.
const NEUTRAL_BAND: f64 = 0.05;

fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in text.chars() {
        if ch.is_alphanumeric() || ch == '\'' || ch == '#' || ch == '@' {
            cur.push(ch);
        } else {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            if !ch.is_whitespace() && !ch.is_ascii_punctuation() {
                out.push(ch.to_string());
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Folds elongations ("sooooo" -> "soo") and strips hashtag marks and apostrophe prefixes.
fn normalise(token: &str) -> String {
    let lower = token.trim_start_matches('#').to_lowercase();
    let lower = match lower.rsplit_once('\'') {
        // Italian elision: l'assistenza -> assistenza
        Some((prefix, rest)) if prefix.chars().count() <= 3 && !rest.is_empty() && rest != "t" => {
            rest.to_string()
        }
        _ => lower,
    };
    let mut out = String::with_capacity(lower.len());
    let mut run = 0;
    let mut prev = None;
    for c in lower.chars() {
        if Some(c) == prev {
            run += 1;
            if run >= 2 {
                continue;
            }
        } else {
            run = 0;
        }
        prev = Some(c);
        out.push(c);
    }
    out
}

impl Model for Lexicon {
    fn name(&self) -> &str {
        "lexicon"
    }

    fn version(&self) -> &str {
        "1"
    }

    fn assess(&self, text: &str) -> Assessment {
        let raw = tokens(text);
        let words: Vec<String> = raw.iter().map(|t| normalise(t)).collect();
        let (mut en, mut it) = (0, 0);
        for w in &words {
            if lexicon::EN_STOP.contains(&w.as_str()) {
                en += 1;
            }
            if lexicon::IT_STOP.contains(&w.as_str()) {
                it += 1;
            }
        }
        let language = match (en, it) {
            (0, 0) => "other",
            (e, i) if i > e => "it",
            _ => "en",
        };

        let mut sum = 0.0;
        let mut hits = 0usize;
        let mut angry_words = 0;
        let mut negate_left = 0;
        let mut boost = 1.0;
        for (w, original) in words.iter().zip(&raw) {
            if lexicon::NEGATORS.contains(&w.as_str()) {
                negate_left = 3;
                continue;
            }
            if let Some(b) = lexicon::intensifier(w) {
                boost = b;
                continue;
            }
            let found = lexicon::polarity(w).or_else(|| {
                // "baaad" folds to "baad"; try it with every run of letters single.
                let mut single: Vec<char> = w.chars().collect();
                single.dedup();
                lexicon::polarity(&single.into_iter().collect::<String>())
            });
            if let Some(mut v) = found {
                if lexicon::ANGER.contains(&w.as_str()) {
                    angry_words += 1;
                }
                v *= boost;
                let shouted = original.chars().count() > 2
                    && original.chars().all(|c| !c.is_lowercase())
                    && original.chars().any(|c| c.is_uppercase());
                if shouted {
                    v *= 1.5;
                }
                if negate_left > 0 {
                    v *= -0.6;
                }
                sum += v;
                hits += 1;
            }
            boost = 1.0;
            negate_left = (negate_left - 1).max(0);
        }
        let bangs = text.matches('!').count();
        if bangs >= 2 && sum != 0.0 {
            sum *= 1.0 + 0.1 * bangs.min(5) as f64;
        }
        // Saturating map into [-1, 1].
        let score = if hits == 0 {
            0.0
        } else {
            sum / (sum.abs() + 2.0)
        };
        let polarity = if score > NEUTRAL_BAND {
            Polarity::Positive
        } else if score < -NEUTRAL_BAND {
            Polarity::Negative
        } else {
            Polarity::Neutral
        };

        let caps_letters = text.chars().filter(|c| c.is_uppercase()).count();
        let letters = text.chars().filter(|c| c.is_alphabetic()).count();
        let shouting = letters >= 8 && caps_letters * 10 >= letters * 7;
        let mut tones = Vec::new();
        if score < -0.2 && (angry_words > 0 || shouting || bangs >= 2) {
            tones.push("angry");
        }
        if words
            .iter()
            .any(|w| lexicon::COMPLAINT.contains(&w.as_str()))
            || score < -0.3
        {
            tones.push("complaint");
        }
        if score > 0.3 {
            tones.push("praise");
        }
        if text.contains('?') {
            tones.push("question");
        }
        if words.iter().any(|w| lexicon::THANKS.contains(&w.as_str())) {
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
    fn scores_stay_in_range() {
        let s = p(&"terrible ".repeat(500)).score;
        assert!((-1.0..=1.0).contains(&s));
        assert_eq!(p("").polarity, Polarity::Neutral);
    }
}
