//! `custbulk completions SHELL`: shell completion scripts on stdout.

use clap_complete::Shell;

use crate::error::Exit;

/// Print a completion script for SHELL, e.g. `custbulk completions bash > ~/.local/share/bash-completion/completions/custbulk`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// bash, zsh, fish, elvish or powershell.
    pub shell: Shell,
}

/// Prints the script for `command`, the whole command line (which only `cli` knows).
pub fn run(args: Args, mut command: clap::Command) -> anyhow::Result<Exit> {
    clap_complete::generate(args.shell, &mut command, "custbulk", &mut std::io::stdout());
    Ok(Exit::Ok)
}
