//! When two customer records are the same, and what differs: the one comparison that import
//! (is a row unchanged?), undo (was it edited since?), the ambiguous-POST rule (is this the
//! customer we sent?) and restore all use.
//!
//! Values compare as the importer reads them: blank forms (`null`, `""`, `[]`, missing) are
//! equal, numbers by value, a number or boolean equal to the text a server returned it as
//! (`1000` and `"1000"`, `true` and `"true"`: some APIs store them as strings), and objects on
//! the keys the wanted side gives, so sub-document ids or keys the server adds to contacts do
//! not count as a change.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::api::Record;
use crate::lookup;
use crate::schema;

/// One field an update would change: name, current value, new value.
pub type Change = (String, Value, Value);

/// The fields of `row` whose values differ from `current`.
pub fn changes(row: &Record, current: &Record) -> Vec<Change> {
    row.iter()
        .filter(|(field, new)| !same(current.get(field.as_str()).unwrap_or(&Value::Null), new))
        .map(|(field, new)| {
            (
                field.clone(),
                current.get(field).cloned().unwrap_or(Value::Null),
                new.clone(),
            )
        })
        .collect()
}

/// Whether a stored value already equals what the sheet says. Blank forms (`null`, `""`, `[]`,
/// missing) are equal; a number or boolean equals the same value returned as text, as the
/// importer would read that text; contacts compare on the keys the sheet gives, so
/// sub-document ids or extra keys the server adds do not count as a change.
pub fn same(stored: &Value, wanted: &Value) -> bool {
    match (stored, wanted) {
        (a, b) if is_blank(a) && is_blank(b) => true,
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(text), typed @ (Value::Number(_) | Value::Bool(_)))
        | (typed @ (Value::Number(_) | Value::Bool(_)), Value::String(text)) => {
            same_as_text(typed, text)
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Object(a), Value::Object(b)) => b
            .iter()
            .all(|(k, v)| same(a.get(k).unwrap_or(&Value::Null), v)),
        (a, b) => a == b,
    }
}

/// A number or boolean sent back as text: `"1000"` for 1000, `"true"` for true. Text that the
/// importer would read otherwise (`"01000"`, `" 1000"`, `"1 000"`) is not the same value.
fn same_as_text(typed: &Value, text: &str) -> bool {
    match typed {
        Value::Bool(b) => text == if *b { "true" } else { "false" },
        Value::Number(n) => {
            let canonical = !text.starts_with(['0', '+']) || text == "0" || text.starts_with("0.");
            canonical && text.parse::<f64>().ok() == n.as_f64()
        }
        _ => false,
    }
}

