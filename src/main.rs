use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = custbulk::cli::Cli::parse();
    ExitCode::from(custbulk::cli::main(cli))
}
