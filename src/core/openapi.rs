//! `GET /openapi.json`: the OpenAPI 3.1 description of every route, kept as
//! a static asset (`static/openapi.json`, headers in `static/_headers`): the
//! assets router answers it before the Worker runs, so its ~100 KB are not in
//! the wasm module (−9.7 KB gzipped). The tests below hold it to the route
//! table (`core::route`): every documented operation resolves to a route
//! answering that method, every route is documented, and each operation's
//! query parameters are the ones the route reads, so the two cannot drift.

#[cfg(test)]
mod tests {
    /// The document, as served.
    const DOCUMENT: &str = include_str!("../../static/openapi.json");
    use crate::core::auth::Creds;
    use crate::core::route::{resolve, Matched, Method, Route};
    use serde_json::Value;
    use std::collections::BTreeSet;

    /// Local development only (`DEV_SIGN_IN`, tests): deliberately not described.
    const UNDOCUMENTED: [&str; 4] = ["DevToken", "DevFaults", "DevClock", "DevMemory"];

    const METHODS: [(&str, Method); 6] = [
        ("get", Method::Get),
        ("head", Method::Head),
        ("post", Method::Post),
        ("put", Method::Put),
        ("patch", Method::Patch),
        ("delete", Method::Delete),
    ];

    fn doc() -> Value {
        serde_json::from_str(DOCUMENT).expect("openapi.json is JSON")
    }

    /// A concrete path for a template: each `{param}` gets a valid sample.
    fn sample(template: &str) -> String {
        [
            ("{handle}", "demo"),
            ("{campaignId}", "spring-launch"),
            ("{slug}", "spring"),
            ("{ruleId}", "vip-rule"),
            ("{experimentId}", "exp-one"),
            ("{host}", "go.brand.example"),
            ("{tokenId}", "tok_1"),
            ("{webhookId}", "wh_1"),
            ("{deliveryId}", "dlv_1"),
        ]
        .iter()
        .fold(template.to_string(), |p, (k, v)| p.replace(k, v))
    }

    fn matched(m: Method, path: &str) -> Option<(Matched, Route)> {
        let hit = resolve(m, path).ok()?;
        let route = hit.route.clone().ok()?;
        Some((hit, route))
    }

    /// `CampaignGet(…)` → `CampaignGet`.
    fn variant(r: &Route) -> String {
        let s = format!("{r:?}");
        s.split('(').next().unwrap_or(&s).to_string()
    }

