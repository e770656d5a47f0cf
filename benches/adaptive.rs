//! Adaptive concurrency against servers with a pace of their own, with the real release binary
//! and default flags (no `--concurrency`), as issue 15's bars ask:
//!
//! - `capacity`: 40 ms latency, capacity 32 (bound 32 / 0.04 s = 800 rows/s), 20,000 rows:
//!   rows/s against the bound, and the median round trip against the unloaded 40 ms;
//! - `rate`: 20 ms latency, `--rate-limit 300`: rows/s against 300, and the share of 429s;
//! - `small`: 40 ms latency, capacity 4: rows/s against a fixed `--concurrency 4`, and the
//!   median round trip;
//! - `export`: 200 pages of 100 through the capacity-32 sandbox: pages/s against 800 (median of
//!   five), and 2,000 pages for the steady state;
//! - `limiters`: issue 23's table: 20 ms latency, 300 requests/s as fixed 1-s windows, a sliding
//!   1-s window and a token bucket of 60, without and with `RateLimit-*` (and `X-RateLimit-*`)
//!   headers, 3,000 rows each (`ADAPTIVE_BENCH_LIMITER_ROWS`): rows/s against 300 and the share
//!   of 429s. The run starts at a random point of the server's window, as against a server that
//!   has been up for a while;
//! - `fast`: no latency (a LAN API): default flags against the best of `--concurrency 8, 16,
//!   32`, 100,000 rows (`ADAPTIVE_BENCH_FAST_ROWS`), medians of three rounds
//!   (`ADAPTIVE_BENCH_FAST_ROUNDS`) whose order turns; 1 and 4 once, for the table.
//!
//! Round trips are read from `-v`'s per-request lines (`POST /customers -> 201 in 41 ms`), the
//! limit's moves from its `Concurrency a → b: reason.` lines, 429s from the sandbox's stats.
//! `ADAPTIVE_BENCH_ONLY=capacity,rate,small,export,limiters,fast` runs some; `ADAPTIVE_BENCH_ROWS` scales the
//! import runs (default 20,000 for `capacity`; `rate` and `small` use a third and a tenth).
//!
//! The sheets and the exported customers are the generated list (`gen/mod.rs`).
//!
//! Run: `cargo bench --bench adaptive`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::Value;

use custbulk::sandbox::{self, Options, RateHeaders, RateWindow, Running};

/// The lists every benchmark runs on.
#[path = "gen/mod.rs"]
mod gen;

const BIN: &str = env!("CARGO_BIN_EXE_custbulk");

/// What one run of the binary showed.
struct Run {
    summary: Value,
    wall_secs: f64,
    /// Round trips of the calls named, in ms.
    rtts: Vec<f64>,
    /// (from, to) of each change of the limit.
    moves: Vec<(usize, usize)>,
}

impl Run {
    fn median_rtt(&self) -> f64 {
        let mut rtts = self.rtts.clone();
        rtts.sort_by(f64::total_cmp);
        rtts.get(rtts.len() / 2).copied().unwrap_or(f64::NAN)
    }

    fn limits(&self) -> String {
        match (self.moves.first(), self.moves.last()) {
            (Some(first), Some(last)) => {
                let high = self.moves.iter().map(|m| m.1).max().unwrap_or(0);
                let low = self.moves.iter().map(|m| m.1).min().unwrap_or(0);
                format!(
                    "limit {} → {} in {} moves (range {low}-{high})",
                    first.0,
                    last.1,
                    self.moves.len()
                )
            }
            _ => "limit never moved".to_string(),
        }
    }
}

