//! The checks across rows: a match key seen on an earlier row (an error: both rows would find,
//! or make, the same customer), and a row that is likely the same customer as an earlier one (a
//! warning that names both rows; [`crate::lookup::duplicates`] says when two are likely the
//! same).
//!
//! Rows must come in file order. The key's table slot is fetched while the rest of the row is
//! checked ([`Validator::prepare_key`]); the likely duplicates' values are kept as 64-bit hashes
//! with their first row ([`Seen`]), about 12 bytes per value of a row that would create.

use std::hash::BuildHasher;

use hashbrown::DefaultHashBuilder;

use super::keys::Seen;
use super::record::State;
use super::{cell_of, problem, Action, Checked, Mode, Severity, Validator};
use crate::lookup::duplicates::{Likeness, Why, SAME_ROWS};
use crate::lookup::key::{Part, Val};
use crate::read::Cells;
use crate::schema::{Kind, FIELDS};

/// What the likely-duplicate check keeps between rows.
#[derive(Default)]
pub(super) struct Lookalikes {
    seen: Seen,
    hasher: DefaultHashBuilder,
    like: Likeness,
}

/// The kind of value an entry of [`Seen`] stands for, with the facts the rule needs of the row
/// that had it: whether it had a SIRET, and a postcode.
#[derive(Hash, Clone, Copy)]
enum Entry {
    Siret,
    NamePostcode { siret: bool },
    NameCity { siret: bool, zip: bool },
}

/// A valid value of slot `i` in a row, as keys and likenesses read it.
fn slot_value<'a>(out: &'a Checked, cells: &'a Cells, i: usize) -> Option<Val<'a>> {
    let s = &out.slots[i];
    if s.state != State::Ok {
        return None;
    }
    Some(match FIELDS[i].kind {
        Kind::Integer => Val::Int(s.int),
        Kind::Boolean => Val::Bool(s.flag),
        _ => Val::Text(s.text(cells)),
    })
}

impl Validator {
    /// Builds the row's match key (the first of the keys whose fields all have a value),
    /// hashes it and prefetches its slot in the key table, so that the lookup in
    /// [`Validator::check_key`], after the rest of the row's checks, finds it in cache.
    pub(super) fn prepare_key(&mut self, cells: &Cells, out: &mut Checked) {
        out.key_hash = None;
        out.key_state = State::Absent;
        let Some(matching) = &self.matching else {
            return;
        };
        let mut key = std::mem::take(&mut out.key);
        let mut picked = None;
        for (k, candidate) in matching.keys.iter().enumerate() {
            let found = candidate.value_with(
                |part| match part {
                    Part::Id => (!out.id.is_empty()).then_some(Val::Text(&out.id)),
                    Part::Field(i) => slot_value(out, cells, i),
                },
                &mut key,
            );
            if found && !key.is_empty() {
                picked = Some(k);
                break;
            }
        }
        out.key = key;
        out.key_index = picked.unwrap_or(0) as u8;
        let Some(k) = picked else {
            out.key.clear();
            // A key of one field: blank or invalid as its field is; else no key at all.
            let keys = &matching.keys;
            out.key_state = match keys.get(0).parts() {
                [Part::Id] if keys.len() == 1 => State::Blank,
                [Part::Field(i)] if keys.len() == 1 => match out.slots[*i].state {
                    State::Ok => State::Blank,
                    state => state,
                },
                _ => State::Blank,
            };
            return;
        };
        let text = table_key(&mut self.key_scratch, k, &out.key);
        let h = self.keys.hash(text);
        // Fetched while the rest of the row is checked.
        self.keys.prefetch(h);
        out.key_hash = Some(h);
        out.key_state = State::Ok;
    }

    /// Reports a key already seen on an earlier row (and, on update, a row without a key).
    pub(super) fn check_key(&mut self, out: &mut Checked) {
        if out.blank_row || matches!(out.action, Some(Action::Ignore | Action::Done)) {
            return;
        }
        let Some(matching) = &self.matching else {
            return;
        };
        let k = usize::from(out.key_index);
        let col = matching.columns[k];
        let field = matching.keys.get(k).parts()[0].name();
        let key = matching.keys.get(k);
        let (message, value) = match out.key_state {
            State::Ok => {
                out.has_key = true;
                let text = table_key(&mut self.key_scratch, k, &out.key);
                let h = out.key_hash.unwrap_or_else(|| self.keys.hash(text));
                let Some(first) = self.keys.insert(text, h, out.row) else {
                    return;
                };
                let shown = shown_key(key, out);
                let message = format!("{key} {shown} already appears on row {first}");
                (message, cell_of(&out.cells, col).to_string())
            }
            State::Blank | State::Absent if self.mode_of(out).finds_existing() => {
                let mode = self.mode_of(out).as_str();
                let keys = &matching.keys;
                let message = if keys.len() == 1 {
                    format!("{key} is blank: {mode} needs it to find the customer")
                } else {
                    format!("no key has a value ({keys}): {mode} needs one to find the customer")
                };
                (message, String::new())
            }
            _ => return,
        };
        let problem = problem(
            out.row,
            col,
            field,
            Severity::Error,
            message,
            &value,
            &self.columns,
        );
        out.problems.push(problem);
    }

