//! List envelopes and id fields: the shapes the Customers API may answer with.
//!
//! The vendor documents no response schema, so every list response is inspected: a bare array,
//! the mongoose-paginate `docs` envelope, or an object keeping its items under one of the usual
//! keys. Anything else is an error that quotes the start of the body, never a silent guess.
//! The paging facts (the total, the pages, whether more follow, the page size) are looked for
//! where APIs put them: beside the items, or in a `meta`, `pagination`, `paging` or `pageInfo`
//! object (and the total in an `X-Total-Count` header, [`Page::with_header_total`]); the page
//! says where its total was found.

use std::collections::HashMap;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// One stored customer as the API returns it.
pub type Record = Map<String, Value>;

/// Keys under which list envelopes commonly keep their items, in the order they are tried.
const ITEM_KEYS: &[&str] = &["docs", "data", "items", "results", "rows", "customers"];
/// Keys that carry the total number of matching records.
const TOTAL_KEYS: &[&str] = &[
    "totalDocs",
    "total",
    "count",
    "totalCount",
    "total_count",
    "totalItems",
    "total_items",
    "totalResults",
    "total_results",
    "totalElements",
    "totalRecords",
];
/// Keys that carry the number of pages.
const PAGES_KEYS: &[&str] = &[
    "totalPages",
    "total_pages",
    "pages",
    "pageCount",
    "last_page",
];
/// Keys that carry the page size the server used.
const LIMIT_KEYS: &[&str] = &["limit", "perPage", "per_page", "pageSize", "page_size"];
/// Objects beside the items in which envelopes keep their paging facts.
const CONTAINERS: &[&str] = &[
    "meta",
    "pagination",
    "paging",
    "pageInfo",
    "page_info",
    "_meta",
];

/// Where a list response keeps its items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Envelope {
    /// A bare JSON array.
    Array,
    /// An object with the items under this key (`docs`, `data`, ...), or under the dotted path
    /// given with `--items-path`.
    Key(String),
}

impl std::fmt::Display for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Envelope::Array => f.write_str("bare array"),
            Envelope::Key(key) => write!(f, "object with items under \"{key}\""),
        }
    }
}

/// One page of a list, with whatever paging facts the envelope gave: its items parsed into
/// records, or kept as their raw JSON text ([`parse_raw_page`]).
#[derive(Debug, Clone)]
pub struct Page<T = Record> {
    pub items: Vec<T>,
    pub envelope: Envelope,
    /// Total matching records, when the envelope (or a header) says.
    pub total: Option<u64>,
    /// Where the total was found: `totalDocs`, `meta.total`, `header X-Total-Count`.
    pub total_from: Option<String>,
    pub total_pages: Option<u64>,
    /// The envelope's own end signal (`hasNextPage`, or `nextPage` present or null).
    pub has_next: Option<bool>,
    /// The page size the server says it used (reveals a cap).
    pub limit: Option<u64>,
}

/// Why a body is not a list we understand.
#[derive(Debug, thiserror::Error)]
pub enum ShapeError {
    #[error("the list response is not JSON ({reason}); it starts with: {start}")]
    NotJson { reason: String, start: String },
    #[error("the list response has no recognisable list of records; it starts with: {start} (use --items-path to name where the records are)")]
    Unrecognised { start: String },
}

