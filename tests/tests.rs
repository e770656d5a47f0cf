//! One integration test binary; each area has its own module.

mod util;

mod annotate;
mod api;
mod cli;
mod concurrency;
mod delete;
mod export;
mod hostile;
mod import;
mod mapping;
mod read;
mod sandbox;
mod template;
mod undo;
mod validate;
