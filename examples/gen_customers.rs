//! Writes a realistic customer list to try custbulk on, or to benchmark it:
//!
//! ```text
//! cargo run --release --example gen_customers -- --rows 1000000 --format csv customers.csv
//! cargo run --release --example gen_customers -- --rows 200000 --format xlsx customers.xlsx
//! cargo run --release --example gen_customers -- --rows 200000 --format xlsx --shared-strings s.xlsx
//! ```
//!
//! XLSX is written in constant-memory mode (inline strings) unless `--shared-strings` asks for
//! a shared-strings table, as Excel and LibreOffice write.

#[path = "../benches/gen/mod.rs"]
mod gen;

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rows = 1_000_000u64;
    let mut format = None;
    let mut out = None;
    let mut shared = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rows" => rows = args.next().ok_or("--rows needs a number")?.parse()?,
            "--shared-strings" => shared = true,
            "--format" => format = Some(args.next().ok_or("--format needs csv or xlsx")?),
            _ if out.is_none() => out = Some(PathBuf::from(arg)),
            _ => return Err(format!("unexpected argument {arg}").into()),
        }
    }
    let out =
        out.ok_or("usage: gen_customers [--rows N] [--format csv|xlsx] [--shared-strings] OUT")?;
    let format = format.unwrap_or_else(|| {
        out.extension()
            .and_then(|e| e.to_str())
            .unwrap_or("csv")
            .to_ascii_lowercase()
    });
    match format.as_str() {
        "csv" => gen::write_csv(&out, rows)?,
        "xlsx" if shared => gen::write_xlsx_shared_strings(&out, rows)?,
        "xlsx" => gen::write_xlsx(&out, rows)?,
        other => return Err(format!("unknown format {other}; use csv or xlsx").into()),
    }
    eprintln!("Wrote {rows} customers to {}.", out.display());
    Ok(())
}
