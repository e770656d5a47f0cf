//! The checks across rows: a match key seen on an earlier row (an error: both rows would find,
//! or make, the same customer), and a row that is likely the same customer as an earlier one (a
//! warning that names both rows; [`crate::lookup::duplicates`] says when two are likely the
//! same).
//!
//! Rows must come in file order. The key's table slot is fetched while the rest of the row is
//! checked ([`Validator::prepare_key`]), and so are the likely duplicates' slots
//! ([`Validator::prepare_likely`]); their values are kept as hashes with their first row
//! ([`Seen`]: 8 bytes per value of a row that would create, and 12 a row that confirm a match),
//! each part of a value folded and hashed once a row.

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
    /// The current row's likeness, reused from row to row.
    like: Likeness,
}

/// One row's likely-duplicate values, worked out with its checks of the row alone (on the
/// thread that did those) and looked up in row order by [`Validator::check_likely`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Probes {
    /// Whether the lists below are the row's.
    ready: bool,
    /// The values the row is looked up by, strongest first, as `find` tries them: hashes of
    /// (entry, parts) with the reason each stands for.
    find: Vec<(u64, Why)>,
    /// The values the row is kept by, with the reason each stands for.
    keep: Vec<(u64, Why)>,
}

impl Probes {
    /// A new row: the probes are no longer its.
    pub(crate) fn reset(&mut self) {
        self.ready = false;
    }
}

/// The kind of value an entry of [`Seen`] stands for, with the facts the rule needs of the row
/// that had it: whether it had a SIRET, and a postcode.
#[derive(Clone, Copy)]
enum Entry {
    Siret,
    NamePostcode { siret: bool },
    NameCity { siret: bool, zip: bool },
}

/// The bits of an entry's hash that hold its facts: the lowest two of the 32 that place it in
/// [`Seen`]'s table. Too low to move its home (a shard would need 2^24 slots), they keep the
/// entries of one value, whatever the facts, in one run of slots, so that a row's probes and the
/// entry it keeps of the same value share a cache line; and, compared with the rest of the
/// hash, they tell those entries apart exactly. Entries with the same facts are then told apart
/// by 62 bits of hash, not 64 ([`Seen`]): a false warning four times likelier, still about one
/// in a million runs of a million rows.
const FACTS: u64 = 0b11 << 32;

impl Entry {
    /// The entry of this kind for values `a` and `b` (hashed), as [`Seen`] keeps it.
    fn hash(self, hasher: &DefaultHashBuilder, a: u64, b: u64) -> u64 {
        let (kind, facts) = match self {
            Entry::Siret => (0u8, 0),
            Entry::NamePostcode { siret } => (1, u64::from(siret)),
            Entry::NameCity { siret, zip } => (2, u64::from(siret) | u64::from(zip) << 1),
        };
        hasher.hash_one((kind, a, b)) & !FACTS | facts << FACTS.trailing_zeros()
    }
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

    /// Whether the row takes part in the likely-duplicate check, as far as is known before its
    /// errors are: only rows that would create a customer (create, upsert) do.
    fn may_create(&self, out: &Checked) -> bool {
        !out.blank_row
            && !matches!(out.action, Some(Action::Ignore | Action::Done))
            && matches!(self.mode_of(out), Mode::Create | Mode::Upsert)
    }

    /// Hashes the row's likely-duplicate values and prefetches their table slots, so that
    /// [`Validator::check_likely`], after the rest of the row's checks, finds them in cache.
    pub(super) fn prepare_likely(&mut self, cells: &Cells, out: &mut Checked) {
        if !self.may_create(out) || !out.is_valid() {
            return;
        }
        let at = self.at;
        let siret_is_key = self.matching.as_ref().is_some_and(|m| m.siret_is_key);
        let look = &mut self.lookalikes;
        let mut probes = std::mem::take(&mut out.likely);
        look.like.fill(|field| {
            let i = match field {
                "siret" => at.siret,
                "name" => at.name,
                "zipCode" => at.zip,
                "city" => at.city,
                _ => return None,
            };
            slot_value(out, cells, i)
        });
        look.prepare(siret_is_key, &mut probes);
        out.likely = probes;
    }

