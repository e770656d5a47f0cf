//! One JSON record as cells: its keys (the first pass collects them) and its values as the
//! text a cell would hold.
//!
//! Values keep their written form, read through serde_json's raw values rather than parsed:
//! `1000` stays `1000` and a 14-digit number never turns into an exponent; `true` and
//! `false` are the words; `null` is a blank cell; an array or object (`contacts`) is its compact
//! JSON text, which the `contacts` column rule parses as it does a CSV cell; `{"$oid": "…"}`
//! (MongoDB's extended JSON for an id) is the id itself.

use std::fmt;

use hashbrown::HashMap;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

/// More keys than this over the whole file is not a customer list (Excel's column limit).
pub(super) const MAX_KEYS: usize = 16_384;

/// The union of the records' keys, in first-seen order: the table's headers.
#[derive(Default)]
pub(super) struct Keys {
    pub names: Vec<String>,
    index: HashMap<String, usize>,
    /// A record brought the count past [`MAX_KEYS`]; later keys were not added.
    pub overflow: bool,
}

impl Keys {
    fn add(&mut self, key: &str) -> Option<usize> {
        if let Some(&c) = self.index.get(key) {
            return Some(c);
        }
        if self.names.len() == MAX_KEYS {
            self.overflow = true;
            return None;
        }
        self.index.insert(key.to_string(), self.names.len());
        self.names.push(key.to_string());
        Some(self.names.len() - 1)
    }

    fn column(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }
}

/// The columns of the previous record's keys, in its order. Records of one file nearly always
/// list their keys alike, so the `k`-th key is first compared with the previous record's `k`-th
/// and looked up only when it differs: one string comparison per value instead of a hash.
#[derive(Default)]
pub(super) struct Order {
    last: Vec<Option<usize>>,
    now: Vec<Option<usize>>,
}

impl Order {
    /// The column of the record's next key, by the guess or else by `look_up`.
    fn column(
        &mut self,
        names: &[String],
        key: &str,
        look_up: impl FnOnce() -> Option<usize>,
    ) -> Option<usize> {
        let column = match self.last.get(self.now.len()) {
            Some(&Some(c)) if names[c] == key => Some(c),
            _ => look_up(),
        };
        self.now.push(column);
        column
    }

    /// The record ended: its order is the guess for the next.
    fn next_record(&mut self) {
        std::mem::swap(&mut self.last, &mut self.now);
        self.now.clear();
    }
}

/// First pass: adds the keys of one record. An error when it is not a JSON object.
/// A record that fails adds none of its keys, even those read before the failure.
pub(super) fn collect_keys(
    bytes: &[u8],
    keys: &mut Keys,
    order: &mut Order,
) -> Result<(), serde_json::Error> {
    let before = keys.names.len();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let read = de
        .deserialize_map(KeysVisitor {
            keys: &mut *keys,
            order: &mut *order,
        })
        .and_then(|()| de.end());
    if read.is_err() {
        for name in keys.names.drain(before..) {
            keys.index.remove(&name);
        }
        // The guesses may name keys just removed.
        order.now.clear();
        order.last.clear();
    } else {
        order.next_record();
    }
    read
}

/// One buffer per column, refilled for each record.
#[derive(Default)]
pub(super) struct Columns {
    pub bufs: Vec<String>,
    /// Columns `0..filled` may hold text of the current record.
    pub filled: usize,
}

impl Columns {
    fn start(&mut self) {
        for b in &mut self.bufs[..self.filled] {
            b.clear();
        }
        self.filled = 0;
    }
}

/// Second pass: the record's values into `cols`, by the column of their key. An error when it
/// is not a JSON object, or a value cannot be read.
pub(super) fn fill(
    bytes: &[u8],
    keys: &Keys,
    order: &mut Order,
    cols: &mut Columns,
) -> Result<(), serde_json::Error> {
    cols.start();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let read = de
        .deserialize_map(CellsVisitor { keys, order, cols })
        .and_then(|()| de.end());
    order.next_record();
    read
}

/// What a record that is not an object holds, for the message: `a number (42)`.
pub(super) fn describe(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    let what = match text.as_bytes().first() {
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => return "null".to_string(),
        Some(b'-' | b'0'..=b'9') => "a number",
        _ => "something else",
    };
    let shown: String = text.chars().take(40).collect();
    let more = if shown.len() < text.len() { "…" } else { "" };
    format!("{what} ({shown}{more})")
}

struct KeysVisitor<'k> {
    keys: &'k mut Keys,
    order: &'k mut Order,
}

impl<'de> Visitor<'de> for KeysVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (keys, order) = (self.keys, self.order);
        loop {
            let seed = KeySeed(|key: &str| {
                if order
                    .column(&keys.names, key, || keys.column(key))
                    .is_none()
                {
                    // A new key: added, and its column is the guess for the next record.
                    order.now.pop();
                    order.now.push(keys.add(key));
                }
            });
            if map.next_key_seed(seed)?.is_none() {
                return Ok(());
            }
            map.next_value::<IgnoredAny>()?;
        }
    }
}

struct CellsVisitor<'a> {
    keys: &'a Keys,
    order: &'a mut Order,
    cols: &'a mut Columns,
}

impl<'de> Visitor<'de> for CellsVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (keys, order) = (self.keys, &mut *self.order);
        while let Some(column) = map.next_key_seed(KeySeed(|key: &str| {
            order.column(&keys.names, key, || keys.column(key))
        }))? {
            let raw: &'de RawValue = map.next_value()?;
            // A key the first pass did not see (the file changed in between) is left out.
            let Some(i) = column else { continue };
            let cols = &mut *self.cols;
            if cols.bufs.len() <= i {
                cols.bufs.resize_with(i + 1, String::new);
            }
            let out = &mut cols.bufs[i];
            out.clear();
            write_value(raw.get(), out).map_err(de::Error::custom)?;
            cols.filled = cols.filled.max(i + 1);
        }
        Ok(())
    }
}

