//! Export speed and memory, measured on the release binary as a user runs it.
//!
//! The sandbox runs in this process; each export runs as a child process (`custbulk export`
//! against the sandbox's URL), so the child's peak RSS (read by `/usr/bin/time`) counts the
//! exporter alone, never the sandbox's million records.
//!
//! The customers are the generated list (`gen/mod.rs`). Figures: pages/s against a 50 ms sandbox with 8 pages in flight (the bound is 8 / 0.05 s =
//! 160 pages/s), records/s to NDJSON with no latency, and peak RSS exporting 1,000,000 records
//! in every format. `EXPORT_BENCH_BIG=N` changes the record count of the memory run;
//! `EXPORT_BENCH_ONLY=latency|speed|memory` runs one part; `EXPORT_BENCH_ARGS="--flag v ..."`
//! replaces the export flags of the speed and memory runs (default
//! `--page-size 1000 --concurrency 4`); `CUSTBULK_BIN=PATH` measures another build of custbulk
//! (an older commit's, for before/after figures).
//!
//! Run: `cargo bench --bench export`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::Value;

use custbulk::sandbox::{self, Options, Running};

/// The lists every benchmark runs on.
#[path = "gen/mod.rs"]
mod gen;

/// The binary measured: `CUSTBULK_BIN`, else this build's.
fn bin() -> std::ffi::OsString {
    std::env::var_os("CUSTBULK_BIN")
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_custbulk").into())
}

fn start(rt: &tokio::runtime::Runtime, options: Options, records: usize) -> Running {
    let server = rt.block_on(sandbox::start(options)).expect("sandbox");
    let mut customers = gen::served(records as u64, |_| false).peekable();
    while customers.peek().is_some() {
        server.insert(customers.by_ref().take(10_000).collect());
    }
    server
}

/// What one export run measured.
struct Run {
    summary: Value,
    wall_secs: f64,
    /// Peak resident set of the export process, in MB.
    peak_mb: Option<f64>,
    /// CPU seconds (user + system) the export process used: steadier than wall time on a
    /// shared machine.
    cpu_secs: Option<f64>,
    /// CPU seconds the sandbox (this process) used meanwhile.
    sandbox_cpu_secs: f64,
}

/// CPU seconds this process (the sandbox) has used so far, from /proc/self/stat.
fn own_cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<f64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    let ticks = fields.get(11).unwrap_or(&0.0) + fields.get(12).unwrap_or(&0.0);
    ticks / 100.0
}

fn export(server: &Running, dir: &Path, file: &str, extra: &[&str]) -> Run {
    let target = dir.join(file);
    let time_out = dir.join("time.txt");
    let measure = Path::new("/usr/bin/time").exists();
    let mut command = if measure {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f")
            .arg("%M %U %S")
            .arg("-o")
            .arg(&time_out)
            .arg(bin());
        c
    } else {
        Command::new(bin())
    };
    command
        .args(["--no-progress", "--output", "json", "export"])
        .arg(&target)
        .args(extra)
        .env("ICLOUDREADY_API_KEY", "bench")
        .env("ICLOUDREADY_BASE_URL", &server.base_url);
    let started = Instant::now();
    let sandbox_cpu = own_cpu_secs();
    let out = command.output().expect("run custbulk");
    let wall_secs = started.elapsed().as_secs_f64();
    let sandbox_cpu_secs = own_cpu_secs() - sandbox_cpu;
    assert!(
        out.status.success(),
        "export failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).expect("a JSON summary");
    let times: Vec<f64> = measure
        .then(|| std::fs::read_to_string(&time_out).ok())
        .flatten()
        .and_then(|t| {
            t.lines()
                .last()?
                .split_whitespace()
                .map(|v| v.parse::<f64>().ok())
                .collect()
        })
        .unwrap_or_default();
    Run {
        summary,
        wall_secs,
        peak_mb: times.first().map(|kb| kb / 1024.0),
        cpu_secs: (times.len() == 3).then(|| times[1] + times[2]),
        sandbox_cpu_secs,
    }
}

/// Runs `custbulk verify` on an export: seconds and peak RSS in MB.
fn verify(dir: &Path, file: &str) -> (f64, Option<f64>) {
    let time_out = dir.join("time-verify.txt");
    let started = Instant::now();
    let status = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&time_out)
        .arg(bin())
        .args(["-q", "verify"])
        .arg(dir.join(file))
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run custbulk verify");
    let secs = started.elapsed().as_secs_f64();
    assert!(status.success(), "verify {file} failed");
    let peak = std::fs::read_to_string(&time_out)
        .ok()
        .and_then(|t| t.lines().last()?.trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0);
    (secs, peak)
}

