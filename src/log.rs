//! Diagnostics on stderr, filtered by `-q`/`-v`. Messages are sentences; none carries the key.
//! A line is printed above the progress bar, if one is shown, rather than through it.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

static LEVEL: AtomicU8 = AtomicU8::new(1);

/// 0 quiet, 1 normal, 2 verbose (`-v`), 3 more (`-vv`).
pub fn init(level: u8) {
    LEVEL.store(level, Ordering::Relaxed);
}

pub fn level() -> u8 {
    LEVEL.load(Ordering::Relaxed)
}

/// Prints one line on stderr, above the progress bar. The text is formatted before, so that
/// nothing it calls runs while the bar is held.
pub fn line(text: String) {
    crate::progress::suspend(|| eprintln!("{text}"));
}

/// Who else hears a warning said on a thread.
pub type Hear = Arc<dyn Fn(&str) + Send + Sync>;

thread_local! {
    /// Who else hears this thread's warnings: the page, for the engine it drives on the thread.
    static HEARS: RefCell<Option<Hear>> = const { RefCell::new(None) };
}

/// Runs `work` with every warning said on this thread also told to `hear`, so an engine that
/// warns before it has a progress to tell (a restore's backup without a manifest, an undo of an
/// unfinished import) is heard by the page that started it.
pub fn heard_by<R>(hear: Hear, work: impl FnOnce() -> R) -> R {
    let before = HEARS.with(|h| h.replace(Some(hear)));
    let result = work();
    HEARS.with(|h| *h.borrow_mut() = before);
    result
}

/// Runs `work` and gives back, beside its result, the warnings said on this thread meanwhile
/// (printed as ever): for work done before the page has a run to tell them to.
pub fn collecting<R>(work: impl FnOnce() -> R) -> (R, Vec<String>) {
    let said = Arc::new(Mutex::new(Vec::new()));
    let into = said.clone();
    let hear: Hear = Arc::new(move |text| {
        into.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(text.to_string())
    });
    let result = heard_by(hear, work);
    let said = std::mem::take(&mut *said.lock().unwrap_or_else(PoisonError::into_inner));
    (result, said)
}

/// Says a warning: on stderr unless `-q`, and to whoever hears this thread's ([`heard_by`]).
pub fn warning(text: String) {
    HEARS.with(|h| {
        if let Some(hear) = &*h.borrow() {
            hear(&text);
        }
    });
    if level() >= 1 {
        line(format!("warning: {text}"));
    }
}

/// Prints a notice unless `-q`.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { if $crate::log::level() >= 1 { $crate::log::line(format!($($arg)*)) } };
}

/// Prints a detail with `-v`.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { if $crate::log::level() >= 2 { $crate::log::line(format!($($arg)*)) } };
}

/// Says a warning ([`log::warning`](crate::log::warning)): printed unless `-q`, and heard by the page.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log::warning(format!($($arg)*)) };
}
