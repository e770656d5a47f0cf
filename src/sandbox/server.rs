//! The sandbox's accept loop. It serves each connection itself (hyper over tokio) instead of
//! `axum::serve`, so that a handler can make its connection vanish: a dropped write must reach
//! the client as a reset or an incomplete message, never as a status line.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// How long shutdown waits for requests in flight before cutting connections.
const GRACE: Duration = Duration::from_secs(5);

/// Put in each request's extensions: triggering it closes that request's connection at once,
/// without a response.
#[derive(Clone)]
pub(crate) struct DropSignal(Arc<Notify>);

impl DropSignal {
    pub fn trigger(&self) {
        self.0.notify_one();
    }
}

/// Accepts connections until `shutdown` changes (or its sender is dropped), then lets the
/// connections finish what they are doing, up to [`GRACE`].
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, router.clone(), shutdown.clone()));
                }
                // Out of file descriptors or a connection reset before accept: pause, go on.
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            },
            _ = shutdown.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    connections.abort_all();
}

async fn serve_connection(stream: TcpStream, router: Router, mut shutdown: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let notify = Arc::new(Notify::new());
    let signal = DropSignal(notify.clone());
    let service = service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(signal.clone());
        router.clone().oneshot(request)
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    // Returning drops `connection`, and with it the socket: that is how a drop happens.
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = notify.notified() => {}
        _ = shutdown.changed() => {
            connection.as_mut().graceful_shutdown();
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = notify.notified() => {}
            }
        }
    }
}
