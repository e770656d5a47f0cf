//! `custbulk sandbox` as users and scripts run it: the URL on stdout's first line, SIGTERM
//! saves `--data`, bad flags are usage errors.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_custbulk");

/// Starts `custbulk sandbox --port 0 ARGS --data PATH` and reads the URL it prints first.
fn start(args: &[&str], path: &std::path::Path) -> (std::process::Child, String) {
    let mut child = Command::new(BIN)
        .args(["sandbox", "--port", "0"])
        .args(args)
        .arg("--data")
        .arg(path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    (child, url.trim().to_owned())
}

#[tokio::test]
async fn the_command_prints_a_url_that_answers_and_saves_data_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.json");
    let (child, url) = start(&["--token", "t0k"], &path);
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/api/v2"),
        "{url:?}"
    );

    custbulk::api::install_tls_provider();
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{url}/customers"))
        .bearer_auth("t0k")
        .json(&json!({"name": "Saved"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let refused = client
        .get(format!("{url}/customers"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    drop(client);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("export ICLOUDREADY_BASE_URL={url}")),
        "{stderr}"
    );
    let saved: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(saved.as_array().unwrap().len(), 1);
    assert_eq!(saved[0]["name"], "Saved");
}

/// A sandbox holding many customers stops at once on SIGTERM, with `--data` written whole
/// first. It used to read every customer back into a map to count them, then free the store
/// one customer at a time: 26 s for a million.
#[tokio::test]
async fn a_large_sandbox_saves_its_data_whole_and_exits_promptly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.json");
    let stored = 30_000;
    let customers: Vec<Value> = (0..stored)
        .map(|i| {
            json!({
                "_id": format!("{:024x}", 0x6000_0000u64 + i),
                "name": format!("Boulangerie Martin {i}"),
                "zipCode": format!("{:05}", 1000 + i % 90_000),
                "contacts": [{"name": "Jeanne Martin", "email": format!("jeanne{i}@example.fr")}],
                "createdAt": "2026-01-05T09:00:00.000Z",
                "updatedAt": "2026-01-05T09:00:00.000Z",
            })
        })
        .collect();
    std::fs::write(&path, serde_json::to_vec(&customers).unwrap()).unwrap();
    let (mut child, url) = start(&[], &path);
    custbulk::api::install_tls_provider();
    let created = reqwest::Client::new()
        .post(format!("{url}/customers"))
        .bearer_auth("k")
        .json(&json!({"name": "Added before the signal"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);

    // SAFETY: kill sends a signal to our own child, which has not been reaped.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(sent, 0);
    let signalled = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        // A generous bound: the point is that it ends, the benchmark says how fast.
        assert!(
            signalled.elapsed() < std::time::Duration::from_secs(60),
            "the sandbox still runs a minute after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("Saved {} customers", stored + 1)),
        "{stderr}"
    );
    let saved: Vec<Value> = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(saved.len(), stored as usize + 1, "every customer saved");
    let changed = saved.iter().zip(&customers).position(|(s, c)| s != c);
    assert_eq!(changed, None, "every customer saved as it was");
    assert_eq!(saved[stored as usize]["name"], "Added before the signal");
}

#[test]
fn a_probability_out_of_range_is_a_usage_error() {
    let output = Command::new(BIN)
        .args(["sandbox", "--port", "0", "--drop-rate", "1.5"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--drop-rate") && stderr.contains("0 to 1"),
        "{stderr}"
    );
}

#[test]
fn the_help_has_an_example() {
    let output = Command::new(BIN)
        .args(["sandbox", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.contains("custbulk sandbox --data customers.json"),
        "{help}"
    );
}

/// Starts `custbulk sandbox` with `flags`; returns the child and its base URL.
fn spawn(flags: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(BIN)
        .args(["sandbox", "--port", "0"])
        .args(flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    (child, url.trim().to_owned())
}

#[tokio::test]
async fn behaviour_variants_and_quirks_are_flags_of_the_command() {
    let (mut child, url) = spawn(&[
        "--post-answer",
        "id",
        "--post-status",
        "200",
        "--require",
        "siret",
        "--echo-auth",
    ]);
    custbulk::api::install_tls_provider();
    let client = reqwest::Client::new();
    let post = |body: Value| {
        client
            .post(format!("{url}/customers"))
            .bearer_auth("flag-key")
            .json(&body)
            .send()
    };
    let refused = post(json!({"name": "A"})).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["errors"]["siret"], "is required");
    assert_eq!(refused["headers"]["authorization"], "Bearer flag-key");
    let created = post(json!({"name": "A", "siret": "73282932000074"}))
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::OK);
    let created: Value = created.json().await.unwrap();
    let keys: Vec<&String> = created.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["_id"]);
    child.kill().unwrap();
    child.wait().unwrap();
}
