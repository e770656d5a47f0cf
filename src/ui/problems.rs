//! Step 3, Problems: the summary by field, then the rows with errors or warnings in a grid,
//! fifty to a page, read from the check's spool; each problem cell carries its message. A cell
//! edited is kept in the job's overlay and its row checked again at once, alone (the checks
//! across rows wait for "check the whole file again"). The fixed file and the annotated
//! workbook apply the overlay as they are written.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Json, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::{Deserialize, Serialize};

use super::check::{self, Check};
use super::fixed;
use super::i18n::{Lang, W};
use super::job::{lock, Rechecked};
use super::layout::{self, Step};
use super::server::Shared;
use super::spool::Line;
use super::view::{Ask, Failure, Page};
use crate::validate::{Problem, Severity};

/// Rows of the grid per page.
pub const PER_PAGE: usize = 50;

#[derive(Serialize)]
struct Problems {
    id: String,
    name: String,
    location: String,
    summary: Summary,
    rows_with_problems: usize,
    /// From 1.
    page: usize,
    pages: usize,
    per_page: usize,
    columns: Vec<GridColumn>,
    rows: Vec<GridRow>,
    edited_cells: usize,
    took_ms: u128,
    /// Why the file could not be checked.
    error: Option<String>,
}

#[derive(Serialize, Clone, Default)]
struct Summary {
    rows: u64,
    valid: u64,
    invalid: u64,
    blank_rows: u64,
    errors: u64,
    warnings: u64,
    by_field: Vec<FieldCount>,
}

#[derive(Serialize, Clone)]
struct FieldCount {
    field: &'static str,
    errors: u64,
    warnings: u64,
}

#[derive(Serialize)]
struct GridColumn {
    letter: String,
    header: String,
    field: Option<&'static str>,
}

#[derive(Serialize)]
struct GridRow {
    row: u32,
    cells: Vec<GridCell>,
    /// Problems of the whole row (no column).
    row_problems: Vec<Mark>,
    edited: bool,
    /// Edited, and no problem left.
    fixed: bool,
}

#[derive(Serialize)]
struct GridCell {
    value: String,
    problems: Vec<Mark>,
}

#[derive(Serialize)]
struct Mark {
    severity: Severity,
    message: String,
    /// Found across rows by the last whole check, not checked again since the row's edit.
    across: bool,
}

impl Summary {
    fn of(check: &Check) -> Summary {
        let c = check.counts;
        Summary {
            rows: c.rows,
            valid: c.valid,
            invalid: c.invalid,
            blank_rows: c.blank_rows,
            errors: c.errors,
            warnings: c.warnings,
            by_field: check
                .by_field
                .iter()
                .map(|&(field, errors, warnings)| FieldCount {
                    field,
                    errors,
                    warnings,
                })
                .collect(),
        }
    }

    /// Counts `problems` in (`sign` 1) or out (-1).
    fn count(&mut self, problems: &[Problem], sign: i64) {
        let add = |n: &mut u64| *n = n.saturating_add_signed(sign);
        if problems.iter().any(|p| p.severity == Severity::Error) {
            add(&mut self.invalid);
            self.valid = self.valid.saturating_add_signed(-sign);
        }
        for p in problems {
            let at = match self.by_field.iter().position(|f| f.field == p.field) {
                Some(i) => i,
                None => {
                    self.by_field.push(FieldCount {
                        field: p.field,
                        errors: 0,
                        warnings: 0,
                    });
                    self.by_field.len() - 1
                }
            };
            let f = &mut self.by_field[at];
            match p.severity {
                Severity::Error => {
                    add(&mut f.errors);
                    add(&mut self.errors);
                }
                Severity::Warning => {
                    add(&mut f.warnings);
                    add(&mut self.warnings);
                }
            }
        }
    }

