//! What `check --write` saw and concluded, for `--output json` as it is and for people as a
//! table in the style of the read-only check.

use std::io::{self, Write};

use serde::Serialize;

use super::answer::ValueCheck;
use crate::profile::{
    ClearEffect, ClearWith, CreateAnswer, PutEffect, UpdateAnswer, UpdateWith, WriteFacts,
};

/// Everything the write probe did and found.
#[derive(Debug, Default, Serialize)]
pub struct WriteReport {
    /// The test customer's name.
    pub customer: String,
    pub id: Option<String>,
    /// `_id` or `id`, as the customer read back showed.
    pub id_field: Option<String>,
    /// Customers left by earlier probes that were killed, deleted before this one started.
    pub leftovers: Vec<Leftover>,
    /// How they were looked for: by `q`, or by a walk of the list where `q` does not search
    /// names.
    pub leftovers_looked_for: Option<String>,
    /// Every call of the round trip, in order.
    pub calls: Vec<Call>,
    /// What the API profile keeps.
    pub findings: WriteFacts,
    /// Each value sent and what came back.
    pub values: Vec<ValueCheck>,
    /// Whether a list searching the name showed the new customer.
    pub list_finds_it: Option<bool>,
    /// Whether the PATCH and the PUT changed the record, as read back.
    pub patch_applied: Option<bool>,
    pub put_applied: Option<bool>,
    /// The round trip ran to its end.
    pub completed: bool,
    pub interrupted: bool,
    /// Why the round trip stopped early.
    pub stopped: Option<String>,
    /// Nothing the probe created is left (and the earlier probes' customers are gone).
    pub cleaned_up: bool,
    pub cleanup_error: Option<String>,
    /// Ids of this probe's customers still there: delete them by hand.
    pub not_deleted: Vec<String>,
    /// Answers custbulk could not make sense of.
    pub warnings: Vec<String>,
}

/// One HTTP call of the probe.
#[derive(Debug, Serialize)]
pub struct Call {
    pub request: String,
    /// `None` when no answer came (connection lost, timeout).
    pub status: Option<u16>,
    pub ms: u64,
    /// What came back, in a few words.
    pub answer: String,
}

/// A customer an earlier, killed probe left behind.
#[derive(Debug, Serialize)]
pub struct Leftover {
    pub id: String,
    pub name: String,
    pub deleted: bool,
    pub error: Option<String>,
}

