//! The checks that look across a row's fields (RCS against SIRET, a name to create, contacts
//! gathered from column groups), run after every field of the row has been coerced. The
//! checks across rows (a key or a customer seen before) are in [`super::repeats`].

use super::field::too_long;
use super::record::{State, CONTACT_KEYS};
use super::{cell_of, coerce, problem, Action, Checked, Mode, Problem, Severity, Validator};
use crate::read::Cells;

/// The most characters one key of a contact (name, e-mail, phone, role) may hold.
const CONTACT_CHARS: usize = 1_000;

/// A phone number of 9 digits and no leading 0: what a number cell leaves of `0612345678`.
/// Numbers in France, Morocco and Algeria have 10 digits from their 0 (Tunisia's have 8), and
/// one typed by hand keeps its spaces or its `+`.
fn lost_leading_zero(phone: &str) -> bool {
    phone.len() == 9 && !phone.starts_with('0') && phone.bytes().all(|b| b.is_ascii_digit())
}

impl Validator {
    /// What reading found: a row longer or shorter than the header (a warning), and the
    /// row's [`RowIssue`](crate::read::RowIssue)s (a JSON record that is not an object, bytes
    /// that are not UTF-8, a formula with no saved value).
    pub(super) fn reading_problems(&self, out: &mut Checked) {
        if let Some(n) = out.ragged {
            let want = self.columns.len();
            out.problems.push(Problem {
                row: out.row,
                column: String::new(),
                header: String::new(),
                field: "",
                severity: Severity::Warning,
                message: format!(
                    "the row has {} but the header has {}",
                    counted(n, "cell"),
                    counted(want, "column")
                ),
                value: String::new(),
            });
        }
        for issue in &out.issues {
            let (column, header) = issue
                .column
                .and_then(|c| self.columns.get(c))
                .cloned()
                .unwrap_or_default();
            out.problems.push(Problem {
                row: out.row,
                column,
                header,
                field: issue.column.map_or("", |c| self.field_of(c)),
                severity: if issue.error {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                message: issue.message.clone(),
                value: cell_of(&out.cells, issue.column).to_string(),
            });
        }
    }

    /// The field column `c` feeds, as problems name it; empty when it feeds none.
    fn field_of(&self, c: usize) -> &'static str {
        if self.id_col == Some(c) {
            return crate::schema::ID;
        }
        if self.groups.iter().any(|g| g.cols.contains(&Some(c))) {
            return "contacts";
        }
        self.fields
            .iter()
            .find(|p| p.col == Some(c))
            .map_or("", |p| p.field.name)
    }

    pub(super) fn check_contacts(&mut self, cells: &Cells, out: &mut Checked) {
        if self.groups.is_empty() {
            return;
        }
        let list = &mut out.contacts;
        let mut invalid = false;
        for g in &self.groups {
            if list.groups.len() <= list.used {
                list.groups.push(Default::default());
            }
            let contact = &mut list.groups[list.used];
            let mut any = false;
            for (k, col) in g.cols.iter().enumerate() {
                let cell = coerce::cell_text(col.and_then(|c| cells.get(c)).unwrap_or(""));
                if out.cells_nfc {
                    contact[k].clear();
                    contact[k].push_str(cell);
                } else {
                    coerce::clean_text(cell, &mut contact[k]);
                }
                any |= !contact[k].is_empty();
            }
            let mut long = false;
            for (k, col) in g.cols.iter().enumerate() {
                // Bytes bound characters: the message is made only for a long cell.
                if contact[k].len() <= CONTACT_CHARS {
                    continue;
                }
                let what = format!("a contact's {}", CONTACT_KEYS[k]);
                if let Some((start, msg)) = too_long(&contact[k], CONTACT_CHARS, &what) {
                    let p = problem(
                        out.row,
                        *col,
                        "contacts",
                        Severity::Error,
                        msg,
                        &start,
                        &self.columns,
                    );
                    out.problems.push(p);
                    long = true;
                }
            }
            invalid |= long;
            let email = &contact[1];
            if !long && !email.is_empty() && !coerce::is_email(email) {
                let msg = format!("{email:?} is not an e-mail address (name@example.com)");
                out.problems.push(problem(
                    out.row,
                    g.cols[1],
                    "contacts",
                    Severity::Error,
                    msg,
                    cell_of(cells, g.cols[1]),
                    &self.columns,
                ));
            }
            let phone = &contact[2];
            if !long && lost_leading_zero(phone) {
                let msg = format!(
                    "{phone:?} has 9 digits: a French, Moroccan or Algerian number has 10, so its \
                     leading 0 was probably lost in a cell formatted as a number; write \"0{phone}\" \
                     in a column formatted as text"
                );
                out.problems.push(problem(
                    out.row,
                    g.cols[2],
                    "contacts",
                    Severity::Warning,
                    msg,
                    cell_of(cells, g.cols[2]),
                    &self.columns,
                ));
            }
            if any {
                list.used += 1;
            }
        }
        out.slots[self.at.contacts].state = if invalid {
            State::Invalid
        } else if list.used > 0 {
            State::Ok
        } else {
            State::Blank
        };
    }

    pub(super) fn check_rcs(&self, out: &mut Checked) {
        let (rcs, siret) = (self.at.rcs, self.at.siret);
        if out.slots[rcs].state != State::Ok || out.slots[siret].state != State::Ok {
            return;
        }
        let Some(siren) = coerce::rcs_siren(out.slots[rcs].text(&out.cells)) else {
            return;
        };
        let siret_text = out.slots[siret].text(&out.cells);
        if siret_text.as_bytes()[..9] != siren {
            let siren = String::from_utf8_lossy(&siren).into_owned();
            let msg = format!(
                "the RCS's SIREN {siren} differs from the SIRET's first 9 digits {}",
                &siret_text[..9]
            );
            let col = self
                .fields
                .iter()
                .find(|p| p.slot == rcs)
                .and_then(|p| p.col);
            let value = out.slots[rcs].text(&out.cells).to_string();
            out.problems.push(problem(
                out.row,
                col,
                "rcs",
                Severity::Warning,
                msg,
                &value,
                &self.columns,
            ));
        }
    }

    /// Whether this row would create a customer its `_outcome` says exists already: `created`,
    /// `updated` or `unchanged` by the import that wrote the file. Importing the file again
    /// then creates only the rows that were fixed, never a second copy of the others.
    pub(super) fn created_before(&self, out: &Checked) -> bool {
        let Some(c) = self.outcome_col else {
            return false;
        };
        let outcome = coerce::trim(cell_of(&out.cells, Some(c)));
        self.mode_of(out) == Mode::Create
            && ["created", "updated", "unchanged"]
                .iter()
                .any(|o| outcome.eq_ignore_ascii_case(o))
    }

    /// The mode this row is imported in: its own action, else the run's.
    pub(super) fn mode_of(&self, out: &Checked) -> Mode {
        match out.action {
            Some(Action::Do(mode)) => mode,
            _ => self.mode,
        }
    }

    pub(super) fn check_name(&self, out: &mut Checked) {
        if self.mode_of(out).finds_existing() {
            return;
        }
        let slot = self.at.name;
        if out.slots[slot].state == State::Blank {
            let col = self
                .fields
                .iter()
                .find(|p| p.slot == slot)
                .and_then(|p| p.col);
            let msg = "name is required to create a customer, and this row has none".to_string();
            out.problems.push(problem(
                out.row,
                col,
                "name",
                Severity::Error,
                msg,
                "",
                &self.columns,
            ));
        }
    }
}

/// `1 cell`, `3 cells`.
fn counted(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
