//! The MCP transport's own rules (streamable HTTP): which protocol versions
//! we speak, the `MCP-Protocol-Version` header, and the `Origin` check that
//! keeps a web page from driving the endpoint through DNS rebinding.

/// Newest first; `initialize` answers with the client's if we know it, else
/// the second (the most widely deployed).
pub const PROTOCOL_VERSIONS: [&str; 4] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// The `MCP-Protocol-Version` header: absent means the client predates it
/// (the spec says assume 2025-03-26); present, it must be one we speak.
pub fn protocol_header_ok(header: Option<&str>) -> bool {
    match header {
        None => true,
        Some(v) => PROTOCOL_VERSIONS.contains(&v.trim()),
    }
}

/// An `Origin` header, when present, must be the endpoint's own origin or
/// one of `allowed` (`MCP_ALLOWED_ORIGINS`); `null` and anything else is
/// refused. Clients outside a browser send none, and pass.
pub fn origin_ok(origin: Option<&str>, own: &str, allowed: &[String]) -> bool {
    match origin {
        None => true,
        Some(o) => {
            let o = o.trim().trim_end_matches('/').to_ascii_lowercase();
            o == own.to_ascii_lowercase() || allowed.iter().any(|a| a.trim_end_matches('/') == o)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_header() {
        assert!(protocol_header_ok(None));
        for v in PROTOCOL_VERSIONS {
            assert!(protocol_header_ok(Some(v)), "{v}");
        }
        for v in ["", "2024-01-01", "latest", "2025-06-18,2025-03-26"] {
            assert!(!protocol_header_ok(Some(v)), "{v}");
        }
    }

    #[test]
    fn origins() {
        let own = "https://go.example";
        let allowed = vec!["https://claude.ai".to_string()];
        assert!(origin_ok(None, own, &allowed));
        assert!(origin_ok(Some("https://go.example"), own, &allowed));
        assert!(origin_ok(Some("HTTPS://Go.Example/"), own, &allowed));
        assert!(origin_ok(Some("https://claude.ai"), own, &allowed));
        for o in [
            "http://evil.example.com",
            "null",
            "https://go.example.evil.com",
            "http://go.example",
            "",
        ] {
            assert!(!origin_ok(Some(o), own, &allowed), "{o}");
        }
    }
}
