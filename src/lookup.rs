//! Finding the customer a row stands for, by a key compared exactly.
//!
//! Two ways to find: for a large file, page through the whole list once and index it by the
//! match key; for a small one, search per row with `q` (or by id with a GET). `q` is a fuzzy
//! search, so every candidate is confirmed by comparing the key exactly.

use std::collections::HashMap;

use serde_json::Value;

use crate::api::{record_id, ApiError, Client, ListQuery, Record};
use crate::schema;

/// Files with more data rows than this are matched through a full index of the server's list.
pub const INDEX_ABOVE_ROWS: usize = 300;
/// Page size when building the index.
const INDEX_PAGE: u64 = 1000;
/// Guards against servers that never signal the end of a list.
const MAX_PAGES: u64 = 100_000;

/// What a lookup found.
#[derive(Debug)]
pub enum Found {
    None,
    One(Record),
    /// More than one customer has this key: the row cannot be matched safely.
    Many(usize),
}

impl Found {
    /// The customer, when exactly one was found.
    pub fn one(self) -> Option<Record> {
        match self {
            Found::One(record) => Some(record),
            _ => None,
        }
    }
}

/// How rows are matched to customers.
pub enum Finder {
    /// The whole list, indexed by normalised key.
    Index(HashMap<String, Vec<Record>>),
    /// One request per row.
    Search(Client),
}

/// The key as compared: trimmed; SIRETs and SIRENs without spaces.
pub fn normalise_key(field: &str, value: &str) -> String {
    let value = value.trim();
    if field == "siret" {
        value.chars().filter(|c| !c.is_whitespace()).collect()
    } else {
        value.to_string()
    }
}

/// The key of a stored record, as text.
pub fn record_key(record: &Record, field: &str) -> Option<String> {
    if field == schema::ID {
        return record_id(record);
    }
    match record.get(field)? {
        Value::String(s) if !s.trim().is_empty() => Some(normalise_key(field, s)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Finder {
    /// Looks each key up on the server as it comes.
    pub fn search(client: &Client) -> Finder {
        Finder::Search(client.clone())
    }

    /// Pages through every customer once and indexes them by `field`.
    pub async fn index(client: &Client, field: &str) -> Result<Finder, ApiError> {
        let mut index: HashMap<String, Vec<Record>> = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for page in 1..=MAX_PAGES {
            let query = ListQuery {
                limit: Some(INDEX_PAGE),
                page: Some(page),
                sort_by: Some("createdAt".into()),
                order: Some("asc".into()),
                ..ListQuery::default()
            };
            let list = client.list(&query).await?;
            let mut fresh = 0;
            for record in list.items {
                let Some(id) = record_id(&record) else {
                    continue;
                };
                if !seen.insert(id) {
                    continue;
                }
                fresh += 1;
                if let Some(key) = record_key(&record, field) {
                    index.entry(key).or_default().push(record);
                }
            }
            // The end: an empty page, the envelope's own signal, or a page with nothing new
            // (a server that ignores `page`).
            if fresh == 0 || list.has_next == Some(false) {
                break;
            }
        }
        Ok(Finder::Index(index))
    }

    /// Finds the customer whose `field` equals `key` exactly.
    pub async fn find(&self, field: &str, key: &str) -> Result<Found, ApiError> {
        let key = normalise_key(field, key);
        match self {
            Finder::Index(index) => Ok(match index.get(&key).map(Vec::as_slice) {
                None | Some([]) => Found::None,
                Some([one]) => Found::One(one.clone()),
                Some(many) => Found::Many(many.len()),
            }),
            Finder::Search(client) => search(client, field, &key).await,
        }
    }
}

/// Looks one customer up on the server, confirming the key exactly.
pub async fn search(client: &Client, field: &str, key: &str) -> Result<Found, ApiError> {
    if field == schema::ID {
        return match client.get(key).await {
            Ok(record) => Ok(Found::One(record)),
            Err(e) if e.status() == Some(404) => Ok(Found::None),
            Err(e) => Err(e),
        };
    }
    let query = ListQuery {
        q: Some(key.to_string()),
        limit: Some(100),
        ..ListQuery::default()
    };
    let mut matches: Vec<Record> = client
        .list(&query)
        .await?
        .items
        .into_iter()
        .filter(|r| record_key(r, field).as_deref() == Some(key))
        .collect();
    if matches.is_empty() {
        // `q` may not search this field on the real API: try an exact filter too.
        let filter = serde_json::json!({ field: key }).to_string();
        let query = ListQuery {
            p: Some(filter),
            limit: Some(100),
            ..ListQuery::default()
        };
        if let Ok(page) = client.list(&query).await {
            matches = page
                .items
                .into_iter()
                .filter(|r| record_key(r, field).as_deref() == Some(key))
                .collect();
        }
    }
    matches.dedup_by(|a, b| record_id(a) == record_id(b));
    Ok(match matches.len() {
        0 => Found::None,
        1 => Found::One(matches.pop().expect("one")),
        n => Found::Many(n),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Record {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn sirets_match_without_spaces() {
        let r = record(json!({"siret": "552 120 222 00013"}));
        assert_eq!(record_key(&r, "siret").as_deref(), Some("55212022200013"));
        assert_eq!(
            normalise_key("siret", " 552 120 222 00013 "),
            "55212022200013"
        );
        assert_eq!(
            record_key(&record(json!({"_id": "x"})), schema::ID).as_deref(),
            Some("x")
        );
    }
}
