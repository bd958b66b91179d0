//! QR codes of short links (`GET …/links/{slug}/qr`), rendered as SVG here.
//!
//! The encoding is `qrcodegen` (no dependencies, no image stack); the SVG is
//! written by hand: one `<path>` for every dark module (horizontal runs merged),
//! a white background, `shape-rendering="crispEdges"` so scaled modules keep
//! hard edges, and `role="img"` with a `<title>` naming the URL for screen
//! readers. The output is a pure function of (URL, size, margin).

use crate::core::error::ApiError;
use qrcodegen::{QrCode, QrCodeEcc};
use std::fmt::Write;

pub const MIN_SIZE: u32 = 64;
pub const MAX_SIZE: u32 = 2048;
pub const DEFAULT_SIZE: u32 = 256;
pub const MAX_MARGIN: u32 = 16;
/// The quiet zone the QR specification asks for.
pub const DEFAULT_MARGIN: u32 = 4;

/// The rendering options of a QR request, built valid from `?size=` and
/// `?margin=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QrOptions {
    /// Width and height of the image, in pixels.
    pub size: u32,
    /// The quiet zone around the code, in modules.
    pub margin: u32,
}

fn bounded(
    raw: Option<&str>,
    field: &str,
    default: u32,
    min: u32,
    max: u32,
) -> Result<u32, ApiError> {
    match raw {
        None => Ok(default),
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (min..=max).contains(n) && !s.starts_with('+'))
            .ok_or_else(|| {
                ApiError::field(field, format!("must be an integer from {min} to {max}"))
            }),
    }
}

impl QrOptions {
    pub fn parse(size: Option<&str>, margin: Option<&str>) -> Result<QrOptions, ApiError> {
        Ok(QrOptions {
            size: bounded(size, "size", DEFAULT_SIZE, MIN_SIZE, MAX_SIZE)?,
            margin: bounded(margin, "margin", DEFAULT_MARGIN, 0, MAX_MARGIN)?,
        })
    }
}

/// The URL a QR code encodes: the short URL with `src=qr`, so a scan is
/// counted with source `qr` (the redirect reads `src` like `utm_source`).
pub fn scan_url(short_url: &str) -> String {
    let sep = if short_url.contains('?') { '&' } else { '?' };
    format!("{short_url}{sep}src=qr")
}

fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The SVG document of `text`'s QR code (error correction level M). A short
/// URL is far below the capacity of the largest version; a text too long
/// for any version is a 400 on `url`, never a panic.
pub fn svg(text: &str, opts: QrOptions) -> Result<String, ApiError> {
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium)
        .map_err(|_| ApiError::field("url", "is too long for a QR code"))?;
    let n = qr.size();
    let m = i32::try_from(opts.margin).unwrap_or(0);
    let dim = n + 2 * m;
    let mut path = String::new();
    for y in 0..n {
        let mut x = 0;
        while x < n {
            if qr.get_module(x, y) {
                let start = x;
                while x < n && qr.get_module(x, y) {
                    x += 1;
                }
                let _ = write!(
                    path,
                    "M{},{}h{}v1h-{}z",
                    start + m,
                    y + m,
                    x - start,
                    x - start
                );
            } else {
                x += 1;
            }
        }
    }
    let title = escape_xml(text);
    let px = opts.size;
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{px}\" height=\"{px}\" viewBox=\"0 0 {dim} {dim}\" \
         shape-rendering=\"crispEdges\" role=\"img\" aria-labelledby=\"qr-title\">\
         <title id=\"qr-title\">QR code: {title}</title>\
         <rect width=\"{dim}\" height=\"{dim}\" fill=\"#fff\"/>\
         <path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_default_and_bounds() {
        assert_eq!(
            QrOptions::parse(None, None),
            Ok(QrOptions {
                size: 256,
                margin: 4
            })
        );
        assert_eq!(
            QrOptions::parse(Some("64"), Some("0")),
            Ok(QrOptions {
                size: 64,
                margin: 0
            })
        );
        assert_eq!(
            QrOptions::parse(Some("2048"), Some("16")),
            Ok(QrOptions {
                size: 2048,
                margin: 16
            })
        );
        for (size, margin, field) in [
            (Some("63"), None, "size"),
            (Some("2049"), None, "size"),
            (Some("abc"), None, "size"),
            (Some(""), None, "size"),
            (Some("+100"), None, "size"),
            (Some("-1"), None, "size"),
            (Some("1e3"), None, "size"),
            (None, Some("17"), "margin"),
            (None, Some("-1"), "margin"),
            (None, Some("2.5"), "margin"),
        ] {
            let e = QrOptions::parse(size, margin).unwrap_err();
            assert_eq!(e.code(), "invalid_field");
            assert!(e.message().contains(&format!("'{field}'")), "{e}");
        }
    }

    #[test]
    fn scan_url_adds_the_qr_source() {
        assert_eq!(
            scan_url("https://go.example/spring"),
            "https://go.example/spring?src=qr"
        );
        assert_eq!(
            scan_url("https://go.example/s?a=1"),
            "https://go.example/s?a=1&src=qr"
        );
    }

    #[test]
    fn svg_is_deterministic_sized_and_accessible() {
        let o = QrOptions {
            size: 300,
            margin: 2,
        };
        let a = svg("https://go.example/demo/spring?src=qr", o).unwrap();
        assert_eq!(a, svg("https://go.example/demo/spring?src=qr", o).unwrap());
        assert!(
            a.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"300\" height=\"300\"")
        );
        assert!(a.contains("shape-rendering=\"crispEdges\""));
        assert!(a.contains("role=\"img\""));
        assert!(a.contains(
            "<title id=\"qr-title\">QR code: https://go.example/demo/spring?src=qr</title>"
        ));
        assert_eq!(a.matches("<path").count(), 1);
        assert_eq!(a.matches("<rect").count(), 1);
        // A 37-character URL at level M is version 3: 29 modules, + 2×2 margin.
        assert!(a.contains("viewBox=\"0 0 33 33\""), "{a}");
        // The top-left finder pattern: a 7-module run on the first row.
        assert!(a.contains("d=\"M2,2h7v1h-7z"), "{a}");
        assert_ne!(a, svg("https://go.example/demo/other?src=qr", o).unwrap());
    }

    #[test]
    fn titles_are_escaped_and_margins_move_the_code() {
        let s = svg(
            "https://x.example/a?b=1&src=qr",
            QrOptions {
                size: 64,
                margin: 0,
            },
        )
        .unwrap();
        assert!(s.contains("?b=1&amp;src=qr</title>"));
        assert!(s.contains("d=\"M0,0h7v1h-7z"));
    }

    #[test]
    fn too_long_is_an_error_not_a_panic() {
        let e = svg(
            &"a".repeat(8000),
            QrOptions {
                size: 256,
                margin: 4,
            },
        )
        .unwrap_err();
        assert_eq!(e.code(), "invalid_field");
    }
}
