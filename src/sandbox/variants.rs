//! The other plausible APIs the sandbox can play. The vendor documents no response at all, so
//! the real API may answer a POST with the record, only its id, an envelope or nothing; a PATCH
//! with the new record, the old one or nothing; its PUT may replace or merge; `null` may clear,
//! be ignored or be refused; it may require a field the page does not name, or return numbers
//! and booleans as strings; its pages may count from 0, or answer page 0 with nothing; its `q`
//! may not search names, or nothing at all; it may tell a list's total in a header. Each is a
//! switch here, so `check --write`, the API profile and every
//! command can be tested against each.
//!
//! `""` is an ordinary string under every switch: it is stored as `""` (a `name` of `""` is
//! refused, as always). Only `null` is subject to `--patch-null`.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::query::ListQuery;
use super::routes::{json_bytes, json_value, record_response};
use super::store::Record;

/// What a successful POST answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PostAnswer {
    /// The whole record as stored.
    #[default]
    Record,
    /// Only the id: `{"_id": "..."}`.
    Id,
    /// The record inside `{"data": {...}}`.
    Envelope,
    /// An empty body.
    Empty,
}

/// The status of a successful POST.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PostStatus {
    #[default]
    #[value(name = "201")]
    Created,
    #[value(name = "200")]
    Ok,
}

/// What a successful PATCH (or PUT) answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum UpdateAnswer {
    /// The record after the change.
    #[default]
    New,
    /// The record as it was before the change.
    Old,
    /// 204 with no body.
    Empty,
}

/// What PUT does with the fields its body leaves out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PutMode {
    /// They are gone: the body is the new record.
    #[default]
    Replace,
    /// They stay, as with PATCH.
    Merge,
}

/// What `null` does to a field on PATCH (and on a merging PUT).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum NullOnPatch {
    /// The field is stored as `null`.
    #[default]
    Clears,
    /// The field keeps its value.
    Ignored,
    /// The request is refused: 400 with an error on the field.
    Reject,
}

/// The number of the first page of a list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum FirstPage {
    /// Pages count from 1.
    #[default]
    #[value(name = "1")]
    One,
    /// Pages count from 0.
    #[value(name = "0")]
    Zero,
}

/// What `page=0` answers when pages count from 1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PageZero {
    /// Page 1, as if asked for it.
    #[default]
    First,
    /// An empty list.
    Empty,
}

/// What `q` searches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Search {
    /// Every field's text.
    #[default]
    All,
    /// Every field's text but the name.
    NoNames,
    /// Nothing: `q` is ignored, the whole list comes back.
    Ignored,
}

/// The behaviour switches; `Default` is the API as the sandbox plays it by default.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Behaviour variants (the other plausible APIs)")]
pub struct Variants {
    /// What POST answers: the whole record, only {"_id": ...}, the record inside {"data": ...},
    /// or an empty body.
    #[arg(long, value_enum, value_name = "WHAT", default_value_t)]
    pub post_answer: PostAnswer,

    /// The status of a successful POST.
    #[arg(long, value_enum, value_name = "CODE", default_value_t)]
    pub post_status: PostStatus,

    /// What PATCH and PUT answer: the record after the change, the record before it, or 204
    /// with no body.
    #[arg(long, value_enum, value_name = "WHAT", default_value_t)]
    pub patch_answer: UpdateAnswer,

    /// Whether PUT replaces the record (fields left out are gone) or merges like PATCH.
    #[arg(long, value_enum, value_name = "MODE", default_value_t)]
    pub put: PutMode,

    /// What null does on PATCH: stores null (clears), keeps the old value (ignored), or is
    /// refused with 400 (reject). "" is always stored as "".
    #[arg(long, value_enum, value_name = "WHAT", default_value_t)]
    pub patch_null: NullOnPatch,

    /// Refuse a POST (or replacing PUT) without this field, null or "" counting as without,
    /// with 422 and an error naming it. Repeatable.
    #[arg(long = "require", value_name = "FIELD")]
    pub require: Vec<String>,

    /// Return capital and isCompany as strings ("1000", "true"), as some APIs do.
    #[arg(long)]
    pub string_types: bool,

    /// The number of a list's first page: 1 (page=0 is answered as --page-zero says) or 0.
    #[arg(long, value_enum, value_name = "N", default_value_t)]
    pub first_page: FirstPage,

