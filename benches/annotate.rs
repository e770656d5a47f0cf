//! What `--annotate` costs: validating a 200,000-row sheet alone, then validating it while
//! writing the annotated copy, on the same generated file (CSV and XLSX). The bar: the
//! annotated run takes no more than twice as long as validation alone.
//!
//! `cargo bench --bench annotate` prints both times, their ratio and the peak RSS of the real
//! binary doing `validate --annotate` (also on a sheet where every row has an error, the
//! worst case for notes). `ANNOTATE_BENCH_ROWS` sets the size (default 200,000), and
//! `ANNOTATE_BENCH_RUNS` the runs per figure (default 3, the best is kept).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use custbulk::annotate::Annotator;
use custbulk::pipeline::{Input, Pipeline};
use custbulk::validate::{Checked, ValidateOptions};

/// The lists every benchmark runs on.
#[path = "gen/mod.rs"]
mod gen;
use gen::{col, Generator, HEADERS};

fn main() {
    let rows: u64 = env_or("ANNOTATE_BENCH_ROWS", 200_000);
    let runs: usize = env_or("ANNOTATE_BENCH_RUNS", 3);
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("customers.csv");
    let xlsx = dir.path().join("customers.xlsx");
    let all_bad = dir.path().join("all-bad.csv");
    write_csv(&csv, rows, 20);
    write_xlsx(&xlsx, rows, 20);
    write_csv(&all_bad, rows, 1);
    println!("{rows} rows, 22 columns, one row in 20 with a problem, best of {runs} runs:");

    for input in [&csv, &xlsx] {
        let out = dir.path().join("annotated.xlsx");
        let validate = best(runs, || pass(input, None));
        let annotate = best(runs, || pass(input, Some(&out)));
        let ext = input.extension().unwrap().to_string_lossy().to_uppercase();
        println!(
            "  {ext:4}: validate {:.2} s, validate + annotate {:.2} s: {:.2}x (bar: 2x); \
             CPU {:.2} s and {:.2} s; annotated copy {:.1} MB",
            validate.wall.as_secs_f64(),
            annotate.wall.as_secs_f64(),
            annotate.wall.as_secs_f64() / validate.wall.as_secs_f64(),
            validate.cpu.as_secs_f64(),
            annotate.cpu.as_secs_f64(),
            std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) as f64 / 1e6
        );
    }

    for (name, input) in [("CSV", &csv), ("CSV, every row an error", &all_bad)] {
        let out = dir.path().join("by-binary.xlsx");
        let (elapsed, peak_mb) = binary(input, &out);
        println!(
            "  binary, {name}: validate --annotate {:.2} s, peak RSS {peak_mb:.1} MB",
            elapsed.as_secs_f64()
        );
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Elapsed time and CPU time (all threads) of one pass.
#[derive(Clone, Copy)]
struct Times {
    wall: Duration,
    cpu: Duration,
}

/// The fastest of `runs` passes.
fn best(runs: usize, mut f: impl FnMut() -> Times) -> Times {
    (0..runs.max(1))
        .map(|_| f())
        .min_by_key(|t| t.wall)
        .unwrap()
}

/// CPU time of this process so far, all threads, from /proc (zero elsewhere).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses: utime and stime are 14 and 15.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum();
    // Linux reports in USER_HZ, 100 per second.
    Duration::from_millis(ticks * 10)
}

/// One validation pass over `input`, writing the annotated copy to `out` when given.
fn pass(input: &Path, out: Option<&Path>) -> Times {
    let cpu = cpu_time();
    let started = Instant::now();
    let spec = Input {
        file: input.to_path_buf(),
        ..Input::default()
    };
    let mut pipeline = Pipeline::open(&spec, &ValidateOptions::default()).expect("open");
    let mut annotator = out.map(|o| {
        let mut a = Annotator::create(o, pipeline.headers(), false).expect("annotator");
        a.match_source(pipeline.source());
        a
    });
    let mut row = Checked::new();
    let mut problems = 0;
    while pipeline.next(&mut row).expect("row") {
        problems += row.problems.len();
        if let Some(a) = &mut annotator {
            a.row(row.row, &row.cells, &row.problems, None)
                .expect("annotate");
        }
    }
    if let Some(a) = annotator {
        a.finish().expect("finish");
    }
    assert!(problems > 0, "the bench sheet has problems to show");
    Times {
        wall: started.elapsed(),
        cpu: cpu_time() - cpu,
    }
}

/// The release binary's time and peak RSS for `validate INPUT --annotate OUT`.
fn binary(input: &Path, out: &PathBuf) -> (Duration, f64) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_custbulk"))
        .arg("validate")
        .arg(input)
        .arg("--annotate")
        .arg(out)
        .arg("-q")
        .stdout(Stdio::null())
        .spawn()
        .expect("custbulk binary");
    let mut peak_kb = 0u64;
    let status = loop {
        peak_kb = peak_kb.max(vm_hwm_kb(child.id()).unwrap_or(0));
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(1), "some rows have errors");
    (started.elapsed(), peak_kb as f64 / 1024.0)
}

/// Peak resident memory of a live process, from /proc.
fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Spoils row `i` when it is one of every `bad_every`: a mistyped SIRET, a negative capital,
/// Latin text in the Arabic name, a bad e-mail, in turn.
fn spoil(cells: &mut [String], i: u64, bad_every: u64) {
    if !i.is_multiple_of(bad_every) {
        return;
    }
    match (i / bad_every) % 4 {
        0 => {
            let siret = &mut cells[col::SIRET];
            match siret.pop() {
                Some(last) => siret.push(char::from(b'0' + (last as u8 - b'0' + 1) % 10)),
                None => siret.push_str("123"),
            }
        }
        1 => cells[col::CAPITAL].insert(0, '-'),
        2 => {
            let name = cells[col::NAME].clone();
            cells[col::NAME_AR] = name;
        }
        _ => cells[col::CONTACTS + 1].push_str(" chez"),
    }
}

fn write_csv(path: &Path, rows: u64, bad_every: u64) {
    let mut out = csv::Writer::from_writer(std::io::BufWriter::new(
        std::fs::File::create(path).unwrap(),
    ));
    out.write_record(HEADERS).unwrap();
    let mut g = Generator::new(gen::SEED);
    for i in 0..rows {
        g.next();
        spoil(&mut g.cells, i, bad_every);
        out.write_record(&g.cells).unwrap();
    }
    out.into_inner().unwrap().flush().unwrap();
}

fn write_xlsx(path: &Path, rows: u64, bad_every: u64) {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let ws = workbook.add_worksheet_with_constant_memory().unwrap();
    ws.set_name("Clients").unwrap();
    for (c, h) in HEADERS.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let mut g = Generator::new(gen::SEED);
    for i in 0..rows {
        g.next();
        spoil(&mut g.cells, i, bad_every);
        let r = i as u32 + 1;
        for (c, v) in g.cells.iter().enumerate() {
            match (c, v.parse::<f64>()) {
                // Capital and UN number as numbers, as people's sheets have them.
                (c, Ok(n)) if gen::NUMERIC.contains(&c) => ws.write_number(r, c as u16, n).unwrap(),
                _ if v.is_empty() => ws,
                _ => ws.write_string(r, c as u16, v).unwrap(),
            };
        }
    }
    workbook.save(path).unwrap();
}
