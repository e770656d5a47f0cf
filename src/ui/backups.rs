//! The Backups step: export the account (format, search) into the page's backups folder
//! (`WORK/backups`, the only folder it lists, by names it made), each backup with its
//! `verify` verdict; a diff of a backup with the account or with another backup, as a table of
//! what was added, removed and changed, field by field; and a restore, its plan first
//! ([`super::restore`]). An export or restore under way stops as Ctrl-C stops the command. The
//! engines are the commands': [`export::export`], [`backup::verify`], [`diff::compare`],
//! [`restore`](crate::restore).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use clap::ValueEnum;
use futures::Stream;
use maud::{html, Markup};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::i18n::{Lang, W};
use super::job::lock;
use super::layout::{count, Step};
use super::restore::Restoring;
use super::run::progress;
use super::server::{Api, Shared};
use super::task::{drive, drive_heard, sse};
use super::view::{Ask, Failure, Page};
use crate::backup::{self, Format};
use crate::diff;
use crate::events::{Reading, Tally};
use crate::export::{self, Order};
use crate::progress::Progress;
use crate::side::{self, By};

/// Lines of a diff shown on the page; its report file has them all.
const SHOWN: usize = 200;

/// What the Backups step holds between requests.
#[derive(Default)]
pub struct Backups {
    /// The export or restore under way, or the last one.
    task: Option<Arc<Task>>,
    diff: Option<Arc<Diffed>>,
    pub(super) restore: Option<Arc<Restoring>>,
}

impl Backups {
    /// Whether the last task is a restore of `backup` that ended short (Stop, the breaker).
    pub(super) fn ended_short(&self, backup: &str) -> bool {
        self.task.as_ref().is_some_and(|t| {
            t.backup.as_deref() == Some(backup) && matches!(*lock(&t.ended), Some(Err(_)))
        })
    }

    /// The backup and journal of the last task when it is a restore that has ended, whole or
    /// short: what Undo reverses.
    pub(super) fn restored(&self) -> Option<(String, PathBuf)> {
        let task = self.task.as_ref()?;
        let journal = lock(&task.journal).clone()?;
        Some((task.backup.clone()?, journal))
    }
}

/// An export or a restore in the background, heard through its events.
struct Task {
    what: &'static str,
    tally: Arc<Tally>,
    ended: Mutex<Said>,
    /// Set by Stop: the engine stops as on Ctrl-C.
    stop: watch::Sender<bool>,
    /// The backup a restore restores: one that ends short is resumed from it.
    backup: Option<String>,
    /// The journal of what a restore changed, once it has ended: Undo reverses it.
    journal: Mutex<Option<PathBuf>>,
}

/// What a task did, in the engine's words, or why it failed; `None` while it runs.
type Said = Option<Result<String, String>>;

/// What a task's work gives back: what it did in the engine's words, or why it failed, and the
/// journal of what it changed (a restore's), which Undo reverses.
pub(super) type Outcome = (anyhow::Result<String>, Option<PathBuf>);

/// A diff as the page shows it.
#[derive(Debug, Serialize)]
struct Diffed {
    summary: diff::Summary,
    /// `kind, id, key, field, old, new`, as `diff --report` writes them.
    lines: Vec<[String; 6]>,
}

