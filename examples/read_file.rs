//! Reads a file with custbulk's reader and prints the header, the row count and the time:
//! a quick check of what `read` makes of a file, and a target for profilers.
//!
//! ```text
//! cargo run --release --example read_file -- customers.csv
//! cargo run --release --example read_file -- --raw customers.xlsx   # calamine/csv alone
//! ```

use std::time::Instant;

use custbulk::read::{self, ReadOptions, Row};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let raw = args.iter().any(|a| a == "--raw");
    let Some(path) = args.iter().find(|a| *a != "--raw").cloned() else {
        eprintln!("usage: read_file [--raw] FILE");
        std::process::exit(2);
    };
    let start = Instant::now();
    if raw {
        let rows = raw_read(&path);
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{rows} rows (raw) in {secs:.3} s = {:.0} rows/s",
            rows as f64 / secs
        );
        return;
    }
    let mut table = match read::open(path.as_ref(), &ReadOptions::default(), &|c| c.len() >= 2) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(3);
        }
    };
    println!("{table:?}");
    let mut row = Row::new();
    let (mut rows, mut blank, mut ragged) = (0u64, 0u64, 0u64);
    loop {
        match table.next_row(&mut row) {
            Ok(true) => {
                rows += 1;
                blank += u64::from(row.is_blank());
                ragged += u64::from(row.ragged.is_some());
            }
            Ok(false) => break,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(3);
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{rows} rows ({blank} blank, {ragged} ragged) in {secs:.3} s = {:.0} rows/s",
        rows as f64 / secs
    );
}

/// The parsers alone, as the benchmark's baselines run them.
fn raw_read(path: &str) -> u64 {
    use calamine::Reader;
    if path.ends_with(".xlsx") {
        let mut wb: calamine::Xlsx<_> = calamine::open_workbook(path).expect("xlsx");
        let sheet = wb.sheet_names()[0].clone();
        let mut cells = wb.worksheet_cells_reader(&sheet).expect("sheet");
        let mut last = 0;
        while let Some(cell) = cells.next_cell().expect("cell") {
            last = cell.get_position().0;
        }
        u64::from(last) + 1
    } else {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(b';')
            .from_path(path)
            .expect("csv");
        let mut record = csv::ByteRecord::new();
        let mut rows = 0;
        while rdr.read_byte_record(&mut record).expect("record") {
            rows += 1;
        }
        rows
    }
}
