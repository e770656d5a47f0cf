//! The sandbox's `capacity`: a server that serves a few requests at a time and queues the rest,
//! which the adaptive limit is tested and measured against.

use custbulk::sandbox::Options;

use crate::util::sandbox;

/// Stats of a sandbox, read over HTTP as a benchmark would.
async fn stats(server: &custbulk::sandbox::Running) -> serde_json::Value {
    let url = format!("http://{}/__sandbox/stats", server.addr);
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// Twelve requests at once against a capacity of 3: every one is answered (the others wait
/// their turn, none is refused), and never more than 3 are served at the same time.
#[tokio::test]
async fn a_capacity_queues_requests_instead_of_serving_them_all_at_once() {
    let server = sandbox(Options {
        capacity: Some(3),
        latency_ms: 30,
        ..Options::default()
    })
    .await;
    let http = reqwest::Client::new();
    let url = format!("{}/customers", server.base_url);
    let calls = (0..12).map(|_| http.get(&url).bearer_auth("k").send());
    for response in futures::future::join_all(calls).await {
        assert_eq!(response.unwrap().status(), 200);
    }
    let stats = stats(&server).await;
    assert_eq!(stats["capacity"]["limit"], 3);
    assert_eq!(
        stats["capacity"]["peak"], 3,
        "twelve requests at once fill every place, and never more: {stats}"
    );
    assert_eq!(stats["statuses"]["200"], 12);
}
