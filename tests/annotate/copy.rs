//! The copy against its input: every problem on its cell, values as read, row numbers kept,
//! and the file that comes back after fixing the red cells.

use std::path::PathBuf;

use calamine::Data;
use rust_xlsxwriter::Workbook;
use serde_json::Value;

use super::*;
use crate::util::{stderr, Workdir};

/// The known-problems workbook of the first tests: header on row 1, a blank row 4.
fn clients(wd: &Workdir) -> PathBuf {
    let path = wd.path("clients.xlsx");
    write_xlsx(
        &path,
        "Clients",
        &[
            row(&[
                "Raison sociale",
                "Code postal",
                "N° SIRET",
                "Capital social",
                "Nom (arabe)",
                "Ville",
            ]),
            row(&[
                "Boulangerie Martin",
                "01000",
                &siret(1),
                "2 000 000",
                "مخبزة مارتن",
                "Bourg-en-Bresse",
            ]),
            row(&[
                "Garage Dupont",
                "75011",
                &bad_siret(2),
                "#1000",
                "",
                "Paris",
            ]),
            row(&[]),
            row(&["", "69002", &siret(3), "-5", "Boulangerie", "Lyon"]),
            row(&["Café de la Gare", "06000", &siret(1), "", "", "Nice"]),
            row(&[
                "Épicerie Benali",
                "13001",
                &siret(5),
                "",
                "بقالة بنعلي",
                "Marseille",
            ]),
        ],
    );
    path
}

