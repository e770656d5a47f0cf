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

/// Import a customer list from a local web page: drop the file, pick each column's field, fix
/// the rows with problems in a grid, see the plan, then run it live, stop, resume or undo it.
/// The same engines as the commands, on this computer only.
///
/// The page is served on 127.0.0.1 only, at an address with a token made for this run (printed
/// on one line, and opened in the browser unless --no-open). The files opened in it stay in a
/// folder only this user can read, removed when custbulk ui stops (Ctrl-C). A run started in
/// the page keeps the file it sent, its mapping, journal and results in a folder of its own
/// under --folder, where `custbulk import ... --resume` and `custbulk undo` find them. The API
/// is the one the global flags name (--sandbox, --base-url, the key, the profile).
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

    /// Where the page keeps its runs (runs/NAME-WHEN/: the file as sent, mapping.toml, the
    /// journal and results).
    #[arg(long, value_name = "DIR", default_value = ui::DEFAULT_WORK)]
    pub folder: std::path::PathBuf,

    #[command(flatten)]
    pub load: super::Load,
}

pub async fn run(global: &Global, args: Args) -> anyhow::Result<Exit> {
    // Listen for signals before printing the address: a script may stop it as soon as it has it.
    let shutdown = super::shutdown_signal()?;
    // Without an API the page still checks files; its Plan says why it cannot go further.
    let connection = super::connect::connect(global, args.load.client_options()).await;
    let api = match &connection {
        Ok(connection) => Ok(ui::Api {
            client: connection.client.clone(),
            writes: connection.writes(),
        }),
        Err(e) => Err(format!("{e:#}")),
    };
    let running = ui::start(Options {
        port: args.port,
        max_upload_mb: args.max_upload_mb,
        api,
        work: args.folder,
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
    // As a command's first Ctrl-C: the runs under way finish what is in flight; a second one
    // exits at once (their journals say what was sent).
    info!("Stopping: the runs under way finish their requests in flight (Ctrl-C again aborts).");
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("Aborted. Resume the runs with the commands their pages showed (--resume).");
            std::process::exit(130);
        }
    });
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
