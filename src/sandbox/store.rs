//! The sandbox's in-memory store of customers.
//!
//! Records are kept in creation order, keyed by (createdAt, insertion sequence), in a
//! [`Timeline`] that reaches any position quickly, with a hash index by id. The default "newest
//! first" listing therefore slices the timeline instead of sorting a million records on every
//! page, and a lookup by id is one hash probe. Each record is stored as the JSON object the API
//! returns (id first, then the body fields as given, then `createdAt`/`updatedAt`), and also
//! serialised once at write time, so reads copy bytes instead of serialising again. Records are
//! shared behind an `Arc` so readers can hold them after the lock is released.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use serde_json::{Map, Value};

use super::timeline::Timeline;

/// Where a record sits in creation order: createdAt in milliseconds, then insertion sequence,
/// so records created in the same millisecond keep the order they arrived in.
pub(crate) type Key = (i64, u64);

/// Keys a request body may carry that the server owns; they are ignored on writes.
pub(crate) const RESERVED: &[&str] = &["_id", "id", "createdAt", "updatedAt", "__v"];

pub(crate) const CREATED_AT: &str = "createdAt";
pub(crate) const UPDATED_AT: &str = "updatedAt";

/// One stored customer.
#[derive(Debug)]
pub(crate) struct Stored {
    /// The id as a string (the lookup key).
    pub id: String,
    pub key: Key,
    /// The record exactly as served, serialised.
    pub json: Bytes,
}

impl Stored {
    fn new(id: String, key: Key, doc: &Map<String, Value>) -> Stored {
        // A Map of JSON values always serialises.
        let mut json = serde_json::to_vec(doc).unwrap_or_default();
        // Bytes keeps a Vec's spare capacity; a million records would carry it all.
        json.shrink_to_fit();
        Stored {
            id,
            key,
            json: Bytes::from(json),
        }
    }

    /// The record as a JSON object. Records are kept serialised only, because a parsed object
    /// takes about six times the memory (3.4 GB for a million customers instead of 0.6 GB), and
    /// only writes, `fields`, `q`, `p` and sorting on a field need it parsed.
    pub fn doc(&self) -> Map<String, Value> {
        serde_json::from_slice(&self.json).unwrap_or_default()
    }
}

/// A record before and after a write, so a server may answer either.
pub(crate) struct Change {
    pub old: Arc<Stored>,
    pub new: Arc<Stored>,
}

#[derive(Debug)]
pub(crate) struct Store {
    id_key: &'static str,
    records: Timeline,
    ids: HashMap<String, Arc<Stored>>,
    seq: u64,
    /// The largest id issued or loaded, as a number, so new ids keep increasing.
    last_id: u128,
    /// This store's 40 random bits in the middle of its ids, as an ObjectId has: two sandboxes
    /// started in the same second never hand out the same id.
    instance: u128,
    /// Bumped on every change; list caches compare it to know they are stale.
    generation: u64,
    /// Writes performed through the API.
    writes: u64,
}

impl Store {
    pub fn new(id_key: &'static str) -> Store {
        Store {
            id_key,
            records: Timeline::default(),
            ids: HashMap::new(),
            seq: 0,
            last_id: 0,
            instance: u128::from(rand::random::<u64>() & ((1 << 40) - 1)),
            generation: 0,
            writes: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn writes(&self) -> u64 {
        self.writes
    }

    pub fn id_key(&self) -> &'static str {
        self.id_key
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Stored>> {
        self.ids.get(id)
    }

    /// Every record, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Arc<Stored>> {
        self.records.iter()
    }

    /// Up to `count` records from position `start` in creation order, oldest first.
    pub fn range(&self, start: usize, count: usize) -> Vec<Arc<Stored>> {
        self.records.range(start, count)
    }

    /// Creates a record from a checked body (reserved keys already removed).
    pub fn create(&mut self, body: Map<String, Value>) -> Arc<Stored> {
        let now = now_ms();
        let id = self.next_id(now);
        let stamp = Value::String(iso_ms(now));
        let key = self.next_key(now);
        let doc = self.assemble(&id, body, stamp.clone(), stamp);
        self.writes += 1;
        self.put(Stored::new(id, key, &doc))
    }

    /// Replaces the body of a record, keeping its id and createdAt. Returns the record before
    /// and after.
    pub fn replace(&mut self, id: &str, body: Map<String, Value>) -> Option<Change> {
        let old = self.get(id)?.clone();
        let created = old.doc().shift_remove(CREATED_AT).unwrap_or(Value::Null);
        let doc = self.assemble(&old.id, body, created, Value::String(iso_ms(now_ms())));
        self.writes += 1;
        let new = self.put(Stored::new(old.id.clone(), old.key, &doc));
        Some(Change { old, new })
    }

    /// Changes only the fields present in `body`. Returns the record before and after.
    pub fn patch(&mut self, id: &str, body: Map<String, Value>) -> Option<Change> {
        let old = self.get(id)?.clone();
        let mut merged = old.doc();
        merged.shift_remove(self.id_key);
        let created = merged.shift_remove(CREATED_AT).unwrap_or(Value::Null);
        merged.shift_remove(UPDATED_AT);
        merged.extend(body);
        let doc = self.assemble(&old.id, merged, created, Value::String(iso_ms(now_ms())));
        self.writes += 1;
        let new = self.put(Stored::new(old.id.clone(), old.key, &doc));
        Some(Change { old, new })
    }

    /// Removes a record; false when there was none.
    pub fn delete(&mut self, id: &str) -> bool {
        let Some(old) = self.ids.remove(id) else {
            return false;
        };
        self.records.remove(old.key);
        self.writes += 1;
        self.generation += 1;
        true
    }

    /// Stores a record as found in a data file or given to `Running::insert`: its id (`_id` or
    /// `id`) and timestamps are kept, missing ones are generated. A record whose id is already
    /// stored replaces it. True when the record is stored as given: nothing generated, nothing
    /// replaced.
    pub fn import(&mut self, mut doc: Map<String, Value>) -> bool {
        let other = if self.id_key == "_id" { "id" } else { "_id" };
        let given = match doc.shift_remove(self.id_key) {
            Some(v) if !v.is_null() => Some(v),
            _ => doc.shift_remove(other).filter(|v| !v.is_null()),
        };
        let now = now_ms();
        let mut as_given = true;
        let id = match given {
            Some(Value::String(s)) if !s.is_empty() => s,
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                as_given = false;
                self.next_id(now)
            }
        };
        if let Ok(n) = u128::from_str_radix(&id, 16) {
            if id.len() == 24 {
                self.last_id = self.last_id.max(n);
            }
        }
        let created = doc.shift_remove(CREATED_AT).filter(|v| !v.is_null());
        let updated = doc.shift_remove(UPDATED_AT).filter(|v| !v.is_null());
        as_given &= created.is_some() && updated.is_some();
        let created_ms = created
            .as_ref()
            .and_then(Value::as_str)
            .and_then(parse_iso_ms)
            .unwrap_or(now);
        let created = created.unwrap_or_else(|| Value::String(iso_ms(created_ms)));
        let updated = updated.unwrap_or_else(|| created.clone());
        if let Some(old) = self.ids.remove(&id) {
            self.records.remove(old.key);
            as_given = false;
        }
        let key = self.next_key(created_ms);
        let doc = self.assemble(&id, doc, created, updated);
        self.put(Stored::new(id, key, &doc));
        as_given
    }

