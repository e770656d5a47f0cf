//! `custbulk check`: a read-only probe of the configured API.

use crate::cli::Global;
use crate::error::Exit;

/// Probe the API read-only: reachability, auth, list envelope, id field, paging.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_global: &Global, _args: Args) -> anyhow::Result<Exit> {
    todo!()
}
