//! `custbulk undo JOURNAL`: reverse an import from its journal.
//!
//! The import journal holds each row's outcome and id, the whole record before every update,
//! and the record as the import left it. Undo walks it newest first: customers the import
//! created are deleted, updated ones get their old values back, deleted ones are created again.
//! A customer someone changed since the import is a conflict and is left alone (unless
//! `--force`). Every step first looks at the customer as it is now, so running undo twice, or
//! after a crash, does no harm; it is journaled like an import and `--resume` continues it.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use futures::StreamExt;
use serde_json::Value;

use crate::api::{record_id, ApiError, Load, Record};
use crate::cli::Global;
use crate::config;
use crate::error::{usage, Exit};
use crate::import::journal::{self, Fingerprint, Line, Op, Outcome, Resume, Writer};
use crate::import::lookup::{self, Found};
use crate::import::summary::{Progress, Summary};
use crate::import::UpdateWith;

/// Reverse an import: delete the customers it created, restore the ones it updated to their
/// values before it, and create again the ones it deleted (they get new ids).
///
/// A customer changed by someone else since the import is reported as a conflict and left
/// alone, unless --force. Results go to JOURNAL-NAME.undo.results.csv; undo keeps its own
/// journal (JOURNAL-NAME.undo.journal), so --resume continues an interrupted undo.
///
/// Examples:
///   custbulk undo clients.journal --plan
///   custbulk undo clients.journal
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The journal an import wrote (NAME.journal beside its input by default).
    pub journal: PathBuf,

    /// Say what undo would do, change nothing.
    #[arg(long, conflicts_with = "resume")]
    pub plan: bool,

    /// Undo even customers changed since the import (their later changes are lost).
    #[arg(long)]
    pub force: bool,

    /// How updated customers are restored: PATCH the changed fields back, or PUT the whole
    /// record as it was.
    #[arg(long, value_enum, default_value_t = UpdateWith::Patch)]
    pub restore_with: UpdateWith,

    #[command(flatten)]
    pub load: Load,

    /// The results file (default: beside the journal, NAME.undo.results.csv).
    #[arg(long, value_name = "FILE")]
    pub results: Option<PathBuf>,

    /// Continue an interrupted undo from its own journal.
    #[arg(long)]
    pub resume: bool,
}

/// Fields the server owns: never compared, never sent back.
const SERVER_FIELDS: &[&str] = &["_id", "id", "createdAt", "updatedAt", "__v"];

/// One thing to reverse.
#[derive(Debug, Clone)]
enum Step {
    /// The import created this customer.
    Delete { id: String, after: Option<Record> },
    /// The import changed this customer from `before` to `after`.
    Restore {
        id: String,
        before: Record,
        after: Option<Record>,
    },
    /// The import deleted this customer, whose record was `before`.
    Recreate { id: String, before: Record },
}

impl Step {
    fn action(&self) -> &'static str {
        match self {
            Step::Delete { .. } => "delete",
            Step::Restore { .. } => "restore",
            Step::Recreate { .. } => "recreate",
        }
    }

    fn id(&self) -> &str {
        match self {
            Step::Delete { id, .. } | Step::Restore { id, .. } | Step::Recreate { id, .. } => id,
        }
    }
}

/// How one step ended.
struct Ended {
    outcome: Outcome,
    new_id: Option<String>,
    status: Option<u16>,
    error: Option<String>,
    conflicts: Option<String>,
    before: Option<Record>,
}

impl Ended {
    fn new(outcome: Outcome) -> Ended {
        Ended {
            outcome,
            new_id: None,
            status: None,
            error: None,
            conflicts: None,
            before: None,
        }
    }
}

