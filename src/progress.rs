//! Progress bars: on a terminal only, never with `--no-progress` or `-q`, and one style for
//! every command.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::cli::Global;

/// A bar drawn on stderr when stderr is a terminal and progress is wanted; `None` otherwise.
pub fn bar(global: &Global) -> Option<ProgressBar> {
    let show = !global.no_progress && !global.quiet && std::io::stderr().is_terminal();
    show.then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
        bar
    })
}

/// An indicatif template with a `{rate}` key: items per second as a whole number.
pub fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("a valid progress template")
        .with_key(
            "rate",
            |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0}/s", state.per_sec());
            },
        )
}
