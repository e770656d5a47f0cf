//! `check` against APIs it has never seen (issue 23): pages counted from 1 with page 0 answered
//! empty, from 0, or with page 0 read as page 1; the total under `meta.total` or in an
//! `X-Total-Count` header; a `q` that does not search names. The profile it saves is what
//! export then pages by.

use custbulk::profile::Profile;
use custbulk::sandbox::{FirstPage, ListShape, Options, PageZero, Search, Variants};
use serde_json::json;

use super::probe;
use crate::util::{record, Server, Workdir};

/// A sandbox with `n` customers, playing `variants` with lists shaped `shape`.
fn api(shape: ListShape, variants: Variants, n: usize) -> Server {
    let server = Server::start(Options {
        list_shape: shape,
        variants,
        ..Options::default()
    });
    let customers = (0..n).map(|i| record(json!({"name": format!("Client {i}"), "city": "Lyon"})));
    server.running.insert(customers.collect());
    server
}

/// The issue's server: 1-based pages where page 0 answers an empty list, the total under
/// `meta.total`, and a `q` that does not search names.
fn the_issues_server(n: usize) -> Server {
    let variants = Variants {
        page_zero: PageZero::Empty,
        search: Search::NoNames,
        ..Variants::default()
    };
    api(ListShape::Meta, variants, n)
}

/// Regression: page 0 answering nothing while page 1 answered a record made check save
/// `first_page = 0` ("the pages differ"), and the total under `meta.total` was "unknown".
#[test]
fn pages_from_1_with_page_0_empty_and_a_total_under_meta_are_read_right() {
    let server = the_issues_server(20);
    let dir = Workdir::new();
    let run = dir.exec_against(&server, &["--output", "json", "check", "--save"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["first_page"], 1, "{report:#}");
    let why = report["first_page_why"].as_str().unwrap();
    assert!(why.contains("page 0 answers an empty list"), "{why}");
    assert_eq!(report["paging_works"], true);
    assert_eq!(report["total"], 20);
    assert_eq!(report["total_from"], "meta.total");
    let profile = Profile::load(&dir.path("custbulk.api.toml")).unwrap();
    assert_eq!(profile.list.first_page, Some(1));

    let text = dir.exec_against(&server, &["check"]);
    assert!(
        text.stdout.contains("total          20 (from meta.total)"),
        "{}",
        text.stdout
    );
    assert!(text
        .stdout
        .contains("first page     1 (page 0 answers an empty list"));
}

/// Pages counted from 0 are told from pages whose page 0 is page 1, and export, reading the
/// profile, pages from 0: nothing of page 0 is lost.
#[test]
fn pages_from_0_are_told_apart_and_export_pages_from_0() {
    let variants = Variants {
        first_page: FirstPage::Zero,
        total_header: true,
        ..Variants::default()
    };
    let server = api(ListShape::Array, variants, 25);
    let dir = Workdir::new();
    let run = dir.exec_against(&server, &["--output", "json", "check", "--save"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["first_page"], 0, "{report:#}");
    assert!(
        report["first_page_why"]
            .as_str()
            .unwrap()
            .contains("page 0 holds the first record"),
        "{report:#}"
    );
    assert_eq!(report["total"], 25);
    assert_eq!(report["total_from"], "header X-Total-Count");

    let export = dir.exec_against(
        &server,
        &[
            "--output",
            "json",
            "export",
            "all.ndjson",
            "--page-size",
            "10",
        ],
    );
    assert_eq!(export.code, 0, "{}\n{}", export.stdout, export.stderr);
    let exported = dir.read("all.ndjson").lines().count();
    assert_eq!(exported, 25, "every customer, page 0's too");
    assert_eq!(export.json()["records"], 25);

    let one_based = api(ListShape::Docs, Variants::default(), 3);
    let run = dir.exec_against(&one_based, &["--output", "json", "check"]);
    let why = run.json()["first_page_why"].as_str().unwrap().to_owned();
    assert_eq!(run.json()["first_page"], 1);
    assert!(why.contains("page 0 answers what page 1 does"), "{why}");
}

/// Regression: where `q` does not search names, `check --write` listed the probe's search as
/// "list of 0" and said nothing; and a customer a killed probe left was never found, since
/// the clean-up searched for it with `q`.
#[test]
fn a_q_that_does_not_search_names_is_found_out_and_leftovers_are_found_by_a_walk() {
    let server = the_issues_server(5);
    let left = "custbulk check 2026-11-30T09:00:00Z, safe to delete";
    server
        .running
        .insert(vec![record(json!({"name": left, "city": "Lyon"}))]);
    let before: Vec<_> = server
        .records()
        .into_iter()
        .filter(|r| r["name"] != left)
        .collect();
    let dir = Workdir::new();
    let run = probe(&dir, &server, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let write = &run.json()["write"];
    assert_eq!(write["list_finds_it"], false);
    assert_eq!(write["findings"]["search_finds_names"], false);
    assert_eq!(write["leftovers"][0]["name"], left, "{write:#}");
    assert_eq!(write["leftovers"][0]["deleted"], true);
    assert!(write["leftovers_looked_for"]
        .as_str()
        .unwrap()
        .contains("walking the list"));
    assert_eq!(
        server.records(),
        before,
        "the leftover and the probe are gone"
    );
    let profile = Profile::load(&dir.path("p.toml")).unwrap();
    assert_eq!(profile.writes.unwrap().search_finds_names, Some(false));

    let text = dir.exec_against(&server, &["check", "--write"]);
    assert!(
        text.stdout.contains("q              does NOT search names"),
        "{}",
        text.stdout
    );
}
