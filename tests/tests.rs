//! One integration test binary; each area has its own module.

mod util;

mod api;
mod cli;
mod export;
