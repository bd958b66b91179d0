//! The D1 gateway: the only place that talks to the `DB` binding. Statements
//! are built with positional `?` arguments; rows deserialize into the private
//! row structs of each resource module (through `rows`, not serde-wasm-bindgen).

use crate::core::error::{ApiError, ApiResult};
use crate::edge::rows::{all, from_row, Raw};
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Env};

#[derive(Clone)]
pub struct Db(std::rc::Rc<D1Database>);

/// One statement's outcome in a batch.
pub struct D1Result(worker::D1Result);

impl D1Result {
    pub fn results<T: DeserializeOwned>(&self) -> ApiResult<Vec<T>> {
        all(self.0.results::<Raw>()?).map_err(|e| ApiError::Internal(e.to_string()))
    }
}

fn row<T: DeserializeOwned>(r: Raw) -> ApiResult<T> {
    from_row(r.0).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Bound arguments: a statement's `?` values, by type.
pub fn text(v: &str) -> JsValue {
    JsValue::from_str(v)
}
pub fn int(v: i64) -> JsValue {
    JsValue::from_f64(v as f64)
}
pub fn flag(v: bool) -> JsValue {
    JsValue::from_f64(if v { 1.0 } else { 0.0 })
}
pub fn opt_text(v: Option<&str>) -> JsValue {
    v.map(JsValue::from_str).unwrap_or(JsValue::NULL)
}
pub fn opt_int(v: Option<i64>) -> JsValue {
    v.map(|x| JsValue::from_f64(x as f64))
        .unwrap_or(JsValue::NULL)
}

impl Db {
    pub fn new(env: &Env) -> ApiResult<Db> {
        Ok(Db(std::rc::Rc::new(env.d1("DB")?)))
    }

    pub fn stmt(&self, sql: &str, args: &[JsValue]) -> ApiResult<D1PreparedStatement> {
        Ok(self.0.prepare(sql).bind(args)?)
    }

    pub async fn first<T: DeserializeOwned>(
        &self,
        sql: &str,
        args: &[JsValue],
    ) -> ApiResult<Option<T>> {
        let r = self.stmt(sql, args)?.first::<Raw>(None).await?;
        r.map(row).transpose()
    }

    /// One column of the first row.
    pub async fn value<T: DeserializeOwned>(
        &self,
        sql: &str,
        args: &[JsValue],
        column: &str,
    ) -> ApiResult<Option<T>> {
        let r = self.stmt(sql, args)?.first::<Raw>(Some(column)).await?;
        r.map(row).transpose()
    }

    pub async fn all<T: DeserializeOwned>(&self, sql: &str, args: &[JsValue]) -> ApiResult<Vec<T>> {
        let r = self.stmt(sql, args)?.all().await?;
        D1Result(r).results()
    }

    /// Run a write; returns the number of rows changed.
    pub async fn run(&self, sql: &str, args: &[JsValue]) -> ApiResult<usize> {
        let r = self.stmt(sql, args)?.run().await?;
        Ok(changes(&D1Result(r)))
    }

    /// Several statements in one transaction.
    pub async fn batch(&self, stmts: Vec<D1PreparedStatement>) -> ApiResult<Vec<D1Result>> {
        Ok(self
            .0
            .batch(stmts)
            .await?
            .into_iter()
            .map(D1Result)
            .collect())
    }
}

pub fn changes(r: &D1Result) -> usize {
    r.0.meta()
        .ok()
        .flatten()
        .and_then(|m| m.changes)
        .unwrap_or(0)
}
