//! Parsing on a background thread: a producer fills batches of [`Row`]s and sends them over a
//! bounded channel; the consumer swaps rows out and sends the emptied batches back, so the cell
//! buffers travel back and forth and nothing is allocated per row in steady state.
//!
//! XLSX/XLSB parsing (zip inflate + XML) is most of the cost of reading a sheet; doing it here
//! lets the caller's mapping and validation use the second core.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::thread::JoinHandle;

use super::{ReadError, Row};

/// Rows per batch: large enough that channel operations are rare, small enough to stay in cache.
const BATCH_ROWS: usize = 256;
/// Full batches that may wait in the channel; bounds memory whatever the consumer's speed.
const BATCHES_IN_FLIGHT: usize = 4;

struct Batch {
    rows: Vec<Row>,
    len: usize,
}

type Message = Result<Batch, ReadError>;

/// The consuming half, owned by the table.
pub(crate) struct Receiver {
    full: Option<mpsc::Receiver<Message>>,
    empty: mpsc::Sender<Batch>,
    current: Batch,
    pos: usize,
    done: bool,
    worker: Option<JoinHandle<()>>,
}

/// The producing half, handed to the parsing closure.
pub(crate) struct Emitter {
    full: mpsc::SyncSender<Message>,
    empty: mpsc::Receiver<Batch>,
    batch: Batch,
}

/// The consumer hung up (the table was dropped): the producer should stop quietly.
pub(crate) struct Hangup;

impl Emitter {
    /// The next row to fill, already begun with `number`.
    pub fn row(&mut self, number: u32) -> Result<&mut Row, Hangup> {
        if self.batch.len == BATCH_ROWS {
            self.flush()?;
        }
        let i = self.batch.len;
        if i == self.batch.rows.len() {
            self.batch.rows.push(Row::new());
        }
        let row = &mut self.batch.rows[i];
        row.begin(number);
        Ok(row)
    }

    /// The row last handed out by [`Emitter::row`], to fill it cell by cell.
    pub fn current(&mut self) -> &mut Row {
        let i = self.batch.len;
        &mut self.batch.rows[i]
    }

    /// Marks the row last handed out by [`Emitter::row`] as complete.
    pub fn commit(&mut self) {
        let i = self.batch.len;
        if let Some(row) = self.batch.rows.get_mut(i) {
            row.end();
            self.batch.len += 1;
        }
    }

    /// Sends the rows committed so far.
    fn flush(&mut self) -> Result<(), Hangup> {
        if self.batch.len == 0 {
            return Ok(());
        }
        let next = self.empty.try_recv().unwrap_or_else(|_| Batch {
            rows: Vec::with_capacity(BATCH_ROWS),
            len: 0,
        });
        let full = std::mem::replace(&mut self.batch, next);
        self.batch.len = 0;
        self.full.send(Ok(full)).map_err(|_| Hangup)
    }
}

/// Runs `produce` on a new thread; its rows arrive through the returned receiver. An error it
/// returns is delivered after the rows it committed before failing; if it panics (calamine
/// asserts on some damaged files), `crash` is delivered instead, so a damaged file never looks
/// like a short one.
pub(crate) fn spawn<F>(crash: ReadError, produce: F) -> Receiver
where
    F: FnOnce(&mut Emitter) -> Result<(), ReadError> + Send + 'static,
{
    let (full_tx, full_rx) = mpsc::sync_channel(BATCHES_IN_FLIGHT);
    let (empty_tx, empty_rx) = mpsc::channel();
    let worker = std::thread::Builder::new()
        .name("custbulk-read".into())
        .spawn(move || {
            let mut emitter = Emitter {
                full: full_tx,
                empty: empty_rx,
                batch: Batch {
                    rows: Vec::with_capacity(BATCH_ROWS),
                    len: 0,
                },
            };
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| produce(&mut emitter)))
                .unwrap_or(Err(crash));
            if emitter.flush().is_ok() {
                if let Err(e) = outcome {
                    let _ = emitter.full.send(Err(e));
                }
            }
        })
        .expect("spawning the reader thread");
    Receiver {
        full: Some(full_rx),
        empty: empty_tx,
        current: Batch {
            rows: Vec::new(),
            len: 0,
        },
        pos: 0,
        done: false,
        worker: Some(worker),
    }
}

impl Receiver {
    pub fn next(&mut self, row: &mut Row) -> Result<bool, ReadError> {
        loop {
            if self.pos < self.current.len {
                std::mem::swap(row, &mut self.current.rows[self.pos]);
                self.pos += 1;
                return Ok(true);
            }
            if self.done {
                return Ok(false);
            }
            let Some(full) = &self.full else {
                return Ok(false);
            };
            match full.recv() {
                Ok(Ok(batch)) => {
                    let used = std::mem::replace(&mut self.current, batch);
                    self.pos = 0;
                    if !used.rows.is_empty() {
                        let _ = self.empty.send(used);
                    }
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Ok(false);
                }
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // Hanging up first makes a producer blocked on a full channel return, so the join is short.
        self.full.take();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}
