//! The world the fault cases run in: the binary, a sandbox in a process of its own, a small
//! filesystem, and small HTTP servers of our own that misbehave.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::Value;

/// The binary measured: `CUSTBULK_BIN`, else this build's.
pub fn measured() -> PathBuf {
    std::env::var_os("CUSTBULK_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(own)
}

/// This build's binary: the sandbox, whichever build is measured.
pub fn own() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_custbulk"))
}

/// Whether the measured binary knows `flag` for `command` (an older build may not).
pub fn knows(command: &str, flag: &str) -> bool {
    let out = Command::new(measured())
        .args([command, "--help"])
        .output()
        .expect("run custbulk --help");
    String::from_utf8_lossy(&out.stdout).contains(flag)
}

/// A run of the measured binary: its exit code, and stderr (shown with `FAULTS_SHOW`).
pub struct Ran {
    pub code: i32,
}

/// The measured binary in `dir` against `url`.
pub fn command(dir: &Path, url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(measured());
    command
        .current_dir(dir)
        .args(args)
        .args(["--no-progress", "--base-url", url])
        .env("ICLOUDREADY_API_KEY", "bench")
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .stdin(Stdio::null());
    command
}

pub fn run(dir: &Path, url: &str, args: &[&str]) -> Ran {
    let out = command(dir, url, args).output().expect("run custbulk");
    if std::env::var_os("FAULTS_SHOW").is_some() {
        eprintln!(
            "$ custbulk {}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ran {
        code: out.status.code().unwrap_or(-1),
    }
}

/// A sandbox served by this build's `custbulk sandbox --port 0`, in a process of its own.
pub struct Sandbox {
    pub url: String,
    child: Child,
}

impl Sandbox {
    pub fn start(args: &[&str]) -> Sandbox {
        let mut child = Command::new(own())
            .args(["sandbox", "--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the sandbox");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("the sandbox prints its URL");
        Sandbox {
            url: first.trim().to_string(),
            child,
        }
    }

    fn address(&self) -> String {
        let rest = self.url.trim_start_matches("http://");
        rest.split('/').next().unwrap_or(rest).to_string()
    }

    /// Requests of `method` that reached it so far.
    pub fn requests(&self, method: &str) -> u64 {
        self.counter(method)()
    }

    /// [`Sandbox::requests`], for another thread.
    pub fn counter(&self, method: &str) -> impl Fn() -> u64 + Send + 'static {
        let (address, method) = (self.address(), method.to_string());
        move || {
            let (_, body) = get(&address, "/__sandbox/stats");
            let stats: Value = serde_json::from_slice(&body).expect("stats are JSON");
            stats["requests"][method.as_str()].as_u64().unwrap_or(0)
        }
    }

    /// Every stored customer.
    pub fn records(&self) -> Vec<Value> {
        let mut all = Vec::new();
        for page in 1.. {
            let path = format!("/api/v2/customers?limit=1000&page={page}");
            let (_, body) = get(&self.address(), &path);
            let list: Value = serde_json::from_slice(&body).expect("a list");
            let docs = list["docs"].as_array().cloned().unwrap_or_default();
            if docs.is_empty() {
                return all;
            }
            all.extend(docs);
        }
        all
    }

    /// Sends `signal` and waits for the process to end.
    pub fn kill(mut self, signal: i32) {
        // SAFETY: a plain kill(2) of our own child.
        unsafe { libc::kill(self.child.id() as i32, signal) };
        let _ = self.child.wait();
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `child`'s stderr (piped) in a thread: the `count` at the moment it says it is
/// stopping (`Stopping: ...`, when its gate closed), if it says so.
pub fn stopping(
    child: &mut Child,
    count: impl Fn() -> u64 + Send + 'static,
) -> std::thread::JoinHandle<Option<u64>> {
    let stderr = child.stderr.take().expect("stderr piped");
    std::thread::spawn(move || {
        let mut at = None;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if at.is_none() && line.contains("Stopping:") {
                at = Some(count());
            }
        }
        at
    })
}

/// How many customers share a SIRET with another.
pub fn doubled(records: &[Value]) -> usize {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for siret in records.iter().filter_map(|r| r["siret"].as_str()) {
        *seen.entry(siret).or_default() += 1;
    }
    seen.values().map(|n| n - 1).sum()
}

/// One plain HTTP/1.0 GET: status and body.
pub fn get(address: &str, path: &str) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(address).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {address}\r\nAuthorization: Bearer bench\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&answer[..split]);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer[split + 4..].to_vec())
}

/// A tmpfs of `size` (`40k`) mounted on a new directory, unmounted when dropped.
pub struct Tmpfs(pub PathBuf);

impl Tmpfs {
    pub fn mount(at: PathBuf, size: &str) -> Tmpfs {
        std::fs::create_dir_all(&at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&at)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "mounting a tmpfs needs root");
        Tmpfs(at)
    }

    /// Whether no block is free.
    pub fn full(&self) -> bool {
        let path = std::ffi::CString::new(self.0.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: statvfs fills the struct we own.
        let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
        unsafe { libc::statvfs(path.as_ptr(), &mut stat) == 0 && stat.f_bavail == 0 }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A sheet of `rows` customers with SIRETs (`name,siret,city`).
pub fn sheet(path: &Path, rows: std::ops::Range<u64>) {
    let mut out = String::from("name,siret,city\n");
    for i in rows {
        out.push_str(&format!("Client {i},{},Lyon\n", siret(i)));
    }
    std::fs::write(path, out).unwrap();
}

pub fn siret(n: u64) -> String {
    let payload = format!("{:013}", 1_000_000_000_000 + n);
    let check = custbulk::validate::coerce::luhn_check_digit(&payload);
    format!("{payload}{check}")
}

/// The results file's outcomes, counted.
pub fn outcomes(path: &Path) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    let Ok(mut reader) = csv::Reader::from_path(path) else {
        return counts;
    };
    let at = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "_outcome")
        .expect("an _outcome column");
    for record in reader.records() {
        *counts.entry(record.unwrap()[at].to_string()).or_default() += 1;
    }
    counts
}

/// Data lines of a CSV file (its header aside); 0 when there is none.
pub fn data_lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count().saturating_sub(1))
}

/// A small HTTP server of our own on 127.0.0.1: `answer` gets each request's method and path
/// and gives the status and body to send; every request is logged with when it came.
pub struct Served {
    pub url: String,
    log: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Served {
    pub fn start(answer: impl Fn(&str, &str) -> (u16, String) + Send + Sync + 'static) -> Served {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/api/v2", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let (kept, answer) = (log.clone(), Arc::new(answer));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (log, answer) = (kept.clone(), answer.clone());
                std::thread::spawn(move || serve(stream, &log, &*answer));
            }
        });
        Served { url, log }
    }

    /// Requests that began with `prefix` (`POST `).
    pub fn count(&self, prefix: &str) -> usize {
        let log = self.log.lock().unwrap();
        log.iter().filter(|(_, l)| l.starts_with(prefix)).count()
    }
}

fn serve(
    stream: TcpStream,
    log: &Mutex<Vec<(Instant, String)>>,
    answer: &(dyn Fn(&str, &str) -> (u16, String) + Send + Sync),
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            if header.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut parts = line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        log.lock()
            .unwrap()
            .push((Instant::now(), format!("{method} {path}")));
        let (status, body) = answer(method, path);
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        if stream.write_all(head.as_bytes()).is_err() || stream.write_all(body.as_bytes()).is_err()
        {
            return;
        }
    }
}
