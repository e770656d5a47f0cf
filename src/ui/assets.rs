//! The page's own files, inside the binary: our stylesheet and script, and htmx (2.0.11,
//! vendored from npm's `htmx.org` package with its license beside it). Nothing is fetched
//! from another host, no font from the network: the system's own fonts.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::view::Failure;

/// (name, content type, bytes)
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/htmx.min.js"),
    ),
    (
        "ui.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/ui.js"),
    ),
    (
        "ui.css",
        "text/css; charset=utf-8",
        include_bytes!("assets/ui.css"),
    ),
];

pub async fn serve(Path(name): Path<String>) -> Result<Response, Failure> {
    let (_, kind, bytes) = ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or_else(Failure::not_found)?;
    Ok(([(header::CONTENT_TYPE, *kind)], *bytes).into_response())
}
