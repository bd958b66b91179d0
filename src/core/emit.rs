//! Writing JSON strings and decimal integers straight into a `String`, for
//! the few texts built on every tracked click (the click's JSON, its rollup
//! object's name), where serde_json's generic serializer and `format!` cost
//! several µs a click in the wasm. The output is byte for byte what
//! serde_json writes (tested against it).

/// `s` as a JSON string, escaped exactly as serde_json escapes it: `"` and
/// `\`, the short escapes `\b \t \n \f \r`, other control characters as
/// `\u00XX` (lower-case hex); everything else as is.
pub fn json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        // `b` is ASCII: `i` is a char boundary.
        out.push_str(&s[start..i]);
        if short.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(short);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// `Some(s)` as a JSON string, `None` as `null`.
pub fn json_opt_str(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => json_str(out, s),
        None => out.push_str("null"),
    }
}

/// `n` in decimal.
pub fn int(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    let mut v = n.unsigned_abs();
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        // `v % 10` < 10.
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(v: &str) -> String {
        let mut o = String::new();
        json_str(&mut o, v);
        o
    }

    #[test]
    fn strings_escape_as_serde_json_does() {
        for v in [
            "",
            "plain",
            "quote \" and \\ backslash",
            "\u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f} \u{7f}",
            "é ü 日本 😀",
            "\"",
            "end\\",
        ] {
            assert_eq!(s(v), serde_json::to_string(v).unwrap(), "{v:?}");
        }
    }

    #[test]
    fn integers_in_decimal() {
        for n in [0, 1, -1, 9, 10, 1_733_616_000_000, i64::MAX, i64::MIN] {
            let mut o = String::new();
            int(&mut o, n);
            assert_eq!(o, n.to_string());
        }
    }

    proptest! {
        #[test]
        fn any_string_as_serde_json(v in any::<String>()) {
            prop_assert_eq!(s(&v), serde_json::to_string(&v).unwrap());
        }

        #[test]
        fn any_integer(n in any::<i64>()) {
            let mut o = String::new();
            int(&mut o, n);
            prop_assert_eq!(o, n.to_string());
        }
    }
}
