//! `custbulk undo JOURNAL`: the flags, then the undo engine.

use std::path::PathBuf;

use crate::apply::UpdateWith;
use crate::cmd::Global;
use crate::error::Exit;
use crate::undo::{self, Plan};

const EXAMPLES: &str = "\
Examples:
  custbulk undo clients.journal --plan
  custbulk undo clients.journal
  custbulk undo clients.journal --yes        # not from a terminal: deletes without asking
  custbulk undo clients.journal --resume";

/// Reverse an import: delete the customers it created, restore the ones it updated to their
/// values before it, and create again the ones it deleted (they get new ids).
///
/// A customer changed by someone else since the import is reported as a conflict and left
/// alone, unless --force. Deleting the customers the import created needs a yes: typed at a
/// terminal, or --yes. Results go to JOURNAL-NAME.undo.results.csv; undo keeps its own
/// journal (JOURNAL-NAME.undo.journal), so --resume continues an interrupted undo. An undo holds
/// both journals while it runs: no import resumes the one it reads.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The journal an import wrote (NAME.journal beside its input by default).
    pub journal: PathBuf,

    /// Say what undo would do, change nothing.
    #[arg(long, conflicts_with = "resume")]
    pub plan: bool,

    /// Undo even customers changed since the import (their later changes are lost).
    #[arg(long)]
    pub force: bool,

    /// How updated customers are restored: PATCH the changed fields back, or PUT the whole
    /// record as it was. Default: as the API profile says (`custbulk check --write --save`),
    /// else PATCH.
    #[arg(long, value_enum)]
    pub restore_with: Option<UpdateWith>,

    #[command(flatten)]
    pub changes: super::Changes,

    /// The results file (default: beside the journal, NAME.undo.results.csv).
    #[arg(long, value_name = "FILE")]
    pub results: Option<PathBuf>,

    /// Go on past journal lines that cannot be read (without it they stop the undo): the
    /// change on a damaged line of the import's journal, if any, is not undone.
    #[arg(long)]
    pub repair: bool,

    /// Delete without asking: undo deletes the customers the import created, and asks first
    /// on a terminal; not run from a terminal, it needs --yes (as import --mode delete and
    /// restore --prune do).
    #[arg(long)]
    pub yes: bool,
}

pub async fn run(global: &Global, args: Args) -> anyhow::Result<Exit> {
    let plan = Plan::new(undo::Options {
        journal: args.journal.clone(),
        plan: args.plan,
        force: args.force,
        restore_with: args.restore_with,
        results: args.results,
        run: args.changes.settings(args.repair),
    })?;
    if plan.may_delete() && !args.yes {
        super::confirm_deletes("undo", || {
            let count = plan.count_deletes()?;
            Ok((count > 0).then(|| {
                format!("This undo deletes up to {count} customer(s) the import created.")
            }))
        })?;
    }
    let connection = super::connect::connect(global, args.changes.load.client_options()).await?;
    let plan = plan.with_writes(connection.writes());
    let report = undo::run(
        plan,
        &connection.client,
        super::session(global, Some(&connection.client)),
    )
    .await?;
    super::finish(global, report)
}
