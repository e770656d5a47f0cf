//! The sandbox: a local emulator of the Customers API over an in-memory store, with faults on
//! demand. Tests, benchmarks and `--sandbox` runs talk to it over real HTTP on 127.0.0.1.
//!
//! `store` keeps the records (serialised, in a creation-ordered `timeline`), `query` answers
//! lists (with `scan` reading fields out of stored JSON), `routes` maps the API's endpoints,
//! `variants` makes them play the other plausible APIs, `faults` puts auth, the rate limit (of
//! the kind `limiter` plays) and injected failures in front of them, `quirks` the deterministic misbehaviours, and `server`
//! accepts connections so that a dropped write can really drop its connection.

mod faults;
pub(crate) mod limiter;
mod query;
mod quirks;
mod routes;
mod scan;
mod server;
mod store;
mod timeline;
mod variants;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use anyhow::Context;
use serde_json::{Map, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use store::Store;

pub use limiter::{RateHeaders, RateLimit, RateWindow};
pub use quirks::{Quirks, WriteBody};
pub use variants::{
    FirstPage, NullOnPatch, PageZero, PostAnswer, PostStatus, PutMode, Search, UpdateAnswer,
    Variants,
};

/// How list responses are wrapped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ListShape {
    /// `{docs,totalDocs,limit,page,totalPages,hasNextPage,nextPage,hasPrevPage,prevPage}`
    #[default]
    Docs,
    /// `{data,total}`
    Data,
    /// `{data,meta:{total,page,limit}}`
    Meta,
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
    /// Requests per `rate_period` above which the sandbox answers 429 with Retry-After.
    pub rate_limit: Option<u32>,
    /// How requests are counted against `rate_limit`.
    pub rate_window: RateWindow,
    /// The rate limit's period; `None` is one second.
    pub rate_period: Option<std::time::Duration>,
    /// The token bucket's size (`RateWindow::Bucket`); a fifth of the limit by default.
    pub rate_burst: Option<u32>,
    /// Which headers tell the allowance, if any.
    pub rate_headers: Option<RateHeaders>,
    /// Requests served at once at most (latency included); the rest wait their turn, so the
    /// round trip grows with the load as a real server's does.
    pub capacity: Option<usize>,
    pub seed: u64,
    /// Load customers from this JSON array at start; save them back on shutdown.
    pub data: Option<PathBuf>,
    /// Which of the other plausible APIs to play.
    pub variants: Variants,
    /// Deterministic misbehaviours (damaged answers, lying lists, echoed keys).
    pub quirks: Quirks,
}

impl Options {
    /// The rate limit these options describe, if any.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        Some(RateLimit {
            limit: self.rate_limit?,
            window: self.rate_window,
            period: self
                .rate_period
                .unwrap_or(std::time::Duration::from_secs(1)),
            burst: self.rate_burst,
            headers: self.rate_headers,
        })
    }
}

/// A running sandbox. Dropping it stops the server (without saving `data`).
pub struct Running {
    /// The API base URL, e.g. `http://127.0.0.1:41234/api/v2`.
    pub base_url: String,
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    /// Dropping or signalling it stops the accept loop and closes connections.
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
    data: Option<PathBuf>,
    /// The store's generation when `data` last held exactly the store (loaded whole, nothing
    /// generated): stopping at that generation has nothing to save.
    saved: Option<u64>,
}

impl Running {
    /// Every stored customer, oldest first, as the API would return it.
    pub fn records(&self) -> Vec<Map<String, Value>> {
        self.shared.read().iter().map(|r| r.doc()).collect()
    }

    /// Stores customers directly: ids (`_id` or `id`) and timestamps are kept when given and
    /// generated when missing; a record whose id is already stored replaces it. For tests and
    /// benchmarks.
    pub fn insert(&self, records: Vec<Map<String, Value>>) {
        let mut store = self.shared.write();
        for record in records {
            store.import(record);
        }
    }

    /// How many customers are stored.
    pub fn len(&self) -> usize {
        self.shared.read().len()
    }

