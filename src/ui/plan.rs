//! The Plan step: the mode, match keys and duplicate policy chosen, then the plan of the import
//! engine itself (`custbulk import --plan`: read-only requests) for the file as it will be
//! sent: counts by outcome, the updates with each field's before and after, the likely
//! duplicates. Nothing is sent until the person starts the run from here.

use std::collections::BTreeMap;
use std::path::Path as FsPath;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use clap::ValueEnum;
use maud::{html, Markup};
use serde::{Deserialize, Serialize};

use super::i18n::{Lang, W};
use super::job::{lock, CellEdits, Job};
use super::layout::{count, Step};
use super::sent::Sent;
use super::server::{Api, Shared};
use super::view::{Ask, Failure, Page};
use crate::apply::{Limits, Settings};
use crate::events::Tally;
use crate::import::{self, Blank, Mode};
use crate::lookup::duplicates::OnDuplicate;
use crate::progress::Progress;
use crate::schema::columns;

/// Rows of each list shown on the page; the plan's results file has them all.
const SHOWN: usize = 200;

/// How the rows go to the API: the flags `--mode`, `--match-on`, `--on-duplicate`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Choice {
    pub mode: Mode,
    pub match_on: String,
    #[serde(serialize_with = "as_name")]
    pub on_duplicate: OnDuplicate,
}

impl Choice {
    /// The import's options for the file `sent`: a plan, a run, or the run resumed.
    pub fn options(&self, sent: &Sent, api: &Api, plan: bool, resume: bool) -> import::Options {
        import::Options {
            input: sent.input(),
            mode: self.mode,
            match_on: Some(self.match_on.trim().to_string()).filter(|m| !m.is_empty()),
            on_duplicate: self.on_duplicate,
            update_with: None,
            blank: Blank::Keep,
            results: plan.then(|| sent.dir.join("plan.csv")),
            journal: None,
            plan,
            dry_run: false,
            strict: false,
            annotate: None,
            run: settings(api, resume),
        }
    }

    /// The flags that say the same at a terminal.
    pub fn flags(&self) -> String {
        let mut flags = format!("--mode {}", self.mode.as_str());
        if !self.match_on.trim().is_empty() {
            flags.push_str(&format!(" --match-on {}", self.match_on.trim()));
        }
        if self.on_duplicate != OnDuplicate::default() {
            flags.push_str(&format!(" --on-duplicate {}", name(&self.on_duplicate)));
        }
        flags
    }
}

/// A run's settings from the page: the client's bounds, the default limits.
pub fn settings(api: &Api, resume: bool) -> Settings {
    Settings {
        concurrency: api.client.throttle.most(),
        limits: Limits::default(),
        resume,
        repair: false,
        fresh: false,
    }
}

/// A flag's value as the command line spells it.
fn name<E: ValueEnum>(value: &E) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

fn as_name<S: serde::Serializer>(value: &OnDuplicate, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&name(value))
}

/// What the plan said, for the file as it was when planned.
#[derive(Debug, Serialize)]
pub struct Planned {
    pub choice: Choice,
    #[serde(skip)]
    pub sent: Sent,
    /// Rows by what they would end as (`would-create`, `would-update`, `unchanged`, ...).
    pub outcomes: BTreeMap<String, u64>,
    /// Rows created although likely duplicates of a customer there.
    pub possible_duplicates: u64,
    pub updates: Vec<Update>,
    /// Rows a likely duplicate decided, or that resemble a customer.
    pub duplicates: Vec<Noted>,
    /// Rows that cannot be sent, with why.
    pub invalid: Vec<Noted>,
    /// The rows that would delete a customer (found or not): the run needs a yes.
    pub deletes: u64,
    /// What the engine warned of (a create whose rows look imported before).
    pub warnings: Vec<String>,
    #[serde(skip)]
    pub edits: BTreeMap<u32, CellEdits>,
    /// The command that makes the same plan.
    pub command: String,
    /// A run was started from it: its folder holds the run's journal and results.
    #[serde(skip)]
    pub used: std::sync::atomic::AtomicBool,
}

#[derive(Debug, Serialize)]
pub struct Update {
    pub row: String,
    pub id: String,
    pub changes: Vec<Change>,
}

#[derive(Debug, Serialize)]
pub struct Change {
    pub field: String,
    pub before: String,
    pub after: String,
}

#[derive(Debug, Serialize)]
pub struct Noted {
    pub row: String,
    pub outcome: String,
    pub note: String,
}

