//! The validate pipeline's speed against the raw readers, on the same files, in one run.
//!
//! Bars (DESIGN.md, issue 3): a 1,000,000-row, 22-column CSV validated at ≥ 50% of the csv
//! crate's raw `ByteRecord` read; a 200,000-row XLSX at ≥ 80% of calamine's raw streaming
//! cell read; peak RSS ≤ 100 MB for the `custbulk validate` process on both. And (issue 12) a
//! 1,000,000-record NDJSON backup, as `custbulk export` writes one: its speed, and peak RSS ≤
//! 100 MB (both of its passes stream).
//!
//! And (issue 22) the CSV bar still with the mapping file's transforms: a French list holding
//! the manager's first and last names apart and the whole address in one cell, mapped with the
//! README's `[fields]` and `[split]`.
//!
//! `cargo bench --bench validate` (add `-- --rows N --xlsx-rows M` for other sizes, `--ndjson`
//! for the NDJSON case alone, `--csv` for the first CSV case alone, `--transforms` for the two
//! CSV cases alone, `--runs N` for N pairs of the raw read and validate, 5 by default, whose
//! median ratio is the figure held to the bar; `CUSTBULK_BIN=PATH` measures another build's
//! `custbulk validate`). Files are generated once under
//! `target/bench-data/`, lists like real ones (`gen/mod.rs`: every name, SIRET and e-mail
//! distinct).

use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use custbulk::pipeline::{Input, Pipeline};
use custbulk::report::ProblemLog;
use custbulk::validate::{Checked, ValidateOptions};

/// The generator shared with the read benchmark and `examples/gen_customers.rs`.
#[path = "gen/mod.rs"]
mod gen;
use gen::Format;

fn best_of(runs: usize, mut f: impl FnMut() -> u64) -> (Duration, u64) {
    let mut best = Duration::MAX;
    let mut n = 0;
    for _ in 0..runs {
        let t = Instant::now();
        n = f();
        best = best.min(t.elapsed());
    }
    (best, n)
}

/// The raw read and custbulk's, run in turn: the best time of each, and the ratio raw/custbulk
/// of each pair. On a shared host a minute can be twice as slow as the next; a ratio taken
/// within one pair sees the same minute on both sides, where the ratio of two bests, taken
/// minutes apart, can move by half between runs.
struct Paired {
    raw: Duration,
    ours: Duration,
    /// Rows (or cells) custbulk's side counted.
    n: u64,
    /// raw/custbulk of each pair, sorted.
    ratios: Vec<f64>,
}

impl Paired {
    fn run(pairs: usize, mut raw: impl FnMut() -> u64, mut ours: impl FnMut() -> u64) -> Paired {
        let time = |f: &mut dyn FnMut() -> u64| {
            let t = Instant::now();
            let n = f();
            (t.elapsed(), n)
        };
        let mut p = Paired {
            raw: Duration::MAX,
            ours: Duration::MAX,
            n: 0,
            ratios: Vec::new(),
        };
        for _ in 0..pairs {
            let (r, _) = time(&mut raw);
            let (o, n) = time(&mut ours);
            p.raw = p.raw.min(r);
            p.ours = p.ours.min(o);
            p.n = n;
            p.ratios.push(r.as_secs_f64() / o.as_secs_f64());
        }
        p.ratios.sort_by(f64::total_cmp);
        p
    }

    /// `= 52% of raw, paired (median of 5 pairs, 47–58%)`: the median pair is the figure
    /// held to the bar.
    fn ratio(&self) -> String {
        let pct = |r: f64| (100.0 * r).round();
        let r = &self.ratios;
        format!(
            "{:.0}% of raw (median of {} pairs, {:.0}–{:.0}%)",
            pct(r[r.len() / 2]),
            r.len(),
            pct(r[0]),
            pct(r[r.len() - 1]),
        )
    }
}

