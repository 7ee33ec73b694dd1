//! The trainable model: hashed word 1-2-grams and character 1-5-grams (see `features`) plus
//! the lexicon's verdict, weighted by IDF and L2-normalised, fed to a three-class logistic
//! regression trained with AdaGrad. Training is deterministic for a given seed, so the same
//! data gives the same model file.
//!
//! Parameters are stored per bucket as `[w_negative, w_neutral, w_positive, idf]`, so scoring
//! one feature touches one cache line.

use crate::features::{Scratch, extract};
use crate::{Assessment, Lexicon, Model};
use pronto_domain::Polarity;
use sha2::{Digest, Sha256};
use std::cell::RefCell;

const MAGIC: &[u8; 8] = b"PRNTLIN2";

/// Training settings.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// log2 of the number of feature buckets.
    pub bits: u32,
    pub epochs: usize,
    pub learning_rate: f32,
    /// L2 penalty per update.
    pub l2: f32,
    pub seed: u64,
    /// Weigh each class inversely to its frequency, so that rare classes count as much as
    /// common ones (what macro-F1 rewards).
    pub balanced: bool,
    /// Scale each feature, per class, by its naive-Bayes log-count ratio (how much more often
    /// it occurs in that class than in the others), as in NBSVM; 0 turns this off, and values
    /// between 0 and 1 blend the ratio with 1.
    pub nb: f32,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            bits: 19,
            epochs: 10,
            learning_rate: 0.05,
            l2: 0.0,
            seed: 42,
            balanced: true,
            nb: 0.5,
        }
    }
}

/// A trained linear model.
#[derive(Debug, Clone)]
pub struct LinearModel {
    bits: u32,
    /// `params[4 * bucket + k]`: k in 0..3 the weight of class k (in [`crate::eval::CLASSES`]
    /// order), k = 3 the bucket's IDF.
    params: Vec<f32>,
    bias: [f32; 3],
    name: String,
    version: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("not a Pronto linear sentiment model (bad magic; retrain with this version)")]
    Magic,
    #[error("model file is truncated or has a bad size")]
    Size,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// The lexicon's verdict as extra features: its polarity and its score in fifths.
fn lexicon_hints(lex: &Assessment) -> [u64; 2] {
    let p = match lex.polarity {
        Polarity::Negative => 1,
        Polarity::Neutral => 2,
        Polarity::Positive => 3,
    };
    let bucket = (lex.score * 5.0).round() as i64 + 100;
    [p, 1000 + bucket as u64]
}

/// One text's features for training: (bucket, value) with the value as scoring computes it:
/// character grams and words each weighted by count times IDF and divided by the root of the
/// sum over their occurrences of IDF squared; hints with value 1.
fn training_vector(text: &str, bits: u32, idf: impl Fn(u32) -> f32) -> Vec<(u32, f32)> {
    let hints = lexicon_hints(&Lexicon.assess(text));
    SCRATCH.with_borrow_mut(|s| {
        extract(text, bits, &hints, s);
        let [chars, words, hints] = s.groups();
        let mut out: Vec<(u32, f32)> = Vec::with_capacity(s.features.len());
        for group in [chars, words] {
            let norm2: f32 = group.iter().map(|f| idf(*f) * idf(*f)).sum();
            let inv = if norm2 > 0.0 {
                norm2.sqrt().recip()
            } else {
                0.0
            };
            let mut sorted = group.to_vec();
            sorted.sort_unstable();
            let from = out.len();
            for f in sorted {
                match out[from..].last_mut() {
                    Some((last, v)) if *last == f => *v += idf(f) * inv,
                    _ => out.push((f, idf(f) * inv)),
                }
            }
        }
        out.extend(hints.iter().map(|f| (*f, 1.0)));
        out
    })
}

/// The buckets a text touches, for document frequencies.
fn buckets(text: &str, bits: u32) -> Vec<u32> {
    let hints = lexicon_hints(&Lexicon.assess(text));
    SCRATCH.with_borrow_mut(|s| {
        extract(text, bits, &hints, s);
        let mut all = s.features.clone();
        all.sort_unstable();
        all.dedup();
        all
    })
}

