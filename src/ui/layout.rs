//! The frame of every page: the head (our stylesheet and scripts, nothing from another host),
//! the six steps on top, each reachable again, and the footer.

use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Serialize;

use super::i18n::{Lang, W};

/// The steps of the flow, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    File,
    Columns,
    Problems,
    Plan,
    Run,
    Backups,
}

impl Step {
    pub const ALL: [Step; 6] = [
        Step::File,
        Step::Columns,
        Step::Problems,
        Step::Plan,
        Step::Run,
        Step::Backups,
    ];

    fn word(self) -> W {
        match self {
            Step::File => W::StepFile,
            Step::Columns => W::StepColumns,
            Step::Problems => W::StepProblems,
            Step::Plan => W::StepPlan,
            Step::Run => W::StepRun,
            Step::Backups => W::StepBackups,
        }
    }

    /// Where the step is, for the file `job` (the steps of a file need one).
    pub fn href(self, job: Option<&str>) -> Option<String> {
        match (self, job) {
            (Step::File, Some(id)) => Some(format!("/files/{id}")),
            (Step::File, None) => Some("/".into()),
            (Step::Columns, Some(id)) => Some(format!("/files/{id}/columns")),
            (Step::Problems, Some(id)) => Some(format!("/files/{id}/problems")),
            (Step::Columns | Step::Problems, None) => None,
            (Step::Plan, _) => Some("/plan".into()),
            (Step::Run, _) => Some("/run".into()),
            (Step::Backups, _) => Some("/backups".into()),
        }
    }
}

/// htmx's settings: no inline style of its own and no eval, as the page's policy forbids both.
const HTMX_CONFIG: &str =
    r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}"#;

/// A whole page.
pub fn page(
    lang: Lang,
    step: Option<Step>,
    job: Option<&str>,
    title: &str,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="htmx-config" content=(PreEscaped(HTMX_CONFIG));
                title { (title) " · custbulk" }
                link rel="stylesheet" href="/assets/ui.css";
                script src="/assets/htmx.min.js" defer {}
                script src="/assets/ui.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/" { "custbulk" }
                    nav aria-label="steps" {
                        ol.steps {
                            @for (n, s) in Step::ALL.iter().enumerate() {
                                @let current = step == Some(*s);
                                li.current[current] {
                                    @match s.href(job) {
                                        Some(href) => {
                                            a href=(href) aria-current=[current.then_some("step")] {
                                                span.n { (n + 1) } (lang.t(s.word()))
                                            }
                                        }
                                        None => {
                                            span.off title=(lang.t(W::NoFile)) {
                                                span.n { (n + 1) } (lang.t(s.word()))
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                main { (body) }
                footer { p { (lang.t(W::Footer)) } }
                div #busy role="status" aria-live="polite" { (lang.t(W::Working)) }
            }
        }
    }
}

/// A number of bytes as people read it: `13.65 kB`, `2.10 MB` (indicatif's).
pub fn bytes(n: u64) -> String {
    indicatif::DecimalBytes(n).to_string()
}

/// A count with thousands grouped, as the language writes it: `1,000,000`, `1 000 000`.
pub fn count(lang: Lang, n: u64) -> String {
    let grouped = indicatif::HumanCount(n).to_string();
    match lang {
        Lang::En => grouped,
        Lang::Fr => grouped.replace(',', "\u{202f}"),
    }
}