fn raw_csv(path: &Path) -> u64 {
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_path(path)
        .unwrap();
    let mut rec = csv::ByteRecord::new();
    let mut n = 0;
    while r.read_byte_record(&mut rec).unwrap() {
        n += rec.len() as u64;
    }
    n
}

fn raw_xlsx(path: &Path) -> u64 {
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(path).unwrap();
    let name = book.sheet_names()[0].clone();
    let mut cells = book.worksheet_cells_reader(&name).unwrap();
    let mut n = 0;
    while let Some(c) = cells.next_cell().unwrap() {
        black_box(c.get_value());
        n += 1;
    }
    n
}

/// custbulk's reader alone (cells as text), for telling reading from checking.
fn read_only(path: &Path) -> u64 {
    let mut t =
        custbulk::read::open(path, &Default::default(), &custbulk::mapping::is_header).unwrap();
    let mut row = custbulk::read::Row::new();
    let mut n = 0;
    while t.next_row(&mut row).unwrap() {
        n += row.cells.len() as u64;
    }
    n
}

/// The checks alone, on rows already in memory (no reading, one thread): nanoseconds per row.
fn checks_only(path: &Path, rows: usize) -> f64 {
    let mut t =
        custbulk::read::open(path, &Default::default(), &custbulk::mapping::is_header).unwrap();
    let mapping = custbulk::mapping::Mapping::infer(&t.headers, None);
    let mut data = Vec::new();
    let mut row = custbulk::read::Row::new();
    while data.len() < rows && t.next_row(&mut row).unwrap() {
        data.push(row.cells.clone());
    }
    let mut best = f64::MAX;
    for _ in 0..3 {
        let mut v =
            custbulk::validate::Validator::new(&mapping, &ValidateOptions::default()).unwrap();
        let mut out = Checked::new();
        let start = Instant::now();
        for (i, cells) in data.iter_mut().enumerate() {
            out.row = i as u32 + 2;
            std::mem::swap(&mut out.cells, cells);
            v.check(&mut out);
            black_box(&out.problems);
            std::mem::swap(&mut out.cells, cells);
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e9 / data.len() as f64);
    }
    best
}

/// The validate command's path minus printing: pipeline, problem log, counts.
fn pipeline(path: &Path) -> u64 {
    pipeline_mapped(path, None)
}

/// [`pipeline`] with a mapping file.
fn pipeline_mapped(path: &Path, map: Option<&Path>) -> u64 {
    let input = Input {
        file: path.to_path_buf(),
        map: map.map(Path::to_path_buf),
        ..Input::default()
    };
    let mut p = Pipeline::open(&input, &ValidateOptions::default()).unwrap();
    let mut log = ProblemLog::new(false, None).unwrap();
    let mut row = Checked::new();
    while p.next(&mut row).unwrap() {
        if !row.problems.is_empty() {
            log.add(&row.problems).unwrap();
        }
    }
    p.counts().rows
}

/// The NDJSON case: the validate command's path (both passes), with the command's time and
/// peak RSS measured earlier (`command`, while this process was small).
fn ndjson_case(
    ndjson: &Path,
    (cmd, rss): (Duration, f64),
    rows: u64,
    runs: usize,
    out: &mut impl Write,
) {
    let ndjson = ndjson.to_path_buf();
    let size = std::fs::metadata(&ndjson).unwrap().len() as f64 / 1e6;
    let (read, _) = best_of(runs, || read_only(&ndjson));
    let (val, n) = best_of(runs, || pipeline(&ndjson));
    assert_eq!(n, rows);
    let _ = writeln!(
        out,
        "ndjson {rows} records, {size:.0} MB: custbulk read (both passes) {:.2}s, validate {:.2}s \
         ({:.0} rows/s, {:.0} MB/s); command {:.2}s, peak RSS {rss:.0} MB (bar 100)",
        read.as_secs_f64(),
        val.as_secs_f64(),
        rows as f64 / val.as_secs_f64(),
        size / val.as_secs_f64(),
        cmd.as_secs_f64(),
    );
}

