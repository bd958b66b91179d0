//! `ApiError`: the one error type of the API. Every status code is decided in
//! [`ApiError::status`], every code string in [`ApiError::code`]; the edge turns
//! it into `{"error": {"code", "message"}}`. Internal failures carry
//! no detail outward: the edge logs them and answers with a generic sentence.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    InvalidJson(String),
    /// A field failed validation; the message names the field.
    InvalidField {
        field: String,
        message: String,
    },
    InvalidCampaignId(String),
    PayloadTooLarge(usize),
    Unauthorized(String),
    Forbidden,
    /// `POST /mcp` from a browser origin that is neither ours nor allowed.
    OriginNotAllowed,
    CampaignNotFound,
    LinkNotFound,
    NotFound(String),
    MethodNotAllowed,
    UnsupportedMediaType,
    CampaignConflict(String),
    /// The link already has a RUNNING experiment (its id).
    ExperimentConflict(String),
    /// The host is claimed by another handle.
    HostTaken(String),
    /// The webhook (its id) is disabled: enable it before redelivering.
    WebhookDisabled(String),
    InvalidTransition {
        from: String,
        to: String,
    },
    CampaignNotTracking(String),
    IdempotencyConflict,
    EventTypeMismatch {
        expected: String,
        got: String,
    },
    RateLimited {
        retry_after_secs: u32,
    },
    /// Storage or runtime failure. The detail is logged by the edge, never returned.
    Internal(String),
    Unavailable,
}

impl ApiError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ApiError::InvalidField {
            field: field.to_string(),
            message: message.into(),
        }
    }

    pub fn status(&self) -> u16 {
        use ApiError::*;
        match self {
            InvalidJson(_) | InvalidField { .. } | InvalidCampaignId(_) => 400,
            Unauthorized(_) => 401,
            Forbidden | OriginNotAllowed => 403,
            CampaignNotFound | LinkNotFound | NotFound(_) => 404,
            MethodNotAllowed => 405,
            CampaignConflict(_)
            | ExperimentConflict(_)
            | HostTaken(_)
            | WebhookDisabled(_)
            | InvalidTransition { .. }
            | CampaignNotTracking(_)
            | IdempotencyConflict => 409,
            PayloadTooLarge(_) => 413,
            UnsupportedMediaType => 415,
            EventTypeMismatch { .. } => 422,
            RateLimited { .. } => 429,
            Internal(_) => 500,
            Unavailable => 503,
        }
    }

    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            InvalidJson(_) => "invalid_json",
            InvalidField { .. } => "invalid_field",
            InvalidCampaignId(_) => "invalid_campaign_id",
            PayloadTooLarge(_) => "payload_too_large",
            Unauthorized(_) => "unauthorized",
            Forbidden => "forbidden",
            OriginNotAllowed => "origin_not_allowed",
            CampaignNotFound => "campaign_not_found",
            LinkNotFound => "link_not_found",
            NotFound(_) => "not_found",
            MethodNotAllowed => "method_not_allowed",
            UnsupportedMediaType => "unsupported_media_type",
            CampaignConflict(_) => "campaign_conflict",
            ExperimentConflict(_) => "experiment_conflict",
            HostTaken(_) => "host_taken",
            WebhookDisabled(_) => "webhook_disabled",
            InvalidTransition { .. } => "invalid_transition",
            CampaignNotTracking(_) => "campaign_not_tracking",
            IdempotencyConflict => "idempotency_conflict",
            EventTypeMismatch { .. } => "event_type_mismatch",
            RateLimited { .. } => "rate_limited",
            Internal(_) => "internal_error",
            Unavailable => "unavailable",
        }
    }

    /// The human sentence returned to the caller.
    pub fn message(&self) -> String {
        use ApiError::*;
        match self {
            InvalidJson(m) => format!("The request body is not valid JSON: {m}."),
            InvalidField { field, message } => format!("Field '{field}' {message}."),
            InvalidCampaignId(id) => format!(
                "Campaign ID '{}' does not match ^[a-z0-9][a-z0-9_-]{{2,63}}$.",
                truncate(id, 80)
            ),
            PayloadTooLarge(max) => format!("The request body is larger than {max} bytes."),
            Unauthorized(m) => m.clone(),
            Forbidden => "Your credential does not allow this action on this handle.".into(),
            OriginNotAllowed => "Requests from this Origin are not allowed: the MCP endpoint answers its own origin and MCP_ALLOWED_ORIGINS only.".into(),
            CampaignNotFound => "Campaign does not exist.".into(),
            LinkNotFound => "Link does not exist.".into(),
            NotFound(what) => format!("{what} does not exist."),
            MethodNotAllowed => "This method is not allowed on this route.".into(),
            UnsupportedMediaType => "Send the body as application/json.".into(),
            CampaignConflict(id) => format!("Campaign ID '{id}' already exists."),
            ExperimentConflict(id) => {
                format!("The link already has a RUNNING experiment ('{id}'): stop it first.")
            }
            HostTaken(host) => format!("Host '{host}' is claimed by another handle."),
            WebhookDisabled(id) => {
                format!(
                    "Webhook '{id}' is disabled: enable it first (POST …/webhooks/{id}/enable)."
                )
            }
            InvalidTransition { from, to } => {
                format!("A campaign cannot go from {from} to {to}.")
            }
            CampaignNotTracking(status) => {
                format!("The campaign is {status}: it records no clicks or live conversions until it is ACTIVE.")
            }
            IdempotencyConflict => {
                "This idempotency key (or orderId) was already used with a different body.".into()
            }
            EventTypeMismatch { expected, got } => format!(
                "eventType '{}' does not match the campaign's conversionEventType '{expected}'.",
                truncate(got, 80)
            ),
            RateLimited { retry_after_secs } => {
                format!("Too many requests; retry after {retry_after_secs} s.")
            }
            Internal(_) => "Something went wrong on our side; the request was not applied.".into(),
            Unavailable => "The service is temporarily unavailable; retry shortly.".into(),
        }
    }

    /// The envelope as a JSON value.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"error": {"code": self.code(), "message": self.message()}})
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guide_errors_have_their_documented_status_and_code() {
        let cases = [
            (
                ApiError::InvalidCampaignId("X".into()),
                400,
                "invalid_campaign_id",
            ),
            (ApiError::CampaignNotFound, 404, "campaign_not_found"),
            (
                ApiError::CampaignConflict("a".into()),
                409,
                "campaign_conflict",
            ),
            (
                ApiError::field("goalType", "is required"),
                400,
                "invalid_field",
            ),
            (ApiError::PayloadTooLarge(65536), 413, "payload_too_large"),
            (ApiError::HostTaken("go.example".into()), 409, "host_taken"),
            (ApiError::Internal("db down".into()), 500, "internal_error"),
        ];
        for (e, status, code) in cases {
            assert_eq!(e.status(), status, "{e}");
            assert_eq!(e.code(), code, "{e}");
        }
    }

    #[test]
    fn internal_detail_never_reaches_the_message() {
        let e = ApiError::Internal("D1_ERROR: secret table name".into());
        assert!(!e.message().contains("D1_ERROR"));
    }

    #[test]
    fn field_message_names_the_field() {
        let v = ApiError::field("destinationUrl", "must be an absolute http(s) URL").to_json();
        assert_eq!(v["error"]["code"], "invalid_field");
        assert!(v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("destinationUrl"));
    }
}
