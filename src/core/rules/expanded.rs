//! An upper bound of a pattern's size once its counted repetitions are
//! written out (`a{3}` is `aaa`, `(ab){2}{3}` is six `ab`), read from the
//! pattern text alone, the same on every target.
//!
//! It approximates the engine's states, which a match visits per input
//! character. Every atom counts 1: a literal character, an escape, `.`, an
//! anchor, a class `[...]` (1 per 8 characters written inside it: its
//! ranges are scanned one by one). `*`, `+`, `?` add 1 to what they repeat
//! (a split state). A group counts 1 (its capture state) plus its atoms over
//! all its branches. A counted repetition multiplies what it repeats by its largest
//! count (`{n}` n, `{n,m}` m, `{n,}` n + 1, at least 1), nested ones
//! multiply again. Escapes (`\{`,
//! `\x{..}`, `\b{start}`), classes (`[{]`, `[]{]`, `[[:alpha:]]`) and, in
//! verbose mode `(?x)`, whitespace and `#` comments are stepped over, so
//! a brace inside them is not taken for a repetition.
//!
//! Conservative: where this reading and the regex parser could differ on a
//! valid pattern, this one counts more (a class it closes too early leaves
//! the rest as atoms; an escape's trailing digits count as atoms). Invalid
//! patterns get some number; the regex parser refuses them anyway.

/// Upper bound of the written-out size, saturating.
pub fn expanded_size(src: &str) -> u64 {
    let chars: Vec<char> = src.chars().collect();
    // One frame per open group: (atoms so far, size of the last atom,
    // verbose mode inside it).
    let mut stack = vec![Frame {
        total: 0,
        last: 0,
        verbose: false,
    }];
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let verbose = stack.last().is_some_and(|f| f.verbose);
        i += 1;
        match c {
            c if verbose && c.is_whitespace() => {}
            '#' if verbose => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '\\' => {
                i = skip_escape(&chars, i);
                atom(&mut stack, 1);
            }
            '[' => {
                let end = skip_class(&chars, i);
                // The engine scans a class's ranges one by one: a long class
                // weighs more (one per 8 characters written inside it).
                atom(
                    &mut stack,
                    (end.saturating_sub(i + 1) as u64).div_ceil(8).max(1),
                );
                i = end;
            }
            '(' => {
                if chars.get(i) == Some(&'?') {
                    i += 1;
                    match chars.get(i) {
                        Some('P' | '<') => {
                            while i < chars.len() && chars[i] != '>' {
                                i += 1;
                            }
                            i += 1;
                            stack.push(Frame {
                                total: 1,
                                last: 0,
                                verbose,
                            });
                        }
                        _ => {
                            let (v, end, opens) = flags(&chars, i, verbose);
                            i = end;
                            if opens {
                                stack.push(Frame {
                                    total: 1,
                                    last: 0,
                                    verbose: v,
                                });
                            } else if let Some(f) = stack.last_mut() {
                                f.verbose = v;
                            }
                        }
                    }
                } else {
                    stack.push(Frame {
                        total: 1,
                        last: 0,
                        verbose,
                    });
                }
            }
            ')' => {
                if stack.len() > 1 {
                    if let Some(group) = stack.pop() {
                        atom(&mut stack, group.total);
                    }
                }
            }
            '|' => {
                if let Some(f) = stack.last_mut() {
                    f.last = 0;
                }
            }
            '*' | '+' | '?' => {
                if let Some(f) = stack.last_mut() {
                    f.total = f.total.saturating_add(1);
                    f.last = f.last.saturating_add(1);
                }
            }
            '{' => match counted(&chars, i) {
                Some((times, end)) => {
                    i = end;
                    if let Some(f) = stack.last_mut() {
                        let grown = f.last.saturating_mul(times);
                        f.total = f.total.saturating_sub(f.last).saturating_add(grown);
                        f.last = grown;
                    }
                }
                None => atom(&mut stack, 1),
            },
            _ => atom(&mut stack, 1),
        }
    }
    // Unclosed groups (an invalid pattern) still count.
    stack.iter().map(|f| f.total).fold(0, u64::saturating_add)
}

struct Frame {
    total: u64,
    last: u64,
    verbose: bool,
}

fn atom(stack: &mut [Frame], size: u64) {
    if let Some(f) = stack.last_mut() {
        f.total = f.total.saturating_add(size);
        f.last = size;
    }
}

/// `i` is just after the backslash; returns the index after the escape.
fn skip_escape(chars: &[char], i: usize) -> usize {
    let Some(&c) = chars.get(i) else {
        return i;
    };
    let braced = matches!(c, 'x' | 'u' | 'U' | 'p' | 'P')
        || (c == 'b'
            && chars[i + 1..]
                .iter()
                .skip(1)
                .take_while(|&&d| d != '}')
                .all(|d| d.is_ascii_alphabetic() || *d == '-'));
    if braced && chars.get(i + 1) == Some(&'{') {
        // `\x{7F}`, `\p{Greek}`, `\b{start}`: up to the closing brace.
        // (`\b{3}` is a repetition of `\b`, left to the caller.)
        let mut j = i + 2;
        while j < chars.len() && chars[j] != '}' {
            j += 1;
        }
        return j + 1;
    }
    i + 1
}

