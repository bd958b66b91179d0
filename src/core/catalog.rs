//! `GET /v2/meta`: the enumerations and limits a client needs to build forms
//! (goal types with their tracking defaults, roles, grantable scopes, webhook
//! events, devices, tracking modes, rule conditions and days of the week, body
//! limits), served from the same enums
//! the server validates with, so no client keeps a copy that can drift.

use crate::core::auth::{Role, Scope};
use crate::core::campaign::GoalType;
use crate::core::classify::Device;
use crate::core::link::TrackingMode;
use crate::core::rules::{Condition, DAY_NAMES};
use crate::core::structure::MAX_STRUCTURE_BYTES;
use crate::core::webhook::EventType;
use serde_json::{json, Value};

/// Request bodies other than structures are limited to this many bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The catalog document. Pure and constant: callers may cache it.
pub fn catalog() -> Value {
    let goal_types: Vec<Value> = GoalType::ALL
        .iter()
        .map(|g| {
            json!({
                "goalType": g.as_str(),
                "label": g.label(),
                "trackingPreset": g.default_preset(),
                "conversionEventType": g.default_event_type(),
            })
        })
        .collect();
    // Exact scopes, then each family's wildcard, then `*`.
    let mut scopes: Vec<String> = Scope::ALL.iter().map(|s| s.as_str().to_string()).collect();
    let mut families: Vec<&str> = Scope::ALL
        .iter()
        .filter_map(|s| s.as_str().split('.').next())
        .collect();
    families.dedup();
    scopes.extend(families.iter().map(|f| format!("{f}.*")));
    scopes.push("*".into());
    json!({
        "goalTypes": goal_types,
        "roles": Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "scopes": scopes,
        "webhookEvents": EventType::ALL.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        "devices": [Device::Mobile.as_str(), Device::Desktop.as_str(), Device::Tablet.as_str()],
        "trackingModes": [TrackingMode::Direct.as_str(), TrackingMode::AggregateOnly.as_str(), TrackingMode::Off.as_str()],
        "ruleConditions": Condition::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "daysOfWeek": DAY_NAMES,
        "limits": {"bodyBytes": MAX_BODY_BYTES, "structureBytes": MAX_STRUCTURE_BYTES},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::auth::is_grantable_scope;

    #[test]
    fn every_listed_scope_is_grantable_and_every_goal_parses() {
        let c = catalog();
        for s in c["scopes"].as_array().unwrap() {
            assert!(is_grantable_scope(s.as_str().unwrap()), "{s}");
        }
        assert!(c["scopes"]
            .as_array()
            .unwrap()
            .contains(&json!("analytics.*")));
        for g in c["goalTypes"].as_array().unwrap() {
            let t = GoalType::parse(g["goalType"].as_str().unwrap()).unwrap();
            assert_eq!(g["conversionEventType"], t.default_event_type());
        }
        for e in c["webhookEvents"].as_array().unwrap() {
            assert!(EventType::parse(e.as_str().unwrap()).is_some());
        }
        assert_eq!(c["roles"], json!(["VIEWER", "CREATOR", "ADMIN", "OWNER"]));
        assert_eq!(
            c["daysOfWeek"],
            json!(["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"])
        );
        assert_eq!(c["ruleConditions"].as_array().unwrap().len(), 13);
        assert_eq!(c["ruleConditions"][12], "userAgentMatches");
    }
}
