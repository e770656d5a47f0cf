//! The Run step: the planned import started in a background task, through the import engine
//! and its files (journal, results) as `custbulk import` runs it, so the terminal can resume or
//! undo it; its progress streamed to the page by server-sent events, from the engine's own
//! events ([`crate::events`]); Stop with Ctrl-C's meaning ([`Stop::interrupt`]: the gate
//! closes, requests in flight finish, the rest is skipped and resumable); then the summary, the
//! results and failed files, Resume and Undo (with `custbulk undo`'s confirmation of deletes).

use std::convert::Infallible;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use futures::Stream;
use maud::{html, Markup};
use serde::{Deserialize, Serialize};

use super::fixed;
use super::i18n::{Lang, W};
use super::job::{lock, Job};
use super::layout::{count, Step};
use super::plan::{holds, settings};
use super::sent::{quote, Sent};
use super::server::{Api, Shared};
use super::task::{drive_heard, sse};
use super::view::{Ask, Failure, Page};
use crate::api::Client;
use crate::apply::{RunReport, Session, Stop};
use crate::events::{self, Reading, Sink, Tally};
use crate::progress::Progress;
use crate::{import, undo};

/// What a run of the page does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Import,
    Resume,
    Undo,
}

/// A run started from the page, running or ended.
pub struct Live {
    pub kind: Kind,
    /// The import's file and mapping (an undo's: the import's).
    pub sent: Sent,
    /// The import's flags (`--mode ...`), as chosen when it started.
    flags: String,
    tally: Arc<Tally>,
    stop: Arc<Stop>,
    ended: Mutex<Option<Ended>>,
}

/// How a run ended.
#[derive(Debug, Clone, Serialize)]
pub struct Ended {
    /// The summary the command prints (`--output json`'s).
    pub summary: Option<serde_json::Value>,
    pub outcomes: std::collections::BTreeMap<String, u64>,
    pub results: Option<PathBuf>,
    pub failed: Option<PathBuf>,
    pub journal: Option<PathBuf>,
    /// Why it stopped before its end, or could not start: the engine's words.
    pub error: Option<String>,
    /// Stopped before its end, with its journal: `--resume` finishes it.
    pub resumable: bool,
}

impl Ended {
    fn of(result: anyhow::Result<RunReport>) -> Ended {
        match result {
            Ok(report) => {
                let s = &report.summary;
                Ended {
                    summary: serde_json::to_value(s).ok(),
                    outcomes: s
                        .outcomes
                        .iter()
                        .map(|(o, n)| (o.to_string(), *n))
                        .collect(),
                    results: Some(s.results.clone().into()),
                    failed: s
                        .outcomes
                        .keys()
                        .any(|o| *o == "invalid" || *o == "failed")
                        .then(|| s.failed.clone().into())
                        .filter(|f: &PathBuf| f.exists()),
                    journal: s.journal.clone().map(Into::into),
                    resumable: report.stopped.is_some() && s.journal.is_some(),
                    error: report.stopped.map(|e| format!("{e:#}")),
                }
            }
            Err(e) => Ended {
                summary: None,
                outcomes: Default::default(),
                results: None,
                failed: None,
                journal: None,
                error: Some(format!("{e:#}")),
                resumable: false,
            },
        }
    }
}

impl Live {
    /// Stops it as Ctrl-C stops a command (see [`Stop::interrupt`]).
    pub fn interrupt(&self) {
        self.stop.interrupt();
    }

    pub fn ended(&self) -> Option<Ended> {
        lock(&self.ended).clone()
    }

    pub fn reading(&self) -> Reading {
        self.tally.reading()
    }
}