impl Planned {
    /// Reads what the plan wrote in its results file.
    fn read(&mut self, results: &FsPath) -> anyhow::Result<()> {
        let mut reader = csv::Reader::from_path(results)?;
        let headers = reader.headers()?.clone();
        let at = |name: &str| {
            headers
                .iter()
                .position(|h| h.trim_start_matches('\u{feff}') == name)
        };
        let (row, outcome, id) = (at(columns::ROW), at(columns::OUTCOME), at(columns::ID));
        let (changes, note, error) = (at(columns::CHANGES), at(columns::NOTE), at(columns::ERROR));
        let cell = |record: &csv::StringRecord, i: Option<usize>| {
            i.and_then(|i| record.get(i)).unwrap_or("").to_string()
        };
        for record in reader.records() {
            let record = record?;
            let outcome = cell(&record, outcome);
            let (note, changes) = (cell(&record, note), cell(&record, changes));
            if !changes.is_empty() && self.updates.len() < SHOWN {
                self.updates.push(Update {
                    row: cell(&record, row),
                    id: cell(&record, id),
                    changes: changes.split("; ").map(change).collect(),
                });
            }
            if outcome == "invalid" && self.invalid.len() < SHOWN {
                self.invalid.push(Noted {
                    row: cell(&record, row),
                    outcome: outcome.clone(),
                    note: cell(&record, error),
                });
            } else if !note.is_empty() && self.duplicates.len() < SHOWN {
                self.duplicates.push(Noted {
                    row: cell(&record, row),
                    outcome,
                    note,
                });
            }
        }
        Ok(())
    }
}

/// `city: "Paris" → "Lyon"` (as [`crate::compare::describe`] writes it) in its three parts.
fn change(text: &str) -> Change {
    let (field, rest) = text.split_once(": ").unwrap_or((text, ""));
    let (before, after) = rest.split_once(" → ").unwrap_or(("", rest));
    Change {
        field: field.to_string(),
        before: before.to_string(),
        after: after.to_string(),
    }
}

/// The Plan page: the choices, and the last plan if it still holds.
#[derive(Serialize)]
struct PlanPage {
    file: String,
    name: String,
    choice: Choice,
    /// Why the page cannot reach the API, when it cannot.
    api: Option<String>,
    #[serde(serialize_with = "super::view::shared")]
    plan: Option<Arc<Planned>>,
    /// The plan is of the file as it was: edits made since need a new one.
    stale: bool,
}

impl Page for PlanPage {
    fn title(&self, lang: Lang) -> String {
        format!("{} · {}", lang.t(W::StepPlan), self.name)
    }

    fn step(&self) -> Option<Step> {
        Some(Step::Plan)
    }

    fn job(&self) -> Option<&str> {
        Some(&self.file)
    }

    fn body(&self, lang: Lang) -> Markup {
        let choice = &self.choice;
        html! {
            h1 { (lang.t(W::StepPlan)) ": " (self.name) }
            @if let Some(why) = &self.api {
                p.failure role="alert" { (why) }
            }
            form #choice.busy method="post" action={ "/files/" (self.file) "/plan" } {
                label { (lang.t(W::Mode)) " "
                    select #mode name="mode" {
                        @for m in Mode::value_variants() {
                            option value=(m.as_str()) selected[*m == choice.mode] { (m.as_str()) }
                        }
                    }
                }
                " "
                label { (lang.t(W::MatchOn)) " "
                    input #match_on name="match_on" value=(choice.match_on) placeholder="siret,name+zipCode";
                }
                " "
                label { (lang.t(W::OnDuplicate)) " "
                    select #on_duplicate name="on_duplicate" {
                        @for d in OnDuplicate::value_variants() {
                            option value=(name(d)) selected[*d == choice.on_duplicate] { (name(d)) }
                        }
                    }
                }
                " "
                button type="submit" { (lang.t(W::MakePlan)) }
                p.help { (lang.t(W::PlanHelp)) }
            }
            @if let Some(plan) = &self.plan {
                @if self.stale {
                    p.failure role="alert" { (lang.t(W::PlanStale)) }
                }
                (plan_view(lang, &self.file, plan, self.stale))
            }
        }
    }
}

