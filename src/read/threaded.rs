//! Parsing on a background thread: a producer fills batches of items (sheet
//! [`Row`](super::Row)s, raw CSV records) and sends them over a bounded channel; the consumer
//! swaps items out and sends the emptied batches back, so buffers travel back and forth and
//! nothing is allocated per row in steady state.
//!
//! XLSX/XLSB parsing (zip inflate + XML) and CSV tokenising are most of the cost of reading;
//! doing them here lets the caller's mapping and validation use the second core. The pipeline
//! runs its reading and its checks of each row alone here too, and asks how far behind the
//! consumer is ([`Emitter::backlog`]) to share the checks between the two cores.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use super::ReadError;

/// Rows per batch: large enough that channel operations are rare, small enough to stay in cache.
const BATCH_ROWS: usize = 64;
/// Full batches that may wait in the channel; bounds memory whatever the consumer's speed.
const BATCHES_IN_FLIGHT: usize = 4;

struct Batch<T> {
    rows: Vec<T>,
    len: usize,
}

impl<T> Batch<T> {
    fn new() -> Self {
        Batch {
            rows: Vec::with_capacity(BATCH_ROWS),
            len: 0,
        }
    }
}

type Message<T> = Result<Batch<T>, ReadError>;

/// The consuming half, owned by the table.
pub(crate) struct Receiver<T: Send + 'static> {
    full: Option<mpsc::Receiver<Message<T>>>,
    empty: mpsc::Sender<Batch<T>>,
    current: Batch<T>,
    pos: usize,
    done: bool,
    worker: Option<JoinHandle<()>>,
    /// Full batches sent and not yet taken.
    waiting: Arc<AtomicUsize>,
}

/// The producing half, handed to the parsing closure.
pub(crate) struct Emitter<T> {
    full: mpsc::SyncSender<Message<T>>,
    empty: mpsc::Receiver<Batch<T>>,
    batch: Batch<T>,
    waiting: Arc<AtomicUsize>,
}

/// The consumer hung up (the table was dropped): the producer should stop quietly.
pub(crate) struct Hangup;

impl<T: Default> Emitter<T> {
    /// The next item to fill: a used one whose buffers can be reused.
    pub fn slot(&mut self) -> Result<&mut T, Hangup> {
        if self.batch.len == BATCH_ROWS {
            self.flush()?;
        }
        let i = self.batch.len;
        if i == self.batch.rows.len() {
            self.batch.rows.push(T::default());
        }
        Ok(&mut self.batch.rows[i])
    }

    /// The item last handed out by [`Emitter::slot`].
    pub fn current(&mut self) -> &mut T {
        let i = self.batch.len;
        &mut self.batch.rows[i]
    }

    /// Marks the item last handed out by [`Emitter::slot`] as complete.
    pub fn commit(&mut self) {
        if self.batch.len < self.batch.rows.len() {
            self.batch.len += 1;
        }
    }

    /// Full batches the consumer has not taken yet: how far behind the producer it is.
    pub fn backlog(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Sends the rows committed so far.
    fn flush(&mut self) -> Result<(), Hangup> {
        if self.batch.len == 0 {
            return Ok(());
        }
        let next = self.empty.try_recv().unwrap_or_else(|_| Batch::new());
        let full = std::mem::replace(&mut self.batch, next);
        self.batch.len = 0;
        self.waiting.fetch_add(1, Ordering::Relaxed);
        self.full.send(Ok(full)).map_err(|_| Hangup)
    }
}

/// Runs `produce` on a new thread; its rows arrive through the returned receiver. An error it
/// returns is delivered after the rows it committed before failing. If it panics (calamine
/// asserts on some damaged files) or the thread cannot start, `fail(reason)` is delivered
/// instead, so a damaged file never looks like a short one.
pub(crate) fn spawn<T, F, E>(fail: E, produce: F) -> Receiver<T>
where
    T: Default + Send + 'static,
    F: FnOnce(&mut Emitter<T>) -> Result<(), ReadError> + Send + 'static,
    E: Fn(&str) -> ReadError + Clone + Send + 'static,
{
    let (full_tx, full_rx) = mpsc::sync_channel(BATCHES_IN_FLIGHT);
    let (empty_tx, empty_rx) = mpsc::channel();
    let fail_tx = full_tx.clone();
    let crash = fail.clone();
    let waiting = Arc::new(AtomicUsize::new(0));
    let counted = waiting.clone();
    let worker = std::thread::Builder::new()
        .name("custbulk-read".into())
        .spawn(move || {
            let mut emitter = Emitter {
                full: full_tx,
                empty: empty_rx,
                batch: Batch::new(),
                waiting: counted,
            };
            let outcome = super::guard::contain(|| produce(&mut emitter))
                .unwrap_or_else(|| Err(crash("its structure is inconsistent")));
            if emitter.flush().is_ok() {
                if let Err(e) = outcome {
                    let _ = emitter.full.send(Err(e));
                }
            }
        });
    let worker = match worker {
        Ok(handle) => Some(handle),
        Err(e) => {
            let reason = format!("cannot start a reader thread ({e})");
            let _ = fail_tx.send(Err(fail(&reason)));
            None
        }
    };
    drop(fail_tx);
    Receiver {
        full: Some(full_rx),
        empty: empty_tx,
        current: Batch {
            rows: Vec::new(),
            len: 0,
        },
        pos: 0,
        done: false,
        worker,
        waiting,
    }
}

impl<T: Send + 'static> Receiver<T> {
    /// The item `k` places after the one [`Receiver::next`] gave last, when it has arrived
    /// with it: for work on it ahead of its turn.
    pub fn upcoming(&self, k: usize) -> Option<&T> {
        let i = self.pos + k - 1;
        (i < self.current.len).then(|| &self.current.rows[i])
    }

    /// Swaps the next item into `row` (its old buffers go back to the producer).
    pub fn next(&mut self, row: &mut T) -> Result<bool, ReadError> {
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
                    self.waiting.fetch_sub(1, Ordering::Relaxed);
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

impl<T: Send + 'static> Drop for Receiver<T> {
    fn drop(&mut self) {
        // Hanging up first makes a producer blocked on a full channel return, so the join is short.
        self.full.take();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}
