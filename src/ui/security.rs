//! A local server is still a server: any page the person visits can send requests to
//! 127.0.0.1, and a name that resolves there (DNS rebinding) makes them look same-origin. So,
//! as Jupyter does, every request must carry the run's token (in the URL once, then in a
//! cookie no script can read and no other site can send), name our own `Host`, and when it
//! changes something, come from our own page (`Origin`). Every answer forbids framing,
//! sniffing and scripts from anywhere but this server.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::server::Shared;

/// A fresh token: 256 random bits from the thread's generator (ChaCha, seeded by the system),
/// in hex.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The cookie's name carries the port: browsers share cookies across the ports of a host, and
/// two pages of two runs must not take each other's.
fn cookie_name(port: u16) -> String {
    format!("custbulk-{port}")
}

/// Checks every request before any route sees it, and adds the security headers to every
/// answer, refusals included.
pub async fn guard(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let mut response = match admit(&state, &request) {
        Ok(Admit::Pass) => next.run(request).await,
        Ok(Admit::StripToken(to)) => {
            let mut r = Redirect::to(&to).into_response();
            let cookie = format!(
                "{}={}; HttpOnly; SameSite=Strict; Path=/",
                cookie_name(state.port),
                state.token
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(why) => refuse(why),
    };
    secure_headers(response.headers_mut());
    response
}

enum Admit {
    Pass,
    /// The token came in the URL and is right: keep it in a cookie, and go to the same
    /// address without it (so it stays out of history, bookmarks and screenshots).
    StripToken(String),
}

fn admit(state: &Shared, request: &Request) -> Result<Admit, &'static str> {
    let headers = request.headers();
    if !own_host(headers, state.port) {
        return Err("this page answers only to 127.0.0.1 and localhost on its own port");
    }
    if let Some(given) = query_token(request.uri()) {
        if !same(&given, &state.token) {
            return Err(
                "the token in the address is not this run's: use the address custbulk ui printed",
            );
        }
        return Ok(Admit::StripToken(without_token(request.uri())));
    }
    if !cookie_token(headers, state.port).is_some_and(|t| same(&t, &state.token)) {
        return Err("open the address custbulk ui printed (it carries the token)");
    }
    let changes = !matches!(*request.method(), Method::GET | Method::HEAD);
    if changes && !own_origin(headers, state.port) {
        return Err("a change must come from this page itself");
    }
    Ok(Admit::Pass)
}

/// `Host` is `127.0.0.1:PORT` or `localhost:PORT`, nothing else.
fn own_host(headers: &HeaderMap, port: u16) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    host == format!("127.0.0.1:{port}") || host == format!("localhost:{port}")
}

/// A request that changes something names our page as its `Origin`. Browsers send `Origin`
/// with every POST; one without it (a script with the token) must at least not say it came
/// from another site (`Sec-Fetch-Site`).
fn own_origin(headers: &HeaderMap, port: u16) -> bool {
    let ours = |o: &HeaderValue| {
        o.to_str().is_ok_and(|o| {
            o == format!("http://127.0.0.1:{port}") || o == format!("http://localhost:{port}")
        })
    };
    let mut origins = headers.get_all(header::ORIGIN).iter().peekable();
    if origins.peek().is_some() {
        // Every one must be ours: a second header is no way around the first.
        return origins.all(ours);
    }
    match headers.get("sec-fetch-site").map(|s| s.to_str()) {
        Some(Ok(site)) => site == "same-origin" || site == "none",
        Some(Err(_)) => false,
        None => true,
    }
}

fn query_token(uri: &Uri) -> Option<String> {
    let query = uri.query()?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
}

/// The same address without its `token` parameter.
fn without_token(uri: &Uri) -> String {
    let rest: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| k != "token")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let path = uri.path();
    if rest.is_empty() {
        return path.to_string();
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(rest)
        .finish();
    format!("{path}?{query}")
}

fn cookie_token(headers: &HeaderMap, port: u16) -> Option<String> {
    let name = cookie_name(port);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.to_string())
        })
}

/// Compares in time that does not depend on where the texts differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn refuse(why: &'static str) -> Response {
    let body = format!("Refused: {why}.\n");
    (StatusCode::FORBIDDEN, body).into_response()
}

/// What every answer says about where it may be shown and what may run in it.
fn secure_headers(headers: &mut HeaderMap) {
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // Not `no-referrer`: with it a browser sends `Origin: null` with the page's own forms.
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_leaves_the_address_and_the_rest_stays() {
        let uri: Uri = "/files/ab?token=xyz&page=2".parse().unwrap();
        assert_eq!(query_token(&uri).as_deref(), Some("xyz"));
        assert_eq!(without_token(&uri), "/files/ab?page=2");
        assert_eq!(without_token(&"/?token=1".parse().unwrap()), "/");
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
        assert_eq!(new_token().len(), 64);
        assert_ne!(new_token(), new_token());
    }
}
