//! `custbulk validate FILE`: the dry run people make before every import.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::annotate::Annotator;
use crate::api::ClientOptions;
use crate::cmd::{Global, Output};
use crate::error::Exit;
use crate::mapping::{Ignored, Target};
use crate::pipeline::Pipeline;
use crate::report::{self, ProblemLog};
use crate::validate::server::Against;
use crate::validate::{Checked, ValidateOptions};
use crate::warn;

const EXAMPLES: &str = "\
Examples:
  custbulk validate clients.xlsx --sheet Clients --report problems.csv
  custbulk validate clients.csv --annotate clients-annotated.xlsx
  custbulk validate clients.csv --mode upsert --match-on siret,name+zipCode --server";

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
    pub rows: super::RowFlags,

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

    /// Also read the customers on the server (read only, once): warn of rows that would
    /// create a likely duplicate of one (naming it and what matched), and of keys that find
    /// nobody or two customers. Needs the API key, or --sandbox.
    #[arg(long)]
    pub server: bool,
}

/// The `--annotate` writer, laid out like the input (sheet name, header row).
fn annotator(args: &Args, pipeline: &Pipeline) -> anyhow::Result<Option<Annotator>> {
    let Some(path) = &args.annotate else {
        return Ok(None);
    };
    let mut a = Annotator::create(path, pipeline.headers(), false)?;
    a.match_source(pipeline.source());
    a.right_to_left(pipeline.mapping().right_to_left_columns());
    Ok(Some(a))
}

/// `--server`: the server's customers, read once before the rows. The validation itself is
/// synchronous, so the reading runs on the runtime from here.
fn against(global: &Global, args: &Args, pipeline: &Pipeline) -> anyhow::Result<Against> {
    let actions = pipeline
        .mapping()
        .columns
        .iter()
        .any(|c| c.target == Target::Ignore(Ignored::Action));
    let read = async {
        let connection = super::connect::connect(global, ClientOptions::default()).await?;
        Against::read(
            &connection.client,
            pipeline.mapping(),
            pipeline.keys(),
            args.rows.mode,
            actions,
            &args.rows.input.file,
        )
        .await
        .context("cannot list the customers on the server")
    };
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| handle.block_on(read))
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
    let against = match args.server {
        true => Some(against(global, &args, &pipeline)?),
        false => None,
    };
    let mut log = ProblemLog::new(json, args.report.as_deref())?;
    let mut annotated = annotator(&args, &pipeline)?;
    let progress = super::progress(global);
    progress.start_reading("rows", pipeline.source().extent());
    let mut row = Checked::new();
    while pipeline.next(&mut row)? {
        progress.inc(1);
        if let Some(against) = &against {
            let found = against.check(&row)?;
            pipeline.add_warnings(found.len() as u64);
            row.problems.extend(found);
        }
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
    if global.quiet {
        report::write_errors(&mut std::io::stderr().lock(), pipeline.source(), &log)?;
    } else if json {
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
