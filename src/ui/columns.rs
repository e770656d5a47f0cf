//! Step 2, Columns: every column with its header, three sample values and its field, chosen
//! from the schema's fields ([`crate::schema::FIELDS`], never a second list); automatic
//! choices marked. The choices are kept as a mapping file ([`MapFile`]): what the page saves
//! is the file `--map` reads, written by the same writer as `custbulk mapping --write`, and
//! what it loads is parsed by the same parser.

use axum::extract::{Multipart, Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::{Deserialize, Serialize};

use super::i18n::{Lang, W};
use super::job::{lock, Job};
use super::layout::Step;
use super::server::Shared;
use super::view::{Ask, Failure, Page};
use crate::mapping::transform::{Split, Template};
use crate::mapping::{self, Ignored, MapFile, Mapping, Target};
use crate::schema::{Kind, CONTACT_KEYS, FIELDS};
use crate::validate::sample::Samples;

/// Sample values shown per column.
const SAMPLES: usize = 3;

/// The largest mapping file loaded: mapping files are a few hundred lines.
const MAX_MAPPING_BYTES: usize = 1 << 20;

#[derive(Serialize)]
struct Columns {
    id: String,
    name: String,
    location: String,
    header_row: u32,
    columns: Vec<ColumnView>,
    transforms: Vec<TransformView>,
    /// The fields a column may feed, from the schema.
    fields: Vec<FieldChoice>,
    /// Contact groups offered (`contact1` .. `contactN`).
    contacts: u16,
    /// Why the mapping cannot be used as it is.
    error: Option<String>,
    missing_from_sheet: Vec<String>,
    /// `[defaults]` of a loaded mapping file: (field, text).
    defaults: Vec<(String, String)>,
}

#[derive(Serialize)]
struct ColumnView {
    index: usize,
    letter: String,
    header: String,
    samples: Vec<String>,
    /// As a mapping file writes it: `name`, `id`, `contact2.email`, `ignore`; `""` when nothing
    /// matched.
    target: String,
    /// The field's type, when it feeds one.
    kind: Option<&'static str>,
    /// Chosen by the automatic match (not by the mapping file or the page).
    automatic: bool,
    /// The transform that reads it.
    read_by: Option<String>,
    /// A column custbulk recognises and never imports: `results` (its results columns),
    /// `action` (`_action`).
    reserved: Option<&'static str>,
}

#[derive(Serialize)]
struct FieldChoice {
    name: &'static str,
    kind: &'static str,
    #[serde(skip)]
    word: W,
    help: &'static str,
}

#[derive(Serialize)]
struct TransformView {
    /// Its place, for removing it.
    index: usize,
    /// As the mapping file writes it.
    written: String,
    fields: Vec<&'static str>,
    /// What it makes of the first row that has cells for it.
    sample: Option<Vec<String>>,
    sample_error: Option<String>,
}

fn kind_word(kind: Kind) -> W {
    match kind {
        Kind::Text => W::KindText,
        Kind::Integer => W::KindInteger,
        Kind::Boolean => W::KindBoolean,
        Kind::Contacts => W::KindContacts,
    }
}

impl Page for Columns {
    fn title(&self, lang: Lang) -> String {
        format!("{} · {}", lang.t(W::StepColumns), self.name)
    }

    fn step(&self) -> Option<Step> {
        Some(Step::Columns)
    }

    fn job(&self) -> Option<&str> {
        Some(&self.id)
    }

    fn body(&self, lang: Lang) -> Markup {
        let id = &self.id;
        html! {
            h1 { (lang.t(W::StepColumns)) }
            p.lead { (self.location) }
            @if let Some(e) = &self.error { p.failure role="alert" #mapping-error { (e) } }
            @if !self.missing_from_sheet.is_empty() {
                p.notes { (lang.t(W::MissingColumns)) ": " (self.missing_from_sheet.join(", ")) }
            }
            form.busy #columns method="post" action={ "/files/" (id) "/columns" } {
                table.columns {
                    thead { tr {
                        th.letter { (lang.t(W::Column)) }
                        th { (lang.t(W::Header)) }
                        th { (lang.t(W::Samples)) }
                        th { (lang.t(W::Field)) }
                    } }
                    tbody {
                        @for c in &self.columns {
                            tr #{ "col-" (c.index) } {
                                td.letter { (c.letter) }
                                td { label for={ "c" (c.index) } { (c.header) } }
                                td.samples { @for s in &c.samples { span title=(s) { (s) } } }
                                td { (self.field_cell(lang, c)) }
                            }
                        }
                    }
                }
                div.actions {
                    button type="submit" { (lang.t(W::CheckColumns)) " →" }
                }
            }
            h2 { (lang.t(W::Transforms)) }
            p.muted { (lang.t(W::TransformsHelp)) }
            @if !self.transforms.is_empty() {
                ul.transforms {
                    @for t in &self.transforms {
                        li {
                            code { (t.written) }
                            @if let Some(values) = &t.sample {
                                br; span.muted { (lang.t(W::MakesOfFirstRow)) ": " }
                                @for (f, v) in t.fields.iter().zip(values) { code { (f) " = " (v) } " " }
                            }
                            @if let Some(e) = &t.sample_error { br; span.err-text { (e) } }
                            form.inline method="post" action={ "/files/" (id) "/transforms/remove" } {
                                input type="hidden" name="index" value=(t.index);
                                button.quiet type="submit" { (lang.t(W::Remove)) }
                            }
                        }
                    }
                }
            }
            form.add-transform method="post" action={ "/files/" (id) "/transforms" } {
                input type="hidden" name="kind" value="fields";
                label { (lang.t(W::Field)) " "
                    select name="field" {
                        @for f in self.fields.iter().filter(|f| f.kind != Kind::Contacts.name()) {
                            option value=(f.name) { (f.name) }
                        }
                    }
                }
                label { (lang.t(W::Template)) " "
                    input type="text" name="template" placeholder="{Prénom du gérant} {Nom du gérant}" required;
                }
                button.quiet type="submit" { (lang.t(W::AddTemplate)) }
            }
            form.add-transform method="post" action={ "/files/" (id) "/transforms" } {
                input type="hidden" name="kind" value="split";
                label { (lang.t(W::Column)) " "
                    select name="column" {
                        @for c in &self.columns { option value=(c.index) { (c.letter) " · " (c.header) } }
                    }
                }
                label { (lang.t(W::Pattern)) " "
                    input type="text" name="pattern" required
                        placeholder=r"^(?P<street1>.+?),?\s+(?P<zipCode>\d{5})\s+(?P<city>.+)$";
                }
                button.quiet type="submit" { (lang.t(W::AddSplit)) }
            }
            h2 { (lang.t(W::MappingFile)) }
            p.muted { (lang.t(W::MappingHelp)) }
            div.actions {
                a.button.quiet href={ "/files/" (id) "/mapping.toml" } download { (lang.t(W::SaveMapping)) }
                form method="post" action={ "/files/" (id) "/mapping.toml" } enctype="multipart/form-data" {
                    label { (lang.t(W::LoadMapping)) " "
                        input type="file" name="mapping" accept=".toml,text/plain" required;
                    }
                    " " button.quiet type="submit" { (lang.t(W::Load)) }
                }
            }
        }
    }
}

