//! Feature extraction for the trainable model: the text is normalised once (lower case, runs
//! of a repeated character cut to two, digits to `0`, links and @mentions to placeholders),
//! then hashed into word 1-2-grams and character 1-5-grams in one pass without allocating per
//! feature. The hash folds each gram in as it grows, so a character 5-gram costs one step more
//! than its 4-gram prefix.

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// Reusable buffers, so that scoring a message allocates nothing once warm.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// The normalised text, as characters, with a space at each end.
    chars: Vec<char>,
    /// Word hashes in order, with a marker for tokens that end a clause.
    words: Vec<u64>,
    /// Feature buckets (may repeat): character grams, then words, then the extra hints.
    pub(crate) features: Vec<u32>,
    /// Where the word features and the hints start in `features`.
    pub(crate) words_at: usize,
    pub(crate) hints_at: usize,
}

impl Scratch {
    /// The three groups of features: characters, words, hints.
    pub(crate) fn groups(&self) -> [&[u32]; 3] {
        [
            &self.features[..self.words_at],
            &self.features[self.words_at..self.hints_at],
            &self.features[self.hints_at..],
        ]
    }
}

#[inline]
fn step(h: u64, c: char) -> u64 {
    (h ^ u64::from(c as u32)).wrapping_mul(FNV_PRIME)
}

/// Spreads the bits of a hash before masking.
#[inline]
fn finish(h: u64, kind: u64, mask: u64) -> u32 {
    let mut x = h ^ kind.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x & mask) as u32
}

fn push_normalised(out: &mut Vec<char>, token: &str) {
    if token.starts_with("http://") || token.starts_with("https://") || token.starts_with("www.") {
        out.extend("<url>".chars());
        return;
    }
    if token.len() > 1 && token.starts_with('@') {
        out.extend("@user".chars());
        return;
    }
    let mut prev = None;
    let mut run = 0;
    for c in token.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_digit() { '0' } else { c };
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
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '\'' || c == '#' || c == '@' || c == '<' || c == '>'
}

/// Extracts the feature buckets of `text` into `s.features`, plus any `extra` hashes (for
/// example the lexicon's verdict) as features of their own.
pub(crate) fn extract(text: &str, bits: u32, extra: &[u64], s: &mut Scratch) {
    let mask = (1u64 << bits) - 1;
    s.chars.clear();
    s.words.clear();
    s.features.clear();
    s.chars.push(' ');
    for token in text.split_whitespace() {
        push_normalised(&mut s.chars, token);
        s.chars.push(' ');
    }

    // Character 1-5-grams over the whole normalised text, spaces included.
    let n = s.chars.len();
    for start in 0..n {
        let mut h = FNV_OFFSET;
        for len in 1..=5 {
            let Some(&c) = s.chars.get(start + len - 1) else {
                break;
            };
            h = step(h, c);
            if len == 1 && c == ' ' {
                continue;
            }
            s.features.push(finish(h, len as u64, mask));
        }
    }

    s.words_at = s.features.len();
    // Words: runs of word characters, and runs of anything else that is not a space
    // (punctuation, emoticons, emoji).
    let mut i = 0;
    while i < n {
        let c = s.chars[i];
        if c == ' ' {
            i += 1;
            continue;
        }
        let word = is_word_char(c);
        let mut h = FNV_OFFSET;
        while i < n && s.chars[i] != ' ' && is_word_char(s.chars[i]) == word {
            h = step(h, s.chars[i]);
            i += 1;
        }
        s.words.push(h);
    }
    for (k, w) in s.words.iter().enumerate() {
        s.features.push(finish(*w, 11, mask));
        if let Some(next) = s.words.get(k + 1) {
            s.features.push(finish(
                w.rotate_left(17) ^ next.wrapping_mul(FNV_PRIME),
                12,
                mask,
            ));
        }
    }
    s.hints_at = s.features.len();
    for e in extra {
        s.features.push(finish(*e, 13, mask));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feats(text: &str) -> Vec<u32> {
        let mut s = Scratch::default();
        extract(text, 20, &[], &mut s);
        let mut f = s.features.clone();
        f.sort_unstable();
        f
    }

    #[test]
    fn normalisation_folds_case_elongation_digits_links_and_mentions() {
        assert_eq!(feats("SOOOO Good"), feats("soo good"));
        assert_eq!(feats("flight 1234"), feats("flight 9876"));
        assert_eq!(
            feats("@united see https://t.co/abc"),
            feats("@delta see http://x.y/z")
        );
        assert_ne!(feats("good"), feats("bad"));
    }

    #[test]
    fn punctuation_and_emoji_are_features() {
        assert_ne!(feats("ok :)"), feats("ok :("));
        assert_ne!(feats("ok 😡"), feats("ok"));
        assert_ne!(feats("really!!"), feats("really"));
    }

    #[test]
    fn counts_grow_with_the_text() {
        // "ab": chars " ab " -> 1-grams a, b (spaces skip), 2-grams " a","ab","b ",
        // 3-grams " ab","ab ", 4-gram " ab "; one word.
        assert_eq!(feats("ab").len(), 2 + 3 + 2 + 1 + 1);
        assert!(feats("").is_empty());
    }
}
