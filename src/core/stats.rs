//! Statistics of rates: the conversion rate, the 95 % Wilson score interval
//! and the confidence figure derived from it, and the chi-square
//! goodness-of-fit test (with its survival function) that checks a traffic
//! split. Pure, checked against published reference values.

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

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9: about 15 significant digits);
/// NaN for x ≤ 0 or NaN.
pub fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x < 0.5 {
        // Γ(x) = Γ(x + 1) / x: one step, no recursion (and no reflection,
        // whose sin(πx) would link a trigonometry library into the Worker).
        return lanczos(x + 1.0) - x.ln();
    }
    lanczos(x)
}

/// ln Γ(x) for x ≥ 0.5.
fn lanczos(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularized upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a):
/// a series for x < a + 1, a continued fraction (modified Lentz) beyond.
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let ln_front = a * x.ln() - x - ln_gamma(a);
    if x < a + 1.0 {
        // P(a, x) by its series; Q = 1 − P.
        let (mut sum, mut term, mut n) = (1.0 / a, 1.0 / a, a);
        for _ in 0..1000 {
            n += 1.0;
            term *= x / n;
            sum += term;
            if term.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        (1.0 - sum * ln_front.exp()).clamp(0.0, 1.0)
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..1000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-15 {
                break;
            }
        }
        (ln_front.exp() * h).clamp(0.0, 1.0)
    }
}

/// P(X ≥ x) for a chi-square variable with `df` degrees of freedom.
pub fn chi_square_sf(x: f64, df: u32) -> f64 {
    if df == 0 {
        return 1.0;
    }
    gamma_q(f64::from(df) / 2.0, x / 2.0)
}

/// Pearson's chi-square goodness-of-fit statistic of `observed` counts
/// against `expected` proportions (summing to 1), and its p-value with
/// `k − 1` degrees of freedom. `(0, 1)` without observations.
pub fn chi_square_gof(observed: &[i64], proportions: &[f64]) -> (f64, f64) {
    let n: i64 = observed.iter().sum();
    if n <= 0 || observed.len() < 2 || observed.len() != proportions.len() {
        return (0.0, 1.0);
    }
    let stat: f64 = observed
        .iter()
        .zip(proportions)
        .map(|(&o, &p)| {
            let e = n as f64 * p;
            if e > 0.0 {
                (o as f64 - e).powi(2) / e
            } else {
                0.0
            }
        })
        .sum();
    (stat, chi_square_sf(stat, observed.len() as u32 - 1))
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

    #[test]
    fn chi_square_critical_values_from_the_published_table() {
        // (df, critical value, upper-tail probability): the standard table
        // (e.g. NIST/SEMATECH e-Handbook, "Critical values of the chi-square distribution").
        let table = [
            (1, 3.841, 0.05),
            (1, 6.635, 0.01),
            (1, 10.828, 0.001),
            (2, 5.991, 0.05),
            (2, 13.816, 0.001),
            (3, 7.815, 0.05),
            (3, 16.266, 0.001),
            (4, 9.488, 0.05),
            (4, 18.467, 0.001),
            (1, 0.455, 0.5),
            (2, 1.386, 0.5),
            (4, 1.064, 0.9),
        ];
        for (df, x, p) in table {
            let got = chi_square_sf(x, df);
            assert!(
                (got - p).abs() < p * 0.002 + 1e-5,
                "Q({df}, {x}) = {got}, table {p}"
            );
        }
        assert_eq!(chi_square_sf(0.0, 3), 1.0);
        assert!(chi_square_sf(500.0, 1) < 1e-100);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
        // Below 0.5 (the recurrence): Γ(0.25) = 3.625609908221908…, Γ(0.1) = 9.513507698668731…
        assert!((ln_gamma(0.25) - 3.625_609_908_221_908_f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.1) - 9.513_507_698_668_73_f64.ln()).abs() < 1e-12);
        assert!(ln_gamma(0.0).is_nan() && ln_gamma(-2.5).is_nan());
        assert!(ln_gamma(f64::NEG_INFINITY).is_nan() && ln_gamma(f64::NAN).is_nan());
    }

    #[test]
    fn goodness_of_fit() {
        // 50/50 split: 520 vs 480 → χ² = 1.6, p ≈ 0.2059
        let (x, p) = chi_square_gof(&[520, 480], &[0.5, 0.5]);
        assert!((x - 1.6).abs() < 1e-9);
        assert!((p - 0.2059).abs() < 5e-4, "{p}");
        // everything on one arm of a 50/50 split: a broken split
        let (_, p) = chi_square_gof(&[200, 0], &[0.5, 0.5]);
        assert!(p < 0.001);
        assert_eq!(chi_square_gof(&[0, 0], &[0.5, 0.5]), (0.0, 1.0));
    }
}
