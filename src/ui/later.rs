//! Plan, Run and Backups: the steps that need the engines to report their events (issue 24)
//! come next. Until then each says so, and gives the command that does it today.

use axum::response::Response;
use maud::{html, Markup};
use serde::Serialize;

use super::i18n::{Lang, W};
use super::layout::Step;
use super::view::{Ask, Page};

#[derive(Serialize)]
struct Later {
    step: Step,
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
        None
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

pub async fn plan(ask: Ask) -> Response {
    ask.page(&Later {
        step: Step::Plan,
        available: false,
        commands: &["custbulk import FILE --map mapping.toml --plan"],
    })
}

pub async fn run(ask: Ask) -> Response {
    ask.page(&Later {
        step: Step::Run,
        available: false,
        commands: &[
            "custbulk import FILE --map mapping.toml",
            "custbulk import FILE --map mapping.toml --resume",
            "custbulk undo FILE.journal",
        ],
    })
}

pub async fn backups(ask: Ask) -> Response {
    ask.page(&Later {
        step: Step::Backups,
        available: false,
        commands: &[
            "custbulk export backup.xlsx",
            "custbulk verify backup.xlsx",
            "custbulk diff backup.xlsx live",
            "custbulk restore backup.xlsx --plan",
        ],
    })
}
