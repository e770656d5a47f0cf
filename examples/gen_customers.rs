//! Writes a customer list like a real one (see `benches/gen/mod.rs`), to try custbulk on or to
//! benchmark it:
//!
//! ```text
//! cargo run --release --example gen_customers -- --rows 1000000 customers.csv
//! cargo run --release --example gen_customers -- --rows 200000 customers.xlsx
//! cargo run --release --example gen_customers -- --rows 200000 --shared-strings s.xlsx
//! cargo run --release --example gen_customers -- --rows 1000000 backup.ndjson
//! cargo run --release --example gen_customers -- --rows 1000000 --a-day-later later.ndjson
//! ```
//!
//! The format comes from `--format csv|xlsx|ndjson` or the file's extension. XLSX is written in
//! constant-memory mode (inline strings) unless `--shared-strings` asks for a shared-strings
//! table, as Excel and LibreOffice write. NDJSON is a backup as `custbulk export` writes one;
//! `--a-day-later` writes the same list's backup after a day of edits (1% changed, 0.5% gone,
//! 0.5% new), for `custbulk diff`. `--seed N` (default 42) chooses the list: the same seed
//! gives the same file.

#[path = "../benches/gen/mod.rs"]
mod gen;

use std::path::PathBuf;

use gen::Format;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rows = 1_000_000u64;
    let mut seed = gen::SEED;
    let mut format = None;
    let mut out = None;
    let (mut shared, mut later) = (false, false);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rows" => rows = args.next().ok_or("--rows needs a number")?.parse()?,
            "--seed" => seed = args.next().ok_or("--seed needs a number")?.parse()?,
            "--shared-strings" => shared = true,
            "--a-day-later" => later = true,
            "--format" => format = Some(args.next().ok_or("--format needs csv, xlsx or ndjson")?),
            _ if out.is_none() => out = Some(PathBuf::from(arg)),
            _ => return Err(format!("unexpected argument {arg}").into()),
        }
    }
    let out = out.ok_or(
        "usage: gen_customers [--rows N] [--seed N] [--format csv|xlsx|ndjson] \
         [--shared-strings] [--a-day-later] OUT",
    )?;
    let format = format.unwrap_or_else(|| {
        out.extension()
            .and_then(|e| e.to_str())
            .unwrap_or("csv")
            .to_ascii_lowercase()
    });
    let format = match format.as_str() {
        "csv" => Format::Csv,
        "xlsx" if shared => Format::XlsxSharedStrings,
        "xlsx" => Format::Xlsx,
        "ndjson" if later => Format::NdjsonADayLater,
        "ndjson" => Format::Ndjson,
        other => return Err(format!("unknown format {other}; use csv, xlsx or ndjson").into()),
    };
    gen::write(&out, format, rows, seed)?;
    eprintln!("Wrote {rows} customers to {}.", out.display());
    Ok(())
}
