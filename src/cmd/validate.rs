//! `custbulk validate FILE`: the dry run people make before every import.

use std::io::Write as _;
use std::path::PathBuf;

use crate::annotate::Annotator;
use crate::cmd::{Global, Output};
use crate::error::Exit;
use crate::pipeline::Pipeline;
use crate::report::{self, ProblemLog};
use crate::validate::{Checked, ValidateOptions};
use crate::warn;

const EXAMPLES: &str = "\
Examples:
  custbulk validate clients.xlsx --sheet Clients --report problems.csv
  custbulk validate clients.csv --annotate clients-annotated.xlsx";

/// Check a customer list without sending anything: how its columns map to customer fields,
/// and every cell that would be refused (errors) or looks wrong (warnings).
///
/// Exits with 0 when no row has an error (warnings are fine), 1 when some rows do, 2 for a
/// usage or mapping mistake (two columns on one field, a bad mapping file), 3 when the file
/// cannot be read.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub rows: super::Rows,

    /// Write every problem to this CSV file (row, column, header, field, severity, message,
    /// value).
    #[arg(long, value_name = "PROBLEMS.csv")]
    pub report: Option<PathBuf>,

    /// Write a copy of the sheet with every problem shown on its cell (red errors, amber
    /// warnings, a note with the message) and a Problems column; fix it there and import it
    /// as it is.
    #[arg(long, value_name = "OUT.xlsx")]
    pub annotate: Option<PathBuf>,

    /// text for people, json for scripts (the same as --output json).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// The `--annotate` writer, laid out like the input (sheet name, header row).
fn annotator(args: &Args, pipeline: &Pipeline) -> anyhow::Result<Option<Annotator>> {
    let Some(path) = &args.annotate else {
        return Ok(None);
    };
    let mut a = Annotator::create(path, pipeline.headers(), false)?;
    a.match_source(pipeline.source());
    Ok(Some(a))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(global: &Global, args: Args) -> anyhow::Result<Exit> {
    let json = args.format == Format::Json || global.output == Output::Json;
    let opts = ValidateOptions {
        mode: args.rows.mode,
        match_on: args.rows.match_on.clone(),
    };
    let mut pipeline = Pipeline::open(&args.rows.input.input(), &opts)?;
    for note in &pipeline.source().notes {
        warn!("{note}");
    }
    for name in &pipeline.mapping().missing_from_sheet {
        warn!(
            "the mapping file names the column {name:?}, which {} does not have",
            pipeline.source().location()
        );
    }
    let mut log = ProblemLog::new(json, args.report.as_deref())?;
    let mut annotated = annotator(&args, &pipeline)?;
    let progress = super::progress(global);
    progress.start_reading("rows", pipeline.source().extent());
    let mut row = Checked::new();
    while pipeline.next(&mut row)? {
        progress.inc(1);
        if !row.problems.is_empty() {
            log.add(&row.problems)?;
        }
        if let Some(a) = &mut annotated {
            a.row(row.row, &row.cells, &row.problems, None)?;
        }
    }
    progress.finish();
    log.finish()?;
    if let Some(a) = annotated {
        a.finish()?;
    }
    let counts = *pipeline.counts();
    let mut stdout = std::io::stdout().lock();
    if json {
        let summary = report::json_summary(pipeline.source(), pipeline.mapping(), &counts, &log);
        serde_json::to_writer_pretty(&mut stdout, &summary)?;
        writeln!(stdout)?;
    } else {
        report::write_text(
            &mut stdout,
            pipeline.source(),
            pipeline.mapping(),
            &counts,
            &log,
        )?;
    }
    stdout.flush()?;
    Ok(if counts.invalid > 0 {
        Exit::SomeRowsFailed
    } else {
        Exit::Ok
    })
}