impl Columns {
    /// A column's field: a menu of the schema's fields, or what custbulk reserves it for.
    fn field_cell(&self, lang: Lang, c: &ColumnView) -> Markup {
        if let Some(reserved) = c.reserved {
            let word = match reserved {
                "action" => W::ActionColumn,
                _ => W::ResultsColumn,
            };
            return html! { span.muted { (lang.t(word)) } };
        }
        let name = format!("c{}", c.index);
        html! {
            select #(name) name=(name) {
                option value="" selected[c.target.is_empty() || c.target == "ignore"] {
                    "— " (lang.t(W::NotImported)) " —"
                }
                option value="id" selected[c.target == "id"] { "id · " (lang.t(W::IdColumn)) }
                @for f in &self.fields {
                    option value=(f.name) selected[c.target == f.name] {
                        (f.name) " · " (lang.t(f.word))
                    }
                }
                @for n in 1..=self.contacts {
                    @for k in CONTACT_KEYS {
                        @let value = format!("contact{n}.{}", k.key);
                        option value=(value) selected[c.target == value] { (value) }
                    }
                }
            }
            @if c.automatic && !c.target.is_empty() { span.badge { (lang.t(W::Auto)) } }
            @if !c.automatic { span.badge.file { (lang.t(W::FromMapping)) } }
            @if let Some(t) = &c.read_by { br; span.muted { (lang.t(W::ReadBy)) " " code { (t) } } }
        }
    }
}