/// `null`, `""`, `[]`: the forms of "no value", all equal to a missing field.
pub fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// `city: "Paris" → "Lyon"; capital: 1000 → 2000`, for plans and reports.
pub fn describe(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|(field, old, new)| format!("{field}: {old} → {new}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Fields that differ between two records in either direction, server-owned fields aside.
pub fn changed_fields(before: &Record, after: &Record) -> Vec<String> {
    after
        .keys()
        .chain(before.keys())
        .filter(|k| !schema::is_server_field(k))
        .filter(|k| !same_field(before, after, k))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Whether `field` holds the same value in both records, whichever side is taken as wanted.
pub fn same_field(a: &Record, b: &Record, field: &str) -> bool {
    let a = a.get(field).unwrap_or(&Value::Null);
    let b = b.get(field).unwrap_or(&Value::Null);
    same(a, b) && same(b, a)
}

/// The record without the fields the server owns: what may be sent back in a body.
pub fn without_server_fields(record: &Record) -> Record {
    record
        .iter()
        .filter(|(k, _)| !schema::is_server_field(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// A record as compared between two lists (a backup and the account, two backups): its
/// customer values only, in one canonical form. Server-owned fields and blank values (`null`,
/// `""`, `[]`) are left out; numbers are integers when they are whole; in nested objects
/// (contacts) keys the server adds itself (`_id`) are left out too. Two records that the
/// importer would call the same have equal canonical forms, so comparing them, or their
/// [`fingerprint`]s, needs no further rule. Keys come sorted.
pub fn canonical(record: &Record) -> Vec<(String, Value)> {
    let mut fields: Vec<(String, Value)> = record
        .iter()
        .filter(|(k, _)| !schema::is_server_field(k))
        .filter_map(|(k, v)| canonical_value(v).map(|v| (k.clone(), v)))
        .collect();
    fields.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    fields
}

fn canonical_value(value: &Value) -> Option<Value> {
    if is_blank(value) {
        return None;
    }
    Some(match value {
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9e15 => Value::from(f as i64),
            _ => value.clone(),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| canonical_value(v).unwrap_or(Value::Null))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !k.starts_with('_'))
                .filter_map(|(k, v)| canonical_value(v).map(|v| (k.clone(), v)))
                .collect::<std::collections::BTreeMap<_, _>>()
                .into_iter()
                .collect(),
        ),
        other => other.clone(),
    })
}

/// A 64-bit hash of a canonical form: equal records give equal fingerprints, so a list of a
/// million records can be compared with 8 bytes a record in memory.
pub fn fingerprint(canonical: &[(String, Value)]) -> u64 {
    let mut hasher = Fingerprint::default();
    for (field, value) in canonical {
        hasher.field(field);
        let _ = serde_json::to_writer(&mut hasher, value);
    }
    hasher.finish()
}

/// What a record is known by in a list: its id, its match key, and its [`fingerprint`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub id: Option<String>,
    /// The value of the match key field, as [`lookup::record_key`] reads it.
    pub key: Option<String>,
    pub fingerprint: u64,
}

impl Identity {
    /// The identity of a parsed record.
    pub fn of(record: &Record, key_field: Option<&str>) -> Identity {
        Identity {
            id: crate::api::record_id(record),
            key: key_field.and_then(|f| lookup::record_key(record, f)),
            fingerprint: fingerprint(&canonical(record)),
        }
    }

    /// The identity of one JSON object as written, the same as [`Identity::of`] its parsed form
    /// gives, but without building it: a value that is its own canonical form (a string
    /// without escapes, a whole number, a boolean) is hashed as written, and only the others
    /// are parsed. This is what lets `diff` read a million-record backup at disk speed.
    pub fn of_json(bytes: &[u8], key_field: Option<&str>) -> serde_json::Result<Identity> {
        let fields: RawFields = serde_json::from_slice(bytes)?;
        let mut fields = fields.0;
        fields.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut hasher = Fingerprint::default();
        let (mut id, mut key) = (None, None);
        for (field, raw) in &fields {
            let text = raw.get();
            if schema::ID_COLUMNS.contains(&field.as_ref()) && id.is_none() {
                let value: Value = serde_json::from_str(text)?;
                id = crate::api::record_id(&[(field.to_string(), value)].into_iter().collect());
            }
            if key_field == Some(field.as_ref()) {
                let value: Value = serde_json::from_str(text)?;
                key =
                    lookup::record_key(&[(field.to_string(), value)].into_iter().collect(), field);
            }
            if schema::is_server_field(field) {
                continue;
            }
            if is_own_canonical_form(text) {
                hasher.field(field);
                std::io::Write::write_all(&mut hasher, text.as_bytes()).ok();
            } else if let Some(value) = canonical_value(&serde_json::from_str(text)?) {
                hasher.field(field);
                let _ = serde_json::to_writer(&mut hasher, &value);
            }
        }
        Ok(Identity {
            id,
            key,
            fingerprint: hasher.finish(),
        })
    }
}

/// Whether JSON text is already what [`canonical_value`] would write: a non-empty string
/// without escapes, a whole number without a fraction or exponent, or a boolean.
fn is_own_canonical_form(text: &str) -> bool {
    let b = text.as_bytes();
    match b.first() {
        Some(b'"') => b.len() > 2 && !b.contains(&b'\\'),
        Some(b't' | b'f') => true,
        Some(b'-' | b'0'..=b'9') => b.len() < 16 && b.iter().skip(1).all(u8::is_ascii_digit),
        _ => false,
    }
}

/// SipHash with fixed keys over field names and serialised values: the same record gives the
/// same fingerprint in every run, whichever way it was read.
#[derive(Default)]
struct Fingerprint(std::collections::hash_map::DefaultHasher);

impl Fingerprint {
    fn field(&mut self, name: &str) {
        std::hash::Hash::hash(name, &mut self.0);
    }

    fn finish(&self) -> u64 {
        std::hash::Hasher::finish(&self.0)
    }
}

impl std::io::Write for Fingerprint {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        std::hash::Hasher::write(&mut self.0, bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An object's fields as written, borrowed from the text where they can be.
struct RawFields<'a>(Vec<(std::borrow::Cow<'a, str>, &'a serde_json::value::RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for RawFields<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Fields<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Fields<'a> {
            type Value = RawFields<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Self::Value, M::Error> {
                let mut fields = Vec::with_capacity(24);
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    fields.push((key.0, map.next_value()?));
                }
                Ok(RawFields(fields))
            }
        }
        de.deserialize_map(Fields(std::marker::PhantomData))
    }
}

#[derive(serde::Deserialize)]
struct Key<'a>(#[serde(borrow)] std::borrow::Cow<'a, str>);

