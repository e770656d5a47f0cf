//! `custbulk mapping FILE`: shows (and saves) how a sheet's columns map to customer fields.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use serde_json::json;

use crate::cmd::{Global, Output};
use crate::error::{self, Exit};
use crate::mapping::{self, MapFile, Mapping, Target};
use crate::read::{self, Row};
use crate::{info, warn};

/// How many data rows are looked at to find a sample value for each column.
const SAMPLE_ROWS: usize = 100;

const EXAMPLES: &str = "\
Examples:
  # Save the mapping, edit it, then validate with it:
  custbulk mapping clients.xlsx --write mapping.toml
  custbulk validate clients.xlsx --map mapping.toml";

/// Show how the columns of FILE map to customer fields, with a sample value from each, and the
/// columns that map to nothing. Two columns on one field, or no column mapped at all, is a
/// usage error (exit 2), shown after the table.
///
/// With --write, save the mapping as a TOML file to edit and pass back with --map.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub input: super::InputArgs,

    /// Save the mapping to this TOML file (overwritten if it exists).
    #[arg(long, value_name = "MAPPING.toml")]
    pub write: Option<PathBuf>,
}

pub fn run(global: &Global, args: Args) -> anyhow::Result<Exit> {
    let input = args.input.input();
    let file = input.map.as_deref().map(MapFile::load).transpose()?;
    let mut table = read::open(&input.file, &input.read_options(), &|cells| {
        mapping::is_header_with(cells, file.as_ref())
    })
    .map_err(crate::pipeline::open_error)?;
    for note in &table.notes {
        warn!("{note}");
    }
    let mapping = Mapping::infer(&table.headers, file.as_ref());
    let samples = samples(&mut table, mapping.columns.len())?;
    let mut out = std::io::stdout().lock();
    if global.output == Output::Json {
        let columns: Vec<_> = mapping
            .columns
            .iter()
            .map(|c| {
                json!({"column": c.letter, "header": c.header, "field": c.target.field_name(),
                       "target": target_word(c.target), "sample": samples[c.index]})
            })
            .collect();
        let unmapped: Vec<&str> = mapping.unmapped().map(|c| c.header.as_str()).collect();
        let v = json!({"file": table.file.display().to_string(), "sheet": table.sheet,
                       "header_row": table.header_row, "columns": columns, "unmapped": unmapped});
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        out.write_all(render(&table.location(), table.header_row, &mapping, &samples).as_bytes())?;
    }
    out.flush()?;
    for name in &mapping.missing_from_sheet {
        warn!(
            "the mapping file names the column {name:?}, which {} does not have",
            table.location()
        );
    }
    if let Some(path) = &args.write {
        std::fs::write(path, mapping.to_toml())
            .with_context(|| format!("cannot write the mapping file {}", path.display()))?;
        info!(
            "Wrote {}; edit it and pass it with --map {}.",
            path.display(),
            path.display()
        );
    }
    mapping
        .check()
        .map_err(|e| error::usage(format!("{}: {e}", table.location())))?;
    Ok(Exit::Ok)
}

/// The first non-blank value of each column among the first rows.
fn samples(table: &mut read::Table, width: usize) -> anyhow::Result<Vec<String>> {
    let mut samples = vec![String::new(); width];
    let mut row = Row::new();
    for _ in 0..SAMPLE_ROWS {
        if !table.next_row(&mut row)? {
            break;
        }
        for (sample, cell) in samples.iter_mut().zip(&row.cells) {
            let cell = crate::validate::coerce::cell_text(cell);
            if sample.is_empty() && !cell.is_empty() {
                *sample = cell.to_string();
            }
        }
        if samples.iter().all(|s| !s.is_empty()) {
            break;
        }
    }
    Ok(samples)
}

fn target_word(t: Target) -> String {
    match t {
        Target::Unmapped => String::new(),
        Target::Ignore(mapping::Ignored::Result) => "ignore (results column)".into(),
        Target::Ignore(mapping::Ignored::Action) => "(action per row)".into(),
        t => t.to_string(),
    }
}

/// The table people read: column, header, field, sample.
fn render(location: &str, header_row: u32, mapping: &Mapping, samples: &[String]) -> String {
    const SAMPLE_WIDTH: usize = 40;
    let rows: Vec<[String; 4]> = mapping
        .columns
        .iter()
        .map(|c| {
            let mut sample: String = samples[c.index].chars().take(SAMPLE_WIDTH).collect();
            if samples[c.index].chars().count() > SAMPLE_WIDTH {
                sample.push('…');
            }
            let field = match c.target {
                Target::Unmapped => "-".to_string(),
                t => target_word(t),
            };
            [c.letter.clone(), c.header.clone(), field, sample]
        })
        .collect();
    let titles = ["Column", "Header", "Field", "Sample"];
    let mut widths = titles.map(|t| t.chars().count());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut s = String::new();
    let _ = match header_row {
        // JSON has no header row.
        0 => writeln!(s, "{location}, the records' keys as headers:\n"),
        n => writeln!(s, "{location}, header on row {n}:\n"),
    };
    let line = |s: &mut String, cells: [&str; 4]| {
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i == 3 {
                let _ = write!(s, "{cell}");
            } else {
                let pad = w.saturating_sub(cell.chars().count());
                let _ = write!(s, "{cell}{}  ", " ".repeat(pad));
            }
        }
        s.push('\n');
    };
    line(&mut s, titles);
    for r in &rows {
        line(&mut s, [&r[0], &r[1], &r[2], &r[3]]);
    }
    let unmapped: Vec<String> = mapping
        .unmapped()
        .map(|c| format!("{} ({:?})", c.letter, c.header))
        .collect();
    if unmapped.is_empty() {
        s.push_str("\nEvery column is mapped.\n");
    } else {
        let _ = writeln!(
            s,
            "\nUnmapped, not imported (kept in the results file): {}.\nName them in a mapping file \
             to import them: custbulk mapping FILE --write mapping.toml",
            unmapped.join(", ")
        );
    }
    s
}
