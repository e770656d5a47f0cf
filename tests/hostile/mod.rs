//! The client against servers that misbehave in ways the sandbox does not play: bodies of
//! gigabytes, 2xx answers that are not JSON, a key echoed back, redirects to another origin,
//! paths recorded as received. Each server is a few lines of axum on loopback, started by the
//! test; and the flags that would leak a key (credentials in the URL, a key with a newline).

mod bodies;
mod keys;
mod urls;

use std::sync::{Arc, Mutex};

use axum::Router;

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
