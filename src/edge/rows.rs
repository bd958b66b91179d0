//! D1 rows into the resource modules' row structs without a serde-wasm-bindgen
//! deserializer per row type. worker's D1 API hands each row over untouched
//! (`Raw`, one instantiation); `from_row` then reads the struct's fields by
//! name, in declaration order (`visit_seq`), each column a plain JS value
//! (string, number, boolean, null). A derived `visit_seq` is a fraction of the
//! size of the `visit_map` + key matching every other deserializer instantiates.

use serde::de::{self, DeserializeOwned, DeserializeSeed, Visitor};
use serde::Deserialize;
use std::fmt;
use wasm_bindgen::JsValue;

/// A row (or a column's value) as D1 returned it.
#[derive(Deserialize)]
pub struct Raw(#[serde(with = "serde_wasm_bindgen::preserve")] pub JsValue);

/// Why a row did not fit its struct.
#[derive(Debug)]
pub struct RowError(String);

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RowError {}

impl de::Error for RowError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        RowError(msg.to_string())
    }
}

pub fn from_row<T: DeserializeOwned>(v: JsValue) -> Result<T, RowError> {
    T::deserialize(Value(v))
}

/// Every row (a loop, not `collect()`: no iterator adapters per row type).
pub fn all<T: DeserializeOwned>(raws: Vec<Raw>) -> Result<Vec<T>, RowError> {
    let mut rows = Vec::with_capacity(raws.len());
    for r in raws {
        rows.push(from_row(r.0)?);
    }
    Ok(rows)
}

/// The Durable Object's SQL rows, the same way.
pub trait Rows {
    fn rows<T: DeserializeOwned>(&self) -> worker::Result<Vec<T>>;
}

impl Rows for worker::SqlCursor {
    fn rows<T: DeserializeOwned>(&self) -> worker::Result<Vec<T>> {
        all(self.to_array::<Raw>()?).map_err(|e| worker::Error::RustError(e.to_string()))
    }
}

struct Value(JsValue);

impl<'de> de::Deserializer<'de> for Value {
    type Error = RowError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        let v = self.0;
        if v.is_null() || v.is_undefined() {
            return visitor.visit_unit();
        }
        if let Some(s) = v.as_string() {
            return visitor.visit_string(s);
        }
        if let Some(n) = v.as_f64() {
            return number(n, visitor);
        }
        if let Some(b) = v.as_bool() {
            return visitor.visit_bool(b);
        }
        Err(de::Error::custom("unsupported column value"))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        if self.0.is_null() || self.0.is_undefined() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    /// Unit variants, stored by name.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, RowError> {
        match self.0.as_string() {
            Some(s) => visitor.visit_enum(de::value::StringDeserializer::<RowError>::new(s)),
            None => Err(de::Error::custom("an enum value is not a string")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, RowError> {
        if !self.0.is_object() {
            return Err(de::Error::custom("a row is not an object"));
        }
        visitor.visit_seq(Fields {
            row: self.0,
            fields: fields.iter(),
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map identifier ignored_any
    }
}

/// Integral numbers as `i64` (what the integer and float visitors all take),
/// the rest as `f64`.
fn number<'de, V: Visitor<'de>>(n: f64, visitor: V) -> Result<V::Value, RowError> {
    const SAFE: f64 = 9_007_199_254_740_991.0;
    if n.fract() == 0.0 && n.abs() <= SAFE {
        visitor.visit_i64(n as i64)
    } else {
        visitor.visit_f64(n)
    }
}

/// A struct's fields, in declaration order, read from the row by name.
struct Fields {
    row: JsValue,
    fields: std::slice::Iter<'static, &'static str>,
}

impl Fields {
    /// Not inlined: one copy, not one per field of every row type.
    #[inline(never)]
    fn next_column(&mut self) -> Option<Result<JsValue, RowError>> {
        let name = self.fields.next()?;
        Some(
            js_sys::Reflect::get(&self.row, &JsValue::from_str(name))
                .map_err(|_| de::Error::custom("unreadable column")),
        )
    }
}

impl<'de> de::SeqAccess<'de> for Fields {
    type Error = RowError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, RowError> {
        match self.next_column() {
            None => Ok(None),
            Some(v) => seed.deserialize(Value(v?)).map(Some),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.fields.len())
    }
}
