//! Creating a customer, never twice: the rule for a POST.
//!
//! A 2xx answer is proof the server made the customer, whatever its body says: the row is
//! `created` and never sent again, even when the body is cut short or is not JSON (its id is
//! then looked up by its key; when it cannot be found, the id stays blank and `_note` says
//! why). Only a POST that got no status at all (no answer in time, a broken connection) or a
//! 500/502/504 may or may not have been acted on: the customer is looked up by its key first
//! and sent again only if it is surely absent. A look-up that finds more than one candidate, or
//! that cannot be made, never leads to a second POST: the row is `unknown` and says why, and
//! `--resume` looks again. A create an earlier run sent before dying is looked up the same way
//! before anything is sent.

use super::journal::{Line, Op};
use super::{stop, Applier, Done, Mark, Outcome};
use crate::api::{record_id, retry, ApiError, Record, Write};
use crate::lookup::{Found, Keys};

impl Applier {
    /// POSTs `body` (see the module doc). `resumed` is the `send` line an earlier run left
    /// for this row without a `done`.
    pub(super) async fn create(
        &self,
        body: &Record,
        find_by: Option<&Keys>,
        mark: &Mark<'_>,
        resumed: Option<&Line>,
        done_as: Outcome,
    ) -> Result<Done, ApiError> {
        let found = |record: Record| Done {
            id: record_id(&record),
            after: Some(body.clone()),
            ..Done::new(done_as)
        };
        if let Some(Line::Send { op: Op::Create, .. }) = resumed {
            match self.find_created(body, find_by).await? {
                Found::One(record) => return Ok(found(record)),
                Found::Many(n) => return Ok(ambiguous(n, "an earlier run sent it")),
                Found::None => {}
            }
        }
        let mut attempt = 1;
        loop {
            let lost = match self
                .client
                .write(Write::Create(body), &|| mark.write())
                .await
            {
                Ok(written) => {
                    let answer = Some(written.record);
                    return Ok(self
                        .accepted(body, written.status, answer, find_by, done_as)
                        .await);
                }
                Err(err) => match err.accepted() {
                    Some(status) => {
                        return Ok(self.accepted(body, status, None, find_by, done_as).await)
                    }
                    None if err.outcome_unknown() => err,
                    None => return Err(err),
                },
            };
            // No status, or a 500/502/504: the server may have stored it.
            match self.find_created(body, find_by).await {
                Ok(Found::One(record)) => return Ok(found(record)),
                Ok(Found::Many(n)) => {
                    return Ok(ambiguous(n, &format!("its answer was lost ({lost})")))
                }
                Ok(Found::None) => {}
                Err(ApiError::Stopped(why)) => return Ok(stop::cut_off(&why)),
                Err(err) => {
                    return Ok(Done::because(
                        Outcome::Unknown,
                        format!(
                            "its answer was lost ({lost}) and looking the customer up failed \
                             ({err}); run again with --resume to look again"
                        ),
                    ))
                }
            }
            if !self.client.retry.take(attempt) {
                return Err(lost);
            }
            crate::debug!("{lost}; the customer is not on the server, sending it again");
            tokio::time::sleep(retry::backoff(&self.client.retry.policy, attempt)).await;
            attempt += 1;
        }
    }

    /// The customer a POST answered `status` (a 2xx) made: as the answer shows it (read back
    /// when it does not show every field), else found by its key; its id left blank, with a
    /// note, when neither tells it. Never an error: the customer exists.
    async fn accepted(
        &self,
        body: &Record,
        status: u16,
        answer: Option<Record>,
        find_by: Option<&Keys>,
        done_as: Outcome,
    ) -> Done {
        let unread = |why: String| {
            format!("the server answered {status} without a readable id, and {why}: its id is not known")
        };
        let (record, note) = match answer.filter(|a| record_id(a).is_some()) {
            Some(answer) => match self.confirm_created(body, answer.clone()).await {
                Ok((record, note)) => (Some(record), note),
                Err(err) => (
                    Some(answer),
                    Some(format!("created; reading it back failed: {err}")),
                ),
            },
            None => match self.find_created(body, find_by).await {
                Ok(Found::One(record)) => (
                    Some(record),
                    Some(format!(
                        "the server answered {status} without a readable id; found by its key"
                    )),
                ),
                Ok(Found::Many(n)) => (None, Some(unread(format!("{n} customers match it")))),
                Ok(Found::None) => (None, Some(unread("the list does not show it yet".into()))),
                Err(err) => (None, Some(unread(format!("looking it up failed ({err})")))),
            },
        };
        Done {
            id: record.as_ref().and_then(record_id),
            status: Some(status),
            note,
            after: Some(body.clone()),
            ..Done::new(done_as)
        }
    }
}

/// A create that may have reached the server (`how`), with `n` customers matching it: which
/// one it made, if any, cannot be told, so it is never sent again.
fn ambiguous(n: usize, how: &str) -> Done {
    Done::because(
        Outcome::Unknown,
        format!(
            "{how}, and {n} customers now match it: it is not sent again, since it may be one \
             of them. Look at them, remove any duplicate, then run again with --resume"
        ),
    )
}
