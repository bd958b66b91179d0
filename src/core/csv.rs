//! CSV export of a campaign's ledger (`GET …/campaigns/{id}/clicks.csv` and
//! `…/conversions.csv`): RFC 4180 fields and rows, the header rows, the
//! `?from=&to=` range, and the keyset pager the edge streams page by page.
//!
//! - Lines end with CRLF; the first line is the header row (camelCase column
//!   names, as in the API).
//! - A field is quoted when it contains a comma, a double quote, CR or LF;
//!   quotes inside are doubled. Text is UTF-8 as stored, without a BOM.
//! - Formula injection: a text field that starts with `=`, `+`, `-`, `@`, tab,
//!   CR or `'` gets a `'` in front, so a spreadsheet shows it as text instead
//!   of evaluating it. The rule is reversible: no other value of the export
//!   starts with `'`, so removing one leading `'` from any field gives the
//!   stored value back. Times, booleans, values and the metadata JSON (which
//!   always starts with `{`) are never prefixed.
//! - Rows come in `(time, id)` order; the pager's cursor is the last row's
//!   `(time, id)`, so rows with equal times are neither skipped nor repeated
//!   at a page boundary.

use crate::core::error::ApiError;
use crate::core::time::{parse_rfc3339, rfc3339};
use serde::Deserialize;

/// Rows read (and written) per page of a clicks export: one D1 query each.
pub const CLICK_PAGE_SIZE: usize = 1000;
/// Rows per page of a conversions export: fewer, as a conversion's metadata
/// may be up to 16 KiB (a page is then at most ~4 MiB of CSV).
pub const CONVERSION_PAGE_SIZE: usize = 250;

pub const CLICK_COLUMNS: [&str; 12] = [
    "clickId",
    "time",
    "slug",
    "ruleId",
    "variantId",
    "country",
    "device",
    "source",
    "referrerHost",
    "segment",
    "bot",
    "botReason",
];

pub const CONVERSION_COLUMNS: [&str; 16] = [
    "conversionId",
    "occurredAt",
    "createdAt",
    "clickId",
    "slug",
    "ruleId",
    "country",
    "device",
    "source",
    "segment",
    "eventType",
    "value",
    "currency",
    "orderId",
    "test",
    "metadata",
];

/// The query parameters an export accepts.
pub const PARAMS: [&str; 2] = ["from", "to"];

/// Lowest and highest times a JavaScript `Date` can hold: the open ends of
/// a range (and exactly representable as the f64 a D1 argument is).
pub const MIN_MS: i64 = -8_640_000_000_000_000;
pub const MAX_MS: i64 = 8_640_000_000_000_000;

/// Append one field, quoted when RFC 4180 requires it.
pub fn push_field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\r', '\n']) {
        out.push('"');
        for c in value.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(value);
    }
}

/// Whether a spreadsheet could take `value` for a formula (or it starts with
/// the `'` that marks a neutralized field).
pub fn needs_neutralizing(value: &str) -> bool {
    matches!(
        value.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\'')
    )
}

/// Append a text field (`None` is empty), neutralized against formula injection.
pub fn push_text(out: &mut String, value: Option<&str>) {
    match value {
        Some(v) if needs_neutralizing(v) => {
            let mut prefixed = String::with_capacity(v.len() + 1);
            prefixed.push('\'');
            prefixed.push_str(v);
            push_field(out, &prefixed);
        }
        Some(v) => push_field(out, v),
        None => {}
    }
}

/// A row: fields joined by commas, CRLF at the end.
pub struct Row<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Row<'a> {
    pub fn new(out: &'a mut String) -> Row<'a> {
        Row { out, first: true }
    }
    fn sep(&mut self) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out
    }
    /// User or visitor text (ids, dimensions, order ids): neutralized.
    pub fn text(&mut self, v: Option<&str>) -> &mut Self {
        push_text(self.sep(), v);
        self
    }
    /// A value the export formats itself (times, booleans, amounts, JSON).
    pub fn data(&mut self, v: &str) -> &mut Self {
        push_field(self.sep(), v);
        self
    }
    pub fn end(&mut self) {
        self.out.push_str("\r\n");
    }
}

/// The header row of `columns`.
pub fn header(columns: &[&str]) -> String {
    let mut out = String::new();
    let mut row = Row::new(&mut out);
    for c in columns {
        row.data(c);
    }
    row.end();
    out
}

