//! A whole run of changes: jobs from a producer in input order, each finished concurrently by
//! the producer through the [`Applier`], journaled, and released in order to the results file.
//!
//! Rows are taken at most a window ahead of the first unwritten one, so a row stuck in retries
//! holds back a bounded number of finished rows whatever the input's size; requests in flight
//! are bounded by the client's throttle. When the run must stop (Ctrl-C, the breaker, a refused
//! key, an API that cannot be reached, a journal that cannot be written), the gate closes
//! ([`super::stop`]): rows taken ahead that were waiting for a place are refused and end
//! `skipped` like the rows not yet taken, the ones in flight finish, and the journal says the
//! run is resumable.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use tokio::sync::mpsc;

use super::breaker::{Breaker, Limits};
use super::journal::{self, Line, Resume};
use super::stop::{self, Ending};
use super::{Applier, Done, Finished, Outcome, Results, Stop, Summary};
use crate::api::ApiError;
use crate::progress::Progress;

/// One row of a run.
pub struct Job<W> {
    /// The results line as far as it is known before any request: an import's cells and
    /// problems, an undo's action and id. Its `done` is used when `work` is `None`.
    pub line: Finished,
    /// What the producer needs to finish the row; `None` when it ends without a request
    /// (invalid, validated only).
    pub work: Option<W>,
    /// Whether what an earlier run journaled for this row number stands (skipped if done,
    /// reconciled if in flight). Not for rows a run numbers anew each time (restore's
    /// customers to prune), whose number may have meant another customer before.
    pub journaled: bool,
}

impl<W> Job<W> {
    /// A row to finish with `work`.
    pub fn new(line: Finished, work: W) -> Job<W> {
        Job {
            line,
            work: Some(work),
            journaled: true,
        }
    }

    /// A row that ends as `done` without a request.
    pub fn ended(mut line: Finished, done: Done) -> Job<W> {
        line.done = done;
        Job {
            line,
            work: None,
            journaled: true,
        }
    }

    /// The same job, decided afresh whatever an earlier run journaled under its number.
    pub fn fresh(self) -> Job<W> {
        Job {
            journaled: false,
            ..self
        }
    }
}

/// What turns rows into changes: import (a sheet), undo (a journal), restore (a backup).
pub trait Producer: Send + Sync + 'static {
    type Work: Send + 'static;

    /// Finishes one row: reads the store as it needs, changes it only through `applier`, and
    /// may fill `line`'s details (`changes`, `conflicts`). `resumed` is the `send` line an earlier
    /// run left for this row without a `done`: its request may have reached the server.
    fn finish(
        &self,
        applier: &Applier,
        work: Self::Work,
        resumed: Option<Line>,
        line: &mut Finished,
    ) -> impl Future<Output = Result<Done, ApiError>> + Send;
}

/// Everything a run needs besides its jobs.
pub struct Run<P: Producer> {
    /// `None` when nothing is sent (`--dry-run`): every job then ends without a request.
    pub applier: Option<Arc<Applier>>,
    pub producer: Arc<P>,
    pub results: Results,
    pub resume: Option<Resume>,
    pub session: Session,
    /// Rows taken ahead of the first unwritten one.
    pub window: u64,
    /// When failures stop the run.
    pub limits: Limits,
}

/// How a run of changes goes, the same for import, undo and restore.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Requests in flight at most: rows are taken this many windows ahead.
    pub concurrency: usize,
    /// When failing rows stop the run.
    pub limits: Limits,
    /// Continue the run the journal describes.
    pub resume: bool,
    /// Go on past damaged journal lines, looking up every row without a `done`.
    pub repair: bool,
    /// Start a new journal beside an unfinished one (never over it).
    pub fresh: bool,
}

impl Settings {
    /// How the run treats the journal an earlier run left.
    pub fn start(&self) -> journal::Start {
        journal::Start {
            resume: self.resume,
            repair: self.repair,
            fresh: self.fresh,
        }
    }

    /// Rows taken ahead of the first unwritten one: a row stuck in retries holds back a
    /// bounded number of finished rows, whatever the input's size.
    pub fn window(&self) -> u64 {
        self.concurrency as u64 * 8 + 64
    }
}

/// What a run shares with the command that started it: when to stop, and the progress bar.
pub struct Session {
    pub stop: Arc<Stop>,
    pub progress: Progress,
}

/// How a run ended.
pub struct Ran {
    pub counts: BTreeMap<Outcome, u64>,
    /// Rows that resembled a customer already there.
    pub similar: super::results::Similar,
    /// Why the run stopped early, when a failure doomed the rest.
    pub fatal: Option<String>,
    /// The input could not be read to its end.
    pub read_error: Option<anyhow::Error>,
    pub interrupted: bool,
}

/// A finished run: its summary, and the error that stopped it early, if one did. Commands
/// print the summary first, then fail with the error.
pub struct Report {
    pub summary: Summary,
    pub stopped: Option<anyhow::Error>,
}

