//! Issue 21's seven faults as the world makes them, against the real release binary: a journal
//! on a small tmpfs, a real SIGINT, a sandbox process killed mid-run, servers of our own that cut
//! a body or a list short, a restore run twice, a file imported twice. For each it prints the
//! requests sent after the stop and the customers stored, so two builds can be compared:
//!
//! ```sh
//! cargo bench --bench faults                                            # this build
//! CUSTBULK_BIN=/path/to/other/custbulk cargo bench --bench faults       # another build
//! FAULTS_ONLY=2,3 cargo bench --bench faults                            # some cases
//! ```
//!
//! The sandbox is always this build's `custbulk sandbox`, in a process of its own. Case 1
//! mounts a tmpfs, so it needs root.

mod world;

use std::path::Path;
use std::time::{Duration, Instant};

use world::{command, data_lines, doubled, knows, outcomes, run, sheet, Sandbox, Served, Tmpfs};

/// One fault case, run in a directory of its own.
type Case = fn(&Path);

fn main() {
    let only = std::env::var("FAULTS_ONLY").unwrap_or_default();
    let part = |n: &str| only.is_empty() || only.split(',').any(|p| p == n);
    println!("binary: {}", world::measured().display());
    let cases: [(&str, Case); 8] = [
        ("1", full_disk),
        ("1b", reconcile_many),
        ("2", ctrl_c),
        ("3", server_killed),
        ("4", cut_body),
        ("5", restore_twice),
        ("6", imported_twice),
        ("7", short_export),
    ];
    for (name, case) in cases {
        if part(name) || part(name.trim_end_matches('b')) {
            let dir = tempfile::tempdir().expect("temp dir");
            case(dir.path());
            if std::env::var_os("FAULTS_KEEP").is_some() {
                println!("kept {}", dir.keep().display());
            }
        }
    }
}