/// `i` is just after the opening `[`; returns the index after the class.
/// A `]` right after `[` or `[^` is a literal; `[:name:]` nests once.
fn skip_class(chars: &[char], mut i: usize) -> usize {
    if chars.get(i) == Some(&'^') {
        i += 1;
    }
    if chars.get(i) == Some(&']') {
        i += 1;
    }
    let mut depth = 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// `i` is just after `(?`: the flags up to `:` (a group opens) or `)`.
/// Returns verbose mode after them, the index after them, whether a group
/// opens.
fn flags(chars: &[char], mut i: usize, mut verbose: bool) -> (bool, usize, bool) {
    let mut negated = false;
    while let Some(&c) = chars.get(i) {
        i += 1;
        match c {
            ':' => return (verbose, i, true),
            ')' => return (verbose, i, false),
            '-' => negated = true,
            'x' => verbose = !negated,
            _ => {}
        }
    }
    (verbose, i, false)
}

/// `i` is just after `{`: `{n}`, `{n,}`, `{n,m}` (whitespace allowed, as in
/// verbose mode) → the largest count and the index after `}`.
fn counted(chars: &[char], mut i: usize) -> Option<(u64, usize)> {
    let number = |i: &mut usize| -> Option<u64> {
        while chars.get(*i).is_some_and(|c| c.is_whitespace()) {
            *i += 1;
        }
        let mut n: Option<u64> = None;
        while let Some(d) = chars.get(*i).and_then(|c| c.to_digit(10)) {
            n = Some(
                n.unwrap_or(0)
                    .saturating_mul(10)
                    .saturating_add(u64::from(d)),
            );
            *i += 1;
        }
        while chars.get(*i).is_some_and(|c| c.is_whitespace()) {
            *i += 1;
        }
        n
    };
    let min = number(&mut i);
    let times = if chars.get(i) == Some(&',') {
        i += 1;
        match number(&mut i) {
            Some(max) => max.max(min.unwrap_or(0)),
            None => min?.saturating_add(1),
        }
    } else {
        min?
    };
    (chars.get(i) == Some(&'}')).then_some((times.max(1), i + 1))
}

#[cfg(test)]
mod tests {
    use super::expanded_size as size;

    #[test]
    fn atoms_count_one_each() {
        assert_eq!(size(""), 0);
        assert_eq!(size("abc"), 3);
        assert_eq!(size("café"), 4);
        assert_eq!(size(r"^a.\d\.$"), 6);
        assert_eq!(size("a|bc|d"), 4);
        assert_eq!(size("(a|b)*c+d?"), 8);
        assert_eq!(size(r"[a-z0-9{}]"), 1);
        assert_eq!(size(r"[]{]x"), 2);
        assert_eq!(size(r"[^]{]x"), 2);
        assert_eq!(size(r"[[:alpha:]{]x"), 3);
        assert_eq!(size(r"[\]{]x"), 2);
        assert_eq!(size("[a-zA-Z0-9_.~-]"), 2);
        assert_eq!(size("[ACEGIKMOQSUWYacegikmoqsuwy02468]{0,230}x"), 921);
        assert_eq!(size(r"\x{7B}\u{7B}\p{L}\b{start}x"), 5);
        assert_eq!(size(r"(?i)(?P<n>a)(?<m>b)(?:c)"), 6);
    }

    #[test]
    fn counted_repetitions_multiply() {
        assert_eq!(size("a{3}"), 3);
        assert_eq!(size("a{2,5}"), 5);
        assert_eq!(size("a{4,}"), 5);
        assert_eq!(size("a{0}"), 1);
        assert_eq!(size("a{3}?b"), 5);
        assert_eq!(size("ab{3}"), 4);
        assert_eq!(size("(ab){3}"), 9);
        assert_eq!(size("(a{10}){10}"), 110);
        assert_eq!(size("a{5}{5}{5}"), 125);
        assert_eq!(size("(x|yz){2}w"), 9);
        assert_eq!(size("(.*a){12}"), 48);
        assert_eq!(size("a*{3}"), 6);
        assert_eq!(size(&"a?".repeat(100)), 200);
        assert_eq!(size("a{1,40}a{1,40}a{1,40}a{1,40}b"), 161);
        assert_eq!(size(r"\b{3}"), 3);
        assert_eq!(
            size("a{1000}{1000}{1000}{1000}{1000}{1000}{1000}"),
            u64::MAX
        );
        assert_eq!(size("a{99999999999999999999999}"), u64::MAX);
    }

    #[test]
    fn braces_that_are_not_repetitions_are_atoms() {
        assert_eq!(size(r"a\{1000}"), 7);
        assert_eq!(size("a{x}"), 4);
        assert_eq!(size("[{1000}]"), 1);
        assert_eq!(size("{"), 1);
    }

    #[test]
    fn verbose_mode_skips_whitespace_and_comments() {
        assert_eq!(size("(?x) a {3}"), 3);
        assert_eq!(size("(?x)a # ( {9}\n{3}"), 3);
        assert_eq!(size("(?x)(a{10}) { 10 , 20 }"), 220);
        assert_eq!(size("(?x:a )b {3}"), 2 + 1 + 3);
        // verbose ends with its group; outside, a space is an atom
        assert_eq!(size("(?x:a) {3}"), 2 + 3);
        assert_eq!(size("(?x)(?-x) {3}"), 3);
    }

    #[test]
    fn unbalanced_patterns_still_count() {
        assert_eq!(size("((a{10}"), 12);
        assert_eq!(size("a{10})){10}"), 100);
        assert_eq!(size("[a{1000}"), 1);
    }
}
