//! The sandbox: a local emulator of the Customers API over an in-memory store, with faults on
//! demand. Tests, benchmarks and `--sandbox` runs talk to it over real HTTP on 127.0.0.1.
//!
//! (Interface only; the helper implementing issue 2's sandbox fills this in.)

use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::{Map, Value};

/// How list responses are wrapped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ListShape {
    /// `{docs,totalDocs,limit,page,totalPages,hasNextPage,nextPage,hasPrevPage,prevPage}`
    #[default]
    Docs,
    /// `{data,total}`
    Data,
    /// A bare JSON array.
    Array,
}

/// The name of the id field in records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum IdField {
    #[default]
    #[value(name = "_id")]
    UnderscoreId,
    #[value(name = "id")]
    Id,
}

/// Everything that shapes a sandbox's behaviour. `Default` is a well-behaved server.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// 0 picks a free port.
    pub port: u16,
    /// When set, only `Bearer <token>` is accepted; otherwise any bearer token is.
    pub token: Option<String>,
    pub list_shape: ListShape,
    pub id_field: IdField,
    pub latency_ms: u64,
    pub jitter_ms: u64,
    /// Probability of a 500 before acting.
    pub fail_rate: f64,
    /// Probability of a 500 after a write is stored.
    pub fail_after_commit_rate: f64,
    /// Probability of closing the connection without a response after a write is stored.
    pub drop_rate: f64,
    /// Requests per second above which the sandbox answers 429 with Retry-After.
    pub rate_limit: Option<u32>,
    pub seed: u64,
    /// Load customers from this JSON array at start; save them back on shutdown.
    pub data: Option<PathBuf>,
}

/// A running sandbox. Dropping it stops the server (without saving `--data`).
pub struct Running {
    /// The API base URL, e.g. `http://127.0.0.1:41234/api/v2`.
    pub base_url: String,
    pub addr: SocketAddr,
}

impl Running {
    /// Every stored customer, oldest first, as the API would return it.
    pub fn records(&self) -> Vec<Map<String, Value>> {
        todo!()
    }

    /// Stores customers directly (ids and timestamps are added when missing); for tests.
    pub fn insert(&self, _records: Vec<Map<String, Value>>) {
        todo!()
    }

    /// Stops the server and writes `data` back when configured.
    pub async fn stop(self) -> anyhow::Result<()> {
        todo!()
    }
}

/// Starts a sandbox on 127.0.0.1 in the current tokio runtime.
pub async fn start(_options: Options) -> anyhow::Result<Running> {
    todo!()
}
