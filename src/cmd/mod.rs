//! One file per command, each with its own `Args` and `run`.

pub mod check;
pub mod completions;
pub mod sandbox;
pub mod validate;