/// The columns page of a job, read now.
fn columns(job: &Job) -> Result<Columns, Failure> {
    let mut table = job.open().map_err(|e| Failure::failed(job.say(e)))?;
    let mapping = job.mapping(&table.headers);
    let samples =
        Samples::read(&mut table, &mapping, SAMPLES).map_err(|e| Failure::failed(job.say(e)))?;
    let contacts = mapping
        .columns
        .iter()
        .filter_map(|c| match c.target {
            Target::Contact { index, .. } => Some(index),
            _ => None,
        })
        .max()
        .unwrap_or(0)
        + 1;
    let columns = mapping
        .columns
        .iter()
        .map(|c| ColumnView {
            index: c.index,
            letter: c.letter.clone(),
            header: c.header.clone(),
            samples: samples.cells.get(c.index).cloned().unwrap_or_default(),
            target: match c.target {
                Target::Unmapped | Target::Transform => String::new(),
                t => t.to_string(),
            },
            kind: match c.target {
                Target::Field(f) => Some(f.kind.name()),
                Target::Contact { .. } => Some(Kind::Contacts.name()),
                _ => None,
            },
            automatic: !c.from_file,
            read_by: mapping.transform_reading(c.index).map(|t| t.name()),
            reserved: match c.target {
                Target::Ignore(Ignored::Result) => Some("results"),
                Target::Ignore(Ignored::Action) => Some("action"),
                _ => None,
            },
        })
        .collect();
    let transforms = mapping
        .transforms
        .iter()
        .zip(&samples.made)
        .enumerate()
        .map(|(index, (t, sample))| TransformView {
            index,
            written: t.written(),
            fields: t.fields().iter().map(|f| f.name).collect(),
            sample: sample.as_ref().and_then(|s| s.as_ref().ok().cloned()),
            sample_error: sample
                .as_ref()
                .and_then(|s| s.as_ref().err().map(|e| job.say(e))),
        })
        .collect();
    Ok(Columns {
        id: job.id.clone(),
        name: job.name.clone(),
        location: job.say(table.location()),
        header_row: table.header_row,
        error: mapping.check().err().map(|e| e.to_string()),
        missing_from_sheet: mapping.missing_from_sheet.clone(),
        defaults: mapping
            .defaults
            .iter()
            .map(|(f, v)| (f.name.to_string(), v.clone()))
            .collect(),
        columns,
        transforms,
        fields: FIELDS
            .iter()
            .map(|f| FieldChoice {
                name: f.name,
                kind: f.kind.name(),
                word: kind_word(f.kind),
                help: f.help,
            })
            .collect(),
        contacts,
    })
}

/// Runs `work` on the job, away from the server's threads (it reads the file).
async fn with_job<T: Send + 'static>(
    state: &Shared,
    id: &str,
    work: impl FnOnce(&mut Job) -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    let job = state.job(id).ok_or_else(Failure::not_found)?;
    tokio::task::spawn_blocking(move || work(&mut lock(&job)))
        .await
        .map_err(Failure::failed)?
}

/// `GET /files/ID/columns`.
pub async fn show(
    State(state): State<Shared>,
    Path(id): Path<String>,
    ask: Ask,
) -> Result<Response, Failure> {
    let page = with_job(&state, &id, |job| columns(job)).await?;
    Ok(ask.page(&page))
}

/// `POST /files/ID/columns`: the fields chosen (`cN` = target, for column N), kept in the
/// mapping file as the lines that differ from the automatic match; then the check.
pub async fn choose(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Form(chosen): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let ok = with_job(&state, &id, move |job| {
        let table = job.open().map_err(|e| Failure::failed(job.say(e)))?;
        let mapping = job.mapping(&table.headers);
        let mut lines: Vec<(String, Target)> = job
            .map
            .columns
            .iter()
            .filter(|(h, _)| mapping.missing_from_sheet.contains(h))
            .cloned()
            .collect();
        let mut norm = String::new();
        for c in &mapping.columns {
            let Some((_, value)) = chosen.iter().find(|(k, _)| *k == format!("c{}", c.index))
            else {
                continue;
            };
            let automatic = mapping::auto_target(&c.header, &mut norm);
            let target = match value.trim() {
                "" if c.target == Target::Transform => continue,
                "" if automatic == Target::Unmapped => continue,
                "" => Target::Ignore(Ignored::User),
                v => mapping::parse_target(v)
                    .ok_or_else(|| Failure::bad(format!("{v:?} is not a field")))?,
            };
            if target != automatic || c.target == Target::Transform {
                lines.push((c.header.clone(), target));
            }
        }
        job.map.columns = lines;
        job.mapping_changed();
        Ok(job.mapping(&table.headers).check().is_ok())
    })
    .await?;
    let next = if ok { "problems" } else { "columns" };
    Ok(Redirect::to(&format!("/files/{id}/{next}")).into_response())
}

