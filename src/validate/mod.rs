//! Validation: cells become typed field values, and every departure from the rules becomes a
//! [`Problem`] that names row, column, header, field and value.
//!
//! The rules are DESIGN.md's "Data rules": booleans in English and French, integers with
//! thousands separators, trimmed NFC text, SIRET with its checksum, RCS against SIRET, Arabic
//! script in the Arabic fields, e-mails in contacts, `name` to create, a match key that
//! appears once per file, and a warning for rows likely to be the same customer. A [`Validator`] is built once per sheet from its [`Mapping`] (all
//! configuration mistakes surface then, as usage errors) and checks rows into a reused
//! [`Checked`].

mod across;
pub mod coerce;
mod field;
mod keys;
pub(crate) mod made;
pub(crate) mod mojibake;
mod plan;
mod record;
mod repeats;
pub mod sample;
pub mod server;
mod table;

use serde::Serialize;

use crate::error;
use crate::lookup::key::{Keys, Part};
use crate::mapping::{Mapping, Target};
use crate::read::Cells;
use crate::schema::FIELDS;
use field::{coerce_field, run_plan, FieldPlan, Input};
pub(crate) use keys::KeyHash;
use keys::KeySet;
use made::Made;
pub use record::{Checked, ContactList, FieldValue};

/// What an import will do with the rows, which decides what a row needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every row is a new customer: `name` is required.
    #[default]
    Create,
    /// Every row names an existing customer by its id or `--match-on` key.
    Update,
    /// Update the customer the key finds, else create one: `name` is required.
    Upsert,
    /// Every row names a customer to delete by its id or `--match-on` key.
    Delete,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Create => "create",
            Mode::Update => "update",
            Mode::Upsert => "upsert",
            Mode::Delete => "delete",
        }
    }

    /// Modes that find an existing customer and need nothing else from the row.
    pub fn finds_existing(self) -> bool {
        matches!(self, Mode::Update | Mode::Delete)
    }
}

/// What one row asks for in an `_action` column: a mode of its own, or to be left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Do(Mode),
    Ignore,
    /// Not from `_action`: the row's `_outcome` (a results file or an import's annotated copy
    /// read back) says its customer was created or updated already, so creating it would make
    /// a duplicate. Left out like `Ignore`.
    Done,
}

impl Action {
    /// Reads an action cell: English or French, any case, accents optional.
    pub fn parse(text: &str) -> Option<Action> {
        let mut word = String::new();
        crate::mapping::normalize(text, &mut word);
        Some(match word.as_str() {
            "create" | "creer" | "creation" | "nouveau" => Action::Do(Mode::Create),
            "update" | "modifier" | "modification" | "mettreajour" => Action::Do(Mode::Update),
            "upsert" => Action::Do(Mode::Upsert),
            "delete" | "supprimer" | "suppression" => Action::Do(Mode::Delete),
            "ignore" | "ignorer" | "skip" => Action::Ignore,
            _ => return None,
        })
    }
}

/// Options that change what a row must satisfy.
#[derive(Debug, Clone, Default)]
pub struct ValidateOptions {
    pub mode: Mode,
    /// The keys that find a row's customer, as `--match-on` gives them (`siret,name+zipCode`;
    /// see [`crate::lookup::key`]). Default: the id column when mapped, else siret when
    /// mapped, else name.
    pub match_on: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The row cannot be imported.
    Error,
    /// The row can be imported, but something looks wrong.
    Warning,
}

/// One thing wrong with one cell (or one row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Spreadsheet row number.
    pub row: u32,
    /// Column letter such as `F`; empty for a row-level problem or a mapping-file default.
    pub column: String,
    /// The column's header; `(default)` for a mapping-file default.
    pub header: String,
    /// The customer field (`contacts` for every contact column, `id` for the id column);
    /// empty for a row-level problem.
    pub field: &'static str,
    pub severity: Severity,
    /// A sentence that quotes the value and says the expected form: `"123" is not 14 digits`.
    pub message: String,
    /// The cell as read.
    pub value: String,
}

/// One contact's columns: `[name, email, phone, role]`.
#[derive(Clone)]
struct GroupPlan {
    cols: [Option<usize>; 4],
}

/// Checks rows of one sheet. Holds the plan derived from the mapping and the match keys seen
/// so far.
pub struct Validator {
    fields: Vec<FieldPlan>,
    /// The values the mapping file's transforms make of each row.
    made: Made,
    groups: Vec<GroupPlan>,
    id_col: Option<usize>,
    /// The `_action` column, when the sheet has one.
    action_col: Option<usize>,
    /// The `_outcome` column of a results file or annotated copy read back.
    outcome_col: Option<usize>,
    /// The keys rows are matched on, when there are any.
    matching: Option<plan::MatchKeys>,
    mode: Mode,
    /// (letter, header) per column, for problems.
    columns: Vec<(String, String)>,
    keys: KeySet,
    /// The `fields` entries of the keys' fields, checked before the others.
    key_plans: Vec<usize>,
    /// Reused buffer for text being cleaned.
    scratch: String,
    /// Reused buffer for a key as the key table holds it.
    key_scratch: String,
    /// The rows seen so far that would create a customer, for likely duplicates.
    lookalikes: repeats::Lookalikes,
    /// `Checked::slots` indices of the fields the row-level checks read.
    at: Slots,
}