fn run(server: &Running, dir: &Path, args: &[&str], call: &str) -> Run {
    let started = Instant::now();
    let out = Command::new(BIN)
        .args(["-v", "--no-progress", "--output", "json"])
        .args(args)
        .current_dir(dir)
        .env("ICLOUDREADY_API_KEY", "bench")
        .env("ICLOUDREADY_BASE_URL", &server.base_url)
        .output()
        .expect("run custbulk");
    let wall_secs = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "custbulk {args:?} failed: {stderr}");
    let prefix = format!("{call} -> ");
    let rtts = stderr
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|l| l.split(" in ").nth(1)?.strip_suffix(" ms")?.parse().ok())
        .collect();
    let moves = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("Concurrency "))
        .filter_map(|l| {
            let (change, _) = l.split_once(':')?;
            let (from, to) = change.split_once(" → ")?;
            Some((from.parse().ok()?, to.parse().ok()?))
        })
        .collect();
    Run {
        summary: serde_json::from_slice(&out.stdout).expect("a JSON summary"),
        wall_secs,
        rtts,
        moves,
    }
}

/// `DIR/in.csv`: a link to the generated list of `rows` customers.
fn link_list(dir: &Path, rows: usize) {
    let list = gen::data_file("list", gen::Format::Csv, rows as u64);
    std::os::unix::fs::symlink(list, dir.join("in.csv")).expect("a link to the list");
}

fn import(rt: &tokio::runtime::Runtime, options: Options, rows: usize, extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    link_list(dir.path(), rows);
    let server = rt.block_on(sandbox::start(options)).expect("sandbox");
    let mut args = vec!["import", "in.csv"];
    args.extend_from_slice(extra);
    let run = run(&server, dir.path(), &args, "POST /customers");
    assert_eq!(server.records().len(), rows, "every row stored once");
    let stats = rt.block_on(stats(&server));
    let mut run = run;
    run.summary["sandbox"] = stats;
    run
}