fn plan_view(lang: Lang, file: &str, plan: &Planned, stale: bool) -> Markup {
    html! {
        h2 { (lang.t(W::WhatWouldHappen)) }
        @for w in &plan.warnings {
            p.failure.warning role="alert" { (w) }
        }
        table #outcomes.counts {
            @for (outcome, n) in &plan.outcomes {
                tr { th { (outcome) } td id=(outcome) { (count(lang, *n)) } }
            }
        }
        @if plan.possible_duplicates > 0 {
            p { (count(lang, plan.possible_duplicates)) " " (lang.t(W::PossibleDuplicates)) }
        }
        pre.command { (plan.command) }
        @if !plan.updates.is_empty() {
            h2 { (lang.t(W::Updates)) }
            table #updates {
                thead { tr { th { (lang.t(W::Row)) } th { "id" } th { (lang.t(W::Field)) } th { (lang.t(W::Before)) } th { (lang.t(W::After)) } } }
                tbody {
                    @for u in &plan.updates {
                        @for (i, c) in u.changes.iter().enumerate() {
                            tr {
                                @if i == 0 {
                                    td rowspan=(u.changes.len()) { (u.row) }
                                    td rowspan=(u.changes.len()) { (u.id) }
                                }
                                td { (c.field) } td.before { (c.before) } td.after { (c.after) }
                            }
                        }
                    }
                }
            }
        }
        @if !plan.duplicates.is_empty() {
            h2 { (lang.t(W::LikelyDuplicates)) }
            table #duplicates {
                @for d in &plan.duplicates {
                    tr { td { (d.row) } td { (d.outcome) } td { (d.note) } }
                }
            }
        }
        @if !plan.invalid.is_empty() {
            h2 { (lang.t(W::NotSent)) }
            table #invalid-rows {
                @for d in &plan.invalid {
                    tr { td { (d.row) } td { (d.note) } }
                }
            }
        }
        @if !stale {
            form #send.busy method="post" action={ "/files/" (file) "/run" } {
                @if plan.deletes > 0 {
                    p { label {
                        input #confirm type="checkbox" name="confirm" value="yes" required;
                        " " (lang.t(W::ConfirmDelete)) " " (count(lang, plan.deletes))
                    } }
                }
                button type="submit" { (lang.t(W::Send)) }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct Asked {
    mode: String,
    #[serde(default)]
    match_on: String,
    on_duplicate: String,
}

/// `GET /files/ID/plan`.
pub async fn show(
    State(state): State<Shared>,
    Path(id): Path<String>,
    ask: Ask,
) -> Result<Response, Failure> {
    let job = state.job(&id).ok_or_else(Failure::not_found)?;
    let job = lock(&job);
    let page = PlanPage {
        file: job.id.clone(),
        name: job.name.clone(),
        choice: job.choice.clone(),
        api: state.api.as_ref().err().cloned(),
        stale: job.planned.as_ref().is_some_and(|p| !holds(p, &job)),
        plan: job.planned.clone(),
    };
    Ok(ask.page(&page))
}

/// Whether the plan is still of the file as it is.
pub fn holds(plan: &Planned, job: &Job) -> bool {
    plan.edits == job.edits && plan.choice == job.choice
}

/// `POST /files/ID/plan`: the choices kept, the file and mapping written as the run will send
/// them, and the import engine's plan of them.
pub async fn make(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Form(asked): Form<Asked>,
) -> Result<Response, Failure> {
    let api = state.api.clone().map_err(Failure::failed)?;
    let job = state.job(&id).ok_or_else(Failure::not_found)?;
    let choice = Choice {
        mode: Mode::from_str(&asked.mode, true).map_err(Failure::bad)?,
        match_on: asked.match_on.trim().to_string(),
        on_duplicate: OnDuplicate::from_str(&asked.on_duplicate, true).map_err(Failure::bad)?,
    };
    let (snapshot, edits) = {
        let mut job = lock(&job);
        job.choice = choice.clone();
        (job.snapshot(), job.edits.clone())
    };
    let work = state.work.clone();
    let (sent, plan) = {
        let (choice, api) = (choice.clone(), api.clone());
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let sent = Sent::write(&snapshot, &work)?;
            let plan = import::Plan::new(choice.options(&sent, &api, true, false))?;
            Ok((sent, plan))
        })
        .await
        .map_err(Failure::failed)?
        .map_err(|e| Failure::bad(format!("{e:#}")))?
    };
    let client = api.client.renewed();
    let heard = Arc::new(Tally::default());
    let session = crate::apply::Session {
        stop: Arc::new(crate::apply::Stop::new(client.throttle.gate.clone())),
        progress: Progress::hidden().with_events(heard.clone()),
    };
    let plan = plan.with_writes(api.writes.clone());
    let report = super::task::drive_heard(heard.clone(), move || async move {
        import::run(plan, Some(&client), session).await
    })
    .await
    .map_err(Failure::failed)?
    .map_err(|e| Failure::failed(format!("{e:#}")))?;
    let mut planned = Planned {
        command: sent.command(&format!("{} --plan", choice.flags())),
        choice,
        outcomes: report
            .summary
            .outcomes
            .iter()
            .map(|(o, n)| (o.to_string(), *n))
            .collect(),
        possible_duplicates: report.summary.similar.possible_duplicates,
        // The rows the run's confirmation counts, as the command's does: found or not.
        deletes: ["would-delete", "not-found"]
            .iter()
            .filter_map(|o| report.summary.outcomes.get(o))
            .sum(),
        updates: Vec::new(),
        duplicates: Vec::new(),
        invalid: Vec::new(),
        warnings: heard.reading().warnings,
        edits,
        sent,
        used: Default::default(),
    };
    let results = std::path::PathBuf::from(&report.summary.results);
    tokio::task::spawn_blocking(move || planned.read(&results).map(|()| planned))
        .await
        .map_err(Failure::failed)?
        .map(|planned| lock(&job).set_plan(Some(Arc::new(planned))))
        .map_err(|e| Failure::failed(format!("{e:#}")))?;
    Ok(Redirect::to(&format!("/files/{id}/plan")).into_response())
}
