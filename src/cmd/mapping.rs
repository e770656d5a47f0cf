//! `custbulk mapping FILE`: shows (and saves) how a sheet's columns map to customer fields.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use serde_json::json;

use crate::cmd::{Global, Output};
use crate::error::{self, Exit};
use crate::mapping::{self, MapFile, Mapping, Target};
use crate::read;
use crate::validate::sample::{Samples, SAMPLE_ROWS};
use crate::{info, warn};

const EXAMPLES: &str = "\
Examples:
  # Save the mapping, edit it, then validate with it:
  custbulk mapping clients.xlsx --write mapping.toml
  custbulk validate clients.xlsx --map mapping.toml";

/// Show how the columns of FILE map to customer fields, with a sample value from each, and the
/// columns that map to nothing; with --map, each field the mapping file makes from columns
/// ([fields], [split]) with what it makes of a row. Two columns on one field, or no column
/// mapped at all, is a usage error (exit 2), shown after the table.
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
    let samples = Samples::read(&mut table, &mapping, 1)?;
    let mut out = std::io::stdout().lock();
    if global.quiet {
        // Nothing but errors: the checks below.
    } else if global.output == Output::Json {
        let columns: Vec<_> = mapping
            .columns
            .iter()
            .map(|c| {
                json!({"column": c.letter, "header": c.header, "field": c.target.field_name(),
                       "target": target_word(&mapping, c), "sample": samples.first(c.index)})
            })
            .collect();
        let transforms: Vec<_> = mapping
            .transforms
            .iter()
            .zip(&samples.made)
            .map(|(t, sample)| {
                let fields: Vec<&str> = t.fields().iter().map(|f| f.name).collect();
                let (made, error) = match sample {
                    Some(Ok(values)) => {
                        let pairs = fields.iter().zip(values);
                        let made: serde_json::Map<_, _> =
                            pairs.map(|(f, v)| (f.to_string(), json!(v))).collect();
                        (Some(made), None)
                    }
                    Some(Err(e)) => (None, Some(e)),
                    None => (None, None),
                };
                json!({"transform": t.written(), "fields": fields, "sample": made,
                       "sample_error": error})
            })
            .collect();
        let unmapped: Vec<&str> = mapping.unmapped().map(|c| c.header.as_str()).collect();
        let v = json!({"file": table.file.display().to_string(), "sheet": table.sheet,
                       "header_row": table.header_row, "columns": columns,
                       "transforms": transforms, "unmapped": unmapped});
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

/// What a column feeds, in words.
fn target_word(mapping: &Mapping, c: &mapping::Column) -> String {
    match c.target {
        Target::Unmapped => String::new(),
        Target::Ignore(mapping::Ignored::Result) => "ignore (results column)".into(),
        Target::Ignore(mapping::Ignored::Action) => "(action per row)".into(),
        Target::Transform => {
            let fields = mapping.transform_reading(c.index).map(|t| {
                t.fields()
                    .iter()
                    .map(|f| f.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            format!("→ {}", fields.unwrap_or_default())
        }
        t => t.to_string(),
    }
}

/// The table people read: column, header, field, sample; then the transforms.
fn render(location: &str, header_row: u32, mapping: &Mapping, samples: &Samples) -> String {
    const SAMPLE_WIDTH: usize = 40;
    let rows: Vec<[String; 4]> = mapping
        .columns
        .iter()
        .map(|c| {
            let value = samples.first(c.index);
            let mut sample: String = value.chars().take(SAMPLE_WIDTH).collect();
            if value.chars().count() > SAMPLE_WIDTH {
                sample.push('…');
            }
            let field = match c.target {
                Target::Unmapped => "-".to_string(),
                _ => target_word(mapping, c),
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
    write_transforms(&mut s, mapping, samples);
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

/// Each transform as the mapping file writes it, and what it makes of the first row it reads.
fn write_transforms(s: &mut String, mapping: &Mapping, samples: &Samples) {
    if mapping.transforms.is_empty() {
        return;
    }
    s.push_str("\nFields made from columns, with what they make of the first row that has them:\n");
    for (t, sample) in mapping.transforms.iter().zip(&samples.made) {
        let _ = writeln!(s, "  {}", t.written());
        let made = match sample {
            Some(Ok(values)) => t
                .fields()
                .iter()
                .zip(values)
                .map(|(f, v)| format!("{} = {v:?}", f.name))
                .collect::<Vec<_>>()
                .join(", "),
            Some(Err(why)) => why.clone(),
            None => format!("(its cells are blank in the first {SAMPLE_ROWS} rows)"),
        };
        let _ = writeln!(s, "    → {made}");
    }
}
