//! Every command under every variant: import (create, upsert), undo, export and restore, run as a user
//! runs them against the sandbox playing each plausible API, with and without a saved API
//! profile. Each either does its job (the store ends as it should, every row counted once) or
//! says it cannot, naming the behaviour and the fix; none reports a success it did not have.
//!
//! The variants run in parallel threads (each on its own sandbox), so the whole table stays
//! within a minute on two cores.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::{json, Value};

use custbulk::api::record_id;
use custbulk::apply::writes::sendable;
use custbulk::compare::canonical;
use custbulk::sandbox::{
    IdField, ListShape, NullOnPatch, Options, PostAnswer, PostStatus, PutMode, UpdateAnswer,
    Variants,
};

use crate::honest::{requests, store};
use crate::import::siret;
use crate::util::{record, Run, Server, Workdir};

/// What a variant stops undo from doing without a profile: the words its failure must say.
#[derive(Clone, Copy)]
enum Undo {
    Exact,
    /// The restore of added fields fails, saying this.
    Fails(&'static str),
}

/// One row of the table: the server, and what must happen on it.
#[derive(Clone)]
struct Variant {
    name: &'static str,
    options: Options,
    /// A field the server requires and the sheets lack.
    required: Option<&'static str>,
    /// Undo of the upsert without a profile (with one, undo is always exact).
    undo: Undo,
}

fn variant(name: &'static str, variants: Variants) -> Variant {
    Variant {
        name,
        options: Options {
            variants,
            ..Options::default()
        },
        required: None,
        undo: Undo::Exact,
    }
}

fn table() -> Vec<Variant> {
    let v = Variants::default;
    let post = |post_answer| Variants { post_answer, ..v() };
    let patch = |patch_answer| Variants {
        patch_answer,
        ..v()
    };
    let null = |patch_null| Variants { patch_null, ..v() };
    let shape = |name, list_shape, id_field| Variant {
        options: Options {
            list_shape,
            id_field,
            ..Options::default()
        },
        ..variant(name, v())
    };
    vec![
        variant("default", v()),
        variant("post answers only the id", post(PostAnswer::Id)),
        variant("post answers an envelope", post(PostAnswer::Envelope)),
        variant("post answers nothing", post(PostAnswer::Empty)),
        variant(
            "post answers 200",
            Variants {
                post_status: PostStatus::Ok,
                ..v()
            },
        ),
        variant("patch answers the old record", patch(UpdateAnswer::Old)),
        variant("patch answers nothing", patch(UpdateAnswer::Empty)),
        variant(
            "put merges",
            Variants {
                put: PutMode::Merge,
                ..v()
            },
        ),
        Variant {
            undo: Undo::Fails("this API ignores null on PATCH"),
            ..variant("null is ignored", null(NullOnPatch::Ignored))
        },
        Variant {
            undo: Undo::Fails("the API refuses null on PATCH"),
            ..variant("null is refused", null(NullOnPatch::Reject))
        },
        Variant {
            undo: Undo::Fails("this API ignores null on PATCH"),
            ..variant(
                "patch answers the old record and ignores null",
                Variants {
                    patch_answer: UpdateAnswer::Old,
                    patch_null: NullOnPatch::Ignored,
                    ..v()
                },
            )
        },
        Variant {
            required: Some("category"),
            ..variant(
                "a field is required",
                Variants {
                    require: vec!["category".into()],
                    ..v()
                },
            )
        },
        variant(
            "numbers and booleans come back as text",
            Variants {
                string_types: true,
                ..v()
            },
        ),
        shape("lists under data", ListShape::Data, IdField::UnderscoreId),
        shape(
            "lists as a bare array",
            ListShape::Array,
            IdField::UnderscoreId,
        ),
        shape("ids under id", ListShape::Docs, IdField::Id),
        Variant {
            options: Options {
                list_shape: ListShape::Array,
                id_field: IdField::Id,
                variants: Variants {
                    post_answer: PostAnswer::Empty,
                    patch_answer: UpdateAnswer::Empty,
                    string_types: true,
                    ..v()
                },
                ..Options::default()
            },
            ..variant("all the unknowns at once", v())
        },
    ]
}

/// Two customers before anything runs; the sheets below create three more, then update the
/// first (a changed city, and two fields it did not have), leave the second alone and create
/// a sixth.
fn seed(server: &Server) {
    server.running.insert(vec![
        record(json!({"name": "Alpha", "siret": siret(0), "city": "Lyon"})),
        record(
            json!({"name": "Beta", "siret": siret(1), "city": "Lyon", "capital": 5000, "isCompany": true}),
        ),
    ]);
}

const CREATE: &str =
    "name;siret;city;capital\nGamma;S2;Nice;100\nDelta;S3;Nice;200\nEpsilon;S4;Nice;300\n";
const UPSERT: &str =
    "name;siret;city;zipCode;capital;isCompany\nAlpha;S0;Paris;01000;1000;\nBeta;S1;Lyon;;5000;oui\nZeta;S5;Brest;29200;600;non\n";

fn sheet(text: &str) -> String {
    (0..6).fold(text.to_string(), |t, i| {
        t.replace(&format!(";S{i};"), &format!(";{};", siret(i)))
    })
}

/// The store as compared: each customer's canonical form (blank values and server fields
/// left out) as JSON text, sorted.
fn shown(server: &Server) -> Vec<String> {
    let mut all: Vec<String> = server
        .records()
        .iter()
        .map(|r| Value::Object(canonical(r).into_iter().collect()).to_string())
        .collect();
    all.sort();
    all
}

fn outcomes(wd: &Workdir, file: &str) -> Vec<String> {
    wd.results(file)
        .into_iter()
        .map(|r| r["_outcome"].clone())
        .collect()
}

/// Runs every command against one variant; panics (caught by the caller) on the first thing
/// that is not as it should be.
fn exercise(v: &Variant, profiled: bool) {
    let server = Server::start(v.options.clone());
    seed(&server);
    let wd = Workdir::new();
    let run = |args: &[&str]| -> Run {
        let mut args = args.to_vec();
        args.push("--no-progress");
        wd.exec_against(&server, &args)
    };
    if profiled {
        run(&["check", "--write", "--save"]).assert_ok();
        assert!(wd.path("custbulk.api.toml").exists());
    }
    let posts_before = requests(&server)["POST"].as_u64().unwrap_or(0);

    // import, create mode: every row created once, with the id the store gave it.
    wd.write("create.csv", sheet(CREATE));
    let created = run(&["import", "create.csv"]);
    let results = wd.results("create.results.csv");
    match v.required {
        None => {
            created.assert_ok();
            for row in &results {
                assert_eq!(row["_outcome"], "created", "{row:?}\n{created}");
                let stored = store(&server, &row["name"]);
                assert_eq!(stored.len(), 1, "{} stored once\n{created}", row["name"]);
                assert_eq!(record_id(&stored[0]).as_deref(), Some(row["_id"].as_str()));
            }
        }
        Some(field) => {
            created.assert_code(1);
            for row in &results {
                assert_eq!(row["_outcome"], "failed", "{row:?}");
                assert!(row["_error"].contains(field), "{row:?}");
            }
            assert_eq!(server.records().len(), 2, "nothing created\n{created}");
            if profiled {
                let posts = requests(&server)["POST"].as_u64().unwrap_or(0);
                assert_eq!(posts, posts_before, "refused before any POST\n{created}");
            }
        }
    }

    // import, upsert: one update (confirmed), one unchanged, one create.
    let before_upsert = shown(&server);
    wd.write("upsert.csv", sheet(UPSERT));
    let upsert = run(&[
        "import",
        "upsert.csv",
        "--mode",
        "upsert",
        "--match-on",
        "siret",
    ]);
    let got = outcomes(&wd, "upsert.results.csv");
    let alpha = &store(&server, "Alpha")[0];
    assert_eq!(
        (&alpha["city"], &alpha["zipCode"]),
        (&json!("Paris"), &json!("01000")),
        "{upsert}"
    );
    match v.required {
        None => {
            upsert.assert_ok();
            assert_eq!(got, ["updated", "unchanged", "created"], "{upsert}");
        }
        Some(_) => {
            upsert.assert_code(1);
            assert_eq!(got, ["updated", "unchanged", "failed"], "{upsert}");
        }
    }

    // undo of the upsert: the store as before it, or a clear failure.
    let undo = run(&["undo", "upsert.journal", "--yes"]);
    let rows = wd.results("upsert.undo.results.csv");
    let alpha_undo = rows.iter().find(|r| r["_outcome"] != "deleted").unwrap();
    match (v.undo, profiled) {
        (Undo::Fails(words), false) => {
            undo.assert_code(1);
            assert_eq!(alpha_undo["_outcome"], "failed", "{undo}");
            for said in [words, "custbulk check --write --save", "--restore-with put"] {
                assert!(
                    alpha_undo["_error"].contains(said),
                    "{said}: {alpha_undo:?}"
                );
            }
        }
        _ => {
            undo.assert_ok();
            assert_eq!(alpha_undo["_outcome"], "restored", "{undo}");
            assert_eq!(shown(&server), before_upsert, "{undo}");
        }
    }

    // export, and the export imported back: nothing to change.
    run(&["export", "out.csv"]).assert_ok();
    let exported = wd.results("out.csv");
    assert_eq!(exported.len(), server.records().len());
    let back = run(&["import", "out.csv", "--mode", "upsert"]);
    back.assert_ok();
    let got = outcomes(&wd, "out.results.csv");
    assert!(got.iter().all(|o| o == "unchanged"), "{got:?}\n{back}");

    restore(v, profiled, &server, &wd);
}

/// A backup, the account changed through the API (a city edited, a field added that the
/// backup lacks, a customer deleted, one added), then `restore --prune`: the account equals
/// the backup again, or the restore says which field this API would not clear, and how to.
fn restore(v: &Variant, profiled: bool, server: &Server, wd: &Workdir) {
    let run = |args: &[&str]| -> Run {
        let mut args = args.to_vec();
        args.push("--no-progress");
        wd.exec_against(server, &args)
    };
    run(&["export", "backup.ndjson"]).assert_ok();
    // Compared in the documented types: an API that returns numbers as text keeps what it is
    // sent as text too, so a re-created customer comes back as the others do.
    let typed = |server: &Server| -> Vec<String> {
        let mut all: Vec<String> = server
            .records()
            .iter()
            .map(|r| Value::Object(canonical(&sendable(r)).into_iter().collect()).to_string())
            .collect();
        all.sort();
        all
    };
    let backup = typed(server);
    let api = crate::util::client(&server.running);
    let alpha = record_id(&store(server, "Alpha")[0]).unwrap();
    let beta = record_id(&store(server, "Beta")[0]).unwrap();
    server.block_on(async {
        let edit = record(json!({"city": "Rome", "category": "nouveau"}));
        api.patch(&alpha, &edit).await.unwrap();
        api.delete(&beta).await.unwrap();
        let extra = json!({"name": "Omega", "siret": siret(9), "category": "x"});
        api.create(&record(extra)).await.unwrap();
    });
    let restored = run(&["restore", "backup.ndjson", "--prune", "--yes"]);
    let rows = wd.results("backup.restore.results.csv");
    let alpha_row = rows.iter().find(|r| r["_id"] == alpha).unwrap();
    match (v.undo, profiled, v.required) {
        (Undo::Fails(words), false, _) => {
            restored.assert_code(1);
            assert_eq!(alpha_row["_outcome"], "failed", "{restored}");
            for said in [words, "custbulk check --write --save", "--update-with put"] {
                assert!(alpha_row["_error"].contains(said), "{said}: {alpha_row:?}");
            }
        }
        (_, _, Some(field)) => {
            // Beta cannot be created again without the field the API requires.
            restored.assert_code(1);
            let beta_row = rows.iter().find(|r| r["_id"] == beta).unwrap();
            assert_eq!(beta_row["_outcome"], "failed", "{restored}");
            assert!(beta_row["_error"].contains(field), "{beta_row:?}");
        }
        _ => {
            restored.assert_ok();
            assert_eq!(typed(server), backup, "{restored}");
        }
    }
}

#[test]
fn every_command_works_or_says_why_under_every_variant() {
    let cases: Vec<(Variant, bool)> = table()
        .into_iter()
        .flat_map(|v| [(v.clone(), false), (v, true)])
        .collect();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                while let Some((v, profiled)) = cases.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let ran = catch_unwind(AssertUnwindSafe(|| exercise(v, *profiled)));
                    if let Err(panic) = ran {
                        let why = panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        let profile = if *profiled { "with" } else { "without" };
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("{} ({profile} a profile): {why}", v.name));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
