//! `diff --report FILE`: one line per difference (id, key, kind, field, old, new), written as
//! every CSV output is: complete under its name, or not at all.

use std::path::Path;

use serde_json::Value;

use super::Named;
use crate::compare::Change;
use crate::output::CsvOutput;

pub struct ReportFile(Option<CsvOutput>);

impl ReportFile {
    pub fn create(path: Option<&Path>) -> anyhow::Result<ReportFile> {
        let Some(path) = path else {
            return Ok(ReportFile(None));
        };
        let mut out = CsvOutput::create(path)?;
        out.write_record(["id", "key", "kind", "field", "old", "new"])?;
        Ok(ReportFile(Some(out)))
    }

    /// One line for an added or removed record, one per field for a changed one.
    pub fn write(&mut self, kind: &str, named: &Named, changes: &[Change]) -> anyhow::Result<()> {
        let Some(out) = &mut self.0 else {
            return Ok(());
        };
        if changes.is_empty() {
            return out.write_record([named.id.as_str(), &named.key, kind, "", "", ""]);
        }
        for (field, old, new) in changes {
            out.write_record([
                named.id.as_str(),
                &named.key,
                kind,
                field,
                &cell(old),
                &cell(new),
            ])?;
        }
        Ok(())
    }

    pub fn finish(self) -> anyhow::Result<()> {
        match self.0 {
            Some(out) => out.commit(),
            None => Ok(()),
        }
    }
}

/// A value as a cell: text as it is, nothing as empty, the rest as JSON.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