/// The README's transforms, for the columns of [`Format::CsvFrenchList`].
const FRENCH_LIST_MAPPING: &str = r#"
[fields]
manager = "{Prénom du gérant} {Nom du gérant}"

[split."Adresse complète"]
pattern = '^(?P<street1>.+?),?\s+(?P<zipCode>\d{5})\s+(?P<city>.+)$'
"#;

/// The same with a pattern the regex crate runs one-pass (each character leads one way: the
/// street is what precedes the comma, spaces are spaces), for lists that always write one.
const ONE_PASS_MAPPING: &str = r#"
[fields]
manager = "{Prénom du gérant} {Nom du gérant}"

[split."Adresse complète"]
pattern = '^(?P<street1>[^,]+),[ ]*(?P<zipCode>\d{5})[ ]+(?P<city>[^ ].*)$'
"#;

/// The French list with its two mapping files, and the command's (wall time, peak RSS) on it
/// with the README's.
struct FrenchList {
    list: PathBuf,
    maps: [(&'static str, PathBuf); 2],
    command: (Duration, f64),
}

impl FrenchList {
    /// Writes the list (once) and its mapping files, and runs the command on them.
    fn new(rows: u64) -> FrenchList {
        let list = gen::data_file("list-french", Format::CsvFrenchList, rows);
        let map = |name: &str, text: &str| {
            let path = list.with_file_name(format!("{name}.toml"));
            std::fs::write(&path, text).unwrap();
            path
        };
        let maps = [
            ("the README's", map("french-list", FRENCH_LIST_MAPPING)),
            ("one-pass", map("french-list-one-pass", ONE_PASS_MAPPING)),
        ];
        let command = command_with(&list, &["--map".as_ref(), maps[0].1.as_os_str()]);
        FrenchList {
            list,
            maps,
            command,
        }
    }

    /// The CSV bar on it: raw read against validate with each mapping's transforms.
    fn measure(&self, rows: u64, runs: usize, out: &mut impl Write) {
        let (list, (cmd, rss)) = (&self.list, self.command);
        let size = std::fs::metadata(list).unwrap().len() as f64 / 1e6;
        let plain = Paired::run(runs, || raw_csv(list), || pipeline(list));
        let _ = writeln!(
            out,
            "french list {rows} rows, {size:.0} MB: raw ByteRecord {:.2}s; validate without its \
             transforms (unmapped columns) {:.2}s = {}; the command with the README's \
             {:.2}s, peak RSS {rss:.0} MB (bar 100)",
            plain.raw.as_secs_f64(),
            plain.ours.as_secs_f64(),
            plain.ratio(),
            cmd.as_secs_f64(),
        );
        for (name, map) in &self.maps {
            let val = Paired::run(runs, || raw_csv(list), || pipeline_mapped(list, Some(map)));
            assert_eq!(val.n, rows);
            let _ = writeln!(
                out,
                "  with {name} transforms ([fields] manager, [split] address): validate {:.2}s \
                 ({:.0} rows/s) = {} (bar 50%)",
                val.ours.as_secs_f64(),
                rows as f64 / val.ours.as_secs_f64(),
                val.ratio(),
            );
        }
    }
}

/// The binary measured: `CUSTBULK_BIN`, else this build's (as the export bench does).
fn bin() -> std::ffi::OsString {
    std::env::var_os("CUSTBULK_BIN")
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_custbulk").into())
}

/// Runs `custbulk validate FILE` and returns (wall time, peak RSS in MB).
fn command(path: &Path) -> (Duration, f64) {
    command_with(path, &[])
}

/// [`command`] with more arguments.
#[allow(clippy::zombie_processes)] // reaped by wait4 below, which also gives its peak RSS
fn command_with(path: &Path, more: &[&std::ffi::OsStr]) -> (Duration, f64) {
    let t = Instant::now();
    let child = Command::new(bin())
        .args(["-q", "validate"])
        .arg(path)
        .args(more)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: wait4 writes only into the two values we pass; the child is ours and unwaited.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let elapsed = t.elapsed();
    assert!(pid > 0 && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) <= 1);
    (elapsed, usage.ru_maxrss as f64 / 1024.0)
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let rows = arg("--rows", 1_000_000);
    let xlsx_rows = arg("--xlsx-rows", 200_000);
    // Pairs of the raw read and validate (their median is the figure), and runs of the rest.
    let runs = arg("--runs", 5) as usize;
    let mut out = std::io::stdout().lock();
    if std::env::args().any(|a| a == "--ndjson") {
        let ndjson = gen::data_file("list", Format::Ndjson, rows);
        let ndjson_cmd = command(&ndjson);
        ndjson_case(&ndjson, ndjson_cmd, rows, runs, &mut out);
        return;
    }

    let csv = gen::data_file("list", Format::Csv, rows);
    let only_csv = std::env::args().any(|a| a == "--transforms" || a == "--csv");
    if std::env::args().any(|a| a == "--checks-only") {
        let _ = writeln!(
            out,
            "checks alone: {:.0} ns/row",
            checks_only(&csv, 200_000)
        );
        return;
    }
    // The commands first: a child's peak RSS includes this process's peak at the time it is
    // started (Linux carries it over exec), so this process must still be small.
    let (csv_cmd, csv_rss) = command(&csv);
    let french = FrenchList::new(rows);
    let xlsx = (!only_csv).then(|| gen::data_file("list", Format::Xlsx, xlsx_rows));
    let xlsx_cmd = xlsx.as_deref().map(command);
    let ndjson = (!only_csv).then(|| gen::data_file("list", Format::Ndjson, rows));
    let ndjson_cmd = ndjson.as_deref().map(command);

    let size = std::fs::metadata(&csv).unwrap().len() as f64 / 1e6;
    let (read, _) = best_of(runs, || read_only(&csv));
    let val = Paired::run(runs, || raw_csv(&csv), || pipeline(&csv));
    assert_eq!(val.n, rows);
    let per_row = checks_only(&csv, 200_000);
    let _ = writeln!(
        out,
        "csv  {rows} rows, 22 columns, {size:.0} MB: raw ByteRecord {:.2}s ({:.0} MB/s), custbulk read {:.2}s, \
         validate {:.2}s ({:.0} rows/s) = {} (bar 50%); command {:.2}s, peak RSS {csv_rss:.0} MB \
         (bar 100); checks alone {per_row:.0} ns/row",
        val.raw.as_secs_f64(),
        size / val.raw.as_secs_f64(),
        read.as_secs_f64(),
        val.ours.as_secs_f64(),
        rows as f64 / val.ours.as_secs_f64(),
        val.ratio(),
        csv_cmd.as_secs_f64(),
    );
    if std::env::args().any(|a| a == "--csv") {
        return;
    }
    french.measure(rows, runs, &mut out);
    let (Some(xlsx), Some((xlsx_cmd, xlsx_rss)), Some(ndjson), Some(ndjson_cmd)) =
        (xlsx, xlsx_cmd, ndjson, ndjson_cmd)
    else {
        return;
    };

    let (read, _) = best_of(runs, || read_only(&xlsx));
    let val = Paired::run(runs, || raw_xlsx(&xlsx), || pipeline(&xlsx));
    assert_eq!(val.n, xlsx_rows);
    let _ = writeln!(
        out,
        "xlsx {xlsx_rows} rows, 22 columns: raw calamine cells {:.2}s, custbulk read {:.2}s, validate {:.2}s \
         ({:.0} rows/s) = {} (bar 80%); command {:.2}s, peak RSS {xlsx_rss:.0} MB (bar 100)",
        val.raw.as_secs_f64(),
        read.as_secs_f64(),
        val.ours.as_secs_f64(),
        xlsx_rows as f64 / val.ours.as_secs_f64(),
        val.ratio(),
        xlsx_cmd.as_secs_f64(),
    );
    ndjson_case(&ndjson, ndjson_cmd, rows, runs, &mut out);
}