async fn stats(server: &Running) -> Value {
    let url = format!("http://{}/__sandbox/stats", server.addr);
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

fn rate(run: &Run) -> f64 {
    run.summary["rows_per_sec"].as_f64().unwrap_or(f64::NAN)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let only = std::env::var("ADAPTIVE_BENCH_ONLY").unwrap_or_default();
    let part = |name: &str| only.is_empty() || only.split(',').any(|p| p == name);
    let rows: usize = std::env::var("ADAPTIVE_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);

    if part("capacity") {
        let options = Options {
            latency_ms: 40,
            capacity: Some(32),
            ..Options::default()
        };
        let run = import(&rt, options, rows, &[]);
        println!(
            "capacity 32, 40 ms, {rows} rows, default flags: {:.0} rows/s = {:.1}% of 800 (bar 85%); \
             median round trip {:.1} ms = {:.2}x the unloaded 40 ms (bar 1.5x); {}; {:.1} s wall",
            rate(&run),
            rate(&run) / 8.0,
            run.median_rtt(),
            run.median_rtt() / 40.0,
            run.limits(),
            run.wall_secs
        );
    }

    if part("rate") {
        let rows = rows / 3;
        let options = Options {
            latency_ms: 20,
            rate_limit: Some(300),
            ..Options::default()
        };
        let run = import(&rt, options, rows, &[]);
        let statuses = &run.summary["sandbox"]["statuses"];
        let refused = statuses["429"].as_f64().unwrap_or(0.0);
        let total: f64 = statuses
            .as_object()
            .map_or(0.0, |m| m.values().filter_map(Value::as_f64).sum());
        println!(
            "rate limit 300/s, 20 ms, {rows} rows, default flags: {:.0} rows/s = {:.1}% of 300 (bar 85%); \
             {refused:.0} of {total:.0} requests answered 429 = {:.2}% (bar 5%); {}; median round trip {:.1} ms",
            rate(&run),
            rate(&run) / 3.0,
            refused / total * 100.0,
            run.limits(),
            run.median_rtt()
        );
    }

    if part("small") {
        let rows = rows / 10;
        let options = || Options {
            latency_ms: 40,
            capacity: Some(4),
            ..Options::default()
        };
        let fixed = import(&rt, options(), rows, &["--concurrency", "4"]);
        let adaptive = import(&rt, options(), rows, &[]);
        println!(
            "capacity 4, 40 ms, {rows} rows: fixed --concurrency 4 {:.1} rows/s (median {:.1} ms); \
             default flags {:.1} rows/s = {:.1}% of fixed (bar 95%), median round trip {:.1} ms = \
             {:.2}x the unloaded 40 ms (bar 1.5x); {}",
            rate(&fixed),
            fixed.median_rtt(),
            rate(&adaptive),
            rate(&adaptive) / rate(&fixed) * 100.0,
            adaptive.median_rtt(),
            adaptive.median_rtt() / 40.0,
            adaptive.limits()
        );
    }

    if part("export") {
        export(&rt);
    }

    if part("limiters") {
        limiters(&rt);
    }

    if part("fast") {
        fast(&rt);
    }
}

fn env_rows(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// 429s and all answers, from the sandbox's stats.
fn refusals(run: &Run) -> (f64, f64) {
    let statuses = &run.summary["sandbox"]["statuses"];
    let refused = statuses["429"].as_f64().unwrap_or(0.0);
    let total: f64 = statuses
        .as_object()
        .map_or(0.0, |m| m.values().filter_map(Value::as_f64).sum());
    (refused, total)
}

/// Issue 23's table: each kind of limiter at 300 requests/s, 20 ms, without and with headers.
fn limiters(rt: &tokio::runtime::Runtime) {
    let rows = env_rows("ADAPTIVE_BENCH_LIMITER_ROWS", 3_000);
    let kinds = [
        ("fixed 1-s windows", RateWindow::Fixed),
        ("sliding 1-s window", RateWindow::Sliding),
        ("token bucket, burst 60", RateWindow::Bucket),
    ];
    let headers = [
        (None, ""),
        (Some(RateHeaders::Ietf), ", RateLimit-* headers"),
        (Some(RateHeaders::X), ", X-RateLimit-* headers"),
    ];
    for (headers, said) in headers {
        for (name, window) in kinds {
            let options = Options {
                latency_ms: 20,
                rate_limit: Some(300),
                rate_window: window,
                rate_burst: Some(60),
                rate_headers: headers,
                ..Options::default()
            };
            let run = import_at_random_phase(rt, options, rows);
            let (refused, total) = refusals(&run);
            println!(
                "{name}{said}, 300/s, 20 ms, {rows} rows, default flags: {:.0} rows/s = {:.1}% \
                 of 300; {refused:.0} of {total:.0} requests answered 429 = {:.2}%; {}; {:.1} s \
                 wall",
                rate(&run),
                rate(&run) / 3.0,
                refused / total * 100.0,
                run.limits(),
                run.wall_secs
            );
        }
    }
}

/// An import that starts at a random point of the sandbox's first second, as a run against a
/// server that has been up for a while does.
fn import_at_random_phase(rt: &tokio::runtime::Runtime, options: Options, rows: usize) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    link_list(dir.path(), rows);
    let server = rt.block_on(sandbox::start(options)).expect("sandbox");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    std::thread::sleep(std::time::Duration::from_nanos(
        u64::from(nanos) % 1_000_000_000,
    ));
    let mut run = run(
        &server,
        dir.path(),
        &["import", "in.csv"],
        "POST /customers",
    );
    assert_eq!(server.records().len(), rows, "every row stored once");
    run.summary["sandbox"] = rt.block_on(stats(&server));
    run
}

/// A fast server: default flags against the best fixed concurrency. Rounds of the contenders
/// (`--concurrency 8, 16, 32` and default flags, in an order that turns each round) and their
/// medians: on a shared machine a burst of load can fall on any one run, and compared with
/// runs made before it, it alone would decide the ratio.
fn fast(rt: &tokio::runtime::Runtime) {
    let rows = env_rows("ADAPTIVE_BENCH_FAST_ROWS", 100_000);
    let rounds = env_rows("ADAPTIVE_BENCH_FAST_ROUNDS", 3);
    for n in [1, 4] {
        let fixed = import(
            rt,
            Options::default(),
            rows,
            &["--concurrency", &n.to_string()],
        );
        println!(
            "fast server, {rows} rows, --concurrency {n}: {:.0} rows/s",
            rate(&fixed)
        );
    }
    let contenders: [Option<usize>; 4] = [Some(8), Some(16), Some(32), None];
    let mut rates = vec![Vec::new(); contenders.len()];
    for round in 0..rounds {
        for k in 0..contenders.len() {
            let i = (k + round) % contenders.len();
            let flags = contenders[i].map(|n| n.to_string());
            let extra: Vec<&str> = match &flags {
                Some(n) => vec!["--concurrency", n],
                None => Vec::new(),
            };
            let run = import(rt, Options::default(), rows, &extra);
            let said = match contenders[i] {
                Some(n) => format!("--concurrency {n}"),
                None => format!(
                    "default flags (settled at {}; {})",
                    run.summary["load"]["settled"],
                    run.limits()
                ),
            };
            println!(
                "fast server, {rows} rows, round {}: {said}: {:.0} rows/s",
                round + 1,
                rate(&run)
            );
            rates[i].push(rate(&run));
        }
    }
    let medians: Vec<f64> = rates.iter_mut().map(|r| median(r)).collect();
    let (best, n) = contenders[..3]
        .iter()
        .zip(&medians)
        .map(|(n, m)| (*m, n.unwrap_or(0)))
        .fold((0.0, 0), |a, b| if b.0 > a.0 { b } else { a });
    let default = medians[3];
    println!(
        "fast server, {rows} rows, medians of {rounds} rounds: default flags {default:.0} rows/s = \
         {:.1}% of the best fixed (--concurrency {n}, {best:.0} rows/s; bar 90%)",
        default / best * 100.0
    );
}

/// The median of `values` (sorted in place).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Exports through the capacity-32 sandbox: 200 pages five times, then 2,000 pages once.
fn export(rt: &tokio::runtime::Runtime) {
    for (records, runs) in [(20_000usize, 5usize), (200_000, 1)] {
        let server = rt
            .block_on(sandbox::start(Options {
                latency_ms: 40,
                capacity: Some(32),
                ..Options::default()
            }))
            .expect("sandbox");
        let mut customers = gen::served(records as u64, |_| false).peekable();
        while customers.peek().is_some() {
            server.insert(customers.by_ref().take(10_000).collect());
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let mut rates = Vec::new();
        let mut fetch_rates = Vec::new();
        let mut last = None;
        for _ in 0..runs {
            let run = run(
                &server,
                dir.path(),
                &["export", "out.ndjson", "--page-size", "100"],
                "GET /customers",
            );
            assert_eq!(run.summary["records"], records as u64);
            let pages = run.summary["pages"].as_f64().unwrap();
            rates.push(pages / run.summary["duration_secs"].as_f64().unwrap());
            fetch_rates.push(pages / run.summary["fetch_secs"].as_f64().unwrap());
            last = Some(run);
        }
        rates.sort_by(f64::total_cmp);
        fetch_rates.sort_by(f64::total_cmp);
        let median = rates[rates.len() / 2];
        let fetch_median = fetch_rates[fetch_rates.len() / 2];
        let run = last.expect("one run");
        println!(
            "export of {} pages of 100, capacity 32, 40 ms, default flags: {median:.0} pages/s \
             (median of {runs}; runs {rates:.0?}) = {:.1}% of 800 (bar 85%); fetching alone \
             {fetch_median:.0} pages/s = {:.1}%; median round trip {:.1} ms; {}",
            records / 100,
            median / 8.0,
            fetch_median / 8.0,
            run.median_rtt(),
            run.limits()
        );
    }
}
