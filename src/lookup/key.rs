//! Match keys: which fields find a row's customer, and the form their values compare in.
//!
//! `--match-on siret,name+zipCode` is a list of [`Keys`] tried in order: for each row (or
//! stored record) the first key whose fields all have a value is the one it is matched by;
//! `+` joins fields into one key. A row with a SIRET is matched by its SIRET only, a row
//! without one by its name and postcode together.
//!
//! Each field compares in its own form, so that what a person reads as the same value is the
//! same key: SIRETs, postcodes and RCS entries without any space (`552 120 222 00013`), other
//! text [folded](super::fold) (trimmed, one space between words, case and accents aside:
//! `  Épicerie  ZOÉ` is `epicerie zoe`), numbers and booleans as they print, ids exactly.
//!
//! Import, validate, undo's and the ambiguous POST's lookups and restore all read keys here,
//! from a sheet's coerced row or from a stored record, so both sides are made the same way.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use serde_json::Value;

use super::fold;
use crate::api::{record_id, Record};
use crate::schema::{self, Kind, FIELDS};

/// Between the values of a key's fields: a character no cell holds after cleaning.
const JOIN: char = '\u{1f}';

/// One field of a key: the id, or a customer field (its place in [`FIELDS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    Id,
    Field(usize),
}

impl Part {
    /// The field's name as the API has it (`id` for the id).
    pub fn name(self) -> &'static str {
        match self {
            Part::Id => schema::ID,
            Part::Field(i) => FIELDS[i].name,
        }
    }

    /// Whether a server's search finds the value as typed: no folding of case or accents.
    fn exact(self) -> bool {
        match self {
            Part::Id => true,
            Part::Field(i) => FIELDS[i].kind != Kind::Text || compact(FIELDS[i].name),
        }
    }
}

/// Fields whose spaces do not count: `552 120 222 00013` is `55212022200013`.
fn compact(field: &str) -> bool {
    matches!(field, "siret" | "zipCode" | "rcs")
}

/// One field's value as read, from a sheet's coerced row or a stored record.
#[derive(Debug, Clone, Copy)]
pub enum Val<'a> {
    Text(&'a str),
    Int(i64),
    Bool(bool),
}

impl<'a> Val<'a> {
    /// A stored value; `None` when blank (empty text, `null`, an array or an object).
    pub fn of_json(value: &'a Value) -> Option<Val<'a>> {
        match value {
            Value::String(s) if !s.trim().is_empty() => Some(Val::Text(s)),
            Value::Number(n) => n.as_i64().or_else(|| whole(n.as_f64()?)).map(Val::Int),
            Value::Bool(b) => Some(Val::Bool(*b)),
            _ => None,
        }
    }
}

fn whole(f: f64) -> Option<i64> {
    (f.fract() == 0.0 && f.abs() < 9e15).then_some(f as i64)
}

/// Appends `value` of field `part` in the form keys compare in.
pub fn normalise_into(part: Part, value: Val, out: &mut String) {
    match (part, value) {
        (_, Val::Int(n)) => {
            let _ = write!(out, "{n}");
        }
        (_, Val::Bool(b)) => out.push_str(if b { "true" } else { "false" }),
        (Part::Id, Val::Text(s)) => out.push_str(s.trim()),
        (Part::Field(i), Val::Text(s)) => match FIELDS[i].kind {
            Kind::Text if compact(FIELDS[i].name) => fold::compact_into(s, out),
            Kind::Text => fold::fold_into(s, out),
            // A number or a boolean the server keeps as text (`"1000"`, `"true"`).
            _ => out.push_str(&s.trim().to_ascii_lowercase()),
        },
    }
}

/// One key: a field, or fields joined by `+`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    parts: Box<[Part]>,
}

impl Key {
    /// A key of one field.
    pub fn field(part: Part) -> Key {
        Key {
            parts: Box::new([part]),
        }
    }

    /// `name+zipCode`: field names as the API has them (case aside), `id` alone.
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut parts = Vec::new();
        for name in text.split('+').map(str::trim) {
            let part = parse_part(name)?;
            if parts.contains(&part) {
                return Err(format!("{name} appears twice in the key {text}"));
            }
            parts.push(part);
        }
        if parts.len() > 1 && parts.contains(&Part::Id) {
            return Err(format!(
                "{text}: the id finds a customer alone; it cannot be joined with other fields"
            ));
        }
        Ok(Key {
            parts: parts.into(),
        })
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Whether this key is the id column.
    pub fn is_id(&self) -> bool {
        self.parts[..] == [Part::Id]
    }

    /// Whether a server's search finds every value as typed (no text folded).
    pub fn is_exact(&self) -> bool {
        self.parts.iter().all(|p| p.exact())
    }