fn number(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    println!("binary: {}", bin().to_string_lossy());
    let only = std::env::var("EXPORT_BENCH_ONLY").unwrap_or_default();
    let part = |name: &str| only.is_empty() || only.split(',').any(|p| p == name);
    let extra_args = std::env::var("EXPORT_BENCH_ARGS").unwrap_or_default();
    let big_args: Vec<&str> = if extra_args.trim().is_empty() {
        vec!["--page-size", "1000", "--concurrency", "4"]
    } else {
        extra_args.split_whitespace().collect()
    };

    // 1. Latency-bound: 200 pages of 100 at 50 ms each, 8 in flight.
    if part("latency") {
        let server = start(
            &rt,
            Options {
                latency_ms: 50,
                ..Options::default()
            },
            20_000,
        );
        let run = export(
            &server,
            dir.path(),
            "sequential.ndjson",
            &["--page-size", "100", "--concurrency", "1", "--max", "2000"],
        );
        let pages = number(&run.summary, "pages");
        println!(
            "latency 50 ms, 1 in flight: {pages} pages in {:.3} s: {:.1} ms per page",
            number(&run.summary, "duration_secs"),
            number(&run.summary, "duration_secs") / pages * 1000.0
        );
        let mut rates = Vec::new();
        for _ in 0..5 {
            let run = export(
                &server,
                dir.path(),
                "latency.ndjson",
                &["--page-size", "100", "--concurrency", "8"],
            );
            assert_eq!(run.summary["records"], 20_000);
            let pages = number(&run.summary, "pages");
            let rate = pages / number(&run.summary, "duration_secs");
            println!(
                "latency 50 ms, 8 in flight: {pages} pages in {:.3} s export time ({:.3} s fetching, {:.3} s wall): {rate:.1} pages/s = {:.1}% of 160 ({:.1}% counting fetch time only)",
                number(&run.summary, "duration_secs"),
                number(&run.summary, "fetch_secs"),
                run.wall_secs,
                rate / 160.0 * 100.0,
                pages / number(&run.summary, "fetch_secs") / 1.6
            );
            rates.push(rate);
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "=> median {:.1} pages/s ({:.1}% of the 160 pages/s bound), best {:.1} ({:.1}%); target >= 90%",
            rates[2],
            rates[2] / 1.6,
            rates[4],
            rates[4] / 1.6
        );
        drop(server);
    }

    // 2. CPU-bound: no latency, NDJSON (and the other formats for reference).
    if part("speed") {
        let records = 200_000;
        let server = start(&rt, Options::default(), records);
        for file in ["fast.ndjson", "fast.json", "fast.csv", "fast.xlsx"] {
            let run = export(&server, dir.path(), file, &big_args);
            assert_eq!(run.summary["records"], records);
            println!(
                "no latency, {records} records to {file}: {:.0} records/s ({:.2} s export, {:.2} s wall, {:.2} CPU s in the exporter = {:.0} records per CPU second, {:.2} CPU s in the sandbox, peak RSS {:.1} MB)",
                number(&run.summary, "records_per_sec"),
                number(&run.summary, "duration_secs"),
                run.wall_secs,
                run.cpu_secs.unwrap_or(f64::NAN),
                records as f64 / run.cpu_secs.unwrap_or(f64::NAN),
                run.sandbox_cpu_secs,
                run.peak_mb.unwrap_or(f64::NAN)
            );
        }
        drop(server);
    }

    // 3. Memory: a million records in every format.
    if part("memory") {
        let records: usize = std::env::var("EXPORT_BENCH_BIG")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        let server = start(&rt, Options::default(), records);
        for file in ["big.ndjson", "big.json", "big.csv", "big.xlsx"] {
            let run = export(&server, dir.path(), file, &big_args);
            assert_eq!(run.summary["records"], records);
            println!(
                "{records} records to {file}: peak RSS {:.1} MB (target <= 100), {:.1} s, {:.0} records/s, {:.1} CPU s in the exporter, {:.1} in the sandbox, {} bytes",
                run.peak_mb.unwrap_or(f64::NAN),
                number(&run.summary, "duration_secs"),
                number(&run.summary, "records_per_sec"),
                run.cpu_secs.unwrap_or(f64::NAN),
                run.sandbox_cpu_secs,
                run.summary["bytes"]
            );
            let (verify_secs, verify_mb) = verify(dir.path(), file);
            println!(
                "  verify {file}: {verify_secs:.1} s, peak RSS {:.1} MB",
                verify_mb.unwrap_or(f64::NAN)
            );
            let _ = std::fs::remove_file(dir.path().join(file));
        }
    }
}