/// Starts `work` in the background as `job`'s latest run, with a client of its own (its own
/// gate, which Stop closes) whose progress the page hears, after the warnings its plan `said`;
/// then shows the Run page.
fn launch<F, Fut>(
    api: &Api,
    job: &Mutex<Job>,
    kind: Kind,
    (sent, said): (Sent, Vec<String>),
    work: F,
) -> Response
where
    F: FnOnce(Client, Session) -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<RunReport>>,
{
    let client = api.client.renewed();
    let tally = Arc::new(Tally::default());
    for text in &said {
        tally.event(events::Event::Warning(text));
    }
    let stop = Arc::new(Stop::new(client.throttle.gate.clone()));
    let session = Session {
        stop: stop.clone(),
        progress: Progress::hidden().with_events(tally.clone()),
    };
    let mut job = lock(job);
    let live = Arc::new(Live {
        kind,
        sent,
        flags: job.choice.flags(),
        tally,
        stop,
        ended: Mutex::new(None),
    });
    let ends = live.clone();
    drive_heard(live.tally.clone(), move || async move {
        let ended = Ended::of(work(client, session).await);
        *lock(&ends.ended) = Some(ended);
    });
    job.runs.push(live);
    Redirect::to(&format!("/files/{}/run", job.id)).into_response()
}

/// Starts the import `plan` of `sent` (a run, or one resumed), after the warnings it `said`.
fn launch_import(
    api: &Api,
    job: &Mutex<Job>,
    kind: Kind,
    sent: Sent,
    (plan, said): (import::Plan, Vec<String>),
) -> Response {
    let plan = plan.with_writes(api.writes.clone());
    launch(api, job, kind, (sent, said), |client, session| async move {
        import::run(plan, Some(&client), session).await
    })
}

/// The Run page.
#[derive(Serialize)]
struct RunPage {
    file: String,
    name: String,
    kind: Option<Kind>,
    /// The run as it stands (the last run's, when it has ended).
    reading: Option<Reading>,
    ended: Option<Ended>,
    /// The customers an undo of the last import would delete (it needs a yes).
    undo_deletes: Option<u64>,
    /// The same from a terminal.
    commands: Vec<String>,
}

impl Page for RunPage {
    fn title(&self, lang: Lang) -> String {
        format!("{} · {}", lang.t(W::StepRun), self.name)
    }

    fn step(&self) -> Option<Step> {
        Some(Step::Run)
    }

    fn job(&self) -> Option<&str> {
        Some(&self.file)
    }

    fn body(&self, lang: Lang) -> Markup {
        let base = format!("/files/{}/run", self.file);
        html! {
            h1 { (lang.t(W::StepRun)) ": " (self.name) }
            @match (&self.reading, &self.ended) {
                (None, _) => {
                    p { (lang.t(W::NoRun)) " " a href={ "/files/" (self.file) "/plan" } { (lang.t(W::StepPlan)) } }
                }
                (Some(r), None) => {
                    div #live data-events={ (base) "/events" } {
                        (progress(lang, r))
                        form #stop-form method="post" action={ (base) "/stop" } {
                            button #stop type="submit" { (lang.t(W::Stop)) }
                            " " span.help { (lang.t(W::StopHelp)) }
                        }
                    }
                }
                (Some(r), Some(ended)) => {
                    (progress(lang, r))
                    (self.ended_view(lang, &base, ended))
                }
            }
            @if !self.commands.is_empty() {
                h2 { (lang.t(W::FromTerminal)) }
                pre.command { @for c in &self.commands { (c) "\n" } }
            }
        }
    }
}

