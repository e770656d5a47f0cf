//! custbulk moves customer records in bulk between spreadsheets and the iCloud-Ready
//! Customers API (v2): `validate` a sheet, `import` it, `export` backups.
//!
//! The library holds everything; the binary only parses flags and calls [`cli::main`], so tests
//! and benchmarks drive the same code in-process.

pub mod annotate;
pub mod api;
pub mod apply;
pub mod backup;
pub mod bytes;
pub mod cli;
pub mod cmd;
pub mod compare;
pub mod diff;
pub mod error;
pub mod events;
pub mod export;
pub mod hash;
pub mod import;
pub mod log;
pub mod lookup;
pub mod mapping;
pub mod output;
pub mod pipeline;
pub mod probe;
pub mod profile;
pub mod progress;
pub mod read;
pub mod report;
pub mod restore;
pub mod sandbox;
pub mod schema;
pub mod side;
pub mod tls;
pub mod ui;
pub mod undo;
pub mod validate;
