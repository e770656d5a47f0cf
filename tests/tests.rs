//! One integration test binary; each area has its own module.

mod util;

mod api;
mod cli;
mod import;
mod read;
mod sandbox;
mod undo;