impl RunPage {
    fn ended_view(&self, lang: Lang, base: &str, ended: &Ended) -> Markup {
        html! {
            @for w in self.reading.iter().flat_map(|r| &r.warnings) {
                p.failure role="alert" { (w) }
            }
            @if let Some(error) = &ended.error {
                p.failure #stopped role="alert" { (error) }
            } @else {
                p #done-ok { (lang.t(W::RunDone)) }
            }
            @if let Some(took) = ended.summary.as_ref().and_then(took) {
                p #took { (took) " " (lang.t(W::PerSecond)) }
            }
            p.downloads {
                @if ended.results.is_some() {
                    a #results href={ (base) "/results" } { (lang.t(W::Results)) }
                }
                @if ended.failed.is_some() {
                    " · " a #failed href={ (base) "/failed" } { (lang.t(W::FailedRows)) }
                }
            }
            // An undo stopped early is resumed from a terminal (`custbulk undo JOURNAL --resume`).
            @if ended.resumable && self.kind != Some(Kind::Undo) {
                form #resume.busy method="post" action={ (base) "/resume" } {
                    button type="submit" { (lang.t(W::Resume)) }
                }
            }
            @if let Some(deletes) = self.undo_deletes {
                form #undo.busy method="post" action={ (base) "/undo" } {
                    @if deletes > 0 {
                        p { label {
                            input #confirm-undo type="checkbox" name="confirm" value="yes" required;
                            " " (lang.t(W::ConfirmUndo)) " " (count(lang, deletes))
                        } }
                    }
                    button type="submit" { (lang.t(W::Undo)) }
                }
            }
        }
    }
}

/// `40 · 1.2 s · 33` (rows, time, then rows per second) from a run's summary.
fn took(summary: &serde_json::Value) -> Option<String> {
    let rows = summary["rows"].as_u64()?;
    let secs = summary["duration_secs"].as_f64()?;
    let rate = summary["rows_per_sec"].as_f64()?;
    Some(format!("{rows} · {secs:.1} s · {rate:.0}"))
}

/// The counts of a run, which the page's script keeps up to date from the events.
pub fn progress(lang: Lang, r: &Reading) -> Markup {
    let rate = r.rate.map_or(String::new(), |r| format!("{r:.0}"));
    let eta = r.eta_secs.map_or(String::new(), |s| format!("{s} s"));
    html! {
        progress #bar max=(r.total.unwrap_or(0).max(1)) value=(r.done) {}
        p.counts {
            span #done { (r.done) } " / " span #total { (r.total.map_or("?".into(), |t| t.to_string())) }
            " " (lang.t(W::Rows)) " · " span #rate { (rate) } " " (lang.t(W::PerSecond))
            " · ETA " span #eta { (eta) }
            " · " (lang.t(W::Concurrency)) " " span #concurrency { (r.concurrency.map_or(String::new(), |c| c.to_string())) }
            " " span #waiting { (r.waiting.clone().unwrap_or_default()) }
        }
        table #run-outcomes.counts {
            @for (outcome, n) in &r.outcomes {
                tr { th { (outcome) } td id={ "n-" (outcome) } { (count(lang, *n)) } }
            }
        }
    }
}

fn page(job: &Job) -> RunPage {
    let last = job.runs.last();
    let ended = last.and_then(|l| l.ended());
    let mut commands = Vec::new();
    if let Some(live) = last {
        commands.push(live.sent.command(&live.flags));
        commands.push(live.sent.command(&format!("{} --resume", live.flags)));
    }
    let journal = import_journal(job);
    if let Some(journal) = &journal {
        commands.push(format!("custbulk undo {}", quote(journal)));
    }
    // An undo that completed is not offered again.
    let undone = last.is_some_and(|l| l.kind == Kind::Undo)
        && ended.as_ref().is_some_and(|e| e.error.is_none());
    let undo_deletes = match (&ended, &journal) {
        (Some(_), Some(journal)) if !undone => undo::Plan::new(undo_options(journal, None, true))
            .and_then(|plan| plan.count_deletes())
            .ok(),
        _ => None,
    };
    RunPage {
        file: job.id.clone(),
        name: job.name.clone(),
        kind: last.map(|l| l.kind),
        reading: last.map(|l| l.reading()),
        ended,
        undo_deletes,
        commands,
    }
}

