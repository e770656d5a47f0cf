//! What a record is known by in a list: its id, its match key, and a fingerprint of its
//! canonical form ([`super::canonical`]). Computed from a parsed record, or straight from the
//! JSON text of one, which is what lets `diff` read a million-record backup at disk speed: the
//! text is checked as UTF-8 once and walked once, values that are already their own canonical
//! form are hashed as written, and nothing is built but what must be (an escaped string, a
//! fraction). Fields are hashed one by one and their hashes added, so their order does not
//! matter and needs no sorting.

use std::borrow::Cow;
use std::io::Write;

use serde_json::value::RawValue;
use serde_json::Value;

use super::fields::{self, Field, Fields, OBJECT, OBJECT_END};
use super::{canonical, canonical_value};
use crate::api::{record_id, Record};
use crate::lookup::Keys;
use crate::schema;

/// A 64-bit hash of a canonical form: equal records give equal fingerprints (within a run:
/// the hash is seeded per process), so a list of a million records can be compared with 8
/// bytes a record in memory.
pub fn fingerprint(canonical: &[(String, Value)]) -> u64 {
    let mut hasher = Fingerprint::default();
    for (field, value) in canonical {
        hasher.field(field);
        let _ = serde_json::to_writer(&mut hasher, value);
    }
    hasher.finish()
}

/// See the module doc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub id: Option<String>,
    /// The first of the match keys the record has, in its compared form and tagged with its
    /// place in the list (a SIRET never pairs with a name).
    pub key: Option<String>,
    pub fingerprint: u64,
}

impl Identity {
    /// The identity of a parsed record.
    pub fn of(record: &Record, keys: Option<&Keys>) -> Identity {
        Identity {
            id: record_id(record),
            key: keys.and_then(|keys| pairing_key(keys, record)),
            fingerprint: fingerprint(&canonical(record)),
        }
    }

    /// The identity of one JSON object as written: the same as [`Identity::of`] its parsed
    /// form gives, without building it. Its fields are found by a scan of our own
    /// ([`fields`]), or by serde when the scan cannot vouch for them (which also says what is
    /// wrong with a record that is not an object).
    pub fn of_json(bytes: &[u8], keys: Option<&Keys>) -> serde_json::Result<Identity> {
        let text = simdutf8::basic::from_utf8(bytes)
            .map_err(|_| serde::de::Error::custom("the record is not valid UTF-8"))?;
        let mut scan = Fields::new(text);
        if let Ok(identity) = Identity::of_fields(&mut scan, keys) {
            if scan.whole() {
                return Ok(identity);
            }
        }
        let RawFields(fields) = serde_json::from_str(text)?;
        let fields = fields.iter().map(|(name, raw)| Field {
            name,
            value: raw.get(),
            plain: false,
        });
        Identity::of_fields(fields, keys)
    }

    /// The identity of an object's fields as written; a value the scan did not check
    /// ([`Field::plain`]) is checked here, parsed or not.
    fn of_fields<'a>(
        fields: impl Iterator<Item = Field<'a>>,
        keys: Option<&Keys>,
    ) -> serde_json::Result<Identity> {
        let mut hasher = Fingerprint::default();
        let (mut id, mut other_id) = (None, None);
        // Only the few fields the keys name are parsed.
        let mut keyed = keys.map(|_| Record::new());
        for Field { name, value, plain } in fields {
            match name {
                "_id" => id = raw_id(value)?,
                "id" => other_id = raw_id(value)?,
                _ => {}
            }
            if let (Some(keys), Some(keyed)) = (keys, &mut keyed) {
                if keys.names(name) {
                    keyed.insert(name.to_string(), serde_json::from_str(value)?);
                }
            }
            if schema::is_server_field(name) || is_blank(value)? {
                if !plain {
                    fields::check(value)?;
                }
                continue;
            }
            // Writing the canonical form parses every value it does not take as written.
            hasher.field(name);
            match value.as_bytes()[0] {
                // Checked whole by the scan: a string without escapes, or a boolean.
                b'"' | b't' | b'f' if plain => hasher.bytes(value.as_bytes()),
                _ => write_canonical(value, &mut hasher)?,
            }
        }
        let id = id.or(other_id);
        let key = match (keys, keyed) {
            (Some(keys), Some(mut keyed)) => {
                if let Some(id) = &id {
                    keyed.insert("_id".into(), id.as_str().into());
                }
                pairing_key(keys, &keyed)
            }
            _ => None,
        };
        Ok(Identity {
            id,
            key,
            fingerprint: hasher.finish(),
        })
    }
}