#[test]
fn each_problem_is_on_its_cell_with_a_note_and_a_fill() {
    let wd = Workdir::new();
    let input = clients(&wd);
    let out = wd.run(&["validate", "clients.xlsx", "--annotate", "annotated.xlsx"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let annotated = wd.path("annotated.xlsx");
    assert_annotated(&wd, &input, &annotated);

    let (names, got) = cells(&annotated);
    assert_eq!(names, ["Clients", "Summary"]);
    let header: Vec<String> = (0..7).map(|c| text(&got, 1, c)).collect();
    assert_eq!(
        header,
        [
            "Problems",
            "Raison sociale",
            "Code postal",
            "N° SIRET",
            "Capital social",
            "Nom (arabe)",
            "Ville"
        ]
    );
    // Text stays text: the zip code keeps its zero, the number cell reads as typed.
    assert_eq!(got[&(2, 2)], Data::String("01000".into()));
    assert_eq!(got[&(2, 5)], Data::String("مخبزة مارتن".into()));
    assert_eq!(got[&(3, 4)], Data::String("1000".into()));
    // The blank row stays a blank row, so row numbers are the input's.
    assert!(got.keys().all(|(r, _)| *r != 4));
    assert_eq!(text(&got, 5, 3), siret(3));

    let m = marks(&annotated);
    // The mistyped SIRET, with the expected form from the schema.
    let note = &m.notes["D3"];
    assert!(note.starts_with("Error: "), "{note}");
    assert!(note.contains("check digit"), "{note}");
    assert!(
        note.contains(
            "Expected: French establishment number: 14 digits with a valid Luhn check digit"
        ),
        "{note}"
    );
    // A required name that is missing: the empty cell itself is red.
    assert_eq!(m.fills["B5"], RED);
    assert!(m.notes["B5"].contains("name is required"));
    assert_eq!(m.fills["E5"], RED);
    assert_eq!(m.fills["F5"], AMBER);
    assert!(m.notes["F5"].starts_with("Warning: "));
    assert!(m.notes["D6"].contains("already appears on row 2"));
    // The Arabic name's cells read right to left, as Excel shows Arabic, the flagged one with
    // its fill; no other column does.
    assert_eq!(
        m.right_to_left,
        ["F2", "F5", "F7"].map(String::from).into(),
        "{:?}",
        m.right_to_left
    );

    assert_eq!(text(&got, 2, 0), "");
    assert!(text(&got, 3, 0).starts_with("ERROR N° SIRET: "));
    let row5 = text(&got, 5, 0);
    for part in [
        "ERROR Raison sociale: name is required",
        "ERROR Capital social: \"-5\" is negative",
        "WARNING Nom (arabe): \"Boulangerie\" has no Arabic letters",
    ] {
        assert!(row5.contains(part), "{row5}");
    }

    // The sheet opens filtered and frozen on its header.
    let sheet = part(&annotated, "xl/worksheets/sheet1.xml").unwrap();
    assert!(sheet.contains(r#"<autoFilter ref="A1:G7"/>"#), "{sheet}");
    assert!(sheet.contains(r#"<pane ySplit="1" topLeftCell="A2""#));
    // Nothing but the annotated copy is left in the directory.
    let mut files: Vec<String> = std::fs::read_dir(wd.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["annotated.xlsx", "clients.xlsx"]);
}

#[test]
fn fixing_the_red_cells_gives_a_file_with_no_errors() {
    let wd = Workdir::new();
    clients(&wd);
    let out = wd.run(&["validate", "clients.xlsx", "--annotate", "annotated.xlsx"]);
    assert_eq!(out.status.code(), Some(1));

    // As a person would: open the annotated copy, fix the flagged cells, save it as it is,
    // the Problems column and the Summary sheet included.
    let (_, mut got) = cells(&wd.path("annotated.xlsx"));
    let fixes = [
        ((3, 3), siret(2)),
        ((5, 1), "Menuiserie Lefèvre".to_string()),
        ((5, 4), "5000".to_string()),
        ((6, 3), siret(6)),
    ];
    for ((r, c), v) in fixes {
        got.insert((r, c), Data::String(v));
    }
    let fixed = wd.path("fixed.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Clients").unwrap();
    for ((r, c), v) in &got {
        if let Data::String(s) = v {
            ws.write_string(r - 1, *c as u16, s).unwrap();
        }
    }
    wb.add_worksheet().set_name("Summary").unwrap();
    wb.save(&fixed).unwrap();

    let (code, report) = validate(&wd, &fixed, &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["errors"], 0);
    assert_eq!(
        report["warnings"], 1,
        "the Arabic warning was left: {report:#}"
    );
    assert_eq!(report["rows"], 5);
    assert_eq!(report["ignored"], serde_json::json!(["Problems"]));
    assert_eq!(report["unmapped"], serde_json::json!([]));
}

#[test]
fn the_annotated_copy_validates_like_its_input() {
    let wd = Workdir::new();
    let input = clients(&wd);
    assert_eq!(
        wd.run(&["validate", "clients.xlsx", "--annotate", "a.xlsx"])
            .status
            .code(),
        Some(1)
    );
    let key = |r: &Value| -> Vec<(u64, String, String, String)> {
        r["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["row"].as_u64().unwrap(),
                    p["field"].as_str().unwrap().to_string(),
                    p["severity"].as_str().unwrap().to_string(),
                    p["message"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let (_, before) = validate(&wd, &input, &[]);
    let (code, after) = validate(&wd, &wd.path("a.xlsx"), &[]);
    assert_eq!(code, 1);
    assert_eq!(key(&before), key(&after));
    assert_eq!(after["blank_rows"], 1);

    // Annotating the annotated copy gives the same copy: the old Problems column is replaced.
    assert_eq!(
        wd.run(&["validate", "a.xlsx", "--annotate", "b.xlsx"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(cells(&wd.path("a.xlsx")), cells(&wd.path("b.xlsx")));
    assert_eq!(
        marks(&wd.path("a.xlsx")).notes,
        marks(&wd.path("b.xlsx")).notes
    );
}

#[test]
fn csv_input_with_a_blank_line_and_awkward_text() {
    let wd = Workdir::new();
    let input = wd.write(
        "clients.csv",
        format!(
            "Nom;Code postal;Ville;Contact 1 Email;SIRET\n\
             Boulangerie Martin;01000;Bourg-en-Bresse;jean@example.fr;{}\n\
             Garage Dupont;75011;Paris;pas-un-email;\n\
             \n\
             \"Café \"\"Le Zinc\"\" & fils\";69002;  Lyon ;<b>x</b>@example;\n\
             Épicerie_x0041_;13001;Marseille;;123\n",
            siret(1)
        ),
    );
    let out = wd.run(&["validate", "clients.csv", "--annotate", "annotated.xlsx"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let annotated = wd.path("annotated.xlsx");
    assert_annotated(&wd, &input, &annotated);

    let (names, got) = cells(&annotated);
    assert_eq!(names, ["Annotated", "Summary"]);
    assert_eq!(text(&got, 5, 1), "Café \"Le Zinc\" & fils");
    assert_eq!(text(&got, 5, 3), "  Lyon ", "spaces as typed");
    assert_eq!(text(&got, 6, 1), "Épicerie_x0041_");
    assert_eq!(text(&got, 2, 2), "01000");
    let m = marks(&annotated);
    assert!(m.notes["E3"].contains("\"pas-un-email\" is not an e-mail address"));
    // The e-mail message already gives the form; no JSON help for a contact column.
    assert!(!m.notes["E3"].contains("Expected"), "{}", m.notes["E3"]);
    assert!(m.notes["F6"].contains("\"123\" is not 14 digits"));
}

#[test]
fn office_suite_files_keep_their_sheet_and_header_row() {
    for name in [
        "clients-libreoffice.ods",
        "clients-libreoffice.xls",
        "clients-libreoffice.xlsx",
    ] {
        let wd = Workdir::new();
        let input = data(name);
        let out = wd.run(&[
            "validate",
            input.to_str().unwrap(),
            "--annotate",
            "annotated.xlsx",
        ]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        let annotated = wd.path("annotated.xlsx");
        let before = assert_annotated(&wd, &input, &annotated);

        // The header stays on row 3, under the blank place of the title row.
        let (names, got) = cells(&annotated);
        assert_eq!(names[0], "Clients", "{name}");
        assert_eq!(text(&got, 3, 0), "Problems", "{name}");
        assert!(got.keys().all(|(r, _)| *r >= 3), "{name}");
        let (code, after) = validate(&wd, &annotated, &[]);
        assert_eq!(code, 1);
        assert_eq!(after["header_row"], before["header_row"], "{name}");
        assert_eq!(after["errors"], before["errors"], "{name}");
        assert_eq!(after["warnings"], before["warnings"], "{name}");
    }
}
