//! Problem output: the summary people read, the JSON scripts read, and the CSV of every
//! problem (`--report PROBLEMS.csv`).
//!
//! Problems arrive row by row from the pipeline into a [`ProblemLog`], which streams them to
//! the CSV report, keeps per-field tallies with a few examples for the text summary, and keeps
//! them all only when JSON output needs them.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::{json, Value};

use crate::mapping::{Mapping, Target};
use crate::output::CsvOutput;
use crate::pipeline::Counts;
use crate::read::{Format, Table};
use crate::schema::FIELDS;
use crate::validate::{Problem, Severity};

/// Examples shown per field in the text summary.
const EXAMPLES: usize = 3;

/// The header of a `--report` CSV, one problem per line.
pub const REPORT_COLUMNS: [&str; 7] = [
    "row", "column", "header", "field", "severity", "message", "value",
];

struct Tally {
    field: &'static str,
    errors: u64,
    warnings: u64,
    examples: Vec<Problem>,
    /// The first errors alone, for `-q`, which shows nothing else.
    error_examples: Vec<Problem>,
}

/// Collects the problems of a run.
pub struct ProblemLog {
    keep_all: bool,
    all: Vec<Problem>,
    tallies: Vec<Tally>,
    csv: Option<CsvOutput>,
    /// Where the CSV report is, once complete.
    report: Option<PathBuf>,
}

impl ProblemLog {
    /// `keep_all` keeps every problem in memory (for JSON); `report` streams them to a CSV.
    pub fn new(keep_all: bool, report: Option<&Path>) -> anyhow::Result<ProblemLog> {
        let csv = match report {
            Some(path) => {
                let mut w = CsvOutput::create(path).context("cannot create the problem report")?;
                w.write_record(REPORT_COLUMNS)?;
                Some(w)
            }
            None => None,
        };
        Ok(ProblemLog {
            keep_all,
            all: Vec::new(),
            tallies: Vec::new(),
            csv,
            report: report.map(Path::to_path_buf),
        })
    }

    /// Records the problems of one row.
    pub fn add(&mut self, problems: &[Problem]) -> anyhow::Result<()> {
        for p in problems {
            if let Some(w) = &mut self.csv {
                let row = p.row.to_string();
                w.write_record([
                    row.as_str(),
                    &p.column,
                    &p.header,
                    p.field,
                    severity_word(p.severity),
                    &p.message,
                    &p.value,
                ])?;
            }
            let t = match self.tallies.iter_mut().position(|t| t.field == p.field) {
                Some(i) => &mut self.tallies[i],
                None => {
                    self.tallies.push(Tally {
                        field: p.field,
                        errors: 0,
                        warnings: 0,
                        examples: Vec::new(),
                        error_examples: Vec::new(),
                    });
                    self.tallies.last_mut().expect("just pushed")
                }
            };
            match p.severity {
                Severity::Error => t.errors += 1,
                Severity::Warning => t.warnings += 1,
            }
            if t.examples.len() < EXAMPLES {
                t.examples.push(p.clone());
            }
            if p.severity == Severity::Error && t.error_examples.len() < EXAMPLES {
                t.error_examples.push(p.clone());
            }
            if self.keep_all {
                self.all.push(p.clone());
            }
        }
        Ok(())
    }

    /// Completes the CSV report under its name.
    pub fn finish(&mut self) -> anyhow::Result<()> {
        match self.csv.take() {
            Some(w) => w.commit().context("cannot write the problem report"),
            None => Ok(()),
        }
    }

    /// Every problem, when kept.
    pub fn problems(&self) -> &[Problem] {
        &self.all
    }

    pub fn report_path(&self) -> Option<&Path> {
        self.report.as_deref()
    }

    /// The problems counted by field, as the summary orders them (row-level ones, field `""`,
    /// first; then schema order): `(field, errors, warnings)`.
    pub fn by_field(&self) -> Vec<(&'static str, u64, u64)> {
        let tallies = self.sorted().into_iter();
        tallies.map(|t| (t.field, t.errors, t.warnings)).collect()
    }

