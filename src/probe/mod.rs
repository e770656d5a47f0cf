//! `check --write`: one marked round trip against the API, to learn what the vendor's page does
//! not say about writes before a bulk run relies on a guess.
//!
//! One test customer, named `custbulk check <time>, safe to delete`, is created, read, listed,
//! patched, replaced, patched with `null` and `""`, and deleted; every call is timed and its
//! answer described, and the findings are what the API profile keeps. The customer is deleted
//! whatever happens: after a failure, and after Ctrl-C (the caller's `cancel`), when the round
//! trip is dropped and the deletion runs on its own. A probe killed outright leaves its customer
//! behind; the next probe finds such customers by their marked name, confirmed exactly, and
//! deletes them first. Customers are found by name with `q` when it searches names; when the
//! probe's own customer shows it does not (a finding the profile keeps), by a walk of the list,
//! newest first.

mod answer;
mod report;
mod sample;

use std::future::Future;
use std::time::Instant;

use reqwest::Method;
use serde_json::{json, Value};

pub use answer::ValueCheck;
pub use report::{Call, Leftover, WriteReport};

use crate::api::{self, ApiError, Client, ListQuery, Record, Response};
use crate::profile::{ClearEffect, ClearWith, PutEffect, UpdateWith};

/// Pages of earlier probes' search, or of the walk of the list, looked at, at most: enough for
/// any number of killed probes even where the server ignores `q`, without reading a whole
/// account.
const LEFTOVER_PAGES: u64 = 10;
const LEFTOVER_PAGE_SIZE: u64 = 100;

/// How customers are looked for by name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Finding {
    /// `q` with the name.
    Search,
    /// Pages of the list, newest first (`q` does not search names).
    Walk,
}

/// Runs the probe to its end, or until an `interrupted()` future completes (Ctrl-C), and always
/// tries to delete what it created; a second interruption stops that too, and the report says
/// what is left. Never panics on what the server says; everything it saw is in the report.
pub async fn run<F>(
    client: &Client,
    first_page: u64,
    mut interrupted: impl FnMut() -> F,
) -> WriteReport
where
    F: Future<Output = ()>,
{
    let mut probe = Probe {
        client,
        first_page,
        report: WriteReport {
            customer: sample::name_now(),
            ..WriteReport::default()
        },
        posted: false,
        created: false,
        sent: Record::new(),
        last: Record::new(),
    };
    let outcome = tokio::select! {
        result = probe.round_trip() => Some(result),
        () = interrupted() => None,
    };
    match outcome {
        Some(Ok(())) => probe.report.completed = true,
        Some(Err(why)) => probe.report.stopped = Some(why),
        None => {
            crate::info!("Interrupted: deleting the probe's customer before stopping.");
            probe.report.interrupted = true;
            probe.report.stopped = Some("interrupted (Ctrl-C)".to_owned());
        }
    }
    let finished = tokio::select! {
        () = probe.clean_up() => true,
        () = interrupted() => false,
    };
    if !finished {
        let what = match &probe.report.id {
            Some(id) => format!("the probe's customer {id}"),
            None => format!("the probe's customer {:?}", probe.report.customer),
        };
        probe.report.cleanup_error = Some(format!(
            "interrupted again before {what} was deleted; delete it by hand"
        ));
    }
    probe.conclude();
    probe.report
}

struct Probe<'a> {
    client: &'a Client,
    first_page: u64,
    report: WriteReport,
    /// Set before the POST is sent: from then on a customer may exist, even without an id.
    posted: bool,
    /// The POST was answered 2xx: the customer surely exists.
    created: bool,
    /// The body the record was created or last replaced with.
    sent: Record,
    /// The record as last read back.
    last: Record,
}

type Outcome = Result<Response, ApiError>;

