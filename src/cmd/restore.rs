//! `custbulk restore BACKUP`: the flags, the confirmation a prune needs, then [`crate::restore`].

use std::path::PathBuf;

use crate::apply::UpdateWith;
use crate::cmd::Global;
use crate::error::Exit;
use crate::export::Progress;
use crate::lookup::Keys;
use crate::restore::{self, Plan};

const EXAMPLES: &str = "\
Examples:
  custbulk restore backup.ndjson --plan
  custbulk restore backup.ndjson
  custbulk restore backup.xlsx --prune
  custbulk restore backup.ndjson --resume
  custbulk undo backup.restore.journal
  custbulk restore backup.ndjson --journal /var/backups/restore.journal";

/// Make the account's customers equal a backup: update the ones that differ, create the ones
/// missing, and with --prune delete the ones the backup does not have.
///
/// The backup is any file `custbulk export` wrote (CSV, XLSX, JSON or NDJSON); it is checked
/// against its manifest first (a mismatch refuses, unless --force). Each record is matched to a
/// customer by id, else by --match-on (the SIRET by default). A customer that differs is
/// updated so that every field equals the backup's, including fields the backup lacks or has
/// empty, which are cleared. Journaled like an import, in NAME.restore.journal beside the
/// backup (NAME: the backup's name without its extension; a later restore of it writes
/// NAME.restore.2.journal, and so on: a journal is never overwritten): --resume continues it,
/// and `custbulk undo NAME.restore.journal` puts the account back as it was before that
/// restore.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The backup to restore.
    pub backup: PathBuf,

    /// Say what restore would do, with the fields each update changes; change nothing.
    #[arg(long, conflicts_with = "resume")]
    pub plan: bool,

    /// Delete the customers of the account that the backup does not have (they are kept, and
    /// counted `extra`, without it).
    #[arg(long)]
    pub prune: bool,

    /// Delete without asking (required to --prune when not run from a terminal).
    #[arg(long)]
    pub yes: bool,

    /// The keys that match a record to a customer when its id is not in the account, tried in
    /// order (`siret,name+zipCode`), compared as import compares them.
    #[arg(long, value_name = "KEYS", default_value = "siret")]
    pub match_on: Keys,

    /// Restore a backup that does not match its manifest, or whose records cannot all be read
    /// (then not with --prune).
    #[arg(long)]
    pub force: bool,

    /// How updates are sent (default: as the API profile says, else PATCH).
    #[arg(long, value_enum)]
    pub update_with: Option<UpdateWith>,

    /// The results file (default: NAME.restore.results.csv beside the backup).
    #[arg(long, value_name = "FILE")]
    pub results: Option<PathBuf>,

    /// The journal (default: NAME.restore.journal beside the backup, NAME its name without
    /// its extension). A journal holding an earlier restore is never overwritten: the next
    /// run writes NAME.restore.2.journal, and so on.
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,

    /// With --resume: go on past damaged journal lines, looking up every row without a `done`.
    #[arg(long, requires = "resume")]
    pub repair: bool,

    /// Records per page to ask for when listing the account.
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub page_size: u64,

    #[command(flatten)]
    pub changes: super::Changes,
}

pub async fn run(global: &Global, args: Args) -> anyhow::Result<Exit> {
    let plan = Plan::new(restore::Options {
        backup: args.backup.clone(),
        plan: args.plan,
        prune: args.prune,
        match_on: args.match_on.clone(),
        force: args.force,
        update_with: args.update_with,
        results: args.results.clone(),
        journal: args.journal.clone(),
        run: args.changes.settings(args.repair),
        page_size: args.page_size,
    })?;
    let connection = super::connect::connect(global, args.changes.load.client_options()).await?;
    let plan = plan.with_writes(connection.writes());
    let listing = Progress::new(super::progress(global));
    let matched = restore::match_live(plan, &connection.client, &listing).await;
    listing.finish();
    let matched = matched?;
    if matched.prunes() && !args.yes {
        super::confirm_deletes("restore", || {
            let n = matched.extras();
            Ok((n > 0).then(|| {
                format!("This will delete {n} customer(s) that the backup does not have.")
            }))
        })?;
    }
    let report = restore::run(
        matched,
        &connection.client,
        super::session(global, Some(&connection.client)),
    )
    .await?;
    super::finish(global, report)
}
