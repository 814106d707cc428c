//! The web UI: static HTML, CSS and JavaScript compiled into the binary (no build step, no
//! CDN). Pages are hash routes of one document; data comes from `/api/*` and the prediction
//! routes; charts are SVG made by [`crate::charts`].

use http::StatusCode;

use crate::error::{Result, ServeError};
use crate::http_util::{Response, bytes};

/// (name under `/assets/`, content type, contents)
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../ui/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../ui/app.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../ui/style.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../ui/favicon.svg"),
    ),
];

/// The static name for a requested asset path, if it is one of ours.
pub fn asset_name(path: &str) -> Option<&'static str> {
    ASSETS.iter().find(|a| a.0 == path).map(|a| a.0)
}

pub fn asset(name: &str) -> Result<Response> {
    let (_, ct, body) = ASSETS
        .iter()
        .find(|a| a.0 == name)
        .ok_or_else(|| ServeError::NotFound(format!("no asset {name:?}")))?;
    let mut r = bytes(StatusCode::OK, ct, *body);
    let h = r.headers_mut();
    h.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-cache"),
    );
    h.insert(
        "content-security-policy",
        http::HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'",
        ),
    );
    h.insert(
        "x-content-type-options",
        http::HeaderValue::from_static("nosniff"),
    );
    Ok(r)
}
