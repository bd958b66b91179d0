//! Statistics of rates: the conversion rate, the 95 % Wilson score interval
//! and the confidence figure derived from it. Pure, checked against
//! published reference values.

/// `conversions / qualifiedClicks`, 0 when there are no qualified clicks.
pub fn conversion_rate(conversions: i64, qualified: i64) -> f64 {
    if qualified <= 0 {
        0.0
    } else {
        conversions as f64 / qualified as f64
    }
}

/// How tight the conversion-rate estimate is, 0–100.
///
/// With the 95 % Wilson score interval `[lo, hi]` of `conversions` successes in
/// `qualified` trials and the observed rate `p`:
/// `round(100 × max(0, 1 − (hi − lo) / (2p)))`; 0 when there are no
/// conversions. `p` is capped at 1 (unattributed conversions can exceed clicks).
pub fn confidence(conversions: i64, qualified: i64) -> u32 {
    if conversions <= 0 || qualified <= 0 {
        return 0;
    }
    let p = (conversions as f64 / qualified as f64).min(1.0);
    let (lo, hi) = wilson(conversions, qualified);
    let c = 100.0 * (1.0 - (hi - lo) / (2.0 * p)).max(0.0);
    c.round() as u32
}

/// The 95 % Wilson score interval `[lo, hi]` of `successes` in `trials`
/// (successes capped at trials: unattributed conversions can exceed clicks);
/// `(0, 0)` without trials.
pub fn wilson(successes: i64, trials: i64) -> (f64, f64) {
    if trials <= 0 {
        return (0.0, 0.0);
    }
    let n = trials as f64;
    let p = (successes.max(0) as f64 / n).min(1.0);
    let z = 1.959_963_984_540_054_f64;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_formula() {
        // (conversions, qualified, expected): expected values computed independently (Python, same formula)
        let cases = [
            (0, 100, 0),
            (5, 0, 0),
            (47, 1200, 72),
            (1, 1, 60),
            (1, 10, 0),
            (10, 100, 40),
            (50, 100, 81),
            (500, 1000, 94),
            (5000, 10000, 98),
        ];
        for (c, n, want) in cases {
            assert_eq!(confidence(c, n), want, "confidence({c}, {n})");
        }
        // monotone in sample size at a fixed rate
        assert!(confidence(10, 100) < confidence(100, 1000));
        assert!(confidence(100, 1000) < confidence(1000, 10000));
        // capped rate
        assert!(confidence(20, 10) <= 100);
    }

    #[test]
    fn wilson_reference_values() {
        // Published 95 % Wilson intervals (Newcombe 1998, table I; and the
        // textbook 10/100 case).
        let cases = [
            (81, 263, 0.2553, 0.3662),
            (15, 148, 0.0624, 0.1605),
            (0, 20, 0.0, 0.1611),
            (1, 29, 0.0061, 0.1718),
            (10, 100, 0.0552, 0.1744),
        ];
        for (k, n, lo, hi) in cases {
            let (l, h) = wilson(k, n);
            assert!((l - lo).abs() < 6e-5, "lo({k}/{n}) = {l}");
            assert!((h - hi).abs() < 6e-5, "hi({k}/{n}) = {h}");
        }
        assert_eq!(wilson(3, 0), (0.0, 0.0));
    }
}