    /// Whether no customer is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops the server (requests in flight are answered first) and writes `data` back when
    /// configured, unless the store is still as loaded from it.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop_keeping_store().await.map(drop)
    }

    /// Stops and saves as [`Running::stop`] does, and hands the store back without freeing it,
    /// for a process about to exit: a million customers take seconds to free one by one, which
    /// the exit does at once. Returns the number of customers, and whether `data` was written
    /// (not when the store is as loaded from it).
    pub async fn stop_for_exit(self) -> anyhow::Result<(usize, bool)> {
        let (store, saved) = self.stop_keeping_store().await?;
        let count = store.read().len();
        std::mem::forget(store);
        Ok((count, saved))
    }

    async fn stop_keeping_store(self) -> anyhow::Result<(Arc<Shared>, bool)> {
        let Running {
            shutdown,
            task,
            shared,
            data,
            saved,
            ..
        } = self;
        let _ = shutdown.send(true);
        let _ = task.await;
        // A store unchanged since it was loaded is what the file holds: rewriting half a
        // gigabyte would only make the exit wait for the disk.
        let changed = saved != Some(shared.read().generation());
        let Some(path) = data.filter(|_| changed) else {
            return Ok((shared, false));
        };
        let saving = shared.clone();
        tokio::task::spawn_blocking(move || save(&path, &saving.read()))
            .await
            .context("saving the sandbox data")??;
        Ok((shared, true))
    }
}

/// What the routes and the middleware share.
pub(crate) struct Shared {
    id_key: &'static str,
    list_shape: ListShape,
    variants: Variants,
    quirks: Quirks,
    store: RwLock<Store>,
    cache: query::Cache,
    gate: faults::Gate,
}

impl Shared {
    fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Starts a sandbox on 127.0.0.1 in the current tokio runtime; it is listening on return.
pub async fn start(options: Options) -> anyhow::Result<Running> {
    // Tests and benchmarks start a sandbox before building their own HTTP clients.
    crate::tls::install_provider();
    for (flag, p) in [
        ("--fail-rate", options.fail_rate),
        ("--fail-after-commit-rate", options.fail_after_commit_rate),
        ("--drop-rate", options.drop_rate),
    ] {
        if !(0.0..=1.0).contains(&p) {
            return Err(crate::error::usage(format!(
                "{flag} must be a probability between 0 and 1, not {p}"
            )));
        }
    }
    let id_key = match options.id_field {
        IdField::UnderscoreId => "_id",
        IdField::Id => "id",
    };
    let mut store = Store::new(id_key);
    let mut saved = None;
    if let Some(path) = options.data.clone() {
        let as_file;
        (store, as_file) = tokio::task::spawn_blocking(move || load(&path, store))
            .await
            .context("loading the sandbox data")??;
        saved = as_file.then(|| store.generation());
    }
    let shared = Arc::new(Shared {
        id_key,
        list_shape: options.list_shape,
        variants: options.variants.clone(),
        quirks: options.quirks.clone(),
        store: RwLock::new(store),
        cache: query::Cache::default(),
        gate: faults::Gate::new(&options),
    });
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, options.port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", options.port))?;
    let addr = listener.local_addr()?;
    let (shutdown, watcher) = watch::channel(false);
    let task = tokio::spawn(server::serve(
        listener,
        routes::router(shared.clone()),
        watcher,
    ));
    Ok(Running {
        base_url: format!("http://{addr}/api/v2"),
        addr,
        shared,
        shutdown,
        task,
        data: options.data,
        saved,
    })
}

/// Reads a JSON array of customers; a missing or blank file is an empty store. True when the
/// file holds the store as it is: every record kept as given (no id or time generated, no
/// repeated id), so saving it unchanged would write the same customers again.
fn load(path: &Path, mut store: Store) -> anyhow::Result<(Store, bool)> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((store, false)),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok((store, false));
    }
    let mut as_file = true;
    scan::each_in_array(&text, |position, record| match record {
        Value::Object(m) => {
            as_file &= store.import(m);
            Ok(())
        }
        _ => Err(format!("item {position} of the array is not a JSON object")),
    })
    .with_context(|| {
        format!(
            "{}: expected a JSON array of customer objects",
            path.display()
        )
    })?;
    Ok((store, as_file))
}

/// Writes every record, oldest first, in place ([`crate::output::write_whole`]), so an
/// interrupted save never leaves half a file.
fn save(path: &Path, store: &Store) -> anyhow::Result<()> {
    crate::output::write_whole(path, |out| {
        out.write_all(b"[")?;
        for (i, record) in store.iter().enumerate() {
            out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
            out.write_all(&record.json)?;
        }
        out.write_all(b"\n]\n")
    })
    .with_context(|| format!("cannot save the sandbox data to {}", path.display()))
}
