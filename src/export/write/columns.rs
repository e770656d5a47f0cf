//! The column rule for table formats (CSV, XLSX) and how one JSON value becomes one cell.
//!
//! Columns: the id as the server names it (`_id`, `id`, or both), then the schema fields in the
//! fixed order of [`crate::schema::FIELDS`], then every other key the API returned, sorted
//! (`createdAt`, `updatedAt`, `__v`, unknown ones): a backup keeps everything. The set is the
//! union over all records, gathered by [`KeyCollector`] while the records are spooled, so a key
//! that first appears on the last page still gets its column.

use std::collections::HashSet;

use serde_json::{Number, Value};

use crate::api::Record;
use crate::schema::{FIELDS, ID_COLUMNS};

/// Every key seen in the records of an export.
#[derive(Debug, Default)]
pub struct KeyCollector {
    seen: HashSet<String>,
}

impl KeyCollector {
    pub fn add(&mut self, record: &Record) {
        for key in record.keys() {
            // Look up before inserting: the same few keys repeat on every record.
            if !self.seen.contains(key.as_str()) {
                self.seen.insert(key.clone());
            }
        }
    }

    /// Adds keys gathered elsewhere (a page's distinct keys).
    pub fn add_keys(&mut self, keys: Vec<String>) {
        self.seen.extend(keys);
    }

    pub fn contains(&self, key: &str) -> bool {
        self.seen.contains(key)
    }
}

/// The columns of a table export, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    names: Vec<String>,
}

impl Columns {
    /// Applies the column rule. `fields` is the `--fields` list when one was given: then only
    /// the schema fields asked for (or returned anyway) get a column; otherwise all of them do,
    /// present in the data or not, so every export has the same shape.
    pub fn decide(seen: &KeyCollector, fields: Option<&[String]>) -> Columns {
        let mut names: Vec<String> = ID_COLUMNS
            .iter()
            .filter(|k| seen.contains(k))
            .map(|k| k.to_string())
            .collect();
        for field in FIELDS {
            let asked = match fields {
                None => true,
                Some(list) => list.iter().any(|f| f == field.name),
            };
            if asked || seen.contains(field.name) {
                names.push(field.name.to_string());
            }
        }
        let mut rest: Vec<String> = seen
            .seen
            .iter()
            .filter(|k| !names.contains(k))
            .cloned()
            .collect();
        rest.sort();
        names.extend(rest);
        Columns { names }
    }

    pub fn from_names(names: Vec<String>) -> Columns {
        Columns { names }
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// One value as a table cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// Missing or null.
    Empty,
    /// A string, written exactly as stored (`01000`, `=1+1`, a SIRET stay text).
    Text(&'a str),
    /// Written `true`/`false` in CSV, as a boolean cell in XLSX.
    Bool(bool),
    /// Written as the API gave it in CSV, as a number cell in XLSX when it fits a double exactly.
    Number(&'a Number),
    /// An array or object (`contacts`): compact JSON text.
    Json(&'a Value),
}

impl<'a> Cell<'a> {
    pub fn of(value: Option<&'a Value>) -> Cell<'a> {
        match value {
            None | Some(Value::Null) => Cell::Empty,
            Some(Value::String(s)) => Cell::Text(s),
            Some(Value::Bool(b)) => Cell::Bool(*b),
            Some(Value::Number(n)) => Cell::Number(n),
            Some(v @ (Value::Array(_) | Value::Object(_))) => Cell::Json(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn collect(records: &[Value]) -> KeyCollector {
        let mut keys = KeyCollector::default();
        for r in records {
            keys.add(r.as_object().unwrap());
        }
        keys
    }

    #[test]
    fn id_then_schema_fields_then_the_rest_sorted() {
        let keys = collect(&[
            json!({"_id": "a", "name": "n", "createdAt": "t", "updatedAt": "t"}),
            json!({"_id": "b", "zeta": 1, "__v": 0, "city": "Lyon"}),
        ]);
        let columns = Columns::decide(&keys, None);
        let names = columns.names();
        assert_eq!(names[0], "_id");
        let schema: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
        assert_eq!(&names[1..=FIELDS.len()], schema.as_slice());
        assert_eq!(
            &names[FIELDS.len() + 1..],
            ["__v", "createdAt", "updatedAt", "zeta"]
        );
    }

    #[test]
    fn with_fields_only_the_asked_schema_fields_get_columns() {
        let keys = collect(&[json!({"id": 1, "city": "Lyon", "name": "n"})]);
        let fields = vec!["name".to_string(), "city".to_string()];
        let columns = Columns::decide(&keys, Some(&fields));
        assert_eq!(columns.names(), ["id", "name", "city"]);
    }

    #[test]
    fn values_become_cells() {
        assert_eq!(Cell::of(None), Cell::Empty);
        assert_eq!(Cell::of(Some(&Value::Null)), Cell::Empty);
        assert_eq!(Cell::of(Some(&json!("01000"))), Cell::Text("01000"));
        assert_eq!(Cell::of(Some(&json!(true))), Cell::Bool(true));
        assert!(matches!(Cell::of(Some(&json!(12))), Cell::Number(_)));
        assert!(matches!(Cell::of(Some(&json!([{"a": 1}]))), Cell::Json(_)));
    }
}
