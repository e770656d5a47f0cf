//! The page's bars: a 100,000-row CSV from the drop to the Problems page in under 3 s; a page
//! of the grid in under 100 ms at 1,000,000 rows; the server under 200 MB for a 1,000,000-row
//! file. The page is the release binary (`custbulk ui --no-open`) in a child process, so its
//! peak RSS (its own VmHWM) is the server's alone; requests are plain HTTP/1.1 written here,
//! the upload streamed from disk as a browser streams it.
//!
//! `cargo bench --bench ui`. Files come from the project's generator (benches/gen) under
//! target/bench-data/: its rows are valid, so a flawed copy is made here too, with a wrong
//! SIRET check digit on every third row and a fractional capital on every seventh (43% of
//! the rows in the grid), to time the grid where it has something to show. Knobs: `UI_BENCH_SMALL` (default 100,000 rows), `UI_BENCH_LARGE`
//! (default 1,000,000), `UI_BENCH_PAGES` (grid pages timed, default 30).

#[path = "gen/mod.rs"]
mod gen;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `custbulk ui` in a child process.
struct Page {
    child: Child,
    port: u16,
    cookie: String,
}

impl Page {
    fn start() -> Page {
        let mut child = Command::new(env!("CARGO_BIN_EXE_custbulk"))
            .args(["ui", "--no-open", "-q"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("custbulk ui starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let rest = line.trim().strip_prefix("http://127.0.0.1:").unwrap();
        let (port, token) = rest.split_once("/?token=").unwrap();
        let port: u16 = port.parse().unwrap();
        Page {
            child,
            port,
            cookie: format!("custbulk-{port}={token}"),
        }
    }

    /// One request; the status, the `Location`, and the body's length.
    fn request(&self, method: &str, path: &str, body: Body) -> (u16, String, usize) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let (kind, len) = match &body {
            Body::None => (String::new(), 0),
            Body::Form(f) => ("application/x-www-form-urlencoded".into(), f.len() as u64),
            Body::Upload { name, path } => {
                let (head, tail) = multipart_ends(name);
                let len = head.len() + tail.len();
                (
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                    len as u64 + std::fs::metadata(path).unwrap().len(),
                )
            }
        };
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nCookie: {}\r\nOrigin: http://127.0.0.1:{}\r\nConnection: close\r\n",
            self.port, self.cookie, self.port
        );
        if !kind.is_empty() {
            head.push_str(&format!(
                "Content-Type: {kind}\r\nContent-Length: {len}\r\n"
            ));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        match body {
            Body::None => {}
            Body::Form(f) => s.write_all(f.as_bytes()).unwrap(),
            Body::Upload { name, path } => {
                let (head, tail) = multipart_ends(&name);
                s.write_all(head.as_bytes()).unwrap();
                std::io::copy(&mut std::fs::File::open(path).unwrap(), &mut s).unwrap();
                s.write_all(tail.as_bytes()).unwrap();
            }
        }
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).unwrap();
        let text = String::from_utf8_lossy(&answer);
        let status: u16 = text[9..12].parse().unwrap();
        let location = text
            .lines()
            .find_map(|l| l.strip_prefix("location: "))
            .unwrap_or("")
            .to_string();
        let body = text.split_once("\r\n\r\n").map_or(0, |(_, b)| b.len());
        assert!(
            status < 400,
            "{method} {path}: {}",
            &text[..text.len().min(600)]
        );
        (status, location, body)
    }

    /// The server's peak resident set so far, in MB.
    fn peak_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<f64>()
            .unwrap()
            / 1024.0
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        // SAFETY: a signal to our own child: Ctrl-C, so it removes its uploads.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let _ = self.child.wait();
    }
}

enum Body<'a> {
    None,
    Form(String),
    Upload { name: String, path: &'a Path },
}

const BOUNDARY: &str = "custbulk-bench-boundary";

fn multipart_ends(name: &str) -> (String, String) {
    (
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n"
        ),
        format!("\r\n--{BOUNDARY}--\r\n"),
    )
}

