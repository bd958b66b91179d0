//! Structured logging: every failure that must not reach a visitor or a
//! client is one JSON line `{"event": …, "detail": …}` on the error log,
//! written here and nowhere else, so logs can be filtered by event name.

/// Log one event.
pub fn event(name: &str, detail: &str) {
    worker::console_error!("{}", serde_json::json!({"event": name, "detail": detail}));
}

/// An internal error answered as 500 (`ApiError::Internal`): logged once, by
/// the entry point that turns it into the error envelope.
pub fn internal(detail: &str) {
    event("internal_error", detail);
}