pub async fn run(global: &Global, args: Args) -> anyhow::Result<Exit> {
    let started = Instant::now();
    let steps = find_steps(&args.journal)?;
    let mut import_journal = StepReader::open(&args.journal)?;
    let results_path = args
        .results
        .clone()
        .unwrap_or_else(|| beside(&args.journal, "undo.results.csv"));
    let undo_journal = beside(&args.journal, "undo.journal");

    let mut resume = None;
    let writer = if args.plan {
        None
    } else {
        let fingerprint = Fingerprint::of(&args.journal)?;
        if args.resume {
            resume = Some(Resume::load(&undo_journal, &args.journal, &fingerprint)?);
            Some(Arc::new(Writer::reopen(&undo_journal)?))
        } else {
            Some(Arc::new(Writer::create(
                &undo_journal,
                &args.journal,
                &fingerprint,
                "undo",
            )?))
        }
    };
    let connection = config::connect(global, args.load.client_options()).await?;
    let client = &connection.client;
    let progress = Progress::new(global, Some(steps.len() as u64));
    let undo = Undo {
        client,
        plan: args.plan,
        force: args.force,
        restore_with: args.restore_with,
    };

    let mut out = csv::Writer::from_writer(BufWriter::new(
        File::create(&results_path)
            .with_context(|| format!("cannot create {}", results_path.display()))?,
    ));
    out.write_record([
        "_row",
        "_action",
        "_id",
        "_new_id",
        "_outcome",
        "_status",
        "_error",
        "_conflicts",
    ])?;
    let mut counts: BTreeMap<Outcome, u64> = BTreeMap::new();

    let mut earlier = BTreeMap::new();
    if let Some(resume) = resume.as_mut() {
        for (row, _) in &steps {
            if let Some(Line::Done {
                outcome,
                id,
                status,
                error,
                ..
            }) = resume.done(*row)?
            {
                earlier.insert(*row, (outcome, id, status, error));
            }
        }
    }
    let writer_ref = writer.as_deref();
    let undo = &undo;
    let mut ended = futures::stream::iter(steps.iter())
        .map(|&(row, at)| {
            let done = earlier.remove(&row);
            let step = import_journal.load(at);
            async move {
                let step = match step {
                    Ok(step) => step,
                    Err(err) => {
                        let error = Some(format!("{err:#}"));
                        return (
                            row,
                            None,
                            Ended {
                                error,
                                ..Ended::new(Outcome::Failed)
                            },
                        );
                    }
                };
                let end = match done {
                    Some((outcome, new_id, status, error)) => Ended {
                        new_id,
                        status,
                        error,
                        ..Ended::new(outcome)
                    },
                    None => undo.step(row, &step, writer_ref).await,
                };
                (row, Some(step), end)
            }
        })
        .buffered(args.load.most_in_flight() * 4);
    while let Some((row, step, end)) = ended.next().await {
        progress.row(Some(end.outcome));
        *counts.entry(end.outcome).or_default() += 1;
        out.write_record([
            row.to_string().as_str(),
            step.as_ref().map_or("", Step::action),
            step.as_ref().map_or("", Step::id),
            end.new_id.as_deref().unwrap_or(""),
            end.outcome.as_str(),
            &end.status.map(|s| s.to_string()).unwrap_or_default(),
            end.error.as_deref().unwrap_or(""),
            end.conflicts.as_deref().unwrap_or(""),
        ])?;
    }
    progress.finish();
    out.flush()?;
    if let Some(writer) = &writer {
        writer.append(&Line::End {
            finished: journal::now(),
            complete: true,
        })?;
        writer.sync()?;
    }
    let summary = Summary::new(
        &args.journal,
        "undo",
        &counts,
        0,
        Some(client),
        started.elapsed(),
        &results_path,
        &results_path,
        writer.as_ref().map(|w| w.path.as_path()),
    );
    summary.print(global.output)?;
    Ok(if counts.keys().any(|o| o.is_problem()) {
        Exit::SomeRowsFailed
    } else {
        Exit::Ok
    })
}

