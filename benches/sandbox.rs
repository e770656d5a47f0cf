//! How fast the sandbox answers, so it is never the bottleneck of an import or export run.
//!
//! 1. Simple requests per second: 10,000 customers, reqwest with many requests in flight for a
//!    few seconds, GET one customer by id, then list `limit=10`, then both mixed.
//! 2. A million customers: the time of a deep page (`page=500&limit=1000`), and of a whole
//!    export of them page by page; `--data` saved and loaded, and how soon `custbulk sandbox
//!    --data` holding them exits on SIGTERM.
//!
//! Run with `cargo bench --bench sandbox` (add `-- throughput` or `-- million` for one part).
//! The sandbox runs in its own runtime whose threads are named `sandbox-server`, so besides the
//! rates (which depend on what else the machine is doing: the client shares the same cores) the
//! bench reports the CPU time per request of the server alone and of server and client together.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use custbulk::sandbox::{self, Options, Running};

/// The lists every benchmark runs on.
#[path = "gen/mod.rs"]
mod gen;

const IN_FLIGHT: usize = 96;
const PHASE: Duration = Duration::from_secs(5);

/// Stores the first `n` customers of the generated list, 10,000 at a time.
fn load(running: &Running, n: u64) {
    let mut customers = gen::served(n, |_| false).peekable();
    while customers.peek().is_some() {
        running.insert(customers.by_ref().take(10_000).collect());
    }
}

#[derive(Clone, Copy)]
enum Mix {
    GetOne,
    List,
    Both,
}

/// CPU seconds used so far by this process's threads whose name starts with `prefix` (all of
/// them for ""); Linux only.
fn cpu_seconds(prefix: &str) -> Option<f64> {
    let mut total = 0.0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let Ok(stat) = std::fs::read_to_string(task.ok()?.path().join("stat")) else {
            continue;
        };
        let name = stat.get(stat.find('(')? + 1..stat.rfind(')')?)?;
        if !name.starts_with(prefix) {
            continue;
        }
        let fields: Vec<&str> = stat
            .get(stat.rfind(')')? + 2..)?
            .split_whitespace()
            .collect();
        // utime and stime, fields 14 and 15 of the line, in clock ticks of 1/100 s.
        total += fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    }
    Some(total / 100.0)
}

const SERVER_THREADS: &str = "sandbox-server";

/// Resident memory of this process in MB; Linux only.
fn rss_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? / 1024)
}

/// The machine's load: other work on the same cores lowers the rates measured here.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// What one phase measured.
struct Measure {
    rate: f64,
    failed: u64,
    /// CPU microseconds per request: the server's, and the whole process's.
    cpu_us: Option<(f64, f64)>,
}

