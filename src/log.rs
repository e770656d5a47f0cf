//! Diagnostics on stderr, filtered by `-q`/`-v`. Messages are sentences; none carries the key.
//! A line is printed above the progress bar, if one is shown, rather than through it.

use std::sync::atomic::{AtomicU8, Ordering};

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

/// Prints a warning unless `-q`.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { if $crate::log::level() >= 1 { $crate::log::line(format!("warning: {}", format_args!($($arg)*))) } };
}
