//! Exit codes and the error kinds that choose them.
//!
//! Commands return `anyhow::Result<Exit>`; an error is a usage error (exit 2) when it carries a
//! [`UsageError`] anywhere in its chain, and otherwise means the run could not complete (exit 3).

use std::fmt;

/// How a command that ran to its end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every row was fine.
    Ok = 0,
    /// The run completed but some rows were invalid or failed.
    SomeRowsFailed = 1,
}

/// Exit code for a usage or configuration error.
pub const USAGE: u8 = 2;
/// Exit code when the run could not complete: I/O, API unreachable, auth refused.
pub const INCOMPLETE: u8 = 3;

/// A mistake in the command line or configuration: exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Builds a usage error (exit 2) from a message.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// The exit code an error stands for.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.chain().any(|e| e.is::<UsageError>()) {
        USAGE
    } else {
        INCOMPLETE
    }
}