/// Drives requests for `duration` and measures them.
async fn drive(running: &Running, ids: Arc<Vec<String>>, mix: Mix, duration: Duration) -> Measure {
    let cpu_before = cpu_seconds(SERVER_THREADS).zip(cpu_seconds(""));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(IN_FLIGHT)
        .build()
        .unwrap();
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for worker in 0..IN_FLIGHT {
        let (client, ids, ok, failed) = (client.clone(), ids.clone(), ok.clone(), failed.clone());
        let base = running.base_url.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = worker * 7919;
            while Instant::now() < deadline {
                n = n
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let one = match mix {
                    Mix::GetOne => true,
                    Mix::List => false,
                    Mix::Both => n % 2 == 0,
                };
                let url = if one {
                    format!("{base}/customers/{}", ids[(n >> 17) % ids.len()])
                } else {
                    format!("{base}/customers?limit=10&page={}", (n >> 17) % 100 + 1)
                };
                let answered = match client.get(url).bearer_auth("bench").send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                let counter = if answered { &ok } else { &failed };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let done = ok.load(Ordering::Relaxed) as f64;
    let cpu_after = cpu_seconds(SERVER_THREADS).zip(cpu_seconds(""));
    let cpu_us = cpu_before
        .zip(cpu_after)
        .map(|((s0, a0), (s1, a1))| ((s1 - s0) * 1e6 / done, (a1 - a0) * 1e6 / done));
    Measure {
        rate: done / elapsed,
        failed: failed.load(Ordering::Relaxed),
        cpu_us,
    }
}

async fn throughput(running: &Running) {
    load(running, 10_000);
    let ids: Arc<Vec<String>> = Arc::new(
        running
            .records()
            .iter()
            .map(|r| r["_id"].as_str().unwrap().to_owned())
            .collect(),
    );
    drive(running, ids.clone(), Mix::Both, Duration::from_secs(1)).await; // warm-up
    println!(
        "simple requests, 10,000 customers, {IN_FLIGHT} in flight, {}s each (load average {}):",
        PHASE.as_secs(),
        load_average()
    );
    for (label, mix) in [
        ("GET /customers/{id}", Mix::GetOne),
        ("GET /customers?limit=10", Mix::List),
        ("both, mixed", Mix::Both),
    ] {
        let m = drive(running, ids.clone(), mix, PHASE).await;
        println!(
            "  {label:<24} {:>6.0} requests/s, {} failed",
            m.rate, m.failed
        );
        if let Some((server, all)) = m.cpu_us {
            // One idle core gives 1,000,000 CPU microseconds a second.
            println!(
                "  {:<24} CPU per request: server {server:.1} us ({:.0}/s per core), \
                 server+client {all:.1} us ({:.0}/s on 2 idle cores)",
                "",
                1e6 / server,
                2e6 / all
            );
        }
    }
}

async fn million(running: &Running) {
    let t = Instant::now();
    load(running, 1_000_000);
    println!(
        "\n1,000,000 customers inserted in {:.1}s; process resident memory {} MB",
        t.elapsed().as_secs_f64(),
        rss_mb().map_or("unknown".to_owned(), |m| m.to_string())
    );
    let client = reqwest::Client::new();
    let get = |query: String| {
        let client = client.clone();
        let url = format!("{}/customers?{query}", running.base_url);
        async move {
            let t = Instant::now();
            let r = client.get(url).bearer_auth("bench").send().await.unwrap();
            assert!(r.status().is_success());
            let body = r.bytes().await.unwrap();
            (t.elapsed(), body.len())
        }
    };
    for (label, query) in [
        ("page 1, limit 1000 (newest)", "limit=1000&page=1"),
        ("page 500, limit 1000", "limit=1000&page=500"),
        ("page 999, limit 1000", "limit=1000&page=999"),
        (
            "page 500, sortBy=name asc",
            "limit=1000&page=500&sortBy=name&order=asc",
        ),
        (
            "page 500, p={status:actif}",
            "limit=1000&page=500&p=%7B%22status%22%3A%22actif%22%7D",
        ),
    ] {
        let (first, size) = get(query.to_owned()).await;
        let mut total = Duration::ZERO;
        let rounds = 10;
        for _ in 0..rounds {
            total += get(query.to_owned()).await.0;
        }
        println!(
            "  {label:<30} first {:>7.1} ms, then {:>6.1} ms per request ({} KB)",
            first.as_secs_f64() * 1e3,
            total.as_secs_f64() * 1e3 / rounds as f64,
            size / 1024
        );
    }
    for (label, extra) in [
        ("default order", ""),
        ("sortBy=_id asc", "&sortBy=_id&order=asc"),
    ] {
        let t = Instant::now();
        let mut bytes = 0;
        for page in 1..=1000 {
            bytes += get(format!("limit=1000&page={page}{extra}")).await.1;
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "  full export, 1000 pages, {label:<15} {secs:>5.1} s ({:.0} pages/s, {} MB)",
            1000.0 / secs,
            bytes >> 20
        );
    }
}

/// Starts `custbulk sandbox --data PATH`, creates one customer when `change` (so that the
/// whole store is saved), sends SIGTERM once it serves, and returns how long it took to exit
/// and its peak RSS.
fn sigterm(path: &std::path::Path, change: bool) -> (Duration, f64) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_custbulk"))
        .args(["sandbox", "--port", "0", "--data"])
        .arg(path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("custbulk binary");
    // The URL comes once the data is loaded.
    let mut url = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    if change {
        create_one(url.trim());
    }
    std::thread::sleep(Duration::from_secs(1));
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let peak_kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN);
    let t = Instant::now();
    // SAFETY: kill signals our own child, not yet reaped.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    assert!(child.wait().unwrap().success());
    (t.elapsed(), peak_kb / 1024.0)
}

/// `POST /customers` of one customer, by hand over one connection: the bench's client runtime
/// is not needed for one request.
fn create_one(base_url: &str) {
    use std::io::{Read, Write};
    let (host, path) = base_url
        .strip_prefix("http://")
        .and_then(|rest| rest.split_once('/'))
        .expect("an http URL with a path");
    let body = r#"{"name":"Ajoutée avant le signal"}"#;
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "POST /{path}/customers HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer k\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
}

fn main() {
    // The sandbox gets its own runtime, as in `custbulk sandbox`, so its threads can be measured.
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(SERVER_THREADS)
        .enable_all()
        .build()
        .unwrap();
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // `cargo bench --bench sandbox -- throughput` (or `million`) runs one part only.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |part: &str| only.is_empty() || only.iter().any(|o| o == part);
    if wanted("throughput") {
        let running = server.block_on(sandbox::start(Options::default())).unwrap();
        client.block_on(throughput(&running));
        server.block_on(running.stop()).unwrap();
    }
    if wanted("million") {
        // Saved on stop and loaded again, to time `--data` at this size.
        let path = std::env::temp_dir().join(format!("custbulk-bench-{}.json", std::process::id()));
        let with_data = || Options {
            data: Some(path.clone()),
            ..Options::default()
        };
        let running = server.block_on(sandbox::start(with_data())).unwrap();
        client.block_on(million(&running));
        let t = Instant::now();
        server.block_on(running.stop()).unwrap();
        let saved = t.elapsed();
        let size = std::fs::metadata(&path).map(|m| m.len() >> 20).unwrap_or(0);
        let t = Instant::now();
        let running = server.block_on(sandbox::start(with_data())).unwrap();
        let loaded = t.elapsed();
        println!(
            "  --data of {} customers ({size} MB): saved in {:.1} s, loaded in {:.1} s",
            running.len(),
            saved.as_secs_f64(),
            loaded.as_secs_f64()
        );
        drop(running);
        let (as_loaded, _) = sigterm(&path, false);
        let (changed, peak_mb) = sigterm(&path, true);
        println!(
            "  `custbulk sandbox --data` of them: exits {:.2} s after SIGTERM as loaded (nothing \
             to save), {:.2} s after one customer is created (--data saved whole) (peak RSS \
             {peak_mb:.0} MB; load average {})",
            as_loaded.as_secs_f64(),
            changed.as_secs_f64(),
            load_average()
        );
        let _ = std::fs::remove_file(&path);
    }
}
