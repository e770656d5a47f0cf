//! One file per command, each with its own `Args` and `run`.

pub mod check;
pub mod completions;
pub mod export;
pub mod mapping;
pub mod sandbox;
pub mod template;
pub mod validate;
pub mod verify;