#[derive(Clone, Copy)]
struct Slots {
    name: usize,
    siret: usize,
    rcs: usize,
    contacts: usize,
    zip: usize,
    city: usize,
}

fn slot_of(name: &str) -> usize {
    FIELDS
        .iter()
        .position(|f| f.name == name)
        .expect("schema field")
}

impl Validator {
    /// Builds the checks for a sheet. Every configuration mistake is a usage error (exit 2):
    /// a mapping conflict, `--match-on` naming nothing, update without a way to find the
    /// customer, create without a name column, a default that is not valid.
    pub fn new(mapping: &Mapping, opts: &ValidateOptions) -> anyhow::Result<Validator> {
        mapping.check().map_err(|e| error::usage(e.to_string()))?;
        let fields = plan::field_plans(mapping);
        let id_col = mapping.column_of(Target::Id).map(|c| c.index);
        let matching = plan::match_keys(mapping, opts, id_col)?;
        let action_col = mapping
            .columns
            .iter()
            .find(|c| c.target == Target::Ignore(crate::mapping::Ignored::Action))
            .map(|c| c.index);
        let outcome_col = mapping
            .columns
            .iter()
            .find(|c| {
                c.header
                    .trim()
                    .eq_ignore_ascii_case(crate::schema::columns::OUTCOME)
            })
            .map(|c| c.index);
        plan::require_name(&fields, opts, action_col)?;
        let mut v = Validator {
            fields,
            made: Made::new(mapping),
            groups: plan::contact_groups(mapping),
            id_col,
            action_col,
            outcome_col,
            matching,
            mode: opts.mode,
            columns: mapping
                .columns
                .iter()
                .map(|c| (c.letter.clone(), c.header.clone()))
                .collect(),
            keys: KeySet::default(),
            key_plans: Vec::new(),
            scratch: String::new(),
            key_scratch: String::new(),
            lookalikes: repeats::Lookalikes::default(),
            at: Slots {
                name: slot_of("name"),
                siret: slot_of("siret"),
                rcs: slot_of("rcs"),
                contacts: slot_of("contacts"),
                zip: slot_of("zipCode"),
                city: slot_of("city"),
            },
        };
        if let Some(matching) = &v.matching {
            for key in matching.keys.iter() {
                for part in key.parts() {
                    let plan = match part {
                        Part::Field(slot) => v.fields.iter().position(|p| p.slot == *slot),
                        Part::Id => None,
                    };
                    if let Some(plan) = plan.filter(|p| !v.key_plans.contains(p)) {
                        v.key_plans.push(plan);
                    }
                }
            }
        }
        v.check_defaults()?;
        Ok(v)
    }

    /// Refuses a mapping file whose defaults would not pass their own field's rules.
    fn check_defaults(&self) -> anyhow::Result<()> {
        let (mut probe, mut scratch, no_cells) = (Checked::new(), String::new(), Cells::new());
        let input = self.input(&no_cells, 0);
        for plan in &self.fields {
            let Some(default) = &plan.default else {
                continue;
            };
            probe.reset();
            coerce_field(
                plan,
                default,
                None,
                false,
                None,
                &input,
                &mut probe,
                &mut scratch,
            );
            if let Some(p) = probe
                .problems
                .iter()
                .find(|p| p.severity == Severity::Error)
            {
                return Err(error::usage(format!(
                    "the mapping file's default for {}: {}",
                    plan.field.name, p.message
                )));
            }
        }
        Ok(())
    }

    /// The keys rows are matched on, when there are any.
    pub fn keys(&self) -> Option<&Keys> {
        self.matching.as_ref().map(|m| &m.keys)
    }

    /// Whether a column (or a default) feeds `name_ar` or `address_ar`.
    pub(crate) fn has_arabic_fields(&self) -> bool {
        self.fields.iter().any(|p| p.rule == field::Rule::Arabic)
    }

    /// Checks the row in `out.row` / `out.cells` (and `out.ragged`), filling the rest of `out`.
    pub fn check(&mut self, out: &mut Checked) {
        self.check_alone(out);
        self.check_across(out);
    }

    /// The checks of [`Validator::check`] that [`Validator::check_alone`] leaves: a key seen
    /// on an earlier row and a likely duplicate of one. Rows must come in file order.
    pub fn check_across(&mut self, out: &mut Checked) {
        self.check_key(out);
        self.check_likely(out);
    }

    /// Asks the CPU to fetch the table slots [`Validator::check_across`] will read for `row`,
    /// a row checked alone on another thread, a few rows ahead of it.
    pub fn prefetch_across(&self, row: &Checked) {
        if let Some(h) = row.key_hash {
            self.keys.prefetch(h);
        }
        self.lookalikes.prefetch(&row.likely);
    }