/// An id as [`record_id`] reads it: a non-empty string, a number, or `{"$oid": ...}`.
fn raw_id(text: &str) -> serde_json::Result<Option<String>> {
    Ok(match text.as_bytes().first() {
        Some(b'"') if !text.contains('\\') => Some(&text[1..text.len() - 1])
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        // A number as the parsed record writes it (a fraction may be written another way).
        Some(&(b'"' | OBJECT | b'-' | b'0'..=b'9')) => {
            let value: Value = serde_json::from_str(text)?;
            record_id(&[("_id".to_string(), value)].into_iter().collect())
        }
        _ => None,
    })
}

/// See [`Identity::key`].
fn pairing_key(keys: &Keys, record: &Record) -> Option<String> {
    let (i, value) = keys.first_of_record(record)?;
    Some(format!("{i}\u{1f}{value}"))
}

/// Whether JSON text is a blank form: `null`, `""`, `[]`.
fn is_blank(text: &str) -> serde_json::Result<bool> {
    Ok(match text.as_bytes().first() {
        Some(b'n') => true,
        Some(b'"') => text.len() == 2,
        Some(b'[') => text[1..].trim_start().starts_with(']'),
        _ => false,
    })
}

/// Writes the canonical form of a non-blank JSON value, exactly as serde_json writes what
/// [`canonical_value`] makes of it: strings without escapes, whole numbers and booleans as
/// written; arrays and objects walked (keys the server adds, starting with `_`, and blank
/// values left out of objects, keys sorted); anything else parsed and written.
fn write_canonical(text: &str, out: &mut Fingerprint) -> serde_json::Result<()> {
    let b = text.as_bytes();
    match b.first() {
        Some(b'"') if !b.contains(&b'\\') => out.bytes(b),
        Some(b't' | b'f') => out.bytes(b),
        Some(b'-' | b'0'..=b'9') if b.len() < 16 && b[1..].iter().all(u8::is_ascii_digit) => {
            out.bytes(b)
        }
        Some(b'[') => write_array(text, out)?,
        Some(&OBJECT) => write_object(text, out)?,
        _ => {
            let value: Value = serde_json::from_str(text)?;
            if let Some(value) = canonical_value(&value) {
                let _ = serde_json::to_writer(&mut *out, &value);
            }
        }
    }
    Ok(())
}

/// See [`write_canonical`]: the items of an array, found by [`fields::items`] or by serde.
fn write_array(text: &str, out: &mut Fingerprint) -> serde_json::Result<()> {
    let mut items = Vec::new();
    if fields::items(text, &mut items).is_none() {
        let parsed: Vec<&RawValue> = serde_json::from_str(text)?;
        items = parsed.iter().map(|item| item.get()).collect();
    }
    out.bytes(b"[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.bytes(b",");
        }
        match is_blank(item)? {
            true => out.bytes(b"null"),
            false => write_canonical(item, out)?,
        }
    }
    out.bytes(b"]");
    Ok(())
}

/// See [`write_canonical`]: the fields of an object, found by [`Fields`] or by serde.
fn write_object(text: &str, out: &mut Fingerprint) -> serde_json::Result<()> {
    let mut scan = Fields::new(text);
    let mut fields: Vec<(Cow<str>, &str)> =
        scan.by_ref().map(|f| (f.name.into(), f.value)).collect();
    if !scan.whole() {
        let RawFields(parsed) = serde_json::from_str(text)?;
        fields = parsed.into_iter().map(|(k, v)| (k, v.get())).collect();
    }
    // What is left out is still checked, as parsing the record would.
    for (_, value) in fields.iter().filter(|(k, _)| k.starts_with('_')) {
        fields::check(value)?;
    }
    fields.retain(|(k, _)| !k.starts_with('_'));
    fields.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    out.bytes(&[OBJECT]);
    let mut first = true;
    for (key, value) in &fields {
        if is_blank(value)? {
            continue;
        }
        if !first {
            out.bytes(b",");
        }
        first = false;
        if key.bytes().all(|c| c >= 0x20 && c != b'"' && c != b'\\') {
            out.bytes(b"\"");
            out.bytes(key.as_bytes());
            out.bytes(b"\"");
        } else {
            let _ = serde_json::to_writer(&mut *out, key.as_ref());
        }
        out.bytes(b":");
        write_canonical(value, out)?;
    }
    out.bytes(&[OBJECT_END]);
    Ok(())
}

/// The hash of each field (its name and canonical value, as serde_json writes it), added
/// up. Each field's bytes are gathered first and hashed at once, so however the value is
/// written (in one piece, or by serde_json in many) the hash is the same.
struct Fingerprint {
    sum: u64,
    field: Vec<u8>,
    open: bool,
}

impl Default for Fingerprint {
    fn default() -> Fingerprint {
        Fingerprint {
            sum: 0,
            // A customer's longest field (contacts, notes) without growing, most of the time.
            field: Vec::with_capacity(1024),
            open: false,
        }
    }
}