#[derive(Deserialize)]
pub struct NewTransform {
    kind: String,
    #[serde(default)]
    field: String,
    #[serde(default)]
    template: String,
    #[serde(default)]
    column: String,
    #[serde(default)]
    pattern: String,
}

/// `POST /files/ID/transforms`: a `[fields]` template or a `[split]` pattern, parsed by the
/// mapping file's own parser.
pub async fn add_transform(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Form(new): Form<NewTransform>,
) -> Result<Response, Failure> {
    with_job(&state, &id, move |job| {
        match new.kind.as_str() {
            "fields" => {
                let t = Template::parse(&new.field, &new.template).map_err(Failure::bad)?;
                job.map.templates.retain(|o| o.field.name != t.field.name);
                job.map.templates.push(t);
            }
            "split" => {
                let table = job.open().map_err(|e| Failure::failed(job.say(e)))?;
                let header = new
                    .column
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| table.headers.get(i))
                    .ok_or_else(|| Failure::bad("choose one of the sheet's columns"))?;
                let s = Split::parse(header, &new.pattern).map_err(Failure::bad)?;
                job.map.splits.retain(|o| o.header != s.header);
                job.map.splits.push(s);
            }
            other => {
                return Err(Failure::bad(format!(
                    "{other:?} is not a kind of transform"
                )))
            }
        }
        job.mapping_changed();
        Ok(())
    })
    .await?;
    Ok(Redirect::to(&format!("/files/{id}/columns")).into_response())
}

#[derive(Deserialize)]
pub struct Which {
    index: usize,
}

/// `POST /files/ID/transforms/remove`: the transform at `index` (in the mapping's order:
/// the `[fields]` templates, then the splits).
pub async fn remove_transform(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Form(which): Form<Which>,
) -> Result<Response, Failure> {
    with_job(&state, &id, move |job| {
        let templates = job.map.templates.len();
        if which.index < templates {
            job.map.templates.remove(which.index);
        } else if which.index - templates < job.map.splits.len() {
            job.map.splits.remove(which.index - templates);
        } else {
            return Err(Failure::not_found());
        }
        job.mapping_changed();
        Ok(())
    })
    .await?;
    Ok(Redirect::to(&format!("/files/{id}/columns")).into_response())
}

/// `GET /files/ID/mapping.toml`: the mapping file, as `custbulk mapping FILE --write` writes it.
pub async fn save_mapping(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let (text, name) = with_job(&state, &id, |job| {
        let table = job.open().map_err(|e| Failure::failed(job.say(e)))?;
        let mapping: Mapping = job.mapping(&table.headers);
        Ok((mapping.to_toml(), job.name.clone()))
    })
    .await?;
    let stem = std::path::Path::new(&name)
        .file_stem()
        .map_or("mapping".into(), |s| s.to_string_lossy().into_owned());
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/toml; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                super::fixed::attachment(&format!("{stem}.mapping.toml")),
            ),
        ],
        text,
    )
        .into_response())
}

/// `POST /files/ID/mapping.toml`: a mapping file to use, parsed as `--map` parses it.
pub async fn load_mapping(
    State(state): State<Shared>,
    Path(id): Path<String>,
    mut form: Multipart,
) -> Result<Response, Failure> {
    let mut text = None;
    while let Some(field) = form.next_field().await.map_err(Failure::bad)? {
        if field.name() != Some("mapping") || field.file_name().is_none() {
            return Err(Failure::refused(
                "the page sends files, never paths or other fields: choose the mapping file itself",
            ));
        }
        let bytes = field.bytes().await.map_err(Failure::bad)?;
        if bytes.len() > MAX_MAPPING_BYTES {
            return Err(Failure::too_large("a mapping file is at most 1 MB"));
        }
        let t = String::from_utf8(bytes.to_vec())
            .map_err(|_| Failure::bad("the mapping file is not UTF-8 text"))?;
        text = Some(t);
    }
    let text = text.ok_or_else(|| Failure::bad("no mapping file was sent"))?;
    let map = MapFile::parse(&text).map_err(|e| Failure::bad(format!("mapping file: {e}")))?;
    with_job(&state, &id, move |job| {
        job.map = map;
        job.mapping_changed();
        Ok(())
    })
    .await?;
    Ok(Redirect::to(&format!("/files/{id}/columns")).into_response())
}