/// Parses a list response body. `items_path` (dotted, e.g. `result.customers`) overrides
/// detection.
pub fn parse_page(body: &[u8], items_path: Option<&str>) -> Result<Page, ShapeError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| ShapeError::NotJson {
        reason: e.to_string(),
        start: body_start(body),
    })?;
    let unrecognised = || ShapeError::Unrecognised {
        start: body_start(body),
    };
    let (items, envelope, meta) = match value {
        Value::Array(items) => (items, Envelope::Array, Map::new()),
        Value::Object(mut object) => {
            let key = items_key(items_path, |k| object.get(k).is_some_and(Value::is_array))
                .ok_or_else(unrecognised)?;
            let items = take_path(&mut object, &key).ok_or_else(unrecognised)?;
            (items, Envelope::Key(key), object)
        }
        _ => return Err(unrecognised()),
    };
    let items = items
        .into_iter()
        .map(|item| match item {
            Value::Object(record) => Ok(record),
            _ => Err(unrecognised()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(with_facts(items, envelope, |key| meta.get(key).cloned()))
}

/// [`parse_page`] that leaves each record as its raw JSON text, borrowed from `body`: an export
/// writes records as they came, and parsing a page of 100 into maps cost 120 µs, most of a
/// page's work. The envelope is detected the same way; an item that is not an object is
/// refused the same way.
pub fn parse_raw_page<'a>(
    body: &'a [u8],
    items_path: Option<&str>,
) -> Result<Page<&'a RawValue>, ShapeError> {
    let not_json = |e: serde_json::Error| ShapeError::NotJson {
        reason: e.to_string(),
        start: body_start(body),
    };
    let unrecognised = || ShapeError::Unrecognised {
        start: body_start(body),
    };
    let top: &RawValue = serde_json::from_slice(body).map_err(not_json)?;
    let is_array = |raw: &&RawValue| opens(raw) == Some(ARRAY);
    let (items, envelope, object) = match opens(top) {
        Some(ARRAY) => (top, Envelope::Array, HashMap::new()),
        Some(OBJECT) => {
            let object: HashMap<String, &RawValue> =
                serde_json::from_str(top.get()).map_err(not_json)?;
            let key = items_key(items_path, |k| object.get(k).is_some_and(is_array))
                .ok_or_else(unrecognised)?;
            let items = raw_path(&object, &key)
                .filter(is_array)
                .ok_or_else(unrecognised)?;
            (items, Envelope::Key(key), object)
        }
        _ => return Err(unrecognised()),
    };
    let items: Vec<&RawValue> = serde_json::from_str(items.get()).map_err(not_json)?;
    if !items.iter().all(|item| opens(item) == Some(OBJECT)) {
        return Err(unrecognised());
    }
    let fact = |key: &str| serde_json::from_str(object.get(key)?.get()).ok();
    Ok(with_facts(items, envelope, fact))
}

/// Where an envelope keeps its items: `items_path` when given, else the first of the usual keys
/// whose value `is_array`.
fn items_key(items_path: Option<&str>, is_array: impl Fn(&str) -> bool) -> Option<String> {
    match items_path {
        Some(path) => Some(path.to_string()),
        None => ITEM_KEYS
            .iter()
            .find(|k| is_array(k))
            .map(|k| k.to_string()),
    }
}

/// The first byte of a raw value: what it is.
fn opens(raw: &RawValue) -> Option<u8> {
    raw.get().trim_start().bytes().next()
}

/// The first byte of a raw JSON array, and of an object (0x7B, the opening brace).
const ARRAY: u8 = b'[';
const OBJECT: u8 = 0x7B;

/// The raw value at a dotted path inside `object`.
fn raw_path<'a>(object: &HashMap<String, &'a RawValue>, path: &str) -> Option<&'a RawValue> {
    let mut parts = path.split('.');
    let mut current = *object.get(parts.next()?)?;
    for part in parts {
        let inner: HashMap<String, &'a RawValue> = serde_json::from_str(current.get()).ok()?;
        current = *inner.get(part)?;
    }
    Some(current)
}

