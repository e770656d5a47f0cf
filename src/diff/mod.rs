//! `diff`: what changed between two customer lists (backups in any format, or the account).
//!
//! Both sides are read once into [`Side`]s (in parallel when both are files), paired by id or
//! by a match key, and only the pairs whose fingerprints differ are read again to see which
//! fields changed. Values compare as the importer reads them ([`compare::canonical`]): CSV
//! `01000` equals JSON `"01000"`, CSV `true` equals JSON `true`, a contacts cell equals the array.

mod report;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use crate::api::{record_id, Record};
use crate::compare;
use crate::error::Exit;
use crate::lookup::Keys;
use crate::side::{pairs, By, Pair, Side};
use report::ReportFile;

/// What a diff is asked for.
#[derive(Debug, Clone)]
pub struct Options {
    pub by: By,
    /// The match keys: pair records with `By::Key`, and name each record in reports.
    pub keys: Keys,
    /// `--report FILE`: one line per difference.
    pub report: Option<PathBuf>,
}

/// How many changed, added and removed records the summary shows.
const EXAMPLES: usize = 10;

/// What differs between two sides.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub old: String,
    pub new: String,
    pub old_records: u64,
    pub new_records: u64,
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    pub unchanged: u64,
    /// New records whose key several old records share.
    pub ambiguous: u64,
    /// New records matching an old record an earlier new record already matched.
    pub duplicates: u64,
    /// Changed records per field.
    pub fields: BTreeMap<String, u64>,
    /// The first differences, as `kind id (key): what`.
    pub examples: Vec<String>,
    /// Records left out because they could not be read, per side.
    pub unreadable_old: u64,
    pub unreadable_new: u64,
    pub report: Option<String>,
}

impl Summary {
    /// 0 when the two lists hold the same customers, 1 when they differ.
    pub fn exit(&self) -> Exit {
        let differ = self.added + self.removed + self.changed + self.ambiguous + self.duplicates;
        if differ == 0 {
            Exit::Ok
        } else {
            Exit::SomeRowsFailed
        }
    }
}

/// Compares `old` with `new`.
pub fn compare(old: &Side, new: &Side, options: &Options) -> anyhow::Result<Summary> {
    let mut summary = Summary {
        old: old.name.clone(),
        new: new.name.clone(),
        old_records: old.entries.len() as u64,
        new_records: new.entries.len() as u64,
        unreadable_old: old.unreadable.count,
        unreadable_new: new.unreadable.count,
        report: options.report.as_ref().map(|p| p.display().to_string()),
        ..Summary::default()
    };
    let mut report = ReportFile::create(options.report.as_deref())?;
    let name = |record: &Record| Named::of(record, &options.keys);
    for pair in pairs(old, new, options.by) {
        let (kind, record, changes) = match pair {
            Pair::Same { .. } => {
                summary.unchanged += 1;
                continue;
            }
            Pair::Differ { old: o, new: n } => {
                let (before, after) = (old.record(o)?, new.record(n)?);
                let changes =
                    compare::differences(&compare::canonical(&before), &compare::canonical(&after));
                if changes.is_empty() {
                    summary.unchanged += 1;
                    continue;
                }
                summary.changed += 1;
                for (field, _, _) in &changes {
                    *summary.fields.entry(field.clone()).or_default() += 1;
                }
                // Named by the new record, or by the old one where the new lacks its key.
                let mut named = after;
                for (field, value) in before {
                    named.entry(field).or_insert(value);
                }
                ("changed", named, changes)
            }
            Pair::Added { new: n } => {
                summary.added += 1;
                ("added", new.record(n)?, Vec::new())
            }
            Pair::Removed { old: o } => {
                summary.removed += 1;
                ("removed", old.record(o)?, Vec::new())
            }
            Pair::Ambiguous { new: n } => {
                summary.ambiguous += 1;
                ("ambiguous", new.record(n)?, Vec::new())
            }
            Pair::Taken { new: n, .. } => {
                summary.duplicates += 1;
                ("duplicate", new.record(n)?, Vec::new())
            }
        };
        let named = name(&record);
        if summary.examples.len() < EXAMPLES {
            summary.examples.push(example(kind, &named, &changes));
        }
        report.write(kind, &named, &changes)?;
    }
    report.finish()?;
    Ok(summary)
}

/// A record as reports name it: its id and match key.
pub struct Named {
    pub id: String,
    pub key: String,
}

impl Named {
    fn of(record: &Record, keys: &Keys) -> Named {
        let key = keys.first_of_record(record).map(|(_, value)| value);
        Named {
            id: record_id(record).unwrap_or_default(),
            key: key.unwrap_or_default().replace('\u{1f}', " + "),
        }
    }
}

fn example(kind: &str, named: &Named, changes: &[compare::Change]) -> String {
    let key = if named.key.is_empty() {
        String::new()
    } else {
        format!(" ({})", named.key)
    };
    let what = changes
        .iter()
        .map(|(field, old, new)| format!("{field}: {} → {}", show(old), show(new)))
        .collect::<Vec<_>>()
        .join("; ");
    let what = if what.is_empty() {
        String::new()
    } else {
        format!(": {what}")
    };
    format!("{kind} {}{key}{what}", named.id)
}

fn show(value: &Value) -> String {
    match value {
        Value::Null => "nothing".into(),
        other => other.to_string(),
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} ({} records) → {} ({} records)",
            self.old, self.old_records, self.new, self.new_records
        )?;
        let counts = [
            ("added", self.added, true),
            ("removed", self.removed, true),
            ("changed", self.changed, true),
            ("unchanged", self.unchanged, true),
            ("ambiguous", self.ambiguous, false),
            ("duplicates", self.duplicates, false),
        ];
        for (what, n, always) in counts {
            if always || n > 0 {
                writeln!(f, "  {what:<11} {n:>9}")?;
            }
        }
        if !self.fields.is_empty() {
            writeln!(f, "Changes by field:")?;
            let mut fields: Vec<_> = self.fields.iter().collect();
            fields.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
            for (field, n) in fields {
                writeln!(f, "  {field:<11} {n:>9}")?;
            }
        }
        if !self.examples.is_empty() {
            writeln!(f, "First differences:")?;
            for example in &self.examples {
                writeln!(f, "  {example}")?;
            }
        }
        for (side, n) in [
            (&self.old, self.unreadable_old),
            (&self.new, self.unreadable_new),
        ] {
            if n > 0 {
                writeln!(
                    f,
                    "warning: {n} records of {side} could not be read and were left out"
                )?;
            }
        }
        match &self.report {
            Some(report) => writeln!(f, "Every difference: {report}"),
            None if self.exit() != Exit::Ok => {
                writeln!(
                    f,
                    "To list every difference, add --report DIFF.csv (or --output json)."
                )
            }
            None => Ok(()),
        }
    }
}
