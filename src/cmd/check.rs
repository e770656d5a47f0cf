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
    /// `1`, `0`, or null when it could not be told (no records).
    pub first_page: Option<u8>,
    /// How the first page was told: what pages 0, 1 and 2 answered.
    pub first_page_why: Option<String>,
    /// Whether `page` changes what comes back; false means paging is ignored.
    pub paging_works: Option<bool>,
    /// The largest page the server returned when asked for more than it would give.
    pub page_size_cap: Option<u64>,
    pub total: Option<u64>,
    /// Where the total was found: `totalDocs`, `meta.total`, `header X-Total-Count`.
    pub total_from: Option<String>,
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
    report.total_from = first.total_from.clone();
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
    let unpaged = ids(&list(client, 1, None).await?);
    // Page 0 may be refused where pages count from 1: that says so too.
    let page0 = match list(client, 1, Some(0)).await {
        Ok(page) => Ok(ids(&page)),
        Err(e) if matches!(e.status(), Some(400..=499)) && !e.is_auth() => Err(e),
        Err(e) => return Err(e),
    };
    let page1 = ids(&list(client, 1, Some(1)).await?);
    let page2 = ids(&list(client, 1, Some(2)).await?);
    let paging = first_page(&unpaged, page0, &page1, &page2);
    report.first_page = paging.first;
    report.paging_works = paging.works;
    report.first_page_why = Some(paging.why);
    let big = list(client, BIG_PAGE, Some(paging.first.unwrap_or(1).into())).await?;
    let returned = big.items.len() as u64;
    report.page_size_cap = match (big.limit, big.total) {
        (Some(limit), _) if limit < BIG_PAGE => Some(limit),
        (_, Some(total)) if returned < BIG_PAGE && returned < total => Some(returned),
        _ => None,
    };
    if report.total.is_none() {
        report.total = big.total;
        report.total_from = big.total_from;
    }
    Ok(())
}

/// How pages are numbered, as told from what one record a page shows at pages 0, 1 and 2, and
/// without `page` (the first page, whatever its number).
struct Paging {
    first: Option<u8>,
    works: Option<bool>,
    why: String,
}

/// Tells where pages start by what they hold, not by whether page 0 and page 1 differ: an API
/// counting from 1 may answer page 0 with nothing, or with page 1, or refuse it.
fn first_page(
    unpaged: &[String],
    page0: Result<Vec<String>, ApiError>,
    page1: &[String],
    page2: &[String],
) -> Paging {
    let told = |first: u8, works: Option<bool>, why: &str| Paging {
        first: Some(first),
        works,
        why: why.to_owned(),
    };
    let page0 = match page0 {
        Ok(ids) => ids,
        Err(e) => {
            let why = format!("page 0 is refused ({e}), page 1 is not");
            return Paging {
                works: (!page1.is_empty() && !page2.is_empty()).then(|| page1 != page2),
                ..told(1, None, &why)
            };
        }
    };
    let differ = |a: &[String], b: &[String]| !a.is_empty() && !b.is_empty() && a != b;
    match (page0.is_empty(), page1.is_empty(), page2.is_empty()) {
        (true, true, _) => Paging {
            first: None,
            works: None,
            why: "pages 0 and 1 are empty: no records to tell by".to_owned(),
        },
        (true, false, _) => told(
            1,
            (!page2.is_empty()).then(|| differ(page1, page2)),
            "page 0 answers an empty list, page 1 a record",
        ),
        (false, true, _) => told(
            0,
            None,
            "page 0 holds the only record, page 1 nothing: pages count from 0",
        ),
        (false, false, _) if page0 == page1 && page1 == page2 => told(
            1,
            Some(false),
            "pages 0, 1 and 2 answer the same record: page is ignored",
        ),
        (false, false, _) if page0 == page1 => told(
            1,
            (!page2.is_empty()).then_some(true),
            "page 0 answers what page 1 does (read as page 1): pages count from 1",
        ),
        (false, false, _) if page0 == unpaged => told(
            0,
            Some(true),
            "page 0 holds the first record (as the list without page does), page 1 the next",
        ),
        (false, false, _) if page1 == unpaged => told(
            1,
            (!page2.is_empty()).then(|| differ(page1, page2)),
            "page 1 holds the first record (as the list without page does), page 0 another",
        ),
        (false, false, _) => Paging {
            first: None,
            works: Some(true),
            why: "pages 0 and 1 hold different records, neither the list's first".to_owned(),
        },
    }
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
        let first = report.first_page.map(|p| p.to_string());
        let why = report.first_page_why.as_deref().unwrap_or("no answer");
        match first {
            Some(first) => writeln!(out, "first page     {first} ({why})")?,
            None => writeln!(out, "first page     unknown ({why})")?,
        }
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
        let total = report.total.map(|t| match &report.total_from {
            Some(from) => format!("{t} (from {from})"),
            None => t.to_string(),
        });
        writeln!(
            out,
            "total          {}",
            or_unknown(total, "neither the envelope nor a header says")
        )?;
    }
    for problem in &report.problems {
        writeln!(out, "problem        {problem}")?;
    }
    Ok(())
}