    /// Writes the key's value into `out` (cleared first) from `get`, each field's value; false
    /// when a field has none, which leaves `out` unspecified.
    pub fn value_with<'a>(
        &self,
        mut get: impl FnMut(Part) -> Option<Val<'a>>,
        out: &mut String,
    ) -> bool {
        out.clear();
        for (i, &part) in self.parts.iter().enumerate() {
            let Some(value) = get(part) else {
                return false;
            };
            if i > 0 {
                out.push(JOIN);
            }
            normalise_into(part, value, out);
        }
        true
    }

    /// The key of a stored record (its id read from `_id` or `id`); `None` when a field is
    /// blank.
    pub fn of_record(&self, record: &Record) -> Option<String> {
        let id = self.is_id().then(|| record_id(record)).flatten();
        self.of_row(record, id.as_deref())
    }

    /// The key of a row: `body` its fields (as it would be sent), `id` its id column.
    pub fn of_row(&self, body: &Record, id: Option<&str>) -> Option<String> {
        let mut out = String::new();
        let found = self.value_with(|part| value_of(body, id, part), &mut out);
        (found && !out.is_empty()).then_some(out)
    }

    /// The key's values as typed, for messages: `name+zipCode = "Épicerie Zoé" + "75011"`.
    pub fn shown(&self, body: &Record, id: Option<&str>) -> String {
        let values: Vec<String> = self
            .parts
            .iter()
            .map(|&part| match value_of(body, id, part) {
                Some(Val::Text(s)) => format!("{s:?}"),
                Some(Val::Int(n)) => n.to_string(),
                Some(Val::Bool(b)) => b.to_string(),
                None => "(blank)".into(),
            })
            .collect();
        format!("{self} = {}", values.join(" + "))
    }

    /// The values of the key's fields as typed in `body`: what a server's search is asked.
    pub fn typed<'a>(&self, body: &'a Record) -> Vec<(&'static str, &'a Value)> {
        self.parts
            .iter()
            .filter_map(|p| Some((p.name(), body.get(p.name())?)))
            .collect()
    }
}

fn value_of<'a>(body: &'a Record, id: Option<&'a str>, part: Part) -> Option<Val<'a>> {
    match part {
        Part::Id => id.filter(|s| !s.trim().is_empty()).map(Val::Text),
        Part::Field(i) => Val::of_json(body.get(FIELDS[i].name)?),
    }
}

fn parse_part(name: &str) -> Result<Part, String> {
    if name.is_empty() {
        return Err("a key has an empty field name (two `+` or `,` in a row?)".into());
    }
    if name == schema::ID || name == "_id" {
        return Ok(Part::Id);
    }
    let i = FIELDS
        .iter()
        .position(|f| f.name == name)
        .or_else(|| {
            FIELDS
                .iter()
                .position(|f| f.name.eq_ignore_ascii_case(name))
        })
        .ok_or_else(|| {
            format!(
                "{name:?} is not a field; use id or one of {}",
                FIELDS.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
            )
        })?;
    if FIELDS[i].kind == Kind::Contacts {
        return Err("contacts cannot find a customer".into());
    }
    Ok(Part::Field(i))
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                f.write_str("+")?;
            }
            f.write_str(part.name())?;
        }
        Ok(())
    }
}

/// Fallback keys, tried in order (`siret,name+zipCode`). Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    keys: Arc<[Key]>,
}

/// The key a row is matched by: which of the list, its value as compared, and as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picked {
    /// Its place in the list.
    pub key: usize,
    pub value: String,
    /// `siret = "55212022200013"`, for messages.
    pub shown: String,
}

impl fmt::Display for Picked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl Keys {
    /// `siret,name+zipCode`. Errors say what is wrong, without the flag's name.
    pub fn parse(text: &str) -> Result<Keys, String> {
        let mut keys = Vec::new();
        for one in text.split(',') {
            let key = Key::parse(one.trim())?;
            if keys.contains(&key) {
                return Err(format!("the key {key} is listed twice"));
            }
            keys.push(key);
        }
        Ok(Keys { keys: keys.into() })
    }