fn flag(v: i64) -> &'static str {
    if v != 0 {
        "true"
    } else {
        "false"
    }
}

/// Integer cents as an amount with two decimals (`1250` → `12.50`).
pub fn amount(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    format!("{sign}{}.{:02}", c / 100, c % 100)
}

/// A ledger row the export can write and page through.
pub trait Record {
    /// The keyset: `(time, id)`, the export's order.
    fn key(&self) -> (i64, &str);
    fn write(&self, out: &mut String);
}

/// A `clicks` row, as the export reads it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ClickRow {
    pub click_id: String,
    pub ts: i64,
    pub slug: String,
    pub rule_id: Option<String>,
    pub variant_id: Option<String>,
    pub country: String,
    pub device: String,
    pub source: String,
    pub referrer_host: Option<String>,
    pub segment: String,
    pub bot: i64,
    pub bot_reason: Option<String>,
}

impl Record for ClickRow {
    fn key(&self) -> (i64, &str) {
        (self.ts, &self.click_id)
    }
    fn write(&self, out: &mut String) {
        Row::new(out)
            .text(Some(&self.click_id))
            .data(&rfc3339(self.ts))
            .text(Some(&self.slug))
            .text(self.rule_id.as_deref())
            .text(self.variant_id.as_deref())
            .text(Some(&self.country))
            .text(Some(&self.device))
            .text(Some(&self.source))
            .text(self.referrer_host.as_deref())
            .text(Some(&self.segment))
            .data(flag(self.bot))
            .text(self.bot_reason.as_deref())
            .end();
    }
}

/// A `conversions` row, as the export reads it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ConversionRow {
    pub conversion_id: String,
    pub occurred_at: i64,
    pub created_at: i64,
    pub click_id: Option<String>,
    pub slug: Option<String>,
    pub rule_id: Option<String>,
    pub country: Option<String>,
    pub device: Option<String>,
    pub source: Option<String>,
    pub segment: Option<String>,
    pub event_type: String,
    pub value_cents: Option<i64>,
    pub currency: String,
    pub order_id: Option<String>,
    pub test: i64,
    pub metadata_json: String,
}

impl Record for ConversionRow {
    fn key(&self) -> (i64, &str) {
        (self.created_at, &self.conversion_id)
    }
    fn write(&self, out: &mut String) {
        Row::new(out)
            .text(Some(&self.conversion_id))
            .data(&rfc3339(self.occurred_at))
            .data(&rfc3339(self.created_at))
            .text(self.click_id.as_deref())
            .text(self.slug.as_deref())
            .text(self.rule_id.as_deref())
            .text(self.country.as_deref())
            .text(self.device.as_deref())
            .text(self.source.as_deref())
            .text(self.segment.as_deref())
            .text(Some(&self.event_type))
            .data(&self.value_cents.map(amount).unwrap_or_default())
            .text(Some(&self.currency))
            .text(self.order_id.as_deref())
            .data(flag(self.test))
            .data(&self.metadata_json)
            .end();
    }
}

/// `?from=&to=`: `from` inclusive, `to` exclusive, both optional (RFC 3339).
/// Any other parameter, a repeated one or an unparsable time is refused,
/// naming the parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: i64,
    pub to: i64,
}

impl Range {
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Range, ApiError> {
        let (mut from, mut to) = (None, None);
        for (k, v) in pairs {
            let slot = match k {
                "from" => &mut from,
                "to" => &mut to,
                _ => {
                    let name: String = k.chars().take(32).collect();
                    return Err(ApiError::field(
                        &name,
                        "is not a parameter of this export (from, to)",
                    ));
                }
            };
            if slot.is_some() {
                return Err(ApiError::field(k, "must be given once"));
            }
            *slot = Some(
                parse_rfc3339(v)
                    .filter(|t| (MIN_MS..=MAX_MS).contains(t))
                    .ok_or_else(|| ApiError::field(k, "must be an RFC 3339 timestamp"))?,
            );
        }
        let range = Range {
            from: from.unwrap_or(MIN_MS),
            to: to.unwrap_or(MAX_MS),
        };
        if range.from >= range.to {
            return Err(ApiError::field("from", "must be before to"));
        }
        Ok(range)
    }
}