/// A page of `items` with the paging facts the envelope's other keys give (`fact(key)`),
/// beside the items or in one of the [`CONTAINERS`].
fn with_facts<T>(
    items: Vec<T>,
    envelope: Envelope,
    fact: impl Fn(&str) -> Option<Value>,
) -> Page<T> {
    let containers: Vec<(&str, Value)> = CONTAINERS
        .iter()
        .filter_map(|c| Some((*c, fact(c).filter(Value::is_object)?)))
        .collect();
    // The first of `keys` found, and where: beside the items first, then in each container.
    let find = |keys: &[&str]| -> Option<(Value, String)> {
        let beside = keys.iter().find_map(|k| Some((fact(k)?, k.to_string())));
        beside.or_else(|| {
            containers.iter().find_map(|(c, object)| {
                keys.iter()
                    .find_map(|k| Some((object.get(*k)?.clone(), format!("{c}.{k}"))))
            })
        })
    };
    let number = |keys: &[&str]| {
        let (value, at) = find(keys)?;
        Some((as_u64(&value)?, at))
    };
    let has_next = match find(&["hasNextPage", "has_next", "hasMore", "has_more"]) {
        Some((Value::Bool(b), _)) => Some(b),
        _ => find(&["nextPage", "next_page", "next"]).map(|(next, _)| !next.is_null()),
    };
    let total = number(TOTAL_KEYS);
    Page {
        items,
        envelope,
        total: total.as_ref().map(|t| t.0),
        total_from: total.map(|t| t.1),
        total_pages: number(PAGES_KEYS).map(|p| p.0),
        has_next,
        limit: number(LIMIT_KEYS).map(|l| l.0),
    }
}

impl<T> Page<T> {
    /// The total from a header (`X-Total-Count` and the like), when the body told none.
    pub fn with_header_total(mut self, header: Option<(u64, &str)>) -> Page<T> {
        if let (None, Some((total, name))) = (self.total, header) {
            self.total = Some(total);
            self.total_from = Some(format!("header {name}"));
        }
        self
    }
}

/// Removes and returns the array at a dotted path inside `object`.
fn take_path(object: &mut Map<String, Value>, path: &str) -> Option<Vec<Value>> {
    let mut parts = path.split('.');
    let mut current = object.get_mut(parts.next()?)?;
    for part in parts {
        current = current.get_mut(part)?;
    }
    match current.take() {
        Value::Array(items) => Some(items),
        _ => None,
    }
}

/// Numbers sometimes arrive as strings (`"total": "42"`).
fn as_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The record's id: `_id` first, then `id`; strings and numbers both count.
pub fn record_id(record: &Record) -> Option<String> {
    ["_id", "id"]
        .iter()
        .find_map(|key| match record.get(*key)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            // Mongo extended JSON: {"$oid": "..."}.
            Value::Object(o) => o.get("$oid").and_then(Value::as_str).map(str::to_string),
            _ => None,
        })
}

/// Which id field a record uses, for reports.
pub fn id_field(record: &Record) -> Option<&'static str> {
    ["_id", "id"]
        .into_iter()
        .find(|key| record.contains_key(*key))
}

/// A single-record response may be the record itself or wrapped (`{data: {...}}`).
pub fn unwrap_record(value: Value) -> Option<Record> {
    let Value::Object(mut object) = value else {
        return None;
    };
    if record_id(&object).is_some() {
        return Some(object);
    }
    for key in ["data", "customer", "doc", "result", "item"] {
        if let Some(Value::Object(inner)) = object.remove(key) {
            return Some(inner);
        }
    }
    Some(object)
}