/// The fields whose values differ between two canonical forms: name, old, new (`null` for a
/// field one side lacks).
pub fn differences(old: &[(String, Value)], new: &[(String, Value)]) -> Vec<Change> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < old.len() || j < new.len() {
        let order = match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) => a.0.cmp(&b.0),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match order {
            std::cmp::Ordering::Less => {
                out.push((old[i].0.clone(), old[i].1.clone(), Value::Null));
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push((new[j].0.clone(), Value::Null, new[j].1.clone()));
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                if old[i].1 != new[j].1 {
                    out.push((old[i].0.clone(), old[i].1.clone(), new[j].1.clone()));
                }
                i += 1;
                j += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Record {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn canonical_forms_agree_where_the_importer_sees_no_difference() {
        let live = record(
            json!({"_id": "1", "createdAt": "x", "name": "A", "capital": 1000.0,
            "city": "", "street2": null, "contacts": [{"_id": "c1", "name": "Jo", "phone": ""}]}),
        );
        let backup = record(json!({"name": "A", "capital": 1000, "contacts": [{"name": "Jo"}]}));
        assert_eq!(canonical(&live), canonical(&backup));
        assert_eq!(
            fingerprint(&canonical(&live)),
            fingerprint(&canonical(&backup))
        );
        let edited = record(json!({"name": "A", "capital": 2000, "zipCode": "01000"}));
        let found = differences(&canonical(&backup), &canonical(&edited));
        let fields: Vec<_> = found.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(fields, ["capital", "contacts", "zipCode"]);
        assert_eq!(found[1].2, Value::Null, "contacts: gone on the new side");
        assert_ne!(
            fingerprint(&canonical(&backup)),
            fingerprint(&canonical(&edited))
        );
    }

    #[test]
    fn a_record_as_written_has_the_identity_of_its_parsed_form() {
        for text in [
            r#"{"_id":"a1","name":"Épicerie \"Zoé\"","capital":1000.0,"isCompany":true,
               "zipCode":"01000","city":"","contacts":[{"_id":"x","name":"Jo"}],"siret":"552 120 222 00013",
               "__v":3,"createdAt":"2026-01-01"}"#,
            r#"{"id":7,"name":"B","capital":-12,"street2":null,"rate":1.5e3,"tags":[],"note":"\u00e9t\u00e9"}"#,
        ] {
            let parsed: Record = serde_json::from_str(text).unwrap();
            let fast = Identity::of_json(text.as_bytes(), Some("siret")).unwrap();
            assert_eq!(fast, Identity::of(&parsed, Some("siret")), "{text}");
        }
        let fast = Identity::of_json(
            br#"{"_id":"a1","siret":"552 120 222 00013"}"#,
            Some("siret"),
        );
        assert_eq!(fast.unwrap().key.as_deref(), Some("55212022200013"));
        assert!(Identity::of_json(b"[1,2]", None).is_err());
    }

    #[test]
    fn only_real_differences_are_changes() {
        let current = record(
            json!({"_id": "1", "name": "A", "capital": 1000, "city": null,
            "contacts": [{"_id": "c1", "name": "Jo", "email": "jo@x.fr"}]}),
        );
        let same_row = record(json!({"name": "A", "capital": 1000.0, "city": "",
            "contacts": [{"name": "Jo", "email": "jo@x.fr"}]}));
        assert!(changes(&same_row, &current).is_empty());
        let changed = record(
            json!({"name": "B", "zipCode": "01000", "contacts": [{"name": "Jo", "email": "new@x.fr"}]}),
        );
        let fields: Vec<_> = changes(&changed, &current)
            .into_iter()
            .map(|c| c.0)
            .collect();
        assert_eq!(fields, ["name", "zipCode", "contacts"]);
    }

    /// Regression: an API that returns numbers and booleans as strings (`--string-types`) made
    /// every re-import an update and every undo a conflict.
    #[test]
    fn a_value_returned_as_text_is_the_same_value() {
        assert!(same(&json!("1000"), &json!(1000)));
        assert!(same(&json!(1000), &json!("1000")));
        assert!(same(&json!("true"), &json!(true)));
        assert!(same(&json!("0"), &json!(0)));
        assert!(!same(&json!("false"), &json!(true)));
        assert!(
            !same(&json!("01000"), &json!(1000)),
            "a lost zero is a change"
        );
        assert!(!same(&json!("1 000"), &json!(1000)));
        assert!(!same(&json!("1000"), &json!(1001)));
        assert!(!same(&json!("yes"), &json!(true)));
    }
}