/// Where the steps to take are in the import journal, newest first: the line of each row's
/// last successful outcome. Only positions are kept, so a million-row undo holds a few MB; each
/// step is read again when its turn comes ([`StepReader`]).
fn find_steps(path: &Path) -> anyhow::Result<Vec<(u32, u64)>> {
    let mut lines = journal_lines(path)?;
    let mut last: HashMap<u32, u64> = HashMap::new();
    let mut complete = false;
    let mut text = Vec::new();
    let mut offset = 0;
    match next_line(&mut lines, &mut text, &mut offset, path)? {
        Some((_, Line::Start { mode, .. })) if mode != "undo" => {}
        Some((_, Line::Start { .. })) => {
            return Err(usage(format!(
                "{} is the journal of an undo, not of an import",
                path.display()
            )))
        }
        _ => {
            return Err(usage(format!(
                "{} is not a custbulk import journal",
                path.display()
            )))
        }
    }
    while let Some((at, line)) = next_line(&mut lines, &mut text, &mut offset, path)? {
        match line {
            Line::End { complete: true, .. } => complete = true,
            line => {
                if let Some((row, _)) = step_of(line) {
                    last.insert(row, at);
                }
            }
        }
    }
    if !complete {
        crate::warn!(
            "The import of {} did not finish: rows that were in flight when it stopped are not undone. \
             Finish it with `custbulk import ... --resume` first to undo everything.",
            path.display()
        );
    }
    let mut steps: Vec<(u32, u64)> = last.into_iter().collect();
    steps.sort_unstable_by_key(|&(_, at)| std::cmp::Reverse(at));
    Ok(steps)
}

/// The step a journal line asks for: a successful create, update or delete with its id.
fn step_of(line: Line) -> Option<(u32, Step)> {
    let Line::Done {
        row,
        outcome,
        id: Some(id),
        before,
        after,
        ..
    } = line
    else {
        return None;
    };
    let step = match (outcome, before) {
        (Outcome::Created, _) => Step::Delete { id, after },
        (Outcome::Updated, Some(before)) => Step::Restore { id, before, after },
        (Outcome::Deleted, Some(before)) => Step::Recreate { id, before },
        _ => return None,
    };
    Some((row, step))
}

type JournalLines = BufReader<File>;

fn journal_lines(path: &Path) -> anyhow::Result<JournalLines> {
    let file =
        File::open(path).with_context(|| format!("cannot open the journal {}", path.display()))?;
    Ok(BufReader::new(file))
}

/// The next line that parses, with where it starts (`offset` follows the reader); lines that
/// do not parse (a line cut short by a crash) are passed over, as the import's resume does.
fn next_line(
    lines: &mut JournalLines,
    text: &mut Vec<u8>,
    offset: &mut u64,
    path: &Path,
) -> anyhow::Result<Option<(u64, Line)>> {
    loop {
        let at = *offset;
        text.clear();
        let n = lines
            .read_until(b'\n', text)
            .with_context(|| format!("reading the journal {}", path.display()))?;
        if n == 0 {
            return Ok(None);
        }
        *offset += n as u64;
        if let Ok(line) = serde_json::from_slice::<Line>(text) {
            return Ok(Some((at, line)));
        }
    }
}

/// Reads the steps [`find_steps`] found, one at a time, from the import journal.
struct StepReader {
    path: PathBuf,
    lines: JournalLines,
    text: Vec<u8>,
}

impl StepReader {
    fn open(path: &Path) -> anyhow::Result<StepReader> {
        Ok(StepReader {
            path: path.to_path_buf(),
            lines: journal_lines(path)?,
            text: Vec::new(),
        })
    }

    /// The step whose line starts at `at`.
    fn load(&mut self, at: u64) -> anyhow::Result<Step> {
        self.lines.seek(SeekFrom::Start(at))?;
        let mut offset = at;
        next_line(&mut self.lines, &mut self.text, &mut offset, &self.path)?
            .and_then(|(found, line)| (found == at).then_some(line))
            .and_then(step_of)
            .map(|(_, step)| step)
            .with_context(|| {
                format!(
                    "the journal {} changed while undo read it",
                    self.path.display()
                )
            })
    }
}