impl Probe<'_> {
    async fn round_trip(&mut self) -> Result<(), String> {
        self.remove_leftovers(Finding::Search, None).await;
        let id = self.create().await?;
        let fetched = self
            .read_back(&id, "GET /customers/{id}")
            .await
            .ok_or("the new customer could not be read back")?;
        self.report.id_field = api::envelope::id_field(&fetched).map(str::to_owned);
        let (checks, facts) = answer::values(&self.sent, &fetched);
        self.report.values = checks;
        self.report.findings.values = Some(facts);
        self.report.findings.server_fields = answer::server_fields(&self.sent, &fetched);
        self.list(&id).await;
        self.patch(&id).await;
        self.put(&id).await;
        let null = self.clear(&id, "street1", Value::Null).await;
        self.report.findings.null_on_patch = null;
        let empty = self.clear(&id, "city", json!("")).await;
        self.report.findings.empty_on_patch = empty;
        Ok(())
    }

    /// One call, timed and described in the report.
    async fn call(
        &mut self,
        request: String,
        method: Method,
        id: Option<&str>,
        query: &[(&str, String)],
        body: Option<&Record>,
    ) -> Outcome {
        let started = Instant::now();
        let result = self.client.exchange(method, id, query, body).await;
        let ms = started.elapsed().as_millis() as u64;
        let (status, answer) = match &result {
            Ok(r) => (Some(r.status), answer::describe(self.client, &r.body)),
            Err(e) => (e.status(), answer::describe_error(self.client, e)),
        };
        self.report.calls.push(Call {
            request,
            status,
            ms,
            answer,
        });
        result
    }

    fn warn(&mut self, warning: String) {
        self.report
            .warnings
            .push(self.client.redact(warning.clone()));
    }

    /// POSTs the test customer; when refused for fields it did not send, once more with them.
    async fn create(&mut self) -> Result<String, String> {
        let mut body = sample::record(&self.report.customer);
        self.posted = true;
        let mut result = self
            .call(
                "POST /customers".into(),
                Method::POST,
                None,
                &[],
                Some(&body),
            )
            .await;
        if let Err(err) = &result {
            let missing = answer::missing_fields(err, &body);
            if matches!(err.status(), Some(400 | 422)) && !missing.is_empty() {
                for field in &missing {
                    body.insert(field.clone(), sample::filler(field));
                }
                let request = format!("POST /customers again, with {}", missing.join(", "));
                self.report.findings.required_fields = missing;
                result = self
                    .call(request, Method::POST, None, &[], Some(&body))
                    .await;
            }
        }
        let response = match result {
            Ok(response) => response,
            Err(err) => {
                // A refusal stored nothing; anything else may have.
                self.posted = !matches!(err.status(), Some(400..=499));
                return Err(format!(
                    "POST was not accepted ({}), so nothing else could be tried",
                    answer::error_words(self.client, &err)
                ));
            }
        };
        self.sent = body;
        self.created = true;
        let created = answer::created(&response.body);
        let findings = &mut self.report.findings;
        findings.create_status = Some(response.status);
        findings.create_answer = created.answer;
        findings.create_id_field = created.id_field.map(str::to_owned);
        if created.answer.is_none() {
            let shown = answer::describe(self.client, &response.body);
            self.warn(format!(
                "POST answered {} with a body custbulk cannot read ({shown}); the customer was \
                 looked up by its name",
                response.status
            ));
        }
        let id = match created.id {
            Some(id) => id,
            None => self
                .find_by_name("GET /customers?q=NAME, to find the id")
                .await?
                .into_iter()
                .next()
                .ok_or("POST answered without an id and the new customer is not in the list")?,
        };
        self.report.id = Some(id.clone());
        Ok(id)
    }

    /// GETs the customer and keeps it as the last state seen.
    async fn read_back(&mut self, id: &str, request: &str) -> Option<Record> {
        let response = self
            .call(request.into(), Method::GET, Some(id), &[], None)
            .await
            .ok()?;
        let record = answer::record(&response.body)?;
        self.last = record.clone();
        Some(record)
    }

    /// The ids of customers named exactly as this probe's: by `q`, then by a walk of the list
    /// when `q` found nothing and is not known to search names.
    async fn find_by_name(&mut self, request: &str) -> Result<Vec<String>, String> {
        let name = self.report.customer.clone();
        let searches = self.report.findings.search_finds_names != Some(false);
        if searches {
            let query = [
                ("q", name.clone()),
                ("limit", "10".to_owned()),
                ("page", self.first_page.to_string()),
            ];
            let response = self
                .call(request.into(), Method::GET, None, &query, None)
                .await
                .map_err(|e| answer::error_words(self.client, &e))?;
            let page = self
                .client
                .page_from(&response.body)
                .map_err(|e| self.client.redact(e.to_string()))?;
            let ids = named(&page.items, |n| n == name);
            if !ids.is_empty() || self.report.findings.search_finds_names == Some(true) {
                return Ok(ids.into_iter().map(|(id, _)| id).collect());
            }
        }
        let found = self.look(Finding::Walk, |n| n == name).await?;
        Ok(found.into_iter().map(|(id, _)| id).collect())
    }

    /// Customers whose name `wanted` accepts, with their names: from `q` with what earlier
    /// probes' names share, or from a walk of the list, newest first; at most
    /// [`LEFTOVER_PAGES`] pages either way.
    async fn look(
        &self,
        how: Finding,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<Vec<(String, String)>, String> {
        let mut found: Vec<(String, String)> = Vec::new();
        let mut previous: Vec<String> = Vec::new();
        for page in self.first_page..self.first_page + LEFTOVER_PAGES {
            let mut query = ListQuery {
                limit: Some(LEFTOVER_PAGE_SIZE),
                page: Some(page),
                ..ListQuery::default()
            };
            match how {
                Finding::Search => query.q = Some(sample::SEARCH.to_owned()),
                Finding::Walk => {
                    query.sort_by = Some("createdAt".to_owned());
                    query.order = Some("desc".to_owned());
                }
            }
            let listed = self
                .client
                .list(&query)
                .await
                .map_err(|e| answer::error_words(self.client, &e))?;
            let ids: Vec<String> = listed.items.iter().filter_map(api::record_id).collect();
            if ids.is_empty() || ids == previous {
                break;
            }
            for (id, name) in named(&listed.items, &wanted) {
                if !found.iter().any(|(i, _)| *i == id) {
                    found.push((id, name));
                }
            }
            let short = (ids.len() as u64) < LEFTOVER_PAGE_SIZE;
            if listed.has_next == Some(false) || (short && listed.has_next.is_none()) {
                break;
            }
            previous = ids;
        }
        Ok(found)
    }

    /// Whether a search for the name finds the new customer: `q` may not search names, and
    /// then earlier probes' customers, which the search looked for, are looked for again by a
    /// walk of the list.
    async fn list(&mut self, id: &str) {
        let name = self.report.customer.clone();
        let query = [
            ("q", name.clone()),
            ("limit", "10".to_owned()),
            ("page", self.first_page.to_string()),
        ];
        let answer = self
            .call(
                "GET /customers?q=NAME".into(),
                Method::GET,
                None,
                &query,
                None,
            )
            .await
            .map_err(|e| answer::error_words(self.client, &e))
            .and_then(|r| {
                let page = self.client.page_from(&r.body);
                page.map_err(|e| self.client.redact(e.to_string()))
            });
        let page = match answer {
            Ok(page) => page,
            Err(why) => return self.warn(format!("the list could not be read: {why}")),
        };
        let found = named(&page.items, |n| n == name)
            .iter()
            .any(|(i, _)| i == id);
        self.report.list_finds_it = Some(found);
        self.report.findings.search_finds_names = Some(found);
        if !found {
            self.remove_leftovers(Finding::Walk, Some(id)).await;
        }
    }

    fn field_text(&self, field: &str) -> Option<String> {
        self.last
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// PATCHes the city: what the answer shows, and whether the change is there when read back.
    async fn patch(&mut self, id: &str) {
        let before = self.field_text("city").unwrap_or_default();
        let body = record(json!({ "city": sample::PATCHED_CITY }));
        let request = format!("PATCH {{\"city\": {:?}}}", sample::PATCHED_CITY);
        let response = match self
            .call(request, Method::PATCH, Some(id), &[], Some(&body))
            .await
        {
            Ok(r) => r,
            Err(e) => {
                let why = answer::error_words(self.client, &e);
                return self.warn(format!("PATCH of one field failed: {why}"));
            }
        };
        self.report.findings.patch_answer =
            answer::updated(&response.body, "city", &before, sample::PATCHED_CITY);
        if self.read_back(id, "GET, to read it back").await.is_some() {
            if self.field_text("city").as_deref() == Some(sample::PATCHED_CITY) {
                self.report.patch_applied = Some(true);
            } else {
                self.report.patch_applied = Some(false);
                self.warn("PATCH answered success but the city did not change".into());
            }
        }
    }

    /// PUTs the record without `street2`: replaced when it is gone, merged when it stays.
    async fn put(&mut self, id: &str) {
        let mut body = self.sent.clone();
        body.shift_remove("street2");
        body.insert("city".into(), json!(sample::PUT_CITY));
        let request = format!("PUT all but street2, {{\"city\": {:?}}}", sample::PUT_CITY);
        if let Err(e) = self
            .call(request, Method::PUT, Some(id), &[], Some(&body))
            .await
        {
            let why = answer::error_words(self.client, &e);
            return self.warn(format!("PUT of the whole record failed: {why}"));
        }
        if self.read_back(id, "GET, to read it back").await.is_none() {
            return;
        }
        let applied = self.field_text("city").as_deref() == Some(sample::PUT_CITY);
        self.report.put_applied = Some(applied);
        if !applied {
            self.warn("PUT answered success but the city did not change".into());
        }
        self.report.findings.put = match self.last.get("street2") {
            None | Some(Value::Null) => Some(PutEffect::Replace),
            Some(v) if v == sample::STREET2 => Some(PutEffect::Merge),
            Some(other) => {
                let other = other.to_string();
                self.warn(format!("after PUT, street2 came back as {other}"));
                None
            }
        };
    }

    /// PATCHes `field` with a clearing value and reads back what that did.
    async fn clear(&mut self, id: &str, field: &str, value: Value) -> Option<ClearEffect> {
        let Some(before) = self.field_text(field) else {
            self.warn(format!("{field} had no value to clear with {value}"));
            return None;
        };
        let body = record(json!({ field: value }));
        let request = format!("PATCH {{{field:?}: {value}}}");
        match self
            .call(request, Method::PATCH, Some(id), &[], Some(&body))
            .await
        {
            Err(e) if matches!(e.status(), Some(400..=499)) => return Some(ClearEffect::Refused),
            Err(e) => {
                let why = answer::error_words(self.client, &e);
                self.warn(format!("PATCH {field} {value} failed: {why}"));
                return None;
            }
            Ok(_) => {}
        }
        let read = self.read_back(id, "GET, to read it back").await?;
        let effect = answer::cleared(&read, field, &before);
        if effect.is_none() {
            let got = read.get(field).cloned().unwrap_or(Value::Null);
            self.warn(format!(
                "after PATCH {field} {value}, it came back as {got}"
            ));
        }
        effect
    }

    /// Deletes the customers that earlier probes, killed before their clean-up, left behind,
    /// found `how` (never `own`, this probe's customer).
    async fn remove_leftovers(&mut self, how: Finding, own: Option<&str>) {
        self.report.leftovers_looked_for = Some(match how {
            Finding::Search => format!("by searching q={:?}", sample::SEARCH),
            Finding::Walk => format!(
                "by walking the list, newest first ({LEFTOVER_PAGES} pages of \
                 {LEFTOVER_PAGE_SIZE} at most), since q does not search names"
            ),
        });
        let found = match self.look(how, sample::is_probe_name).await {
            Ok(found) => found,
            Err(why) => {
                return self.warn(format!(
                    "earlier probes' customers were not looked for: {why}"
                ))
            }
        };
        for (id, name) in found {
            let known = self.report.leftovers.iter().any(|l| l.id == id);
            if known || own == Some(id.as_str()) {
                continue;
            }
            let error = match self.client.delete(&id).await {
                Ok(()) => None,
                Err(e) if e.status() == Some(404) => None,
                Err(e) => Some(answer::error_words(self.client, &e)),
            };
            match &error {
                None => crate::info!("Deleted {id} ({name:?}), left by an earlier check --write."),
                Some(why) => crate::warn!(
                    "could not delete {id} ({name:?}), left by an earlier check --write: {why}"
                ),
            }
            self.report.leftovers.push(Leftover {
                id,
                name,
                deleted: error.is_none(),
                error,
            });
        }
    }

    /// Deletes the probe's customer and checks it is gone; without an id (a POST that answered
    /// nothing usable, or was interrupted), finds it by its name first.
    async fn clean_up(&mut self) {
        let ids = match &self.report.id {
            Some(id) => vec![id.clone()],
            None if self.posted => {
                match self.find_by_name("GET /customers?q=NAME, to find it").await {
                    Ok(ids) => ids,
                    Err(why) => {
                        self.report.cleanup_error = Some(format!(
                            "the probe's customer may exist and could not be looked for ({why}); \
                         look for {:?} and delete it",
                            self.report.customer
                        ));
                        return;
                    }
                }
            }
            None => Vec::new(),
        };
        if ids.is_empty() && self.created {
            self.report.cleanup_error = Some(format!(
                "the probe's customer was created but is not found by its name; look for {:?} \
                 and delete it",
                self.report.customer
            ));
        }
        for id in ids {
            let deleted = self
                .call(
                    "DELETE /customers/{id}".into(),
                    Method::DELETE,
                    Some(&id),
                    &[],
                    None,
                )
                .await;
            let after = self
                .call(
                    "GET /customers/{id} after DELETE".into(),
                    Method::GET,
                    Some(&id),
                    &[],
                    None,
                )
                .await;
            let gone = matches!(&after, Err(e) if matches!(e.status(), Some(404 | 410)));
            if !gone {
                let why = match (deleted, after) {
                    (Err(e), _) => answer::error_words(self.client, &e),
                    (Ok(_), Ok(_)) => "it is still there after DELETE".to_owned(),
                    (Ok(_), Err(e)) => answer::error_words(self.client, &e),
                };
                self.report.not_deleted.push(id.clone());
                self.report.cleanup_error = Some(self.client.redact(format!(
                    "the probe's customer {id} could not be deleted ({why}); delete it by hand"
                )));
            }
        }
    }

    /// What the findings mean for clearing fields and for updates.
    fn conclude(&mut self) {
        let report = &mut self.report;
        let leftovers_gone = report.leftovers.iter().all(|l| l.deleted);
        report.cleaned_up = report.cleanup_error.is_none() && leftovers_gone;
        let f = &mut report.findings;
        if !report.completed {
            return;
        }
        f.clear_with = Some(if f.null_on_patch.is_some_and(ClearEffect::empties) {
            ClearWith::Null
        } else if f.empty_on_patch.is_some_and(ClearEffect::empties) {
            ClearWith::Empty
        } else if f.put == Some(PutEffect::Replace) {
            ClearWith::Put
        } else {
            ClearWith::None
        });
        f.update_with = match (report.patch_applied, report.put_applied) {
            (Some(true), _) => Some(UpdateWith::Patch),
            (_, Some(true)) => Some(UpdateWith::Put),
            _ => None,
        };
    }
}

/// The ids and names of the records whose name `wanted` accepts.
fn named(items: &[Record], wanted: impl Fn(&str) -> bool) -> Vec<(String, String)> {
    items
        .iter()
        .filter_map(|item| {
            let name = item.get("name").and_then(Value::as_str)?;
            let id = api::record_id(item)?;
            wanted(name).then(|| (id, name.to_owned()))
        })
        .collect()
}

fn record(value: Value) -> Record {
    match value {
        Value::Object(map) => map,
        _ => Record::new(),
    }
}
