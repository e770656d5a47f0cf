//! An upsert of a large file matches rows through an index of the server's whole list: a list
//! that is short or repeats must stop the import before anything is sent, or every customer
//! the index misses is created a second time.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::clients;
use crate::export::fake::fake_server;
use crate::export::{assert_code, custbulk};
use crate::import::siret;
use crate::util::{stderr, Workdir};

/// The server's customers: `Client 0` to `Client 1499`, as the input has them.
const STORED: u64 = 1500;
const PAGE: u64 = 1000;

/// How the fake server answers `page` of the list.
#[derive(Clone, Copy)]
enum List {
    Whole,
    /// Pages after the first are empty, though `totalDocs` and `hasNextPage` say there is more.
    Short,
    /// Every page is page 1.
    Repeating,
    /// No total, only `hasNextPage`: page 1 says more follows, page 2 is empty.
    BrokenOff,
}

fn page_of(list: List, page: u64) -> String {
    if let List::BrokenOff = list {
        let docs: Vec<Value> = (0..if page == 1 { PAGE } else { 0 })
            .map(|i| json!({"_id": format!("c{i}"), "name": format!("Client {i}"), "siret": siret(i)}))
            .collect();
        return json!({"docs": docs, "limit": PAGE, "page": page, "hasNextPage": page == 1})
            .to_string();
    }
    let page_shown = match list {
        List::Repeating => 1,
        _ => page,
    };
    let first = (page_shown - 1) * PAGE;
    let last = match list {
        List::Short if page > 1 => first,
        _ => (first + PAGE).min(STORED),
    };
    let docs: Vec<Value> = (first..last)
        .map(|i| json!({"_id": format!("c{i}"), "name": format!("Client {i}"), "siret": siret(i), "city": "Paris"}))
        .collect();
    let pages = STORED.div_ceil(PAGE);
    json!({"docs": docs, "totalDocs": STORED, "limit": PAGE, "page": page, "totalPages": pages,
           "hasNextPage": page < pages, "nextPage": if page < pages { json!(page + 1) } else { Value::Null }})
    .to_string()
}

/// Upserts 400 rows (100 on the list's first page, 300 on its second) against a server whose
/// list is `list`; returns the run and every request that was not a GET.
async fn upsert(list: List) -> (std::process::Output, Vec<String>) {
    let writes = Arc::new(Mutex::new(Vec::new()));
    let seen = writes.clone();
    let base = fake_server(move |method, target| {
        if method != "GET" {
            seen.lock().unwrap().push(format!("{method} {target}"));
            return Some("{}".into());
        }
        let page = target
            .split(['?', '&'])
            .find_map(|kv| kv.strip_prefix("page="))
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        Some(page_of(list, page))
    })
    .await;
    let wd = Workdir::new();
    wd.write("big.csv", clients(900..1300));
    let args = [
        "import",
        "big.csv",
        "--mode",
        "upsert",
        "--match-on",
        "siret",
        "--no-progress",
    ];
    let out = custbulk(&wd, &base, &args).await;
    let writes = writes.lock().unwrap().clone();
    (out, writes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_list_matches_every_row() {
    let (out, writes) = upsert(List::Whole).await;
    assert_code(&out, 0);
    assert!(writes.is_empty(), "every row is unchanged: {writes:?}");
}

/// Issue 14, item 2: a list cut short gave an index missing customers, and upsert created them
/// again with exit 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_shorter_than_its_total_stops_the_upsert_before_any_write() {
    let (out, writes) = upsert(List::Short).await;
    assert_code(&out, 3);
    let message = stderr(&out);
    assert!(
        message.contains("1500 customers") && message.contains("gave 1000"),
        "{message}"
    );
    assert!(message.contains("nothing was sent"), "{message}");
    assert!(writes.is_empty(), "nothing was sent: {writes:?}");
}

/// Issue 14, item 2: a server that answers page 1 for every page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_that_repeats_its_first_page_stops_the_upsert_before_any_write() {
    let (out, writes) = upsert(List::Repeating).await;
    assert_code(&out, 3);
    let message = stderr(&out);
    assert!(message.contains("ignores `page`"), "{message}");
    assert!(writes.is_empty(), "nothing was sent: {writes:?}");
}

/// The hostile helper's find: with no total to compare with, a list that breaks off after its
/// first page (which said more would follow) gave an index of 1000 of the 1500 customers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_that_breaks_off_after_promising_more_stops_the_upsert_before_any_write() {
    let (out, writes) = upsert(List::BrokenOff).await;
    assert_code(&out, 3);
    let message = stderr(&out);
    assert!(
        message.contains("page 2 of the list came back empty"),
        "{message}"
    );
    assert!(message.contains("nothing was sent"), "{message}");
    assert!(writes.is_empty(), "nothing was sent: {writes:?}");
}
