//! The server: its state (the token, the private folder, the files opened), its routes, and
//! its life from the bind on 127.0.0.1 to the removal of the uploads at the end.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Router, ServiceExt as _};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::job::{Job, Jobs};
use super::{
    assets, backups, columns, file, fixed, plan, problems, restore, run, security, upload, view,
};
use crate::api::Client;
use crate::apply::Writes;

/// How the page is served.
#[derive(Debug, Clone)]
pub struct Options {
    /// 0: a free port the system chooses.
    pub port: u16,
    /// The largest file accepted, in MB.
    pub max_upload_mb: u64,
    /// The API the Plan, Run and Backups steps talk to; why there is none, else.
    pub api: Result<Api, String>,
    /// Where the runs (each in a folder: the file as sent, its mapping, journal and results)
    /// and the backups are kept, so that the terminal finds them; created when first needed.
    pub work: PathBuf,
}

/// The API, as the global flags made it.
#[derive(Debug, Clone)]
pub struct Api {
    /// Each run of changes takes a [`Client::renewed`] copy, with a gate of its own.
    pub client: Client,
    /// What the API profile says about its writes.
    pub writes: Writes,
}

/// The work folder by default: beside where custbulk ui was started.
pub const DEFAULT_WORK: &str = "custbulk-ui";

impl Default for Options {
    fn default() -> Options {
        Options {
            port: 0,
            max_upload_mb: upload::DEFAULT_MAX_MB,
            api: Err(
                "no API was given: start custbulk ui with --sandbox, or with an API key".into(),
            ),
            work: PathBuf::from(DEFAULT_WORK),
        }
    }
}

/// What every request reads: the run's token and port, where uploads go, the files opened.
pub(crate) struct State {
    pub token: String,
    pub port: u16,
    pub max_upload: u64,
    /// The private folder (mode 0700, under the system's temporary folder).
    pub folder: PathBuf,
    /// Removes the folder when taken and dropped: at [`Running::stop`], or when the state goes.
    folder_guard: Mutex<Option<tempfile::TempDir>>,
    pub jobs: Jobs,
    /// The Backups step's export or restore, diff and restore plan.
    pub backups: Mutex<backups::Backups>,
    pub api: Result<Api, String>,
    pub work: PathBuf,
}

impl State {
    pub fn job(&self, id: &str) -> Option<Arc<Mutex<Job>>> {
        self.jobs.get(id)
    }

    /// Stops the runs under way as Ctrl-C stops a command, and waits for their ends (those in
    /// flight finish and are journaled), so each can be resumed from its journal.
    async fn end_runs(&self) {
        let runs: Vec<_> = self
            .jobs
            .list()
            .iter()
            .filter_map(|(id, ..)| self.job(id))
            .filter_map(|job| super::job::lock(&job).runs.last().cloned())
            .filter(|live| live.ended().is_none())
            .collect();
        for live in &runs {
            live.interrupt();
        }
        while runs.iter().any(|live| live.ended().is_none()) {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

pub(crate) type Shared = Arc<State>;

/// A page being served.
pub struct Running {
    /// The address to open, token included: `http://127.0.0.1:PORT/?token=...`.
    pub url: String,
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    pub token: String,
    pub port: u16,
    /// The private folder the uploads go to; gone after [`Running::stop`].
    pub folder: PathBuf,
    state: Shared,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// Stops serving (requests in flight are answered first) and removes the uploads.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shut().await
    }

    async fn shut(&mut self) -> anyhow::Result<()> {
        self.state.end_runs().await;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await??;
        }
        remove_folder(&self.state);
        Ok(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        remove_folder(&self.state);
    }
}

fn remove_folder(state: &State) {
    let guard = state.folder_guard.lock().map(|mut g| g.take());
    if let Ok(Some(dir)) = guard {
        let path = dir.path().to_path_buf();
        if let Err(e) = dir.close() {
            crate::warn!("could not remove {}: {e}", path.display());
        }
    }
}

/// Binds 127.0.0.1 (never another address) and serves the page until [`Running::stop`].
pub async fn start(options: Options) -> anyhow::Result<Running> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, options.port)))
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1:{}: {e}", options.port))?;
    let port = listener.local_addr()?.port();
    let folder = upload::private_folder()?;
    let token = security::new_token();
    let state = Arc::new(State {
        token: token.clone(),
        port,
        max_upload: options.max_upload_mb.saturating_mul(1 << 20),
        folder: folder.path().to_path_buf(),
        folder_guard: Mutex::new(Some(folder)),
        jobs: Jobs::default(),
        backups: Mutex::default(),
        api: options.api,
        // Absolute, so the commands the page shows work from any folder.
        work: std::path::absolute(&options.work)?,
    });
    let app = view::rewrite_json_suffix(router(state.clone()));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app.into_make_service())
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    let origin = format!("http://127.0.0.1:{port}");
    Ok(Running {
        url: format!("{origin}/?token={token}"),
        origin,
        token,
        port,
        folder: state.folder.clone(),
        state,
        stop: Some(stop),
        task: Some(task),
    })
}

/// Every route; all pass the security guard.
fn router(state: Shared) -> Router {
    let max_upload = usize::try_from(state.max_upload).unwrap_or(usize::MAX);
    Router::new()
        .route("/", get(file::home))
        .route(
            "/files",
            post(upload::receive).layer(DefaultBodyLimit::max(max_upload.saturating_add(1 << 20))),
        )
        .route("/files/{id}", get(file::show).post(file::reread))
        .route(
            "/files/{id}/columns",
            get(columns::show).post(columns::choose),
        )
        .route("/files/{id}/transforms", post(columns::add_transform))
        .route(
            "/files/{id}/transforms/remove",
            post(columns::remove_transform),
        )
        .route(
            "/files/{id}/mapping.toml",
            get(columns::save_mapping).post(columns::load_mapping),
        )
        .route("/files/{id}/problems", get(problems::show))
        .route("/files/{id}/check", post(problems::check_again))
        .route("/files/{id}/rows/{row}/cells/{col}", post(problems::edit))
        .route("/files/{id}/fixed", get(fixed::download_fixed))
        .route("/files/{id}/annotated", get(fixed::download_annotated))
        .route("/files/{id}/plan", get(plan::show).post(plan::make))
        .route("/files/{id}/run", get(run::show).post(run::start))
        .route("/files/{id}/run/events", get(run::events))
        .route("/files/{id}/run/stop", post(run::stop))
        .route("/files/{id}/run/resume", post(run::resume))
        .route("/files/{id}/run/undo", post(run::undo))
        .route("/files/{id}/run/{file}", get(run::download))
        .route("/backups", get(backups::show))
        .route("/backups/export", post(backups::export))
        .route("/backups/events", get(backups::events))
        .route("/backups/stop", post(backups::stop))
        .route("/backups/diff", post(backups::compare))
        .route("/backups/restore/plan", post(restore::restore_plan))
        .route("/backups/restore", post(restore::restore))
        .route("/backups/restore/resume", post(restore::resume))
        .route("/backups/restore/undo", post(restore::undo))
        .route("/assets/{name}", get(assets::serve))
        .fallback(view::not_found)
        .layer(axum::middleware::from_fn(view::finish))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::guard,
        ))
        .with_state(state)
}
