//! Reads a file with custbulk's reader and prints the header, the row count and the time:
//! a quick check of what `read` makes of a file, and a target for profilers.
//!
//! ```text
//! cargo run --release --example read_file -- customers.csv
//! ```

use std::time::Instant;

use custbulk::read::{self, ReadOptions, Row};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: read_file FILE");
        std::process::exit(2);
    };
    let start = Instant::now();
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