impl Ran {
    /// The report of a run of `noun` (`import`, `undo`, `restore`).
    pub fn report(self, noun: &str, mut summary: Summary) -> Report {
        summary.similar = self.similar;
        summary.stopped = self.fatal.clone().or_else(|| {
            let interrupted = "interrupted (Ctrl-C)".to_string();
            self.interrupted.then_some(interrupted)
        });
        let stopped = if let Some(err) = self.read_error {
            Some(err.context(format!(
                "the {noun} stopped because the input could not be read further"
            )))
        } else if let Some(reason) = self.fatal {
            Some(anyhow::anyhow!(
                "the {noun} stopped: {reason}. Fix the cause, then run the same command with --resume"
            ))
        } else if self.interrupted {
            Some(anyhow::anyhow!(
                "the {noun} was interrupted; run the same command with --resume to finish it"
            ))
        } else {
            None
        };
        Report { summary, stopped }
    }
}

/// Runs every job to one outcome in the results file.
pub async fn run<P, S>(mut run: Run<P>, mut jobs: S) -> anyhow::Result<Ran>
where
    P: Producer,
    S: Stream<Item = anyhow::Result<Job<P::Work>>> + Unpin,
{
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(Finished, bool)>();
    let mut breaker = Breaker::new(run.limits);
    if let Some(applier) = &run.applier {
        run.session.progress.follow(applier.client());
    }
    let mut seq = 0u64;
    let mut read_error = None;
    let mut reading = true;
    let mut outstanding = 0u64;
    while reading || outstanding > 0 {
        tokio::select! {
            biased;
            Some((finished, attempted)) = done_rx.recv() => {
                outstanding -= 1;
                if let Some(why) = attempted.then(|| breaker.record(&finished.done)).flatten() {
                    run.session.stop.halt(why);
                }
                run.push(finished)?;
            }
            item = jobs.next(), if reading
                && seq < run.results.written() + run.window
                && !breaker.holds(outstanding) => {
                let job = match item {
                    Some(Ok(job)) => job,
                    Some(Err(err)) => {
                        run.session.stop.halt("the input could not be read further");
                        read_error = Some(err);
                        reading = false;
                        continue;
                    }
                    None => {
                        reading = false;
                        continue;
                    }
                };
                let mut line = job.line;
                line.seq = seq;
                seq += 1;
                let resume = run.resume.as_mut().filter(|_| job.journaled);
                let (earlier, resumed) = match resume {
                    Some(resume) => (
                        resume.done(line.row)?.and_then(Done::from_line),
                        resume.in_flight.remove(&line.row),
                    ),
                    None => (None, None),
                };
                match (earlier, job.work, &run.applier) {
                    (Some(done), _, _) => line.done = done,
                    (None, Some(work), Some(applier)) if !run.session.stop.halted() => {
                        let (producer, applier) = (run.producer.clone(), applier.clone());
                        let done_tx = done_tx.clone();
                        outstanding += 1;
                        tokio::spawn(async move {
                            let ending = finish(&*producer, &applier, work, resumed, line).await;
                            let _ = done_tx.send(ending);
                        });
                        continue;
                    }
                    (None, Some(_), _) => line.done = stop::not_attempted(),
                    (None, None, _) => {}
                }
                run.push(line)?;
            }
        }
    }
    drop(done_tx);
    run.session.progress.finish();
    let interrupted = run.session.stop.interrupted();
    let fatal = match (&read_error, interrupted) {
        (None, false) => run.session.stop.reason(),
        _ => None,
    };
    let (counts, similar) = run.results.finish()?;
    if let Some(applier) = &run.applier {
        end_journal(applier, !run.session.stop.halted())?;
    }
    Ok(Ran {
        counts,
        similar,
        fatal,
        read_error,
        interrupted,
    })
}

/// The journal's last line: whether the run completed or can be resumed. A journal that broke
/// during the run gets none; its rows in flight say `unknown`, which `--resume` reconciles.
fn end_journal(applier: &Applier, complete: bool) -> anyhow::Result<()> {
    let Some(journal) = applier.journal().filter(|_| !applier.journal_broken()) else {
        return Ok(());
    };
    journal.append(&Line::End {
        finished: journal::now(),
        complete,
    })?;
    journal.sync()
}

/// Finishes one row and journals its end, as [`stop::ending`] decides. Returns the row, and
/// whether it was attempted (a row the stop refused was not: the breaker does not count it).
async fn finish<P: Producer>(
    producer: &P,
    applier: &Applier,
    work: P::Work,
    resumed: Option<Line>,
    mut line: Finished,
) -> (Finished, bool) {
    let result = producer.finish(applier, work, resumed, &mut line).await;
    let done = match stop::ending(result) {
        Ending::Skipped(done) => {
            line.done = done;
            return (line, false);
        }
        Ending::Journal(done) => done,
    };
    line.done = match applier.journal_line(&done.line(line.row)) {
        Ok(()) => done,
        Err(why) => stop::unjournaled(done, &why),
    };
    (line, true)
}

impl<P: Producer> Run<P> {
    fn push(&mut self, finished: Finished) -> anyhow::Result<()> {
        self.session.progress.inc(1);
        self.results.push(finished)?;
        if self.session.progress.due() {
            let counts = &self.results.counts;
            self.session.progress.message(|| {
                counts
                    .iter()
                    .map(|(o, n)| format!("{} {n}", o.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
        }
        Ok(())
    }
}