/// Per bucket and class, the smoothed log ratio of the bucket's share among the class's
/// documents to its share among the other classes' documents, blended towards 1 by `blend`.
fn nb_ratios(class_df: &[f32], blend: f32) -> Vec<f32> {
    const ALPHA: f32 = 1.0;
    let mut totals = [0f32; 3];
    for chunk in class_df.chunks_exact(3) {
        for c in 0..3 {
            totals[c] += chunk[c] + ALPHA;
        }
    }
    let all: f32 = totals.iter().sum();
    let mut out = vec![1f32; class_df.len()];
    if blend == 0.0 {
        return out;
    }
    for (chunk, r) in class_df.chunks_exact(3).zip(out.chunks_exact_mut(3)) {
        let sum: f32 = chunk.iter().sum();
        for c in 0..3 {
            let p = (chunk[c] + ALPHA) / totals[c];
            let q = (sum - chunk[c] + 2.0 * ALPHA) / (all - totals[c]);
            r[c] = (1.0 - blend) + blend * (p / q).ln().abs();
        }
    }
    out
}

fn class_index(p: Polarity) -> usize {
    match p {
        Polarity::Negative => 0,
        Polarity::Neutral => 1,
        Polarity::Positive => 2,
    }
}

fn softmax(z: [f32; 3]) -> [f32; 3] {
    let m = z.iter().cloned().fold(f32::MIN, f32::max);
    let e = z.map(|x| (x - m).exp());
    let s: f32 = e.iter().sum();
    e.map(|x| x / s)
}

impl LinearModel {
    /// Fits a model to labelled texts.
    pub fn train(examples: &[(String, Polarity)], cfg: &TrainConfig, name: &str) -> Self {
        let dims = 1usize << cfg.bits;
        let mut df = vec![0u32; dims];
        // Documents of each class that hold each bucket.
        let mut class_df = vec![0f32; 3 * dims];
        for (t, y) in examples {
            let c = class_index(*y);
            for f in buckets(t, cfg.bits) {
                df[f as usize] += 1;
                class_df[3 * f as usize + c] += 1.0;
            }
        }
        let ratio = nb_ratios(&class_df, cfg.nb);
        let n = examples.len() as f32;
        let idf: Vec<f32> = df
            .iter()
            .map(|d| ((1.0 + n) / (1.0 + *d as f32)).ln() + 1.0)
            .collect();
        let xs: Vec<Vec<(u32, f32)>> = examples
            .iter()
            .map(|(t, _)| training_vector(t, cfg.bits, |f| idf[f as usize]))
            .collect();
        let ys: Vec<usize> = examples.iter().map(|(_, y)| class_index(*y)).collect();

        let mut per_class = [0usize; 3];
        for y in &ys {
            per_class[*y] += 1;
        }
        let class_weight: [f32; 3] = std::array::from_fn(|c| {
            if cfg.balanced && per_class[c] > 0 {
                ys.len() as f32 / (3.0 * per_class[c] as f32)
            } else {
                1.0
            }
        });
        let mut w = vec![0f32; 3 * dims];
        let mut g2 = vec![1e-8f32; 3 * dims];
        let mut b = [0f32; 3];
        let mut bg2 = [1e-8f32; 3];
        let mut order: Vec<usize> = (0..xs.len()).collect();
        let mut state = cfg.seed.max(1);
        // Weights averaged over the ends of the epochs, which generalise better than the last.
        let mut w_sum = vec![0f32; 3 * dims];
        let mut b_sum = [0f32; 3];
        for _ in 0..cfg.epochs {
            // Fisher-Yates with xorshift: deterministic for a seed.
            for i in (1..order.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                order.swap(i, (state % (i as u64 + 1)) as usize);
            }
            for &i in &order {
                let x = &xs[i];
                let mut z = b;
                for (f, v) in x {
                    let k = 3 * *f as usize;
                    for (c, zc) in z.iter_mut().enumerate() {
                        *zc += w[k + c] * ratio[k + c] * v;
                    }
                }
                let p = softmax(z);
                let err: [f32; 3] = std::array::from_fn(|c| {
                    (p[c] - if ys[i] == c { 1.0 } else { 0.0 }) * class_weight[ys[i]]
                });
                for (f, v) in x {
                    let k = 3 * *f as usize;
                    for c in 0..3 {
                        let g = err[c] * ratio[k + c] * v + cfg.l2 * w[k + c];
                        g2[k + c] += g * g;
                        w[k + c] -= cfg.learning_rate * g / g2[k + c].sqrt();
                    }
                }
                for c in 0..3 {
                    bg2[c] += err[c] * err[c];
                    b[c] -= cfg.learning_rate * err[c] / bg2[c].sqrt();
                }
            }
            for (s, x) in w_sum.iter_mut().zip(&w) {
                *s += x;
            }
            for c in 0..3 {
                b_sum[c] += b[c];
            }
        }
        if cfg.epochs > 0 {
            let k = cfg.epochs as f32;
            w = w_sum.into_iter().map(|x| x / k).collect();
            b = b_sum.map(|x| x / k);
        }
        let mut params = vec![0f32; 4 * dims];
        for f in 0..dims {
            for c in 0..3 {
                params[4 * f + c] = w[3 * f + c] * ratio[3 * f + c];
            }
            params[4 * f + 3] = idf[f];
        }
        let mut m = Self {
            bits: cfg.bits,
            params,
            bias: b,
            name: name.to_string(),
            version: String::new(),
        };
        m.version = m.content_hash();
        m
    }

