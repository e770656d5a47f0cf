//! Plan, Run and Backups: the steps that need the engines to report their events (issue 24)
//! come next. Until then each says so, and gives the command that does it today.

use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};
use serde::Serialize;

use super::i18n::{Lang, W};
use super::layout::Step;
use super::server::Shared;
use super::view::{Ask, Page};

#[derive(Serialize)]
struct Later {
    step: Step,
    /// The file opened last, for the steps' links.
    file: Option<String>,
    available: bool,
    /// What does it from a terminal today.
    commands: &'static [&'static str],
}

impl Page for Later {
    fn title(&self, lang: Lang) -> String {
        lang.t(step_word(self.step)).to_string()
    }

    fn step(&self) -> Option<Step> {
        Some(self.step)
    }

    fn job(&self) -> Option<&str> {
        self.file.as_deref()
    }

    fn body(&self, lang: Lang) -> Markup {
        let what = match self.step {
            Step::Plan => W::LaterPlan,
            Step::Run => W::LaterRun,
            _ => W::LaterBackups,
        };
        html! {
            h1 { (lang.t(step_word(self.step))) }
            div.later {
                p { strong { (lang.t(W::Later)) } }
                p { (lang.t(what)) }
                pre { @for c in self.commands { (c) "\n" } }
            }
        }
    }
}

fn step_word(step: Step) -> W {
    match step {
        Step::Plan => W::StepPlan,
        Step::Run => W::StepRun,
        _ => W::StepBackups,
    }
}

/// The id of the file opened last.
fn last(state: &Shared) -> Option<String> {
    state.jobs.list().pop().map(|(id, ..)| id)
}

pub async fn plan(State(state): State<Shared>, ask: Ask) -> Response {
    ask.page(&Later {
        step: Step::Plan,
        file: last(&state),
        available: false,
        commands: &["custbulk import FILE --map mapping.toml --plan"],
    })
}

pub async fn run(State(state): State<Shared>, ask: Ask) -> Response {
    ask.page(&Later {
        step: Step::Run,
        file: last(&state),
        available: false,
        commands: &[
            "custbulk import FILE --map mapping.toml",
            "custbulk import FILE --map mapping.toml --resume",
            "custbulk undo FILE.journal",
        ],
    })
}

pub async fn backups(State(state): State<Shared>, ask: Ask) -> Response {
    ask.page(&Later {
        step: Step::Backups,
        file: last(&state),
        available: false,
        commands: &[
            "custbulk export backup.xlsx",
            "custbulk verify backup.xlsx",
            "custbulk diff backup.xlsx live",
            "custbulk restore backup.xlsx --plan",
        ],
    })
}
