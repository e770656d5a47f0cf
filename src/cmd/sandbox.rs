//! `custbulk sandbox`: serve the local emulator of the Customers API.

use crate::cli::Global;
use crate::error::Exit;

/// Serve a local emulator of the Customers API (for trying custbulk and for tests).
#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_global: &Global, _args: Args) -> anyhow::Result<Exit> {
    todo!()
}
