//! `referrerMatches` / `userAgentMatches`: a regular expression in the
//! `regex-lite` crate's syntax, compiled when the rule is written (an invalid
//! or too-large pattern is refused) and when the isolate loads the rule set,
//! never per request.
//!
//! `regex-lite` is the `regex` crate's small sibling (~1/10 of its wasm): a
//! PikeVM only, no DFA, so a match costs O(pattern states × input length),
//! linear in the input whatever the pattern (no backtracking blow-up for
//! `(a*)*b`). Bounds, so no pattern can make a redirect slow:
//! - the pattern is at most [`MAX_PATTERN`] characters and nests at most
//!   [`NEST_LIMIT`] deep;
//! - written out (counted repetitions expanded: `a{3}` is `aaa`), it is at
//!   most [`MAX_POSITIONS`] atoms, groups and quantifiers long ([`expanded_size`], read from the
//!   text, the same on every target), so `a{1000}` and `a{100}{100}` are
//!   refused;
//! - its compiled program is at most [`SIZE_LIMIT`] bytes (a backstop: the
//!   crate counts bytes of its states, which depend on the pointer width);
//! - the input is cut to its first [`MAX_INPUT`] bytes (at a character
//!   boundary).
//!
//! ASCII semantics: `(?i)`, `\w`, `\d`, `\s`, `\b` are ASCII-only; `.` and
//! `[^..]` match any one character; Unicode classes (`\p{L}`) are refused.
//! Headers are ASCII in practice.

use super::expanded::expanded_size;
use regex_lite::{Regex, RegexBuilder};
use std::fmt;

pub const MAX_PATTERN: usize = 256;
pub const MAX_POSITIONS: u64 = 256;
pub const NEST_LIMIT: u32 = 16;
/// A backstop only: [`MAX_POSITIONS`] refuses first (the largest accepted
/// programs we could write fit, natively, with 64-bit pointers).
pub const SIZE_LIMIT: usize = 64 * 1024;
/// Only this many leading bytes of a referrer or User-Agent are matched.
pub const MAX_INPUT: usize = 512;

/// A compiled, bounded pattern. Compares by its source.
#[derive(Clone)]
pub struct Pattern(Regex);

impl Pattern {
    /// Why the pattern is refused, as the end of an error message.
    pub fn compile(src: &str) -> Result<Pattern, String> {
        if src.chars().count() > MAX_PATTERN {
            return Err(format!("must be at most {MAX_PATTERN} characters"));
        }
        if expanded_size(src) > MAX_POSITIONS {
            return Err(too_large());
        }
        RegexBuilder::new(src)
            .nest_limit(NEST_LIMIT)
            .size_limit(SIZE_LIMIT)
            .build()
            .map(Pattern)
            .map_err(|e| {
                let why = e.to_string();
                if why.contains("size limit") {
                    too_large()
                } else {
                    format!("must be a valid regular expression (regex-lite syntax): {why}")
                }
            })
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether the pattern matches somewhere in the first [`MAX_INPUT`] bytes
    /// (fewer when that would cut a character).
    pub fn is_match(&self, input: &str) -> bool {
        let mut end = input.len().min(MAX_INPUT);
        while !input.is_char_boundary(end) {
            end -= 1;
        }
        self.0.is_match(input.get(..end).unwrap_or(""))
    }
}

fn too_large() -> String {
    format!(
        "is too large once its repetitions are written out (at most {MAX_POSITIONS} characters or classes): use fewer or smaller counted repetitions"
    )
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

    #[test]
    fn input_is_cut_at_a_character_boundary() {
        let p = Pattern::compile("b$").unwrap();
        assert!(p.is_match(&format!("{}b", "a".repeat(MAX_INPUT - 1))));
        assert!(!p.is_match(&format!("{}b", "a".repeat(MAX_INPUT))));
        // `é` straddles the cut: the input ends before it, no panic
        let e = Pattern::compile("a$").unwrap();
        assert!(e.is_match(&format!("{}é", "a".repeat(MAX_INPUT - 1))));
        assert!(!Pattern::compile("é")
            .unwrap()
            .is_match(&format!("{}é", "a".repeat(MAX_INPUT - 1))));
    }

    #[test]
    fn the_largest_accepted_programs_fit_the_size_limit() {
        for src in [
            "(?i)[^a]{0,254}",
            ".{0,255}",
            "[ACEGIKMOQSUWYacegikmoqsuwy02468]{0,63}",
            "(?i)[^ACEGIKMOQSUWY02468]{0,63}",
            "(a?){85}",
            "(?:(a)|(b)){51}",
        ] {
            assert!(src.len() <= MAX_PATTERN, "{src}");
            assert!(Pattern::compile(src).is_ok(), "{src:?} refused");
        }
    }

    /// The worst patterns we could think of compile fast or are refused, and
    /// match a maximal input in time linear in it and in the pattern's size.
    #[test]
    fn pathological_patterns_are_bounded() {
        let nested = format!("{}a{}", "(?:".repeat(15), ")*".repeat(15));
        let literal = format!("{}b", "a".repeat(255));
        let optional = format!("{}x", "a?".repeat(127));
        let alternation = format!("(?:{})*b", ["a"; 125].join("|"));
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
            "(a?){85}x",
            "(?:(a)|(b)){51}x",
            "[ACEGIKMOQSUWYacegikmoqsuwy02468]{0,63}x",
            "[ACEGIKMOQSUWYacegikmoqsuwy02468]{0,230}x",
            r"(?i)\b(iphone|ipad|ipod)\b.*\bversion/(\d+)",
            nested.as_str(),
            literal.as_str(),
            optional.as_str(),
            alternation.as_str(),
        ];
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
            // Inputs that keep every state alive: all `a`, all `y` (the last
            // range of the class above).
            for input in ["a".repeat(5 * MAX_INPUT), "y".repeat(5 * MAX_INPUT)] {
                // The fastest of 5: the cost is deterministic, other load on
                // the machine is not.
                let mut this = Duration::MAX;
                for _ in 0..5 {
                    let t = Instant::now();
                    std::hint::black_box(p.is_match(&input));
                    this = this.min(t.elapsed());
                }
                eprintln!("{src:?} on {}…: match {this:?}", &input[..1]);
                worst_match = worst_match.max(this);
            }
        }
        eprintln!("worst compile {worst_compile:?}, worst match of {MAX_INPUT} B {worst_match:?}");
        // Release, measured (2 busy cores): ≤ 0.1 ms compile; worst match
        // ~3.4 ms (`.{0,255}x`), any 256-character pattern without counted
        // repetitions ≤ ~3 ms. Twice the input or twice the size bound
        // would be ~7 ms and fail. Unoptimized builds are ~20x slower.
        let bound = Duration::from_millis(if cfg!(debug_assertions) { 200 } else { 6 });
        assert!(worst_compile < bound, "{worst_compile:?}");
        assert!(worst_match < bound, "{worst_match:?}");
    }
}