    /// The variants of `Route`, read from the route table's source: a new
    /// route is seen here without anyone having to list it.
    fn variants() -> BTreeSet<String> {
        let src = include_str!("route.rs");
        let body = src
            .split("pub enum Route {")
            .nth(1)
            .and_then(|s| s.split("\n}").next())
            .expect("enum Route in route.rs");
        body.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("//"))
            .map(|l| l.split(['(', ',']).next().unwrap_or(l).trim().to_string())
            .collect()
    }

    /// The operation's parameters, `$ref`s resolved.
    fn params<'a>(doc: &'a Value, path_item: &'a Value, op: &'a Value) -> Vec<&'a Value> {
        let deref = |p: &'a Value| -> &'a Value {
            match p.get("$ref").and_then(Value::as_str) {
                Some(r) => doc
                    .pointer(r.trim_start_matches('#'))
                    .unwrap_or_else(|| panic!("dangling {r}")),
                None => p,
            }
        };
        let list = |v: &'a Value| -> Vec<&'a Value> {
            v.get("parameters")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(deref).collect())
                .unwrap_or_default()
        };
        let mut all = list(path_item);
        all.extend(list(op));
        all
    }

    #[test]
    fn every_documented_operation_is_a_route_with_its_method_credentials_and_query() {
        let doc = doc();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().expect("paths");
        let mut checked = 0;
        for (template, item) in paths {
            let path = sample(template);
            let documented: BTreeSet<&str> = METHODS
                .iter()
                .map(|(n, _)| *n)
                .filter(|n| item.get(*n).is_some())
                .collect();
            let mut answered = BTreeSet::new();
            for (name, m) in METHODS {
                let Some((hit, route)) = matched(m, &path) else {
                    assert!(
                        item.get(name).is_none(),
                        "{name} {template}: documented, but the route table has no such route"
                    );
                    continue;
                };
                answered.insert(name);
                let op = &item[name];
                assert!(
                    op.is_object(),
                    "{name} {template} ({route:?}) is not documented"
                );
                checked += 1;
                // Query parameters: exactly the ones the route reads.
                let in_doc: BTreeSet<&str> = params(&doc, item, op)
                    .iter()
                    .filter(|p| p["in"] == "query")
                    .filter_map(|p| p["name"].as_str())
                    .collect();
                let read: BTreeSet<&str> = route
                    .query_params()
                    .unwrap_or(&[])
                    .iter()
                    .copied()
                    .collect();
                assert_eq!(in_doc, read, "{name} {template}: query parameters");
                // Path parameters: each `{name}` of the template is described.
                for p in template
                    .split('{')
                    .skip(1)
                    .filter_map(|s| s.split('}').next())
                {
                    assert!(
                        params(&doc, item, op)
                            .iter()
                            .any(|d| d["in"] == "path" && d["name"] == p),
                        "{name} {template}: path parameter {p} is not described"
                    );
                }
                // Security: the credential kinds the route accepts.
                let schemes: BTreeSet<String> = op["security"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{name} {template}: no security"))
                    .iter()
                    .flat_map(|req| req.as_object().into_iter().flat_map(|o| o.keys().cloned()))
                    .collect();
                let want: &[&str] = match (hit.need.creds, &route) {
                    (_, Route::Mcp) => &["pat"],
                    (_, Route::DetailPage(..)) => &["jwt"],
                    (Creds::Public, _) => &[],
                    (Creds::JwtOrPat, _) => &["jwt", "pat"],
                    (Creds::JwtOnly, _) => &["jwt"],
                    (Creds::PatOnly, _) => &["pat"],
                };
                let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
                assert_eq!(schemes, want, "{name} {template}: security");
                if !want.is_empty() && !matches!(route, Route::DetailPage(..)) {
                    for status in ["401", "403"] {
                        assert!(
                            op["responses"].get(status).is_some(),
                            "{name} {template}: no {status} response"
                        );
                    }
                }
            }
            assert_eq!(answered, documented, "{template}: methods");
        }
        assert!(checked >= 50, "only {checked} operations checked");
    }

    #[test]
    fn every_route_of_the_table_is_documented() {
        let doc = doc();
        let mut seen = BTreeSet::new();
        for (template, item) in doc["paths"].as_object().expect("paths") {
            for (name, m) in METHODS {
                if item.get(name).is_some() {
                    if let Some((_, route)) = matched(m, &sample(template)) {
                        seen.insert(variant(&route));
                    }
                }
            }
        }
        let all = variants();
        assert!(all.len() > 40, "read {} variants from route.rs", all.len());
        let missing: Vec<&String> = all
            .iter()
            .filter(|v| !seen.contains(*v) && !UNDOCUMENTED.contains(&v.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "routes missing from openapi.json: {missing:?}"
        );
    }

    #[test]
    fn every_operation_has_an_id_a_success_and_documented_error_bodies() {
        let doc = doc();
        let mut ids = BTreeSet::new();
        for (template, item) in doc["paths"].as_object().expect("paths") {
            for (name, _) in METHODS {
                let Some(op) = item.get(name) else { continue };
                let id = op["operationId"].as_str().expect("operationId");
                assert!(ids.insert(id.to_string()), "duplicate operationId {id}");
                let responses = op["responses"].as_object().expect("responses");
                assert!(
                    responses
                        .keys()
                        .any(|s| s.starts_with('2') || s.starts_with('3')),
                    "{name} {template}: no success response"
                );
            }
        }
        let envelope = &doc["components"]["schemas"]["Error"];
        assert_eq!(envelope["required"][0], "error");
        assert_eq!(
            doc["components"]["securitySchemes"]["jwt"]["bearerFormat"],
            "JWT"
        );
        assert_eq!(
            doc["components"]["securitySchemes"]["pat"]["scheme"],
            "bearer"
        );
    }
}
