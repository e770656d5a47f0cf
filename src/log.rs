//! Diagnostics on stderr, filtered by `-q`/`-v`. Messages are sentences; none carries the key.

use std::sync::atomic::{AtomicU8, Ordering};

static LEVEL: AtomicU8 = AtomicU8::new(1);

/// 0 quiet, 1 normal, 2 verbose (`-v`), 3 more (`-vv`).
pub fn init(level: u8) {
    LEVEL.store(level, Ordering::Relaxed);
}

pub fn level() -> u8 {
    LEVEL.load(Ordering::Relaxed)
}

/// Prints a notice unless `-q`.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { if $crate::log::level() >= 1 { eprintln!($($arg)*) } };
}

/// Prints a detail with `-v`.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { if $crate::log::level() >= 2 { eprintln!($($arg)*) } };
}

/// Prints a warning unless `-q`.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { if $crate::log::level() >= 1 { eprintln!("warning: {}", format_args!($($arg)*)) } };
}
