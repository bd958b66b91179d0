//! Whether the rollup agrees with the ledger: the totals a rollup keeps
//! (clicks, bot clicks, conversions, revenue per currency) against the same
//! totals summed from the D1 ledger. Equal is PASS; any drift is WARN with
//! the differences named, and events still on their way (parked in the
//! outbox or travelling the replay queue) are said next to it, since they
//! explain a rollup that is briefly behind.

use crate::core::collect::SortedMap;
use crate::core::funnel::Counters;
use crate::core::health::Verdict;

/// The totals both sides keep (test conversions excluded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub clicks: i64,
    pub bot_clicks: i64,
    pub conversions: i64,
    /// Cents per currency.
    pub revenue: SortedMap<String, i64>,
}

impl Totals {
    pub fn of_rollup(c: &Counters) -> Totals {
        Totals {
            clicks: c.clicks,
            bot_clicks: c.bot_clicks,
            conversions: c.conversions,
            revenue: c.revenue.clone(),
        }
    }
}

/// A check's verdict and its one-sentence detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub verdict: Verdict,
    pub detail: String,
}

fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

/// Compare the rollup with the ledger. `pending`: events accepted but not
/// yet in the rollup.
pub fn compare(rollup: &Totals, ledger: &Totals, pending: i64) -> Outcome {
    let mut drift = Vec::new();
    for (name, r, l) in [
        ("clicks", rollup.clicks, ledger.clicks),
        ("bot clicks", rollup.bot_clicks, ledger.bot_clicks),
        ("conversions", rollup.conversions, ledger.conversions),
    ] {
        if r != l {
            drift.push(format!("{name} {r} in the rollup, {l} in the ledger"));
        }
    }
    let currencies =
        crate::core::collect::sorted_set(rollup.revenue.keys().chain(ledger.revenue.keys()));
    for &cur in currencies.keys() {
        let r = rollup.revenue.get(cur).copied().unwrap_or(0);
        let l = ledger.revenue.get(cur).copied().unwrap_or(0);
        if r != l {
            drift.push(format!(
                "revenue {cur} {} in the rollup, {} in the ledger",
                money(r),
                money(l)
            ));
        }
    }
    let on_the_way = match pending {
        0 => String::new(),
        n => format!(" {n} event(s) are on their way to the rollup."),
    };
    if drift.is_empty() {
        Outcome {
            verdict: Verdict::Pass,
            detail: format!(
                "Rollup matches the ledger: {} click(s), {} bot click(s), {} conversion(s).{on_the_way}",
                ledger.clicks, ledger.bot_clicks, ledger.conversions
            ),
        }
    } else {
        Outcome {
            verdict: Verdict::Warn,
            detail: format!(
                "Rollup differs from the ledger: {}.{on_the_way} A rebuild recomputes the rollup from the ledger.",
                drift.join("; ")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(clicks: i64, bot: i64, conv: i64, revenue: &[(&str, i64)]) -> Totals {
        Totals {
            clicks,
            bot_clicks: bot,
            conversions: conv,
            revenue: revenue.iter().map(|(c, v)| (c.to_string(), *v)).collect(),
        }
    }

    #[test]
    fn equal_totals_pass() {
        let t = totals(12, 2, 3, &[("USD", 12050), ("SEK", 0)]);
        let o = compare(&t, &t, 0);
        assert_eq!(o.verdict, Verdict::Pass);
        assert_eq!(
            o.detail,
            "Rollup matches the ledger: 12 click(s), 2 bot click(s), 3 conversion(s)."
        );
    }

    #[test]
    fn drift_is_named_per_counter_and_currency() {
        let rollup = totals(10, 2, 3, &[("USD", 12050)]);
        let ledger = totals(12, 2, 3, &[("USD", 12050), ("EUR", 999)]);
        let o = compare(&rollup, &ledger, 2);
        assert_eq!(o.verdict, Verdict::Warn);
        assert_eq!(
            o.detail,
            "Rollup differs from the ledger: clicks 10 in the rollup, 12 in the ledger; \
             revenue EUR 0.00 in the rollup, 9.99 in the ledger. 2 event(s) are on their way \
             to the rollup. A rebuild recomputes the rollup from the ledger."
        );
    }

    #[test]
    fn a_missing_zero_currency_is_no_drift() {
        let o = compare(&totals(1, 0, 1, &[]), &totals(1, 0, 1, &[("SEK", 0)]), 0);
        assert_eq!(o.verdict, Verdict::Pass);
        assert_eq!(money(-150), "-1.50");
    }
}