/// Reads a key as a borrowed or (with escapes) decoded `&str` and hands it to a closure, so
/// no key is allocated per record.
struct KeySeed<F>(F);

impl<'de, F: FnOnce(&str) -> T, T> DeserializeSeed<'de> for KeySeed<F> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<T, D::Error> {
        de.deserialize_str(KeyVisitor(self.0))
    }
}

struct KeyVisitor<F>(F);

impl<F: FnOnce(&str) -> T, T> Visitor<'_> for KeyVisitor<F> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<T, E> {
        Ok((self.0)(key))
    }
}

/// The byte that opens a JSON object (named, so that no brace stands alone in code).
const OBJECT: u8 = 0x7b;

/// Appends a value's cell text: see the module's header.
pub(super) fn write_value(raw: &str, out: &mut String) -> Result<(), serde_json::Error> {
    match raw.as_bytes().first() {
        Some(b'"') => {
            let inner = &raw[1..raw.len() - 1];
            if inner.contains('\\') {
                out.push_str(&serde_json::from_str::<String>(raw)?);
            } else {
                out.push_str(inner);
            }
        }
        Some(b'n') => {}
        Some(&OBJECT) => match oid(raw) {
            Some(id) => out.push_str(&id),
            None => compact(raw, out),
        },
        Some(b'[') => compact(raw, out),
        // Numbers as written, true and false.
        _ => out.push_str(raw),
    }
    Ok(())
}

/// The id in `{"$oid": "…"}`, MongoDB's extended JSON.
fn oid(raw: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Oid {
        #[serde(rename = "$oid")]
        oid: String,
    }
    if !raw.contains("$oid") {
        return None;
    }
    serde_json::from_str::<Oid>(raw).ok().map(|o| o.oid)
}

/// JSON text without the white space outside its strings (a pretty-printed array becomes what
/// custbulk's export writes). Scanned as bytes: everything that matters here is ASCII, and the
/// runs between white space are copied whole, so compact text (the usual case) is one copy.
fn compact(raw: &str, out: &mut String) {
    let bytes = raw.as_bytes();
    let (mut in_string, mut escaped) = (false, false);
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
            // White space is ASCII, so `run..i` ends on a character boundary.
            out.push_str(&raw[run..i]);
            run = i + 1;
        }
    }
    out.push_str(&raw[run..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(record: &str) -> Vec<String> {
        let mut keys = Keys::default();
        collect_keys(record.as_bytes(), &mut keys, &mut Order::default()).unwrap();
        let mut cols = Columns::default();
        fill(record.as_bytes(), &keys, &mut Order::default(), &mut cols).unwrap();
        cols.bufs[..cols.filled].to_vec()
    }

    #[test]
    fn values_become_the_text_they_are_written_as() {
        let record = r#"{"_id": {"$oid": "65a1"}, "capital": 1000, "siret": 55212022200013,
            "big": 123456789012345678901234567890, "rate": 1.50, "isCompany": true,
            "street2": null, "name": "Caf\u00e9 \"Le Zinc\"", "zip": "01000",
            "contacts": [ {"name": "Jeanne D", "email": "j@example.fr"} ], "obj": {"a": 1}}"#;
        assert_eq!(
            cells(record),
            [
                "65a1",
                "1000",
                "55212022200013",
                "123456789012345678901234567890",
                "1.50",
                "true",
                "",
                "Café \"Le Zinc\"",
                "01000",
                r#"[{"name":"Jeanne D","email":"j@example.fr"}]"#,
                r#"{"a":1}"#,
            ]
        );
    }

    #[test]
    fn keys_are_the_union_in_first_seen_order() {
        let mut keys = Keys::default();
        let mut order = Order::default();
        // Same order, another order, a failed record, an escaped key, the same order again.
        for r in [
            r#"{"b":1,"a":2}"#,
            r#"{"b":1,"a":2}"#,
            r#"{"c":3,"a":4}"#,
            r#"{"d":3,"a":}"#,
            r#"{"b\u0031":5}"#,
            r#"{"b1":5}"#,
        ] {
            let _ = collect_keys(r.as_bytes(), &mut keys, &mut order);
        }
        assert_eq!(keys.names, ["b", "a", "c", "b1"]);
        let mut order = Order::default();
        let mut cols = Columns::default();
        fill(br#"{"c": "x", "b": "y"}"#, &keys, &mut order, &mut cols).unwrap();
        assert_eq!(cols.bufs[..cols.filled], ["y", "", "x"]);
        // The next record starts clean, whatever the guess from the last one.
        fill(br#"{"a": 1}"#, &keys, &mut order, &mut cols).unwrap();
        assert_eq!(cols.bufs[..cols.filled], ["", "1"]);
        fill(
            br#"{"a": 2, "zz": 3, "b": 4}"#,
            &keys,
            &mut order,
            &mut cols,
        )
        .unwrap();
        assert_eq!(cols.bufs[..cols.filled], ["4", "2"]);
    }

    #[test]
    fn records_that_are_not_objects_fail() {
        let mut keys = Keys::default();
        for bad in [
            "42",
            "[1]",
            "\"x\"",
            "{\"a\": }",
            "{\"a\": 1} {}",
            "{\"a\": 1",
        ] {
            let mut order = Order::default();
            assert!(
                collect_keys(bad.as_bytes(), &mut keys, &mut order).is_err(),
                "{bad}"
            );
        }
        assert!(keys.names.is_empty(), "{:?}", keys.names);
        assert_eq!(describe(b" 42 "), "a number (42)");
        assert_eq!(describe(b"null"), "null");
    }
}