struct Undo<'a> {
    client: &'a crate::api::Client,
    plan: bool,
    force: bool,
    restore_with: UpdateWith,
}

impl Undo<'_> {
    async fn step(&self, row: u32, step: &Step, journal: Option<&Writer>) -> Ended {
        let ended = match self.try_step(row, step, journal).await {
            Ok(ended) => ended,
            Err(err) => Ended {
                status: err.status(),
                error: Some(err.to_string()),
                ..Ended::new(Outcome::Failed)
            },
        };
        if let (Some(journal), false) = (journal, self.plan) {
            let line = Line::Done {
                row,
                outcome: ended.outcome,
                id: ended.new_id.clone(),
                status: ended.status,
                error: ended.error.clone(),
                before: ended.before.clone(),
                after: None,
            };
            if let Err(err) = journal.append(&line) {
                return Ended {
                    error: Some(format!("{err:#}")),
                    ..Ended::new(Outcome::Failed)
                };
            }
        }
        ended
    }

    async fn try_step(
        &self,
        row: u32,
        step: &Step,
        journal: Option<&Writer>,
    ) -> Result<Ended, ApiError> {
        let current = match self.client.get(step.id()).await {
            Ok(record) => Some(record),
            Err(err) if err.status() == Some(404) => None,
            Err(err) => return Err(err),
        };
        let send = |op: Op, before: Option<Record>| -> Result<(), ApiError> {
            match journal {
                Some(journal) => journal
                    .append(&Line::Send {
                        row,
                        op,
                        key: None,
                        id: Some(step.id().to_string()),
                        before,
                    })
                    .map_err(|e| ApiError::Local(format!("{e:#}"))),
                None => Ok(()),
            }
        };
        match step {
            Step::Delete { id, after } => {
                let Some(current) = current else {
                    return Ok(Ended {
                        error: Some("already deleted".into()),
                        ..Ended::new(Outcome::Unchanged)
                    });
                };
                if let Some(conflict) = self.conflict(&current, after.as_ref()) {
                    return Ok(conflict);
                }
                if self.plan {
                    return Ok(Ended::new(Outcome::WouldDelete));
                }
                send(Op::Delete, Some(current.clone()))?;
                match self.client.delete(id).await {
                    // A 404 after the GET found it: a retry met our own first attempt's work.
                    Err(err) if err.status() != Some(404) => Err(err),
                    _ => Ok(Ended {
                        status: Some(204),
                        before: Some(current),
                        ..Ended::new(Outcome::Deleted)
                    }),
                }
            }
            Step::Restore { id, before, after } => {
                let Some(current) = current else {
                    let error = Some("the customer was deleted since the import".to_string());
                    return Ok(Ended {
                        error,
                        ..Ended::new(Outcome::Conflict)
                    });
                };
                let changed = changed_fields(before, after.as_ref().unwrap_or(&current));
                if changed.iter().all(|f| same_field(&current, before, f)) {
                    return Ok(Ended {
                        error: Some("already restored".into()),
                        ..Ended::new(Outcome::Unchanged)
                    });
                }
                if let Some(conflict) = self.conflict(&current, after.as_ref()) {
                    return Ok(conflict);
                }
                if self.plan {
                    return Ok(Ended {
                        conflicts: None,
                        ..Ended::new(Outcome::WouldRestore)
                    });
                }
                send(Op::Patch, Some(current.clone()))?;
                match self.restore_with {
                    UpdateWith::Patch => {
                        let patch: Record = changed
                            .iter()
                            .map(|f| (f.clone(), before.get(f).cloned().unwrap_or(Value::Null)))
                            .collect();
                        self.client.patch(id, &patch).await?;
                    }
                    UpdateWith::Put => {
                        self.client
                            .replace(id, &without_server_fields(before))
                            .await?;
                    }
                }
                Ok(Ended {
                    status: Some(200),
                    before: Some(current),
                    ..Ended::new(Outcome::Restored)
                })
            }
            Step::Recreate { id: _, before } => {
                if current.is_some() {
                    return Ok(Ended {
                        error: Some("the customer still exists".into()),
                        ..Ended::new(Outcome::Unchanged)
                    });
                }
                let body = without_server_fields(before);
                // A recreate an earlier undo made (or that was in flight when it died).
                if let Some(record) = self.find_recreated(&body).await? {
                    let new_id = record_id(&record);
                    return Ok(Ended {
                        new_id,
                        error: Some("already recreated".into()),
                        ..Ended::new(Outcome::Unchanged)
                    });
                }
                if self.plan {
                    return Ok(Ended::new(Outcome::WouldRecreate));
                }
                send(Op::Create, None)?;
                let created = match self.client.create(&body).await {
                    Ok(created) => created,
                    Err(err) if err.outcome_unknown() => match self.find_recreated(&body).await? {
                        Some(record) => record,
                        None => return Err(err),
                    },
                    Err(err) => return Err(err),
                };
                Ok(Ended {
                    new_id: record_id(&created),
                    status: Some(201),
                    ..Ended::new(Outcome::Recreated)
                })
            }
        }
    }

    /// A conflict when the customer differs from what the import left (and not `--force`).
    fn conflict(&self, current: &Record, left: Option<&Record>) -> Option<Ended> {
        let left = left?;
        // Only what the import left is compared: fields the server adds on its own (defaults,
        // sub-document ids) are not someone's edit.
        let differing: Vec<&str> = left
            .keys()
            .filter(|k| !SERVER_FIELDS.contains(&k.as_str()))
            .filter(|k| !lookup::same(current.get(*k).unwrap_or(&Value::Null), &left[*k]))
            .map(String::as_str)
            .collect();
        if differing.is_empty() || self.force {
            return None;
        }
        let conflicts = differing
            .iter()
            .map(|f| {
                format!(
                    "{f}: import left {} , now {}",
                    show(left.get(*f)),
                    show(current.get(*f))
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        Some(Ended {
            error: Some("changed since the import; use --force to undo anyway".into()),
            conflicts: Some(conflicts),
            ..Ended::new(Outcome::Conflict)
        })
    }

    async fn find_recreated(&self, body: &Record) -> Result<Option<Record>, ApiError> {
        let key = ["siret", "name"].into_iter().find_map(|f| {
            body.get(f)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(|v| (f, v))
        });
        let Some((field, value)) = key else {
            return Ok(None);
        };
        Ok(match lookup::search(self.client, field, value).await? {
            Found::One(record) if lookup::changes(body, &record).is_empty() => Some(record),
            _ => None,
        })
    }
}

/// Fields whose value the import changed (or added).
fn changed_fields(before: &Record, after: &Record) -> Vec<String> {
    after
        .keys()
        .chain(before.keys())
        .filter(|k| !SERVER_FIELDS.contains(&k.as_str()))
        .filter(|k| !same_field(before, after, k))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn same_field(a: &Record, b: &Record, field: &str) -> bool {
    let a = a.get(field).unwrap_or(&Value::Null);
    let b = b.get(field).unwrap_or(&Value::Null);
    lookup::same(a, b) && lookup::same(b, a)
}

fn without_server_fields(record: &Record) -> Record {
    record
        .iter()
        .filter(|(k, _)| !SERVER_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn show(value: Option<&Value>) -> String {
    value
        .map(Value::to_string)
        .unwrap_or_else(|| "nothing".into())
}

/// `dir/NAME.EXT` beside `dir/NAME.journal`.
fn beside(journal: &Path, ext: &str) -> PathBuf {
    let stem = journal
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".into());
    journal.with_file_name(format!("{stem}.{ext}"))
}