    /// Warns of a row that is likely the same customer as an earlier row: both would be
    /// created. Only rows that would create a customer (create, upsert) and have no error
    /// take part.
    pub(super) fn check_likely(&mut self, out: &mut Checked) {
        if !self.may_create(out) || !out.is_valid() {
            return;
        }
        if !out.likely.ready {
            let cells = std::mem::take(&mut out.cells);
            self.prepare_likely(&cells, out);
            out.cells = cells;
        }
        let look = &mut self.lookalikes;
        let found = look.find(&out.likely);
        look.record(&out.likely, out.row);
        let Some((first, why)) = found else {
            return;
        };
        let col = self
            .fields
            .iter()
            .find(|p| p.slot == self.at.name)
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
    /// The same hashes, with no row seen: for checking rows alone on another thread.
    pub(super) fn apart(&self) -> Lookalikes {
        Lookalikes {
            hasher: self.hasher.clone(),
            ..Lookalikes::default()
        }
    }

    /// Lists the current likeness's probes and records, and prefetches their slots.
    /// A row with a SIRET resembles only earlier rows without one by name (two SIRETs are two
    /// establishments); a row with a postcode, by city only earlier rows without one.
    fn prepare(&self, siret_is_key: bool, probes: &mut Probes) {
        probes.ready = true;
        probes.find.clear();
        probes.keep.clear();
        let hash = |text: &str| (!text.is_empty()).then(|| self.hasher.hash_one(text));
        let like = &self.like;
        let (siret, name, zip, city) = (
            hash(&like.siret),
            hash(&like.name),
            hash(&like.zip),
            hash(&like.city),
        );
        let (s, z) = (siret.is_some(), zip.is_some());
        let entry = |entry: Entry, a: u64, b: u64| entry.hash(&self.hasher, a, b);
        if let Some(siret) = siret.filter(|_| !siret_is_key) {
            let h = entry(Entry::Siret, siret, 0);
            probes.find.push((h, Why::SameSiret));
            probes.keep.push((h, Why::SameSiret));
        }
        if let Some(name) = name {
            let theirs: &[bool] = if s { &[false] } else { &[false, true] };
            if let Some(zip) = zip {
                for &siret in theirs {
                    let h = entry(Entry::NamePostcode { siret }, name, zip);
                    probes.find.push((h, Why::SamePostcode));
                }
                let kept = entry(Entry::NamePostcode { siret: s }, name, zip);
                probes.keep.push((kept, Why::SamePostcode));
            }
            if let Some(city) = city {
                let zips: &[bool] = if z { &[false] } else { &[false, true] };
                for &siret in theirs {
                    for &zip in zips {
                        let h = entry(Entry::NameCity { siret, zip }, name, city);
                        probes.find.push((h, Why::SameCity));
                    }
                }
                let kept = Entry::NameCity { siret: s, zip: z };
                probes.keep.push((entry(kept, name, city), Why::SameCity));
            }
        }
        self.prefetch(probes);
    }

    /// Asks the CPU to fetch the slots of a row's probes, ahead of [`Lookalikes::find`].
    pub(super) fn prefetch(&self, probes: &Probes) {
        if probes.ready {
            for &(h, _) in probes.find.iter().chain(&probes.keep) {
                self.seen.prefetch(h);
            }
        }
    }

    /// The first earlier row a row of these probes resembles, and why.
    fn find(&self, probes: &Probes) -> Option<(u32, Why)> {
        probes
            .find
            .iter()
            .find_map(|&(h, why)| Some((self.seen.get(h, kind(why))?, why)))
    }

    /// Keeps the values of a row of these probes as seen on `row`.
    fn record(&mut self, probes: &Probes, row: u32) {
        for &(h, why) in &probes.keep {
            self.seen.insert(h, kind(why), row);
        }
    }
}

/// The kind of value [`Seen`] confirms a match of a probe for `why` by: a row keeps at most
/// one of each.
fn kind(why: Why) -> usize {
    match why {
        Why::SameSiret => 0,
        Why::SamePostcode => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The rule as plainly as it reads: each earlier row's entries kept as text, each probe the
    /// earliest row that kept it, in the order [`Lookalikes::find`] tries them.
    fn plainly(rows: &[Likeness], siret_is_key: bool) -> Vec<Option<(u32, Why)>> {
        type Kept = (u8, String, String);
        let mut kept: Vec<(u32, Vec<Kept>)> = Vec::new();
        let mut found = Vec::new();
        for (i, like) in rows.iter().enumerate() {
            let row = i as u32 + 2;
            let (s, z) = (!like.siret.is_empty(), !like.zip.is_empty());
            let (name, zip, city) = (&like.name, &like.zip, &like.city);
            let np = |siret: bool| (1 + u8::from(siret), name.clone(), zip.clone());
            let nc = |siret: bool, z: bool| {
                (
                    3 + 2 * u8::from(siret) + u8::from(z),
                    name.clone(),
                    city.clone(),
                )
            };
            let mut probes = Vec::new();
            let mut keep = Vec::new();
            if s && !siret_is_key {
                probes.push(((0, like.siret.clone(), String::new()), Why::SameSiret));
                keep.push((0, like.siret.clone(), String::new()));
            }
            if !name.is_empty() {
                let theirs: &[bool] = if s { &[false] } else { &[false, true] };
                if z {
                    probes.extend(theirs.iter().map(|&t| (np(t), Why::SamePostcode)));
                    keep.push(np(s));
                }
                if !city.is_empty() {
                    let zips: &[bool] = if z { &[false] } else { &[false, true] };
                    for &t in theirs {
                        probes.extend(zips.iter().map(|&tz| (nc(t, tz), Why::SameCity)));
                    }
                    keep.push(nc(s, z));
                }
            }
            found.push(probes.iter().find_map(|(probe, why)| {
                let first = kept.iter().find(|(_, entries)| entries.contains(probe))?;
                Some((first.0, *why))
            }));
            kept.push((row, keep));
        }
        found
    }

    fn likeness() -> impl Strategy<Value = Likeness> {
        let part = |a: &'static str, b: &'static str| prop::sample::select(vec!["", a, b]);
        (
            part("s1", "s2"),
            part("n1", "n2"),
            part("z1", "z2"),
            part("c1", "c2"),
        )
            .prop_map(|(siret, name, zip, city)| Likeness {
                siret: siret.into(),
                name: name.into(),
                zip: zip.into(),
                city: city.into(),
            })
    }

    proptest! {
        /// The hashed table names the same earlier row, for the same reason, as the rule read
        /// plainly: no warning lost, none added, none naming another row.
        #[test]
        fn lookalikes_name_the_row_the_rule_names(
            rows in prop::collection::vec(likeness(), 1..40),
            siret_is_key in any::<bool>(),
        ) {
            let mut look = Lookalikes::default();
            let mut probes = Probes::default();
            let mut found = Vec::new();
            for (i, like) in rows.iter().enumerate() {
                look.like = like.clone();
                look.prepare(siret_is_key, &mut probes);
                found.push(look.find(&probes));
                look.record(&probes, i as u32 + 2);
            }
            prop_assert_eq!(found, plainly(&rows, siret_is_key));
        }
    }
}
