//! One integration test binary; each area has its own module.

mod util;

mod annotate;
mod api;
mod check;
mod cli;
mod delete;
mod export;
mod hostile;
mod import;
mod mapping;
mod matching;
mod read;
mod sandbox;
mod stops;
mod template;
mod undo;
mod validate;
