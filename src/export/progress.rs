//! The export's progress bar: on a terminal only, never with `--no-progress` or `-q`.
//! Records (against the total when the server tells it), pages, and the rate.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::Global;

const WITH_TOTAL: &str = "{bar:30} {pos}/{len} records  {msg}  {per_sec}  ETA {eta}";
const WITHOUT_TOTAL: &str = "{spinner} {pos} records  {msg}  {per_sec}";
const WRITING: &str = "{bar:30} {pos}/{len} rows  {msg}  {per_sec}";

#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(global: &Global) -> Progress {
        let show = !global.no_progress && !global.quiet && std::io::stderr().is_terminal();
        Progress {
            bar: show.then(|| {
                let bar = ProgressBar::new_spinner();
                bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
                bar
            }),
        }
    }

    /// A progress that shows nothing (tests, benchmarks).
    pub fn hidden() -> Progress {
        Progress { bar: None }
    }

    /// The first page has arrived: a bar when the total is known, a counter otherwise.
    pub fn start(&self, total: Option<u64>) {
        let Some(bar) = &self.bar else { return };
        let template = match total {
            Some(total) => {
                bar.set_length(total);
                WITH_TOTAL
            }
            None => WITHOUT_TOTAL,
        };
        bar.set_style(ProgressStyle::with_template(template).expect("a valid template"));
    }

    /// A page was taken in, with this many new records.
    pub fn page(&self, number: u64, last: Option<u64>, records: u64) {
        let Some(bar) = &self.bar else { return };
        bar.inc(records);
        match last {
            Some(last) => bar.set_message(format!("page {number}/{}", last.max(number))),
            None => bar.set_message(format!("page {number}")),
        }
    }

    /// The table is being written from the spooled records.
    pub fn writing(&self, records: u64, what: &str) {
        let Some(bar) = &self.bar else { return };
        bar.set_position(0);
        bar.set_length(records);
        bar.set_style(ProgressStyle::with_template(WRITING).expect("a valid template"));
        bar.set_message(format!("writing {what}"));
    }

    pub fn rows(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_are_valid() {
        for template in [WITH_TOTAL, WITHOUT_TOTAL, WRITING] {
            assert!(ProgressStyle::with_template(template).is_ok(), "{template}");
        }
    }
}
