//! Pagination: `?limit=` (1–100, default 50) and an opaque cursor.

use crate::core::error::ApiError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    /// The last key of the previous page (exclusive lower bound).
    pub after: Option<String>,
}

impl Page {
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Page, ApiError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(s) => match s.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => return Err(ApiError::field("limit", "must be an integer from 1 to 100")),
            },
        };
        let after =
            match cursor {
                None | Some("") => None,
                Some(c) => Some(decode_cursor(c).ok_or_else(|| {
                    ApiError::field("cursor", "is not a cursor this API returned")
                })?),
            };
        Ok(Page { limit, after })
    }
}

pub fn encode_cursor(last_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("k:{last_key}"))
}

impl Page {
    /// Split a `limit + 1` result (the rows after `self.after`, in key
    /// order) into this page and the cursor of the next one (None at the end).
    pub fn split<T>(
        &self,
        mut rows: Vec<T>,
        key: impl Fn(&T) -> String,
    ) -> (Vec<T>, Option<String>) {
        let limit = self.limit as usize;
        if rows.len() > limit {
            rows.truncate(limit);
            let next = rows.last().map(|r| encode_cursor(&key(r)));
            (rows, next)
        } else {
            (rows, None)
        }
    }
}

fn decode_cursor(c: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(c).ok()?;
    let s = String::from_utf8(bytes).ok()?;
    s.strip_prefix("k:").map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_cursors() {
        assert_eq!(
            Page::parse(None, None).unwrap(),
            Page {
                limit: 50,
                after: None
            }
        );
        assert_eq!(Page::parse(Some("100"), None).unwrap().limit, 100);
        for bad in ["0", "101", "-1", "x", "1.5"] {
            assert!(Page::parse(Some(bad), None).is_err(), "{bad}");
        }
        let c = encode_cursor("spring-launch");
        assert_eq!(
            Page::parse(None, Some(&c)).unwrap().after.as_deref(),
            Some("spring-launch")
        );
        assert!(Page::parse(None, Some("garbage!")).is_err());
    }

    #[test]
    fn split_pages() {
        let p = Page::parse(Some("2"), None).unwrap();
        let (items, next) = p.split(vec!["a", "b", "c"], |s| s.to_string());
        assert_eq!(items, ["a", "b"]);
        let after = Page::parse(None, next.as_deref()).unwrap().after;
        assert_eq!(after.as_deref(), Some("b"));
        let (items, next) = p.split(vec!["c"], |s| s.to_string());
        assert_eq!((items, next), (vec!["c"], None));
        let (items, next) = p.split(vec!["a", "b"], |s| s.to_string());
        assert_eq!((items.len(), next), (2, None));
    }
}