    /// A validator for [`Validator::check_alone`] on another thread: the same plans, and the
    /// same hashes of keys and likely duplicates, which [`Validator::check_across`] here then
    /// looks up; none of the rows seen.
    pub(crate) fn apart(&self) -> Validator {
        Validator {
            fields: self.fields.clone(),
            made: self.made.clone(),
            groups: self.groups.clone(),
            id_col: self.id_col,
            action_col: self.action_col,
            outcome_col: self.outcome_col,
            matching: self.matching.clone(),
            mode: self.mode,
            columns: self.columns.clone(),
            keys: self.keys.apart(),
            key_plans: self.key_plans.clone(),
            scratch: String::new(),
            key_scratch: String::new(),
            lookalikes: self.lookalikes.apart(),
            at: self.at,
        }
    }

    /// The checks of [`Validator::check`] that need this row alone: all but a key seen on an
    /// earlier row and a likely duplicate of one, which need every row before it, in order. For
    /// a row edited after its file was checked (the page): checking it again does not disturb
    /// what the validator remembers of the other rows.
    pub fn check_alone(&mut self, out: &mut Checked) {
        self.check_row(out);
        out.alone = out.problems.len();
    }

    /// Every check that needs this row alone: all but the repeated key. Leaves the row's key
    /// and its hash in `out` for [`Validator::check_key`], which must follow, in row order.
    fn check_row(&mut self, out: &mut Checked) {
        out.reset();
        if out.cells.is_blank() {
            // A record that could not be read has no cells, and an error saying why.
            if out.issues.iter().any(|i| i.error) {
                self.reading_problems(out);
            } else {
                out.blank_row = true;
            }
            return;
        }
        let row = out.row;
        self.reading_problems(out);
        if let Some(c) = self.action_col {
            let cell = coerce::trim(cell_of(&out.cells, Some(c)));
            if !cell.is_empty() {
                match Action::parse(cell) {
                    Some(Action::Ignore) => {
                        // Left out on purpose: nothing else about the row matters.
                        out.action = Some(Action::Ignore);
                        return;
                    }
                    Some(action) => out.action = Some(action),
                    None => {
                        let msg = format!(
                            "{cell:?} is not an action: use create, update, upsert, delete or ignore \
                             (créer, modifier, supprimer, ignorer)"
                        );
                        let value = cell.to_string();
                        out.problems.push(problem(
                            row,
                            Some(c),
                            "",
                            Severity::Error,
                            msg,
                            &value,
                            &self.columns,
                        ));
                    }
                }
            }
        }
        if self.created_before(out) {
            out.action = Some(Action::Done);
            return;
        }
        out.cells_nfc = out.cells.surely_nfc();
        let cells = std::mem::take(&mut out.cells);
        if let Some(c) = self.id_col {
            coerce::clean_text(coerce::cell_text(cells.get(c).unwrap_or("")), &mut out.id);
        }
        self.made.run(&cells, row, &self.columns, &mut out.problems);
        // Taken for the loops, which read the rest of `self`, and put back: no allocation.
        let mut scratch = std::mem::take(&mut self.scratch);
        // The keys first, so the key's table slot is fetched while the rest of the row is
        // checked.
        for &k in &self.key_plans {
            run_plan(&self.fields[k], &self.input(&cells, row), out, &mut scratch);
        }
        self.prepare_key(&cells, out);
        let input = self.input(&cells, row);
        for (i, plan) in self.fields.iter().enumerate() {
            if !self.key_plans.contains(&i) {
                run_plan(plan, &input, out, &mut scratch);
            }
        }
        self.scratch = scratch;
        // Fetched while contacts, RCS and name are checked.
        self.prepare_likely(&cells, out);
        self.check_contacts(&cells, out);
        out.cells = cells;
        self.check_rcs(out);
        self.check_name(out);
        if out.problems.len() > 1 {
            out.problems
                .sort_by(|a, b| column_order(&a.column, &b.column));
        }
    }
}

impl Validator {
    /// Row `row` of `cells` as the field plans read it.
    fn input<'a>(&'a self, cells: &'a Cells, row: u32) -> Input<'a> {
        Input {
            cells,
            made: &self.made,
            row,
            columns: &self.columns,
        }
    }
}

fn cell_of(cells: &Cells, col: Option<usize>) -> &str {
    col.and_then(|c| cells.get(c)).unwrap_or("")
}

/// Orders problems by column: row-level first, then A, B, ..., Z, AA.
fn column_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

pub(crate) fn problem(
    row: u32,
    col: Option<usize>,
    field: &'static str,
    severity: Severity,
    message: String,
    value: &str,
    columns: &[(String, String)],
) -> Problem {
    let (column, header) = match col.and_then(|c| columns.get(c)) {
        Some((l, h)) => (l.clone(), h.clone()),
        None => (String::new(), "(default)".to_string()),
    };
    Problem {
        row,
        column,
        header,
        field,
        severity,
        message,
        value: value.to_string(),
    }
}

#[cfg(test)]
mod tests;
