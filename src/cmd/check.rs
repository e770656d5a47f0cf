//! `custbulk check`: a probe of the configured API, read-only unless `--write`.
//!
//! The vendor documents no response shapes, so before a bulk run a person can see what custbulk
//! detects for each unknown of the API doc: the list envelope, the id field, where paging starts,
//! the page size cap and the total. Without `--write` only GET requests are sent; `--write` adds
//! the marked round trip of [`crate::probe`], and `--save` keeps the findings in the API profile.

use std::io::{self, Write};

use serde::Serialize;

use crate::api::{self, ApiError, Client, ClientOptions, Envelope, ListQuery, Page};
use crate::cmd::{Global, Output};
use crate::error::Exit;
use crate::probe::{self, WriteReport};
use crate::profile::{self, ListEnvelope, ListFacts, Probe, Profile};

const EXAMPLES: &str = "\
Examples:
  ICLOUDREADY_API_KEY=... custbulk check
  custbulk check --write --save
  custbulk check --sandbox --write --output json";

/// Probe the API and report what custbulk detects: reachability, auth, the list envelope, the
/// id field, whether `page` starts at 0 or 1, the page size cap and the total. Read-only unless
/// --write.
///
/// With --write, one test customer named "custbulk check <time>, safe to delete" is created,
/// read, listed, patched, replaced, patched with null and "", and deleted, to learn what the API
/// answers to writes; it is deleted on failure and on Ctrl-C too, and a later --write deletes
/// any that a killed probe left. --save writes the findings to the API profile that every
/// command reads.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Where list responses keep their records, as a dotted path, when detection fails.
    #[arg(long, value_name = "PATH")]
    pub items_path: Option<String>,

    /// Also make a round trip with one marked test customer (deleted at the end) to learn what
    /// the API answers to POST, PATCH, PUT and DELETE.
    #[arg(long)]
    pub write: bool,

    /// Save what the check found to the API profile: ./custbulk.api.toml, or --profile FILE.
    #[arg(long)]
    pub save: bool,
}

/// What the probe found; printed as text or JSON.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub base_url: String,
    pub reachable: bool,
    pub authorized: bool,
    pub envelope: Option<String>,
    pub id_field: Option<String>,
    /// `1`, `0`, or null when it could not be told (fewer than two records).
    pub first_page: Option<u8>,
    /// Whether `page` changes what comes back; false means paging is ignored.
    pub paging_works: Option<bool>,
    /// The largest page the server returned when asked for more than it would give.
    pub page_size_cap: Option<u64>,
    pub total: Option<u64>,
    pub problems: Vec<String>,
    /// The envelope as detected, for the profile.
    #[serde(skip)]
    pub detected: Option<Envelope>,
}

/// `check --write --output json`: the read-only report's fields, and the round trip's.
#[derive(Serialize)]
struct WithWrite<'a> {
    #[serde(flatten)]
    read: &'a Report,
    write: Option<&'a WriteReport>,
}

/// The page size asked for when looking for a cap.
const BIG_PAGE: u64 = 2000;

pub async fn run(global: &Global, args: Args) -> anyhow::Result<Exit> {
    let options = ClientOptions {
        items_path: args.items_path,
        ..ClientOptions::default()
    };
    // The check finds out afresh what a profile would say, so it reads none.
    let connection = super::connect::connect_unprofiled(global, options).await?;
    let client = &connection.client;
    let report = probe(client).await;
    let write = if args.write && report.problems.is_empty() {
        let first_page = report.first_page.unwrap_or(1).into();
        Some(probe::run(client, first_page, interrupted).await)
    } else {
        None
    };
    let mut out = std::io::stdout().lock();
    match global.output {
        // Only the problems, in the error below.
        _ if global.quiet => {}
        Output::Json if args.write => {
            let both = WithWrite {
                read: &report,
                write: write.as_ref(),
            };
            writeln!(out, "{}", serde_json::to_string_pretty(&both)?)?;
        }
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        Output::Text => {
            print_text(&mut out, &report)?;
            if let Some(write) = &write {
                write.print_text(&mut out)?;
            }
        }
    }
    out.flush()?;
    drop(out);
    if !report.problems.is_empty() {
        if args.write {
            crate::warn!("the write probe did not run: the read-only check found problems");
        }
        let mut message = format!("the API check found {} problem(s)", report.problems.len());
        if global.quiet {
            // Not shown above: say them here.
            message = format!("{message}: {}", report.problems.join("; "));
        }
        return Err(anyhow::anyhow!(message));
    }
    if let Some(write) = &write {
        if let Some(why) = &write.cleanup_error {
            return Err(anyhow::anyhow!("{why}"));
        }
        if !write.completed || !write.cleaned_up {
            let why = write
                .stopped
                .as_deref()
                .unwrap_or("earlier probes' customers remain");
            return Err(anyhow::anyhow!("the write probe could not complete: {why}"));
        }
    }
    if args.save {
        let path = profile::save_path(global.profile.as_deref());
        made_profile(client.base_url(), &report, write.as_ref()).save(&path)?;
        crate::info!("Saved the API profile to {}.", path.display());
    }
    Ok(Exit::Ok)
}

