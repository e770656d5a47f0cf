//! Plan → Run → Stop → Resume → Undo through the pages' JSON twins, against a real sandbox:
//! the page's runs are the import and undo engines' own, with their files, so what the store
//! holds at each step, and what the terminal can do with a run the page started, are the
//! commands'.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use super::Served;
use crate::util::{client, project_file, sandbox, Workdir};
use custbulk::sandbox::{Options as SandboxOptions, Running as Sandbox};
use custbulk::ui::{Api, Options};

/// The page, talking to `sandbox`, keeping its runs in `work`.
async fn served(sandbox: &Sandbox, work: &Workdir) -> Served {
    Served::with(Options {
        api: Ok(Api {
            client: client(sandbox),
            writes: Default::default(),
        }),
        work: work.path("page"),
        ..Default::default()
    })
    .await
}

/// The sample opened, and planned with `form`.
async fn planned(s: &Served, form: &[(&str, &str)]) -> (String, Value) {
    let sample = std::fs::read(project_file("samples/customers.xlsx")).unwrap();
    let id = s.upload("customers.xlsx", &sample).await;
    let plan = plan_of(s, &id, form).await;
    (id, plan)
}

/// File `id` planned (again) with `form`: the Plan page's twin.
async fn plan_of(s: &Served, id: &str, form: &[(&str, &str)]) -> Value {
    let r = s.post_form(&format!("/files/{id}/plan"), form).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    s.json(&format!("/files/{id}/plan.json")).await
}

/// The choices of a plan in `mode`, matching on SIRET then name.
fn by_siret_then_name(mode: &str) -> [(&str, &str); 3] {
    [
        ("mode", mode),
        ("match_on", "siret,name"),
        ("on_duplicate", "skip-same-key"),
    ]
}

