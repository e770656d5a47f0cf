//! Containing calamine's panics: some damaged workbooks trip assertions inside it. A panic
//! there becomes a clean "unreadable file" error, and the panic hook stays quiet about it,
//! while a panic anywhere else is still reported as the bug it is.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static CONTAINED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`; a panic inside it is returned as `None` without a message on stderr.
pub(crate) fn contain<T>(f: impl FnOnce() -> T) -> Option<T> {
    install_hook();
    let was = CONTAINED.with(|c| c.replace(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(f));
    CONTAINED.with(|c| c.set(was));
    outcome.ok()
}

/// Wraps the panic hook once, so it says nothing for panics that [`contain`] catches.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !CONTAINED.with(Cell::get) {
                default(info);
            }
        }));
    });
}