    /// What page=0 answers when pages count from 1: page 1, or an empty list.
    #[arg(long, value_enum, value_name = "WHAT", default_value_t)]
    pub page_zero: PageZero,

    /// What q searches: every field, every field but the name, or nothing (q is ignored).
    #[arg(long, value_enum, value_name = "WHAT", default_value_t)]
    pub search: Search,

    /// Tell a list's total in an X-Total-Count header too.
    #[arg(long)]
    pub total_header: bool,
}

impl Variants {
    /// Reads a list query as this server does: its page counted from 1, and its search.
    /// Returns whether the page asked for answers nothing (page 0, with `--page-zero empty`).
    pub(crate) fn read_list(&self, query: &mut ListQuery) -> bool {
        match self.search {
            Search::All => {}
            Search::NoNames => query.q_in_names = false,
            Search::Ignored => query.q = None,
        }
        match (self.first_page, self.page_zero, query.asked_page) {
            (FirstPage::Zero, _, asked) => {
                query.page = asked.unwrap_or(0).max(0) as usize + 1;
                false
            }
            (FirstPage::One, PageZero::Empty, Some(0)) => true,
            _ => false,
        }
    }

    /// The 422 answer when a required field is missing, null or `""`.
    pub(crate) fn missing_required(&self, body: &Map<String, Value>) -> Option<Response> {
        let missing: Map<String, Value> = self
            .require
            .iter()
            .filter(|field| match body.get(field.as_str()) {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.trim().is_empty(),
                Some(_) => false,
            })
            .map(|field| (field.clone(), json!("is required")))
            .collect();
        if missing.is_empty() {
            return None;
        }
        let names: Vec<&str> = missing.keys().map(String::as_str).collect();
        let message = format!("Validation failed: {} is required", names.join(", "));
        Some(json_value(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({ "message": message, "errors": missing }),
        ))
    }

    /// Applies `--patch-null` to a PATCH (or merging PUT) body: nulls kept or dropped, or the
    /// 400 answer refusing them.
    pub(crate) fn refuse_nulls(&self, body: &mut Map<String, Value>) -> Option<Response> {
        match self.patch_null {
            NullOnPatch::Clears => None,
            NullOnPatch::Ignored => {
                body.retain(|_, v| !v.is_null());
                None
            }
            NullOnPatch::Reject => {
                let errors: Map<String, Value> = body
                    .iter()
                    .filter(|(_, v)| v.is_null())
                    .map(|(k, _)| (k.clone(), json!("must not be null")))
                    .collect();
                if errors.is_empty() {
                    return None;
                }
                Some(json_value(
                    StatusCode::BAD_REQUEST,
                    &json!({ "message": "Validation failed", "errors": errors }),
                ))
            }
        }
    }

    /// Turns the body into what this server stores, and so returns: with `--string-types`,
    /// `capital` and `isCompany` as strings.
    pub(crate) fn as_stored(&self, body: &mut Map<String, Value>) {
        if !self.string_types {
            return;
        }
        for key in ["capital", "isCompany"] {
            if let Some(value) = body.get_mut(key) {
                if value.is_number() || value.is_boolean() {
                    *value = Value::String(value.to_string());
                }
            }
        }
    }

    /// The answer to a POST that stored `record`.
    pub(crate) fn created(&self, record: &Record, id_key: &str) -> Response {
        let status = match self.post_status {
            PostStatus::Created => StatusCode::CREATED,
            PostStatus::Ok => StatusCode::OK,
        };
        match self.post_answer {
            PostAnswer::Record => record_response(status, record),
            PostAnswer::Id => json_value(status, &json!({ id_key: record.id })),
            PostAnswer::Envelope => {
                let mut body = Vec::with_capacity(record.json.len() + 10);
                body.extend_from_slice(b"{\"data\":");
                body.extend_from_slice(&record.json);
                body.push(b'}');
                json_bytes(status, body)
            }
            PostAnswer::Empty => empty(status),
        }
    }

    /// The answer to a PATCH or PUT that turned `old` into `new`.
    pub(crate) fn updated(&self, old: &Record, new: &Record) -> Response {
        match self.patch_answer {
            UpdateAnswer::New => record_response(StatusCode::OK, new),
            UpdateAnswer::Old => record_response(StatusCode::OK, old),
            UpdateAnswer::Empty => empty(StatusCode::NO_CONTENT),
        }
    }
}

fn empty(status: StatusCode) -> Response {
    Response::builder()
        .status(status)
        .body(Body::empty())
        .unwrap_or_default()
}