/// Case 1: the journal on a 40 KB tmpfs, 400 rows at 20 ms, 8 in flight. POSTs counted from
/// the moment the tmpfs has no free block (its last page still takes a few lines), and from
/// the moment the run says it stops (a build that says so): requests already in flight then
/// (8 at most) may still arrive. Then `--resume` with the journal copied to a disk with room.
fn full_disk(dir: &Path) {
    let server = Sandbox::start(&["--latency-ms", "20"]);
    sheet(&dir.join("clients.csv"), 0..400);
    let disk = Tmpfs::mount(dir.join("disk"), "40k");
    let journal = disk.0.join("clients.journal");
    let mut child = command(dir, &server.url, &journaled(&journal))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let said = world::stopping(&mut child, server.counter("POST"));
    let mut at_full = None;
    let code = loop {
        if at_full.is_none() && disk.full() {
            at_full = Some(server.requests("POST"));
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status.code().unwrap_or(-1);
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let posts = server.requests("POST");
    let after_said = said
        .join()
        .unwrap()
        .map_or("n/a (it says nothing)".into(), |n| (posts - n).to_string());
    let records = server.records();
    let counts = outcomes(&dir.join("clients.results.csv"));
    std::fs::copy(&journal, dir.join("clients.journal")).unwrap();
    drop(disk);
    let resumed = run(dir, &server.url, &["import", "clients.csv", "--resume"]);
    let after = server.records();
    println!(
        "case 1, journal on a 40 KB tmpfs, 400 rows, 8 in flight: exit {code}; {posts} POSTs, {} after the \
         tmpfs filled, {after_said} after the run said it stopped; {} customers stored ({} \
         doubled); outcomes {counts:?}; --resume exit {}: {} stored ({} doubled)",
        posts - at_full.unwrap_or(posts),
        records.len(),
        doubled(&records),
        resumed.code,
        after.len(),
        doubled(&after),
    );
}

/// `import clients.csv`, 8 in flight, its journal at `journal`.
fn journaled(journal: &Path) -> [&str; 6] {
    let journal = journal.to_str().unwrap();
    [
        "import",
        "clients.csv",
        "--concurrency",
        "8",
        "--journal",
        journal,
    ]
}

/// Case 1's second run: 300 names already on the server once, imported again (8 in flight)
/// with the journal on a 16 KB tmpfs, then `--resume`: every row it reconciles finds two
/// customers.
fn reconcile_many(dir: &Path) {
    let mut data = Vec::new();
    let mut csv = String::from("name\n");
    for i in 0..300 {
        data.push(serde_json::json!({"name": format!("Client {i}")}));
        csv.push_str(&format!("Client {i}\n"));
    }
    std::fs::write(dir.join("data.json"), serde_json::to_vec(&data).unwrap()).unwrap();
    std::fs::write(dir.join("clients.csv"), csv).unwrap();
    let data = dir.join("data.json");
    let server = Sandbox::start(&["--latency-ms", "20", "--data", data.to_str().unwrap()]);
    let disk = Tmpfs::mount(dir.join("disk"), "16k");
    let journal = disk.0.join("clients.journal");
    let first = run(dir, &server.url, &journaled(&journal));
    let stored = server.records().len();
    let counts = outcomes(&dir.join("clients.results.csv"));
    std::fs::copy(&journal, dir.join("clients.journal")).unwrap();
    drop(disk);
    let posts = server.requests("POST");
    let resumed = run(dir, &server.url, &["import", "clients.csv", "--resume"]);
    println!(
        "case 1b, 300 names already stored once, journal on a 16 KB tmpfs, 8 in flight: exit {}, {stored} \
         stored, outcomes {counts:?}; --resume exit {}: {} POSTs more, {} stored (at most 600 \
         without a duplicate), outcomes {:?}",
        first.code,
        resumed.code,
        server.requests("POST") - posts,
        server.records().len(),
        outcomes(&dir.join("clients.results.csv")),
    );
}

/// Case 2: 1,500 rows into a server serving 8 at a time at 40 ms; SIGINT after 3 s.
fn ctrl_c(dir: &Path) {
    let server = Sandbox::start(&["--capacity", "8", "--latency-ms", "40"]);
    sheet(&dir.join("clients.csv"), 0..1500);
    let mut child = command(dir, &server.url, &["import", "clients.csv"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    // SAFETY: a plain kill(2) of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let at_signal = server.requests("POST");
    let code = child.wait().unwrap().code().unwrap_or(-1);
    let after = server.requests("POST") - at_signal;
    let stored = server.records().len();
    let counts = outcomes(&dir.join("clients.results.csv"));
    let resumed = run(dir, &server.url, &["import", "clients.csv", "--resume"]);
    let records = server.records();
    println!(
        "case 2, SIGINT 3 s into 1,500 rows (8 places, 40 ms): exit {code}; {after} POSTs \
         arrived after the signal; {stored} stored; outcomes {counts:?}; --resume exit {}: {} \
         stored ({} doubled)",
        resumed.code,
        records.len(),
        doubled(&records),
    );
}

/// Case 3: the sandbox process (8 places, 40 ms) killed 1.5 s into a 1,500-row import
/// (SIGTERM: it answers what is in flight, saves its store, and refuses connections from then
/// on); then a new sandbox from the saved store, and `--resume`.
fn server_killed(dir: &Path) {
    let data = dir.join("data.json");
    std::fs::write(&data, "[]").unwrap();
    let data = data.to_str().unwrap();
    let slow = ["--capacity", "8", "--latency-ms", "40", "--data", data];
    let server = Sandbox::start(&slow);
    let url = server.url.clone();
    sheet(&dir.join("clients.csv"), 0..1500);
    let child = command(dir, &url, &["import", "clients.csv", "--output", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    server.kill(libc::SIGTERM);
    let killed = Instant::now();
    let out = child.wait_with_output().unwrap();
    let took = killed.elapsed();
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let counts = outcomes(&dir.join("clients.results.csv"));
    let tried_after = counts.get("failed").unwrap_or(&0) + counts.get("unknown").unwrap_or(&0);
    let failed_file = data_lines(&dir.join("clients.failed.csv"));
    let again = Sandbox::start(&slow);
    let stored = again.records().len();
    let resumed = run(dir, &again.url, &["import", "clients.csv", "--resume"]);
    let records = again.records();
    println!(
        "case 3, sandbox killed 1.5 s into 1,500 rows: exit {} {:.1} s after the kill; {} rows \
         tried after it (failed or unknown), {} retries, {failed_file} rows in the failed file; \
         outcomes {counts:?}; {stored} stored; --resume exit {}: {} stored ({} doubled)",
        out.status.code().unwrap_or(-1),
        took.as_secs_f64(),
        tried_after,
        summary["retries"],
        resumed.code,
        records.len(),
        doubled(&records),
    );
}

/// Case 4: every POST answered 201 with `{"_id": "abc", "name": ` (a body cut short), and a
/// list that does not show new customers yet; 3 rows.
fn cut_body(dir: &Path) {
    let server = Served::start(|method, _| match method {
        "POST" => (201, r#"{"_id": "abc", "name": "#.to_string()),
        "GET" => (200, r#"{"docs": [], "totalDocs": 0}"#.to_string()),
        _ => (404, "{}".to_string()),
    });
    sheet(&dir.join("clients.csv"), 0..3);
    let ran = run(dir, &server.url, &["import", "clients.csv"]);
    println!(
        "case 4, 201 with a body cut short, 3 rows: exit {}; {} POSTs; outcomes {:?}; {} rows \
         in the failed file",
        ran.code,
        server.count("POST "),
        outcomes(&dir.join("clients.results.csv")),
        data_lines(&dir.join("clients.failed.csv")),
    );
}

/// Case 5: a backup restored with `--prune`, then the same restore again; then undo of the
/// journal the first restore wrote (to put back the customers it deleted).
fn restore_twice(dir: &Path) {
    let server = Sandbox::start(&[]);
    sheet(&dir.join("first.csv"), 0..40);
    run(dir, &server.url, &["import", "first.csv"]);
    run(dir, &server.url, &["export", "backup.ndjson"]);
    sheet(&dir.join("later.csv"), 100..110);
    run(dir, &server.url, &["import", "later.csv"]);
    let restore = ["restore", "backup.ndjson", "--prune", "--yes"];
    let first = run(dir, &server.url, &restore);
    let second = run(dir, &server.url, &restore);
    let journals: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".journal") && n.contains("restore"))
        .collect();
    let mut undo = vec!["undo", "backup.restore.journal"];
    if knows("undo", "--yes") {
        undo.push("--yes");
    }
    let undone = run(dir, &server.url, &undo);
    let pruned: Vec<String> = (100..110).map(world::siret).collect();
    let back = server
        .records()
        .iter()
        .filter(|r| {
            r["siret"]
                .as_str()
                .is_some_and(|s| pruned.iter().any(|p| p == s))
        })
        .count();
    println!(
        "case 5, a restore --prune run twice: exits {} and {}; journals kept {journals:?}; undo \
         of backup.restore.journal exit {}: {back} of the 10 pruned customers back",
        first.code, second.code, undone.code,
    );
}

/// Case 6: 200 rows with SIRETs imported, then again from a copy `clients (1).csv`, default
/// flags.
fn imported_twice(dir: &Path) {
    let server = Sandbox::start(&[]);
    sheet(&dir.join("clients.csv"), 0..200);
    let first = run(dir, &server.url, &["import", "clients.csv"]);
    std::fs::copy(dir.join("clients.csv"), dir.join("clients (1).csv")).unwrap();
    let posts = server.requests("POST");
    let second = run(dir, &server.url, &["import", "clients (1).csv"]);
    let records = server.records();
    println!(
        "case 6, the same 200 rows imported twice: exits {} and {}; the second sent {} POSTs; \
         {} customers stored ({} doubled); second run's outcomes {:?}",
        first.code,
        second.code,
        server.requests("POST") - posts,
        records.len(),
        doubled(&records),
        outcomes(&dir.join("clients (1).results.csv")),
    );
}

/// Case 7: a list that claims `totalDocs: 1000` and serves 5 records.
fn short_export(dir: &Path) {
    let server = Served::start(|_, path| {
        let first = !path.contains("page=") || path.contains("page=1&") || path.ends_with("page=1");
        let docs: Vec<serde_json::Value> = if first {
            (0..5)
                .map(|i| serde_json::json!({"_id": format!("c{i}"), "name": format!("Client {i}")}))
                .collect()
        } else {
            Vec::new()
        };
        let list = serde_json::json!({"docs": docs, "totalDocs": 1000});
        (200, list.to_string())
    });
    let ran = run(dir, &server.url, &["export", "backup.ndjson"]);
    let written = dir.join("backup.ndjson").exists();
    let verified = run(dir, &server.url, &["verify", "backup.ndjson"]);
    println!(
        "case 7, a list claiming 1000 that serves 5: export exit {}; backup.ndjson written: \
         {written}; verify exit {}",
        ran.code, verified.code,
    );
}
