//! Backups: the step still to come. Until then it says so, and gives the commands that do it
//! today.

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
        let what = W::LaterBackups;
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

fn step_word(_: Step) -> W {
    W::StepBackups
}

/// The id of the file opened last.
fn last(state: &Shared) -> Option<String> {
    state.jobs.list().pop().map(|(id, ..)| id)
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
