//! `referrerMatches` / `userAgentMatches`: a regular expression in the Rust
//! `regex` crate's syntax, compiled when the rule is written (an invalid or
//! too-large pattern is refused) and when the isolate loads the rule set,
//! never per request.
//!
//! Bounds, so no pattern can make a redirect slow:
//! - the pattern is at most [`MAX_PATTERN`] characters and nests at most
//!   [`NEST_LIMIT`] deep;
//! - written out (counted repetitions expanded: `a{3}` is `aaa`), it is at
//!   most [`MAX_POSITIONS`] literal bytes and classes long, so `a{1000}` and
//!   `a{1000}{1000}` are refused, on every target alike (the crate's own
//!   `size_limit` counts bytes of its program, which depend on the pointer
//!   width: wasm32 would accept what a native test refuses);
//! - its compiled program is at most [`SIZE_LIMIT`] bytes, its lazy DFA
//!   cache at most [`DFA_SIZE_LIMIT`];
//! - matching is linear in the input (the crate's guarantee: no
//!   backtracking blow-up for `(a*)*b`), and the input is cut to its first
//!   [`MAX_INPUT`] bytes.
//!
//! ASCII mode: the crate is built without its Unicode tables (they would
//! add to every cold start), so `(?i)`, `\w`, `\d`, `\s`, `\b` and `.` work
//! on ASCII/bytes; a pattern asking for Unicode (`(?u)`, `\p{L}`) is refused.
//! Headers are ASCII in practice.

use regex::bytes::{Regex, RegexBuilder};
use regex_syntax::hir::{Hir, HirKind};
use std::fmt;

pub const MAX_PATTERN: usize = 256;
pub const MAX_POSITIONS: u64 = 256;
pub const NEST_LIMIT: u32 = 16;
/// Measured (native release, 2 KiB adversarial input): at 16 KiB the worst
/// accepted pattern costs ~2 ms on its first match (building its lazy DFA)
/// and ≤ 4 µs after; at 32 KiB `a{1000}` compiles and costs 15–30 ms on
/// every match (its DFA does not fit the cache, the PikeVM runs).
pub const SIZE_LIMIT: usize = 16 * 1024;
pub const DFA_SIZE_LIMIT: usize = 256 * 1024;
/// Only this many leading bytes of a referrer or User-Agent are matched.
pub const MAX_INPUT: usize = 2048;

/// A compiled, bounded pattern. Compares by its source.
#[derive(Clone)]
pub struct Pattern(Regex);

