//! A minimal HTTP/1.1 server for the failures the sandbox cannot produce: dying mid-export,
//! ignoring `page`, repeating pages, a list that breaks off.

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A minimal HTTP/1.1 server on loopback, one request per connection: `respond(page)` gives
/// the body for a list request's `page`, or `None` to make the server die (stop listening and
/// drop the connection) from then on.
pub async fn fake_api(respond: impl Fn(u64) -> Option<String> + Send + Sync + 'static) -> String {
    fake_server(move |_, target| {
        let page = target
            .split(['?', '&'])
            .find_map(|kv| kv.strip_prefix("page="))
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        respond(page)
    })
    .await
}

/// [`fake_api`] for any request: `respond(method, target)` gives the body of a 200 answer.
pub async fn fake_server(
    respond: impl Fn(&str, &str) -> Option<String> + Send + Sync + 'static,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/api/v2", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&head);
            let mut request = head.split_whitespace();
            let (Some(method), Some(target)) = (request.next(), request.next()) else {
                // A connection closed before its request (a client dropping a request it no
                // longer needs) is no request: it must not count as one, nor kill the server.
                continue;
            };
            let Some(body) = respond(method, target) else {
                return; // the listener and this connection drop: the server is gone
            };
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    base
}

/// A mongoose-paginate page of two records, claiming `total_pages` pages.
pub fn docs_page(page: u64, total_pages: u64) -> String {
    let docs: Vec<Value> = (0..2)
        .map(|i| json!({"_id": format!("p{page}r{i}"), "name": format!("Client {page}-{i}"), "zipCode": "01000"}))
        .collect();
    json!({"docs": docs, "totalDocs": total_pages * 2, "limit": 2, "page": page,
           "totalPages": total_pages, "hasNextPage": page < total_pages,
           "nextPage": if page < total_pages { json!(page + 1) } else { Value::Null }})
    .to_string()
}

/// A page of two records whose envelope tells no total, only `hasNextPage` (and `page`), for
/// a list of `pages` pages; pages past them are empty.
pub fn next_only_page(page: u64, pages: u64) -> String {
    let docs: Vec<Value> = (0..if page <= pages { 2 } else { 0 })
        .map(|i| json!({"_id": format!("p{page}r{i}"), "name": format!("Client {page}-{i}")}))
        .collect();
    json!({"docs": docs, "page": page, "hasNextPage": page < pages}).to_string()
}
