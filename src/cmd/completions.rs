//! `custbulk completions SHELL`: shell completion scripts on stdout.

use clap_complete::Shell;

use crate::error::Exit;

const EXAMPLES: &str = "\
Examples:
  custbulk completions bash > ~/.local/share/bash-completion/completions/custbulk
  custbulk completions zsh > ~/.zfunc/_custbulk";

/// Print a completion script for SHELL.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// bash, zsh, fish, elvish or powershell.
    pub shell: Shell,
}

/// Prints the script for `command`, the whole command line (which only `cli` knows).
pub fn run(args: Args, mut command: clap::Command) -> anyhow::Result<Exit> {
    clap_complete::generate(args.shell, &mut command, "custbulk", &mut std::io::stdout());
    Ok(Exit::Ok)
}
