//! Test harness: a temporary work directory, the real binary, and sandboxes on loopback.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use custbulk::api::{ApiKey, Client, ClientOptions};
use custbulk::sandbox::{self, Options, Running};

/// A temporary directory to write inputs into and run the binary from.
pub struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).expect("write test file");
        path
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
    }

    /// The binary, run in this directory with a clean API environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_custbulk"));
        command
            .current_dir(self.dir.path())
            .args(args)
            .env_remove("ICLOUDREADY_API_KEY")
            .env_remove("ICLOUDREADY_BASE_URL")
            // The user's own API profile must not reach the tests.
            .env("XDG_CONFIG_HOME", self.path("config"));
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run custbulk")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A sandbox on 127.0.0.1, port 0.
pub async fn sandbox(options: Options) -> Running {
    sandbox::start(options).await.expect("sandbox starts")
}

/// Our client for a sandbox, with quick retries so fault tests stay short.
pub fn client(running: &Running) -> Client {
    let mut options = ClientOptions::default();
    options.retry.base = std::time::Duration::from_millis(5);
    options.retry.cap = std::time::Duration::from_millis(50);
    Client::new(&running.base_url, ApiKey::new("test-key"), options).expect("client")
}

pub fn record(value: serde_json::Value) -> custbulk::api::Record {
    value.as_object().expect("a JSON object").clone()
}

/// A sandbox on its own runtime, for tests that run the real binary against it.
pub struct Server {
    pub running: Running,
    runtime: tokio::runtime::Runtime,
}

impl Server {
    pub fn start(options: Options) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let running = runtime
            .block_on(sandbox::start(options))
            .expect("sandbox starts");
        Server { running, runtime }
    }

    pub fn url(&self) -> &str {
        &self.running.base_url
    }

    pub fn records(&self) -> Vec<custbulk::api::Record> {
        self.running.records()
    }

    /// The store as a user sees it: every record without its update timestamp, in id order.
    pub fn snapshot(&self) -> Vec<custbulk::api::Record> {
        let mut records = self.records();
        for r in &mut records {
            r.remove("updatedAt");
        }
        records.sort_by_key(custbulk::api::record_id);
        records
    }

    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

impl Workdir {
    /// The binary against `server`, with a key in the environment.
    pub fn against(&self, server: &Server, args: &[&str]) -> Command {
        let mut command = self.command(args);
        command
            .args(["--base-url", server.url()])
            .env("ICLOUDREADY_API_KEY", "test-key-SECRET-123");
        command
    }
}

/// What a run of the binary gave, as text, with the command that gave it.
#[derive(Debug)]
pub struct Run {
    pub command: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn of(command: &Command, out: Output) -> Run {
        let args: Vec<_> = command.get_args().map(|a| a.to_string_lossy()).collect();
        Run {
            command: format!("custbulk {}", args.join(" ")),
            code: out.status.code().unwrap_or(-1),
            stdout: stdout(&out),
            stderr: stderr(&out),
        }
    }

    /// stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}\n{self}"))
    }

    /// Fails the test, showing the command, its status and both streams, unless it exited
    /// with `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Run {
        assert_eq!(self.code, code, "unexpected exit code\n{self}");
        self
    }

    /// [`Run::assert_code`] 0.
    #[track_caller]
    pub fn assert_ok(&self) -> &Run {
        self.assert_code(0)
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "$ {}\nexit code {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }
}

impl Workdir {
    /// Runs the binary here and keeps its exit code and output as text.
    pub fn exec(&self, args: &[&str]) -> Run {
        let mut command = self.command(args);
        let out = command.output().expect("run custbulk");
        Run::of(&command, out)
    }

    /// Runs the binary against `server` and keeps its exit code and output as text.
    pub fn exec_against(&self, server: &Server, args: &[&str]) -> Run {
        let mut command = self.against(server, args);
        let out = command.output().expect("run custbulk");
        Run::of(&command, out)
    }

    /// [`UPSERT`] against `server`.
    pub fn upsert(&self, server: &Server) -> Run {
        self.exec_against(server, UPSERT)
    }

    /// Starts the binary against `server`, waits until `ready()` holds (the run is under way),
    /// and kills it with SIGKILL: no chance to flush, clean up or say goodbye.
    pub fn kill_9_when(&self, server: &Server, args: &[&str], ready: impl Fn() -> bool) {
        let mut child = self
            .against(server, args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start custbulk");
        wait_until(ready);
        child.kill().expect("kill -9");
        child.wait().expect("reap");
    }

    /// A results file written here, one map of header → cell per line.
    pub fn results(&self, name: &str) -> Vec<std::collections::HashMap<String, String>> {
        let mut reader = csv::Reader::from_path(self.path(name)).expect("results file");
        let headers = reader.headers().unwrap().clone();
        reader
            .records()
            .map(|r| {
                headers
                    .iter()
                    .zip(r.unwrap().iter())
                    .map(|(h, v)| (h.to_string(), v.to_string()))
                    .collect()
            })
            .collect()
    }
}

/// The import the tests of changes to customers a sheet already has start from: `clients.csv`
/// upserted by SIRET.
pub const UPSERT: &[&str] = &[
    "import",
    "clients.csv",
    "--mode",
    "upsert",
    "--match-on",
    "siret",
    "--no-progress",
];

/// `args` followed by `more`: the same command again with, say, `--resume`.
pub fn with<'a>(args: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    args.iter().chain(more).copied().collect()
}

/// A file of the project (samples, fixtures).
pub fn project_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Polls until `ready()` holds, for a minute at most: to act on a run that is under way.
pub fn wait_until(ready: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !ready() && started.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
