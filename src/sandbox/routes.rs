//! The sandbox's routes: the customer endpoints as the API doc describes them, plus
//! `/__sandbox/stats`. Every answer, errors included, is JSON.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::{middleware, Router};
use serde_json::{json, Map, Value};

use super::query::{self, ListQuery};
use super::store::{Stored, RESERVED};
use super::variants::PutMode;
use super::{faults, Shared};
use crate::schema::{self, Kind};

/// Where the sandbox reports what it has seen; never subject to auth or faults.
pub(crate) const STATS_PATH: &str = "/__sandbox/stats";

const COLLECTION: &str = "/api/v2/customers";
const ITEM: &str = "/api/v2/customers/{id}";
/// The same with a trailing slash, which Express (whose conventions the API follows: `_id`,
/// mongoose-paginate) routes alike unless told to be strict: another client may send it.
const COLLECTION_SLASH: &str = "/api/v2/customers/";
const ITEM_SLASH: &str = "/api/v2/customers/{id}/";

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let collection = get(list).post(create);
    let item = get(get_one).put(replace).patch(patch).delete(remove);
    Router::new()
        .route(COLLECTION, collection.clone())
        .route(COLLECTION_SLASH, collection)
        .route(ITEM, item.clone())
        .route(ITEM_SLASH, item)
        .route(STATS_PATH, get(stats))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(shared.clone(), faults::gate))
        .with_state(shared)
}

/// A JSON response from bytes already serialised.
pub(crate) fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap_or_default()
}

/// One record, from its bytes serialised at write time.
pub(crate) fn record_response(status: StatusCode, record: &Stored) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(record.json.clone()))
        .unwrap_or_default()
}

pub(crate) fn json_value(status: StatusCode, body: &Value) -> Response {
    json_bytes(status, body.to_string().into_bytes())
}

/// `{"message": ...}` with a status.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    json_value(status, &json!({ "message": message }))
}

fn customer_not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Customer not found")
}

async fn list(
    State(shared): State<Arc<Shared>>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let Ok(Query(pairs)) = params else {
        return error(StatusCode::BAD_REQUEST, "Malformed query string");
    };
    let mut query = match ListQuery::parse(&pairs) {
        Ok(q) => q,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let empty = shared.variants.read_list(&mut query);
    if shared.quirks.ignore_page {
        query.page = 1;
    }
    let mut page = {
        let store = shared.read();
        query::select(&store, &query, &shared.cache)
    };
    if empty || (shared.quirks.short_list && query.page > 1) {
        page.items.clear();
    }
    let mut response = json_bytes(
        StatusCode::OK,
        query::render(&page, &query, shared.list_shape, shared.id_key),
    );
    if shared.variants.total_header {
        response
            .headers_mut()
            .insert("x-total-count", axum::http::HeaderValue::from(page.total));
    }
    response
}

async fn get_one(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let record = shared.read().get(&id).cloned();
    match record {
        Some(r) => record_response(StatusCode::OK, &r),
        None => customer_not_found(),
    }
}

async fn create(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let mut body = match checked_body(&body, NameRule::Required) {
        Ok(b) => b,
        Err(problem) => return json_value(StatusCode::BAD_REQUEST, &problem),
    };
    if let Some(refused) = shared.variants.missing_required(&body) {
        return refused;
    }
    shared.variants.as_stored(&mut body);
    let record = shared.write().create(body);
    shared.variants.created(&record, shared.id_key)
}

async fn replace(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let merge = shared.variants.put == PutMode::Merge;
    update(&shared, &id, &body, merge)
}

async fn patch(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    update(&shared, &id, &body, true)
}

/// A PATCH, or a PUT: merging (only the fields sent change, `--patch-null` applies) or
/// replacing (the body is the new record, so it needs a name and the required fields).
fn update(shared: &Shared, id: &str, raw: &[u8], merge: bool) -> Response {
    let rule = if merge {
        NameRule::IfPresent
    } else {
        NameRule::Required
    };
    let mut body = match checked_body(raw, rule) {
        Ok(b) => b,
        Err(problem) => return json_value(StatusCode::BAD_REQUEST, &problem),
    };
    let refused = if merge {
        shared.variants.refuse_nulls(&mut body)
    } else {
        shared.variants.missing_required(&body)
    };
    if let Some(refused) = refused {
        return refused;
    }
    shared.variants.as_stored(&mut body);
    let change = if merge {
        shared.write().patch(id, body)
    } else {
        shared.write().replace(id, body)
    };
    match change {
        Some(change) => shared.variants.updated(&change.old, &change.new),
        None => customer_not_found(),
    }
}

async fn remove(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    if shared.write().delete(&id) {
        Response::builder()
            .status(StatusCode::NO_CONTENT)
            .body(Body::empty())
            .unwrap_or_default()
    } else {
        customer_not_found()
    }
}

async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    let (records, writes) = {
        let store = shared.read();
        (store.len(), store.writes())
    };
    let mut body = shared.gate.stats();
    body["records"] = json!(records);
    body["writes"] = json!(writes);
    json_value(StatusCode::OK, &body)
}

async fn not_found(method: Method, uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        &format!("Not found: {method} {}", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("Method {method} is not allowed on {}", uri.path()),
    )
}

/// Whether a write must carry a `name`: a created or replaced record needs one; a patch may
/// leave it out but may not clear it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum NameRule {
    Required,
    IfPresent,
}

/// Parses a request body as a JSON object, drops the keys the server owns, and checks the
/// types of known fields. Unknown fields are kept as given so a restored backup loses nothing.
/// The error is the body of the 400 answer.
fn checked_body(raw: &[u8], name_rule: NameRule) -> Result<Map<String, Value>, Value> {
    let value: Value = serde_json::from_slice(raw)
        .map_err(|e| json!({ "message": format!("Malformed JSON body: {e}") }))?;
    let Value::Object(mut body) = value else {
        return Err(json!({ "message": "The body must be a JSON object" }));
    };
    for key in RESERVED {
        body.shift_remove(*key);
    }
    let mut errors = Map::new();
    for (key, value) in &body {
        let Some(field) = schema::field(key) else {
            continue;
        };
        if !value.is_null() && !kind_matches(field.kind, value) {
            errors.insert(
                key.clone(),
                Value::String(kind_message(field.kind).to_owned()),
            );
        }
    }
    let name_ok = match body.get("name") {
        Some(Value::String(s)) => !s.trim().is_empty(),
        None => name_rule == NameRule::IfPresent,
        Some(Value::Null) => false,
        Some(_) => true, // already reported as a type error
    };
    if !name_ok {
        errors.insert(
            "name".to_owned(),
            Value::String("is required and must not be empty".to_owned()),
        );
    }
    if errors.is_empty() {
        Ok(body)
    } else {
        Err(json!({ "message": "Validation failed", "errors": errors }))
    }
}

fn kind_matches(kind: Kind, value: &Value) -> bool {
    match kind {
        Kind::Boolean => value.is_boolean(),
        Kind::Integer => match value {
            Value::Number(n) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        },
        Kind::Text => value.is_string(),
        Kind::Contacts => value.is_array(),
    }
}

fn kind_message(kind: Kind) -> &'static str {
    match kind {
        Kind::Boolean => "must be a boolean",
        Kind::Integer => "must be an integer",
        Kind::Text => "must be a string",
        Kind::Contacts => "must be an array",
    }
}
