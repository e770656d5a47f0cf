//! The tallies behind the `Summary` sheet of an annotated workbook: rows, problems by field and
//! by kind, and import outcomes, gathered row by row in memory bounded by the number of
//! columns and of distinct kinds (not of rows).

use std::collections::HashMap;

use super::xlsx::{SheetXml, Style};

use crate::validate::{Problem, Severity};

/// Distinct kinds of problem tallied one by one; any further kind is counted as "other", so a
/// message that carries an unforeseen value cannot make the table grow with the rows.
const MAX_KINDS: usize = 1000;

/// Problems of one field, in one column.
struct FieldTally {
    field: &'static str,
    header: String,
    errors: u64,
    warnings: u64,
}

/// Problems of one kind: the same message once its values are taken out.
struct KindTally {
    severity: Severity,
    field: &'static str,
    header: String,
    kind: String,
    count: u64,
    first_row: u32,
    example: String,
}

/// Everything the `Summary` sheet shows.
#[derive(Default)]
pub(super) struct SummarySheet {
    pub rows: u64,
    pub rows_with_errors: u64,
    pub rows_with_warnings_only: u64,
    pub blank_rows: u64,
    pub errors: u64,
    pub warnings: u64,
    /// Cells that carry a note, and flagged cells past the notes' cap.
    pub notes: u64,
    pub notes_skipped: u64,
    /// Cells cut to Excel's 32,767 characters.
    pub cut_cells: u64,
    fields: Vec<FieldTally>,
    kinds: Vec<KindTally>,
    kind_index: HashMap<String, usize>,
    other_kinds: u64,
    outcomes: Vec<(String, u64)>,
    key: String,
    kind: String,
}

impl SummarySheet {
    /// Counts one non-blank row's problems.
    pub fn add_row(&mut self, problems: &[Problem]) {
        self.rows += 1;
        let mut errors = 0;
        for p in problems {
            match p.severity {
                Severity::Error => errors += 1,
                Severity::Warning => self.warnings += 1,
            }
            self.add_problem(p);
        }
        self.errors += errors;
        if errors > 0 {
            self.rows_with_errors += 1;
        } else if !problems.is_empty() {
            self.rows_with_warnings_only += 1;
        }
    }

    pub fn add_outcome(&mut self, outcome: &str) {
        match self.outcomes.iter_mut().find(|(o, _)| o == outcome) {
            Some((_, n)) => *n += 1,
            None => self.outcomes.push((outcome.to_string(), 1)),
        }
    }

    fn add_problem(&mut self, p: &Problem) {
        let (e, w) = match p.severity {
            Severity::Error => (1, 0),
            Severity::Warning => (0, 1),
        };
        match self
            .fields
            .iter_mut()
            .find(|t| t.field == p.field && t.header == p.header)
        {
            Some(t) => {
                t.errors += e;
                t.warnings += w;
            }
            None => self.fields.push(FieldTally {
                field: p.field,
                header: p.header.clone(),
                errors: e,
                warnings: w,
            }),
        }

        kind_of(&p.message, &mut self.kind);
        self.key.clear();
        self.key.push_str(severity_word(p.severity));
        for part in [p.field, p.header.as_str(), self.kind.as_str()] {
            self.key.push('\u{1f}');
            self.key.push_str(part);
        }
        if let Some(&i) = self.kind_index.get(self.key.as_str()) {
            self.kinds[i].count += 1;
        } else if self.kinds.len() < MAX_KINDS {
            self.kind_index.insert(self.key.clone(), self.kinds.len());
            self.kinds.push(KindTally {
                severity: p.severity,
                field: p.field,
                header: p.header.clone(),
                kind: self.kind.clone(),
                count: 1,
                first_row: p.row,
                example: p.value.chars().take(200).collect(),
            });
        } else {
            self.other_kinds += 1;
        }
    }

    /// Writes the sheet: totals, then problems by field and by kind, largest first. Returns
    /// its column widths.
    pub fn write(&self, out: &mut SheetXml) -> Vec<f64> {
        out.row(0);
        out.string(0, "Annotated by custbulk", Style::Bold);
        let r = self.write_totals(out, 2);
        let r = self.write_fields(out, r + 1);
        self.write_kinds(out, r + 1);
        out.end_row();
        vec![60.0, 20.0, 20.0, 10.0, 10.0, 10.0, 30.0]
    }

    /// The counts of rows, problems and outcomes from row `r`; returns the next free row.
    fn write_totals(&self, out: &mut SheetXml, mut r: u32) -> u32 {
        let mut totals: Vec<(String, u64)> = vec![
            ("Rows".into(), self.rows),
            ("Rows with errors".into(), self.rows_with_errors),
            (
                "Rows with warnings only".into(),
                self.rows_with_warnings_only,
            ),
            (
                "Rows without problems".into(),
                self.rows - self.rows_with_errors - self.rows_with_warnings_only,
            ),
            ("Blank rows (left blank)".into(), self.blank_rows),
            ("Errors".into(), self.errors),
            ("Warnings".into(), self.warnings),
        ];
        let mut outcomes: Vec<&(String, u64)> = self.outcomes.iter().collect();
        outcomes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        totals.extend(outcomes.iter().map(|(o, n)| (format!("Rows {o}"), *n)));
        if self.cut_cells > 0 {
            totals.push((
                "Cells cut to 32,767 characters (Excel's limit)".into(),
                self.cut_cells,
            ));
        }
        for (label, n) in &totals {
            out.row(r);
            out.string(0, label, Style::Plain);
            out.number(1, *n);
            r += 1;
        }
        if self.notes_skipped > 0 {
            r += 1;
            out.row(r);
            out.string(
                0,
                &format!(
                    "Notes were added to the first {} flagged cells only, to keep the file \
                     quick to open; {} more flagged cells are coloured without a note. The \
                     Problems column lists every problem.",
                    self.notes, self.notes_skipped
                ),
                Style::Plain,
            );
            r += 1;
        }
        r
    }

