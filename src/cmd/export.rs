//! `custbulk export`: the command lives in [`crate::export`]; this file names it among the
//! commands.

pub use crate::export::{run, Args};
