//! Reading JSON request bodies into typed fields, with `invalid_json` /
//! `invalid_field` errors that name the field. Parsers in the resource
//! modules are written against [`Obj`].

use crate::core::error::ApiError;
use serde_json::{Map, Value};

/// Parse a request body that must be one JSON object.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::InvalidJson("the body is empty".into()));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::InvalidJson(
            "the body must be a JSON object".into(),
        )),
        Err(e) => Err(ApiError::InvalidJson(format!(
            "line {} column {}",
            e.line(),
            e.column()
        ))),
    }
}

/// A borrowed JSON object with typed accessors. `null` reads as absent.
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    prefix: &'a str,
}

impl<'a> Obj<'a> {
    pub fn new(map: &'a Map<String, Value>) -> Self {
        Obj { map, prefix: "" }
    }

    /// A nested object; field names in errors are prefixed (`trackingPolicy.mode`).
    pub fn nested(map: &'a Map<String, Value>, prefix: &'a str) -> Self {
        Obj { map, prefix }
    }

    pub fn name(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    pub fn err(&self, key: &str, message: &str) -> ApiError {
        ApiError::field(&self.name(key), message)
    }

    /// Reject fields the resource does not know: a typo must not be silently ignored.
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => {
                let shown: String = k.chars().take(64).collect();
                Err(ApiError::field(&self.name(&shown), "is not a known field"))
            }
            None => Ok(()),
        }
    }

    pub fn has(&self, key: &str) -> bool {
        matches!(self.map.get(key), Some(v) if !v.is_null())
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn str(&self, key: &str) -> Result<Option<&'a str>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(self.err(key, "must be a string")),
        }
    }

    pub fn req_str(&self, key: &str) -> Result<&'a str, ApiError> {
        self.str(key)?.ok_or_else(|| self.err(key, "is required"))
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.err(key, "must be true or false")),
        }
    }

    /// An integer that fits in i64 (JSON `5.0` is not accepted as an integer).
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.err(key, "must be an integer")),
            Some(_) => Err(self.err(key, "must be an integer")),
        }
    }

    pub fn number(&self, key: &str) -> Result<Option<f64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(f) if f.is_finite() => Ok(Some(f)),
                _ => Err(self.err(key, "must be a finite number")),
            },
            Some(_) => Err(self.err(key, "must be a number")),
        }
    }

    pub fn object(&self, key: &str) -> Result<Option<&'a Map<String, Value>>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(self.err(key, "must be an object")),
        }
    }

    /// An array of strings, at most `max` long.
    pub fn str_array(&self, key: &str, max: usize) -> Result<Option<Vec<&'a str>>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => {
                if items.len() > max {
                    return Err(self.err(key, &format!("must have at most {max} items")));
                }
                items
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .ok_or_else(|| self.err(key, "must be an array of strings"))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some)
            }
            Some(_) => Err(self.err(key, "must be an array of strings")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_that_are_not_objects() {
        for (body, why) in [
            (&b""[..], "empty"),
            (b"  ", "blank"),
            (b"{", "truncated"),
            (b"[]", "array"),
            (b"\"x\"", "string"),
            (b"null", "null"),
            (b"{\"a\":1}x", "trailing garbage"),
        ] {
            assert!(
                matches!(parse_object(body), Err(ApiError::InvalidJson(_))),
                "{why}"
            );
        }
        assert!(parse_object(b"{\"a\":1}").is_ok());
    }

    #[test]
    fn typed_accessors_name_the_field() {
        let m = parse_object(br#"{"a":"x","b":1,"c":true,"d":[1],"e":null,"f":1.5}"#).unwrap();
        let o = Obj::new(&m);
        assert_eq!(o.str("a").unwrap(), Some("x"));
        assert_eq!(o.str("e").unwrap(), None);
        assert_eq!(o.str("b"), Err(ApiError::field("b", "must be a string")));
        assert_eq!(o.int("f"), Err(ApiError::field("f", "must be an integer")));
        assert_eq!(o.bool("c").unwrap(), Some(true));
        assert!(o.str_array("d", 10).is_err());
        assert!(o.only(&["a", "b", "c", "d", "e"]).is_err());
        let n = Obj::nested(&m, "trackingPolicy");
        assert_eq!(
            n.req_str("zz"),
            Err(ApiError::field("trackingPolicy.zz", "is required"))
        );
    }
}