    /// Tallies in schema order, row-level problems first.
    fn sorted(&self) -> Vec<&Tally> {
        let rank = |f: &str| {
            if f.is_empty() {
                0
            } else {
                FIELDS
                    .iter()
                    .position(|x| x.name == f)
                    .map_or(FIELDS.len() + 1, |i| i + 1)
            }
        };
        let mut v: Vec<&Tally> = self.tallies.iter().collect();
        v.sort_by_key(|t| rank(t.field));
        v
    }
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The JSON summary of a validation (`--format json`):
/// `{file, sheet, format, encoding, rows, valid, invalid, blank_rows, mapping, transforms,
/// unmapped, problems, ...}`.
pub fn json_summary(source: &Table, mapping: &Mapping, counts: &Counts, log: &ProblemLog) -> Value {
    let mapped: Vec<Value> = mapping
        .columns
        .iter()
        .filter_map(|c| {
            let field = c.target.field_name()?;
            Some(json!({"column": c.letter, "header": c.header, "field": field, "target": c.target.to_string()}))
        })
        .collect();
    let unmapped: Vec<&str> = mapping.unmapped().map(|c| c.header.as_str()).collect();
    let ignored: Vec<&str> = mapping
        .columns
        .iter()
        .filter(|c| matches!(c.target, Target::Ignore(_)))
        .map(|c| c.header.as_str())
        .collect();
    json!({
        "file": source.file.display().to_string(),
        "sheet": source.sheet,
        "format": source.format.name(),
        "encoding": source.encoding,
        "delimiter": source.delimiter.map(|d| char::from(d).to_string()),
        "rows": counts.rows,
        "valid": counts.valid,
        "invalid": counts.invalid,
        "blank_rows": counts.blank_rows,
        "mapping": mapped,
        "transforms": mapping.transforms.iter().map(|t| t.written()).collect::<Vec<_>>(),
        "unmapped": unmapped,
        "problems": log.problems(),
        "errors": counts.errors,
        "warnings": counts.warnings,
        "header_row": source.header_row,
        "ignored": ignored,
    })
}

/// The people's summary: counts, the mapping in a line, problems grouped by field with a few
/// examples, and how to see them all.
pub fn write_text(
    out: &mut dyn Write,
    source: &Table,
    mapping: &Mapping,
    counts: &Counts,
    log: &ProblemLog,
) -> io::Result<()> {
    let mut s = String::new();
    let _ = write!(
        s,
        "{}: {} checked",
        source.location(),
        plural(counts.rows, "row")
    );
    if counts.rows > 0 && counts.invalid == 0 {
        s.push_str(", all valid");
    } else {
        let _ = write!(
            s,
            ", {} valid, {} with errors",
            counts.valid, counts.invalid
        );
    }
    if counts.warnings > 0 {
        let _ = write!(s, "; {}", plural(counts.warnings, "warning"));
    }
    if counts.blank_rows > 0 {
        let _ = write!(s, "; {} skipped", plural(counts.blank_rows, "blank row"));
    }
    s.push_str(".\n");
    let mapped = mapping
        .columns
        .iter()
        .filter(|c| c.target.is_mapped())
        .count();
    s.push_str(&reading(source));
    if source.title_rows_skipped > 0 {
        let _ = write!(
            s,
            " ({} above it skipped)",
            plural(source.title_rows_skipped as u64, "title row")
        );
    }
    let _ = write!(s, "; {} mapped", plural(mapped as u64, "column"));
    let unmapped: Vec<String> = mapping
        .unmapped()
        .map(|c| format!("{} ({:?})", c.letter, c.header))
        .collect();
    if !unmapped.is_empty() {
        let _ = write!(s, "; not imported: {}", unmapped.join(", "));
    }
    s.push_str(".\n");
    let tallies = log.sorted();
    if !tallies.is_empty() {
        s.push_str("\nProblems by field:\n");
        for t in tallies {
            let mut what = Vec::new();
            if t.errors > 0 {
                what.push(plural(t.errors, "error"));
            }
            if t.warnings > 0 {
                what.push(plural(t.warnings, "warning"));
            }
            let name = if t.field.is_empty() { "(row)" } else { t.field };
            let _ = writeln!(s, "  {name}: {}", what.join(", "));
            for p in &t.examples {
                let _ = write!(s, "    row {}", p.row);
                if !p.column.is_empty() {
                    let _ = write!(s, ", column {} ({})", p.column, p.header);
                } else if !p.field.is_empty() {
                    let _ = write!(s, ", {}", p.header);
                }
                let tag = if p.severity == Severity::Warning {
                    " (warning)"
                } else {
                    ""
                };
                let _ = writeln!(s, ": {}{tag}", p.message);
            }
            let more = t.errors + t.warnings - t.examples.len() as u64;
            if more > 0 {
                let _ = writeln!(s, "    ... and {more} more");
            }
        }
        match log.report_path() {
            Some(p) => {
                let _ = writeln!(s, "\nEvery problem is listed in {}.", p.display());
            }
            None => {
                s.push_str(
                    "\nTo list every problem, add --report PROBLEMS.csv (or --format json).\n",
                );
            }
        }
    }
    out.write_all(s.as_bytes())
}

/// What `-q` shows of a validation: its first errors by field, one line each, and how many
/// more there are; nothing for a file without errors.
pub fn write_errors(out: &mut dyn Write, source: &Table, log: &ProblemLog) -> io::Result<()> {
    let mut s = String::new();
    let (mut errors, mut shown) = (0, 0);
    for t in log.sorted() {
        errors += t.errors;
        shown += t.error_examples.len() as u64;
        for p in &t.error_examples {
            let _ = write!(s, "error: {}, row {}", source.location(), p.row);
            if !p.column.is_empty() {
                let _ = write!(s, ", column {} ({})", p.column, p.header);
            }
            let _ = writeln!(s, ": {}", p.message);
        }
    }
    if errors > shown {
        let all = match log.report_path() {
            Some(p) => format!("{} lists them all", p.display()),
            None => "--report PROBLEMS.csv lists them all".to_string(),
        };
        let _ = writeln!(
            s,
            "error: {}: {} more; {all}",
            source.location(),
            plural(errors - shown, "error")
        );
    }
    out.write_all(s.as_bytes())
}

/// How the file was read: for CSV the encoding and delimiter chosen, for JSON the kind, then
/// where the header is. `Read as UTF-8, ";"-separated; header on row 1`.
pub(crate) fn reading(source: &Table) -> String {
    let encoding = source.encoding.unwrap_or("UTF-8");
    match source.format {
        Format::Csv => {
            let delimiter = match source.delimiter {
                Some(b'\t') => "tab".to_string(),
                Some(d) => format!("{:?}", char::from(d).to_string()),
                None => "comma".to_string(),
            };
            format!(
                "Read as {encoding}, {delimiter}-separated; header on row {}",
                source.header_row
            )
        }
        Format::Json | Format::Ndjson => format!(
            "Read as {} ({encoding}), the records' keys as headers",
            source.format.name()
        ),
        _ => format!("Header on row {}", source.header_row),
    }
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