impl WriteReport {
    /// The write probe's part of `custbulk check --write`'s text output.
    pub fn print_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out)?;
        writeln!(out, "write probe    customer {:?}", self.customer)?;
        self.print_leftovers(out)?;
        self.print_calls(out)?;
        let f = &self.findings;
        // A probe that stopped early shows what it saw, not a column of unknowns.
        let conclude = |out: &mut dyn Write, label: &str, words: Option<&str>| match words {
            Some(words) => writeln!(out, "{label:<15}{words}"),
            None if self.completed => writeln!(out, "{label:<15}unknown (not seen)"),
            None => Ok(()),
        };
        if f.create_status.is_some() || self.completed {
            writeln!(out, "POST answers   {}", create_words(f))?;
        }
        let required = if !f.required_fields.is_empty() {
            Some(format!(
                "{} (POST was refused without)",
                f.required_fields.join(", ")
            ))
        } else if self.completed {
            Some("nothing beyond name (of the fields the probe did not send)".to_owned())
        } else {
            None
        };
        conclude(out, "requires", required.as_deref())?;
        conclude(out, "PATCH answers", f.patch_answer.map(patch_words))?;
        conclude(out, "PUT", f.put.map(put_words))?;
        conclude(out, "null on PATCH", f.null_on_patch.map(clear_words))?;
        conclude(out, "\"\" on PATCH", f.empty_on_patch.map(clear_words))?;
        let search = f.search_finds_names.map(|finds| match finds {
            true => "searches names (it found the probe's customer)",
            false => {
                "does NOT search names: GET /customers?q=NAME did not find the probe's \
                 customer, which exists"
            }
        });
        conclude(out, "q", search)?;
        for check in &self.values {
            let verdict = if check.as_sent {
                "yes".to_owned()
            } else {
                format!("NO: sent {}, got {}", check.sent, check.got)
            };
            writeln!(out, "as sent        {}: {verdict}", check.what)?;
        }
        if !f.server_fields.is_empty() {
            writeln!(out, "server adds    {}", f.server_fields.join(", "))?;
        }
        if let Some(clear) = f.clear_with {
            writeln!(out, "clear a field  {}", clear_with_words(clear))?;
        }
        if let Some(update) = f.update_with {
            let how = match update {
                UpdateWith::Patch => "PATCH with the changed fields",
                UpdateWith::Put => "PUT the whole record (PATCH did not change it)",
            };
            writeln!(out, "update with    {how}")?;
        }
        for warning in &self.warnings {
            writeln!(out, "warning        {warning}")?;
        }
        if let Some(why) = &self.stopped {
            writeln!(out, "stopped        {why}")?;
        }
        match &self.cleanup_error {
            None if self.cleaned_up => {
                writeln!(out, "cleaned up     yes: nothing the probe made is left")?
            }
            None => writeln!(
                out,
                "cleaned up     NO: see the earlier probes' customers above"
            )?,
            Some(why) => writeln!(out, "cleaned up     NO: {why}")?,
        }
        Ok(())
    }

    fn print_leftovers(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.leftovers.is_empty() {
            writeln!(out, "earlier probes none left behind")?;
        }
        if let Some(how) = &self.leftovers_looked_for {
            writeln!(out, "               (looked for {how})")?;
        }
        for l in &self.leftovers {
            match &l.error {
                None => writeln!(
                    out,
                    "earlier probes deleted {} ({:?}), left by a stopped probe",
                    l.id, l.name
                )?,
                Some(why) => writeln!(
                    out,
                    "earlier probes NOT deleted {} ({:?}): {why}",
                    l.id, l.name
                )?,
            }
        }
        Ok(())
    }

    fn print_calls(&self, out: &mut dyn Write) -> io::Result<()> {
        let width = self
            .calls
            .iter()
            .map(|c| c.request.chars().count())
            .max()
            .unwrap_or(0)
            .max("call".len());
        writeln!(out)?;
        writeln!(out, "{:<width$}  status  {:>6}  answer", "call", "time")?;
        for call in &self.calls {
            let status = call
                .status
                .map_or_else(|| "-".to_owned(), |s| s.to_string());
            writeln!(
                out,
                "{:<width$}  {status:<6}  {:>3} ms  {}",
                call.request, call.ms, call.answer
            )?;
        }
        writeln!(out)?;
        Ok(())
    }
}

fn create_words(f: &WriteFacts) -> String {
    let what = match f.create_answer {
        Some(CreateAnswer::Record) => "the whole record",
        Some(CreateAnswer::Id) => "only the id",
        Some(CreateAnswer::Envelope) => "the record inside an envelope",
        Some(CreateAnswer::Empty) => "nothing (the id is looked up by name)",
        None => "an answer custbulk cannot read",
    };
    let status = f
        .create_status
        .map_or_else(String::new, |s| format!(", {s}"));
    let id = f
        .create_id_field
        .as_ref()
        .map_or_else(String::new, |k| format!(", id in {k:?}"));
    if f.create_status.is_none() {
        return "unknown (POST was not accepted)".to_owned();
    }
    format!("{what}{status}{id}")
}

fn patch_words(answer: UpdateAnswer) -> &'static str {
    match answer {
        UpdateAnswer::New => "the new record",
        UpdateAnswer::Old => "the OLD record (read back to see a change)",
        UpdateAnswer::Empty => "nothing (read back to see a change)",
    }
}

fn put_words(put: PutEffect) -> &'static str {
    match put {
        PutEffect::Replace => "replaces the record (fields left out are gone)",
        PutEffect::Merge => "merges (fields left out stay, as with PATCH)",
    }
}

fn clear_words(effect: ClearEffect) -> &'static str {
    match effect {
        ClearEffect::Clears => "clears the field",
        ClearEffect::StoresEmpty => "stores \"\"",
        ClearEffect::Ignored => "is IGNORED (the field keeps its value)",
        ClearEffect::Refused => "is refused",
    }
}

fn clear_with_words(clear: ClearWith) -> &'static str {
    match clear {
        ClearWith::Null => "send null",
        ClearWith::Empty => "send \"\"",
        ClearWith::Put => "PUT the record without the field",
        ClearWith::None => "NO way seen: neither null nor \"\" clears, and PUT merges",
    }
}
