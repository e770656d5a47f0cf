//! `custbulk ui`: the same engines on a local web page, for the people who do not use a
//! terminal.
//!
//! The page walks the steps of an import (File, Columns, Problems, then Plan, Run and Backups)
//! over the engines the commands call: [`crate::read`] opens the file, [`crate::mapping`] maps
//! its columns (a mapping file is the page's state, saved and loaded as the very file `--map`
//! reads), [`crate::pipeline`] checks every row once, and [`crate::annotate`] writes the
//! annotated workbook. The HTML is rendered on the server (maud); htmx swaps the rows a person
//! edits. Every page has a JSON twin from the same view (`.json`, or `Accept:
//! application/json`), as Datasette's pages do.
//!
//! A local server is still a server (`security`): loopback only, a token per run, the `Host`
//! and `Origin` checked, uploads in a private folder removed at exit, and no path from the
//! browser ever opened: files are named by ids the server chose.
//!
//! A million rows never go to the browser: the check spools the rows with problems to a file
//! with an offset index (`spool`), so a page of the grid is a seek, and edits are an overlay
//! that the fixed file and the annotated workbook apply as they are written.

mod assets;
mod backups;
mod check;
mod columns;
mod file;
mod fixed;
mod i18n;
mod job;
mod layout;
mod plan;
mod problems;
mod restore;
mod run;
mod security;
mod sent;
mod server;
mod spool;
mod task;
mod upload;
mod view;

pub use server::{start, Api, Options, Running, DEFAULT_WORK};
pub use upload::DEFAULT_MAX_MB as DEFAULT_MAX_UPLOAD_MB;
