//! A failed or interrupted export (a server dying, ignoring or repeating pages, Ctrl-C) leaves
//! no file under the final name and exits 3; a manifest verifies, and a tampered file does not.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use custbulk::sandbox::Options;

use super::fake::{docs_page, fake_api, next_only_page};
use super::*;
use crate::util::stderr;
use crate::util::{stdout, Workdir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_dying_mid_export_leaves_no_file_and_exits_3() {
    for (file, concurrency) in [("dead.csv", "1"), ("dead.ndjson", "4"), ("dead.xlsx", "2")] {
        let served = Arc::new(AtomicUsize::new(0));
        let counter = served.clone();
        let base = fake_api(move |page| {
            (counter.fetch_add(1, Ordering::SeqCst) < 3).then(|| docs_page(page, 50))
        })
        .await;
        let wd = Workdir::new();
        let out = custbulk(&wd, &base, &["export", file, "--concurrency", concurrency]).await;
        assert_code(&out, 3);
        assert!(stderr(&out).contains("was not written"), "{}", stderr(&out));
        assert!(
            served.load(Ordering::SeqCst) >= 3,
            "pages were served before it died"
        );
        assert_eq!(files_in(&wd), Vec::<String>::new(), "{file}");
    }
}

/// Issue 21, case 7: a list that claims `totalDocs: 1000` and serves 5 records exited 0 with a
/// warning, and a manifest that `verify` accepted. A backup short of the server's own total is
/// incomplete: exit 3 and no file, unless `--allow-incomplete` (exit 1, `complete: false` in
/// the manifest, which `verify` reports, and which `restore --prune` refuses).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_short_of_the_servers_total_is_incomplete() {
    let base = fake_api(|page| {
        let docs: Vec<Value> = (0..if page == 1 { 5 } else { 0 })
            .map(|i| json!({"_id": format!("c{i}"), "name": format!("Client {i}")}))
            .collect();
        Some(json!({"docs": docs, "totalDocs": 1000}).to_string())
    })
    .await;
    let wd = Workdir::new();
    let out = custbulk(&wd, &base, &["export", "short.ndjson"]).await;
    assert_code(&out, 3);
    assert!(
        stderr(&out).contains("says it has 1000"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        files_in(&wd),
        Vec::<String>::new(),
        "nothing under any name"
    );

    let kept = ["export", "short.ndjson", "--allow-incomplete"];
    let out = custbulk(&wd, &base, &kept).await;
    assert_code(&out, 1);
    let manifest: Value = serde_json::from_str(&wd.read("short.ndjson.manifest.json")).unwrap();
    assert_eq!(
        (&manifest["complete"], &manifest["records"]),
        (&json!(false), &json!(5))
    );
    let verify = custbulk(&wd, &base, &["verify", "short.ndjson"]).await;
    assert_code(&verify, 1);
    assert!(
        stdout(&verify).contains("incomplete"),
        "{}",
        stdout(&verify)
    );
    let prune = ["restore", "short.ndjson", "--prune", "--yes", "--force"];
    let out = custbulk(&wd, &base, &prune).await;
    assert_code(&out, 3);
    assert!(
        stderr(&out).contains("incomplete backup"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_export_leaves_an_earlier_backup_untouched() {
    let base = fake_api(|page| (page < 3).then(|| docs_page(page, 10))).await;
    let wd = Workdir::new();
    wd.write("backup.ndjson", "earlier backup\n");
    let out = custbulk(
        &wd,
        &base,
        &["export", "backup.ndjson", "--concurrency", "1"],
    )
    .await;
    assert_code(&out, 3);
    assert_eq!(wd.read("backup.ndjson"), "earlier backup\n");
    assert_eq!(files_in(&wd), ["backup.ndjson"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_ignores_page_is_caught() {
    let same = json!([{"_id": "a", "name": "A"}, {"_id": "b", "name": "B"}]).to_string();
    let array = fake_api(move |_| Some(same.clone())).await;
    let docs = fake_api(|_| Some(docs_page(1, 5))).await;
    for base in [array, docs] {
        let wd = Workdir::new();
        let out = custbulk(&wd, &base, &["export", "x.csv", "--page-size", "2"]).await;
        assert_code(&out, 3);
        assert!(stderr(&out).contains("ignores `page`"), "{}", stderr(&out));
        assert_eq!(files_in(&wd), Vec::<String>::new());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_repeats_a_later_page_is_caught() {
    // Pages 1 and 2 differ, then every page repeats page 2: a clamped `page` with no end signal.
    let base = fake_api(|page| {
        let page = page.min(2);
        Some(json!([{"_id": format!("r{page}"), "name": "N"}]).to_string())
    })
    .await;
    let wd = Workdir::new();
    let out = custbulk(&wd, &base, &["export", "x.json"]).await;
    assert_code(&out, 3);
    assert!(stderr(&out).contains("repeats pages"), "{}", stderr(&out));
    assert_eq!(files_in(&wd), Vec::<String>::new());
}

/// The hostile helper's find: a list that tells no total, only `hasNextPage`, and whose page 3
/// comes back empty although page 2 said more would follow, was exported as complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_that_breaks_off_after_promising_more_is_caught() {
    // Pages 1 and 2 say more follows; page 3 is empty (and says there is no more).
    let broken = fake_api(|page| {
        Some(match page {
            1 | 2 => next_only_page(page, 3),
            _ => next_only_page(page, 2),
        })
    })
    .await;
    let wd = Workdir::new();
    let out = custbulk(&wd, &broken, &["export", "x.ndjson"]).await;
    assert_code(&out, 3);
    assert!(
        stderr(&out).contains("page 3 came back empty"),
        "{}",
        stderr(&out)
    );
    assert_eq!(files_in(&wd), Vec::<String>::new());
    // The same list ending as it says it does (page 2 says no more) is whole.
    let whole = fake_api(|page| Some(next_only_page(page, 2))).await;
    let out = custbulk(&wd, &whole, &["export", "x.ndjson", "--output", "json"]).await;
    assert_code(&out, 0);
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["records"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manifest_verifies_and_a_tampered_file_fails() {
    let server = loaded(Options::default(), 30).await;
    let wd = Workdir::new();
    for file in ["v.csv", "v.ndjson", "v.json", "v.xlsx"] {
        let out = custbulk(&wd, &server.base_url, &["export", file]).await;
        assert_code(&out, 0);
        let out = custbulk(&wd, &server.base_url, &["verify", file, "--output", "json"]).await;
        assert_code(&out, 0);
        let verdict: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(
            (verdict["ok"].clone(), verdict["records"].clone()),
            (json!(true), json!(30))
        );
    }

    // One changed letter: same size, same count, different digest.
    let csv = wd.read("v.csv").replacen("Client 003", "Client 004", 1);
    wd.write("v.csv", csv);
    let out = custbulk(&wd, &server.base_url, &["verify", "v.csv"]).await;
    assert_code(&out, 1);
    assert!(stdout(&out).contains("does NOT match"), "{}", stdout(&out));
    assert!(stdout(&out).contains("sha256"), "{}", stdout(&out));

    // A lost line: size, digest and count all differ.
    let ndjson = wd.read("v.ndjson");
    let shorter: String = ndjson.lines().skip(1).map(|l| format!("{l}\n")).collect();
    wd.write("v.ndjson", shorter);
    let out = custbulk(&wd, &server.base_url, &["verify", "v.ndjson"]).await;
    assert_code(&out, 1);
    assert!(stdout(&out).contains("29 records"), "{}", stdout(&out));

    // A damaged workbook is a mismatch, not a crash.
    let mut xlsx = std::fs::read(wd.path("v.xlsx")).unwrap();
    let middle = xlsx.len() / 2;
    xlsx[middle] ^= 0xff;
    std::fs::write(wd.path("v.xlsx"), xlsx).unwrap();
    let out = custbulk(&wd, &server.base_url, &["verify", "v.xlsx"]).await;
    assert_code(&out, 1);

    // Nothing to read: exit 3.
    std::fs::remove_file(wd.path("v.json")).unwrap();
    assert_code(
        &custbulk(&wd, &server.base_url, &["verify", "v.json"]).await,
        3,
    );
    assert_code(
        &custbulk(&wd, &server.base_url, &["verify", "nothing.csv"]).await,
        3,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_the_export_and_removes_its_temporary_files() {
    let server = loaded(
        Options {
            latency_ms: 300,
            ..Options::default()
        },
        400,
    )
    .await;
    let wd = Workdir::new();
    let mut command = wd.command(&[
        "export",
        "x.xlsx",
        "--page-size",
        "10",
        "--concurrency",
        "1",
    ]);
    command
        .env("ICLOUDREADY_API_KEY", KEY)
        .env("ICLOUDREADY_BASE_URL", &server.base_url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().unwrap();
    // Let it get going (40 pages at 300 ms each take 12 s), then interrupt it as Ctrl-C would.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_code(&out, 3);
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    assert_eq!(files_in(&wd), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_that_never_ends_stops_at_the_page_cap() {
    // Every page brings new records and no end signal, forever.
    let base =
        fake_api(|page| Some(json!([{"_id": format!("r{page}"), "name": "N"}]).to_string())).await;
    let wd = Workdir::new();
    let out = custbulk(&wd, &base, &["export", "x.ndjson", "--max-pages", "25"]).await;
    assert_code(&out, 3);
    assert!(
        stderr(&out).contains("25 pages (--max-pages)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(files_in(&wd), Vec::<String>::new());
}