/// A task as the page shows it: what runs, how it stands, how it ended, and the backup a
/// restore restores.
type Shown = (&'static str, Reading, Said, Option<String>);

/// One backup in the folder.
#[derive(Debug, Serialize)]
struct Listed {
    name: String,
    records: u64,
    ok: bool,
    problems: Vec<String>,
}

#[derive(Serialize)]
struct BackupsPage {
    /// The file opened last, for the steps' links.
    file: Option<String>,
    folder: String,
    api: Option<String>,
    task: Option<Shown>,
    backups: Vec<Listed>,
    #[serde(serialize_with = "super::view::shared")]
    diff: Option<Arc<Diffed>>,
    #[serde(serialize_with = "super::view::shared")]
    restore: Option<Arc<Restoring>>,
    /// The customers an undo of the last restore would delete (it needs a yes), when it can be
    /// undone.
    undo_deletes: Option<u64>,
}

fn folder(state: &Shared) -> PathBuf {
    state.work.join("backups")
}

/// The backups in the folder: the files with a manifest beside them, newest first.
fn list(state: &Shared) -> Vec<Listed> {
    let Ok(entries) = std::fs::read_dir(folder(state)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .filter(|e| backup::manifest_path(&e.path()).is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort_by(|a, b| b.cmp(a));
    names
        .into_iter()
        .map(|name| {
            let path = folder(state).join(&name);
            match backup::verify(&path, &backup::manifest_path(&path)) {
                Ok(v) => Listed {
                    name,
                    records: v.expected_records,
                    ok: v.ok,
                    problems: v.problems,
                },
                Err(e) => Listed {
                    name,
                    records: 0,
                    ok: false,
                    problems: vec![format!("{e:#}")],
                },
            }
        })
        .collect()
}

/// The backup called `name` in the folder; any other text (a path, a guess) is refused.
pub(super) fn backup(state: &Shared, name: &str) -> Result<PathBuf, Failure> {
    list(state)
        .into_iter()
        .find(|b| b.name == name)
        .map(|b| folder(state).join(b.name))
        .ok_or_else(|| Failure::refused(format!("{name:?} is not one of the page's backups")))
}

impl Page for BackupsPage {
    fn title(&self, lang: Lang) -> String {
        lang.t(W::StepBackups).to_string()
    }

    fn step(&self) -> Option<Step> {
        Some(Step::Backups)
    }

    fn job(&self) -> Option<&str> {
        self.file.as_deref()
    }

    fn body(&self, lang: Lang) -> Markup {
        html! {
            h1 { (lang.t(W::StepBackups)) }
            @if let Some(why) = &self.api {
                p.failure role="alert" { (why) }
            }
            p.help { (lang.t(W::BackupsFolder)) " " code { (self.folder) } }
            form #export.busy method="post" action="/backups/export" {
                label { (lang.t(W::Format)) " "
                    select #format name="format" {
                        @for f in Format::value_variants() {
                            option value=(f.name().to_lowercase()) { (f.name()) }
                        }
                    }
                }
                " "
                label { (lang.t(W::Search)) " " input #q name="q"; }
                " "
                button type="submit" { (lang.t(W::Export)) }
            }
            @if let Some(task) = &self.task {
                (task_view(lang, task, self.undo_deletes))
            }
            @if !self.backups.is_empty() {
                table #backups {
                    thead { tr { th { (lang.t(W::Backup)) } th { (lang.t(W::Records)) } th { "verify" } th {} } }
                    tbody {
                        @for b in &self.backups {
                            tr {
                                td { (b.name) }
                                td { (count(lang, b.records)) }
                                td.verify {
                                    @if b.ok { span.good { "OK" } } @else { span.err-text { (b.problems.join("; ")) } }
                                }
                                td.do {
                                    form method="post" action="/backups/diff" {
                                        input type="hidden" name="old" value=(b.name);
                                        input type="hidden" name="new" value="live";
                                        button.quiet type="submit" { (lang.t(W::CompareLive)) }
                                    }
                                    form method="post" action="/backups/restore/plan" {
                                        input type="hidden" name="backup" value=(b.name);
                                        button.quiet type="submit" { (lang.t(W::RestorePlan)) }
                                    }
                                }
                            }
                        }
                    }
                }
                form #compare method="post" action="/backups/diff" {
                    (lang.t(W::Compare)) " "
                    select name="old" { @for b in &self.backups { option { (b.name) } } }
                    " → "
                    select name="new" { option value="live" { (lang.t(W::Live)) } @for b in &self.backups { option { (b.name) } } }
                    " " button type="submit" { (lang.t(W::Compare)) }
                }
            }
            @if let Some(d) = &self.diff {
                h2 { (d.summary.old) " → " (d.summary.new) }
                table #diff-counts.counts {
                    tr { th { "added" } td #added { (d.summary.added) } }
                    tr { th { "removed" } td #removed { (d.summary.removed) } }
                    tr { th { "changed" } td #changed { (d.summary.changed) } }
                    tr { th { "unchanged" } td #unchanged { (d.summary.unchanged) } }
                }
                @if !d.lines.is_empty() {
                    table #diff {
                        thead { tr { th { "" } th { "id" } th { "key" } th { (lang.t(W::Field)) } th { (lang.t(W::Before)) } th { (lang.t(W::After)) } } }
                        tbody { @for l in &d.lines { tr class=(l[0]) { @for c in l { td { (c) } } } } }
                    }
                }
            }
            @if let Some(r) = &self.restore {
                (r.view(lang))
            }
        }
    }
}

/// The export, restore or undo under way (with Stop), or how the last one ended (with Resume
/// for a restore that ended short, and Undo for a restore that ended).
fn task_view(lang: Lang, task: &Shown, undo_deletes: Option<u64>) -> Markup {
    let (what, reading, ended, restored) = task;
    let title = match *what {
        "export" => W::Export,
        "restore" => W::Restore,
        _ => W::UndoRestore,
    };
    html! {
        h2 { (lang.t(title)) }
        @for w in &reading.warnings {
            p.failure.warning role="alert" { (w) }
        }
        @match ended {
            None => div #live data-events="/backups/events" {
                (progress(lang, reading))
                form #stop-form method="post" action="/backups/stop" {
                    button #stop type="submit" { (lang.t(W::Stop)) }
                    " " span.help { (lang.t(W::StopBackupHelp)) }
                }
            },
            Some(Ok(said)) => p #task-done { (said) },
            Some(Err(why)) => p.failure #task-failed role="alert" { (why) },
        }
        // A restore that ended short goes on from its journal, as `restore --resume`.
        @if let (Some(backup), Some(Err(_))) = (restored, ended) {
            form #resume.busy method="post" action="/backups/restore/resume" {
                input type="hidden" name="backup" value=(backup);
                button type="submit" { (lang.t(W::Resume)) }
            }
        }
        @if let (Some(backup), Some(deletes)) = (restored, undo_deletes) {
            (super::restore::undo_view(lang, backup, deletes))
        }
    }
}

