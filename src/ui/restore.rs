//! The Backups step's restore: its plan (`custbulk restore BACKUP --plan`), then the run in the
//! background, by SIRET and without `--prune` (the page's restore deletes nothing), journaled
//! beside the backup as the command journals it; Stop closes its gate as Ctrl-C does, and a
//! restore that ended short is resumed from its journal.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::backups::{api, backup, start};
use super::i18n::{Lang, W};
use super::job::lock;
use super::layout::count;
use super::server::{Api, Shared};
use super::task::drive_heard;
use super::view::Failure;
use crate::apply::{Session, Stop};
use crate::events::Tally;
use crate::lookup::Keys;
use crate::progress::Progress;
use crate::restore;

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

/// The restore engine, as the command runs it: planned, matched with the account, run; `stopped`
/// closes its gate as Ctrl-C does.
async fn restore_with(
    options: restore::Options,
    api: &Api,
    progress: Progress,
    mut stopped: watch::Receiver<bool>,
) -> anyhow::Result<crate::apply::RunReport> {
    let client = api.client.renewed();
    let stop = Arc::new(Stop::new(client.throttle.gate.clone()));
    let hearing = stop.clone();
    let hear = tokio::spawn(async move {
        if stopped.wait_for(|stop| *stop).await.is_ok() {
            hearing.interrupt();
        }
    });
    let restored = async {
        let plan = restore::Plan::new(options)?.with_writes(api.writes.clone());
        let matched = restore::match_live(plan, &client, &Progress::hidden()).await?;
        restore::run(matched, &client, Session { stop, progress }).await
    }
    .await;
    hear.abort();
    restored
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
            let report = restore_with(options, &api, progress, stopped).await?;
            let said: Vec<String> = report
                .summary
                .outcomes
                .iter()
                .map(|(o, n)| format!("{o} {n}"))
                .collect();
            match report.stopped {
                Some(e) => Err(e),
                None => Ok(said.join(", ")),
            }
        },
    )
}
