//! How fast the sandbox answers, so it is never the bottleneck of an import or export run.
//!
//! 1. Simple requests per second: 10,000 customers, reqwest with many requests in flight for a
//!    few seconds, GET one customer by id, then list `limit=10`, then both mixed.
//! 2. A million customers: the time of a deep page (`page=500&limit=1000`), and of a whole
//!    export of them page by page.
//!
//! Run with `cargo bench --bench sandbox`. The client runs on the same cores as the server, so
//! the figures are for both together.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use custbulk::sandbox::{self, Options, Running};
use serde_json::{json, Map, Value};

const IN_FLIGHT: usize = 96;
const PHASE: Duration = Duration::from_secs(5);

fn customer(i: usize) -> Map<String, Value> {
    let city = ["Lyon", "Paris", "Nantes", "Lille", "Bourg-en-Bresse"][i % 5];
    let v = json!({
        "name": format!("Client {i:07}"),
        "isCompany": i % 3 != 0,
        "capital": (i % 1000) * 1000,
        "street1": format!("{} rue de la République", i % 200 + 1),
        "zipCode": format!("{:05}", i % 99_000 + 1000),
        "city": city,
        "contacts": [{"name": "Jeanne Martin", "email": format!("contact{i}@example.fr")}],
        "siret": "55212022200013",
        "status": if i % 4 == 0 { "inactif" } else { "actif" },
        "category": "commerce",
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

#[derive(Clone, Copy)]
enum Mix {
    GetOne,
    List,
    Both,
}

async fn drive(
    running: &Running,
    ids: Arc<Vec<String>>,
    mix: Mix,
    duration: Duration,
) -> (f64, u64) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(IN_FLIGHT)
        .build()
        .unwrap();
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for worker in 0..IN_FLIGHT {
        let (client, ids, ok, failed) = (client.clone(), ids.clone(), ok.clone(), failed.clone());
        let base = running.base_url.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = worker * 7919;
            while Instant::now() < deadline {
                n = n
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let one = match mix {
                    Mix::GetOne => true,
                    Mix::List => false,
                    Mix::Both => n % 2 == 0,
                };
                let url = if one {
                    format!("{base}/customers/{}", ids[(n >> 17) % ids.len()])
                } else {
                    format!("{base}/customers?limit=10&page={}", (n >> 17) % 100 + 1)
                };
                let answered = match client.get(url).bearer_auth("bench").send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                let counter = if answered { &ok } else { &failed };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    (
        ok.load(Ordering::Relaxed) as f64 / elapsed,
        failed.load(Ordering::Relaxed),
    )
}

async fn throughput() {
    let running = sandbox::start(Options::default()).await.unwrap();
    running.insert((0..10_000).map(customer).collect());
    let ids: Arc<Vec<String>> = Arc::new(
        running
            .records()
            .iter()
            .map(|r| r["_id"].as_str().unwrap().to_owned())
            .collect(),
    );
    drive(&running, ids.clone(), Mix::Both, Duration::from_secs(1)).await; // warm-up
    println!(
        "simple requests, 10,000 customers, {IN_FLIGHT} in flight, {}s each:",
        PHASE.as_secs()
    );
    for (label, mix) in [
        ("GET /customers/{id}", Mix::GetOne),
        ("GET /customers?limit=10", Mix::List),
        ("both, mixed", Mix::Both),
    ] {
        let (rate, failed) = drive(&running, ids.clone(), mix, PHASE).await;
        println!("  {label:<26} {rate:>9.0} requests/s  ({failed} failed)");
    }
    running.stop().await.unwrap();
}

async fn million() {
    let running = sandbox::start(Options::default()).await.unwrap();
    let t = Instant::now();
    for chunk in 0..100 {
        running.insert(
            (chunk * 10_000..(chunk + 1) * 10_000)
                .map(customer)
                .collect(),
        );
    }
    println!(
        "\n1,000,000 customers inserted in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let client = reqwest::Client::new();
    let get = |query: String| {
        let client = client.clone();
        let url = format!("{}/customers?{query}", running.base_url);
        async move {
            let t = Instant::now();
            let r = client.get(url).bearer_auth("bench").send().await.unwrap();
            assert!(r.status().is_success());
            let body = r.bytes().await.unwrap();
            (t.elapsed(), body.len())
        }
    };
    for (label, query) in [
        ("page 1, limit 1000 (newest)", "limit=1000&page=1"),
        ("page 500, limit 1000", "limit=1000&page=500"),
        ("page 999, limit 1000", "limit=1000&page=999"),
        (
            "page 500, sortBy=name asc",
            "limit=1000&page=500&sortBy=name&order=asc",
        ),
        (
            "page 500, p={status:actif}",
            "limit=1000&page=500&p=%7B%22status%22%3A%22actif%22%7D",
        ),
    ] {
        let (first, size) = get(query.to_owned()).await;
        let mut total = Duration::ZERO;
        let rounds = 10;
        for _ in 0..rounds {
            total += get(query.to_owned()).await.0;
        }
        println!(
            "  {label:<30} first {:>7.1} ms, then {:>6.1} ms per request ({} KB)",
            first.as_secs_f64() * 1e3,
            total.as_secs_f64() * 1e3 / rounds as f64,
            size / 1024
        );
    }
    for (label, extra) in [
        ("default order", ""),
        ("sortBy=_id asc", "&sortBy=_id&order=asc"),
    ] {
        let t = Instant::now();
        let mut bytes = 0;
        for page in 1..=1000 {
            bytes += get(format!("limit=1000&page={page}{extra}")).await.1;
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "  full export, 1000 pages, {label:<15} {secs:>5.1} s ({:.0} pages/s, {} MB)",
            1000.0 / secs,
            bytes >> 20
        );
    }
    running.stop().await.unwrap();
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        throughput().await;
        million().await;
    });
}
