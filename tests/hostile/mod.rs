//! A hostile world, and what custbulk does about it: two runs at once on one journal
//! (`locks`), a server whose list is short or repeats (`index`), a damaged journal (`journal`),
//! files a killed run left behind and help a user reads (`files`); and the client against
//! servers that misbehave in ways the sandbox does not play (`bodies`, `keys`, `urls`): bodies
//! of gigabytes, 2xx answers that are not JSON, a key echoed back, redirects to another origin,
//! paths recorded as received, each server a few lines of axum on loopback, started by the
//! test; and the flags that would leak a key (credentials in the URL, a key with a newline).

mod bodies;
mod files;
mod index;
mod journal;
mod keys;
mod locks;
mod urls;

use std::sync::{Arc, Mutex};

use axum::Router;

use crate::import::siret;

/// A CSV of customers `Client i` for each `i` of `numbers`, each with its own SIRET.
pub fn clients(numbers: std::ops::Range<u64>) -> String {
    let mut csv = String::from("name;siret;city\n");
    for i in numbers {
        csv.push_str(&format!("Client {i};{};Paris\n", siret(i)));
    }
    csv
}

/// The pid of a process that has ended (and, just reaped, is not yet reused).
pub fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("run true");
    let pid = child.id();
    child.wait().expect("reap");
    pid
}

/// Serves `app` on 127.0.0.1, port 0, from a thread of its own (so blocking tests can run the
/// binary against it); returns the API base URL (`http://127.0.0.1:PORT/api/v2`).
pub fn serve(app: Router) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{}/api/v2", rx.recv().unwrap())
}

/// What a server saw: one line per request (`METHOD /path`).
#[derive(Clone, Default)]
pub struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    pub fn push(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }

    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}
