//! The flow in a real browser: Debian's chromium, headless, driven through chromedriver with
//! fantoccini (the WebDriver protocol: the same calls a person's clicks and keys make, and
//! downloads land on disk as they do for people). One browser walks File → Columns → Problems
//! with samples/customers.xlsx, fixes a cell in the grid and downloads the fixed file, which
//! the engine then checks.
//!
//! Without chromium and chromedriver the test says it was skipped and passes, so `cargo test`
//! on a machine without them still passes; `CUSTBULK_BROWSER_TESTS=require` (set by .ci/run,
//! which installs them) makes a missing browser a failure. `CUSTBULK_UI_SCREENSHOTS=1` saves a
//! screenshot of each step under docs/ui/ (the README shows them).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use super::Served;
use crate::util::project_file;

/// chromedriver, and the browser session it runs; both end when dropped.
struct Browser {
    client: Client,
    driver: Child,
    downloads: tempfile::TempDir,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A program found on the PATH (or at an absolute path).
fn program(name: &str) -> Option<PathBuf> {
    if Path::new(name).is_absolute() {
        return Path::new(name).exists().then(|| name.into());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Starts chromedriver and a headless chromium; `None` (after saying so) when the machine has
/// none and the tests do not require one.
async fn browser() -> Option<Browser> {
    let required = std::env::var("CUSTBULK_BROWSER_TESTS").is_ok_and(|v| v == "require");
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(program);
    let driver = program("chromedriver");
    let (Some(chromium), Some(driver)) = (chromium, driver) else {
        assert!(
            !required,
            "CUSTBULK_BROWSER_TESTS=require, but chromium or chromedriver is missing \
             (apt-get install chromium chromium-driver)"
        );
        eprintln!("skipped: the browser tests need chromium and chromedriver");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::tempdir().unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,860", "--lang=en-US",
                format!("--user-data-dir={}", profile.path().display()),
            ],
            "prefs": {
                "download.default_directory": downloads.path(),
                "download.prompt_for_download": false,
                "intl.accept_languages": "en-US,en",
            },
        },
    });
    let caps = caps.as_object().unwrap().clone();
    let started = Instant::now();
    let client = loop {
        let connected = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        match connected {
            Ok(client) => break client,
            Err(e) if started.elapsed() > Duration::from_secs(20) => {
                panic!("no browser session through chromedriver: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    Some(Browser {
        client,
        driver,
        downloads,
        _profile: profile,
    })
}

/// Saves the page as docs/ui/NAME.png when asked (never in CI, which must not rewrite them).
async fn screenshot(client: &Client, name: &str) {
    if std::env::var("CUSTBULK_UI_SCREENSHOTS").is_ok_and(|v| v == "1") {
        let png = client.screenshot().await.unwrap();
        let path = project_file(&format!("docs/ui/{name}.png"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

async fn text(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// Polls until `ready` holds, for 15 s at most.
async fn until<F: std::future::Future<Output = bool>>(what: &str, ready: impl Fn() -> F) {
    let started = Instant::now();
    while !ready().await {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "waited for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_fixes_the_sample_in_the_browser() {
    let Some(b) = browser().await else {
        return;
    };
    let s = Served::start().await;
    let c = &b.client;

    // File: the tokened address, the drop zone, the file chosen.
    c.goto(&s.running.url).await.unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/");
    assert!(
        c.current_url().await.unwrap().query().is_none(),
        "the token left the address"
    );
    screenshot(c, "1-drop").await;
    let sample = project_file("samples/customers.xlsx");
    c.find(Locator::Css("input#file"))
        .await
        .unwrap()
        .send_keys(sample.to_str().unwrap())
        .await
        .unwrap();
    c.wait().for_element(Locator::Css("#format")).await.unwrap();
    assert_eq!(text(c, "#format").await, "XLSX");
    screenshot(c, "2-file").await;

    // Columns: every column with its field, the automatic choices kept.
    c.find(Locator::LinkText("Next: the columns →"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let first = c
        .wait()
        .for_element(Locator::Css("select#c0"))
        .await
        .unwrap();
    assert_eq!(first.prop("value").await.unwrap().as_deref(), Some("name"));
    screenshot(c, "3-columns").await;

    // Problems: the sample's five deliberate errors (and two warnings).
    c.find(Locator::Css("#columns button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Css("#grid")).await.unwrap();
    assert_eq!(text(c, "#invalid").await, "5");
    assert_eq!(text(c, "#warnings").await, "2");
    let rows = c.find_all(Locator::Css("#grid tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 7);
    let errors = c.find_all(Locator::Css("#grid td.error")).await.unwrap();
    assert_eq!(errors.len(), 5);
    screenshot(c, "4-problems").await;

    // One cell fixed in the grid: its row checked again at once, the counts with it.
    let capital = c
        .find(Locator::Css("#row-18 td:nth-child(4) input"))
        .await
        .unwrap();
    assert_eq!(
        capital.prop("value").await.unwrap().as_deref(),
        Some("15 000,50")
    );
    // Select all, type over it, Tab: one change, as a person makes it (clearing first would
    // send an edit of its own).
    capital
        .send_keys("\u{e009}a\u{e000}15 000\u{e004}")
        .await
        .unwrap();
    until("row 18 fixed", || async {
        // The row is swapped while it is looked at: a stale one is not ready yet.
        let Ok(row) = c.find(Locator::Css("#row-18")).await else {
            return false;
        };
        let class = row.attr("class").await.ok().flatten();
        class.unwrap_or_default().contains("fixed")
    })
    .await;
    assert_eq!(text(c, "#invalid").await, "4");
    assert!(c
        .find_all(Locator::Css("#row-18 td.error"))
        .await
        .unwrap()
        .is_empty());
    screenshot(c, "5-fixed").await;

    // The fixed file, downloaded as a person downloads it, and checked by the engine.
    c.find(Locator::Css("a[href$='/fixed']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let fixed = b.downloads.path().join("customers.fixed.xlsx");
    until("the download", || async { fixed.exists() }).await;
    let input = custbulk::pipeline::Input {
        file: fixed.clone(),
        ..Default::default()
    };
    let mut pipeline =
        custbulk::pipeline::Pipeline::open(&input, &custbulk::validate::ValidateOptions::default())
            .unwrap();
    let mut row = custbulk::validate::Checked::new();
    let mut invalid = Vec::new();
    while pipeline.next(&mut row).unwrap() {
        if !row.blank_row && !row.is_valid() {
            invalid.push(row.row);
        }
    }
    assert_eq!(
        invalid,
        [9, 14, 27, 33],
        "row 18 is fixed, the others are not"
    );
    s.running.stop().await.unwrap();
}
