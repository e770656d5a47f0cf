//! `custbulk verify`: check a backup against its manifest, from the file alone (no network).

use std::path::PathBuf;

use crate::cmd::{Global, Output};
use crate::error::Exit;
use crate::export::manifest;

const EXAMPLES: &str = "\
Examples:
  custbulk verify backup.xlsx
  custbulk verify backup.csv --output json";

/// Check an export against its manifest: the file's size, sha256 and record count must be what
/// FILE.manifest.json says. Exits 0 when they match, 1 when they do not (the message says what
/// differs), 3 when the file or the manifest cannot be read.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The exported file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// The manifest to check against (default: FILE.manifest.json).
    #[arg(long, value_name = "MANIFEST")]
    pub manifest: Option<PathBuf>,
}

pub fn run(global: &Global, args: Args) -> anyhow::Result<Exit> {
    let manifest = args
        .manifest
        .unwrap_or_else(|| manifest::path_for(&args.file));
    let verdict = manifest::verify(&args.file, &manifest)?;
    match global.output {
        // Only what is wrong, as errors.
        _ if global.quiet => {
            for problem in &verdict.problems {
                eprintln!(
                    "error: {} does not match {}: {problem}",
                    verdict.file, verdict.manifest
                );
            }
        }
        Output::Json => println!("{}", serde_json::to_string_pretty(&verdict)?),
        Output::Text if verdict.ok => println!(
            "{}: OK, {} records, {} bytes, sha256 {} as the manifest says.",
            verdict.file, verdict.expected_records, verdict.bytes, verdict.sha256
        ),
        Output::Text => {
            println!(
                "{} does NOT match its manifest {}:",
                verdict.file, verdict.manifest
            );
            for problem in &verdict.problems {
                println!("  {problem}");
            }
        }
    }
    Ok(if verdict.ok {
        Exit::Ok
    } else {
        Exit::SomeRowsFailed
    })
}
