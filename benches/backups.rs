//! Backups: `diff` of two large NDJSON backups, `restore --plan` of a large backup against a
//! large account, and `restore` through a slow API, with the real release binary.
//!
//! `cargo bench --bench backups` prints records/s and peak RSS for each. `BACKUPS_BENCH_RECORDS`
//! sets the large size (default 1,000,000); `BACKUPS_BENCH_ONLY=diff|plan|slow` runs one case;
//! `BACKUPS_BENCH_RUNS` how many times `diff` runs (default 3, the best counts). The backups are
//! generated once under `target/bench-data/`. The sandbox runs in this process, custbulk in a
//! child, so the child's peak RSS (its own VmHWM) is custbulk's alone.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use custbulk::sandbox::{self, Options};

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
        diff(n, setting("BACKUPS_BENCH_RUNS", 3));
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
    let (old, new) = (backup(n, 0), backup(n, 1));
    let args = ["diff", path(&old), path(&new)];
    let (secs, peak) = (0..runs.max(1))
        .map(|_| measure(&args, None, 1))
        .fold((f64::MAX, 0f64), |(s, p), (secs, peak)| {
            (s.min(secs), p.max(peak))
        });
    println!(
        "diff of two {n}-record NDJSON backups: {secs:.2} s, {:.0} records/s per side \
         (bar 500,000), peak RSS {peak:.1} MB (bar 200)",
        n as f64 / secs
    );
}

fn plan(runtime: &tokio::runtime::Runtime, n: u64) {
    let new = backup(n, 1);
    let server = runtime
        .block_on(sandbox::start(Options::default()))
        .expect("sandbox");
    server.insert(records(n, 0).collect());
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
    slow.insert(records(changes, 7).collect());
    let backup = dir.join("slow.ndjson");
    write_backup(&backup, changes, 0);
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

/// The backup of `n` records at `version` under `target/bench-data/`, written the first time.
fn backup(n: u64, version: u64) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("backup-v{version}-{n}.ndjson"));
    if !path.exists() {
        let tmp = path.with_extension("tmp");
        write_backup(&tmp, n, version);
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}

/// A backup as `custbulk export` writes it. Version 1 differs from version 0 as a day of work
/// would: 1% of the customers edited, 0.5% gone, 0.5% new.
fn write_backup(path: &Path, n: u64, version: u64) {
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    for record in records(n, version) {
        serde_json::to_writer(&mut out, &record).unwrap();
        out.write_all(b"\n").unwrap();
    }
    out.flush().unwrap();
}

/// `n` customers as the API returns them; `version` changes some of them (7: every one).
fn records(n: u64, version: u64) -> impl Iterator<Item = Map<String, Value>> {
    (0..n).filter_map(move |i| {
        if version == 1 && i % 200 == 0 {
            return None;
        }
        let id = if version == 1 && i % 200 == 1 {
            i + n
        } else {
            i
        };
        let city = match version {
            7 => "Marseille",
            1 if i % 100 == 2 => "Lyon",
            _ => "Bourg-en-Bresse",
        };
        let record = json!({
            "_id": format!("{:024x}", 0x6b00_0000_0000_0000_0000_0000u128 + id as u128),
            "name": format!("Société {i}"),
            "isCompany": true,
            "capital": 1000 + i % 900,
            "manager": "Jeanne Martin",
            "name_ar": "مخبزة مارتان",
            "street1": format!("{} rue de la République", i % 200 + 1),
            "zipCode": format!("{:05}", i % 100_000),
            "city": city,
            "contacts": [{"name": format!("Jo {i}"), "email": format!("jo{i}@example.fr")}],
            "siret": format!("{:014}", 10_000_000_000_000u64 + i),
            "status": "actif",
            "category": "boulangerie",
            "createdAt": "2026-11-01T10:00:00.000Z",
            "updatedAt": "2026-11-01T10:00:00.000Z",
        });
        record.as_object().cloned()
    })
}
