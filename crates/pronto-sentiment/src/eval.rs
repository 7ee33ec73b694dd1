//! Classification quality: accuracy, per-class precision, recall and F1, macro-F1 and the
//! confusion matrix, over the three polarities.

use pronto_domain::Polarity;
use std::fmt;

/// The classes in matrix order.
pub const CLASSES: [Polarity; 3] = [Polarity::Negative, Polarity::Neutral, Polarity::Positive];

fn index(p: Polarity) -> usize {
    match p {
        Polarity::Negative => 0,
        Polarity::Neutral => 1,
        Polarity::Positive => 2,
    }
}

/// Counts of (truth, prediction) pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Confusion {
    /// `matrix[truth][predicted]`, classes in [`CLASSES`] order.
    pub matrix: [[u64; 3]; 3],
}

impl Confusion {
    pub fn add(&mut self, truth: Polarity, predicted: Polarity) {
        self.matrix[index(truth)][index(predicted)] += 1;
    }

    pub fn merge(&mut self, other: &Confusion) {
        for t in 0..3 {
            for p in 0..3 {
                self.matrix[t][p] += other.matrix[t][p];
            }
        }
    }

    pub fn total(&self) -> u64 {
        self.matrix.iter().flatten().sum()
    }

    pub fn accuracy(&self) -> f64 {
        let right: u64 = (0..3).map(|i| self.matrix[i][i]).sum();
        ratio(right, self.total())
    }

    /// Precision, recall and F1 of one class.
    pub fn class_scores(&self, class: Polarity) -> (f64, f64, f64) {
        let i = index(class);
        let tp = self.matrix[i][i];
        let predicted: u64 = (0..3).map(|t| self.matrix[t][i]).sum();
        let actual: u64 = self.matrix[i].iter().sum();
        let (p, r) = (ratio(tp, predicted), ratio(tp, actual));
        let f1 = if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        };
        (p, r, f1)
    }

    /// The unweighted mean of the three classes' F1.
    pub fn macro_f1(&self) -> f64 {
        CLASSES.iter().map(|c| self.class_scores(*c).2).sum::<f64>() / 3.0
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

impl fmt::Display for Confusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "accuracy  {:.3}", self.accuracy())?;
        writeln!(f, "macro-F1  {:.3}", self.macro_f1())?;
        writeln!(f)?;
        writeln!(f, "class      precision recall    F1   support")?;
        for c in CLASSES {
            let (p, r, f1) = self.class_scores(c);
            let support: u64 = self.matrix[index(c)].iter().sum();
            writeln!(
                f,
                "{:<10} {p:>9.3} {r:>6.3} {f1:>5.3} {support:>9}",
                c.as_str()
            )?;
        }
        writeln!(f)?;
        writeln!(f, "confusion (rows: truth, columns: predicted)")?;
        writeln!(
            f,
            "{:<10} {:>9} {:>9} {:>9}",
            "", "negative", "neutral", "positive"
        )?;
        for c in CLASSES {
            let row = self.matrix[index(c)];
            writeln!(
                f,
                "{:<10} {:>9} {:>9} {:>9}",
                c.as_str(),
                row[0],
                row[1],
                row[2]
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Polarity::*;

    #[test]
    fn scores_by_hand() {
        let mut c = Confusion::default();
        // truth negative: 3 right, 1 called neutral; truth neutral: 2 right; positive: 1 right, 1 called negative
        for (t, p, n) in [
            (Negative, Negative, 3),
            (Negative, Neutral, 1),
            (Neutral, Neutral, 2),
            (Positive, Positive, 1),
            (Positive, Negative, 1),
        ] {
            for _ in 0..n {
                c.add(t, p);
            }
        }
        assert_eq!(c.total(), 8);
        assert!((c.accuracy() - 6.0 / 8.0).abs() < 1e-12);
        let (p, r, f1) = c.class_scores(Negative);
        assert!((p - 0.75).abs() < 1e-12 && (r - 0.75).abs() < 1e-12 && (f1 - 0.75).abs() < 1e-12);
        let (p, r, _) = c.class_scores(Neutral);
        assert!((p - 2.0 / 3.0).abs() < 1e-12 && (r - 1.0).abs() < 1e-12);
        let expected = (0.75 + 0.8 + 2.0 / 3.0) / 3.0;
        assert!((c.macro_f1() - expected).abs() < 1e-12, "{}", c.macro_f1());
        assert!(c.to_string().contains("macro-F1"));
    }
}
