//! The sandbox over real HTTP: every route and status, list parameters and envelopes, faults
//! and their seed, the other APIs it plays, broken servers, `data` persistence, and the
//! `custbulk sandbox` binary. Each test starts its own sandbox on port 0, so tests run in
//! parallel.

mod binary;
mod data;
mod faults;
mod list;
mod quirks;
mod routes;
mod variants;

use custbulk::sandbox::{self, Options, Running};
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};

/// A sandbox and a client holding a bearer token for it.
pub struct Api {
    pub sandbox: Running,
    pub client: reqwest::Client,
    pub token: String,
}

impl Api {
    pub async fn start(options: Options) -> Api {
        let token = options
            .token
            .clone()
            .unwrap_or_else(|| "test-key".to_owned());
        let sandbox = sandbox::start(options).await.expect("sandbox starts");
        Api {
            sandbox,
            client: reqwest::Client::new(),
            token,
        }
    }

    pub async fn default() -> Api {
        Api::start(Options::default()).await
    }

    /// `path` is relative to the base URL, e.g. `/customers?limit=5`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.base_url)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the sandbox answers");
        read(response).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, "/customers", Some(&body)).await
    }

    /// Creates a customer and returns it as stored.
    pub async fn create(&self, body: Value) -> Value {
        let (status, record) = self.post(body).await;
        assert_eq!(status, StatusCode::CREATED, "{record}");
        record
    }

    pub async fn stats(&self) -> Value {
        let url = format!("http://{}/__sandbox/stats", self.sandbox.addr);
        let response = self.client.get(url).send().await.expect("stats answer");
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("stats are JSON")
    }
}

/// Status and body, the body as JSON (`Null` when empty); panics on a non-JSON body, since the
/// sandbox answers JSON everywhere.
pub async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let bytes = response.bytes().await.expect("a complete body");
    if bytes.is_empty() {
        return (status, Value::Null);
    }
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{status}: body is not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, body)
}

/// A JSON object literal as a record for `Running::insert`.
pub fn record(value: Value) -> Map<String, Value> {
    value.as_object().expect("an object").clone()
}

/// `n` customers named `c000`, `c001`, ... created in that order.
pub fn numbered(n: usize) -> Vec<Map<String, Value>> {
    (0..n)
        .map(|i| record(json!({ "name": format!("c{i:03}") })))
        .collect()
}

pub fn names(items: &Value) -> Vec<String> {
    items
        .as_array()
        .expect("an array of records")
        .iter()
        .map(|r| r["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}
