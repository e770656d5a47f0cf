//! `custbulk completions SHELL`: shell completion scripts on stdout.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::Exit;

/// Print a completion script for SHELL, e.g. `custbulk completions bash > ~/.local/share/bash-completion/completions/custbulk`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// bash, zsh, fish, elvish or powershell.
    pub shell: Shell,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "custbulk", &mut std::io::stdout());
    Ok(Exit::Ok)
}