/// The journal of the job's last import run that wrote one.
fn import_journal(job: &Job) -> Option<PathBuf> {
    job.runs
        .iter()
        .rev()
        .filter(|l| l.kind != Kind::Undo)
        .find_map(|l| l.ended().and_then(|e| e.journal))
}

pub(super) fn undo_options(
    journal: &std::path::Path,
    api: Option<&Api>,
    plan: bool,
) -> undo::Options {
    undo::Options {
        journal: journal.to_path_buf(),
        plan,
        force: false,
        restore_with: None,
        results: None,
        run: match api {
            Some(api) => settings(api, false),
            None => crate::apply::Settings {
                concurrency: 1,
                limits: Default::default(),
                resume: false,
                repair: false,
                fresh: false,
            },
        },
    }
}

/// `GET /files/ID/run`.
pub async fn show(
    State(state): State<Shared>,
    Path(id): Path<String>,
    ask: Ask,
) -> Result<Response, Failure> {
    let job = state.job(&id).ok_or_else(Failure::not_found)?;
    let page = tokio::task::spawn_blocking(move || page(&lock(&job)))
        .await
        .map_err(Failure::failed)?;
    Ok(ask.page(&page))
}

#[derive(Deserialize)]
pub struct Confirm {
    #[serde(default)]
    confirm: String,
}

impl Confirm {
    fn given(&self) -> bool {
        self.confirm == "yes"
    }
}

/// A job without a run in progress, and the API.
fn idle(state: &Shared, id: &str) -> Result<(Arc<Mutex<Job>>, Api), Failure> {
    let api = state.api.clone().map_err(Failure::failed)?;
    let job = state.job(id).ok_or_else(Failure::not_found)?;
    if lock(&job).runs.last().is_some_and(|l| l.ended().is_none()) {
        return Err(Failure::bad(
            "a run of this file is in progress: stop it first",
        ));
    }
    Ok((job, api))
}

/// Refuses a run that deletes without a yes, as the command does without `--yes`.
pub(super) fn deletes_confirmed(count: u64, given: bool, what: &str) -> Result<(), Failure> {
    if count > 0 && !given {
        return Err(Failure::bad(format!(
            "this {what} deletes up to {count} customer(s): tick the box to confirm; nothing was sent"
        )));
    }
    Ok(())
}

/// `POST /files/ID/run`: the planned import, started.
pub async fn start(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Form(confirm): Form<Confirm>,
) -> Result<Response, Failure> {
    let (job, api) = idle(&state, &id)?;
    let (planned, choice) = {
        let job = lock(&job);
        let planned = job.planned.clone().filter(|p| holds(p, &job));
        let planned = planned.ok_or_else(|| {
            Failure::bad("make the plan first: the file or the choices changed since")
        })?;
        // Under the job's lock: a new plan made meanwhile keeps this one's folder.
        planned.used.store(true, Ordering::Release);
        (planned, job.choice.clone())
    };
    let sent = planned.sent.clone();
    let (plan, said) = import_plan(&choice, &sent, &api, false).await?;
    if plan.may_delete() {
        let count = plan
            .count_deletes()
            .map_err(|e| Failure::failed(format!("{e:#}")))?;
        deletes_confirmed(count, confirm.given(), "import")?;
    }
    Ok(launch_import(&api, &job, Kind::Import, sent, (plan, said)))
}

/// The import engine's plan of `sent`: the journal claimed (or, resuming, reopened); and the
/// warnings it said.
async fn import_plan(
    choice: &super::plan::Choice,
    sent: &Sent,
    api: &Api,
    resume: bool,
) -> Result<(import::Plan, Vec<String>), Failure> {
    let options = choice.options(sent, api, false, resume);
    let (plan, said) =
        tokio::task::spawn_blocking(move || crate::log::collecting(|| import::Plan::new(options)))
            .await
            .map_err(Failure::failed)?;
    let plan = plan.map_err(|e| Failure::bad(format!("{e:#}")))?;
    Ok((plan, said))
}

