//! The validate pipeline's speed against the raw readers, on the same files, in one run.
//!
//! Bars (DESIGN.md, issue 3): a 1,000,000-row, 19-column CSV validated at ≥ 50% of the csv
//! crate's raw `ByteRecord` read; a 200,000-row XLSX at ≥ 80% of calamine's raw streaming
//! cell read; peak RSS ≤ 100 MB for the `custbulk validate` process on both.
//!
//! `cargo bench --bench validate` (add `-- --rows N --xlsx-rows M` for other sizes). Files are
//! generated once under `target/bench-data/`.

use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use custbulk::pipeline::{Input, Pipeline};
use custbulk::report::ProblemLog;
use custbulk::validate::{Checked, ValidateOptions};

/// The 19 columns: 16 plain fields and one contact as three columns.
const HEADERS: [&str; 19] = [
    "Raison sociale",
    "Société",
    "Capital social",
    "Gérant",
    "Nom (arabe)",
    "Adresse (arabe)",
    "Adresse 1",
    "Adresse 2",
    "Code postal",
    "Ville",
    "N° SIRET",
    "RCS",
    "UN number",
    "Statut",
    "Objet",
    "Catégorie",
    "Contact 1 Nom",
    "Contact 1 Email",
    "Contact 1 Téléphone",
];

fn luhn_digit(first13: &str) -> u8 {
    // The check digit that makes the 14 digits pass Luhn.
    (0..10u8)
        .find(|d| {
            let s = format!("{first13}{d}");
            let sum: u32 = s
                .bytes()
                .rev()
                .enumerate()
                .map(|(i, b)| {
                    let d = (b - b'0') as u32;
                    if i % 2 == 1 {
                        let d = d * 2;
                        if d > 9 {
                            d - 9
                        } else {
                            d
                        }
                    } else {
                        d
                    }
                })
                .sum();
            sum % 10 == 0
        })
        .unwrap_or(0)
}

fn row(i: u64) -> [String; 19] {
    let siren = format!("{:09}", 100_000_000 + i);
    let base = format!("{siren}{:04}", i % 10_000);
    let siret = format!("{base}{}", luhn_digit(&base));
    [
        format!("Société Exemple {i}"),
        if i % 3 == 0 { "non" } else { "oui" }.into(),
        format!("{} 000", 1 + i % 997),
        format!("Gérant {}", i % 5000),
        format!("شركة المثال {i}"),
        format!("{} شارع الجمهورية، باريس", 1 + i % 200),
        format!("{} rue de la République", 1 + i % 200),
        if i % 4 == 0 {
            "Bâtiment B".into()
        } else {
            String::new()
        },
        format!("{:05}", 1000 + (i * 37) % 95_000),
        [
            "Paris",
            "Lyon",
            "Bourg-en-Bresse",
            "Orléans",
            "Saint-Étienne",
        ][(i % 5) as usize]
            .into(),
        siret,
        format!(
            "RCS Paris B {} {} {}",
            &siren[..3],
            &siren[3..6],
            &siren[6..]
        ),
        format!("{}", 1000 + i % 3000),
        if i % 7 == 0 { "inactif" } else { "actif" }.into(),
        "Fournitures".into(),
        ["boulangerie", "garage", "conseil"][(i % 3) as usize].into(),
        format!("Contact {i}"),
        format!("contact{i}@example.fr"),
        "+33 1 23 45 67 89".into(),
    ]
}

fn gen_csv(path: &Path, rows: u64) {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(BufWriter::new(std::fs::File::create(path).unwrap()));
    w.write_record(HEADERS).unwrap();
    for i in 0..rows {
        w.write_record(row(i)).unwrap();
    }
    w.flush().unwrap();
}

fn gen_xlsx(path: &Path, rows: u64) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet_with_constant_memory();
    let sheet = sheet.unwrap();
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for i in 0..rows {
        let r = (i + 1) as u32;
        for (c, v) in row(i).iter().enumerate() {
            // Capital and UN number as numbers, like a real sheet.
            if c == 12 {
                sheet
                    .write_number(r, c as u16, v.parse::<f64>().unwrap())
                    .unwrap();
            } else if !v.is_empty() {
                sheet.write_string(r, c as u16, v).unwrap();
            }
        }
    }
    book.save(path).unwrap();
}

fn data_file(name: &str, rows: u64, gen: fn(&Path, u64)) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    if !path.exists() {
        eprintln!("generating {} ({rows} rows)...", path.display());
        let tmp = path.with_extension("tmp");
        gen(&tmp, rows);
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}

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

/// The validate command's path minus printing: pipeline, problem log, counts.
fn pipeline(path: &Path) -> u64 {
    let input = Input {
        file: path.to_path_buf(),
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
    let c = p.counts();
    assert_eq!(c.invalid, 0, "the generated file should be valid");
    c.rows
}

/// Runs `custbulk validate FILE` and returns (wall time, peak RSS in MB).
#[allow(clippy::zombie_processes)] // reaped by wait4 below, which also gives its peak RSS
fn command(path: &Path) -> (Duration, f64) {
    let t = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_custbulk"))
        .args(["-q", "validate"])
        .arg(path)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: wait4 writes only into the two values we pass; the child is ours and unwaited.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let elapsed = t.elapsed();
    assert!(pid > 0 && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
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
    let runs = arg("--runs", 3) as usize;
    let mut out = std::io::stdout().lock();

    let csv = data_file(&format!("customers-{rows}.csv"), rows, gen_csv);
    let size = std::fs::metadata(&csv).unwrap().len() as f64 / 1e6;
    let (raw, _) = best_of(runs, || raw_csv(&csv));
    let (read, _) = best_of(runs, || read_only(&csv));
    let (val, n) = best_of(runs, || pipeline(&csv));
    assert_eq!(n, rows);
    let (cmd, rss) = command(&csv);
    let _ = writeln!(
        out,
        "csv  {rows} rows, 19 columns, {size:.0} MB: raw ByteRecord {:.2}s ({:.0} MB/s), custbulk read {:.2}s, validate {:.2}s ({:.0} rows/s) = {:.0}% of raw (bar 50%); command {:.2}s, peak RSS {rss:.0} MB (bar 100)",
        raw.as_secs_f64(),
        size / raw.as_secs_f64(),
        read.as_secs_f64(),
        val.as_secs_f64(),
        rows as f64 / val.as_secs_f64(),
        100.0 * raw.as_secs_f64() / val.as_secs_f64(),
        cmd.as_secs_f64(),
    );

    let xlsx = data_file(&format!("customers-{xlsx_rows}.xlsx"), xlsx_rows, gen_xlsx);
    let (raw, _) = best_of(runs, || raw_xlsx(&xlsx));
    let (read, _) = best_of(runs, || read_only(&xlsx));
    let (val, n) = best_of(runs, || pipeline(&xlsx));
    assert_eq!(n, xlsx_rows);
    let (cmd, rss) = command(&xlsx);
    let _ = writeln!(
        out,
        "xlsx {xlsx_rows} rows, 19 columns: raw calamine cells {:.2}s, custbulk read {:.2}s, validate {:.2}s ({:.0} rows/s) = {:.0}% of raw (bar 80%); command {:.2}s, peak RSS {rss:.0} MB (bar 100)",
        raw.as_secs_f64(),
        read.as_secs_f64(),
        val.as_secs_f64(),
        xlsx_rows as f64 / val.as_secs_f64(),
        100.0 * raw.as_secs_f64() / val.as_secs_f64(),
        cmd.as_secs_f64(),
    );
}