    fn put(&mut self, record: Stored) -> Arc<Stored> {
        let record = Arc::new(record);
        self.ids.insert(record.id.clone(), record.clone());
        self.records.upsert(record.clone());
        self.generation += 1;
        record
    }

    fn next_key(&mut self, created_ms: i64) -> Key {
        self.seq += 1;
        (created_ms, self.seq)
    }

    /// A 24-hex id like a Mongo ObjectId: seconds since the epoch, this store's random bits,
    /// then a counter; always greater than every id issued or loaded before.
    fn next_id(&mut self, now_ms: i64) -> String {
        let from_clock = ((now_ms.max(0) as u128 / 1000) << 64) | (self.instance << 24);
        self.last_id = from_clock.max(self.last_id + 1) & ((1u128 << 96) - 1);
        format!("{:024x}", self.last_id)
    }

    fn assemble(
        &self,
        id: &str,
        body: Map<String, Value>,
        created: Value,
        updated: Value,
    ) -> Map<String, Value> {
        let mut doc = Map::with_capacity(body.len() + 3);
        doc.insert(self.id_key.to_owned(), Value::String(id.to_owned()));
        doc.extend(body);
        doc.insert(CREATED_AT.to_owned(), created);
        doc.insert(UPDATED_AT.to_owned(), updated);
        doc
    }
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `2026-11-27T10:00:00.000Z`
pub(crate) fn iso_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn parse_iso_ms(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn ids_are_24_hex_and_increasing() {
        let mut s = Store::new("_id");
        let a = s.create(obj(json!({"name": "a"})));
        let b = s.create(obj(json!({"name": "b"})));
        assert_eq!(a.id.len(), 24);
        assert!(a.id.bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(b.id > a.id);
        assert_eq!(a.doc().keys().next().unwrap(), "_id");
    }

    #[test]
    fn imported_records_keep_their_id_and_timestamps_and_order_by_creation() {
        let mut s = Store::new("id");
        s.import(obj(
            json!({"_id": "x2", "name": "late", "createdAt": "2026-01-02T00:00:00.000Z"}),
        ));
        s.import(obj(
            json!({"id": "x1", "name": "early", "createdAt": "2026-01-01T00:00:00.000Z"}),
        ));
        let names: Vec<_> = s
            .iter()
            .map(|r| r.doc()["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["early", "late"]);
        let late = s.get("x2").unwrap();
        let late = late.doc();
        assert_eq!(late["id"], "x2");
        assert_eq!(late["updatedAt"], "2026-01-02T00:00:00.000Z");
        assert!(!late.contains_key("_id"));
    }

    #[test]
    fn new_ids_stay_above_loaded_ones() {
        let mut s = Store::new("_id");
        s.import(obj(
            json!({"_id": "ffffffff0000000000000000", "name": "future"}),
        ));
        let r = s.create(obj(json!({"name": "now"})));
        assert!(r.id.as_str() > "ffffffff0000000000000000");
    }

    #[test]
    fn timestamps_have_milliseconds() {
        assert_eq!(iso_ms(1_795_773_600_000), "2026-11-27T10:00:00.000Z");
    }
}
