//! One view, two renderings: every page is a value (serialisable) that renders as HTML for
//! people and as JSON for scripts and tests, as Datasette's pages do (`/files/ID/problems.json`,
//! or `Accept: application/json`). Failures too: a handler returns a [`Failure`], and
//! [`finish`] renders it in the asker's language and format.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Json, Response};
use axum::Router;
use maud::{html, Markup};
use serde::Serialize;

use super::i18n::{Lang, W};
use super::layout::{self, Step};

/// What the asker wants back: JSON or HTML, in which language, and whether htmx asks for a
/// piece of a page.
#[derive(Debug, Clone, Copy)]
pub struct Ask {
    pub json: bool,
    pub lang: Lang,
    pub htmx: bool,
}

impl Ask {
    fn of(headers: &HeaderMap) -> Ask {
        let text = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        Ask {
            json: text(header::ACCEPT).is_some_and(|a| {
                let a = a.to_ascii_lowercase();
                a.contains("application/json") && !a.contains("text/html")
            }),
            lang: Lang::from_accept(text(header::ACCEPT_LANGUAGE)),
            htmx: headers.contains_key("hx-request"),
        }
    }

    /// The page as JSON, or as a whole HTML page.
    pub fn page<P: Page>(&self, page: &P) -> Response {
        if self.json {
            return Json(page).into_response();
        }
        let lang = self.lang;
        let body = page.body(lang);
        Html(layout::page(lang, page.step(), page.job(), &page.title(lang), body).into_string())
            .into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ask {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Ask, Self::Rejection> {
        Ok(Ask::of(&parts.headers))
    }
}

/// A page of the flow.
pub trait Page: Serialize {
    fn title(&self, lang: Lang) -> String;
    fn step(&self) -> Option<Step>;
    /// The file the page is about, for the steps' links.
    fn job(&self) -> Option<&str>;
    fn body(&self, lang: Lang) -> Markup;
}

/// A request that could not be served: its status and a sentence saying why.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    #[serde(skip)]
    pub status: StatusCode,
    pub error: String,
}

impl Failure {
    pub fn new(status: StatusCode, error: impl std::fmt::Display) -> Failure {
        Failure {
            status,
            error: error.to_string(),
        }
    }

    /// The request, or what it sent, cannot be used.
    pub fn bad(error: impl std::fmt::Display) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, error)
    }

    /// The request asks for something the page never does.
    pub fn refused(error: impl std::fmt::Display) -> Failure {
        Failure::new(StatusCode::FORBIDDEN, error)
    }

    pub fn too_large(error: impl std::fmt::Display) -> Failure {
        Failure::new(StatusCode::PAYLOAD_TOO_LARGE, error)
    }

    pub fn not_found() -> Failure {
        Failure::new(
            StatusCode::NOT_FOUND,
            "there is no such page or file here (files opened in an earlier run are gone)",
        )
    }

    /// Something failed on our side: reading the file, writing a download.
    pub fn failed(error: impl std::fmt::Display) -> Failure {
        Failure::new(StatusCode::UNPROCESSABLE_ENTITY, error)
    }
}

impl IntoResponse for Failure {
    /// The status, with the failure kept for [`finish`] to render.
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

impl Page for Failure {
    fn title(&self, lang: Lang) -> String {
        lang.t(W::Problem).to_string()
    }

    fn step(&self) -> Option<Step> {
        None
    }

    fn job(&self) -> Option<&str> {
        None
    }

    fn body(&self, lang: Lang) -> Markup {
        html! {
            h1 { (lang.t(W::Problem)) }
            p.failure role="alert" { (self.error) }
            p { a href="/" { (lang.t(W::Back)) } }
        }
    }
}

/// Renders a [`Failure`] answer as its asker wants it.
pub async fn finish(request: Request, next: Next) -> Response {
    let ask = Ask::of(request.headers());
    let response = next.run(request).await;
    let Some(failure) = response.extensions().get::<Failure>().cloned() else {
        return response;
    };
    let mut rendered = ask.page(&failure);
    *rendered.status_mut() = failure.status;
    rendered
}

pub async fn not_found() -> Failure {
    Failure::not_found()
}

/// Serves `PATH.json` as `PATH` asked for in JSON (`/index.json` is `/`). Runs before routing,
/// so every page has its twin without a second route.
pub fn rewrite_json_suffix(
    router: Router,
) -> tower::util::MapRequest<Router, fn(Request) -> Request> {
    tower::ServiceExt::map_request(router, json_suffix as fn(Request) -> Request)
}

fn json_suffix(mut request: Request) -> Request {
    let uri = request.uri();
    let Some(stem) = uri.path().strip_suffix(".json") else {
        return request;
    };
    if stem.starts_with("/assets/") {
        return request;
    }
    let path = if stem == "/index" { "/" } else { stem };
    let rewritten = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    if let Ok(new) = rewritten.parse::<Uri>() {
        *request.uri_mut() = new;
        request
            .headers_mut()
            .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_suffix_asks_for_the_same_page_in_json() {
        let r = json_suffix(
            Request::builder()
                .uri("/files/ab/problems.json?page=2")
                .body(axum::body::Body::empty())
                .unwrap(),
        );
        assert_eq!(r.uri(), "/files/ab/problems?page=2");
        assert!(Ask::of(r.headers()).json);
        let r = json_suffix(
            Request::builder()
                .uri("/index.json")
                .body(axum::body::Body::empty())
                .unwrap(),
        );
        assert_eq!(r.uri(), "/");
    }
}