impl Fingerprint {
    fn field(&mut self, name: &str) {
        self.close();
        self.field.extend_from_slice(name.as_bytes());
        self.field.push(0xff);
        self.open = true;
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.field.extend_from_slice(bytes);
    }

    fn close(&mut self) {
        if self.open {
            self.sum = self.sum.wrapping_add(hash_bytes(&self.field));
            self.field.clear();
            self.open = false;
        }
    }

    fn finish(&mut self) -> u64 {
        self.close();
        self.sum
    }
}

/// A fast 64-bit hash, seeded once per process: fingerprints, ids and keys are only ever
/// compared within one run.
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    static STATE: std::sync::OnceLock<hashbrown::DefaultHashBuilder> = std::sync::OnceLock::new();
    STATE.get_or_init(Default::default).hash_one(bytes)
}

impl Write for Fingerprint {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.bytes(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An object's fields as written, borrowed from the text where they can be.
struct RawFields<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

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
                while let Some(key) = map.next_key::<KeyText<'de>>()? {
                    fields.push((key.0, map.next_value()?));
                }
                Ok(RawFields(fields))
            }
        }
        de.deserialize_map(Fields(std::marker::PhantomData))
    }
}

#[derive(serde::Deserialize)]
struct KeyText<'a>(#[serde(borrow)] Cow<'a, str>);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// JSON values as backups hold them: text (with escapes, blank, spaced), numbers (whole,
    /// fractional, large), booleans, null, and contacts-like arrays of objects.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            "[ a-zé\"\\\\\n]{0,8}".prop_map(Value::from),
            Just(Value::from("")),
        ];
        leaf.prop_recursive(2, 12, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                prop::collection::btree_map("_?[a-c]{1,2}", inner, 0..3)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn record() -> impl Strategy<Value = Record> {
        let fields = prop::collection::btree_map(
            prop_oneof![
                Just("_id".to_string()),
                Just("createdAt".to_string()),
                Just("siret".to_string()),
                Just("name".to_string()),
                Just("zipCode".to_string()),
                "[a-z]{1,6}",
            ],
            value(),
            0..8,
        );
        fields.prop_map(|m| m.into_iter().collect())
    }

    proptest! {
        #[test]
        fn a_record_as_written_has_the_identity_of_its_parsed_form(record in record()) {
            let text = serde_json::to_string(&record).unwrap();
            let parsed: Record = serde_json::from_str(&text).unwrap();
            for keys in ["siret", "siret,name+zipCode", "id"] {
                let keys = Keys::parse(keys).unwrap();
                let fast = Identity::of_json(text.as_bytes(), Some(&keys)).unwrap();
                prop_assert_eq!(fast, Identity::of(&parsed, Some(&keys)), "{}", text);
            }
            // The scan of our own, not serde, read it.
            let mut scan = Fields::new(&text);
            prop_assert!(scan.by_ref().count() == parsed.len() && scan.whole(), "{}", text);
        }

        /// A record damaged anywhere is refused exactly when serde refuses it.
        #[test]
        fn a_damaged_record_is_refused_as_serde_refuses_it(
            record in record(),
            at in any::<prop::sample::Index>(),
            damage in prop_oneof![
                Just(""), Just("\""), Just(","), Just(":"), Just("}"), Just("]"), Just("["),
                Just("\\"), Just("\t"), Just("\u{c}"), Just("0"), Just("-"), Just("."),
                Just("e"), Just("n"), Just(" "),
            ],
            cut in any::<bool>(),
        ) {
            let text = serde_json::to_string(&record).unwrap();
            let mut at = at.index(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let rest = if cut { text[at..].chars().skip(1).collect() } else { text[at..].to_string() };
            let damaged = format!("{}{damage}{rest}", &text[..at]);
            let serde = serde_json::from_str::<Record>(&damaged);
            let fast = Identity::of_json(damaged.as_bytes(), None);
            prop_assert_eq!(fast.is_ok(), serde.is_ok(), "{}", damaged);
        }
    }

    #[test]
    fn ids_and_keys_are_read_as_the_parsed_record_reads_them() {
        for text in [
            r#"{"_id":{"$oid":"abc"},"siret":"552 120 222 00013"}"#,
            r#"{"id":42,"siret":55212022200013}"#,
            r#"{"_id":"","id":"x","siret":" "}"#,
            r#"{"_id":"a\"b","siret":"\u0035"}"#,
            r#"{"_id":"c","name":" Épicerie  Zoé ","zipCode":"75011"}"#,
        ] {
            let parsed: Record = serde_json::from_str(text).unwrap();
            for keys in ["siret", "id", "name+zipCode,siret"] {
                let keys = Keys::parse(keys).unwrap();
                let fast = Identity::of_json(text.as_bytes(), Some(&keys)).unwrap();
                assert_eq!(fast, Identity::of(&parsed, Some(&keys)), "{text}");
            }
        }
    }
}
