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

use fantoccini::elements::Element;
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
    profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // Killing chromedriver leaves its chromium running (adopted by init): end the processes
        // of this session's own profile, so no test run leaves browsers behind.
        let profile = format!("user-data-dir={}", self.profile.path().display());
        let _ = Command::new("pkill").args(["-f", &profile]).status();
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
        profile,
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

/// Waits for `css` to appear, for 15 s at most. A page that reloads itself (a run's end) can
/// abort a look made during its navigation: that look is made again.
async fn appears(client: &Client, css: &str) -> Element {
    let started = Instant::now();
    loop {
        match client.find(Locator::Css(css)).await {
            Ok(found) => return found,
            Err(e) if started.elapsed() > Duration::from_secs(15) => panic!("{css}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
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

/// The tokened address, the drop zone, samples/customers.xlsx chosen.
async fn open_sample(c: &Client, s: &Served) {
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
    appears(c, "#format").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_fixes_the_sample_in_the_browser() {
    let Some(b) = browser().await else {
        return;
    };
    let s = Served::start().await;
    let c = &b.client;

    // File: the tokened address, the drop zone, the file chosen.
    open_sample(c, &s).await;
    assert_eq!(text(c, "#format").await, "XLSX");
    screenshot(c, "2-file").await;

    // Columns: every column with its field, the automatic choices kept.
    c.find(Locator::LinkText("Next: the columns →"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let first = appears(c, "select#c0").await;
    assert_eq!(first.prop("value").await.unwrap().as_deref(), Some("name"));
    screenshot(c, "3-columns").await;

    // Problems: the sample's five deliberate errors (and two warnings).
    c.find(Locator::Css("#columns button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    appears(c, "#grid").await;
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

/// `custbulk sandbox` as a person starts it, with a behaviour variant; killed when dropped.
struct SandboxCommand {
    child: Child,
    url: String,
}

impl Drop for SandboxCommand {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sandbox_command(args: &[&str]) -> SandboxCommand {
    use std::io::BufRead as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_custbulk"))
        .args(["sandbox", "--port", "0", "--token", "t0k"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("custbulk sandbox starts");
    let mut url = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    SandboxCommand {
        child,
        url: url.trim().to_string(),
    }
}

/// Opens the step at `href` from the steps bar until `shows` is on the page: the run page
/// reloads itself when its task ends, and a reload that lands after the click takes it back.
async fn open_step(client: &Client, href: &str, shows: &str) {
    let started = Instant::now();
    let link = format!("ol.steps a[href='{href}']");
    loop {
        if let Ok(step) = client.find(Locator::Css(&link)).await {
            let _ = step.click().await;
        }
        for _ in 0..20 {
            if client.find(Locator::Css(shows)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{href} never showed {shows}"
        );
    }
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// The customers the sandbox holds.
async fn customers(sandbox: &SandboxCommand) -> usize {
    let page: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/customers?limit=100", sandbox.url))
        .bearer_auth("t0k")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["docs"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_plans_runs_stops_resumes_and_undoes_in_the_browser() {
    let Some(b) = browser().await else {
        return;
    };
    // `custbulk sandbox` answering a POST with its id only (a behaviour variant), slow enough
    // for Stop to land mid-run even on a loaded machine: 100 ms a request, one at a time.
    let sandbox = sandbox_command(&[
        "--post-answer",
        "id",
        "--latency-ms",
        "100",
        "--capacity",
        "1",
    ]);
    let work = tempfile::tempdir().unwrap();
    let api = custbulk::api::Client::new(
        &sandbox.url,
        custbulk::api::ApiKey::new("t0k"),
        Default::default(),
    )
    .unwrap();
    let s = Served::with(custbulk::ui::Options {
        api: Ok(custbulk::ui::Api {
            client: api,
            writes: Default::default(),
        }),
        work: work.path().to_path_buf(),
        ..Default::default()
    })
    .await;
    let c = &b.client;
    open_sample(c, &s).await;

    // Plan: the choices, then what the run would do; nothing sent.
    click(c, "ol.steps a[href$='/plan']").await;
    appears(c, "form#choice").await;
    click(c, "form#choice button[type=submit]").await;
    appears(c, "#outcomes").await;
    assert_eq!(text(c, "#would-create").await, "35");
    assert_eq!(text(c, "#invalid").await, "5");
    assert_eq!(customers(&sandbox).await, 0, "a plan sends nothing");
    screenshot(c, "6-plan").await;

    // Run, live; Stop once a few are created.
    click(c, "form#send button").await;
    appears(c, "#live").await;
    until("a few created", || async {
        let n = c.find(Locator::Css("#n-created")).await;
        match n {
            Ok(n) => {
                n.text()
                    .await
                    .unwrap_or_default()
                    .parse::<u32>()
                    .unwrap_or(0)
                    >= 3
            }
            Err(_) => false,
        }
    })
    .await;
    screenshot(c, "7-run").await;
    click(c, "#stop").await;
    appears(c, "form#resume").await;
    assert!(text(c, "#stopped").await.contains("interrupted"));
    let created = customers(&sandbox).await;
    assert!(created > 0 && created < 35, "{created}");
    screenshot(c, "8-stopped").await;

    // Resume: the rest, none twice.
    click(c, "form#resume button").await;
    appears(c, "#done-ok").await;
    assert_eq!(customers(&sandbox).await, 35);
    assert!(c.find(Locator::Css("a#results")).await.is_ok());
    assert!(c.find(Locator::Css("a#failed")).await.is_ok());
    screenshot(c, "9-done").await;
    let run_page = c.current_url().await.unwrap();

    // Backups: the account exported, verified, and compared with itself.
    open_step(c, "/backups", "form#export").await;
    click(c, "form#export button").await;
    appears(c, "#task-done").await;
    assert!(text(c, "#task-done").await.starts_with("35 records"));
    assert_eq!(text(c, "#backups td.verify").await, "OK");
    screenshot(c, "10-backups").await;
    click(c, "#backups td.do form:first-child button").await;
    appears(c, "#diff-counts").await;
    assert_eq!(text(c, "#unchanged").await, "35");
    screenshot(c, "11-diff").await;
    c.goto(run_page.as_str()).await.unwrap();

    // Undo, with the yes its deletes need.
    click(c, "#confirm-undo").await;
    click(c, "form#undo button").await;
    until("the undo", || async {
        let run = s
            .json(&format!("{}.json", c.current_url().await.unwrap().path()))
            .await;
        run["kind"] == "undo" && !run["ended"].is_null()
    })
    .await;
    assert_eq!(customers(&sandbox).await, 0);

    // The backup restored into the emptied account, its plan first; then the restore undone.
    open_step(c, "/backups", "form[action='/backups/restore/plan'] button").await;
    click(c, "form[action='/backups/restore/plan'] button").await;
    appears(c, "#restore-plan").await;
    assert_eq!(text(c, "#r-would-create").await, "35");
    assert_eq!(customers(&sandbox).await, 0, "a plan sends nothing");
    click(c, "form#restore button").await;
    appears(c, "#confirm-undo").await;
    assert_eq!(customers(&sandbox).await, 35);
    screenshot(c, "12-restored").await;
    click(c, "#confirm-undo").await;
    click(c, "form#undo button").await;
    until("the restore undone", || async {
        customers(&sandbox).await == 0
    })
    .await;
    s.running.stop().await.unwrap();
}