/// The first 200 characters of a body, for error messages.
pub fn body_start(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut start: String = text.chars().take(200).collect();
    if text.chars().nth(200).is_some() {
        start.push('…');
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(page: &Page) -> Vec<String> {
        page.items.iter().filter_map(record_id).collect()
    }

    #[test]
    fn every_common_envelope_is_detected() {
        let array = parse_page(br#"[{"_id":"a"},{"_id":"b"}]"#, None).unwrap();
        assert_eq!(array.envelope, Envelope::Array);
        assert_eq!(ids(&array), ["a", "b"]);

        let docs = parse_page(
            br#"{"docs":[{"_id":"a"}],"totalDocs":3,"limit":1,"page":1,"totalPages":3,"hasNextPage":true,"nextPage":2}"#,
            None,
        )
        .unwrap();
        assert_eq!(docs.envelope, Envelope::Key("docs".into()));
        assert_eq!(
            (docs.total, docs.total_pages, docs.has_next, docs.limit),
            (Some(3), Some(3), Some(true), Some(1))
        );
        assert_eq!(docs.total_from.as_deref(), Some("totalDocs"));

        for key in ["data", "items", "results", "rows", "customers"] {
            let body = format!(r#"{{"{key}":[{{"id":7}}],"count":"9"}}"#);
            let page = parse_page(body.as_bytes(), None).unwrap();
            assert_eq!(page.envelope, Envelope::Key(key.into()));
            assert_eq!(ids(&page), ["7"]);
            assert_eq!(page.total, Some(9));
            assert_eq!(page.has_next, None);
        }
    }

    #[test]
    fn paging_facts_are_found_in_the_usual_containers_and_named() {
        let total = |body: &str| {
            let page = parse_page(body.as_bytes(), None).unwrap();
            let raw = parse_raw_page(body.as_bytes(), None).unwrap();
            assert_eq!(
                (raw.total, &raw.total_from, raw.total_pages, raw.has_next),
                (
                    page.total,
                    &page.total_from,
                    page.total_pages,
                    page.has_next
                ),
                "both parsers read the same facts: {body}"
            );
            (page.total, page.total_from, page.total_pages, page.has_next)
        };
        assert_eq!(
            total(r#"{"data":[{"id":1}],"meta":{"total":20,"last_page":2}}"#),
            (Some(20), Some("meta.total".into()), Some(2), None)
        );
        assert_eq!(
            total(r#"{"items":[],"pagination":{"totalCount":"7","hasMore":false}}"#),
            (
                Some(7),
                Some("pagination.totalCount".into()),
                None,
                Some(false)
            )
        );
        assert_eq!(
            total(r#"{"results":[],"count":4,"next":null}"#),
            (Some(4), Some("count".into()), None, Some(false))
        );
        assert_eq!(total(r#"{"data":[],"meta":"x"}"#), (None, None, None, None));
        let with_header = parse_page(b"[]", None)
            .unwrap()
            .with_header_total(Some((9, "X-Total-Count")));
        assert_eq!(with_header.total, Some(9));
        assert_eq!(
            with_header.total_from.as_deref(),
            Some("header X-Total-Count")
        );
    }

    #[test]
    fn an_unknown_shape_quotes_the_body() {
        let err = parse_page(br#"{"weird":{"x":1}}"#, None).unwrap_err();
        assert!(err.to_string().contains(r#"{"weird":{"x":1}}"#), "{err}");
        let err = parse_page(b"<html>oops</html>", None).unwrap_err();
        assert!(err.to_string().contains("<html>oops"), "{err}");
        let long = format!("[{}]", "1,".repeat(300));
        let err = parse_page(long.as_bytes(), None).unwrap_err();
        assert!(err.to_string().chars().count() < 400);
    }

    #[test]
    fn an_items_path_overrides_detection() {
        let page = parse_page(
            br#"{"result":{"list":[{"_id":"z"}]},"total":1}"#,
            Some("result.list"),
        )
        .unwrap();
        assert_eq!(ids(&page), ["z"]);
        assert_eq!(page.total, Some(1));
    }

    #[test]
    fn ids_are_read_from_either_field() {
        let record = |s: &str| serde_json::from_str::<Record>(s).unwrap();
        assert_eq!(
            record_id(&record(r#"{"_id":"x","id":"y"}"#)).as_deref(),
            Some("x")
        );
        assert_eq!(record_id(&record(r#"{"id":12}"#)).as_deref(), Some("12"));
        assert_eq!(
            record_id(&record(r#"{"_id":{"$oid":"abc"}}"#)).as_deref(),
            Some("abc")
        );
        assert_eq!(record_id(&record(r#"{"name":"n"}"#)), None);
        let wrapped =
            unwrap_record(serde_json::json!({"data": {"_id": "q", "name": "n"}})).unwrap();
        assert_eq!(record_id(&wrapped).as_deref(), Some("q"));
    }
}
