//! Finding one customer by a search on the server: for small files that match on keys a
//! server's search finds as typed, and for the lookups of one record that every run makes
//! (the ambiguous POST's, a resumed create's, undo's re-created customers).
//!
//! `q` is a fuzzy search, so every candidate is confirmed by comparing its key in the compared
//! form; when `q` finds nothing, an exact filter (`p`) on the key's fields as typed is tried,
//! since `q` may not search every field on the real API.

use serde_json::Value;

use super::key::{Key, Keys, Part};
use super::Found;
use crate::api::{record_id, ApiError, Client, ListQuery, Record};
use crate::schema::FIELDS;

/// The key a customer created from `body` is found by: the first of `preferred` that the body
/// has (the id aside: a new customer has none yet), else its SIRET, else its name.
pub fn identifying(body: &Record, preferred: Option<&Keys>) -> Option<Key> {
    let field = |name: &str| {
        let i = FIELDS.iter().position(|f| f.name == name)?;
        Some(Key::field(Part::Field(i)))
    };
    let has = |key: &Key| !key.is_id() && key.of_row(body, None).is_some();
    preferred
        .and_then(|keys| keys.iter().find(|k| has(k)).cloned())
        .or_else(|| field("siret").filter(has))
        .or_else(|| field("name").filter(has))
}

/// Looks one customer up on the server by `key`, whose compared value is `value` (`body` and
/// `id` are the row's fields and id column, as typed).
pub async fn search(
    client: &Client,
    key: &Key,
    body: &Record,
    id: Option<&str>,
    value: &str,
) -> Result<Found, ApiError> {
    if key.is_id() {
        let id = id.unwrap_or(value).trim();
        return match client.get(id).await {
            Ok(record) => Ok(Found::One(record)),
            Err(e) if e.status() == Some(404) => Ok(Found::None),
            Err(e) => Err(e),
        };
    }
    let typed = key.typed(body);
    let confirmed = |items: Vec<Record>| -> Vec<Record> {
        items
            .into_iter()
            .filter(|r| key.of_record(r).as_deref() == Some(value))
            .collect()
    };
    let q = typed.first().map(|(_, v)| match v {
        Value::String(s) => s.trim().to_string(),
        other => other.to_string(),
    });
    let mut matches = match q {
        Some(q) => {
            let query = ListQuery {
                q: Some(q),
                limit: Some(100),
                ..ListQuery::default()
            };
            confirmed(client.list(&query).await?.items)
        }
        None => Vec::new(),
    };
    if matches.is_empty() && !typed.is_empty() {
        // `q` may not search this field on the real API: try an exact filter too.
        let filter: serde_json::Map<String, Value> = typed
            .iter()
            .map(|(f, v)| (f.to_string(), (*v).clone()))
            .collect();
        let query = ListQuery {
            p: Some(Value::Object(filter).to_string()),
            limit: Some(100),
            ..ListQuery::default()
        };
        match client.list(&query).await {
            Ok(page) => matches = confirmed(page.items),
            // A stopped run is no answer: never take it for "not found".
            Err(err) if err.is_stop() => return Err(err),
            Err(_) => {}
        }
    }
    matches.sort_by_key(record_id);
    matches.dedup_by(|a, b| record_id(a) == record_id(b));
    Ok(match matches.len() {
        0 => Found::None,
        1 => Found::One(matches.pop().expect("one")),
        n => Found::Many(n),
    })
}
