//! List requests: parsing `limit`/`page`/`sortBy`/`order`/`fields`/`q`/`p`, choosing the page,
//! and writing it in the configured envelope.
//!
//! The default order (and `sortBy=createdAt`) slices the store's creation-ordered timeline.
//! Anything that must filter or sort by another field builds the full ordered list once and
//! keeps it in a small cache keyed by the query and the store's generation, so paging through a
//! sorted or filtered export costs one scan and sort, not one per page.

use std::cmp::Ordering;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use super::scan;
use super::store::{Record, Store, CREATED_AT, UPDATED_AT};
use super::ListShape;

pub(crate) const DEFAULT_LIMIT: usize = 10;
pub(crate) const MAX_LIMIT: usize = 1000;

/// A parsed list request.
#[derive(Debug, Default)]
pub(crate) struct ListQuery {
    pub limit: usize,
    /// From 1.
    pub page: usize,
    /// `page` as asked, before it was read as from 1.
    pub asked_page: Option<i64>,
    /// Whether `q` looks in `name` too.
    pub q_in_names: bool,
    pub sort_by: Option<String>,
    pub desc: bool,
    pub fields: Option<Vec<String>>,
    /// Lower-cased search text.
    pub q: Option<String>,
    pub p: Option<Map<String, Value>>,
}

impl ListQuery {
    /// Reads the query pairs; the last of repeated parameters wins. Lenient where servers are
    /// (a bad `limit` or `page` falls back to the default), strict where guessing would return
    /// the wrong records (`p`, `order`).
    pub fn parse(pairs: &[(String, String)]) -> Result<ListQuery, String> {
        let get = |name: &str| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim())
        };
        let limit = match get("limit").and_then(|v| v.parse::<i64>().ok()) {
            Some(n) if n > 0 => (n as usize).min(MAX_LIMIT),
            _ => DEFAULT_LIMIT,
        };
        let asked_page = get("page").and_then(|v| v.parse::<i64>().ok());
        let page = asked_page.unwrap_or(1).max(1) as usize;
        let sort_by = get("sortBy").filter(|s| !s.is_empty()).map(str::to_owned);
        let desc = match get("order").map(str::to_ascii_lowercase).as_deref() {
            None | Some("") | Some("desc") | Some("descending") | Some("-1") => true,
            Some("asc") | Some("ascending") | Some("1") => false,
            Some(other) => return Err(format!("Invalid order \"{other}\": use asc or desc")),
        };
        let fields = get("fields")
            .map(|v| {
                v.split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .filter(|f| !f.is_empty());
        let q = get("q").filter(|s| !s.is_empty()).map(str::to_lowercase);
        let p = match get("p").filter(|s| !s.is_empty()) {
            None => None,
            Some(raw) => match serde_json::from_str::<Value>(raw) {
                Ok(Value::Object(m)) => Some(m).filter(|m| !m.is_empty()),
                _ => {
                    return Err(format!(
                    "Invalid p: expected a JSON object such as {{\"status\":\"actif\"}}, got {raw}"
                ))
                }
            },
        };
        Ok(ListQuery {
            limit,
            page,
            asked_page,
            q_in_names: true,
            sort_by,
            desc,
            fields,
            q,
            p,
        })
    }

    fn offset(&self) -> usize {
        (self.page - 1).saturating_mul(self.limit)
    }

    /// Whether creation order gives the answer without filtering or sorting.
    fn walks_creation_order(&self) -> bool {
        self.q.is_none() && self.p.is_none() && self.sorts_by_creation()
    }

    fn sorts_by_creation(&self) -> bool {
        matches!(self.sort_by.as_deref(), None | Some(CREATED_AT))
    }

    /// What identifies the full ordered result, apart from the store's generation.
    fn signature(&self) -> String {
        format!(
            "{:?}|{}|{:?}|{}|{}",
            self.sort_by,
            self.desc,
            self.q,
            self.q_in_names,
            self.p
                .as_ref()
                .map(|p| Value::Object(p.clone()).to_string())
                .unwrap_or_default()
        )
    }
}

/// One page of results.
pub(crate) struct Page {
    pub total: usize,
    pub items: Vec<Arc<Record>>,
}

/// A full ordered result: store generation, query signature, records.
type Entry = (u64, String, Arc<Vec<Arc<Record>>>);

/// The few most recent full results of filtered or sorted lists.
#[derive(Default)]
pub(crate) struct Cache {
    entries: Mutex<Vec<Entry>>,
}

const CACHE_ENTRIES: usize = 4;

