//! `custbulk check --write` and the API profile, against the sandbox playing each plausible API:
//! what the probe concludes, that the store is left as it was (after a failure, Ctrl-C and
//! kill -9 too), that the key shows nowhere, and that every command reads the profile.

mod interrupt;
mod paging;
mod profile;

use custbulk::profile::Profile;
use custbulk::sandbox::{
    IdField, ListShape, NullOnPatch, Options, PostAnswer, PostStatus, PutMode, Quirks,
    UpdateAnswer, Variants,
};
use serde_json::{json, Value};

use crate::util::{Run, Server, Workdir};

/// The key the harness gives the binary; it must show nowhere.
const SECRET: &str = "SECRET-123";

/// A sandbox with three customers already there, so the probe has records to leave alone.
pub fn server(options: Options) -> Server {
    let server = Server::start(options);
    server.running.insert(
        ["Alpha", "Beta", "Gamma"]
            .iter()
            .map(|n| crate::util::record(json!({ "name": n, "city": "Lyon" })))
            .collect(),
    );
    server
}

/// `check --write --save --output json` against `server`, with the profile written to p.toml.
pub fn probe(dir: &Workdir, server: &Server, extra: &[&str]) -> Run {
    let mut args = vec![
        "--output",
        "json",
        "check",
        "--write",
        "--save",
        "--profile",
        "p.toml",
    ];
    args.extend_from_slice(extra);
    dir.exec_against(server, &args)
}

/// Every key of `expected` has the same value in `actual`.
fn assert_has(actual: &Value, expected: &Value, context: &str) {
    for (key, want) in expected.as_object().unwrap() {
        assert_eq!(&actual[key], want, "{context}: {key} in {actual:#}");
    }
}

