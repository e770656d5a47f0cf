//! Step 1, File: a list is dropped (or chosen) and read as the commands read it; the page
//! shows what the reader found (format, sheet, header row, a CSV's encoding and delimiter)
//! and lets a person choose otherwise.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::{Deserialize, Serialize};

use super::i18n::{Lang, W};
use super::job::lock;
use super::layout::{self, Step};
use super::server::Shared;
use super::view::{Ask, Failure, Page};

/// Encodings offered for a CSV, besides the one read: the code pages our users' files come in.
const ENCODINGS: &[&str] = &[
    "UTF-8",
    "UTF-16LE",
    "UTF-16BE",
    "windows-1252",
    "ISO-8859-15",
    "windows-1250",
    "windows-1256",
    "ISO-8859-6",
    "macintosh",
];

/// Delimiters offered for a CSV: (value, as shown).
const DELIMITERS: &[(&str, &str)] = &[(",", ","), (";", ";"), ("tab", "tab"), ("|", "|")];

/// What the file input accepts: every kind `read` reads.
const ACCEPT: &str = ".csv,.tsv,.txt,.xlsx,.xlsm,.xlsb,.xls,.ods,.json,.ndjson,.jsonl";

#[derive(Serialize)]
struct Home {
    files: Vec<Listed>,
    max_upload_mb: u64,
}

#[derive(Serialize)]
struct Listed {
    id: String,
    name: String,
    size: u64,
}

impl Page for Home {
    fn title(&self, lang: Lang) -> String {
        lang.t(W::StepFile).to_string()
    }

    fn step(&self) -> Option<Step> {
        Some(Step::File)
    }

    fn job(&self) -> Option<&str> {
        None
    }