impl Pattern {
    /// Why the pattern is refused, as the end of an error message.
    pub fn compile(src: &str) -> Result<Pattern, String> {
        if src.chars().count() > MAX_PATTERN {
            return Err(format!("must be at most {MAX_PATTERN} characters"));
        }
        // Syntax errors are reported by the builder below, with its message.
        if let Ok(hir) = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .nest_limit(NEST_LIMIT)
            .build()
            .parse(src)
        {
            if positions(&hir) > MAX_POSITIONS {
                return Err(too_large());
            }
        }
        RegexBuilder::new(src)
            .unicode(false)
            .nest_limit(NEST_LIMIT)
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(DFA_SIZE_LIMIT)
            .build()
            .map(Pattern)
            .map_err(|e| match e {
                regex::Error::CompiledTooBig(_) => too_large(),
                regex::Error::Syntax(s) => {
                    // The crate's message spans several lines with a caret diagram; its last
                    // line says what is wrong.
                    let why = s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
                    let why = why.trim().trim_start_matches("error:").trim();
                    format!("must be a valid regular expression (ASCII mode): {why}")
                }
                _ => "must be a valid regular expression".to_string(),
            })
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether the pattern matches somewhere in the first [`MAX_INPUT`] bytes.
    pub fn is_match(&self, input: &str) -> bool {
        let b = input.as_bytes();
        self.0.is_match(&b[..b.len().min(MAX_INPUT)])
    }
}

fn too_large() -> String {
    format!(
        "is too large once its repetitions are written out (at most {MAX_POSITIONS} characters or classes): use fewer or smaller counted repetitions"
    )
}

/// Literal bytes and classes of the pattern with its repetitions written out
/// (an unbounded one counts its minimum, at least once). Recursion is
/// bounded by the nest limit.
fn positions(h: &Hir) -> u64 {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => 0,
        HirKind::Literal(l) => l.0.len() as u64,
        HirKind::Class(_) => 1,
        HirKind::Capture(c) => positions(&c.sub),
        HirKind::Repetition(r) => {
            let times = r.max.unwrap_or(r.min).max(r.min).max(1);
            positions(&r.sub).saturating_mul(u64::from(times))
        }
        HirKind::Concat(v) | HirKind::Alternation(v) => {
            v.iter().map(positions).fold(0, u64::saturating_add)
        }
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Pattern {}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn ordinary_patterns_match_case_insensitively_in_ascii() {
        let p = Pattern::compile(r"(?i)^https?://([a-z0-9-]+\.)*facebook\.com/").unwrap();
        assert!(p.is_match("https://L.Facebook.com/x"));
        assert!(!p.is_match("https://facebook.com.evil.example/"));
        let ua = Pattern::compile(r"(?i)\b(iphone|ipad)\b.*Version/\d+").unwrap();
        assert!(ua.is_match("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4) Version/17.4"));
        assert!(Pattern::compile("café").unwrap().is_match("le café"));
        assert!(Pattern::compile(".").unwrap().is_match("é"));
        assert!(Pattern::compile("^$").unwrap().is_match(""));
    }

    #[test]
    fn invalid_unicode_and_oversized_patterns_are_refused() {
        let deep = format!("{}a{}", "(".repeat(40), ")".repeat(40));
        let long = "a".repeat(MAX_PATTERN + 1);
        for p in [
            "(",
            "a{2,1}",
            r"\p{Greek}",
            "[z-a]",
            "a{1000}{1000}",
            "a{1000}",
            "(.{0,255}){2}",
            "(a{100}){100}",
            "a{200}b{57}",
            deep.as_str(),
            long.as_str(),
        ] {
            assert!(Pattern::compile(p).is_err(), "{p:?} accepted");
        }
        assert!(Pattern::compile("a{1000}")
            .unwrap_err()
            .contains("too large"));
        assert!(Pattern::compile("(")
            .unwrap_err()
            .starts_with("must be a valid regular expression"));
    }

    /// The worst patterns we could think of compile fast or are refused, and
    /// match a maximal input in linear time.
    #[test]
    fn pathological_patterns_are_bounded() {
        let nested = format!("{}a{}", "(?:".repeat(15), ")*".repeat(15));
        let candidates = [
            "(a*)*b",
            "(x+x+)+y",
            "(a|a)*b",
            "(a|aa)+$",
            "(.*a){12}",
            "([a-z]+)*[0-9]",
            r"(\w+\s?)*$",
            "a{1,40}a{1,40}a{1,40}a{1,40}b",
            "(?i)[a-z]{1,50}[a-z]{1,50}x",
            "a{200}",
            ".{0,255}x",
            "a{200}b{56}",
            r"(?i)\b(iphone|ipad|ipod)\b.*\bversion/(\d+)",
            nested.as_str(),
        ];
        let input = "a".repeat(5 * MAX_INPUT);
        let mut worst_compile = Duration::ZERO;
        let mut worst_match = Duration::ZERO;
        for src in candidates {
            let t = Instant::now();
            let compiled = Pattern::compile(src);
            worst_compile = worst_compile.max(t.elapsed());
            let Ok(p) = compiled else {
                eprintln!("{src:?}: refused");
                continue;
            };
            let mut this = Duration::ZERO;
            for _ in 0..3 {
                let t = Instant::now();
                std::hint::black_box(p.is_match(&input));
                this = this.max(t.elapsed());
            }
            eprintln!("{src:?}: match {this:?}");
            worst_match = worst_match.max(this);
        }
        eprintln!("worst compile {worst_compile:?}, worst match of {MAX_INPUT} B {worst_match:?}");
        // Generous bounds for a busy machine: an unoptimized build is ~10-30x
        // slower than release (release, measured: ≤ 1.2 ms compile, ≤ 3 ms for
        // the first match of the worst accepted pattern, µs after). A pattern
        // whose DFA cannot be cached (`a{1000}` if it were accepted) takes
        // 15-30 ms per match in release and fails the release bound.
        let bound = Duration::from_millis(if cfg!(debug_assertions) { 400 } else { 10 });
        assert!(worst_compile < bound, "{worst_compile:?}");
        assert!(worst_match < bound, "{worst_match:?}");
    }
}
