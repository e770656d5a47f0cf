//! Matching: `import --mode upsert --match-on siret,name+zipCode --plan` of a large sheet against
//! an account of a million customers (the generated list, `gen/mod.rs`), with the real release
//! binary. The index of the account covers both keys and the likely-duplicate check; the sheet's
//! rows match half by SIRET, half by name and postcode typed otherwise (upper case, accents
//! dropped), and one in ten is new (so it is checked for likely duplicates).
//!
//! `cargo bench --bench matching` prints the index's time, the plan's rows/s once the index is
//! built, and the import process's peak RSS. `MATCHING_BENCH_CUSTOMERS` and
//! `MATCHING_BENCH_ROWS` set the sizes (default 1,000,000 and 100,000). The sandbox runs in this
//! process, custbulk in a child, so the child's peak RSS (its own VmHWM) is custbulk's alone.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use custbulk::sandbox::{self, Options};

/// The lists every benchmark runs on.
#[path = "gen/mod.rs"]
mod gen;

fn main() {
    let size = |var: &str, default: u64| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let customers = size("MATCHING_BENCH_CUSTOMERS", 1_000_000);
    let rows = size("MATCHING_BENCH_ROWS", 100_000);
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = runtime
        .block_on(sandbox::start(Options::default()))
        .expect("sandbox");
    let one = dir.path().join("one.csv");
    let sheet = dir.path().join("sheet.csv");
    load(&server, customers, rows, &sheet, &one);

    // The plan of one row is the index alone; the difference is the rows' own cost.
    let (index_secs, _) = best_of(2, &one, &server.base_url);
    let (secs, peak) = best_of(2, &sheet, &server.base_url);
    let planning = (secs - index_secs).max(f64::EPSILON);
    println!(
        "index of {customers} customers on siret,name+zipCode: {index_secs:.1} s; \
         --plan of {rows} rows: {secs:.1} s in all, {:.0} rows/s once indexed (bar 20,000); \
         peak RSS {peak:.1} MB (bar 250)",
        rows as f64 / planning
    );
}

/// The best time of `runs` plans of `sheet`, and the highest peak RSS seen.
fn best_of(runs: usize, sheet: &Path, base_url: &str) -> (f64, f64) {
    (0..runs)
        .map(|_| plan(sheet, base_url))
        .fold((f64::INFINITY, 0.0), |(t, m), (secs, mb)| {
            (t.min(secs), m.max(mb))
        })
}

/// Runs the plan and returns its time and the child's peak RSS in MB.
fn plan(sheet: &Path, base_url: &str) -> (f64, f64) {
    let sheet = sheet.to_str().unwrap();
    let args = [
        "import",
        sheet,
        "--mode",
        "upsert",
        "--match-on",
        "siret,name+zipCode",
        "--plan",
        "--no-progress",
        "-q",
        "--base-url",
        base_url,
    ];
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_custbulk"))
        .args(args)
        .env("ICLOUDREADY_API_KEY", "bench")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("custbulk binary");
    let pid = child.id();
    // Peak RSS is read from the process's own VmHWM just before it is reaped.
    let peak = std::thread::spawn(move || {
        let mut peak = 0;
        while let Some(kb) = vm_hwm_kb(pid) {
            peak = kb;
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        peak
    });
    let out = child.wait_with_output().unwrap();
    let secs = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Exit 1 is a plan with invalid rows, made all the same: 3 of the 100,000 rows are on the
    // lists like real ones (the new customers are another list's, made apart from this one).
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "custbulk {args:?}: {}: {stderr}",
        out.status
    );
    (secs, peak.join().unwrap() as f64 / 1024.0)
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Loads the account's customers (the generated list) into `server`, and writes `sheet` of
/// `rows` rows spread over them: even rows find theirs by SIRET, odd ones by name and postcode
/// typed otherwise (upper case, accents dropped), one row in ten is a new customer (of another
/// list); each row changes the city. `one` gets the sheet's first row alone.
fn load(server: &sandbox::Running, customers: u64, rows: u64, sheet: &Path, one: &Path) {
    let mut out = csv::Writer::from_path(sheet).unwrap();
    out.write_record(["name", "siret", "zipCode", "city"])
        .unwrap();
    let step = (customers / rows.max(1)).max(1);
    let mut others = gen::Generator::new(gen::SEED + 1);
    let mut batch = Vec::with_capacity(10_000);
    let mut written = 0;
    for (i, customer) in gen::served(customers, |_| false).enumerate() {
        let r = written;
        if (i as u64).is_multiple_of(step) && r < rows {
            let text = |field: &str| customer.get(field).and_then(|v| v.as_str()).unwrap_or("");
            let moved = if text("city") == "Lyon" {
                "Lille"
            } else {
                "Lyon"
            };
            let row = if r % 10 == 9 {
                others.next();
                let c = &others.cells;
                [
                    c[gen::col::NAME].clone(),
                    String::new(),
                    c[gen::col::ZIP].clone(),
                ]
            } else if r % 2 == 0 && !text("siret").is_empty() {
                [
                    text("name").into(),
                    text("siret").into(),
                    text("zipCode").into(),
                ]
            } else {
                let name = custbulk::lookup::fold::fold(text("name")).to_uppercase();
                [name, String::new(), text("zipCode").into()]
            };
            let [name, siret, zip] = row;
            out.write_record([&name, &siret, &zip, moved]).unwrap();
            if r == 0 {
                let mut first = csv::Writer::from_path(one).unwrap();
                first
                    .write_record(["name", "siret", "zipCode", "city"])
                    .unwrap();
                first.write_record([&name, &siret, &zip, moved]).unwrap();
            }
            written += 1;
        }
        batch.push(customer);
        if batch.len() == batch.capacity() {
            server.insert(std::mem::take(&mut batch));
        }
    }
    server.insert(batch);
    out.flush().unwrap();
}
