//! `custbulk check`: a read-only probe of the configured API.
//!
//! The vendor documents no response shapes, so before a bulk run a person can see what custbulk
//! detects for each unknown of the API doc: the list envelope, the id field, where paging starts,
//! the page size cap and the total. Only GET requests are sent.

use serde::Serialize;

use crate::api::{self, ApiError, Client, ClientOptions, ListQuery, Page};
use crate::cmd::{Global, Output};
use crate::error::Exit;

const EXAMPLES: &str = "\
Examples:
  ICLOUDREADY_API_KEY=... custbulk check
  custbulk check --sandbox --output json";

/// Probe the API read-only and report what custbulk detects: reachability, auth, the list
/// envelope, the id field, whether `page` starts at 0 or 1, the page size cap and the total.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Where list responses keep their records, as a dotted path, when detection fails.
    #[arg(long, value_name = "PATH")]
    pub items_path: Option<String>,
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
}

/// The page size asked for when looking for a cap.
const BIG_PAGE: u64 = 2000;

pub async fn run(global: &Global, args: Args) -> anyhow::Result<Exit> {
    let options = ClientOptions {
        items_path: args.items_path,
        ..ClientOptions::default()
    };
    let connection = super::connect::connect(global, options).await?;
    let report = probe(&connection.client).await;
    match global.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Text => print_text(&report),
    }
    if report.problems.is_empty() {
        Ok(Exit::Ok)
    } else {
        Err(anyhow::anyhow!(
            "the API check found {} problem(s)",
            report.problems.len()
        ))
    }
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

fn print_text(report: &Report) {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let or_unknown = |v: Option<String>, why: &str| v.unwrap_or_else(|| format!("unknown ({why})"));
    println!("API            {}", report.base_url);
    println!("reachable      {}", yes_no(report.reachable));
    println!("key accepted   {}", yes_no(report.authorized));
    if report.authorized {
        println!(
            "list envelope  {}",
            or_unknown(report.envelope.clone(), "no answer")
        );
        println!(
            "id field       {}",
            or_unknown(report.id_field.clone(), "no records to look at")
        );
        println!(
            "first page     {}",
            or_unknown(
                report.first_page.map(|p| p.to_string()),
                "fewer than two records"
            )
        );
        let paging = report
            .paging_works
            .map(|w| if w { "yes" } else { "NO: page is ignored" }.to_string());
        println!(
            "paging works   {}",
            or_unknown(paging, "fewer than two records")
        );
        let cap = report
            .page_size_cap
            .map(|c| c.to_string())
            .unwrap_or_else(|| format!("none seen up to {BIG_PAGE}"));
        println!("page size cap  {cap}");
        println!(
            "total          {}",
            or_unknown(
                report.total.map(|t| t.to_string()),
                "the envelope does not say"
            )
        );
    }
    for problem in &report.problems {
        println!("problem        {problem}");
    }
}
