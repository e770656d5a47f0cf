//! The export's progress bar: on a terminal only, never with `--no-progress` or `-q`.
//! Records (against the total when the server tells it), pages, and the rate.

use indicatif::ProgressBar;

use crate::cli::Global;

const WITH_TOTAL: &str = "{bar:30} {pos}/{len} records  {msg}  {rate}  ETA {eta}";
const WITHOUT_TOTAL: &str = "{spinner} {pos} records  {msg}  {rate}";
const WRITING: &str = "{bar:30} {pos}/{len} rows  {msg}  {rate}";

#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(global: &Global) -> Progress {
        Progress {
            bar: crate::progress::bar(global),
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
        bar.set_style(crate::progress::style(template));
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
        bar.set_style(crate::progress::style(WRITING));
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
            crate::progress::style(template);
        }
    }
}