/// `GET /backups`.
pub async fn show(State(state): State<Shared>, ask: Ask) -> Result<Response, Failure> {
    let listing = state.clone();
    let (backups, undo_deletes) = tokio::task::spawn_blocking(move || {
        let undo_deletes = super::restore::undo_deletes(&listing);
        (list(&listing), undo_deletes)
    })
    .await
    .map_err(Failure::failed)?;
    let held = lock(&state.backups);
    let page = BackupsPage {
        file: state.jobs.list().pop().map(|(id, ..)| id),
        folder: folder(&state).display().to_string(),
        api: state.api.as_ref().err().cloned(),
        task: held.task.as_ref().map(|t| {
            let ended = lock(&t.ended).clone();
            (t.what, t.tally.reading(), ended, t.backup.clone())
        }),
        backups,
        diff: held.diff.clone(),
        restore: held.restore.clone(),
        undo_deletes,
    };
    drop(held);
    Ok(ask.page(&page))
}

/// Starts `work` in the background, unless an export or restore is under way; it hears Stop
/// through the receiver it is given.
pub(super) fn start<F, Fut>(
    state: &Shared,
    what: &'static str,
    backup: Option<String>,
    work: F,
) -> Result<(), Failure>
where
    F: FnOnce(Progress, watch::Receiver<bool>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Outcome>,
{
    let mut held = lock(&state.backups);
    if held.task.as_ref().is_some_and(|t| lock(&t.ended).is_none()) {
        return Err(Failure::bad(
            "an export or restore is under way: wait for its end",
        ));
    }
    let tally = Arc::new(Tally::default());
    let (stop, stopped) = watch::channel(false);
    let task = Arc::new(Task {
        what,
        tally: tally.clone(),
        ended: Mutex::new(None),
        stop,
        backup,
        journal: Mutex::new(None),
    });
    held.task = Some(task.clone());
    drive_heard(tally.clone(), move || async move {
        let (ended, journal) = work(Progress::hidden().with_events(tally), stopped).await;
        *lock(&task.journal) = journal;
        *lock(&task.ended) = Some(ended.map_err(|e| format!("{e:#}")));
    });
    Ok(())
}

pub(super) fn api(state: &Shared) -> Result<Api, Failure> {
    state.api.clone().map_err(Failure::failed)
}

#[derive(Deserialize)]
pub struct ExportAsked {
    format: String,
    #[serde(default)]
    q: String,
}

/// `POST /backups/export`: the account exported as `custbulk export` does, into the folder.
pub async fn export(
    State(state): State<Shared>,
    Form(asked): Form<ExportAsked>,
) -> Result<Response, Failure> {
    let api = api(&state)?;
    let format = Format::from_str(&asked.format, true).map_err(Failure::bad)?;
    let when = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let ext = format.name().to_lowercase();
    let options = export::Options {
        file: folder(&state).join(format!("customers-{when}.{ext}")),
        format: Some(format),
        bom: false,
        page_size: 100,
        concurrency: api.client.throttle.most().min(8),
        sort_by: "createdAt".into(),
        order: Order::Asc,
        q: Some(asked.q.trim().to_string()).filter(|q| !q.is_empty()),
        p: None,
        fields: None,
        max: None,
        max_pages: 1_000_000,
        allow_incomplete: false,
    };
    std::fs::create_dir_all(folder(&state)).map_err(Failure::failed)?;
    let job = export::Job::new(&options, api.client.base_url())
        .map_err(|e| Failure::bad(format!("{e:#}")))?;
    start(
        &state,
        "export",
        None,
        move |progress, stopped| async move {
            let client = api.client.renewed();
            let summary = export::export(&client, &job, &progress, stopped).await;
            progress.finish();
            let said = summary.map(|summary| {
                summary.warn();
                format!("{} records → {}", summary.records, summary.file)
            });
            (said, None)
        },
    )?;
    Ok(Redirect::to("/backups").into_response())
}

/// `POST /backups/stop`: the export or restore under way stops, as on Ctrl-C: what is in flight
/// finishes; an export keeps no file, a restore what it did.
pub async fn stop(State(state): State<Shared>) -> Response {
    if let Some(task) = &lock(&state.backups).task {
        task.stop.send_replace(true);
    }
    Redirect::to("/backups").into_response()
}

/// `GET /backups/events`: the export's or restore's reading, then `end`.
pub async fn events(
    State(state): State<Shared>,
) -> Result<Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>>, Failure> {
    let task = lock(&state.backups)
        .task
        .clone()
        .ok_or_else(Failure::not_found)?;
    Ok(sse(move || {
        (task.tally.reading(), lock(&task.ended).is_some())
    }))
}

#[derive(Deserialize)]
pub struct DiffAsked {
    old: String,
    new: String,
}

/// `POST /backups/diff`: two sides compared as `custbulk diff OLD NEW` does, by id.
pub async fn compare(
    State(state): State<Shared>,
    Form(asked): Form<DiffAsked>,
) -> Result<Response, Failure> {
    let side = |name: &str| -> Result<Option<PathBuf>, Failure> {
        match name {
            "live" => Ok(None),
            name => backup(&state, name).map(Some),
        }
    };
    let (old, new) = (side(&asked.old)?, side(&asked.new)?);
    let report = state
        .folder
        .join(format!("diff.{}.csv", super::upload::new_id()));
    let options = diff::Options {
        by: By::Id,
        keys: "siret".parse().expect("a field"),
        report: Some(report.clone()),
    };
    let live = match old.is_none() || new.is_none() {
        true => Some(api(&state)?),
        false => None,
    };
    let spool = state.folder.clone();
    let diffed = drive(move || async move {
        let read = |path: Option<PathBuf>, indexed: bool| {
            let (live, spool) = (live.clone(), spool.clone());
            async move {
                match (path, live) {
                    (Some(path), _) => side::from_file(&path, None, indexed),
                    (None, Some(api)) => {
                        let progress = crate::progress::Progress::hidden();
                        let (_cancel, cancel) = watch::channel(false);
                        let client = api.client.renewed();
                        let live = side::Live {
                            client: &client,
                            page_size: 100,
                            concurrency: 4,
                            progress: &progress,
                            cancel,
                        };
                        side::from_live(live, &spool.join("live"), None, indexed).await
                    }
                    (None, None) => anyhow::bail!("no API"),
                }
            }
        };
        let old = read(old, true).await?;
        let new = read(new, false).await?;
        let summary = diff::compare(&old, &new, &options)?;
        let mut lines = Vec::new();
        let mut reader = csv::Reader::from_path(&report)?;
        for record in reader.records().take(SHOWN) {
            let r = record?;
            let cell = |i| r.get(i).unwrap_or("").to_string();
            lines.push([cell(2), cell(0), cell(1), cell(3), cell(4), cell(5)]);
        }
        let _ = std::fs::remove_file(&report);
        // The report was the page's own, in its private folder.
        let summary = diff::Summary {
            report: None,
            ..summary
        };
        anyhow::Ok(Diffed { summary, lines })
    })
    .await
    .map_err(Failure::failed)?
    .map_err(|e| Failure::failed(format!("{e:#}")))?;
    lock(&state.backups).diff = Some(Arc::new(diffed));
    Ok(Redirect::to("/backups").into_response())
}
