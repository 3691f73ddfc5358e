//! The few statistics the report needs: a share with its 95% Wilson score
//! interval, the difference of two shares with Newcombe's interval built
//! from them, and quartiles.

use serde::Serialize;

/// The normal quantile of a two-sided 95% interval.
const Z: f64 = 1.959_963_984_540_054;

/// A share of cases with its 95% interval. With no cases there is no share,
/// and the interval is everything from 0 to 1.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Interval {
    /// Cases counted.
    pub count: u64,
    /// Cases in all.
    pub of: u64,
    /// `count / of`, if there are cases.
    pub share: Option<f64>,
    /// Lower end of the 95% interval.
    pub low: f64,
    /// Upper end of the 95% interval.
    pub high: f64,
}

/// `count` of `of` with its 95% Wilson score interval (Wilson 1927): unlike
/// the textbook `p ± 1.96·√(p(1−p)/n)`, it stays within 0 and 1 and is not
/// zero-wide at 0 of 5 or 5 of 5, so few cases show as a wide interval.
pub fn wilson(count: u64, of: u64) -> Interval {
    if of == 0 {
        return Interval { count, of, share: None, low: 0.0, high: 1.0 };
    }
    let n = of as f64;
    let p = count.min(of) as f64 / n;
    let z2 = Z * Z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    Interval { count, of, share: Some(p), low: (centre - half).max(0.0), high: (centre + half).min(1.0) }
}

/// The difference of two shares with its 95% interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Difference {
    /// `a − b`, if both have cases.
    pub value: Option<f64>,
    /// Lower end of the 95% interval.
    pub low: f64,
    /// Upper end of the 95% interval.
    pub high: f64,
}

/// `a − b` with Newcombe's hybrid score interval (Newcombe 1998, method 10),
/// which combines the two Wilson intervals; without cases on either side
/// there is no difference, and the interval is all of −1 to 1.
pub fn newcombe(a: &Interval, b: &Interval) -> Difference {
    let (Some(p1), Some(p2)) = (a.share, b.share) else { return Difference { value: None, low: -1.0, high: 1.0 } };
    let d = p1 - p2;
    let low = d - ((p1 - a.low).powi(2) + (b.high - p2).powi(2)).sqrt();
    let high = d + ((a.high - p1).powi(2) + (p2 - b.low).powi(2)).sqrt();
    Difference { value: Some(d), low: low.max(-1.0), high: high.min(1.0) }
}

/// The quartiles of some durations in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Quartiles {
    /// How many.
    pub count: u64,
    /// First quartile.
    pub q1_ms: Option<f64>,
    /// Median.
    pub median_ms: Option<f64>,
    /// Third quartile.
    pub q3_ms: Option<f64>,
}

/// Quartiles by linear interpolation between order statistics (the
/// `(n − 1)·p` rule, as spreadsheets and R's default compute them).
pub fn quartiles(mut values: Vec<u64>) -> Quartiles {
    values.sort_unstable();
    let at = |p: f64| -> Option<f64> {
        let last = values.len().checked_sub(1)?;
        let rank = last as f64 * p;
        let (below, above) = (rank.floor() as usize, rank.ceil() as usize);
        let fraction = rank - below as f64;
        Some(values[below] as f64 + (values[above] as f64 - values[below] as f64) * fraction)
    };
    Quartiles { count: values.len() as u64, q1_ms: at(0.25), median_ms: at(0.5), q3_ms: at(0.75) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-4
    }

    #[test]
    fn wilson_matches_published_values() {
        // Newcombe (1998), table I: 81/263 → 0.2553 to 0.3662; 15/148 → 0.0624 to 0.1605.
        let a = wilson(81, 263);
        assert!(close(a.low, 0.2553) && close(a.high, 0.3662), "{a:?}");
        let b = wilson(15, 148);
        assert!(close(b.low, 0.0624) && close(b.high, 0.1605), "{b:?}");
        // 0 of 10 is not "never": up to 0.2775.
        let none = wilson(0, 10);
        assert_eq!(none.low, 0.0);
        assert!(close(none.high, 0.2775), "{none:?}");
        assert_eq!(wilson(0, 0), Interval { count: 0, of: 0, share: None, low: 0.0, high: 1.0 });
    }

    #[test]
    fn newcombe_matches_the_published_example() {
        // Newcombe (1998), example (a): 56/70 − 48/80 = 0.2000, 95% 0.0524 to 0.3339.
        let d = newcombe(&wilson(56, 70), &wilson(48, 80));
        assert!(close(d.value.unwrap(), 0.2) && close(d.low, 0.0524) && close(d.high, 0.3339), "{d:?}");
        let empty = newcombe(&wilson(3, 5), &wilson(0, 0));
        assert_eq!((empty.value, empty.low, empty.high), (None, -1.0, 1.0));
    }

    #[test]
    fn quartiles_interpolate() {
        let q = quartiles(vec![40, 10, 30, 20]);
        assert_eq!((q.count, q.q1_ms, q.median_ms, q.q3_ms), (4, Some(17.5), Some(25.0), Some(32.5)));
        let one = quartiles(vec![7]);
        assert_eq!((one.q1_ms, one.median_ms, one.q3_ms), (Some(7.0), Some(7.0), Some(7.0)));
        assert_eq!(quartiles(Vec::new()).median_ms, None);
    }
}