    fn content_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.body());
        hex::encode(&h.finalize()[..6])
    }

    fn body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 * (self.params.len() + 3) + 4);
        out.extend_from_slice(&self.bits.to_le_bytes());
        for x in self.params.iter().chain(&self.bias) {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out
    }

    /// The model file: magic, name, then the parameters (little-endian f32).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&(self.name.len() as u32).to_le_bytes());
        out.extend_from_slice(self.name.as_bytes());
        out.extend(self.body());
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelFileError> {
        let rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or(ModelFileError::Magic)?;
        let word = |b: &[u8], at: usize| -> Result<u32, ModelFileError> {
            b.get(at..at + 4)
                .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
                .ok_or(ModelFileError::Size)
        };
        let name_len = word(rest, 0)? as usize;
        let name = rest.get(4..4 + name_len).ok_or(ModelFileError::Size)?;
        let body = &rest[4 + name_len..];
        let bits = word(body, 0)?;
        if !(8..=24).contains(&bits) {
            return Err(ModelFileError::Size);
        }
        let dims = 1usize << bits;
        let floats = &body[4..];
        if floats.len() != 4 * (4 * dims + 3) {
            return Err(ModelFileError::Size);
        }
        let all: Vec<f32> = floats
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let mut m = Self {
            bits,
            params: all[..4 * dims].to_vec(),
            bias: [all[4 * dims], all[4 * dims + 1], all[4 * dims + 2]],
            name: String::from_utf8_lossy(name).into_owned(),
            version: String::new(),
        };
        m.version = m.content_hash();
        Ok(m)
    }

    /// Class probabilities, in [`crate::eval::CLASSES`] order, given the lexicon's verdict on
    /// the same text.
    fn probabilities_with(&self, text: &str, lex: &Assessment) -> [f32; 3] {
        let hints = lexicon_hints(lex);
        SCRATCH.with_borrow_mut(|s| {
            extract(text, self.bits, &hints, s);
            let [chars, words, hints] = s.groups();
            let mut total = self.bias;
            for (group, normalised) in [(chars, true), (words, true), (hints, false)] {
                let mut z = [0f32; 3];
                let mut norm2 = 0f32;
                for f in group {
                    let k = 4 * *f as usize;
                    let p = &self.params[k..k + 4];
                    let v = if normalised { p[3] } else { 1.0 };
                    z[0] += p[0] * v;
                    z[1] += p[1] * v;
                    z[2] += p[2] * v;
                    norm2 += v * v;
                }
                let inv = if !normalised {
                    1.0
                } else if norm2 > 0.0 {
                    norm2.sqrt().recip()
                } else {
                    0.0
                };
                for c in 0..3 {
                    total[c] += z[c] * inv;
                }
            }
            softmax(total)
        })
    }

    /// Class probabilities, in [`crate::eval::CLASSES`] order.
    pub fn probabilities(&self, text: &str) -> [f32; 3] {
        self.probabilities_with(text, &Lexicon.assess(text))
    }
}

