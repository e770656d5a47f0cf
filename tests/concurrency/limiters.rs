//! Rate limiters custbulk has never met (issue 23), end to end: the real binary, default flags,
//! against the sandbox playing fixed windows, a sliding window and a token bucket, without
//! headers (the pace is read from the refusals) and with each style of rate-limit headers (the
//! pace is what they say, and nothing is refused). Small runs: what they guard is every row
//! stored once, few refusals, and the summary saying what the server allows; the speed bars
//! are the `adaptive` benchmark's.

use custbulk::sandbox::{Options, RateHeaders, RateWindow};

use crate::honest::stats;
use crate::import::{assert_store_has_each_once, results, sheet};
use crate::util::{Server, Workdir};

/// Enough that the refusals that teach the pace (a burst or two of what is in flight) are a
/// small share, as in a real run: with 300, one burst at the first reading's high pace was 6%.
const ROWS: u64 = 800;

/// Imports `ROWS` rows against a sandbox allowing 400 requests a second as `window` counts
/// them; returns the summary's text and the share of requests answered 429.
fn import(window: RateWindow, headers: Option<RateHeaders>) -> (String, f64) {
    let server = Server::start(Options {
        latency_ms: 5,
        rate_limit: Some(400),
        rate_window: window,
        rate_burst: Some(80),
        rate_headers: headers,
        ..Options::default()
    });
    let wd = Workdir::new();
    wd.write("clients.csv", sheet(ROWS, &[]));
    let run = wd.exec_against(&server, &["import", "clients.csv", "--no-progress"]);
    run.assert_ok();
    assert_store_has_each_once(&server, ROWS as usize);
    let rows = results(&wd, "clients.results.csv");
    assert!(rows.iter().all(|r| r["_outcome"] == "created"), "{run}");
    let statuses = &stats(&server)["statuses"];
    let refused = statuses["429"].as_u64().unwrap_or(0) as f64;
    let answered: f64 = statuses
        .as_object()
        .unwrap()
        .values()
        .filter_map(|n| n.as_f64())
        .sum();
    (run.stdout, refused / answered)
}

#[test]
fn fixed_windows_are_paced_from_their_refusals() {
    let (summary, refused) = import(RateWindow::Fixed, None);
    assert!(refused <= 0.05, "{refused}: {summary}");
    assert!(
        summary.contains("the server allows about") && summary.contains("read from its refusals"),
        "{summary}"
    );
}

#[test]
fn a_sliding_window_is_paced_from_its_refusals() {
    let (summary, refused) = import(RateWindow::Sliding, None);
    assert!(refused <= 0.05, "{refused}: {summary}");
    assert!(summary.contains("paced at"), "{summary}");
}

#[test]
fn a_token_bucket_is_paced_from_its_refusals() {
    let (summary, refused) = import(RateWindow::Bucket, None);
    assert!(refused <= 0.05, "{refused}: {summary}");
    assert!(summary.contains("paced at"), "{summary}");
}

/// With the server's own words, nothing need be refused: the pace is 97% of what they say from
/// the first answer on, whatever the style.
#[test]
fn rate_limit_headers_of_each_style_are_paced_by_and_nothing_is_refused() {
    for (window, style, said) in [
        (RateWindow::Fixed, RateHeaders::Ietf, "RateLimit-* headers"),
        (RateWindow::Bucket, RateHeaders::X, "X-RateLimit-* headers"),
        (
            RateWindow::Sliding,
            RateHeaders::Combined,
            "RateLimit and RateLimit-Policy headers",
        ),
    ] {
        let (summary, refused) = import(window, Some(style));
        assert_eq!(refused, 0.0, "{style:?}: {summary}");
        let allows =
            format!("the server allows 400 requests per 1 s (read from {said}); paced at 388");
        assert!(summary.contains(&allows), "{style:?}: {summary}");
    }
}