    /// The pass's counts with the rows edited since counted as they are now.
    fn now(check: &Check, rechecked: &std::collections::BTreeMap<u32, Rechecked>) -> Summary {
        let mut s = Summary::of(check);
        for r in rechecked.values() {
            s.count(&r.before, -1);
            s.count(&r.problems, 1);
        }
        s.by_field.retain(|f| f.errors + f.warnings > 0);
        s
    }
}

/// A row of the grid from its cells and problems (the first `alone` of the row alone).
fn grid_row(
    letters: &[String],
    row: u32,
    cells: &[String],
    problems: &[Problem],
    alone: usize,
    edited: bool,
) -> GridRow {
    let width = letters.len().max(cells.len());
    let mut out = GridRow {
        row,
        cells: (0..width)
            .map(|i| GridCell {
                value: cells.get(i).cloned().unwrap_or_default(),
                problems: Vec::new(),
            })
            .collect(),
        row_problems: Vec::new(),
        edited,
        fixed: edited && problems.is_empty(),
    };
    for (i, p) in problems.iter().enumerate() {
        let mark = Mark {
            severity: p.severity,
            message: p.message.clone(),
            across: edited && i >= alone,
        };
        match letters.iter().position(|l| *l == p.column) {
            Some(c) if !p.column.is_empty() => out.cells[c].problems.push(mark),
            _ => out.row_problems.push(mark),
        }
    }
    out
}

fn severity_class(marks: &[Mark]) -> Option<&'static str> {
    if marks.iter().any(|m| m.severity == Severity::Error) {
        Some("error")
    } else if !marks.is_empty() {
        Some("warning")
    } else {
        None
    }
}

fn render_row(lang: Lang, id: &str, r: &GridRow, columns: &[GridColumn]) -> Markup {
    html! {
        tr #{ "row-" (r.row) } .fixed[r.fixed] {
            td.rownum {
                (r.row)
                @if r.fixed { span.badge.ok { "✓ " (lang.t(W::Fixed)) } }
                @else if r.edited { span.badge.edited { (lang.t(W::Edited)) } }
                @for m in &r.row_problems { span.msg.(sev(m)) { (m.message) } }
            }
            @for (c, cell) in r.cells.iter().enumerate() {
                td class=[severity_class(&cell.problems)] {
                    @let label = columns.get(c).map_or(String::new(), |col| format!("{} {}, {} {} ({})", lang.t(W::Row), r.row, lang.t(W::Column), col.letter, col.header));
                    input.cell type="text" name="value" value=(cell.value) aria-label=(label)
                        hx-post={ "/files/" (id) "/rows/" (r.row) "/cells/" (c) }
                        hx-trigger="change" hx-target="closest tr" hx-swap="outerHTML";
                    @for m in &cell.problems {
                        span.msg.across[m.across] title=[m.across.then(|| lang.t(W::AcrossMark))] { (m.message) }
                    }
                }
            }
        }
    }
}

fn sev(m: &Mark) -> &'static str {
    match m.severity {
        Severity::Error => "err-text",
        Severity::Warning => "warn-text",
    }
}