/// Chooses the page a query asks for.
pub(crate) fn select(store: &Store, query: &ListQuery, cache: &Cache) -> Page {
    let offset = query.offset();
    if query.walks_creation_order() {
        return Page {
            total: store.len(),
            items: walk(store, offset, query.limit, query.desc),
        };
    }
    let all = ordered(store, query, cache);
    let items = all.iter().skip(offset).take(query.limit).cloned().collect();
    Page {
        total: all.len(),
        items,
    }
}

/// A page straight off the creation-ordered timeline.
fn walk(store: &Store, offset: usize, limit: usize, desc: bool) -> Vec<Arc<Record>> {
    let len = store.len();
    if offset >= len {
        return Vec::new();
    }
    let take = limit.min(len - offset);
    // In ascending positions, the page covers [start, start + take).
    let start = if desc { len - offset - take } else { offset };
    let mut items = store.range(start, take);
    if desc {
        items.reverse();
    }
    items
}

/// The full filtered and ordered result, from the cache when the store has not changed.
fn ordered(store: &Store, query: &ListQuery, cache: &Cache) -> Arc<Vec<Arc<Record>>> {
    let signature = query.signature();
    let generation = store.generation();
    {
        let entries = cache.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, _, found)) = entries
            .iter()
            .find(|(g, s, _)| *g == generation && *s == signature)
        {
            return found.clone();
        }
    }
    let id_key = store.id_key();
    let sort_field = query.sort_by.as_deref().filter(|f| *f != CREATED_AT);
    // The fields to read out of each record: those of `p`, then the sort field.
    let mut names: Vec<&str> = query
        .p
        .iter()
        .flat_map(|p| p.keys().map(String::as_str))
        .collect();
    let sort_slot = match sort_field {
        Some(f) if f != id_key => Some(names.iter().position(|n| *n == f).unwrap_or_else(|| {
            names.push(f);
            names.len() - 1
        })),
        _ => None,
    };
    let skip: &[&str] = if query.q_in_names {
        &[id_key, CREATED_AT, UPDATED_AT]
    } else {
        &[id_key, CREATED_AT, UPDATED_AT, "name"]
    };
    let mut keyed: Vec<(SortKey, Arc<Record>)> = Vec::new();
    for record in store.iter() {
        let picked = if names.is_empty() {
            Vec::new()
        } else {
            scan::pick(&record.json, &names)
        };
        if let Some(p) = &query.p {
            let all_equal = p
                .values()
                .zip(&picked)
                .all(|(want, have)| json_eq(have.as_ref().unwrap_or(&Value::Null), want));
            if !all_equal {
                continue;
            }
        }
        if let Some(q) = &query.q {
            if !scan::contains_text(&record.json, q, skip) {
                continue;
            }
        }
        let key = match (sort_field, sort_slot) {
            (Some(_), Some(slot)) => SortKey::of(picked[slot].as_ref()),
            (Some(_), None) => SortKey::Text(record.id.clone()),
            (None, _) => SortKey::Null,
        };
        keyed.push((key, record.clone()));
    }
    if sort_field.is_some() {
        // Stable, so ties keep creation order and the order is total.
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
    }
    let mut all: Vec<Arc<Record>> = keyed.into_iter().map(|(_, r)| r).collect();
    if query.desc {
        all.reverse();
    }
    let all = Arc::new(all);
    let mut entries = cache.entries.lock().unwrap_or_else(|e| e.into_inner());
    entries.retain(|(g, _, _)| *g == generation);
    if entries.len() >= CACHE_ENTRIES {
        entries.remove(0);
    }
    entries.push((generation, signature, all.clone()));
    all
}

/// Exact equality, except that numbers compare by value (`1` equals `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// A field's value reduced to something totally ordered, in MongoDB's order of types:
/// missing/null, numbers, strings, objects, arrays, booleans.
#[derive(Debug)]
enum SortKey {
    Null,
    Number(f64),
    Text(String),
    Object(String),
    Array(String),
    Bool(bool),
}

