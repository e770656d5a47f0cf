//! `custbulk ui`: the page over real HTTP on 127.0.0.1 (security, the flow's JSON twins, the
//! binary's life), and in a real browser (`browser`).

mod browser;
mod flow;
mod security;

use reqwest::header::{HeaderMap, HeaderValue, COOKIE, ORIGIN};
use reqwest::{Method, StatusCode};

use custbulk::ui::{self, Options, Running};

/// A page served in-process, and a client that holds its token as the browser would.
pub struct Served {
    pub running: Running,
    pub http: reqwest::Client,
}

impl Served {
    pub async fn start() -> Served {
        Served::with(Options::default()).await
    }

    pub async fn with(options: Options) -> Served {
        custbulk::api::install_tls_provider();
        let running = ui::start(options).await.expect("the page starts");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Served { running, http }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.origin)
    }

    /// The cookie the token becomes, and our own origin: what the page's own requests carry.
    pub fn own(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        let cookie = format!("custbulk-{}={}", self.running.port, self.running.token);
        h.insert(COOKIE, HeaderValue::from_str(&cookie).unwrap());
        h.insert(ORIGIN, HeaderValue::from_str(&self.running.origin).unwrap());
        h
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .headers(self.own())
            .send()
            .await
            .unwrap()
    }

    pub async fn json(&self, path: &str) -> serde_json::Value {
        let r = self.get(path).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        r.json().await.unwrap()
    }

    /// A form posted as the page posts it.
    pub async fn post_form(&self, path: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.http
            .request(Method::POST, self.url(path))
            .headers(self.own())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Files and fields posted as a browser's file input posts them.
    pub async fn post_multipart(&self, path: &str, parts: &[Part<'_>]) -> reqwest::Response {
        let (content_type, body) = multipart(parts);
        self.http
            .post(self.url(path))
            .headers(self.own())
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Uploads a file; returns its id.
    pub async fn upload(&self, name: &str, bytes: &[u8]) -> String {
        let r = self
            .post_multipart("/files", &[Part::file("file", name, bytes)])
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let to = r.headers()["location"].to_str().unwrap();
        to.strip_prefix("/files/").unwrap().to_string()
    }
}

/// One part of a multipart form.
pub struct Part<'a> {
    pub name: &'a str,
    pub file_name: Option<&'a str>,
    pub bytes: &'a [u8],
}

impl<'a> Part<'a> {
    pub fn file(name: &'a str, file_name: &'a str, bytes: &'a [u8]) -> Part<'a> {
        Part {
            name,
            file_name: Some(file_name),
            bytes,
        }
    }

    pub fn text(name: &'a str, value: &'a str) -> Part<'a> {
        Part {
            name,
            file_name: None,
            bytes: value.as_bytes(),
        }
    }
}

fn multipart(parts: &[Part]) -> (String, Vec<u8>) {
    let boundary = "custbulk-test-boundary-7d1";
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let disposition = match p.file_name {
            Some(f) => format!("form-data; name=\"{}\"; filename=\"{f}\"", p.name),
            None => format!("form-data; name=\"{}\"", p.name),
        };
        body.extend_from_slice(format!("Content-Disposition: {disposition}\r\n").as_bytes());
        if p.file_name.is_some() {
            body.extend_from_slice(b"Content-Type: application/octet-stream\r\n");
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(p.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
