//! The page's work in the background: an engine driven on a thread of its own (its futures
//! hold their input across awaits, so they cannot move between threads as a task's must), the
//! warnings it says there heard by the page, and its readings streamed as server-sent events.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::{Event, Sse};
use futures::Stream;

use crate::events::{self, Reading, Sink, Tally};

/// How often the page hears of a task.
const EVERY: Duration = Duration::from_millis(250);

/// Runs an engine's future on a blocking thread of its own, driven by the page's runtime: the
/// engines hold their input across awaits, so their futures cannot move between threads as
/// a task's must.
pub fn drive<T, F, Fut>(work: F) -> tokio::task::JoinHandle<T>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
{
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || runtime.block_on(work()))
}

/// [`drive`], with every warning the engine says on its thread also told to `tally`, so the
/// page shows what the terminal would print.
pub fn drive_heard<T, F, Fut>(tally: Arc<Tally>, work: F) -> tokio::task::JoinHandle<T>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
{
    let runtime = tokio::runtime::Handle::current();
    let hear: crate::log::Hear = Arc::new(move |text| tally.event(events::Event::Warning(text)));
    tokio::task::spawn_blocking(move || crate::log::heard_by(hear, || runtime.block_on(work())))
}

/// A task's readings as server-sent events: `watch` says how it stands and whether it has
/// ended; the stream ends with an `end` event, on which the page's script reloads the page.
pub fn sse<F>(watch: F) -> Sse<impl Stream<Item = Result<Event, Infallible>>>
where
    F: Fn() -> (Reading, bool) + Send + Sync + 'static,
{
    let stream = futures::stream::unfold(Some(watch), |watch| async move {
        let watch = watch?;
        let (reading, ended) = watch();
        let event = match ended {
            true => Event::default().event("end").data("end"),
            false => Event::default()
                .json_data(reading)
                .unwrap_or_else(|_| Event::default().data("{}")),
        };
        if !ended {
            tokio::time::sleep(EVERY).await;
        }
        Some((Ok(event), (!ended).then_some(watch)))
    });
    Sse::new(stream)
}
