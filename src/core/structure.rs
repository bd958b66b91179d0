//! Campaign detail-page structures: `{page: {slug, title, …}, schema: {…}}`.

use crate::core::error::ApiError;
use crate::core::ids::{CampaignId, Handle, Slug};
use crate::core::json::Obj;
use serde_json::{Map, Value};

/// Structures may be up to 256 KiB.
pub const MAX_STRUCTURE_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct Structure {
    pub page_slug: Slug,
    pub page: Map<String, Value>,
    pub schema: Map<String, Value>,
}

impl Structure {
    pub fn parse(body: &Map<String, Value>) -> Result<Structure, ApiError> {
        let o = Obj::new(body);
        o.only(&["page", "schema"])?;
        let page = o
            .object("page")?
            .ok_or_else(|| o.err("page", "is required and must be a JSON object"))?;
        let schema = o
            .object("schema")?
            .ok_or_else(|| o.err("schema", "is required and must be a JSON object"))?;
        let po = Obj::nested(page, "page");
        let page_slug = Slug::parse_field(po.req_str("slug")?, "page.slug")?;
        match po.str("title")? {
            Some(t) if !t.is_empty() && t.chars().count() <= 200 => {}
            Some(_) => return Err(po.err("title", "must be 1-200 characters")),
            None => return Err(po.err("title", "is required")),
        }
        Ok(Structure {
            page_slug,
            page: page.clone(),
            schema: schema.clone(),
        })
    }

    pub fn to_json(&self) -> Value {
        serde_json::json!({"page": self.page, "schema": self.schema})
    }
}

/// `site-structure/{handle}/campaigns/{campaignId}/v{version}.json`
pub fn object_key(h: &Handle, c: &CampaignId, version: i64) -> String {
    format!(
        "site-structure/{}/campaigns/{}/v{version}.json",
        h.as_str(),
        c.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::json::parse_object;

    #[test]
    fn bodies() {
        let ok = parse_object(br#"{"page":{"slug":"spring","title":"Spring","blocks":[1]},"schema":{"type":"object"}}"#).unwrap();
        assert_eq!(Structure::parse(&ok).unwrap().page_slug.as_str(), "spring");
        for bad in [
            r#"{"page":[],"schema":{}}"#,
            r#"{"page":{"slug":"s","title":"t"},"schema":"x"}"#,
            r#"{"page":{"slug":"s","title":"t"}}"#,
            r#"{"page":{"title":"t"},"schema":{}}"#,
            r#"{"page":{"slug":"Bad Slug","title":"t"},"schema":{}}"#,
            r#"{"page":{"slug":"s"},"schema":{}}"#,
            r#"{"page":{"slug":"s","title":"t"},"schema":{},"extra":1}"#,
        ] {
            let m = parse_object(bad.as_bytes()).unwrap();
            assert_eq!(
                Structure::parse(&m).err().map(|e| e.code()),
                Some("invalid_field"),
                "{bad}"
            );
        }
    }

    #[test]
    fn keys() {
        let k = object_key(
            &Handle::parse("demo").unwrap(),
            &CampaignId::parse("spring-launch").unwrap(),
            3,
        );
        assert_eq!(k, "site-structure/demo/campaigns/spring-launch/v3.json");
    }
}