impl Model for LinearModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn version(&self) -> &str {
        &self.version
    }

    fn assess(&self, text: &str) -> Assessment {
        // Language and tones come from the lexicon; polarity and score from the model.
        let mut a = Lexicon.assess(text);
        let p = self.probabilities_with(text, &a);
        let best = (0..3).max_by(|a, b| p[*a].total_cmp(&p[*b])).unwrap_or(1);
        a.polarity = crate::eval::CLASSES[best];
        a.score = f64::from(p[2] - p[0]);
        a
    }
}

/// Stratified k-fold cross-validation: each fold keeps the class proportions.
pub fn cross_validate(
    examples: &[(String, Polarity)],
    k: usize,
    cfg: &TrainConfig,
) -> crate::eval::Confusion {
    let mut fold_of = vec![0usize; examples.len()];
    let mut seen = [0usize; 3];
    for (i, (_, y)) in examples.iter().enumerate() {
        let c = class_index(*y);
        fold_of[i] = seen[c] % k;
        seen[c] += 1;
    }
    let mut total = crate::eval::Confusion::default();
    for fold in 0..k {
        let train: Vec<(String, Polarity)> = examples
            .iter()
            .zip(&fold_of)
            .filter(|(_, f)| **f != fold)
            .map(|(e, _)| e.clone())
            .collect();
        let model = LinearModel::train(&train, cfg, "cv");
        for ((text, truth), f) in examples.iter().zip(&fold_of) {
            if *f == fold {
                total.add(*truth, model.assess(text).polarity);
            }
        }
    }
    total
}

impl pronto_domain::Classified for ModelFileError {
    fn fault(&self) -> pronto_domain::Fault {
        pronto_domain::Fault::User
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Vec<(String, Polarity)> {
        let mut v = Vec::new();
        let pos = [
            "great service thank you",
            "love the new app",
            "grazie mille ottimo lavoro",
            "perfect, quick and kind",
        ];
        let neg = [
            "terrible delay again",
            "my bag is lost and nobody answers",
            "servizio pessimo, vergogna",
            "worst airline ever",
        ];
        let neu = [
            "what time is the flight",
            "where do I send the form",
            "a che ora apre il negozio",
            "is there wifi on board",
        ];
        for round in 0..5 {
            for (list, y) in [
                (pos, Polarity::Positive),
                (neg, Polarity::Negative),
                (neu, Polarity::Neutral),
            ] {
                for t in list {
                    v.push((format!("{t} {round}"), y));
                }
            }
        }
        v
    }

    fn small() -> TrainConfig {
        TrainConfig {
            bits: 14,
            epochs: 10,
            ..TrainConfig::default()
        }
    }

    #[test]
    fn learns_its_training_data_and_round_trips_through_bytes() {
        let m = LinearModel::train(&data(), &small(), "test");
        assert_eq!(m.assess("love the new app").polarity, Polarity::Positive);
        assert_eq!(m.assess("servizio pessimo").polarity, Polarity::Negative);
        assert_eq!(
            m.assess("what time is the flight").polarity,
            Polarity::Neutral
        );
        let back = LinearModel::from_bytes(&m.to_bytes()).unwrap();
        assert_eq!(back.version(), m.version());
        assert_eq!(back.name(), "test");
        assert_eq!(
            back.probabilities("worst airline"),
            m.probabilities("worst airline")
        );
        assert!(LinearModel::from_bytes(b"nonsense").is_err());
        assert!(LinearModel::from_bytes(&m.to_bytes()[..100]).is_err());
    }

    #[test]
    fn training_is_deterministic() {
        let a = LinearModel::train(&data(), &small(), "a");
        let b = LinearModel::train(&data(), &small(), "a");
        assert_eq!(a.version(), b.version());
        let c = LinearModel::train(&data(), &TrainConfig { seed: 7, ..small() }, "a");
        assert_ne!(a.version(), c.version());
    }

    #[test]
    fn cross_validation_sees_every_example_once() {
        let cm = cross_validate(&data(), 5, &small());
        assert_eq!(cm.total(), data().len() as u64);
        assert!(cm.macro_f1() > 0.5, "{cm}");
    }
}
