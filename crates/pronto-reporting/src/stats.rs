//! Exact order statistics over latencies.

use serde::Serialize;

/// Count, exact percentiles (nearest rank) and mean of a set of latencies in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LatencyStats {
    pub count: u64,
    pub p50_ms: i64,
    pub p90_ms: i64,
    pub p99_ms: i64,
    /// Rounded toward zero to the millisecond.
    pub mean_ms: i64,
}

/// The nearest-rank percentile of sorted values: the smallest value such that at least
/// `p` percent of the values are at or below it.
pub fn percentile(sorted: &[i64], p: u32) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (u64::from(p) * sorted.len() as u64).div_ceil(100).max(1);
    sorted[(rank - 1) as usize]
}

impl LatencyStats {
    pub fn of(mut values: Vec<i64>) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        values.sort_unstable();
        let sum: i128 = values.iter().map(|v| i128::from(*v)).sum();
        Self {
            count: values.len() as u64,
            p50_ms: percentile(&values, 50),
            p90_ms: percentile(&values, 90),
            p99_ms: percentile(&values, 99),
            mean_ms: (sum / values.len() as i128) as i64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50), 5);
        assert_eq!(percentile(&v, 90), 9);
        assert_eq!(percentile(&v, 99), 10);
        assert_eq!(percentile(&[7], 99), 7);
        let s = LatencyStats::of(vec![3, 1, 2]);
        assert_eq!((s.count, s.p50_ms, s.mean_ms), (3, 2, 2));
    }

    proptest! {
        #[test]
        fn percentile_splits_the_data(mut v in prop::collection::vec(0i64..1000, 1..200), p in 1u32..100) {
            v.sort();
            let x = percentile(&v, p);
            let at_or_below = v.iter().filter(|y| **y <= x).count();
            let below = v.iter().filter(|y| **y < x).count();
            prop_assert!(at_or_below * 100 >= p as usize * v.len());
            prop_assert!(below * 100 < p as usize * v.len());
        }
    }
}