/// Completes on Ctrl-C; never, when the signal cannot be watched.
async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The profile of what this check found.
fn made_profile(base_url: &str, read: &Report, write: Option<&WriteReport>) -> Profile {
    let kind = if write.is_some() {
        Probe::Write
    } else {
        Probe::Read
    };
    let mut made = Profile::new(base_url, kind);
    let written_id = write.and_then(|w| w.id_field.clone());
    made.list = ListFacts {
        envelope: read.detected.as_ref().map(|e| match e {
            Envelope::Array => ListEnvelope::Array,
            Envelope::Key(_) => ListEnvelope::Object,
        }),
        items_path: match &read.detected {
            Some(Envelope::Key(path)) => Some(path.clone()),
            _ => None,
        },
        id_field: read.id_field.clone().or(written_id),
        first_page: read.first_page,
        paging_works: read.paging_works,
        page_size_cap: read.page_size_cap,
    };
    made.writes = write.map(|w| w.findings.clone());
    made
}

/// Runs the probe. Never writes.
pub async fn probe(client: &Client) -> Report {
    let mut report = Report {
        base_url: client.base_url().to_string(),
        ..Report::default()
    };
    let first = match list(client, 1, Some(1)).await {
        Ok(page) => page,
        Err(err) => {
            report.reachable = !matches!(err, ApiError::Connect { .. } | ApiError::Timeout(_));
            report.problems.push(match &err {
                e if e.is_auth() => {
                    format!("the API refused the key ({e}); check ICLOUDREADY_API_KEY")
                }
                e => e.to_string(),
            });
            return report;
        }
    };
    report.reachable = true;
    report.authorized = true;
    report.envelope = Some(first.envelope.to_string());
    report.detected = Some(first.envelope.clone());
    report.total = first.total;
    report.id_field = first
        .items
        .first()
        .and_then(api::envelope::id_field)
        .map(str::to_string);
    if let Some(record) = first.items.first() {
        if api::record_id(record).is_none() {
            report
                .problems
                .push("records carry neither `_id` nor `id`".to_string());
        }
    }
    if let Err(problem) = probe_paging(client, &mut report).await {
        report.problems.push(problem.to_string());
    }
    report
}

async fn probe_paging(client: &Client, report: &mut Report) -> Result<(), ApiError> {
    let ids = |page: &Page| {
        page.items
            .iter()
            .filter_map(api::record_id)
            .collect::<Vec<_>>()
    };
    let page0 = ids(&list(client, 1, Some(0)).await?);
    let page1 = ids(&list(client, 1, Some(1)).await?);
    let page2 = ids(&list(client, 1, Some(2)).await?);
    if !page1.is_empty() && !page2.is_empty() {
        report.paging_works = Some(page1 != page2);
        report.first_page = Some(if page0 == page1 { 1 } else { 0 });
    }
    let big = list(client, BIG_PAGE, Some(1)).await?;
    let returned = big.items.len() as u64;
    report.page_size_cap = match (big.limit, big.total) {
        (Some(limit), _) if limit < BIG_PAGE => Some(limit),
        (_, Some(total)) if returned < BIG_PAGE && returned < total => Some(returned),
        _ => None,
    };
    report.total = report.total.or(big.total);
    Ok(())
}

async fn list(client: &Client, limit: u64, page: Option<u64>) -> Result<Page, ApiError> {
    client
        .list(&ListQuery {
            limit: Some(limit),
            page,
            ..ListQuery::default()
        })
        .await
}

fn print_text(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let or_unknown = |v: Option<String>, why: &str| v.unwrap_or_else(|| format!("unknown ({why})"));
    writeln!(out, "API            {}", report.base_url)?;
    writeln!(out, "reachable      {}", yes_no(report.reachable))?;
    writeln!(out, "key accepted   {}", yes_no(report.authorized))?;
    if report.authorized {
        writeln!(
            out,
            "list envelope  {}",
            or_unknown(report.envelope.clone(), "no answer")
        )?;
        writeln!(
            out,
            "id field       {}",
            or_unknown(report.id_field.clone(), "no records to look at")
        )?;
        writeln!(
            out,
            "first page     {}",
            or_unknown(
                report.first_page.map(|p| p.to_string()),
                "fewer than two records"
            )
        )?;
        let paging = report
            .paging_works
            .map(|w| if w { "yes" } else { "NO: page is ignored" }.to_string());
        writeln!(
            out,
            "paging works   {}",
            or_unknown(paging, "fewer than two records")
        )?;
        let cap = report
            .page_size_cap
            .map(|c| c.to_string())
            .unwrap_or_else(|| format!("none seen up to {BIG_PAGE}"));
        writeln!(out, "page size cap  {cap}")?;
        writeln!(
            out,
            "total          {}",
            or_unknown(
                report.total.map(|t| t.to_string()),
                "the envelope does not say"
            )
        )?;
    }
    for problem in &report.problems {
        writeln!(out, "problem        {problem}")?;
    }
    Ok(())
}
