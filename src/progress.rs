//! The progress bar every long command shows: on a terminal only, never with `--no-progress` or
//! `-q` (the command decides, and passes `show`), one style for all.
//!
//! Rows of an import or undo, records and pages of an export, the table pass of an export: each
//! is a count against a total when one is known, a spinner otherwise, with the rate and a short
//! message.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// A progress bar, or nothing. Cheap to clone; clones draw the same bar.
#[derive(Clone, Default)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar on stderr when `show`; a no-op otherwise.
    pub fn new(show: bool) -> Progress {
        let bar = show.then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
            bar
        });
        Progress { bar }
    }

    /// A progress that shows nothing (tests, benchmarks, pipes).
    pub fn hidden() -> Progress {
        Progress::default()
    }

    /// Starts counting `unit`s (`rows`, `records`): a bar with an ETA against `total` when it is
    /// known, a spinner otherwise.
    pub fn start(&self, total: Option<u64>, unit: &str) {
        let Some(bar) = &self.bar else { return };
        let template = match total {
            Some(total) => {
                bar.set_position(0);
                bar.set_length(total);
                format!("{{bar:30}} {{pos}}/{{len}} {unit}  {{rate}}  ETA {{eta}}  {{msg}}")
            }
            None => format!("{{spinner}} {{pos}} {unit}  {{rate}}  {{msg}}"),
        };
        bar.set_style(style(&template));
    }

    /// `n` more done.
    pub fn inc(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    /// How many are done so far (0 when nothing is shown).
    pub fn position(&self) -> u64 {
        self.bar.as_ref().map_or(0, ProgressBar::position)
    }

    /// The text after the counts; only built when a bar is shown.
    pub fn message(&self, text: impl FnOnce() -> String) {
        if let Some(bar) = &self.bar {
            bar.set_message(text());
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// An indicatif template with a `{rate}` key: items per second as a whole number.
fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("a valid progress template")
        .with_key(
            "rate",
            |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0}/s", state.per_sec());
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_are_valid() {
        let progress = Progress::new(true);
        progress.start(Some(10), "rows");
        progress.start(None, "records");
        progress.finish();
    }
}
