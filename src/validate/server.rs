//! `validate --server`: each checked row against the customers already on the server, as
//! warnings on the row, before any import. A row that would create a customer is checked for
//! likely duplicates (with the customer's id and what matched); a row that updates or deletes
//! is looked up by its key, so a key that finds nobody, or two customers, is said now rather
//! than as a failed row of the import.
//!
//! What the server says is a warning, never an error: the file itself may be right, and the
//! server may change before the import.

use std::path::Path;

use super::{Action, Checked, Mode, Problem, Severity};
use crate::api::Client;
use crate::lookup::duplicates::{decide, Likeness, OnDuplicate};
use crate::lookup::{read_list, Found, Index, Keys, Needs};
use crate::mapping::Mapping;

/// The server's customers, indexed, and what is needed to say where a row's findings go.
pub struct Against {
    index: Index,
    keys: Keys,
    mode: Mode,
    /// The name column, where a likely duplicate is marked.
    name: Place,
    /// Each key's first field's column, where what its lookup found is said.
    key_columns: Vec<Place>,
}

/// Where a finding goes: a field, and its column when the sheet has one.
#[derive(Clone)]
struct Place {
    field: &'static str,
    column: Option<(usize, String, String)>,
}

impl Against {
    /// Reads the server's list once, indexed for what rows of `mode` (or of an `_action`
    /// column, `actions`) need; the index's records are spooled beside `beside`.
    pub async fn read(
        client: &Client,
        mapping: &Mapping,
        keys: Option<&Keys>,
        mode: Mode,
        actions: bool,
        beside: &Path,
    ) -> anyhow::Result<Against> {
        let keys = match keys {
            Some(keys) => keys.clone(),
            None => Keys::parse("name").expect("name is a field"),
        };
        let needs = Needs {
            keys: (mode != Mode::Create || actions).then(|| keys.clone()),
            likely: matches!(mode, Mode::Create | Mode::Upsert) || actions,
        };
        crate::info!(
            "Reading the customers on the server once, to {}...",
            needs.purpose()
        );
        let index = read_list(client, &needs, beside).await?;
        let column = |field: &'static str| Place {
            field,
            column: mapping
                .column_of_field(field)
                .map(|c| (c.index, c.letter.clone(), c.header.clone())),
        };
        let key_columns = keys.iter().map(|k| column(k.parts()[0].name())).collect();
        Ok(Against {
            index,
            keys,
            mode,
            name: column("name"),
            key_columns,
        })
    }

    /// Customers indexed.
    pub fn customers(&self) -> u64 {
        self.index.records
    }

    /// What the server says of a valid row, as warnings.
    pub fn check(&self, row: &Checked) -> anyhow::Result<Vec<Problem>> {
        if row.blank_row || !row.is_valid() {
            return Ok(Vec::new());
        }
        let mode = match row.action {
            Some(Action::Do(mode)) => mode,
            Some(Action::Ignore | Action::Done) => return Ok(Vec::new()),
            None => self.mode,
        };
        let body = row.record();
        let mut found = Vec::new();
        if mode != Mode::Create {
            if let Some(picked) = self.keys.pick(&body, row.id()) {
                let column = &self.key_columns[picked.key];
                let fails = |what: String| (column, format!("on the server, {what}"));
                match self.index.find(picked.key, &picked.value)? {
                    Found::One(_) => return Ok(Vec::new()),
                    Found::Many(n) => found.push(fails(format!(
                        "{n} customers have {picked}: the import would fail this row"
                    ))),
                    Found::None if mode == Mode::Update => found.push(fails(format!(
                        "no customer has {picked}: the update would fail this row"
                    ))),
                    Found::None if mode == Mode::Delete => found.push(fails(format!(
                        "no customer has {picked}: nothing to delete"
                    ))),
                    Found::None => {}
                }
            }
        }
        if matches!(mode, Mode::Create | Mode::Upsert) {
            let resembling = self.index.resembling(&Likeness::of_record(&body))?;
            if let Ok(crate::lookup::duplicates::Decision::Create(Some(likely))) =
                decide(resembling, OnDuplicate::Create)
            {
                found.push((&self.name, likely.describe(" on the server")));
            }
        }
        Ok(found
            .into_iter()
            .map(|(place, message)| {
                let (value, letter, header) = match &place.column {
                    Some((i, letter, header)) => (
                        row.cells.get(*i).unwrap_or("").to_string(),
                        letter.clone(),
                        header.clone(),
                    ),
                    None => Default::default(),
                };
                Problem {
                    row: row.row,
                    column: letter,
                    header,
                    field: place.field,
                    severity: Severity::Warning,
                    message,
                    value,
                }
            })
            .collect())
    }
}