    fn body(&self, lang: Lang) -> Markup {
        html! {
            h1 { (lang.t(W::StepFile)) }
            p.lead { (lang.t(W::Tagline)) }
            form.busy method="post" action="/files" enctype="multipart/form-data" {
                label.drop for="file" {
                    strong { (lang.t(W::Drop)) }
                    input #file type="file" name="file" accept=(ACCEPT) required;
                    small { (lang.t(W::DropKinds)) " " (self.max_upload_mb) " MB." }
                }
                div.actions { button type="submit" { (lang.t(W::Upload)) } }
            }
            @if !self.files.is_empty() {
                h2 { (lang.t(W::Uploaded)) }
                ul {
                    @for f in &self.files {
                        li {
                            a href={ "/files/" (f.id) } { (f.name) }
                            " " span.muted { "(" (layout::bytes(f.size)) ")" }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /`: the drop zone, and the files opened so far.
pub async fn home(State(state): State<Shared>, ask: Ask) -> Response {
    let files = state
        .jobs
        .list()
        .into_iter()
        .map(|(id, name, size)| Listed { id, name, size })
        .collect();
    ask.page(&Home {
        files,
        max_upload_mb: state.max_upload >> 20,
    })
}

/// What the reader made of a file.
#[derive(Serialize)]
struct Reading {
    id: String,
    name: String,
    size: u64,
    format: Option<&'static str>,
    sheets: Vec<String>,
    sheet: Option<String>,
    header_row: Option<u32>,
    title_rows_skipped: u32,
    /// As read (detected or asked).
    encoding: Option<&'static str>,
    delimiter: Option<String>,
    /// As asked; `None` is detected.
    asked: Asked,
    headers: Vec<String>,
    notes: Vec<String>,
    /// Why it could not be read as asked.
    error: Option<String>,
}

#[derive(Serialize, Deserialize, Default)]
pub struct Asked {
    #[serde(default)]
    sheet: String,
    #[serde(default)]
    header_row: String,
    #[serde(default)]
    encoding: String,
    #[serde(default)]
    delimiter: String,
}

impl Page for Reading {
    fn title(&self, _: Lang) -> String {
        self.name.clone()
    }

    fn step(&self) -> Option<Step> {
        Some(Step::File)
    }

    fn job(&self) -> Option<&str> {
        Some(&self.id)
    }

    fn body(&self, lang: Lang) -> Markup {
        let csv = self.format == Some("CSV");
        let workbook = !self.sheets.is_empty();
        html! {
            h1 { (self.name) }
            dl.facts {
                dt { (lang.t(W::Size)) } dd { (layout::bytes(self.size)) }
                @if let Some(f) = self.format { dt { (lang.t(W::Format)) } dd #format { (f) } }
                @if let Some(s) = &self.sheet { dt { (lang.t(W::Sheet)) } dd { (s) } }
                @if let Some(h) = self.header_row.filter(|h| *h > 0) {
                    dt { (lang.t(W::HeaderRow)) }
                    dd { (h)
                        @if self.title_rows_skipped > 0 {
                            span.muted { " (" (self.title_rows_skipped) " " (lang.t(W::TitleRowsSkipped)) ")" }
                        }
                    }
                }
                @if let Some(e) = self.encoding { dt { (lang.t(W::Encoding)) } dd #encoding { (e) } }
                @if let Some(d) = &self.delimiter { dt { (lang.t(W::Delimiter)) } dd #delimiter { (d) } }
                @if !self.headers.is_empty() {
                    dt { (lang.t(W::Headers)) }
                    dd.samples #headers {
                        @for h in &self.headers { span title=(h) { (h) } }
                    }
                }
            }
            @if let Some(e) = &self.error { p.failure role="alert" { (e) } }
            @if !self.notes.is_empty() {
                div.notes {
                    strong { (lang.t(W::Notes)) }
                    ul { @for n in &self.notes { li { (n) } } }
                }
            }
            form.reading.busy method="post" action={ "/files/" (self.id) } {
                @if workbook {
                    label { (lang.t(W::Sheet))
                        select name="sheet" {
                            @for s in &self.sheets {
                                option value=(s) selected[self.sheet.as_deref() == Some(s.as_str())] { (s) }
                            }
                        }
                    }
                }
                label { (lang.t(W::HeaderRow))
                    input type="number" name="header_row" min="1" placeholder=(lang.t(W::Automatic))
                        value=(self.asked.header_row) size="6";
                }
                @if csv || self.error.is_some() {
                    label { (lang.t(W::Encoding))
                        select name="encoding" {
                            option value="" selected[self.asked.encoding.is_empty()] {
                                (lang.t(W::Detected))
                                @if let Some(e) = self.encoding { " (" (e) ")" }
                            }
                            @for e in ENCODINGS {
                                option value=(e) selected[self.asked.encoding == *e] { (e) }
                            }
                        }
                    }
                    label { (lang.t(W::Delimiter))
                        select name="delimiter" {
                            option value="" selected[self.asked.delimiter.is_empty()] {
                                (lang.t(W::Detected))
                                @if let Some(d) = &self.delimiter { " (" (d) ")" }
                            }
                            @for (value, shown) in DELIMITERS {
                                option value=(value) selected[self.asked.delimiter == *value] { (shown) }
                            }
                        }
                    }
                }
                button.quiet type="submit" { (lang.t(W::ReadAgain)) }
            }
            @if self.error.is_none() {
                div.actions {
                    a.button href={ "/files/" (self.id) "/columns" } { (lang.t(W::NextColumns)) " →" }
                }
            }
        }
    }
}

/// `GET /files/ID`: what the reader made of the file.
pub async fn show(
    State(state): State<Shared>,
    Path(id): Path<String>,
    ask: Ask,
) -> Result<Response, Failure> {
    let job = state.job(&id).ok_or_else(Failure::not_found)?;
    let reading = tokio::task::spawn_blocking(move || {
        let job = lock(&job);
        let asked = Asked {
            sheet: job.read.sheet.clone().unwrap_or_default(),
            header_row: job
                .read
                .header_row
                .map(|h| h.to_string())
                .unwrap_or_default(),
            encoding: job.read.encoding.clone().unwrap_or_default(),
            delimiter: match job.read.delimiter {
                Some(b'\t') => "tab".into(),
                Some(d) => char::from(d).to_string(),
                None => String::new(),
            },
        };
        let mut reading = Reading {
            id: job.id.clone(),
            name: job.name.clone(),
            size: job.size,
            format: None,
            sheets: Vec::new(),
            sheet: None,
            header_row: None,
            title_rows_skipped: 0,
            encoding: None,
            delimiter: None,
            asked,
            headers: Vec::new(),
            notes: Vec::new(),
            error: None,
        };
        match job.open() {
            Ok(table) => {
                reading.format = Some(table.format.name());
                reading.sheets = table.sheet_names().to_vec();
                reading.sheet = table.sheet.clone();
                reading.header_row = Some(table.header_row);
                reading.title_rows_skipped = table.title_rows_skipped;
                reading.encoding = table.encoding;
                reading.delimiter = table.delimiter.map(|d| match d {
                    b'\t' => "tab".to_string(),
                    d => char::from(d).to_string(),
                });
                reading.headers = table.headers.clone();
                reading.notes = table.notes.iter().map(|n| job.say(n)).collect();
            }
            Err(e) => reading.error = Some(job.say(e)),
        }
        reading
    })
    .await
    .map_err(Failure::failed)?;
    Ok(ask.page(&reading))
}

/// `POST /files/ID`: read it another way (sheet, header row, encoding, delimiter).
pub async fn reread(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Form(asked): Form<Asked>,
) -> Result<Response, Failure> {
    let job = state.job(&id).ok_or_else(Failure::not_found)?;
    let header_row = match asked.header_row.trim() {
        "" => None,
        n => Some(
            n.parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| Failure::bad(format!("{n:?} is not a row number (1, 2, ...)")))?,
        ),
    };
    let encoding = match asked.encoding.trim() {
        "" => None,
        e if encoding_rs::Encoding::for_label(e.as_bytes()).is_some() => Some(e.to_string()),
        e => return Err(Failure::bad(format!("{e:?} is not an encoding"))),
    };
    let delimiter = match asked.delimiter.as_str() {
        "" => None,
        "tab" => Some(b'\t'),
        d if DELIMITERS.iter().any(|(v, _)| *v == d) => Some(d.as_bytes()[0]),
        d => return Err(Failure::bad(format!("{d:?} is not a delimiter"))),
    };
    let sheet = Some(asked.sheet).filter(|s| !s.is_empty());
    {
        let mut job = lock(&job);
        job.read.sheet = sheet;
        job.read.header_row = header_row;
        job.read.encoding = encoding;
        job.read.delimiter = delimiter;
        job.reading_changed();
    }
    Ok(Redirect::to(&format!("/files/{id}")).into_response())
}
