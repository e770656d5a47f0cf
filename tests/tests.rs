//! One integration test binary; each area has its own module.

mod util;

mod annotate;
mod api;
mod arabic;
mod backups;
mod breaker;
mod check;
mod cli;
mod concurrency;
mod delete;
mod export;
mod honest;
mod hostile;
mod import;
mod mapping;
mod matching;
mod progress;
mod quiet;
mod read;
mod sandbox;
mod stops;
mod template;
mod transforms;
mod ui;
mod undo;
mod validate;
mod variants;