/// `POST /files/ID/run/stop`: Ctrl-C's meaning.
pub async fn stop(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let job = state.job(&id).ok_or_else(Failure::not_found)?;
    if let Some(live) = lock(&job).runs.last() {
        live.stop.interrupt();
    }
    Ok(Redirect::to(&format!("/files/{id}/run")).into_response())
}

/// `POST /files/ID/run/resume`: the stopped import finished, as `--resume` does.
pub async fn resume(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let (job, api) = idle(&state, &id)?;
    let (sent, choice) = {
        let job = lock(&job);
        let last = job.runs.last().filter(|l| l.kind != Kind::Undo);
        let last = last.filter(|l| l.ended().is_some_and(|e| e.resumable));
        let last = last.ok_or_else(|| Failure::bad("there is no stopped import to resume"))?;
        (last.sent.clone(), job.choice.clone())
    };
    let planned = import_plan(&choice, &sent, &api, true).await?;
    Ok(launch_import(&api, &job, Kind::Resume, sent, planned))
}

/// `POST /files/ID/run/undo`: the last import undone, as `custbulk undo JOURNAL` does.
pub async fn undo(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Form(confirm): Form<Confirm>,
) -> Result<Response, Failure> {
    let (job, api) = idle(&state, &id)?;
    let (journal, sent) = {
        let job = lock(&job);
        let journal =
            import_journal(&job).ok_or_else(|| Failure::bad("there is no import to undo"))?;
        let sent = job
            .runs
            .last()
            .map(|l| l.sent.clone())
            .ok_or_else(Failure::not_found)?;
        (journal, sent)
    };
    let options = undo_options(&journal, Some(&api), false);
    let (plan, said) = tokio::task::spawn_blocking(move || {
        crate::log::collecting(|| -> anyhow::Result<_> {
            let plan = undo::Plan::new(options)?;
            let count = match plan.may_delete() {
                true => plan.count_deletes()?,
                false => 0,
            };
            Ok((plan, count))
        })
    })
    .await
    .map_err(Failure::failed)?;
    let (plan, count) = plan.map_err(|e| Failure::bad(format!("{e:#}")))?;
    deletes_confirmed(count, confirm.given(), "undo")?;
    let plan = plan.with_writes(api.writes.clone());
    Ok(launch(
        &api,
        &job,
        Kind::Undo,
        (sent, said),
        |client, session| async move { undo::run(plan, &client, session).await },
    ))
}

/// `GET /files/ID/run/events`: the run's reading 4 times a second (`data:` JSON), then `end`.
pub async fn events(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Failure> {
    let job = state.job(&id).ok_or_else(Failure::not_found)?;
    let live = lock(&job).runs.last().cloned();
    let live = live.ok_or_else(Failure::not_found)?;
    Ok(sse(move || (live.reading(), live.ended().is_some())))
}

/// `GET /files/ID/run/results` and `.../failed`: the last run's files, copied into the
/// private folder and streamed (the run's own stay where the terminal finds them).
pub async fn download(
    State(state): State<Shared>,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let job = state.job(&id).ok_or_else(Failure::not_found)?;
    let ended = lock(&job).runs.last().and_then(|l| l.ended());
    let path = match (file.as_str(), ended) {
        ("results", Some(e)) => e.results,
        ("failed", Some(e)) => e.failed,
        _ => None,
    }
    .ok_or_else(Failure::not_found)?;
    let name = path
        .file_name()
        .map_or("results.csv".into(), |n| n.to_string_lossy().into_owned());
    let copy = state
        .folder
        .join(format!("{id}.{}.download", super::upload::new_id()));
    tokio::fs::copy(&path, &copy)
        .await
        .map_err(|e| Failure::failed(format!("cannot read {}: {e}", path.display())))?;
    fixed::send(&copy, &name, "text/csv; charset=utf-8")
        .await
        .map_err(Failure::failed)
}