/// Keyset pagination over `(time, id)`: the edge asks for the rows of the
/// range after `after()`, in key order, at most `page_size` of them, and
/// hands them to `page`, which writes them (the header first) and moves the
/// cursor. A page shorter than `page_size` is the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pager {
    page_size: usize,
    after: Option<(i64, String)>,
    header: Option<String>,
    done: bool,
}

impl Pager {
    pub fn new(page_size: usize, columns: &[&str]) -> Pager {
        Pager {
            page_size: page_size.max(1),
            after: None,
            header: Some(header(columns)),
            done: false,
        }
    }

    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// The last key written (None before the first page).
    pub fn after(&self) -> Option<(i64, &str)> {
        self.after.as_ref().map(|(t, id)| (*t, id.as_str()))
    }

    /// The query's lower bound and id cursor for the next page in `range`:
    /// rows with `time >= lower` and (`time > lower` or `id > cursor`).
    /// The cursor is empty (every id is greater) before the first page.
    pub fn next_bounds(&self, range: &Range) -> (i64, &str) {
        match self.after() {
            Some((t, id)) => (t.max(range.from), id),
            None => (range.from, ""),
        }
    }

    pub fn done(&self) -> bool {
        self.done
    }

    /// Stop: nothing more is read.
    pub fn finish(&mut self) {
        self.done = true;
    }

