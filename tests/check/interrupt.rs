//! A probe stopped half-way: Ctrl-C deletes its customer before exiting, and after kill -9 the
//! next probe finds the customer by its marked name and deletes it.

use std::process::{Child, Stdio};

use custbulk::sandbox::Options;
use serde_json::Value;

use super::{probe, server};
use crate::util::{wait_until, Server, Workdir};

/// Slow enough that the probe is surely between its POST and its DELETE when stopped.
fn slow() -> Server {
    server(Options {
        latency_ms: 100,
        ..Options::default()
    })
}

fn is_probe(record: &serde_json::Map<String, Value>) -> bool {
    record["name"]
        .as_str()
        .is_some_and(|n| n.starts_with("custbulk check ") && n.ends_with(", safe to delete"))
}

/// Starts `check --write` and returns once its customer is stored.
fn started(dir: &Workdir, server: &Server) -> Child {
    let child = dir
        .against(server, &["--output", "json", "check", "--write"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run custbulk");
    wait_until(|| server.records().iter().any(is_probe));
    assert!(
        server.records().iter().any(is_probe),
        "the probe's POST never arrived"
    );
    child
}

#[test]
fn after_kill_9_the_next_probe_deletes_what_the_killed_one_left() {
    let server = slow();
    let before = server.records();
    let dir = Workdir::new();
    let mut child = started(&dir, &server);
    child.kill().unwrap();
    child.wait().unwrap();
    let left: Vec<String> = server
        .records()
        .iter()
        .filter(|r| is_probe(r))
        .map(|r| r["_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(left.len(), 1, "the killed probe left its customer");

    let run = probe(&dir, &server, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let leftovers = &run.json()["write"]["leftovers"];
    assert_eq!(leftovers[0]["id"], left[0].as_str());
    assert_eq!(leftovers[0]["deleted"], true);
    assert_eq!(leftovers.as_array().unwrap().len(), 1);
    assert!(
        run.stderr.contains(&format!("Deleted {}", left[0])),
        "{}",
        run.stderr
    );
    assert_eq!(
        server.records(),
        before,
        "the store is as it was before both"
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_mid_probe_deletes_the_customer_then_exits_3() {
    let server = slow();
    let before = server.records();
    let dir = Workdir::new();
    let child = started(&dir, &server);
    // SAFETY: sending a signal to a child process we started and still own.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(sent, 0);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("Interrupted"), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let write = &report["write"];
    assert_eq!(
        (&write["interrupted"], &write["cleaned_up"]),
        (&Value::Bool(true), &Value::Bool(true)),
        "{write:#}"
    );
    assert_eq!(server.records(), before, "the probe's customer is gone");
}