impl SortKey {
    fn rank(&self) -> u8 {
        match self {
            SortKey::Null => 0,
            SortKey::Number(_) => 1,
            SortKey::Text(_) => 2,
            SortKey::Object(_) => 3,
            SortKey::Array(_) => 4,
            SortKey::Bool(_) => 5,
        }
    }
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        use SortKey::*;
        match (self, other) {
            (Number(a), Number(b)) => a.total_cmp(b),
            (Text(a), Text(b)) | (Object(a), Object(b)) | (Array(a), Array(b)) => a.cmp(b),
            (Bool(a), Bool(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SortKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SortKey {}

impl SortKey {
    fn of(value: Option<&Value>) -> SortKey {
        match value {
            None | Some(Value::Null) => SortKey::Null,
            Some(Value::Number(n)) => SortKey::Number(n.as_f64().unwrap_or(0.0)),
            Some(Value::String(s)) => SortKey::Text(s.clone()),
            Some(Value::Bool(b)) => SortKey::Bool(*b),
            Some(v @ Value::Object(_)) => SortKey::Object(v.to_string()),
            Some(v @ Value::Array(_)) => SortKey::Array(v.to_string()),
        }
    }
}

/// Writes one page in the configured envelope.
pub(crate) fn render(page: &Page, query: &ListQuery, shape: ListShape, id_key: &str) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(256 + page.items.iter().map(|r| r.json.len() + 1).sum::<usize>());
    let open: &[u8] = match shape {
        ListShape::Docs => b"{\"docs\":[",
        ListShape::Data | ListShape::Meta => b"{\"data\":[",
        ListShape::Array => b"[",
    };
    out.extend_from_slice(open);
    for (i, record) in page.items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_record(&mut out, record, query.fields.as_deref(), id_key);
    }
    out.push(b']');
    match shape {
        ListShape::Docs => {
            let total_pages = page.total.div_ceil(query.limit).max(1);
            let has_next = query.page < total_pages;
            let has_prev = query.page > 1;
            let or_null = |cond: bool, n: usize| {
                if cond {
                    n.to_string()
                } else {
                    "null".to_owned()
                }
            };
            out.extend_from_slice(
                format!(
                    ",\"totalDocs\":{},\"limit\":{},\"page\":{},\"totalPages\":{},\"hasNextPage\":{},\"nextPage\":{},\"hasPrevPage\":{},\"prevPage\":{}}}",
                    page.total,
                    query.limit,
                    query.page,
                    total_pages,
                    has_next,
                    or_null(has_next, query.page + 1),
                    has_prev,
                    or_null(has_prev, query.page - 1),
                )
                .as_bytes(),
            );
        }
        ListShape::Data => out.extend_from_slice(format!(",\"total\":{}}}", page.total).as_bytes()),
        ListShape::Meta => out.extend_from_slice(
            format!(
                ",\"meta\":{{\"total\":{},\"page\":{},\"limit\":{}}}}}",
                page.total, query.page, query.limit
            )
            .as_bytes(),
        ),
        ListShape::Array => {}
    }
    out
}

/// Serialises a record, or only the id and the requested fields of it.
fn write_record(out: &mut Vec<u8>, record: &Record, fields: Option<&[String]>, id_key: &str) {
    let Some(fields) = fields else {
        out.extend_from_slice(&record.json);
        return;
    };
    out.push(b'{');
    let mut first = true;
    for (k, v) in &record.doc() {
        if k != id_key && !fields.iter().any(|f| f == k) {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        let _ = serde_json::to_writer(&mut *out, k);
        out.push(b':');
        let _ = serde_json::to_writer(&mut *out, v);
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Result<ListQuery, String> {
        let pairs: Vec<(String, String)> = s
            .split('&')
            .filter(|s| !s.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        ListQuery::parse(&pairs)
    }

    #[test]
    fn limit_and_page_fall_back_to_defaults_and_cap() {
        let d = q("").unwrap();
        assert_eq!((d.limit, d.page, d.desc), (10, 1, true));
        assert_eq!(q("limit=5000").unwrap().limit, 1000);
        assert_eq!(q("limit=0").unwrap().limit, 10);
        assert_eq!(q("limit=-3").unwrap().limit, 10);
        assert_eq!(q("limit=x").unwrap().limit, 10);
        assert_eq!(q("page=0").unwrap().page, 1);
        assert_eq!(q("page=-2").unwrap().page, 1);
        assert!(!q("order=1").unwrap().desc);
        assert!(q("order=-1").unwrap().desc);
        assert!(q("order=sideways").is_err());
        assert!(q("p=notjson").is_err());
        assert!(q("p=[1]").is_err());
        assert_eq!(
            q("fields=name, city").unwrap().fields.unwrap(),
            ["name", "city"]
        );
    }

    #[test]
    fn sort_keys_follow_type_order() {
        assert!(SortKey::Null < SortKey::Number(-5.0));
        assert!(SortKey::Number(100.0) < SortKey::Text(String::new()));
        assert!(SortKey::Text("b".into()) > SortKey::Text("a".into()));
        assert!(SortKey::Bool(false) > SortKey::Array(String::new()));
    }
}
