//! File → Columns → Problems through the pages' JSON twins: what the page shows and keeps is
//! what the engines and the commands make of the same file.

use std::fmt::Write as _;

use reqwest::StatusCode;
use serde_json::Value;

use super::{Part, Served};
use crate::util::Workdir;

/// A French list as Excel saves it: Windows-1252, `;`-separated, two deliberate problems
/// (row 3's SIRET, row 4's capital).
fn french_list() -> Vec<u8> {
    let text = "Raison sociale;Code postal;N° SIRET;Capital social\n\
                Boulangerie Éric;01000;55212022200013;1 000\n\
                Café Noël;69002;123;2 000\n\
                Garage Lefèvre;75011;73282932000074;3,5\n";
    encoding_rs::WINDOWS_1252.encode(text).0.into_owned()
}

fn targets(columns: &Value) -> Vec<(String, String, bool)> {
    columns["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["header"].as_str().unwrap().to_string(),
                c["target"].as_str().unwrap().to_string(),
                c["automatic"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_list_goes_from_file_to_fixed_as_the_engines_see_it() {
    let s = Served::start().await;
    let id = s.upload("clients.csv", &french_list()).await;

    // File: read as the reader reads it, and changeable.
    let file = s.json(&format!("/files/{id}.json")).await;
    assert_eq!(file["format"], "CSV");
    assert_eq!(file["encoding"], "windows-1252");
    assert_eq!(file["delimiter"], ";");
    assert_eq!(file["headers"][2], "N° SIRET");
    let r = s
        .post_form(
            &format!("/files/{id}"),
            &[("delimiter", ","), ("encoding", "")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let file = s.json(&format!("/files/{id}.json")).await;
    assert_eq!(file["delimiter"], ",");
    assert_eq!(file["headers"].as_array().unwrap().len(), 1);
    s.post_form(&format!("/files/{id}"), &[("delimiter", "")])
        .await;

    // Columns: the automatic choices, three samples, the schema's fields to choose from.
    let columns = s.json(&format!("/files/{id}/columns.json")).await;
    assert_eq!(
        targets(&columns),
        [
            ("Raison sociale".into(), "name".into(), true),
            ("Code postal".into(), "zipCode".into(), true),
            ("N° SIRET".into(), "siret".into(), true),
            ("Capital social".into(), "capital".into(), true),
        ]
    );
    assert_eq!(
        columns["columns"][0]["samples"],
        serde_json::json!(["Boulangerie Éric", "Café Noël", "Garage Lefèvre"])
    );
    let fields: Vec<&str> = columns["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    let schema: Vec<&str> = custbulk::schema::FIELDS.iter().map(|f| f.name).collect();
    assert_eq!(fields, schema);

    // A choice that differs from the automatic one becomes a line of the mapping file.
    s.post_form(
        &format!("/files/{id}/columns"),
        &[("c3", ""), ("c0", "name")],
    )
    .await;
    let columns = s.json(&format!("/files/{id}/columns.json")).await;
    assert_eq!(
        targets(&columns)[3],
        ("Capital social".into(), "ignore".into(), false)
    );
    let saved = s.get(&format!("/files/{id}/mapping.toml")).await;
    assert!(saved.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("clients.mapping.toml"));
    let saved = saved.text().await.unwrap();
    assert!(saved.contains("\"Capital social\" = \"ignore\""), "{saved}");
    s.post_form(&format!("/files/{id}/columns"), &[("c3", "capital")])
        .await;
    let columns = s.json(&format!("/files/{id}/columns.json")).await;
    assert_eq!(
        targets(&columns)[3],
        ("Capital social".into(), "capital".into(), true)
    );

    // A transform, parsed by the mapping file's parser, with what it makes of the first row.
    let r = s
        .post_form(
            &format!("/files/{id}/transforms"),
            &[
                ("kind", "split"),
                ("column", "0"),
                ("pattern", r"^(?P<category>\S+)\s+(?P<manager>.+)$"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let columns = s.json(&format!("/files/{id}/columns.json")).await;
    let t = &columns["transforms"][0];
    assert_eq!(t["fields"], serde_json::json!(["category", "manager"]));
    assert_eq!(t["sample"], serde_json::json!(["Boulangerie", "Éric"]));
    let bad = s
        .post_form(
            &format!("/files/{id}/transforms"),
            &[
                ("kind", "split"),
                ("column", "0"),
                ("pattern", "(?P<rue>.+)"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("which is not a field"));
    s.post_form(&format!("/files/{id}/transforms/remove"), &[("index", "0")])
        .await;

    // A mapping file loaded is the one --map reads; saved, it is the one `mapping --write`
    // writes.
    let mapping = "[columns]\n\"Code postal\" = \"zipCode\"\n\n[defaults]\nisCompany = true\n";
    let r = s
        .post_multipart(
            &format!("/files/{id}/mapping.toml"),
            &[Part::file("mapping", "m.toml", mapping.as_bytes())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let columns = s.json(&format!("/files/{id}/columns.json")).await;
    assert_eq!(
        targets(&columns)[1],
        ("Code postal".into(), "zipCode".into(), false)
    );
    assert_eq!(
        columns["defaults"],
        serde_json::json!([["isCompany", "true"]])
    );
    let page = s
        .get(&format!("/files/{id}/mapping.toml"))
        .await
        .text()
        .await
        .unwrap();
    let dir = Workdir::new();
    dir.write("clients.csv", french_list());
    dir.write("m.toml", mapping);
    dir.exec(&[
        "mapping",
        "clients.csv",
        "--map",
        "m.toml",
        "--write",
        "out.toml",
    ])
    .assert_ok();
    assert_eq!(page, dir.read("out.toml"));
    let r = s
        .post_multipart(
            &format!("/files/{id}/mapping.toml"),
            &[Part::file(
                "mapping",
                "m.toml",
                b"[columns]\n\"A\" = \"gerant\"\n",
            )],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("which is not a field"));

    // Problems: the validate command's counts, the rows with problems in the grid.
    let problems = s.json(&format!("/files/{id}/problems.json")).await;
    let summary = &problems["summary"];
    assert_eq!(
        (summary["rows"].as_u64(), summary["invalid"].as_u64()),
        (Some(3), Some(2))
    );
    let rows: Vec<u64> = problems["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, [3, 4]);
    let siret = &problems["rows"][0]["cells"][2];
    assert_eq!(siret["value"], "123");
    assert!(siret["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("not 14 digits"));

    // A cell edited: its row checked again at once, the counts with it.
    let r = s
        .http
        .post(s.url(&format!("/files/{id}/rows/3/cells/2")))
        .headers(s.own())
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("value=43236035600013")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let edited: Value = r.json().await.unwrap();
    assert_eq!(edited["row"]["fixed"], true);
    assert_eq!(edited["summary"]["invalid"], 1);
    assert_eq!(edited["summary"]["valid"], 2);
    // Only rows with problems are edited here.
    let r = s
        .post_form(&format!("/files/{id}/rows/2/cells/0"), &[("value", "x")])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // The fixed file: the same format and delimiter, the edit in it, checked by the engine.
    let fixed = s.get(&format!("/files/{id}/fixed")).await;
    assert_eq!(fixed.status(), StatusCode::OK);
    assert!(fixed.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("clients.fixed.csv"));
    let bytes = fixed.bytes().await.unwrap();
    let path = dir.write("clients.fixed.csv", &bytes);
    let run = dir.exec(&["validate", path.to_str().unwrap(), "--format", "json"]);
    let report = run.json();
    assert_eq!(report["delimiter"], ";");
    assert_eq!(
        (report["valid"].as_u64(), report["invalid"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(report["problems"][0]["row"], 4);
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("Café Noël;69002;43236035600013;2 000"),
        "{text}"
    );

    // The annotated workbook: the same pass as validate --annotate, the edit applied.
    let annotated = s.get(&format!("/files/{id}/annotated")).await;
    assert_eq!(annotated.status(), StatusCode::OK);
    let path = dir.write("annotated.xlsx", annotated.bytes().await.unwrap());
    let run = dir.exec(&["validate", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(run.json()["invalid"], 1);

    // Checked whole again: the fixed row has left the grid.
    let r = s.post_form(&format!("/files/{id}/check"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let problems = s.json(&format!("/files/{id}/problems.json")).await;
    assert_eq!(problems["rows_with_problems"], 1);
    assert_eq!(problems["rows"][0]["row"], 4);
    assert_eq!(problems["edited_cells"], 1);
    s.running.stop().await.unwrap();
}

#[tokio::test]
async fn the_page_speaks_the_browsers_language() {
    let s = Served::start().await;
    let page = |lang: &'static str| {
        s.http
            .get(s.url("/"))
            .headers(s.own())
            .header("accept-language", lang)
            .send()
    };
    let fr = page("fr-FR,fr;q=0.9,en;q=0.5")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        fr.contains("lang=\"fr\"") && fr.contains("Déposez une liste"),
        "{fr}"
    );
    let en = page("en-GB").await.unwrap().text().await.unwrap();
    assert!(en.contains("lang=\"en\"") && en.contains("Drop a customer list"));
    // The six steps; without an API, the Plan says why it cannot go on, in the page's words.
    for step in ["File", "Columns", "Problems", "Plan", "Run", "Backups"] {
        assert!(en.contains(step), "{step}");
    }
    let id = s.upload("clients.csv", &french_list()).await;
    let plan = s.json(&format!("/files/{id}/plan.json")).await;
    assert!(
        plan["api"].as_str().unwrap().contains("--sandbox"),
        "{plan}"
    );
    let fr = s
        .http
        .get(s.url(&format!("/files/{id}/plan")))
        .headers(s.own())
        .header("accept-language", "fr")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(fr.contains("Établir le plan"), "{fr}");
    s.running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_rows_go_through_the_grid_a_page_at_a_time() {
    // Why: the page holds a million-row file without sending it to the browser (issue 26): the
    // server checks it whole, then the grid is served a page at a time, and a page deep in the
    // file holds that part of the file's own rows with their problems.
    let mut csv = String::with_capacity(32 << 20);
    // No city: a name alone is no likely duplicate, so the grid holds the SIRETs alone.
    csv.push_str("name,siret\n");
    for i in 0..1_000_000u32 {
        // One row in ten has a SIRET of 3 digits: 100,000 rows in the grid.
        let siret = if i % 10 == 7 { "123" } else { "" };
        writeln!(csv, "Société {i},{siret}").unwrap();
    }
    let s = Served::start().await;
    let id = s.upload("million.csv", csv.as_bytes()).await;
    drop(csv);

    let last = s
        .json(&format!("/files/{id}/problems.json?page=2000"))
        .await;
    assert_eq!(last["summary"]["rows"], 1_000_000, "{}", last["summary"]);
    assert_eq!(last["rows_with_problems"], 100_000);
    assert_eq!(
        (last["page"].as_u64(), last["pages"].as_u64()),
        (Some(2000), Some(2000))
    );
    let rows: Vec<u64> = last["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["row"].as_u64().unwrap())
        .collect();
    // Data row i is on line i + 2; the last with a problem is i = 999,997.
    let expected: Vec<u64> = (0..50).map(|k| 999_999 - 10 * (49 - k)).collect();
    assert_eq!(rows, expected);
    let cell = &last["rows"][49]["cells"][1];
    assert_eq!(cell["value"], "123");
    assert!(cell["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("not 14 digits"));

    // The HTML page of the same grid: the same rows, fifty, not the file.
    let html = s
        .get(&format!("/files/{id}/problems?page=1000"))
        .await
        .text()
        .await
        .unwrap();
    // Page 1,000 holds the 49,951st to the 50,000th rows with a problem: i = 499,507 to 499,997.
    let shows = |i: u32| {
        let name = format!("Société {i}");
        html.match_indices(&name)
            .any(|(at, _)| !html[at + name.len()..].starts_with(|c: char| c.is_ascii_digit()))
    };
    for (i, shown) in [
        (499_497, false),
        (499_507, true),
        (499_997, true),
        (500_007, false),
    ] {
        assert_eq!(shows(i), shown, "Société {i}");
    }
    s.running.stop().await.unwrap();
}