/// Drop → File → Columns (kept as found) → Problems, as a person clicks through; returns the
/// job's id and the time each step took.
fn walk(page: &Page, file: &Path) -> (String, Vec<(&'static str, Duration)>) {
    let mut steps = Vec::new();
    let mut t = Instant::now();
    let mut lap = |name, steps: &mut Vec<_>| {
        steps.push((name, t.elapsed()));
        t = Instant::now();
    };
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let (_, location, _) = page.request("POST", "/files", Body::Upload { name, path: file });
    lap("upload", &mut steps);
    let id = location.trim_start_matches("/files/").to_string();
    page.request("GET", &location, Body::None);
    lap("file page", &mut steps);
    page.request("GET", &format!("{location}/columns"), Body::None);
    lap("columns page", &mut steps);
    page.request(
        "POST",
        &format!("{location}/columns"),
        Body::Form(String::new()),
    );
    page.request("GET", &format!("{location}/problems"), Body::None);
    lap("check + problems page", &mut steps);
    (id, steps)
}

/// The generator's rows, with problems on 3 rows in 7 (see the header).
fn write_flawed(path: &Path, rows: u64) -> Result<(), Box<dyn std::error::Error>> {
    let file = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(path)?);
    let mut w = csv::WriterBuilder::new().delimiter(b';').from_writer(file);
    w.write_record(gen::HEADERS)?;
    let mut g = gen::Generator::new(gen::SEED);
    for i in 0..rows {
        g.next();
        if i % 3 == 0 {
            let siret = &mut g.cells[gen::col::SIRET];
            let last = siret.pop().and_then(|d| d.to_digit(10)).unwrap_or(0);
            siret.push(char::from_digit((last + 1) % 10, 10).unwrap());
        }
        if i % 7 == 0 {
            g.cells[gen::col::CAPITAL] = "12,5".into();
        }
        w.write_record(&g.cells)?;
    }
    w.flush()?;
    Ok(())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn report(rows: u64, steps: &[(&str, Duration)]) -> Duration {
    let total: Duration = steps.iter().map(|(_, d)| *d).sum();
    let parts: Vec<String> = steps
        .iter()
        .map(|(n, d)| format!("{n} {:.2} s", d.as_secs_f64()))
        .collect();
    println!(
        "{rows} rows: drop → Problems page {:.2} s ({})",
        total.as_secs_f64(),
        parts.join(", ")
    );
    total
}

fn main() {
    let small = env_num("UI_BENCH_SMALL", 100_000);
    let large = env_num("UI_BENCH_LARGE", 1_000_000);
    let pages = env_num("UI_BENCH_PAGES", 30);
    let small_file = gen::data_file("list", gen::Format::Csv, small);
    let flawed = |rows| gen::data_file_made("list-flawed", "csv", rows, |p| write_flawed(p, rows));
    let (small_flawed, large_file) = (flawed(small), flawed(large));
    println!("load average before: {}", loadavg());

    for (what, file) in [("valid", &small_file), ("flawed", &small_flawed)] {
        let page = Page::start();
        let (_, steps) = walk(&page, file);
        print!("{what}, ");
        let total = report(small, &steps);
        println!(
            "  bar: under 3 s: {}",
            if total < Duration::from_secs(3) {
                "met"
            } else {
                "NOT met"
            }
        );
    }

    let page = Page::start();
    print!("flawed, ");
    let (id, steps) = walk(&page, &large_file);
    report(large, &steps);
    let grid = format!("/files/{id}/problems");
    // The number of pages, from the JSON twin of the first.
    let first = {
        let mut s = TcpStream::connect(("127.0.0.1", page.port)).unwrap();
        write!(
            s,
            "GET {grid}.json HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nCookie: {}\r\nConnection: close\r\n\r\n",
            page.port, page.cookie
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text
    };
    let json = first.split_once("\r\n\r\n").unwrap().1;
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let total_pages = v["pages"].as_u64().unwrap();
    println!(
        "  rows with problems: {} ({} pages of {})",
        v["rows_with_problems"], total_pages, v["per_page"]
    );
    let mut times = Vec::new();
    for i in 0..pages {
        // Spread over the whole file, last page included.
        let n = 1 + (i * 7919) % total_pages.max(1);
        let n = if i == pages - 1 { total_pages } else { n };
        let t = Instant::now();
        page.request("GET", &format!("{grid}?page={n}"), Body::None);
        times.push(t.elapsed());
    }
    times.sort();
    let median = times[times.len() / 2];
    let worst = *times.last().unwrap();
    println!(
        "  grid page (HTML, 50 rows): median {:.1} ms, slowest {:.1} ms over {pages} pages; bar under 100 ms: {}",
        median.as_secs_f64() * 1e3,
        worst.as_secs_f64() * 1e3,
        if worst < Duration::from_millis(100) { "met" } else { "NOT met" }
    );
    let t = Instant::now();
    let (_, _, bytes) = page.request("GET", &format!("/files/{id}/fixed"), Body::None);
    println!(
        "  fixed file streamed: {:.1} MB in {:.2} s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let peak = page.peak_mb();
    println!(
        "  server peak RSS: {peak:.0} MB; bar under 200 MB: {}",
        if peak < 200.0 { "met" } else { "NOT met" }
    );
    println!("load average after: {}", loadavg());
}
