//! Matching: `import --mode upsert --match-on siret,name+zipCode --plan` of a large sheet against
//! an account of a million customers, with the real release binary. The index of the account
//! covers both keys and the likely-duplicate check; the sheet's rows match half by SIRET, half
//! by name and postcode typed otherwise (upper case, accents dropped), and one in ten is new
//! (so it is checked for likely duplicates).
//!
//! `cargo bench --bench matching` prints the index's time, the plan's rows/s once the index is
//! built, and the import process's peak RSS. `MATCHING_BENCH_CUSTOMERS` and
//! `MATCHING_BENCH_ROWS` set the sizes (default 1,000,000 and 100,000). The sandbox runs in this
//! process, custbulk in a child, so the child's peak RSS (its own VmHWM) is custbulk's alone.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{json, Map, Value};

use custbulk::sandbox::{self, Options};

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
    server.insert((0..customers).map(customer).collect());
    let one = dir.path().join("one.csv");
    let sheet = dir.path().join("sheet.csv");
    write_sheet(&one, 1, customers);
    write_sheet(&sheet, rows, customers);

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
    assert!(out.status.success(), "custbulk {args:?}: {stderr}");
    (secs, peak.join().unwrap() as f64 / 1024.0)
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A valid SIRET (Luhn check digit) for customer `i`.
fn siret(i: u64) -> String {
    let payload = format!("{:013}", 100_000_000_000 + i);
    let check = custbulk::validate::coerce::luhn_check_digit(&payload);
    format!("{payload}{check}")
}

/// Customer `i`: every one has a name and a postcode, the even ones a SIRET too.
fn customer(i: u64) -> Map<String, Value> {
    let mut record = json!({
        "_id": format!("{:024x}", 0x6c00_0000_0000_0000_0000_0000u128 + i as u128),
        "name": format!("Société Élan {i}"),
        "zipCode": format!("{:05}", i % 100_000),
        "city": "Orléans",
        "isCompany": true,
        "capital": 1000 + i % 900,
    });
    if i.is_multiple_of(2) {
        record["siret"] = json!(siret(i));
    }
    match record {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

/// `rows` rows spread over the account: even customers by SIRET, odd ones by name and postcode
/// typed otherwise, one row in ten a new customer; each row changes the city.
fn write_sheet(path: &Path, rows: u64, customers: u64) {
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "name,siret,zipCode,city").unwrap();
    let step = (customers / rows.max(1)).max(1);
    for r in 0..rows {
        let i = (r * step + r % 2) % customers;
        if r % 10 == 9 {
            writeln!(out, "Nouvelle Maison {r},,{:05},Lyon", r % 100_000).unwrap();
        } else if i.is_multiple_of(2) {
            writeln!(out, "Société Élan {i},{},{:05},Lyon", siret(i), i % 100_000).unwrap();
        } else {
            writeln!(out, "SOCIETE ELAN {i},,{:05},Lyon", i % 100_000).unwrap();
        }
    }
    out.flush().unwrap();
}
