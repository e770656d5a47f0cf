//! `custbulk template`: the import sheet maps by itself, validates once filled, and carries
//! the notes, list and formats people rely on when filling it.

use std::io::Read as _;

use serde_json::json;

use crate::util::Workdir;

fn part(path: &std::path::Path, name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut s = String::new();
    zip.by_name(name)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .read_to_string(&mut s)
        .unwrap();
    s
}

#[test]
fn every_header_of_the_template_maps_automatically_in_both_languages() {
    let w = Workdir::new();
    for lang in ["en", "fr"] {
        let out = format!("t-{lang}.xlsx");
        let r = w.exec(&["template", "--lang", lang, "--out", &out]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let r = w.exec(&["--output", "json", "mapping", &out]);
        assert_eq!(r.code, 0, "{lang}: {}", r.stderr);
        let v = r.json();
        assert_eq!(v["unmapped"], json!([]), "{lang}");
        let fields: Vec<&str> = v["columns"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["field"].as_str())
            .collect();
        // Every schema field, contacts as column groups.
        for f in custbulk::schema::FIELDS {
            assert!(
                fields.contains(&f.name),
                "{lang}: {} missing from {fields:?}",
                f.name
            );
        }
    }
}

#[test]
fn the_template_filled_with_its_example_validates_with_zero_problems() {
    let w = Workdir::new();
    for lang in ["en", "fr"] {
        let out = format!("t-{lang}.xlsx");
        assert_eq!(
            w.exec(&["template", "--lang", lang, "--example", "--out", &out])
                .code,
            0
        );
        let r = w.exec(&["validate", &out, "--format", "json"]);
        assert_eq!(r.code, 0, "{lang}: {}", r.stdout);
        let v = r.json();
        assert_eq!(v["rows"], 1, "{lang}");
        assert_eq!(v["valid"], 1, "{lang}");
        assert_eq!(v["problems"], json!([]), "{lang}");
    }
}

#[test]
fn the_template_has_notes_a_yes_no_list_text_columns_and_a_frozen_bold_header() {
    let w = Workdir::new();
    assert_eq!(
        w.exec(&["template", "--lang", "fr", "--out", "t.xlsx"])
            .code,
        0
    );
    let path = w.path("t.xlsx");
    let sheet = part(&path, "xl/worksheets/sheet1.xml");
    assert!(sheet.contains("<dataValidation type=\"list\""), "{sheet}");
    assert!(
        sheet.contains("&quot;oui,non&quot;") || sheet.contains("\"oui,non\""),
        "{sheet}"
    );
    assert!(sheet.contains("state=\"frozen\""), "{sheet}");
    let notes = part(&path, "xl/comments1.xml");
    assert!(notes.contains("Exemple : 01000"), "{notes}");
    let styles = part(&path, "xl/styles.xml");
    assert!(
        styles.contains("numFmtId=\"49\""),
        "text format (@) for zipCode and siret"
    );
    assert!(styles.contains("<b/>"), "bold header");
    // The Arabic fields' columns (E and F: name_ar, address_ar) read right to left.
    let xfs = &styles[styles.find("<cellXfs").unwrap()..];
    let rtl = xfs
        .split("<xf ")
        .skip(1)
        .position(|xf| xf.contains("readingOrder=\"2\""))
        .expect("a right-to-left style");
    for col in [5, 6] {
        let want = format!("<col min=\"{col}\" max=\"{col}\"");
        let at = sheet.find(&want).expect("the column");
        let declared = &sheet[at..at + sheet[at..].find('>').unwrap()];
        assert!(declared.contains(&format!("style=\"{rtl}\"")), "{declared}");
    }
}
