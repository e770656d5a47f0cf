//! [`Checked`]: one row after validation, reused from row to row so that checking a million
//! rows allocates next to nothing.

use serde_json::{Map, Value};

use super::Problem;
use super::Severity;
use crate::read::{Cells, RowIssue};
use crate::schema::{Field, Kind, FIELDS};

/// The state of one field in one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum State {
    /// No column feeds the field and there is no default: not part of the row.
    #[default]
    Absent,
    /// A column feeds the field but this row's cell is blank (and there is no default).
    Blank,
    /// A valid value, in the slot's `text`, `int` or `flag` by the field's kind.
    Ok,
    /// The cell did not coerce; a problem says why.
    Invalid,
}

/// Storage for one field's value, reused across rows.
#[derive(Debug, Clone, Default)]
pub(crate) struct Slot {
    pub state: State,
    /// A text value that differs from its cell (trimmed, NFC-composed, translated, default).
    pub text: String,
    /// A text value that is exactly `cells[col][start..end]`: nearly every cell, not copied.
    pub cell: Option<(u32, u32, u32)>,
    pub int: i64,
    pub flag: bool,
}

impl Slot {
    /// The text value, from the row's cells or from the slot's own buffer.
    pub fn text<'a>(&'a self, cells: &'a Cells) -> &'a str {
        match self.cell {
            Some((col, start, end)) => cells
                .get(col as usize)
                .and_then(|c| c.get(start as usize..end as usize))
                .unwrap_or(""),
            None => &self.text,
        }
    }
}

/// The contacts of one row: parsed from a JSON column, or gathered from column groups.
#[derive(Debug, Clone, Default)]
pub struct ContactList {
    /// From a `contacts` column.
    pub(crate) json: Option<Value>,
    /// From column groups: `[name, email, phone, role]` per contact; the first `used` hold data.
    pub(crate) groups: Vec<[String; 4]>,
    pub(crate) used: usize,
}

/// The keys of a contact object, in the order of `ContactList::groups` (and of
/// [`crate::schema::CONTACT_KEYS`], which a test checks).
pub(crate) const CONTACT_KEYS: [&str; 4] = ["name", "email", "phone", "role"];

#[test]
fn contact_keys_follow_the_schema() {
    let schema: Vec<&str> = crate::schema::CONTACT_KEYS.iter().map(|k| k.key).collect();
    assert_eq!(schema, CONTACT_KEYS);
}

impl ContactList {
    /// The contacts as the API takes them: an array of objects, empty keys and empty contacts
    /// left out.
    pub fn to_json(&self) -> Value {
        if let Some(v) = &self.json {
            return v.clone();
        }
        let list = self.groups[..self.used]
            .iter()
            .map(|c| {
                let mut obj = Map::new();
                for (k, v) in CONTACT_KEYS.iter().zip(c) {
                    if !v.is_empty() {
                        obj.insert((*k).to_string(), Value::String(v.clone()));
                    }
                }
                Value::Object(obj)
            })
            .collect();
        Value::Array(list)
    }

    pub(crate) fn reset(&mut self) {
        self.json = None;
        self.used = 0;
    }
}

/// A valid value of one field, borrowed from a [`Checked`].
#[derive(Debug, Clone, Copy)]
pub enum FieldValue<'a> {
    Bool(bool),
    Int(i64),
    Text(&'a str),
    Contacts(&'a ContactList),
}

impl FieldValue<'_> {
    /// The value with the JSON type the API expects.
    pub fn to_json(&self) -> Value {
        match *self {
            FieldValue::Bool(b) => Value::Bool(b),
            FieldValue::Int(i) => Value::from(i),
            FieldValue::Text(s) => Value::String(s.to_string()),
            FieldValue::Contacts(c) => c.to_json(),
        }
    }
}

/// One row after validation: its cells, its problems and its typed values.
///
/// Made once with [`Checked::new`] and refilled by every [`super::Validator::check`] (or
/// `Pipeline::next`): buffers are reused, so keep one and pass it again.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The spreadsheet row number (the header row is 1 when it is the sheet's first row).
    pub row: u32,
    /// The row's cells as read, one per header: the import writes them back to its results.
    pub cells: Cells,
    /// Every cell is surely in NFC (one scan of the whole row spares one per field).
    pub(crate) cells_nfc: bool,
    /// Set by the reader when the row had a different number of cells than the header.
    pub ragged: Option<usize>,
    /// What the reader found wrong with the row (see [`RowIssue`]); each becomes a problem.
    pub issues: Vec<RowIssue>,
    /// Every cell is blank: the row is skipped and counted, and nothing else is filled.
    pub blank_row: bool,
    /// Errors and warnings of this row, in column order; those found across rows follow.
    pub problems: Vec<Problem>,
    /// Where the problems found across rows (see [`Checked::across_rows`]) begin.
    pub(crate) alone: usize,
    pub(crate) slots: Vec<Slot>,
    pub(crate) contacts: ContactList,
    pub(crate) id: String,
    pub(crate) key: String,
    /// Which of the keys the row has (its place in the list), when `key` is set.
    pub(crate) key_index: u8,
    pub(crate) has_key: bool,
    /// The row's own action from an `_action` column, when it has one.
    pub action: Option<super::Action>,
    /// The checks of the row alone are done (on the thread that read it): the checks across
    /// rows are left to do ([`super::Validator::check_across`]).
    pub(crate) checked_alone: bool,
    /// Between `Validator::check_row` and `check_likely`: the row's likely-duplicate values.
    pub(crate) likely: super::repeats::Probes,
    /// Between `Validator::check_row` and `check_key`: the key's state and hash.
    pub(crate) key_state: State,
    pub(crate) key_hash: Option<super::KeyHash>,
}

