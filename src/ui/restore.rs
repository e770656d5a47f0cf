//! The Backups step's restore: its plan (`custbulk restore BACKUP --plan`), then the run in the
//! background, by SIRET and without `--prune` (the page's restore deletes nothing), journaled
//! beside the backup as the command journals it; Stop closes its gate as Ctrl-C does, a
//! restore that ended short is resumed from its journal, and one that ended is undone from it
//! (`custbulk undo BACKUP.restore.journal`).

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::backups::{api, backup, start, Outcome};
use super::i18n::{Lang, W};
use super::job::lock;
use super::layout::count;
use super::run::{deletes_confirmed, undo_options};
use super::server::{Api, Shared};
use super::task::drive_heard;
use super::view::Failure;
use crate::api::Client;
use crate::apply::{RunReport, Session, Stop};
use crate::events::Tally;
use crate::lookup::Keys;
use crate::progress::Progress;
use crate::{restore, undo};

/// A restore's plan, and the backup it restores.
#[derive(Debug, Serialize)]
pub struct Restoring {
    backup: String,
    outcomes: std::collections::BTreeMap<String, u64>,
    /// What the engine warned of while planning (a backup without a manifest, records left out).
    warnings: Vec<String>,
}

impl Restoring {
    /// The plan's counts, and the button that runs it.
    pub fn view(&self, lang: Lang) -> Markup {
        html! {
            h2 { (lang.t(W::RestorePlan)) ": " (self.backup) }
            @for w in &self.warnings {
                p.failure.warning role="alert" { (w) }
            }
            table #restore-plan.counts {
                @for (o, n) in &self.outcomes { tr { th { (o) } td id={ "r-" (o) } { (count(lang, *n)) } } }
            }
            form #restore.busy method="post" action="/backups/restore" {
                input type="hidden" name="backup" value=(self.backup);
                button type="submit" { (lang.t(W::Restore)) }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct RestoreAsked {
    backup: String,
}

/// A restore as the page runs it: by SIRET, without `--prune` (it deletes nothing).
fn restore_options(path: PathBuf, api: &Api) -> restore::Options {
    restore::Options {
        backup: path,
        plan: false,
        prune: false,
        match_on: "siret".parse::<Keys>().expect("a field"),
        force: false,
        update_with: None,
        results: None,
        journal: None,
        run: super::plan::settings(api, false),
        page_size: 100,
    }
}

/// `POST /backups/restore/plan`: what `custbulk restore BACKUP --plan` says.
pub async fn restore_plan(
    State(state): State<Shared>,
    Form(asked): Form<RestoreAsked>,
) -> Result<Response, Failure> {
    let api = api(&state)?;
    let path = backup(&state, &asked.backup)?;
    let heard = Arc::new(Tally::default());
    let planned = drive_heard(heard.clone(), move || async move {
        let options = restore::Options {
            plan: true,
            ..restore_options(path, &api)
        };
        let never = watch::channel(false).1;
        let report = restore_with(options, &api, Progress::hidden(), never).await?;
        anyhow::Ok(report.summary.outcomes)
    })
    .await
    .map_err(Failure::failed)?
    .map_err(|e| Failure::failed(format!("{e:#}")))?;
    lock(&state.backups).restore = Some(Arc::new(Restoring {
        backup: asked.backup,
        outcomes: planned.iter().map(|(o, n)| (o.to_string(), *n)).collect(),
        warnings: heard.reading().warnings,
    }));
    Ok(Redirect::to("/backups").into_response())
}

/// Runs `work` with a session whose gate on `client` closes when `stopped` turns true (Stop),
/// as Ctrl-C closes the command's.
async fn stoppable<F, Fut>(
    client: &Client,
    progress: Progress,
    mut stopped: watch::Receiver<bool>,
    work: F,
) -> anyhow::Result<RunReport>
where
    F: FnOnce(Session) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<RunReport>>,
{
    let stop = Arc::new(Stop::new(client.throttle.gate.clone()));
    let hearing = stop.clone();
    let hear = tokio::spawn(async move {
        if stopped.wait_for(|stop| *stop).await.is_ok() {
            hearing.interrupt();
        }
    });
    let ran = work(Session { stop, progress }).await;
    hear.abort();
    ran
}

/// The restore engine, as the command runs it: planned, matched with the account, run; `stopped`
/// closes its gate as Ctrl-C does.
async fn restore_with(
    options: restore::Options,
    api: &Api,
    progress: Progress,
    stopped: watch::Receiver<bool>,
) -> anyhow::Result<RunReport> {
    let client = api.client.renewed();
    stoppable(&client, progress, stopped, |session| async {
        let plan = restore::Plan::new(options)?.with_writes(api.writes.clone());
        let matched = restore::match_live(plan, &client, &Progress::hidden()).await?;
        restore::run(matched, &client, session).await
    })
    .await
}

/// What a run of changes did, as its outcomes counted (`created 3, updated 1`), or why it
/// stopped; and its journal.
fn outcome(ran: anyhow::Result<RunReport>) -> Outcome {
    let report = match ran {
        Ok(report) => report,
        Err(e) => return (Err(e), None),
    };
    let journal = report.summary.journal.clone().map(Into::into);
    let said: Vec<String> = report
        .summary
        .outcomes
        .iter()
        .map(|(o, n)| format!("{o} {n}"))
        .collect();
    let said = match report.stopped {
        Some(e) => Err(e),
        None => Ok(said.join(", ")),
    };
    (said, journal)
}

/// `POST /backups/restore`: the planned restore, run in the background (without `--prune`:
/// it deletes nothing).
pub async fn restore(
    State(state): State<Shared>,
    Form(asked): Form<RestoreAsked>,
) -> Result<Response, Failure> {
    let planned = lock(&state.backups).restore.clone();
    if planned.is_none_or(|p| p.backup != asked.backup) {
        return Err(Failure::bad("make the restore's plan first"));
    }
    run_restore(&state, asked.backup, false)?;
    lock(&state.backups).restore = None;
    Ok(Redirect::to("/backups").into_response())
}

/// `POST /backups/restore/resume`: the restore that ended short (Stop, the breaker) goes on
/// from its journal, as `custbulk restore BACKUP --resume`: what it created is not created
/// twice.
pub async fn resume(
    State(state): State<Shared>,
    Form(asked): Form<RestoreAsked>,
) -> Result<Response, Failure> {
    if !lock(&state.backups).ended_short(&asked.backup) {
        return Err(Failure::bad(
            "there is no stopped restore of this backup to resume",
        ));
    }
    run_restore(&state, asked.backup, true)?;
    Ok(Redirect::to("/backups").into_response())
}

/// Starts the restore of `name` in the background, afresh or resumed.
fn run_restore(state: &Shared, name: String, resume: bool) -> Result<(), Failure> {
    let api = api(state)?;
    let mut options = restore_options(backup(state, &name)?, &api);
    options.run.resume = resume;
    start(
        state,
        "restore",
        Some(name),
        move |progress, stopped| async move {
            outcome(restore_with(options, &api, progress, stopped).await)
        },
    )
}

/// The customers an undo of the last restore would delete, when a restore has ended with a
/// journal (read from it: nothing is sent).
pub(super) fn undo_deletes(state: &Shared) -> Option<u64> {
    let (_, journal) = lock(&state.backups).restored()?;
    undo::Plan::new(undo_options(&journal, None, true))
        .and_then(|plan| plan.count_deletes())
        .ok()
}

/// Undo for the restore of `backup` that ended, with the yes its deletes need.
pub(super) fn undo_view(lang: Lang, backup: &str, deletes: u64) -> Markup {
    html! {
        form #undo.busy method="post" action="/backups/restore/undo" {
            input type="hidden" name="backup" value=(backup);
            @if deletes > 0 {
                p { label {
                    input #confirm-undo type="checkbox" name="confirm" value="yes" required;
                    " " (lang.t(W::ConfirmUndo)) " " (count(lang, deletes))
                } }
            }
            button type="submit" { (lang.t(W::UndoRestore)) }
        }
    }
}

#[derive(Deserialize)]
pub struct UndoAsked {
    backup: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /backups/restore/undo`: the restore that ended undone from its journal, as `custbulk
/// undo BACKUP.restore.journal` does: what it created is deleted (after a yes), what it
/// changed is put back.
pub async fn undo(
    State(state): State<Shared>,
    Form(asked): Form<UndoAsked>,
) -> Result<Response, Failure> {
    let api = api(&state)?;
    let restored = lock(&state.backups).restored();
    let Some((_, journal)) = restored.filter(|(b, _)| *b == asked.backup) else {
        return Err(Failure::bad("there is no restore of this backup to undo"));
    };
    let counting = journal.clone();
    let deletes = tokio::task::spawn_blocking(move || {
        undo::Plan::new(undo_options(&counting, None, true))?.count_deletes()
    })
    .await
    .map_err(Failure::failed)?
    .map_err(|e| Failure::bad(format!("{e:#}")))?;
    deletes_confirmed(deletes, asked.confirm == "yes", "undo")?;
    start(&state, "undo", None, move |progress, stopped| async move {
        let client = api.client.renewed();
        let undone = stoppable(&client, progress, stopped, |session| async {
            let plan = undo::Plan::new(undo_options(&journal, Some(&api), false))?;
            undo::run(plan.with_writes(api.writes.clone()), &client, session).await
        })
        .await;
        // Its own journal is not offered for undo: an undo is not undone from the page.
        (outcome(undone).0, None)
    })?;
    Ok(Redirect::to("/backups").into_response())
}
