//! Import throughput and memory against the sandbox, with the real release binary.
//!
//! `cargo bench --bench import` prints rows/s for a latency-bound run (50 ms per request,
//! 16 in flight: the bound is 16 / 0.05 s = 320 rows/s), a CPU-bound run (no latency), and the
//! import's peak RSS on a large file. `IMPORT_BENCH_ROWS` sets the large file's size
//! (default 1,000,000). The sandbox runs in this process, the import in a child process, so
//! the child's memory is the import's alone.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use custbulk::sandbox::{self, Options};

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let large: usize = std::env::var("IMPORT_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);

    let latency = run(
        &runtime,
        dir.path(),
        "latency",
        3_000,
        16,
        Options {
            latency_ms: 50,
            ..Options::default()
        },
    );
    println!(
        "import, 50 ms latency, 16 in flight: {:.0} rows/s = {:.0}% of the 320 rows/s bound",
        latency.rate,
        latency.rate / 320.0 * 100.0
    );
    let fast = run(
        &runtime,
        dir.path(),
        "fast",
        100_000,
        16,
        Options::default(),
    );
    println!(
        "import, no latency: {:.0} rows/s (bar: 5,000), peak RSS {:.1} MB",
        fast.rate, fast.peak_mb
    );
    let big = run(&runtime, dir.path(), "large", large, 16, Options::default());
    println!(
        "import of {large} rows: {:.0} rows/s, peak RSS {:.1} MB (bar: 100 MB)",
        big.rate, big.peak_mb
    );
}

struct Figures {
    rate: f64,
    peak_mb: f64,
}

fn run(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    name: &str,
    rows: usize,
    concurrency: u32,
    options: Options,
) -> Figures {
    let file = dir.join(format!("{name}.csv"));
    write_sheet(&file, rows);
    let server = runtime.block_on(sandbox::start(options)).expect("sandbox");
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_custbulk"))
        .args([
            "import",
            file.to_str().unwrap(),
            "--no-progress",
            "-q",
            "--concurrency",
            &concurrency.to_string(),
        ])
        .args(["--base-url", &server.base_url])
        .env("ICLOUDREADY_API_KEY", "bench")
        .stdout(Stdio::null())
        .spawn()
        .expect("custbulk binary");
    let mut peak_kb = 0u64;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        peak_kb = peak_kb.max(vm_hwm_kb(child.id()).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(50));
    };
    let elapsed = started.elapsed();
    assert!(status.success(), "import failed: {status}");
    assert_eq!(server.records().len(), rows, "every row stored");
    Figures {
        rate: rows as f64 / elapsed.as_secs_f64(),
        peak_mb: peak_kb as f64 / 1024.0,
    }
}

/// Peak resident memory of a live process, from /proc.
fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A realistic customer sheet: every row valid.
fn write_sheet(path: &Path, rows: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "name;isCompany;capital;manager;street1;zipCode;city;siret;status;category;Contact 1 Name;Contact 1 Email").unwrap();
    for i in 0..rows {
        writeln!(
            out,
            "Société {i};oui;{} 000;Jeanne Martin;{} rue de la République;{:05};Lyon;{};actif;boulangerie;Jo {i};jo{i}@example.fr",
            i % 900 + 1,
            i % 200 + 1,
            i % 100_000,
            siret(i as u64),
        )
        .unwrap();
    }
}

fn siret(n: u64) -> String {
    let payload = format!("{:013}", 1_000_000_000_000 + n);
    let check = custbulk::validate::coerce::luhn_check_digit(&payload);
    format!("{payload}{check}")
}