    /// A list of one key.
    pub fn single(key: Key) -> Keys {
        Keys {
            keys: Arc::from([key]),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Key> {
        self.keys.iter()
    }

    pub fn get(&self, i: usize) -> &Key {
        &self.keys[i]
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether every key can be found by a server's search as typed (see [`Key::is_exact`]).
    pub fn all_exact(&self) -> bool {
        self.keys.iter().all(Key::is_exact)
    }

    /// Whether a key reads the record's `field`.
    pub fn names(&self, field: &str) -> bool {
        self.keys
            .iter()
            .any(|key| key.parts.iter().any(|part| part.name() == field))
    }

    /// The first key a stored record has, with its value: what restore matches a backup's
    /// record by when its id is not in the account.
    pub fn first_of_record(&self, record: &Record) -> Option<(usize, String)> {
        self.keys
            .iter()
            .enumerate()
            .find_map(|(i, key)| Some((i, key.of_record(record)?)))
    }

    /// The first key a row has (`body` its fields, `id` its id column).
    pub fn pick(&self, body: &Record, id: Option<&str>) -> Option<Picked> {
        self.keys.iter().enumerate().find_map(|(i, key)| {
            Some(Picked {
                key: i,
                value: key.of_row(body, id)?,
                shown: key.shown(body, id),
            })
        })
    }
}

/// For flags: `--match-on siret,name+zipCode`.
impl std::str::FromStr for Keys {
    type Err = String;

    fn from_str(text: &str) -> Result<Keys, String> {
        Keys::parse(text)
    }
}

impl fmt::Display for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, key) in self.keys.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{key}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Record {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn keys_parse_as_written() {
        let keys = Keys::parse("siret, name+zipcode").unwrap();
        assert_eq!(keys.to_string(), "siret,name+zipCode");
        assert_eq!(keys.len(), 2);
        assert!(Keys::parse("nope").unwrap_err().contains("not a field"));
        assert!(Keys::parse("name+").unwrap_err().contains("empty"));
        assert!(Keys::parse("id+name").unwrap_err().contains("alone"));
        assert!(Keys::parse("name+name").unwrap_err().contains("twice"));
        assert!(Keys::parse("siret,siret").unwrap_err().contains("twice"));
        assert!(Keys::parse("contacts").unwrap_err().contains("contacts"));
        assert!(Keys::parse("_id").unwrap().get(0).is_id());
    }

    #[test]
    fn each_row_takes_the_first_key_it_has() {
        let keys = Keys::parse("siret,name+zipCode").unwrap();
        let with_siret = record(json!({"name": "A", "siret": "552 120 222 00013"}));
        let picked = keys.pick(&with_siret, None).unwrap();
        assert_eq!((picked.key, picked.value.as_str()), (0, "55212022200013"));
        let without = record(json!({"name": " SARL  Épicerie ZOÉ", "zipCode": "75 011"}));
        let picked = keys.pick(&without, None).unwrap();
        assert_eq!(picked.key, 1);
        assert_eq!(picked.value, "sarl epicerie zoe\u{1f}75011");
        assert_eq!(
            picked.shown,
            "name+zipCode = \" SARL  Épicerie ZOÉ\" + \"75 011\""
        );
        let neither = record(json!({"name": "A", "zipCode": ""}));
        assert_eq!(keys.pick(&neither, None), None);
    }

    #[test]
    fn stored_records_and_rows_give_the_same_key() {
        let keys = Keys::parse("id,capital,isCompany").unwrap();
        let stored = record(json!({"_id": "x1", "capital": "1000", "isCompany": "true"}));
        assert_eq!(keys.first_of_record(&stored), Some((0, "x1".into())));
        let row = record(json!({"capital": 1000, "isCompany": true}));
        assert_eq!(keys.pick(&row, None).unwrap().value, "1000");
        assert_eq!(keys.get(1).of_record(&stored).as_deref(), Some("1000"));
        assert_eq!(keys.get(2).of_record(&stored).as_deref(), Some("true"));
        assert_eq!(keys.get(2).of_row(&row, None).as_deref(), Some("true"));
    }

    #[test]
    fn only_keys_without_folded_text_are_exact() {
        assert!(Keys::parse("id,siret,zipCode,capital").unwrap().all_exact());
        assert!(!Keys::parse("siret,name+zipCode").unwrap().all_exact());
    }

    /// The README's table of what `name+zipCode` matches.
    #[test]
    fn the_readme_examples_match_as_it_says() {
        let key = Keys::parse("name+zipCode").unwrap();
        let of = |name: &str, zip: &str| {
            let row = record(json!({"name": name, "zipCode": zip}));
            key.get(0).of_record(&row).unwrap()
        };
        assert_eq!(of("  Épicerie  ZOÉ ", "75011"), of("Epicerie Zoe", "75011"));
        assert_eq!(of("Cœur de Lin", "69001"), of("COEUR DE LIN", "69001"));
        assert_ne!(of("Épicerie Zoé", "75011"), of("Épicerie Zoé", "75012"));
        assert_ne!(of("Dupont & Fils", "13001"), of("Dupont Fils", "13001"));
        assert_ne!(
            of("SARL Épicerie Zoé", "75011"),
            of("Épicerie Zoé", "75011")
        );
    }
}
