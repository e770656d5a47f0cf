//! The command line as a user meets it: flags, exit codes, messages, and the key kept secret.

use crate::util::{stderr, stdout, Workdir};

#[test]
fn bad_flags_exit_2_with_help() {
    let wd = Workdir::new();
    let out = wd.run(&["check", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--no-such-flag"));
    let out = wd.run(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn without_a_key_the_error_says_how_to_set_one() {
    let wd = Workdir::new();
    let out = wd.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("ICLOUDREADY_API_KEY") && err.contains("--sandbox"),
        "{err}"
    );
}

#[test]
fn plain_http_to_another_host_is_refused() {
    let wd = Workdir::new();
    let out = wd
        .command(&["check", "--base-url", "http://api.example.com/api/v2"])
        .env("ICLOUDREADY_API_KEY", "k")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--allow-http"));
}

#[test]
fn check_against_the_sandbox_reports_the_shapes() {
    let wd = Workdir::new();
    let out = wd.run(&["check", "--sandbox", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["reachable"], true);
    assert_eq!(report["authorized"], true);
    assert_eq!(report["envelope"], "object with items under \"docs\"");
}

#[test]
fn an_unreachable_api_exits_3() {
    let wd = Workdir::new();
    // Port 9 on loopback: nothing listens there.
    let out = wd
        .command(&["check", "--base-url", "http://127.0.0.1:9/api/v2"])
        .env("ICLOUDREADY_API_KEY", "k")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
}

#[test]
fn the_key_never_appears_in_verbose_output() {
    let wd = Workdir::new();
    let secret = "sk_live_DO_NOT_PRINT_42";
    let key_file = wd.write("key.txt", secret);
    for args in [
        vec!["-vv", "check", "--sandbox"],
        vec!["-vv", "check", "--base-url", "http://127.0.0.1:9/api/v2"],
    ] {
        let mut command = wd.command(&args);
        command.env("ICLOUDREADY_API_KEY", secret);
        let out = command.output().unwrap();
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!all.contains(secret), "key leaked: {all}");
        let mut args = args.clone();
        args.extend(["--api-key-file", key_file.to_str().unwrap()]);
        let out = wd.run(&args);
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!all.contains(secret), "key leaked: {all}");
    }
}

#[test]
fn completions_are_printed() {
    let out = Workdir::new().run(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("custbulk"));
}

/// Excel's "Encrypt with Password" stores an XLSX as an OLE container whose cells are encrypted
/// (`tests/data/password-protected.xlsx` is `clients-libreoffice.xlsx` encrypted so by
/// msoffcrypto-tool, password "secret"): the error says what it is and how to undo it, not that
/// the file is damaged or an XLS in disguise.
#[test]
fn a_workbook_encrypted_with_a_password_is_said_to_be_one() {
    let wd = Workdir::new();
    let protected = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/password-protected.xlsx"
    );
    for args in [
        &["validate", protected][..],
        &["import", protected, "--sandbox"],
    ] {
        let out = wd.run(args);
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains("password-protected.xlsx") && err.contains("protected by a password"),
            "{err}"
        );
        assert!(!err.contains("damaged") && !err.contains("really"), "{err}");
    }
}

/// calamine panics on some damaged XLS files; the user must see one clear error, not a
/// "thread panicked" dump.
#[test]
fn a_damaged_workbook_gives_a_clear_error_and_no_panic_message() {
    let wd = Workdir::new();
    let damaged = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/damaged.xls");
    let out = wd.run(&["validate", damaged]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(
        err.contains("damaged.xls") && err.contains("cannot be read"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