    /// The CSV text of one page of rows (after the header on the first).
    /// Takes the rows: each is freed once written, so a page is not held
    /// twice (as rows and as text) at its peak.
    pub fn page<R: Record>(&mut self, rows: Vec<R>) -> String {
        let mut out = self.header.take().unwrap_or_default();
        if rows.len() < self.page_size {
            self.done = true;
        }
        let mut last = None;
        for r in rows {
            r.write(&mut out);
            last = Some(r);
        }
        if let Some(r) = last {
            let (t, id) = r.key();
            self.after = Some((t, id.to_string()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(v: &str) -> String {
        let mut s = String::new();
        push_field(&mut s, v);
        s
    }

    fn text(v: Option<&str>) -> String {
        let mut s = String::new();
        push_text(&mut s, v);
        s
    }

    #[test]
    fn fields_are_quoted_only_when_needed() {
        for (input, want) in [
            ("", ""),
            ("plain", "plain"),
            ("with space", "with space"),
            (" padded ", " padded "),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("\"", "\"\"\"\""),
            ("line\nbreak", "\"line\nbreak\""),
            ("cr\rhere", "\"cr\rhere\""),
            ("crlf\r\n", "\"crlf\r\n\""),
            ("ünïcødé 日本 😀", "ünïcødé 日本 😀"),
            ("日本,語", "\"日本,語\""),
            ("semi;colon", "semi;colon"),
            ("tab\tinside", "tab\tinside"),
            (
                "{\"a\":1,\"b\":\"x\"}",
                "\"{\"\"a\"\":1,\"\"b\"\":\"\"x\"\"}\"",
            ),
        ] {
            assert_eq!(field(input), want, "{input:?}");
        }
    }

    #[test]
    fn text_fields_are_neutralized_against_formulas() {
        for (input, want) in [
            (None, ""),
            (Some(""), ""),
            (Some("order-1"), "order-1"),
            (Some("=1+1"), "'=1+1"),
            (Some("+1"), "'+1"),
            (Some("-2-3"), "'-2-3"),
            (Some("@SUM(A1)"), "'@SUM(A1)"),
            (Some("\tx"), "'\tx"),
            (Some("\rx"), "\"'\rx\""),
            (Some("'quoted"), "''quoted"),
            (
                Some("=HYPERLINK(\"http://x\",\"y\")"),
                "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"",
            ),
            (Some("a=b"), "a=b"),
            (Some("ab-"), "ab-"),
            (Some("é=1"), "é=1"),
        ] {
            assert_eq!(text(input), want, "{input:?}");
        }
    }

    #[test]
    fn amounts_have_two_decimals() {
        for (cents, want) in [
            (0, "0.00"),
            (5, "0.05"),
            (1250, "12.50"),
            (9999, "99.99"),
            (12_050, "120.50"),
            (100_000_000_000_000, "1000000000000.00"),
            (-5, "-0.05"),
        ] {
            assert_eq!(amount(cents), want);
        }
    }

    #[test]
    fn header_rows() {
        assert_eq!(
            header(&CLICK_COLUMNS),
            "clickId,time,slug,ruleId,variantId,country,device,source,referrerHost,segment,bot,botReason\r\n"
        );
        assert_eq!(
            header(&CONVERSION_COLUMNS),
            "conversionId,occurredAt,createdAt,clickId,slug,ruleId,country,device,source,segment,eventType,value,currency,orderId,test,metadata\r\n"
        );
    }

    fn click(id: &str, ts: i64) -> ClickRow {
        ClickRow {
            click_id: id.into(),
            ts,
            slug: "spring-promo".into(),
            rule_id: None,
            variant_id: None,
            country: "US".into(),
            device: "MOBILE".into(),
            source: "email".into(),
            referrer_host: None,
            segment: "mobile:email".into(),
            bot: 0,
            bot_reason: None,
        }
    }

    fn line<R: Record>(r: &R) -> String {
        let mut s = String::new();
        r.write(&mut s);
        s
    }

    #[test]
    fn click_rows() {
        assert_eq!(
            line(&click("clk_a", 1_772_022_896_123)),
            "clk_a,2026-02-25T12:34:56.123Z,spring-promo,,,US,MOBILE,email,,mobile:email,false,\r\n"
        );
        let bot = ClickRow {
            rule_id: Some("spring-rule".into()),
            variant_id: Some("v-1".into()),
            referrer_host: Some("-x.example".into()),
            source: "a,b".into(),
            bot: 1,
            bot_reason: Some("user_agent".into()),
            ..click("clk_b", 0)
        };
        assert_eq!(
            line(&bot),
            "clk_b,1970-01-01T00:00:00.000Z,spring-promo,spring-rule,v-1,US,MOBILE,\"a,b\",'-x.example,mobile:email,true,user_agent\r\n"
        );
    }

    fn conversion(id: &str, created_at: i64) -> ConversionRow {
        ConversionRow {
            conversion_id: id.into(),
            occurred_at: created_at - 1000,
            created_at,
            click_id: None,
            slug: None,
            rule_id: None,
            country: None,
            device: None,
            source: None,
            segment: None,
            event_type: "purchase".into(),
            value_cents: None,
            currency: "USD".into(),
            order_id: None,
            test: 0,
            metadata_json: "{}".into(),
        }
    }

    #[test]
    fn conversion_rows() {
        assert_eq!(
            line(&conversion("cnv_1", 1_000)),
            "cnv_1,1970-01-01T00:00:00.000Z,1970-01-01T00:00:01.000Z,,,,,,,,purchase,,USD,,false,{}\r\n"
        );
        let full = ConversionRow {
            click_id: Some("clk_x".into()),
            slug: Some("spring-promo".into()),
            rule_id: Some("r".into()),
            country: Some("DE".into()),
            device: Some("DESKTOP".into()),
            source: Some("email".into()),
            segment: Some("desktop:email".into()),
            value_cents: Some(12_050),
            currency: "EUR".into(),
            order_id: Some("A, \"B\"\r\nC".into()),
            test: 1,
            metadata_json: r#"{"note":"x,y","test":true}"#.into(),
            event_type: "=cmd".into(),
            ..conversion("cnv_2", 2_000)
        };
        assert_eq!(
            line(&full),
            "cnv_2,1970-01-01T00:00:01.000Z,1970-01-01T00:00:02.000Z,clk_x,spring-promo,r,DE,DESKTOP,email,desktop:email,'=cmd,120.50,EUR,\"A, \"\"B\"\"\r\nC\",true,\"{\"\"note\"\":\"\"x,y\"\",\"\"test\"\":true}\"\r\n"
        );
    }

    #[test]
    fn ranges() {
        let p = |q: &[(&'static str, &'static str)]| Range::parse(q.iter().copied());
        assert_eq!(
            p(&[]).unwrap(),
            Range {
                from: MIN_MS,
                to: MAX_MS
            }
        );
        assert_eq!(
            p(&[
                ("from", "2026-02-25T12:34:56.000Z"),
                ("to", "2026-02-26T00:00:00+01:00")
            ])
            .unwrap(),
            Range {
                from: 1_772_022_896_000,
                to: 1_772_060_400_000
            }
        );
        assert_eq!(p(&[("to", "1970-01-01T00:00:00Z")]).unwrap().to, 0);
        for (q, field) in [
            (&[("from", "yesterday")][..], "from"),
            (&[("to", "")][..], "to"),
            (&[("from", "2026-02-25")][..], "from"),
            (&[("to", "1700000000")][..], "to"),
            (&[("bogus", "1")][..], "bogus"),
            (&[("From", "2026-02-25T12:34:56Z")][..], "From"),
            (
                &[
                    ("from", "2026-02-25T12:34:56Z"),
                    ("from", "2026-02-25T12:34:56Z"),
                ][..],
                "from",
            ),
            (
                &[
                    ("from", "2026-02-25T12:34:56Z"),
                    ("to", "2026-02-25T12:34:56Z"),
                ][..],
                "from",
            ),
            (
                &[
                    ("from", "2026-02-26T00:00:00Z"),
                    ("to", "2026-02-25T00:00:00Z"),
                ][..],
                "from",
            ),
        ] {
            match p(q) {
                Err(ApiError::InvalidField { field: f, .. }) => assert_eq!(f, field, "{q:?}"),
                other => panic!("{q:?}: {other:?}"),
            }
        }
        // An unknown parameter's name is echoed at most 32 characters long.
        let long = "x".repeat(5000);
        match Range::parse([(long.as_str(), "1")]) {
            Err(ApiError::InvalidField { field, .. }) => assert_eq!(field.len(), 32),
            other => panic!("{other:?}"),
        }
    }

    /// The ledger query of the edge, in memory: rows of `range` after the
    /// pager's bounds, in `(time, id)` order, at most a page.
    fn query(ledger: &[ClickRow], pager: &Pager, range: &Range) -> Vec<ClickRow> {
        let (lower, cursor) = pager.next_bounds(range);
        let mut rows: Vec<ClickRow> = ledger
            .iter()
            .filter(|r| {
                r.ts >= lower && r.ts < range.to && (r.ts > lower || r.click_id.as_str() > cursor)
            })
            .cloned()
            .collect();
        rows.sort_by(|a, b| a.key().cmp(&b.key()));
        rows.truncate(pager.page_size());
        rows
    }

    fn export(ledger: &[ClickRow], page_size: usize, range: &Range) -> (String, usize) {
        let mut pager = Pager::new(page_size, &CLICK_COLUMNS);
        let mut out = String::new();
        let mut queries = 0;
        while !pager.done() {
            let rows = query(ledger, &pager, range);
            queries += 1;
            out.push_str(&pager.page(rows));
        }
        (out, queries)
    }

    #[test]
    fn pages_neither_skip_nor_repeat_rows_with_equal_times() {
        // 2,500 clicks, ~7 per millisecond, ids not in time order.
        let ledger: Vec<ClickRow> = (0..2500)
            .map(|i| click(&format!("clk_{:05}", (i * 7919) % 2500), 1_000 + i / 7))
            .collect();
        let mut sorted = ledger.clone();
        sorted.sort_by(|a, b| a.key().cmp(&b.key()));
        let mut want = header(&CLICK_COLUMNS);
        for r in &sorted {
            r.write(&mut want);
        }
        let all = Range::parse([]).unwrap();
        for (page_size, queries) in [(1000, 3), (7, 358), (3, 834), (2500, 2), (5000, 1)] {
            let (got, n) = export(&ledger, page_size, &all);
            assert_eq!(got, want, "page size {page_size}");
            assert_eq!(n, queries, "page size {page_size}");
        }
        // A range: from inclusive, to exclusive.
        let range = Range {
            from: 1_010,
            to: 1_020,
        };
        let (got, _) = export(&ledger, 4, &range);
        let mut want = header(&CLICK_COLUMNS);
        for r in sorted.iter().filter(|r| (1_010..1_020).contains(&r.ts)) {
            r.write(&mut want);
        }
        assert_eq!(got, want);
        assert_eq!(got.matches("\r\n").count(), 1 + 70);
    }

    #[test]
    fn an_empty_export_is_the_header() {
        let (got, n) = export(&[], CLICK_PAGE_SIZE, &Range::parse([]).unwrap());
        assert_eq!(got, header(&CLICK_COLUMNS));
        assert_eq!(n, 1);
    }
}
