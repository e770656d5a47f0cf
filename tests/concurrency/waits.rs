//! Long waits, said and bounded (issues 21 and 23): a `Retry-After` over two seconds prints a
//! line saying how long and until when; a wait past `--max-wait` (a spent daily quota, a long
//! `Retry-After`) stops the run at once, exit 3, the rows not sent `skipped` and the run
//! resumable; a server that drips its answer slowly is said to be waited for.

use std::time::{Duration, Instant};

use custbulk::sandbox::{Options, RateHeaders};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::honest::stats;
use crate::import::{assert_store_has_each_once, results, sheet};
use crate::util::{Server, Workdir};

/// At most `limit` requests in each window of `period` seconds, refused with `Retry-After`
/// until the window turns.
fn windows(limit: u32, period: f64, headers: Option<RateHeaders>) -> Server {
    Server::start(Options {
        rate_limit: Some(limit),
        rate_period: Some(Duration::from_secs_f64(period)),
        rate_headers: headers,
        ..Options::default()
    })
}

fn outcomes(wd: &Workdir, outcome: &str) -> usize {
    let rows = results(wd, "clients.results.csv");
    rows.iter().filter(|r| r["_outcome"] == outcome).count()
}

/// Regression (issue 21): against `Retry-After: 3` an import printed nothing while it waited.
#[test]
fn a_retry_after_over_two_seconds_is_said_with_until_when() {
    let server = windows(6, 3.0, None);
    let wd = Workdir::new();
    wd.write("clients.csv", sheet(9, &[]));
    let run = wd.exec_against(&server, &["import", "clients.csv", "--no-progress"]);
    run.assert_ok();
    assert!(
        run.stderr.contains("Waiting 3 s (until ")
            && run
                .stderr
                .contains("the server answered 429 and asked to wait 3 s (Retry-After)"),
        "{run}"
    );
    assert_store_has_each_once(&server, 9);
}

/// A `Retry-After` past `--max-wait` is not waited: the run stops at once, the rows not sent
/// are `skipped` (not failed, not in the failed file), and `--resume` finishes the job once
/// the window has turned.
#[test]
fn a_wait_past_max_wait_stops_the_run_resumably() {
    let server = windows(10, 2.0, None);
    let wd = Workdir::new();
    wd.write("clients.csv", sheet(12, &[]));
    let args = ["import", "clients.csv", "--no-progress", "--max-wait", "1"];
    let started = Instant::now();
    let run = wd.exec_against(&server, &args);
    run.assert_code(3);
    assert!(started.elapsed() < Duration::from_secs(2), "not waited out");
    assert!(run.stderr.contains("more than --max-wait (1 s)"), "{run}");
    assert!(run.stderr.contains("--resume"), "{run}");
    // The import's look-ups take part of the window's ten requests.
    let created = outcomes(&wd, "created");
    assert!(created > 0 && created < 10, "{run}");
    assert_eq!(created, server.records().len());
    assert_eq!(outcomes(&wd, "skipped"), 12 - created, "{run}");
    let failed = wd.read("clients.failed.csv");
    assert_eq!(
        failed.lines().count(),
        1,
        "no row to fix, only the header: {failed}"
    );
    // Run again as told, once the window has turned.
    std::thread::sleep(Duration::from_secs(2));
    let resumed = wd.exec_against(
        &server,
        &["import", "clients.csv", "--no-progress", "--resume"],
    );
    resumed.assert_ok();
    assert_store_has_each_once(&server, 12);
}

/// Regression (issue 23): a daily quota spent (`RateLimit-Remaining: 0`, reset in a day) was
/// met with a request a row, each refused. Now the pause it calls for is past `--max-wait`:
/// the run stops saying so, having sent nothing it knew would be refused.
#[test]
fn a_spent_daily_quota_stops_the_run_instead_of_spending_it_on_refusals() {
    let server = windows(20, 86_400.0, Some(RateHeaders::Ietf));
    let wd = Workdir::new();
    wd.write("clients.csv", sheet(60, &[]));
    let run = wd.exec_against(&server, &["import", "clients.csv", "--no-progress"]);
    run.assert_code(3);
    // Said by the spent allowance, or by the refusal of a request in flight when it ran out.
    assert!(
        run.stderr
            .contains("the server asks to wait 24 h 00 min (until ")
            && run.stderr.contains("more than --max-wait (10 min 00 s)"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("the server allows 20 requests per 86400 s (read from RateLimit-* headers)"),
        "{run}"
    );
    let created = outcomes(&wd, "created");
    assert!(created > 10 && created <= 20, "{run}");
    assert_eq!(created, server.records().len());
    assert_eq!(outcomes(&wd, "skipped"), 60 - created, "{run}");
    // Refused: only requests already in flight when the allowance ran out (at most the limit),
    // never one sent after.
    let refused = stats(&server)["statuses"]["429"].as_u64().unwrap_or(0);
    let highest: u64 = run
        .stdout
        .split("concurrency settled at ")
        .nth(1)
        .and_then(|s| s.split(['–', ',']).nth(1))
        .and_then(|n| n.trim().parse().ok())
        .expect("the summary's concurrency range");
    assert!(
        refused <= highest,
        "only what was in flight when the quota ran out: {refused} of at most {highest}\n{run}"
    );
}

/// Regression (issue 21): a server that drips its answer held an export minutes in silence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_drips_in_slowly_is_said_to_be_awaited() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/api/v2", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let body =
                    br#"{"docs":[{"_id":"a","name":"Slow"}],"totalDocs":1,"hasNextPage":false}"#;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                for chunk in body.chunks(body.len() / 4 + 1) {
                    tokio::time::sleep(Duration::from_millis(700)).await;
                    let _ = stream.write_all(chunk).await;
                }
            });
        }
    });
    let wd = Workdir::new();
    let out = tokio::task::spawn_blocking(move || {
        let out = wd
            .command(&[
                "export",
                "slow.ndjson",
                "--no-progress",
                "--base-url",
                &base,
            ])
            .env("ICLOUDREADY_API_KEY", "k")
            .output()
            .unwrap();
        (out, wd.read("slow.ndjson"))
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.0.stderr);
    assert_eq!(out.0.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("The server has not finished answering GET /customers after 2 s"),
        "{stderr}"
    );
    assert_eq!(out.1.lines().count(), 1);
}