impl Default for Checked {
    fn default() -> Checked {
        Checked::new()
    }
}

impl Checked {
    pub fn new() -> Checked {
        Checked {
            row: 0,
            cells: Cells::new(),
            cells_nfc: false,
            ragged: None,
            issues: Vec::new(),
            blank_row: false,
            problems: Vec::new(),
            alone: 0,
            slots: vec![Slot::default(); FIELDS.len()],
            contacts: ContactList::default(),
            id: String::new(),
            key: String::new(),
            key_index: 0,
            has_key: false,
            action: None,
            checked_alone: false,
            likely: Default::default(),
            key_state: State::Absent,
            key_hash: None,
        }
    }

    /// True when the row has no error (warnings allowed) and is not blank.
    pub fn is_valid(&self) -> bool {
        !self.blank_row && !self.problems.iter().any(|p| p.severity == Severity::Error)
    }

    /// The problems found by comparing the row with the rows before it (a key seen before, a
    /// likely duplicate), after those of the row alone.
    pub fn across_rows(&self) -> &[Problem] {
        &self.problems[self.alone.min(self.problems.len())..]
    }

    /// The id from the id column (`_id` or `id`), when mapped and not blank.
    pub fn id(&self) -> Option<&str> {
        (!self.id.is_empty()).then_some(self.id.as_str())
    }

    /// The match key (id, the first `--match-on` key the row has, else siret, else name) in
    /// its compared form, when the row has a valid one.
    pub fn key(&self) -> Option<&str> {
        self.has_key.then_some(self.key.as_str())
    }

    /// Which of the `--match-on` keys [`Checked::key`] is (its place in the list).
    pub fn key_index(&self) -> Option<usize> {
        self.has_key.then_some(usize::from(self.key_index))
    }

    /// The valid value of `field`, or `None` when absent, blank or invalid.
    pub fn get(&self, field: &str) -> Option<FieldValue<'_>> {
        let i = FIELDS.iter().position(|f| f.name == field)?;
        self.value_at(i)
    }

    /// Every field with a valid value, in schema order.
    pub fn fields(&self) -> impl Iterator<Item = (&'static Field, FieldValue<'_>)> + '_ {
        (0..FIELDS.len()).filter_map(|i| self.value_at(i).map(|v| (&FIELDS[i], v)))
    }

    /// Fields a column feeds whose cell is blank in this row (with no default). On update,
    /// `--blank keep` leaves them alone and `--blank clear` sends them empty.
    pub fn blank_fields(&self) -> impl Iterator<Item = &'static Field> + '_ {
        FIELDS
            .iter()
            .zip(&self.slots)
            .filter(|(_, s)| s.state == State::Blank)
            .map(|(f, _)| f)
    }

    /// The body to send: every field with a valid value, with the API's names and JSON types.
    /// Blank and absent fields are left out; the id never goes in.
    pub fn record(&self) -> Map<String, Value> {
        let mut out = Map::new();
        self.write_record(&mut out);
        out
    }

    /// Like [`Checked::record`], into an existing map (cleared first).
    pub fn write_record(&self, out: &mut Map<String, Value>) {
        out.clear();
        for (f, v) in self.fields() {
            out.insert(f.name.to_string(), v.to_json());
        }
    }

    fn value_at(&self, i: usize) -> Option<FieldValue<'_>> {
        let slot = &self.slots[i];
        if slot.state != State::Ok {
            return None;
        }
        Some(match FIELDS[i].kind {
            Kind::Boolean => FieldValue::Bool(slot.flag),
            Kind::Integer => FieldValue::Int(slot.int),
            Kind::Text => FieldValue::Text(slot.text(&self.cells)),
            Kind::Contacts => FieldValue::Contacts(&self.contacts),
        })
    }

    pub(crate) fn reset(&mut self) {
        self.problems.clear();
        self.alone = 0;
        self.blank_row = false;
        for s in &mut self.slots {
            s.state = State::Absent;
        }
        self.contacts.reset();
        self.id.clear();
        self.key.clear();
        self.has_key = false;
        self.action = None;
        self.likely.reset();
        self.key_state = State::Absent;
        self.key_hash = None;
    }
}