fn render_summary(lang: Lang, s: &Summary, oob: bool) -> Markup {
    html! {
        section #summary hx-swap-oob=[oob.then_some("true")] {
            div.cards {
                div.card { b { (layout::count(lang, s.rows)) } span { (lang.t(W::Rows)) } }
                div.card.valid { b #valid { (layout::count(lang, s.valid)) } span { (lang.t(W::Valid)) } }
                div.card.error { b #invalid { (layout::count(lang, s.invalid)) } span { (lang.t(W::WithErrors)) } }
                div.card.warning { b #warnings { (layout::count(lang, s.warnings)) } span { (lang.t(W::Warnings)) } }
                @if s.blank_rows > 0 {
                    div.card { b { (layout::count(lang, s.blank_rows)) } span { (lang.t(W::BlankRows)) } }
                }
            }
            @if s.by_field.is_empty() {
                p.good { (lang.t(W::NoProblems)) }
            } @else {
                table.by-field aria-label=(lang.t(W::ByField)) {
                    thead { tr { th { (lang.t(W::ByField)) } th { (lang.t(W::Errors)) } th { (lang.t(W::Warnings)) } } }
                    tbody {
                        @for f in &s.by_field {
                            tr {
                                td { @if f.field.is_empty() { (lang.t(W::RowLevel)) } @else { code { (f.field) } } }
                                td.num.err-text { @if f.errors > 0 { (layout::count(lang, f.errors)) } }
                                td.num.warn-text { @if f.warnings > 0 { (layout::count(lang, f.warnings)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

impl Page for Problems {
    fn title(&self, lang: Lang) -> String {
        format!("{} · {}", lang.t(W::StepProblems), self.name)
    }

    fn step(&self) -> Option<Step> {
        Some(Step::Problems)
    }

    fn job(&self) -> Option<&str> {
        Some(&self.id)
    }

    fn body(&self, lang: Lang) -> Markup {
        let id = &self.id;
        let page_link = |p: usize| format!("/files/{id}/problems?page={p}");
        html! {
            h1 { (lang.t(W::StepProblems)) }
            p.lead {
                (self.location)
                @if self.error.is_none() {
                    " · " (layout::count(lang, self.summary.rows)) " " (lang.t(W::Rows)) " "
                    (lang.t(W::CheckedIn)) " " (format!("{:.2} s", self.took_ms as f64 / 1000.0))
                }
            }
            @if let Some(e) = &self.error {
                p.failure role="alert" { (e) }
                p { a href={ "/files/" (id) "/columns" } { "← " (lang.t(W::StepColumns)) } }
            } @else {
                (render_summary(lang, &self.summary, false))
                div.actions {
                    a.button href={ "/files/" (id) "/fixed" } download { (lang.t(W::DownloadFixed)) }
                    a.button.quiet href={ "/files/" (id) "/annotated" } download { (lang.t(W::DownloadAnnotated)) }
                    form.busy method="post" action={ "/files/" (id) "/check" } {
                        button.quiet type="submit" { (lang.t(W::CheckAgain)) }
                    }
                    @if self.edited_cells > 0 {
                        span.muted #edited-count { (self.edited_cells) " " (lang.t(W::EditsCount)) }
                    }
                }
                p.muted { (lang.t(W::DownloadsHelp)) }
                @if self.rows_with_problems > 0 {
                    h2 { (lang.t(W::Grid)) " (" (layout::count(lang, self.rows_with_problems as u64)) ")" }
                    p.muted { (lang.t(W::GridHelp)) " " (lang.t(W::AcrossNote)) }
                    (self.pager(lang, &page_link))
                    div.grid-wrap {
                        table.grid #grid {
                            thead { tr {
                                th { (lang.t(W::Row)) }
                                @for c in &self.columns {
                                    th { (c.letter) " · " (c.header)
                                        @if let Some(f) = c.field { small { (f) } } }
                                }
                            } }
                            tbody {
                                @for r in &self.rows { (render_row(lang, id, r, &self.columns)) }
                            }
                        }
                    }
                    (self.pager(lang, &page_link))
                }
                div.actions { a.button.quiet href="/plan" { (lang.t(W::NextPlan)) " →" } }
            }
        }
    }
}

impl Problems {
    fn pager(&self, lang: Lang, link: &dyn Fn(usize) -> String) -> Markup {
        html! {
            @if self.pages > 1 {
                nav.pager aria-label=(lang.t(W::Page)) {
                    @if self.page > 1 { a href=(link(self.page - 1)) rel="prev" { "← " (lang.t(W::Previous)) } }
                    span { (lang.t(W::Page)) " " (self.page) " " (lang.t(W::Of)) " " (self.pages) }
                    @if self.page < self.pages { a href=(link(self.page + 1)) rel="next" { (lang.t(W::Next)) " →" } }
                }
            }
        }
    }
}

/// The job's check, made now if the choices changed since the last one.
async fn ensure_check(state: &Shared, id: &str) -> Result<Result<Arc<Check>, String>, Failure> {
    let job = state.job(id).ok_or_else(Failure::not_found)?;
    let snapshot = {
        let job = lock(&job);
        if let Some(check) = &job.check {
            return Ok(Ok(check.clone()));
        }
        job.snapshot()
    };
    let folder = state.folder.clone();
    let made = tokio::task::spawn_blocking(move || check::run(&snapshot, &folder))
        .await
        .map_err(Failure::failed)?;
    match made {
        Ok(check) => {
            let check = Arc::new(check);
            let mut job = lock(&job);
            job.check = Some(check.clone());
            job.rechecked.clear();
            Ok(Ok(check))
        }
        Err(e) => Ok(Err(format!("{e:#}"))),
    }
}

#[derive(Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    page: Option<usize>,
}

/// `GET /files/ID/problems?page=N`.
pub async fn show(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
    ask: Ask,
) -> Result<Response, Failure> {
    let check = ensure_check(&state, &id).await?;
    let job = state.job(&id).ok_or_else(Failure::not_found)?;
    let view = tokio::task::spawn_blocking(move || -> Result<Problems, Failure> {
        let job = lock(&job);
        let mut view = Problems {
            id: job.id.clone(),
            name: job.name.clone(),
            location: job.name.clone(),
            summary: Summary::default(),
            rows_with_problems: 0,
            page: 1,
            pages: 1,
            per_page: PER_PAGE,
            columns: Vec::new(),
            rows: Vec::new(),
            edited_cells: job.edits.values().map(|c| c.len()).sum(),
            took_ms: 0,
            error: None,
        };
        let check = match check {
            Ok(check) => check,
            Err(e) => {
                view.error = Some(e);
                return Ok(view);
            }
        };
        let total = check.spool.len();
        view.pages = total.div_ceil(PER_PAGE).max(1);
        view.page = q.page.unwrap_or(1).clamp(1, view.pages);
        let lines = check
            .spool
            .lines((view.page - 1) * PER_PAGE, PER_PAGE)
            .map_err(Failure::failed)?;
        view.rows = lines
            .iter()
            .map(|line| row_now(&check, &job.rechecked, line))
            .collect();
        view.location = check.location.clone();
        view.summary = Summary::now(&check, &job.rechecked);
        view.rows_with_problems = total;
        view.took_ms = check.took.as_millis();
        view.columns = check
            .letters
            .iter()
            .zip(&check.headers)
            .zip(&check.fields)
            .map(|((letter, header), field)| GridColumn {
                letter: letter.clone(),
                header: header.clone(),
                field: *field,
            })
            .collect();
        Ok(view)
    })
    .await
    .map_err(Failure::failed)??;
    Ok(ask.page(&view))
}

/// A spooled row as it is now: as edited and checked again, if it was.
fn row_now(
    check: &Check,
    rechecked: &std::collections::BTreeMap<u32, Rechecked>,
    line: &Line,
) -> GridRow {
    match rechecked.get(&line.row) {
        Some(r) => grid_row(
            &check.letters,
            line.row,
            &r.cells,
            &r.problems,
            r.alone,
            true,
        ),
        None => grid_row(
            &check.letters,
            line.row,
            &line.cells,
            &line.problems,
            line.alone,
            false,
        ),
    }
}

/// `POST /files/ID/check`: check the whole file again, edits included.
pub async fn check_again(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    {
        let job = state.job(&id).ok_or_else(Failure::not_found)?;
        lock(&job).check = None;
    }
    // A check that fails says why on the page it leads to.
    let _ = ensure_check(&state, &id).await?;
    Ok(Redirect::to(&format!("/files/{id}/problems")).into_response())
}

#[derive(Deserialize)]
pub struct Edit {
    value: String,
}

/// `POST /files/ID/rows/ROW/cells/COL`: a cell edited in the grid; its row is checked again
/// alone. Answers htmx with the row and the summary, scripts with JSON.
pub async fn edit(
    State(state): State<Shared>,
    Path((id, row, col)): Path<(String, u32, usize)>,
    ask: Ask,
    Form(edit): Form<Edit>,
) -> Result<Response, Failure> {
    let job = state.job(&id).ok_or_else(Failure::not_found)?;
    let (grid, summary, columns) = tokio::task::spawn_blocking(move || {
        let mut job = lock(&job);
        let check = job
            .check
            .clone()
            .ok_or_else(|| Failure::bad("the file has not been checked yet"))?;
        if col >= check.headers.len() {
            return Err(Failure::not_found());
        }
        let line = check
            .spool
            .find(row)
            .map_err(Failure::failed)?
            .ok_or_else(|| Failure::bad(format!("row {row} has no problem to fix here")))?;
        let mut cells = match job.rechecked.get(&row) {
            Some(r) => r.cells.clone(),
            None => line.cells.clone(),
        };
        if cells.len() <= col {
            cells.resize(col + 1, String::new());
        }
        cells[col] = edit.value.clone();
        let mut problems = check.recheck(row, &cells);
        let alone = problems.len();
        problems.extend_from_slice(&line.problems[line.alone.min(line.problems.len())..]);
        job.edits.entry(row).or_default().insert(col, edit.value);
        let rechecked = Rechecked {
            cells,
            problems,
            alone,
            before: line.problems.clone(),
        };
        let grid = grid_row(
            &check.letters,
            row,
            &rechecked.cells,
            &rechecked.problems,
            alone,
            true,
        );
        job.rechecked.insert(row, rechecked);
        let summary = Summary::now(&check, &job.rechecked);
        let columns: Vec<GridColumn> = check
            .letters
            .iter()
            .zip(&check.headers)
            .map(|(l, h)| GridColumn {
                letter: l.clone(),
                header: h.clone(),
                field: None,
            })
            .collect();
        Ok((grid, summary, columns))
    })
    .await
    .map_err(Failure::failed)??;
    if ask.json {
        return Ok(Json(serde_json::json!({"row": grid, "summary": summary})).into_response());
    }
    if ask.htmx {
        let lang = ask.lang;
        // The summary goes out of band, in a template: outside one, a browser's parser would
        // move a section out of the table context the row is parsed in.
        let fragment = html! {
            (render_row(lang, &id, &grid, &columns))
            template { (render_summary(lang, &summary, true)) }
        };
        return Ok(Html(fragment.into_string()).into_response());
    }
    Ok(Redirect::to(&format!("/files/{id}/problems")).into_response())
}

/// `GET /files/ID/fixed`: the upload with the edits, streamed.
pub async fn download_fixed(state: State<Shared>, id: Path<String>) -> Result<Response, Failure> {
    download(state, id, "fixed", fixed::write_fixed).await
}

/// `GET /files/ID/annotated`: the annotated workbook, edits applied, checked whole.
pub async fn download_annotated(
    state: State<Shared>,
    id: Path<String>,
) -> Result<Response, Failure> {
    download(state, id, "annotated", fixed::write_annotated).await
}

/// Writes a download of the job with `write` (away from the server's threads), then streams
/// it as `NAME.WHAT.EXT`.
async fn download(
    State(state): State<Shared>,
    Path(id): Path<String>,
    what: &str,
    write: fn(
        &super::job::Snapshot,
        &std::path::Path,
    ) -> anyhow::Result<(std::path::PathBuf, fixed::Written)>,
) -> Result<Response, Failure> {
    let job = state.job(&id).ok_or_else(Failure::not_found)?;
    let snapshot = lock(&job).snapshot();
    let folder = state.folder.clone();
    let name = snapshot.name.clone();
    let (path, written) = tokio::task::spawn_blocking(move || write(&snapshot, &folder))
        .await
        .map_err(Failure::failed)?
        .map_err(|e| Failure::failed(format!("{e:#}")))?;
    let name = fixed::download_name(&name, what, written.extension());
    fixed::send(&path, &name, written.content_type())
        .await
        .map_err(Failure::failed)
}