    /// Warns of a row that is likely the same customer as an earlier row: both would be
    /// created. Only rows that would create a customer (create, upsert) and have no error
    /// take part.
    pub(super) fn check_likely(&mut self, out: &mut Checked) {
        if out.blank_row
            || matches!(out.action, Some(Action::Ignore | Action::Done))
            || !matches!(self.mode_of(out), Mode::Create | Mode::Upsert)
            || !out.is_valid()
        {
            return;
        }
        let at = self.at;
        let siret_is_key = self.matching.as_ref().is_some_and(|m| m.siret_is_key);
        let look = &mut self.lookalikes;
        look.like.fill(|field| {
            let i = match field {
                "siret" => at.siret,
                "name" => at.name,
                "zipCode" => at.zip,
                "city" => at.city,
                _ => return None,
            };
            slot_value(out, &out.cells, i)
        });
        let Some((first, why)) = look.find(siret_is_key) else {
            look.record(out.row, siret_is_key);
            return;
        };
        look.record(out.row, siret_is_key);
        let col = self
            .fields
            .iter()
            .find(|p| p.slot == at.name)
            .and_then(|p| p.col);
        let msg = format!(
            "rows {first} and {} {SAME_ROWS} ({}): both would be created",
            out.row,
            why.words()
        );
        let value = cell_of(&out.cells, col).to_string();
        out.problems.push(problem(
            out.row,
            col,
            "name",
            Severity::Warning,
            msg,
            &value,
            &self.columns,
        ));
    }
}

/// The text the key table holds for key `k` of the list: the value itself for the first key,
/// else prefixed with the key's number, so that equal values of two keys stay apart.
fn table_key<'a>(scratch: &'a mut String, k: usize, value: &'a str) -> &'a str {
    if k == 0 {
        return value;
    }
    scratch.clear();
    scratch.push(char::from(b'0' + k as u8));
    scratch.push('\u{1e}');
    scratch.push_str(value);
    scratch
}

/// A key's values in this row as checked, quoted: `"55212022200013"`, or
/// `"Épicerie Zoé" + "75011"`.
fn shown_key(key: &crate::lookup::Key, out: &Checked) -> String {
    let values: Vec<String> = key
        .parts()
        .iter()
        .map(|&part| match part {
            Part::Id => format!("{:?}", out.id),
            Part::Field(i) => match slot_value(out, &out.cells, i) {
                Some(Val::Text(s)) => format!("{s:?}"),
                Some(Val::Int(n)) => n.to_string(),
                Some(Val::Bool(b)) => b.to_string(),
                None => String::new(),
            },
        })
        .collect();
    values.join(" + ")
}

impl Lookalikes {
    fn hash(&self, entry: Entry, parts: [&str; 2]) -> u64 {
        self.hasher.hash_one((entry, parts))
    }

    fn get(&self, entry: Entry, parts: [&str; 2]) -> Option<u32> {
        self.seen.get(self.hash(entry, parts))
    }

    /// The first earlier row the current likeness resembles, and why.
    fn find(&self, siret_is_key: bool) -> Option<(u32, Why)> {
        let like = &self.like;
        let (s, z) = (!like.siret.is_empty(), !like.zip.is_empty());
        if s && !siret_is_key {
            if let Some(row) = self.get(Entry::Siret, [&like.siret, ""]) {
                return Some((row, Why::SameSiret));
            }
        }
        if like.name.is_empty() {
            return None;
        }
        // Two SIRETs are two establishments: a row with one is the same as a row without.
        let theirs: &[bool] = if s { &[false] } else { &[false, true] };
        if z {
            for &siret in theirs {
                let entry = Entry::NamePostcode { siret };
                if let Some(row) = self.get(entry, [&like.name, &like.zip]) {
                    return Some((row, Why::SamePostcode));
                }
            }
        }
        if like.city.is_empty() {
            return None;
        }
        let zips: &[bool] = if z { &[false] } else { &[false, true] };
        for &siret in theirs {
            for &zip in zips {
                let entry = Entry::NameCity { siret, zip };
                if let Some(row) = self.get(entry, [&like.name, &like.city]) {
                    return Some((row, Why::SameCity));
                }
            }
        }
        None
    }

    /// Keeps the current likeness as seen on `row`.
    fn record(&mut self, row: u32, siret_is_key: bool) {
        let like = &self.like;
        let (s, z) = (!like.siret.is_empty(), !like.zip.is_empty());
        let named = !like.name.is_empty();
        let entries = [
            (s && !siret_is_key).then(|| self.hash(Entry::Siret, [&like.siret, ""])),
            (named && z)
                .then(|| self.hash(Entry::NamePostcode { siret: s }, [&like.name, &like.zip])),
            (named && !like.city.is_empty()).then(|| {
                let entry = Entry::NameCity { siret: s, zip: z };
                self.hash(entry, [&like.name, &like.city])
            }),
        ];
        for h in entries.into_iter().flatten() {
            self.seen.insert(h, row);
        }
    }
}
