//! When a run must stop before its end, with faults as the world makes them (issue 21): a
//! journal on a real small filesystem (`journal`), Ctrl-C as a real SIGINT (`signal`), a
//! sandbox process killed and a server of the test's own that cuts its answers short
//! (`server`). Each counts the requests that arrive after the moment of the stop, and checks
//! the store and the results file: every row one outcome, nothing doubled, the rest `skipped`
//! and never in the failed file, and `--resume` finishes the run.

mod journal;
mod server;
mod signal;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use crate::util::{Server, Workdir};

/// A small filesystem for a journal: a tmpfs mounted for the test when it may mount (as root,
/// which CI is), else the process's file-size limit (`ulimit -f`, with SIGXFSZ ignored, so a
/// write past it fails with EFBIG as a full disk fails with ENOSPC). Unmounted when dropped.
pub struct SmallDisk {
    /// Where the journal goes.
    pub dir: PathBuf,
    /// `None` when mounted; else the limit in bytes.
    limit: Option<u64>,
}

impl SmallDisk {
    /// `bytes` of room for the journal.
    pub fn new(wd: &Workdir, bytes: u64) -> SmallDisk {
        let dir = wd.path("disk");
        std::fs::create_dir_all(&dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(&dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        SmallDisk {
            dir,
            limit: (!mounted).then_some(bytes),
        }
    }

    /// The import of `clients.csv` against `server`, 4 in flight, with its journal on this
    /// disk; under a file-size limit every file it writes counts: keep the results file small.
    pub fn import(&self, wd: &Workdir, server: &Server) -> Command {
        let journal = self.dir.join("clients.journal").display().to_string();
        let args = [
            "import",
            "clients.csv",
            "--no-progress",
            "--concurrency",
            "4",
        ];
        let mut command = wd.against(server, &[&args[..], &["--journal", &journal]].concat());
        self.confine(&mut command);
        command
    }

    /// Lets `command` write no more than the disk holds.
    fn confine(&self, command: &mut Command) {
        let Some(limit) = self.limit else {
            return;
        };
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let limit = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
                Ok(())
            });
        }
    }

    /// Moves the journal to `to`, a disk with room, for `--resume`.
    pub fn rescue(&self, name: &str, to: &Path) {
        std::fs::copy(self.dir.join(name), to).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        if self.limit.is_none() {
            let _ = Command::new("umount").arg(&self.dir).status();
        }
    }
}

/// A run watched for the moment it stops: `at_stop` is called when the binary says it is
/// stopping (`Stopping: ...`, the moment its gate closed), and its answer kept.
pub struct Watched {
    pub code: i32,
    pub stderr: String,
    /// What `at_stop` gave, if the run said it stopped.
    pub at_stop: Option<u64>,
}

/// Runs `child` (spawned with stderr piped) to its end, calling `at_stop` at the moment its
/// stderr says it is stopping.
pub fn watch(mut child: Child, at_stop: impl Fn() -> u64) -> Watched {
    let stderr = child.stderr.take().expect("stderr piped");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("Stopping:") {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let at_stop = rx.recv().ok().map(|()| at_stop());
    let code = child.wait().unwrap().code().unwrap_or(-1);
    Watched {
        code,
        stderr: reader.join().unwrap(),
        at_stop,
    }
}
