//! Import and undo throughput and memory against the sandbox, with the real release binary.
//!
//! `cargo bench --bench import` prints rows/s for a latency-bound run (50 ms per request,
//! 16 in flight: the bound is 16 / 0.05 s = 320 requests/s), a CPU-bound run (100,000 rows,
//! no latency), and the import's peak RSS on a large file; after the first two, the undo of
//! that import (a GET and a DELETE a row, so 160 rows/s at 50 ms). Sheets are the generated
//! lists like real ones (`gen/mod.rs`), 22 columns. The sandbox runs in this
//! process, the import and undo in a child process, so the child's memory is theirs alone.
//!
//! Switches: `IMPORT_BENCH_ROWS` the large file's size (default 1,000,000),
//! `IMPORT_BENCH_LATENCY_ROWS` the latency run's (default 3,000), `IMPORT_BENCH_ONLY=latency,
//! fast,large` the parts to run, and `CUSTBULK_BIN=PATH` another build of custbulk to measure
//! (an older commit's, for before/after figures). Every run passes `--concurrency 16`, a fixed
//! limit in today's build and in older ones, unless `IMPORT_BENCH_CONCURRENCY` gives another
//! number, or `default` for none (the adaptive limit).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use custbulk::sandbox::{self, Options, Running};

/// The lists every benchmark runs on.
#[path = "gen/mod.rs"]
mod gen;

/// Requests in flight, fixed, for import and undo alike, unless `IMPORT_BENCH_CONCURRENCY`
/// says otherwise (`default`: no flag, the adaptive limit).
fn concurrency() -> Option<String> {
    match std::env::var("IMPORT_BENCH_CONCURRENCY") {
        Ok(v) if v == "default" => None,
        Ok(v) if !v.is_empty() => Some(v),
        _ => Some("16".into()),
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let number = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let only = std::env::var("IMPORT_BENCH_ONLY").unwrap_or_default();
    let part = |name: &str| only.is_empty() || only.split(',').any(|p| p == name);
    let bin = binary();
    println!("binary: {}", bin.display());
    let bench = Bench {
        runtime: &runtime,
        dir: dir.path(),
        bin: &bin,
    };

    if part("latency") {
        let rows = number("IMPORT_BENCH_LATENCY_ROWS", 3_000);
        let slow = Options {
            latency_ms: 50,
            ..Options::default()
        };
        let (import, undo) = bench.import_and_undo("latency", rows, slow);
        println!(
            "import, 50 ms latency, 16 in flight, {rows} rows: {:.0} rows/s = {:.0}% of the 320 rows/s bound",
            import.rate,
            import.rate / 320.0 * 100.0
        );
        println!(
            "undo, 50 ms latency, 16 in flight, {rows} rows: {:.0} rows/s = {:.0} requests/s = {:.0}% of the 320 requests/s bound",
            undo.rate,
            undo.rate * 2.0,
            undo.rate * 2.0 / 320.0 * 100.0
        );
    }
    if part("fast") {
        let (import, undo) = bench.import_and_undo("fast", 100_000, Options::default());
        println!(
            "import, no latency, 100000 rows: {:.0} rows/s (bar: 5,000), peak RSS {:.1} MB",
            import.rate, import.peak_mb
        );
        println!(
            "undo, no latency, 100000 rows: {:.0} rows/s, peak RSS {:.1} MB",
            undo.rate, undo.peak_mb
        );
    }
    if part("large") {
        let large = number("IMPORT_BENCH_ROWS", 1_000_000);
        let server = bench.server(Options::default());
        let big = bench.import(&server, "large", large);
        println!(
            "import of {large} rows: {:.0} rows/s, peak RSS {:.1} MB (bar: 100 MB)",
            big.rate, big.peak_mb
        );
    }
}

/// The binary measured: `CUSTBULK_BIN`, else this build's.
fn binary() -> PathBuf {
    std::env::var_os("CUSTBULK_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_custbulk")))
}

struct Figures {
    rate: f64,
    peak_mb: f64,
}

struct Bench<'a> {
    runtime: &'a tokio::runtime::Runtime,
    dir: &'a Path,
    bin: &'a Path,
}

impl Bench<'_> {
    fn server(&self, options: Options) -> Running {
        self.runtime
            .block_on(sandbox::start(options))
            .expect("sandbox")
    }

    /// Imports `rows` new customers into a fresh sandbox, then undoes the import from its
    /// journal: the figures of both.
    fn import_and_undo(&self, name: &str, rows: usize, options: Options) -> (Figures, Figures) {
        let server = self.server(options);
        let import = self.import(&server, name, rows);
        let journal = self.dir.join(format!("{name}.journal"));
        let undo = self.child(&server, rows, |c| {
            c.args(["undo", journal.to_str().unwrap(), "--yes"]);
        });
        assert!(server.records().is_empty(), "every customer deleted again");
        (import, undo)
    }

    fn import(&self, server: &Running, name: &str, rows: usize) -> Figures {
        // The list, linked into the temporary directory where results and journal go.
        let file = self.dir.join(format!("{name}.csv"));
        let list = gen::data_file("list", gen::Format::Csv, rows as u64);
        std::os::unix::fs::symlink(list, &file).expect("a link to the list");
        let figures = self.child(server, rows, |c| {
            c.args(["import", file.to_str().unwrap()]);
        });
        assert_eq!(server.records().len(), rows, "every row stored");
        figures
    }

    /// Runs one custbulk command against `server`, polling its peak RSS: `rows` over the
    /// wall time, from spawn to exit.
    fn child(&self, server: &Running, rows: usize, command: impl FnOnce(&mut Command)) -> Figures {
        let mut cmd = Command::new(self.bin);
        command(&mut cmd);
        cmd.args(["--no-progress", "-q"])
            .args(["--base-url", &server.base_url])
            .env("ICLOUDREADY_API_KEY", "bench")
            .stdout(Stdio::null());
        if let Some(n) = concurrency() {
            cmd.args(["--concurrency", &n]);
        }
        let started = Instant::now();
        let mut child = cmd.spawn().expect("custbulk binary");
        let mut peak_kb = 0u64;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            peak_kb = peak_kb.max(vm_hwm_kb(child.id()).unwrap_or(0));
            std::thread::sleep(Duration::from_millis(50));
        };
        let elapsed = started.elapsed();
        assert!(status.success(), "{cmd:?} failed: {status}");
        Figures {
            rate: rows as f64 / elapsed.as_secs_f64(),
            peak_mb: peak_kb as f64 / 1024.0,
        }
    }
}

/// Peak resident memory of a live process, from /proc.
fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