    /// Problems by field, most first, from row `r`; returns the next free row.
    fn write_fields(&self, out: &mut SheetXml, r: u32) -> u32 {
        let heads = ["Field", "Column", "Errors", "Warnings", "Total"];
        let mut r = section(out, r, "Problems by field", &heads);
        let mut fields: Vec<&FieldTally> = self.fields.iter().collect();
        fields.sort_by(|a, b| {
            (b.errors + b.warnings)
                .cmp(&(a.errors + a.warnings))
                .then_with(|| b.errors.cmp(&a.errors))
                .then_with(|| a.field.cmp(b.field))
        });
        for t in fields {
            out.row(r);
            out.string(0, field_label(t.field), Style::Plain);
            out.string(1, &t.header, Style::Plain);
            out.number(2, t.errors);
            out.number(3, t.warnings);
            out.number(4, t.errors + t.warnings);
            r += 1;
        }
        r
    }

    /// Problems by kind, most first, from row `r`.
    fn write_kinds(&self, out: &mut SheetXml, r: u32) {
        let heads = [
            "Problem",
            "Field",
            "Column",
            "Severity",
            "Count",
            "First row",
            "Example value",
        ];
        let mut r = section(out, r, "Problems by kind", &heads);
        let mut kinds: Vec<&KindTally> = self.kinds.iter().collect();
        kinds.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.first_row.cmp(&b.first_row))
        });
        for k in kinds {
            out.row(r);
            out.string(0, &k.kind, Style::Plain);
            out.string(1, field_label(k.field), Style::Plain);
            out.string(2, &k.header, Style::Plain);
            out.string(3, severity_word(k.severity), Style::Plain);
            out.number(4, k.count);
            out.number(5, k.first_row.into());
            out.string(6, &k.example, Style::Plain);
            r += 1;
        }
        if self.other_kinds > 0 {
            out.row(r);
            out.string(0, "(other kinds)", Style::Plain);
            out.number(4, self.other_kinds);
        }
    }
}

/// A section's bold title and header row from row `r`; returns the row after them.
fn section(out: &mut SheetXml, r: u32, title: &str, heads: &[&str]) -> u32 {
    out.row(r);
    out.string(0, title, Style::Bold);
    out.row(r + 1);
    for (c, h) in heads.iter().enumerate() {
        out.string(c as u16, h, Style::Bold);
    }
    r + 2
}

fn field_label(field: &str) -> &str {
    if field.is_empty() {
        "(row)"
    } else {
        field
    }
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The message with its values taken out, so that problems of one kind count together:
/// quoted values and numbers become `…`, while explanations in parentheses or brackets and
/// counts of digits (`14 digits`) stay.
///
/// `"12A" is not 14 digits` → `… is not 14 digits`;
/// `siret "552…" already appears on row 4` → `siret … already appears on row …`.
pub(super) fn kind_of(message: &str, out: &mut String) {
    out.clear();
    let mut depth = 0u32;
    let mut chars = message.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                out.push(c);
            }
            ')' | ']' | '}' => {
                depth = depth.saturating_sub(1);
                out.push(c);
            }
            '"' if depth == 0 => {
                let mut escaped = false;
                for (_, d) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if d == '\\' {
                        escaped = true;
                    } else if d == '"' {
                        break;
                    }
                }
                out.push('…');
            }
            '0'..='9' if depth == 0 => {
                let mut end = i + 1;
                while let Some(&(j, d)) = chars.peek() {
                    if !d.is_ascii_digit() {
                        break;
                    }
                    end = j + 1;
                    chars.next();
                }
                if message[end..].starts_with(" digit") {
                    out.push_str(&message[i..end]);
                } else {
                    out.push('…');
                }
            }
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(m: &str) -> String {
        let mut out = String::new();
        kind_of(m, &mut out);
        out
    }

    #[test]
    fn values_leave_the_kind_and_explanations_stay() {
        assert_eq!(kind(r#""123" is not 14 digits"#), "… is not 14 digits");
        assert_eq!(
            kind(r#"siret "55212022200013" already appears on row 4"#),
            "siret … already appears on row …"
        );
        assert_eq!(
            kind("the RCS's SIREN 552120222 differs from the SIRET's first 9 digits 732829320"),
            "the RCS's SIREN … differs from the SIRET's first 9 digits …"
        );
        assert_eq!(
            kind(r#""2 5" is not a whole number (write digits, e.g. 2 000 000)"#),
            "… is not a whole number (write digits, e.g. 2 000 000)"
        );
        assert_eq!(
            kind(r#""a \"quoted\" b" has no Arabic letters"#),
            "… has no Arabic letters"
        );
        assert_eq!(
            kind(
                r#"contacts must be a JSON array of objects such as [{"name":"J"}]: expected value at line 1 column 2"#
            ),
            r#"contacts must be a JSON array of objects such as [{"name":"J"}]: expected value at line … column …"#
        );
    }

    #[test]
    fn kinds_are_capped() {
        let mut s = SummarySheet::default();
        for i in 0..(MAX_KINDS + 10) {
            let p = Problem {
                row: 2,
                column: "A".into(),
                header: "Nom".into(),
                field: "name",
                severity: Severity::Error,
                message: format!("odd {}", "x".repeat(i)),
                value: String::new(),
            };
            s.add_row(std::slice::from_ref(&p));
        }
        assert_eq!(s.kinds.len(), MAX_KINDS);
        assert_eq!(s.other_kinds, 10);
        assert_eq!(s.errors, (MAX_KINDS + 10) as u64);
    }
}
