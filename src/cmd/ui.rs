//! `custbulk ui`: serves the page on 127.0.0.1 and opens it in the browser.

use std::io::Write as _;

use crate::cmd::Global;
use crate::error::Exit;
use crate::ui::{self, Options};
use crate::{debug, info};

const EXAMPLES: &str = "\
Examples:
  custbulk ui
  custbulk ui --port 8790 --no-open
  custbulk ui --sandbox";

/// Check a customer list on a local web page: drop the file, pick each column's field, fix the
/// rows with problems in a grid, and download the fixed file or the annotated workbook. The
/// same engines as the commands, on this computer only.
///
/// The page is served on 127.0.0.1 only, at an address with a token made for this run (printed
/// on one line, and opened in the browser unless --no-open). The files opened in it stay in a
/// folder only this user can read, removed when custbulk ui stops (Ctrl-C).
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The port on 127.0.0.1 (default: a free port the system chooses).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub port: u16,

    /// Print the address without opening the browser.
    #[arg(long)]
    pub no_open: bool,

    /// The largest file the page accepts, in MB.
    #[arg(long, value_name = "N", default_value_t = ui::DEFAULT_MAX_UPLOAD_MB,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_upload_mb: u64,
}

pub async fn run(_global: &Global, args: Args) -> anyhow::Result<Exit> {
    // Listen for signals before printing the address: a script may stop it as soon as it has it.
    let shutdown = super::shutdown_signal()?;
    let running = ui::start(Options {
        port: args.port,
        max_upload_mb: args.max_upload_mb,
    })
    .await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", running.url)?;
        out.flush()?;
    }
    if !args.no_open {
        open_browser(&running.url);
    }
    info!("Press Ctrl-C to stop; the files opened in the page are removed then.");
    shutdown.await?;
    running.stop().await?;
    Ok(Exit::Ok)
}

/// Asks the desktop to open `url`; a machine without one (a server, a container) is not an
/// error: the address is printed.
fn open_browser(url: &str) {
    let (program, args): (&str, &[&str]) = if cfg!(target_os = "macos") {
        ("open", &[])
    } else if cfg!(windows) {
        ("cmd", &["/C", "start", ""])
    } else {
        ("xdg-open", &[])
    };
    let spawned = std::process::Command::new(program)
        .args(args)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        // Reaped on a thread of its own, so no zombie stays behind.
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(e) => debug!("could not open a browser ({program}: {e}); open the address above"),
    }
}
