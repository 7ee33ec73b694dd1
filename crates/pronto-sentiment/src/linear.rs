//! The trainable model: hashed word (1-2 gram) and character (2-5 gram) features weighted by
//! TF-IDF and L2-normalised, fed to a three-class logistic regression trained with AdaGrad.
//! Training is deterministic for a given seed, so the same data gives the same model file.

use crate::{Assessment, Lexicon, Model, normalise, tokens};
use pronto_domain::Polarity;
use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"PRNTLIN1";

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
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            bits: 20,
            epochs: 10,
            learning_rate: 0.05,
            l2: 0.0,
            seed: 42,
            balanced: true,
        }
    }
}

/// A trained linear model.
#[derive(Debug, Clone)]
pub struct LinearModel {
    bits: u32,
    idf: Vec<f32>,
    /// `weights[class * dims + feature]`, classes in [`crate::eval::CLASSES`] order.
    weights: Vec<f32>,
    bias: [f32; 3],
    name: String,
    version: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("not a Pronto linear sentiment model (bad magic)")]
    Magic,
    #[error("model file is truncated or has a bad size")]
    Size,
}

fn fnv(seed: u8, bytes: &[u8]) -> u64 {
    fnv_more(0xcbf2_9ce4_8422_2325 ^ u64::from(seed), bytes)
}

fn fnv_more(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Feature buckets of a text with their counts (unsorted, may repeat).
fn raw_features(text: &str, bits: u32) -> Vec<u32> {
    let mask = (1u64 << bits) - 1;
    let words: Vec<String> = tokens(text)
        .iter()
        .map(|t| {
            let w = normalise(t);
            if w.starts_with("http") {
                "<url>".to_string()
            } else if w.starts_with('@') {
                "<user>".to_string()
            } else {
                w
            }
        })
        .collect();
    let mut out = Vec::with_capacity(words.len() * 2 + text.len() * 4);
    for (i, w) in words.iter().enumerate() {
        out.push((fnv(1, w.as_bytes()) & mask) as u32);
        if let Some(next) = words.get(i + 1) {
            let h = fnv_more(fnv(2, w.as_bytes()), b" ");
            out.push((fnv_more(h, next.as_bytes()) & mask) as u32);
        }
    }
    let joined = format!(" {} ", words.join(" "));
    let bounds: Vec<usize> = joined
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(joined.len()))
        .collect();
    let bytes = joined.as_bytes();
    for n in 2..=5usize {
        for start in 0..bounds.len().saturating_sub(n) {
            let gram = &bytes[bounds[start]..bounds[start + n]];
            out.push((fnv(3 + n as u8, gram) & mask) as u32);
        }
    }
    out
}

/// Sorted, merged (bucket, count) pairs.
fn counts(text: &str, bits: u32) -> Vec<(u32, f32)> {
    let mut raw = raw_features(text, bits);
    raw.sort_unstable();
    let mut out: Vec<(u32, f32)> = Vec::with_capacity(raw.len());
    for f in raw {
        match out.last_mut() {
            Some((last, c)) if *last == f => *c += 1.0,
            _ => out.push((f, 1.0)),
        }
    }
    out
}

/// TF-IDF with sublinear term frequency, L2-normalised.
fn weighted(counts: &[(u32, f32)], idf: &[f32]) -> Vec<(u32, f32)> {
    let mut v: Vec<(u32, f32)> = counts
        .iter()
        .map(|(f, c)| (*f, (1.0 + c.ln()) * idf[*f as usize]))
        .collect();
    let norm = v.iter().map(|(_, x)| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, x) in &mut v {
            *x /= norm;
        }
    }
    v
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
        let docs: Vec<Vec<(u32, f32)>> =
            examples.iter().map(|(t, _)| counts(t, cfg.bits)).collect();
        let mut df = vec![0u32; dims];
        for d in &docs {
            for (f, _) in d {
                df[*f as usize] += 1;
            }
        }
        let n = docs.len() as f32;
        let idf: Vec<f32> = df
            .iter()
            .map(|d| ((1.0 + n) / (1.0 + *d as f32)).ln() + 1.0)
            .collect();
        let xs: Vec<Vec<(u32, f32)>> = docs.iter().map(|d| weighted(d, &idf)).collect();
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
                for (c, zc) in z.iter_mut().enumerate() {
                    let base = c * dims;
                    *zc += x
                        .iter()
                        .map(|(f, v)| w[base + *f as usize] * v)
                        .sum::<f32>();
                }
                let p = softmax(z);
                for c in 0..3 {
                    let err = (p[c] - if ys[i] == c { 1.0 } else { 0.0 }) * class_weight[ys[i]];
                    let base = c * dims;
                    for (f, v) in x {
                        let k = base + *f as usize;
                        let g = err * v + cfg.l2 * w[k];
                        g2[k] += g * g;
                        w[k] -= cfg.learning_rate * g / g2[k].sqrt();
                    }
                    bg2[c] += err * err;
                    b[c] -= cfg.learning_rate * err / bg2[c].sqrt();
                }
            }
        }
        let mut m = Self {
            bits: cfg.bits,
            idf,
            weights: w,
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
        let mut out = Vec::with_capacity(4 * (self.idf.len() + self.weights.len() + 3) + 8);
        out.extend_from_slice(&self.bits.to_le_bytes());
        for x in self.idf.iter().chain(&self.weights).chain(&self.bias) {
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
            idf: all[..dims].to_vec(),
            weights: all[dims..4 * dims].to_vec(),
            bias: [all[4 * dims], all[4 * dims + 1], all[4 * dims + 2]],
            name: String::from_utf8_lossy(name).into_owned(),
            version: String::new(),
        };
        m.version = m.content_hash();
        Ok(m)
    }

    /// Class probabilities, in [`crate::eval::CLASSES`] order.
    pub fn probabilities(&self, text: &str) -> [f32; 3] {
        let dims = 1usize << self.bits;
        let x = weighted(&counts(text, self.bits), &self.idf);
        let mut z = self.bias;
        for (c, zc) in z.iter_mut().enumerate() {
            let base = c * dims;
            *zc += x
                .iter()
                .map(|(f, v)| self.weights[base + *f as usize] * v)
                .sum::<f32>();
        }
        softmax(z)
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
        let p = self.probabilities(text);
        let best = (0..3).max_by(|a, b| p[*a].total_cmp(&p[*b])).unwrap_or(1);
        let polarity = crate::eval::CLASSES[best];
        // Language and tones come from the lexicon; polarity and score from the model.
        let mut a = Lexicon.assess(text);
        a.polarity = polarity;
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