/// Polls the Run page's twin until `ready` holds, for 20 s at most.
async fn run_until(s: &Served, id: &str, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let run = s.json(&format!("/files/{id}/run.json")).await;
        if ready(&run) {
            return run;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "waited for {what}: {run}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn ended(run: &Value) -> bool {
    !run["ended"].is_null()
}

fn names(sandbox: &Sandbox) -> Vec<String> {
    sandbox
        .records()
        .iter()
        .map(|r| r["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

const CREATE: &[(&str, &str)] = &[
    ("mode", "create"),
    ("match_on", ""),
    ("on_duplicate", "skip-same-key"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_is_the_commands_and_nothing_is_sent_before_the_run() {
    let sandbox = sandbox(SandboxOptions::default()).await;
    let work = Workdir::new();
    let s = served(&sandbox, &work).await;
    let (id, plan) = planned(&s, CREATE).await;
    assert_eq!(plan["plan"]["outcomes"]["would-create"], 35);
    assert_eq!(plan["plan"]["outcomes"]["invalid"], 5);
    assert_eq!(plan["plan"]["invalid"].as_array().unwrap().len(), 5);
    assert!(sandbox.records().is_empty(), "a plan sends nothing");

    // The page's plan is the command's: the same file and mapping, planned from a terminal.
    let command = plan["plan"]["command"].as_str().unwrap().to_string();
    let args: Vec<&str> = command.split(' ').skip(1).collect();
    let out = work
        .command(&args)
        .args(["--base-url", &sandbox.base_url, "--output", "json"])
        .env("ICLOUDREADY_API_KEY", "test-key")
        .output()
        .unwrap();
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["outcomes"], plan["plan"]["outcomes"], "{command}");

    // The run, then the same rows planned again: each is now a customer to update, none
    // changed (an upsert on the SIRET finds them).
    let r = s.post_form(&format!("/files/{id}/run"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let run = run_until(&s, &id, "the run's end", ended).await;
    assert_eq!(run["ended"]["outcomes"]["created"], 35);
    assert_eq!(sandbox.records().len(), 35);

    // The same file planned as a create again: every row a likely duplicate, and the engine's
    // warning that the run would stop before sending any.
    let again = plan_of(&s, &id, CREATE).await;
    assert_eq!(
        again["plan"]["outcomes"]["skipped-duplicate"], 35,
        "{again}"
    );
    assert_eq!(again["plan"]["duplicates"].as_array().unwrap().len(), 35);
    let warning = again["plan"]["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("would stop before sending any"),
        "{warning}"
    );
    let again = plan_of(&s, &id, &by_siret_then_name("upsert")).await;
    assert_eq!(again["plan"]["outcomes"]["unchanged"], 35, "{again}");
    // The plan the next one replaced, never run, left no folder; the run's folder stays.
    let folders = std::fs::read_dir(work.path("page/runs")).unwrap().count();
    assert_eq!(folders, 2, "the run's folder and the last plan's");

    // A list that changes one customer's city: the plan shows it field by field.
    let record = sandbox.records()[0].clone();
    let (name, siret) = (
        record["name"].as_str().unwrap(),
        record["siret"].as_str().unwrap(),
    );
    let city = record
        .get("city")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let csv = format!("Raison sociale,N° SIRET,Ville\n{name},{siret},Tataouine\n");
    let other = s.upload("moved.csv", csv.as_bytes()).await;
    let upsert_siret = [
        ("mode", "upsert"),
        ("match_on", "siret"),
        ("on_duplicate", "skip-same-key"),
    ];
    s.post_form(&format!("/files/{other}/plan"), &upsert_siret)
        .await;
    let moved = s.json(&format!("/files/{other}/plan.json")).await;
    assert_eq!(moved["plan"]["outcomes"]["would-update"], 1, "{moved}");
    let change = &moved["plan"]["updates"][0]["changes"][0];
    assert_eq!(change["field"], "city");
    assert_eq!(change["after"], "\"Tataouine\"");
    assert!(
        change["before"].as_str().unwrap().contains(&city),
        "{change}"
    );
    assert_eq!(
        sandbox.records()[0].get("city"),
        record.get("city"),
        "a plan changes nothing"
    );
    s.running.stop().await.unwrap();
}

/// The sample planned and run against a sandbox slow enough that a stop lands mid-run (40 ms
/// a request, two at a time), once `after` customers are created: the run as it stands.
async fn under_way(after: u64) -> (Sandbox, Workdir, Served, String, Value) {
    let sandbox = sandbox(SandboxOptions {
        latency_ms: 40,
        capacity: Some(2),
        ..Default::default()
    })
    .await;
    let work = Workdir::new();
    let s = served(&sandbox, &work).await;
    let (id, _) = planned(&s, CREATE).await;
    s.post_form(&format!("/files/{id}/run"), &[]).await;
    let run = run_until(&s, &id, "a few rows sent", |r| {
        r["reading"]["outcomes"]["created"].as_u64() >= Some(after)
    })
    .await;
    (sandbox, work, s, id, run)
}

/// As [`under_way`], then Stop pressed.
async fn stopped_mid_run(after: u64) -> (Sandbox, Workdir, Served, String, Value) {
    let (sandbox, work, s, id, _) = under_way(after).await;
    let r = s.post_form(&format!("/files/{id}/run/stop"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let stopped = run_until(&s, &id, "the stop", ended).await;
    (sandbox, work, s, id, stopped)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stopped_in_the_page_resumes_and_undoes_without_a_lost_or_doubled_customer() {
    let (sandbox, _work, s, id, stopped) = stopped_mid_run(4).await;
    let created = stopped["ended"]["outcomes"]["created"].as_u64().unwrap();
    assert!(created < 35, "stopped mid-run: {stopped}");
    assert!(stopped["ended"]["resumable"].as_bool().unwrap());
    assert!(stopped["ended"]["outcomes"]["skipped"].as_u64().unwrap() > 0);
    assert_eq!(sandbox.records().len() as u64, created);

    // Resume: the rest, and nothing twice.
    let r = s.post_form(&format!("/files/{id}/run/resume"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let resumed = run_until(&s, &id, "the resumed run", |r| {
        r["kind"] == "resume" && ended(r)
    })
    .await;
    assert_eq!(resumed["ended"]["error"], Value::Null, "{resumed}");
    let names = names(&sandbox);
    assert_eq!(names.len(), 35);
    assert_eq!(
        names.iter().collect::<BTreeSet<_>>().len(),
        35,
        "no customer twice"
    );

    // Undo deletes the customers the import created: it needs the same yes as the command.
    assert_eq!(resumed["undo_deletes"], 35);
    let r = s.post_form(&format!("/files/{id}/run/undo"), &[]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(sandbox.records().len(), 35, "nothing sent without the yes");
    s.post_form(&format!("/files/{id}/run/undo"), &[("confirm", "yes")])
        .await;
    let undone = run_until(&s, &id, "the undo", |r| r["kind"] == "undo" && ended(r)).await;
    assert_eq!(undone["ended"]["outcomes"]["deleted"], 35, "{undone}");
    assert!(sandbox.records().is_empty());
    s.running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undo_of_a_stopped_run_shows_the_warning_the_command_prints() {
    // Why: where a command prints a warning the page shows it too (issue 26). Undo warns before
    // its progress starts that an unfinished import's rows in flight are not undone; the page
    // hears it from the engine's thread.
    let (sandbox, _work, s, id, stopped) = stopped_mid_run(4).await;
    let created = stopped["ended"]["outcomes"]["created"].as_u64().unwrap();
    s.post_form(&format!("/files/{id}/run/undo"), &[("confirm", "yes")])
        .await;
    let undone = run_until(&s, &id, "the undo", |r| r["kind"] == "undo" && ended(r)).await;
    let warnings = undone["reading"]["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("did not finish")),
        "{undone}"
    );
    assert_eq!(undone["ended"]["outcomes"]["deleted"], created, "{undone}");
    assert!(sandbox.records().is_empty());
    s.running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_under_way_when_the_page_stops_is_finished_from_the_terminal() {
    // Why: the page's runs keep the command's files, so a person can go on at a terminal; and
    // stopping custbulk ui stops its runs as Ctrl-C stops a command (journaled, resumable).
    let (sandbox, work, s, _, running) = under_way(2).await;
    s.running.stop().await.unwrap();
    let runs: Vec<_> = std::fs::read_dir(work.path("page/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let journal = std::fs::read_to_string(runs[0].join("customers.journal")).unwrap();
    let last = journal.lines().last().unwrap();
    assert!(last.contains("\"complete\":false"), "{last}");
    assert!(sandbox.records().len() < 35);
    let resume = running["commands"][1].as_str().unwrap().to_string();
    assert!(resume.ends_with("--resume"), "{resume}");
    let args: Vec<String> = resume.split(' ').skip(1).map(String::from).collect();
    let mut command = work.command(&[]);
    command
        .args(&args)
        .args(["--base-url", &sandbox.base_url])
        .env("ICLOUDREADY_API_KEY", "test-key");
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "5 invalid rows: {:?}", out);
    let names = names(&sandbox);
    assert_eq!(names.len(), 35);
    assert_eq!(
        names.iter().collect::<BTreeSet<_>>().len(),
        35,
        "no customer twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_from_the_page_needs_the_yes_the_command_needs() {
    let sandbox = sandbox(SandboxOptions::default()).await;
    let work = Workdir::new();
    let s = served(&sandbox, &work).await;
    let (id, _) = planned(&s, CREATE).await;
    s.post_form(&format!("/files/{id}/run"), &[]).await;
    run_until(&s, &id, "the import", ended).await;
    let plan = plan_of(&s, &id, &by_siret_then_name("delete")).await;
    let deletes = plan["plan"]["outcomes"]["would-delete"].as_u64().unwrap();
    assert!(deletes > 30, "{plan}");
    assert!(
        plan["plan"]["deletes"].as_u64().unwrap() >= deletes,
        "{plan}"
    );
    let r = s.post_form(&format!("/files/{id}/run"), &[]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        sandbox.records().len(),
        35,
        "nothing deleted without the yes"
    );
    s.post_form(&format!("/files/{id}/run"), &[("confirm", "yes")])
        .await;
    let run = run_until(&s, &id, "the delete", |r| {
        ended(r) && r["ended"]["outcomes"]["deleted"].is_u64()
    })
    .await;
    assert_eq!(run["ended"]["outcomes"]["deleted"], deletes);
    assert_eq!(sandbox.records().len() as u64, 35 - deletes);
    s.running.stop().await.unwrap();
}
