//! Export → verify → diff → restore from the Backups step, against a real sandbox: the backups
//! are the export engine's, in the page's one folder; a diff shows what changed since, field
//! by field; a restore, planned first, makes the account equal to the backup again.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::Served;
use crate::util::{client, sandbox, Workdir};
use custbulk::sandbox::Options as SandboxOptions;
use custbulk::ui::{Api, Options};

async fn backups_until(s: &Served, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let page = s.json("/backups.json").await;
        if ready(&page) {
            return page;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "waited for {what}: {page}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every stored customer's `field`, sorted.
fn sorted(sandbox: &custbulk::sandbox::Running, field: &str) -> Vec<String> {
    let mut values: Vec<String> = sandbox
        .records()
        .iter()
        .map(|r| r[field].as_str().unwrap_or_default().to_string())
        .collect();
    values.sort();
    values
}

fn task_ended(page: &Value) -> bool {
    !page["task"][2].is_null()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_is_exported_verified_compared_and_restored_from_the_page() {
    let sandbox = sandbox(SandboxOptions::default()).await;
    let http = reqwest::Client::new();
    for (name, city) in [("Alpha", "Lyon"), ("Beta", "Nantes"), ("Gamma", "Lille")] {
        let r = http
            .post(format!("{}/customers", sandbox.base_url))
            .bearer_auth("k")
            .json(&json!({"name": name, "city": city}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    let work = Workdir::new();
    let s = Served::with(Options {
        api: Ok(Api {
            client: client(&sandbox),
            writes: Default::default(),
        }),
        work: work.path("page"),
        ..Default::default()
    })
    .await;

    // Export, into the page's folder, verified.
    let r = s
        .post_form("/backups/export", &[("format", "json"), ("q", "")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = backups_until(&s, "the export", task_ended).await;
    assert!(
        page["task"][2]["Ok"]
            .as_str()
            .unwrap()
            .starts_with("3 records"),
        "{page}"
    );
    let backup = &page["backups"][0];
    assert_eq!(
        (backup["records"].as_u64(), backup["ok"].as_bool()),
        (Some(3), Some(true)),
        "{page}"
    );
    let name = backup["name"].as_str().unwrap().to_string();
    assert!(work.path("page/backups").join(&name).is_file());

    // The account changes: one customer gone, one moved.
    let records = sandbox.records();
    let id = |i: usize| records[i]["_id"].as_str().unwrap().to_string();
    http.delete(format!("{}/customers/{}", sandbox.base_url, id(0)))
        .bearer_auth("k")
        .send()
        .await
        .unwrap();
    http.patch(format!("{}/customers/{}", sandbox.base_url, id(1)))
        .bearer_auth("k")
        .json(&json!({"city": "Brest"}))
        .send()
        .await
        .unwrap();

    // The diff, backup → account, field by field.
    let r = s
        .post_form("/backups/diff", &[("old", &name), ("new", "live")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let diff = s.json("/backups.json").await["diff"].clone();
    let counts = &diff["summary"];
    assert_eq!(
        (
            counts["removed"].as_u64(),
            counts["changed"].as_u64(),
            counts["unchanged"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{diff}"
    );
    let changed = diff["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l[0] == "changed")
        .unwrap();
    assert_eq!(changed[3], "city");
    assert_eq!(
        (changed[4].as_str(), changed[5].as_str()),
        (Some("Nantes"), Some("Brest"))
    );

    // A name that is not one of the page's backups is never opened.
    let r = s
        .post_form(
            "/backups/diff",
            &[("old", "../../etc/passwd"), ("new", "live")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Restore: its plan first (nothing sent), then the run.
    s.post_form("/backups/restore/plan", &[("backup", &name)])
        .await;
    let plan = s.json("/backups.json").await["restore"].clone();
    assert_eq!(plan["outcomes"]["would-create"], 1, "{plan}");
    assert_eq!(plan["outcomes"]["would-update"], 1, "{plan}");
    assert_eq!(sandbox.records().len(), 2, "a plan sends nothing");
    let r = s.post_form("/backups/restore", &[("backup", &name)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = backups_until(&s, "the restore", |p| {
        p["task"][0] == "restore" && task_ended(p)
    })
    .await;
    assert!(page["task"][2]["Ok"].is_string(), "{page}");
    assert_eq!(sorted(&sandbox, "city"), ["Lille", "Lyon", "Nantes"]);

    // Undo of the restore, from its journal: the customer it created needs a yes...
    assert_eq!(page["undo_deletes"], 1, "{page}");
    let r = s
        .post_form("/backups/restore/undo", &[("backup", &name)])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(sandbox.records().len(), 3, "nothing sent without the yes");
    // ...then it is deleted, and the customer it changed is put back: the account is as it was.
    let r = s
        .post_form(
            "/backups/restore/undo",
            &[("backup", name.as_str()), ("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = backups_until(&s, "the undo", |p| p["task"][0] == "undo" && task_ended(p)).await;
    assert!(page["task"][2]["Ok"].is_string(), "{page}");
    assert_eq!(sorted(&sandbox, "city"), ["Brest", "Lille"]);
    assert!(
        page["undo_deletes"].is_null(),
        "an undo is not offered twice"
    );
    s.running.stop().await.unwrap();
}

/// Stop in the Backups step, as Ctrl-C for the commands: an export stopped keeps no file; a
/// restore stopped keeps what it did, and Resume goes on from its journal. The customers have
/// no SIRET, so only the journal tells which the stopped run created: the account then holds
/// each customer of the backup once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_or_a_restore_stops_from_the_page_and_a_stopped_restore_resumes() {
    let customer = |i: usize| {
        let record = json!({"name": format!("Client {i:04}"), "city": "Lyon"});
        record.as_object().unwrap().clone()
    };
    let work = Workdir::new();
    let page_on = |sandbox: &custbulk::sandbox::Running| Options {
        api: Ok(Api {
            client: client(sandbox),
            writes: Default::default(),
        }),
        work: work.path("page"),
        ..Default::default()
    };
    let folder = work.path("page/backups");
    let files = || {
        let mut names: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };

    // An export stopped after its first page (of 50, one at a time, 100 ms each): an error
    // that says so, and no file.
    let slow = sandbox(SandboxOptions {
        latency_ms: 100,
        capacity: Some(1),
        ..Default::default()
    })
    .await;
    slow.insert((0..5_000).map(customer).collect());
    let s = Served::with(page_on(&slow)).await;
    s.post_form("/backups/export", &[("format", "json"), ("q", "")])
        .await;
    backups_until(&s, "the first page", |p| {
        p["task"][1]["done"].as_u64().is_some_and(|done| done > 0)
    })
    .await;
    let r = s.post_form("/backups/stop", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = backups_until(&s, "the stop", task_ended).await;
    let why = page["task"][2]["Err"].as_str().unwrap_or_default();
    assert!(why.contains("interrupted"), "{page}");
    assert!(files().is_empty(), "a stopped export leaves nothing behind");
    s.running.stop().await.unwrap();

    // A backup of 400 customers...
    let source = sandbox(SandboxOptions::default()).await;
    source.insert((0..400).map(customer).collect());
    let s = Served::with(page_on(&source)).await;
    s.post_form("/backups/export", &[("format", "ndjson"), ("q", "")])
        .await;
    let page = backups_until(&s, "the export", task_ended).await;
    let name = page["backups"][0]["name"].as_str().unwrap().to_string();
    s.running.stop().await.unwrap();

    // ...restored into an empty account, 2 at a time at 10 ms: stopped after 20.
    let target = sandbox(SandboxOptions {
        latency_ms: 10,
        capacity: Some(2),
        ..Default::default()
    })
    .await;
    let s = Served::with(page_on(&target)).await;
    s.post_form("/backups/restore/plan", &[("backup", &name)])
        .await;
    let r = s.post_form("/backups/restore", &[("backup", &name)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    backups_until(&s, "20 created", |_| target.len() >= 20).await;
    s.post_form("/backups/stop", &[]).await;
    let page = backups_until(&s, "the stop", task_ended).await;
    let why = page["task"][2]["Err"].as_str().unwrap_or_default();
    assert!(why.contains("interrupted"), "{page}");
    assert_eq!(page["task"][3], name.as_str(), "{page}");
    let created = target.len();
    assert!(created < 400, "stopped mid-way: {created} created");

    let r = s
        .post_form("/backups/restore/resume", &[("backup", &name)])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = backups_until(&s, "the resumed restore", task_ended).await;
    assert!(page["task"][2]["Ok"].is_string(), "{page}");
    let expected: Vec<String> = (0..400).map(|i| format!("Client {i:04}")).collect();
    assert_eq!(
        sorted(&target, "name"),
        expected,
        "each customer once, none lost"
    );
    s.running.stop().await.unwrap();
}
