//! A local server is still a server: what the page refuses, and what it never lets out.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

use reqwest::header::{COOKIE, HOST, ORIGIN};
use reqwest::StatusCode;

use super::{Part, Served};
use crate::util::project_file;

#[tokio::test]
async fn without_the_token_nothing_is_served() {
    let s = Served::start().await;
    for path in ["/", "/files", "/assets/ui.css", "/plan", "/nowhere"] {
        let r = s.http.get(s.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let wrong = s.http.get(s.url("/?token=0123")).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    // A cookie of another run (another port's name, or another token) is no key either.
    let r = s
        .http
        .get(s.url("/"))
        .header(COOKIE, format!("custbulk-{}=abc", s.running.port))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    s.running.stop().await.unwrap();
}

#[tokio::test]
async fn the_token_becomes_a_strict_cookie_and_leaves_the_address() {
    let s = Served::start().await;
    let r = s
        .http
        .get(format!("{}&page=2", s.running.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/?page=2");
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    assert_eq!(
        cookie,
        format!(
            "custbulk-{}={}; HttpOnly; SameSite=Strict; Path=/",
            s.running.port, s.running.token
        )
    );
    let page = s.get("/").await;
    assert_eq!(page.status(), StatusCode::OK);
    let h = page.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(
        !html.contains(&s.running.token),
        "the page never shows the token"
    );
    assert!(!html.contains("<script>"), "no inline script");
    s.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_host_that_is_not_ours_is_refused() {
    // DNS rebinding: evil.example resolving to 127.0.0.1 must not reach the page.
    let s = Served::start().await;
    let port = s.running.port;
    let refused = StatusCode::FORBIDDEN;
    for (host, answer) in [
        ("evil.example".to_string(), refused),
        (format!("evil.example:{port}"), refused),
        ("127.0.0.1".to_string(), refused),
        (format!("127.0.0.1:{}", port.wrapping_add(1)), refused),
        (format!("localhost:{port}"), StatusCode::OK),
        (format!("LOCALHOST:{port}"), StatusCode::OK),
    ] {
        let r = s
            .http
            .get(s.url("/"))
            .headers(s.own())
            .header(HOST, &host)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), answer, "{host}");
    }
    s.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_change_from_another_site_is_refused_even_with_the_cookie() {
    let s = Served::start().await;
    let id = s
        .upload(
            "c.csv",
            &std::fs::read(project_file("samples/customers.csv")).unwrap(),
        )
        .await;
    let body = "header_row=2";
    let mut cookie_only = s.own();
    cookie_only.remove(ORIGIN);
    for origin in [
        "http://evil.example",
        "null",
        &format!("http://127.0.0.1:{}", s.running.port + 1),
    ] {
        let r = s
            .http
            .post(s.url(&format!("/files/{id}")))
            .headers(cookie_only.clone())
            .header(ORIGIN, origin)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{origin}");
    }
    // A second Origin, ours, does not get another site's through.
    let r = s
        .http
        .post(s.url(&format!("/files/{id}")))
        .headers(s.own())
        .header(ORIGIN, "http://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Without Origin, a request a browser marks as cross-site is refused too.
    let r = s
        .http
        .post(s.url(&format!("/files/{id}")))
        .headers(cookie_only)
        .header("sec-fetch-site", "cross-site")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Nothing changed: the header is still found, not forced to row 2.
    let file = s.json(&format!("/files/{id}.json")).await;
    assert_eq!(file["asked"]["header_row"], "");
    s.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_path_from_the_browser_is_never_opened() {
    let s = Served::start().await;
    // A path in a form field instead of a file.
    let r = s
        .post_multipart("/files", &[Part::text("file", "/etc/passwd")])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let text = r.text().await.unwrap();
    assert!(!text.contains("root:"), "{text}");
    // A file whose name is a path stays in the private folder, under its last name.
    let id = s
        .upload(
            "../../../../tmp/evil.csv",
            b"name,siret\nA,55212022200013\n",
        )
        .await;
    let file = s.json(&format!("/files/{id}.json")).await;
    assert_eq!(file["name"], "evil.csv");
    assert!(s.running.folder.join(&id).join("evil.csv").exists());
    // Ids are the server's: a path where an id goes finds nothing.
    for path in [
        "/files/..%2F..%2Fetc%2Fpasswd",
        "/files/%2Fetc%2Fpasswd/columns",
        "/files/0000000000000000/problems",
    ] {
        assert_eq!(s.get(path).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // The mapping file is sent as a file, never named by a path.
    let r = s
        .post_multipart(
            &format!("/files/{id}/mapping.toml"),
            &[Part::text("mapping", "/etc/passwd")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    s.running.stop().await.unwrap();
}

#[tokio::test]
async fn an_upload_past_the_limit_is_refused_and_leaves_nothing() {
    let s = Served::with(custbulk::ui::Options {
        max_upload_mb: 1,
        ..Default::default()
    })
    .await;
    let big = vec![b'x'; (1 << 20) + 10];
    let r = s
        .post_multipart("/files", &[Part::file("file", "big.csv", &big)])
        .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let left: Vec<_> = std::fs::read_dir(&s.running.folder).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    s.running.stop().await.unwrap();
}

#[tokio::test]
async fn the_page_listens_on_loopback_only() {
    let s = Served::start().await;
    assert!(s.running.url.starts_with("http://127.0.0.1:"));
    // Bound to 127.0.0.1 itself, not to every address: 127.0.0.2 is loopback too, and finds
    // nobody listening.
    let other = tokio::net::TcpStream::connect(("127.0.0.2", s.running.port)).await;
    assert!(other.is_err(), "the page answers on 127.0.0.2");
    s.running.stop().await.unwrap();
}

/// The binary as people run it: one line with the address, the uploads in a folder only
/// this user reads, gone after Ctrl-C; and the API key never in a page.
#[tokio::test]
async fn the_command_prints_one_address_and_removes_the_uploads_on_ctrl_c() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, mut stdout, ui) = UiCommand::start(tmp.path());
    let (http, origin, cookie) = (&ui.http, &ui.origin, &ui.cookie);
    let (file, page) = ui.upload().await;
    assert!(page.contains("customers.xlsx"));
    let folders = entries(tmp.path());
    assert_eq!(folders.len(), 1, "{folders:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&folders[0]).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
    let (plan, run) = (format!("{file}/plan"), format!("{file}/run"));
    for path in ["/", &plan, &run, "/backups", "/backups.json"] {
        let body = http
            .get(format!("{origin}{path}"))
            .header(COOKIE, cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!body.contains("SECRET"), "{path}");
    }
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut more = String::new();
    stdout.read_line(&mut more).unwrap();
    assert_eq!(more, "", "stdout has the address alone");
    assert!(!folders[0].exists(), "the uploads are removed at exit");
}

/// `custbulk ui` run as people run it, with its own temporary folder.
struct UiCommand {
    http: reqwest::Client,
    origin: String,
    cookie: String,
}

impl UiCommand {
    /// Starts the command with `TMPDIR` at `tmp` and reads the address it prints.
    fn start(tmp: &std::path::Path) -> (Child, BufReader<ChildStdout>, UiCommand) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_custbulk"))
            .args(["ui", "--no-open", "--port", "0"])
            .env("TMPDIR", tmp)
            .env("ICLOUDREADY_API_KEY", "key-SECRET-never-shown")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut url = String::new();
        stdout.read_line(&mut url).unwrap();
        let url = url.trim().to_string();
        let rest = url.strip_prefix("http://127.0.0.1:").expect(&url);
        let (port, token) = rest.split_once("/?token=").expect(&url);
        assert_eq!(token.len(), 64);
        custbulk::api::install_tls_provider();
        let ui = UiCommand {
            http: reqwest::Client::new(),
            origin: format!("http://127.0.0.1:{port}"),
            cookie: format!("custbulk-{port}={token}"),
        };
        (child, stdout, ui)
    }

    /// Uploads the sample workbook: the file's page's path, and the page.
    async fn upload(&self) -> (String, String) {
        let upload = super::multipart(&[Part::file(
            "file",
            "customers.xlsx",
            &std::fs::read(project_file("samples/customers.xlsx")).unwrap(),
        )]);
        let r = self
            .http
            .post(format!("{}/files", self.origin))
            .header(COOKIE, &self.cookie)
            .header(ORIGIN, &self.origin)
            .header("content-type", upload.0)
            .body(upload.1)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "followed to the file's page");
        let file = r.url().path().to_string();
        (file, r.text().await.unwrap())
    }
}

fn entries(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    found.sort();
    found
}

/// A `kill -9` gives the page no chance to remove its uploads (customer lists, in the system's
/// temporary folder): the next start removes them, and nothing that is not a killed run's.
#[tokio::test]
async fn uploads_left_by_a_killed_page_are_removed_at_the_next_start() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut killed, _, ui) = UiCommand::start(tmp.path());
    ui.upload().await;
    let left = entries(tmp.path());
    assert_eq!(left.len(), 1, "{left:?}");
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert!(left[0].exists(), "SIGKILL leaves the uploads");
    // What must stay: a folder of a process that runs (this test's), and a link named like a
    // killed run's folder, pointing at a folder that holds a file.
    let running = tmp
        .path()
        .join(format!("custbulk-ui-{}-abc", std::process::id()));
    std::fs::create_dir(&running).unwrap();
    let target = tempfile::tempdir().unwrap();
    std::fs::write(target.path().join("keep.txt"), "mine").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(target.path(), tmp.path().join("custbulk-ui-999999999-x")).unwrap();

    let (mut child, _, _) = UiCommand::start(tmp.path());
    let now = entries(tmp.path());
    assert!(
        !left[0].exists(),
        "the killed run's uploads are gone: {now:?}"
    );
    assert!(running.exists());
    assert!(target.path().join("keep.txt").exists());
    assert_eq!(now.len(), if cfg!(unix) { 3 } else { 2 }, "{now:?}");
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert!(child.wait().unwrap().success());
}
