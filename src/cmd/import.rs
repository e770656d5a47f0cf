//! `custbulk import FILE`: the flags, the confirmation a delete needs, then the import engine.

use std::path::PathBuf;

use crate::api::ClientOptions;
use crate::apply::UpdateWith;
use crate::cmd::Global;
use crate::error::Exit;
use crate::import::{self, Blank, Plan};
use crate::lookup::duplicates::OnDuplicate;

const EXAMPLES: &str = "\
Examples:
  custbulk import customers.xlsx --sandbox
  custbulk import clients.csv --mode upsert --match-on siret --concurrency 16
  custbulk import clients.csv --mode upsert --match-on siret,name+zipCode --plan
  custbulk import clients.csv --on-duplicate skip
  custbulk import clients.csv --resume";

/// Import a sheet into the Customers API: create or update one customer per valid row.
///
/// Every row ends in exactly one outcome in the results file (NAME.results.csv beside the
/// input): created, updated, unchanged, invalid, failed or skipped. Invalid and failed rows also
/// go to NAME.failed.csv, ready to fix and import again. A journal written ahead of every request
/// lets `--resume` continue after a crash or Ctrl-C without losing or duplicating a customer;
/// one run at a time holds the journal, and a second is refused.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub rows: super::Rows,

    /// How updates are sent: PATCH the changed fields, or PUT the whole record. Default: as
    /// the API profile says (`custbulk check --write --save`), else PATCH.
    #[arg(long, value_enum)]
    pub update_with: Option<UpdateWith>,

    /// What a blank cell means on update.
    #[arg(long, value_enum, default_value_t = Blank::Keep)]
    pub blank: Blank,

    /// What a row that would create a customer does when one already there is likely the
    /// same (same SIRET, or same --match-on key; or same name, legal forms and accents aside,
    /// and same postcode or city). By default a row whose SIRET (or --match-on key) finds a
    /// customer is left out (`skipped-duplicate`, the customer's id in _note) and one that
    /// only resembles a customer by name is created and said in _note; and a create whose
    /// first 100 rows are mostly likely duplicates stops before sending any (exit 3: use
    /// --mode upsert). `create` creates them all anyway, `skip` leaves out every likely
    /// duplicate, `update` updates the customer instead.
    #[arg(long, value_enum, default_value_t = OnDuplicate::SkipSameKey)]
    pub on_duplicate: OnDuplicate,

    #[command(flatten)]
    pub changes: super::Changes,

    /// The results file (default: NAME.results.csv beside the input).
    #[arg(long, value_name = "FILE")]
    pub results: Option<PathBuf>,

    /// The journal (default: NAME.journal beside the input). A journal holding an earlier
    /// run is never overwritten: the next run writes NAME.2.journal, and so on.
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,

    /// With --resume, go on past journal lines that cannot be read (without it they stop the
    /// run): every row without a `done` line is then looked up before anything is sent.
    #[arg(long, requires = "resume")]
    pub repair: bool,

    /// Ask the server (read only) and say what each row would do; change nothing.
    #[arg(long, conflicts_with_all = ["resume", "dry_run"])]
    pub plan: bool,

    /// Validate only; no network.
    #[arg(long)]
    pub dry_run: bool,

    /// Delete without asking (required to delete when not run from a terminal).
    #[arg(long)]
    pub yes: bool,

    /// In delete mode, a row whose customer does not exist is a failure, not `not-found`.
    #[arg(long)]
    pub strict: bool,

    /// Where list responses keep their records, as a dotted path, when detection fails.
    #[arg(long, value_name = "PATH")]
    pub items_path: Option<String>,

    /// Also write the input as XLSX with every problem cell marked and noted, and each row's
    /// outcome and id, to fix and import again.
    #[arg(long, value_name = "OUT.xlsx")]
    pub annotate: Option<PathBuf>,
}

impl Args {
    fn options(&self) -> import::Options {
        import::Options {
            input: self.rows.input.input(),
            mode: self.rows.mode,
            match_on: self.rows.match_on.clone(),
            on_duplicate: self.on_duplicate,
            update_with: self.update_with,
            blank: self.blank,
            results: self.results.clone(),
            journal: self.journal.clone(),

            plan: self.plan,
            dry_run: self.dry_run,
            strict: self.strict,
            annotate: self.annotate.clone(),
            run: self.changes.settings(self.repair),
        }
    }
}

pub async fn run(global: &Global, args: Args) -> anyhow::Result<Exit> {
    // Parse, then plan: everything that can be refused is refused before any request.
    let plan = Plan::new(args.options())?;
    if plan.may_delete() && !args.yes {
        super::confirm_deletes("import", || {
            let count = plan.count_deletes()?;
            Ok((count > 0).then(|| {
                format!("This will delete up to {count} customer(s) from the API (one per row).")
            }))
        })?;
    }
    let connection = if plan.needs_network() {
        let options = ClientOptions {
            items_path: args.items_path.clone(),
            ..args.changes.load.client_options()
        };
        Some(super::connect::connect(global, options).await?)
    } else {
        None
    };
    let plan = match &connection {
        Some(connection) => plan.with_writes(connection.writes()),
        None => plan,
    };
    let client = connection.as_ref().map(|c| &c.client);
    let report = import::run(plan, client, super::session(global, client)).await?;
    super::finish(global, report)
}