/// Probes a sandbox playing `options`: exit 0, the findings in the JSON report and in the saved
/// profile as `expected` says, the other customers untouched and the probe's customer gone.
fn detects(options: Options, expected: Value) -> (Value, Profile) {
    let context = format!("{:?} {:?}", options.variants, options.quirks);
    let server = server(options);
    let before = server.records();
    let dir = Workdir::new();
    let run = probe(&dir, &server, &[]);
    assert_eq!(run.code, 0, "{context}\n{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    let write = &report["write"];
    assert_has(&write["findings"], &expected, &context);
    assert_eq!(write["completed"], true, "{context}");
    assert_eq!(write["cleaned_up"], true, "{context}");
    assert_eq!(
        server.records(),
        before,
        "{context}: the store is as it was"
    );
    let profile = Profile::load(&dir.path("p.toml")).expect("a saved profile");
    let saved = serde_json::to_value(&profile.writes).unwrap();
    assert_has(&saved, &expected, &format!("{context} (profile)"));
    assert!(profile.made_for(server.url()));
    for text in [&run.stdout, &run.stderr, &dir.read("p.toml")] {
        assert!(!text.contains(SECRET), "{context}: the key shows in {text}");
    }
    (report, profile)
}

fn playing(variants: Variants) -> Options {
    Options {
        variants,
        ..Options::default()
    }
}

#[test]
fn the_default_sandbox_is_seen_as_it_is() {
    let (report, profile) = detects(
        Options::default(),
        json!({
            "create_answer": "record", "create_status": 201, "create_id_field": "_id",
            "required_fields": [], "patch_answer": "new", "put": "replace",
            "null_on_patch": "clears", "empty_on_patch": "stores-empty",
            "clear_with": "null", "update_with": "patch",
            "server_fields": ["createdAt", "updatedAt"],
            "values": {
                "capital_as_number": true, "zip_code_keeps_zeros": true,
                "contacts_keep_keys": true, "is_company_as_boolean": true,
                "arabic_unchanged": true
            }
        }),
    );
    let write = &report["write"];
    assert!(write["customer"]
        .as_str()
        .unwrap()
        .ends_with(", safe to delete"));
    let requests: Vec<&str> = write["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["request"].as_str().unwrap())
        .collect();
    for wanted in [
        "POST",
        "GET /customers/{id}",
        "GET /customers?q",
        "PATCH {\"city\"",
        "PUT",
        "PATCH {\"street1\": null}",
        "PATCH {\"city\": \"\"}",
        "DELETE",
        "after DELETE",
    ] {
        assert!(
            requests
                .iter()
                .any(|r| r.starts_with(wanted) || r.ends_with(wanted)),
            "{wanted} in {requests:?}"
        );
    }
    for call in write["calls"].as_array().unwrap() {
        assert!(call["ms"].is_u64() && call["status"].is_u64(), "{call}");
    }
    assert_eq!(write["list_finds_it"], true);
    assert_eq!(profile.list.items_path.as_deref(), Some("docs"));
    assert_eq!(profile.list.id_field.as_deref(), Some("_id"));
    assert_eq!(profile.list.first_page, Some(1));
    assert_eq!(profile.list.page_size_cap, Some(1000));
}

#[test]
fn what_post_answers_is_told_apart() {
    for (answer, expected) in [
        (
            PostAnswer::Id,
            json!({"create_answer": "id", "create_id_field": "_id"}),
        ),
        (
            PostAnswer::Envelope,
            json!({"create_answer": "envelope", "create_id_field": "_id"}),
        ),
        (
            PostAnswer::Empty,
            json!({"create_answer": "empty", "create_id_field": null}),
        ),
    ] {
        detects(
            playing(Variants {
                post_answer: answer,
                ..Variants::default()
            }),
            expected,
        );
    }
    detects(
        playing(Variants {
            post_status: PostStatus::Ok,
            ..Variants::default()
        }),
        json!({"create_answer": "record", "create_status": 200}),
    );
}

#[test]
fn what_patch_answers_and_what_put_does_are_told_apart() {
    for (answer, expected) in [(UpdateAnswer::Old, "old"), (UpdateAnswer::Empty, "empty")] {
        detects(
            playing(Variants {
                patch_answer: answer,
                ..Variants::default()
            }),
            json!({"patch_answer": expected, "update_with": "patch"}),
        );
    }
    detects(
        playing(Variants {
            put: PutMode::Merge,
            ..Variants::default()
        }),
        json!({"put": "merge", "clear_with": "null"}),
    );
}

#[test]
fn what_null_does_on_patch_is_told_apart_and_decides_how_to_clear() {
    for (rule, expected) in [
        (NullOnPatch::Ignored, "ignored"),
        (NullOnPatch::Reject, "refused"),
    ] {
        detects(
            playing(Variants {
                patch_null: rule,
                put: PutMode::Merge,
                ..Variants::default()
            }),
            json!({"null_on_patch": expected, "empty_on_patch": "stores-empty", "clear_with": "empty"}),
        );
    }
}

#[test]
fn a_required_field_is_found_and_sent() {
    detects(
        playing(Variants {
            require: vec!["siret".into(), "legacyCode".into()],
            ..Variants::default()
        }),
        json!({"required_fields": ["legacyCode", "siret"], "create_answer": "record"}),
    );
}

#[test]
fn values_returned_as_strings_are_reported() {
    let (report, _) = detects(
        playing(Variants {
            string_types: true,
            ..Variants::default()
        }),
        json!({"values": {
            "capital_as_number": false, "zip_code_keeps_zeros": true,
            "contacts_keep_keys": true, "is_company_as_boolean": false,
            "arabic_unchanged": true
        }}),
    );
    let capital = &report["write"]["values"][0];
    assert_eq!(
        (&capital["sent"], &capital["got"]),
        (&json!(1000), &json!("1000"))
    );
}

#[test]
fn the_other_list_shapes_and_id_field_are_kept_in_the_profile() {
    let (_, profile) = detects(
        Options {
            list_shape: ListShape::Array,
            id_field: IdField::Id,
            variants: Variants {
                post_answer: PostAnswer::Empty,
                ..Variants::default()
            },
            ..Options::default()
        },
        json!({"create_answer": "empty"}),
    );
    assert_eq!(profile.list.items_path, None);
    assert_eq!(profile.list.id_field.as_deref(), Some("id"));
}

#[test]
fn a_post_answer_that_is_not_json_is_looked_up_by_name() {
    // Issue 14's damaged answers: the customer is stored, so the probe must find and delete it.
    for how in [
        custbulk::sandbox::WriteBody::Cut,
        custbulk::sandbox::WriteBody::Html,
    ] {
        let (report, _) = detects(
            Options {
                quirks: Quirks {
                    write_body: Some(how),
                    ..Quirks::default()
                },
                ..Options::default()
            },
            json!({"create_answer": null, "patch_answer": "new"}),
        );
        let warnings = report["write"]["warnings"].to_string();
        assert!(warnings.contains("cannot read"), "{warnings}");
    }
}

#[test]
fn a_post_answered_500_after_storing_stops_the_probe_and_is_still_deleted() {
    let server = server(Options {
        fail_after_commit_rate: 1.0,
        ..Options::default()
    });
    let before = server.records();
    let dir = Workdir::new();
    let run = probe(&dir, &server, &[]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    let write = &run.json()["write"];
    assert_eq!(write["completed"], false);
    assert!(
        write["stopped"].as_str().unwrap().contains("POST"),
        "{write}"
    );
    assert_eq!(write["cleaned_up"], true, "{write}");
    assert!(run.stderr.contains("could not complete"), "{}", run.stderr);
    assert_eq!(server.records(), before);
    assert!(
        !dir.path("p.toml").exists(),
        "no profile from an incomplete probe"
    );
}

#[test]
fn the_key_shows_nowhere_even_when_the_server_echoes_it() {
    let server = server(Options {
        quirks: Quirks {
            echo_auth: true,
            ..Quirks::default()
        },
        variants: Variants {
            require: vec!["siret".into()],
            ..Variants::default()
        },
        ..Options::default()
    });
    let dir = Workdir::new();
    for extra in [&["-vv"][..], &["--output", "text", "-vv"]] {
        let run = probe(&dir, &server, extra);
        assert_eq!(run.code, 0, "{}", run.stderr);
        for text in [&run.stdout, &run.stderr, &dir.read("p.toml")] {
            assert!(!text.contains(SECRET), "the key shows in {text}");
        }
    }
}

#[test]
fn the_text_report_is_a_table_with_each_conclusion() {
    let server = server(playing(Variants {
        patch_answer: UpdateAnswer::Old,
        patch_null: NullOnPatch::Ignored,
        ..Variants::default()
    }));
    let dir = Workdir::new();
    let run = dir.exec_against(&server, &["check", "--write"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for line in [
        "call ",
        "POST /customers ",
        "DELETE /customers/{id} ",
        "POST answers   the whole record, 201, id in \"_id\"",
        "PATCH answers  the OLD record",
        "PUT            replaces the record",
        "null on PATCH  is IGNORED",
        "as sent        zipCode 01000 with its zero: yes",
        "server adds    createdAt, updatedAt",
        "clear a field  send \"\"",
        "cleaned up     yes",
    ] {
        assert!(run.stdout.contains(line), "{line:?} in\n{}", run.stdout);
    }
    assert!(
        !dir.path("custbulk.api.toml").exists(),
        "saved only with --save"
    );
}
