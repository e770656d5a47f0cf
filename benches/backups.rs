//! Backups: `diff` of two large NDJSON backups, `restore --plan` of a large backup against a
//! large account, and `restore` through a slow API, with the real release binary.
//!
//! `cargo bench --bench backups` prints records/s and peak RSS for each. `BACKUPS_BENCH_RECORDS`
//! sets the large size (default 1,000,000); `BACKUPS_BENCH_ONLY=diff|plan|slow` runs one case;
//! `BACKUPS_BENCH_RUNS` how many times `diff` runs (default 5; the median and the best are
//! printed). The backups are the generated list (`gen/mod.rs`) and the same a day later (1%
//! edited, 0.5% gone, 0.5% new), as `custbulk export` writes them, generated once under
//! `target/bench-data/`. The sandbox runs in this process, custbulk in a
//! child, so the child's peak RSS (its own VmHWM) is custbulk's alone.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use custbulk::sandbox::{self, Options};

/// The lists every benchmark runs on.
#[path = "gen/mod.rs"]
mod gen;
use gen::Format;

fn main() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let n = setting("BACKUPS_BENCH_RECORDS", 1_000_000);

    let only = std::env::var("BACKUPS_BENCH_ONLY").unwrap_or_default();
    let run = |case: &str| only.is_empty() || only == case;
    if run("diff") {
        diff(n, setting("BACKUPS_BENCH_RUNS", 5));
    }
    if run("plan") {
        plan(&runtime, n);
    }
    if run("slow") {
        slow(&runtime, dir.path());
    }
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn diff(n: u64, runs: u64) {
    let old = gen::data_file("list", Format::Ndjson, n);
    let new = gen::data_file("list-a-day-later", Format::NdjsonADayLater, n);
    let args = ["diff", path(&old), path(&new)];
    let mut times = Vec::new();
    let mut peak = 0f64;
    for _ in 0..runs.max(1) {
        let (secs, mb) = measure(&args, None, 1);
        times.push(secs);
        peak = peak.max(mb);
    }
    times.sort_by(f64::total_cmp);
    let (best, median) = (times[0], times[times.len() / 2]);
    println!(
        "diff of two {n}-record NDJSON backups, {} runs: median {median:.2} s = {:.0} records/s \
         per side (bar 500,000), best {best:.2} s = {:.0}/s; peak RSS {peak:.1} MB (bar 200); \
         load average {}",
        times.len(),
        n as f64 / median,
        n as f64 / best,
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
}

fn plan(runtime: &tokio::runtime::Runtime, n: u64) {
    let new = gen::data_file("list-a-day-later", Format::NdjsonADayLater, n);
    let server = runtime
        .block_on(sandbox::start(Options::default()))
        .expect("sandbox");
    let mut customers = gen::served(n, |_| false).peekable();
    while customers.peek().is_some() {
        server.insert(customers.by_ref().take(10_000).collect());
    }
    let args = ["restore", path(&new), "--plan", "--page-size", "1000", "-q"];
    let (secs, peak) = measure(&args, Some(&server.base_url), 0);
    println!("restore --plan of {n} records against {n} customers: {secs:.1} s, peak RSS {peak:.1} MB (bar 200)");
}

fn slow(runtime: &tokio::runtime::Runtime, dir: &Path) {
    let changes = 3_000;
    let slow = runtime
        .block_on(sandbox::start(Options {
            latency_ms: 50,
            ..Options::default()
        }))
        .expect("sandbox");
    // Every customer of the account differs from its record in the backup.
    slow.insert(gen::served(changes, |_| true).collect());
    let backup = dir.join("slow.ndjson");
    gen::write(&backup, Format::Ndjson, changes, gen::SEED).unwrap();
    let args = [
        "restore",
        path(&backup),
        "--page-size",
        "1000",
        "--concurrency",
        "16",
        "-q",
    ];
    let (secs, _) = measure(&args, Some(&slow.base_url), 0);
    let rate = changes as f64 / secs;
    println!(
        "restore of {changes} changes through 50 ms latency, 16 in flight: {rate:.0} changes/s = \
         {:.0}% of the 320/s bound",
        rate / 320.0 * 100.0
    );
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs custbulk (against `base_url` when given) and returns its time and peak RSS in MB;
/// `code` is the exit code it must end with.
fn measure(args: &[&str], base_url: Option<&str>, code: i32) -> (f64, f64) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_custbulk"));
    command
        .args(args)
        .args(["--no-progress"])
        .env("ICLOUDREADY_API_KEY", "bench")
        .stdout(Stdio::null());
    if let Some(url) = base_url {
        command.args(["--base-url", url]);
    }
    let started = Instant::now();
    let mut child = command.spawn().expect("custbulk binary");
    // The peak is sampled beside, so that the time is the child's own, not a polling step's.
    let (pid, done) = (child.id(), std::sync::atomic::AtomicBool::new(false));
    let (status, secs, peak_kb) = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let mut peak_kb = 0u64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak_kb = peak_kb.max(vm_hwm_kb(pid).unwrap_or(0));
                std::thread::sleep(Duration::from_millis(10));
            }
            peak_kb
        });
        let status = child.wait().unwrap();
        let secs = started.elapsed().as_secs_f64();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        (status, secs, sampler.join().unwrap())
    });
    assert_eq!(status.code(), Some(code), "custbulk {args:?}");
    (secs, peak_kb as f64 / 1024.0)
}

/// Peak resident memory of a live process, from /proc.
fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
