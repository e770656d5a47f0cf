//! `custbulk validate` on real files through the binary: the JSON shape scripts rely on, the
//! exit codes, the problem report, and the samples' deliberate mistakes.

use serde_json::{json, Value};

use crate::util::{project_file, Workdir};

/// The problems of a JSON summary as (row, field, severity) triples, in order.
fn triples(v: &Value) -> Vec<(u64, String, String)> {
    v["problems"]
        .as_array()
        .expect("problems array")
        .iter()
        .map(|p| {
            (
                p["row"].as_u64().unwrap(),
                p["field"].as_str().unwrap().to_string(),
                p["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn json_output_has_exactly_the_documented_shape() {
    let w = Workdir::new();
    w.write(
        "clients.csv",
        "Nom;Ville;SIRET;Notes\nAcme;Paris;123;x\n\nBeta;Lyon;55212022200013;\n",
    );
    let r = w.exec(&["validate", "clients.csv", "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = r.json();
    for key in [
        "file",
        "sheet",
        "rows",
        "valid",
        "invalid",
        "blank_rows",
        "mapping",
        "unmapped",
        "problems",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["file"], "clients.csv");
    assert_eq!(v["sheet"], Value::Null);
    assert_eq!(
        (
            v["rows"].as_u64(),
            v["valid"].as_u64(),
            v["invalid"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(v["blank_rows"], 1);
    let mapping: Vec<Value> = v["mapping"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| json!({"column": m["column"], "header": m["header"], "field": m["field"]}))
        .collect();
    assert_eq!(
        mapping,
        [
            json!({"column": "A", "header": "Nom", "field": "name"}),
            json!({"column": "B", "header": "Ville", "field": "city"}),
            json!({"column": "C", "header": "SIRET", "field": "siret"}),
        ]
    );
    assert_eq!(v["unmapped"], json!(["Notes"]));
    assert_eq!(
        v["problems"],
        json!([{"row": 2, "column": "C", "header": "SIRET", "field": "siret", "severity": "error",
                "message": "\"123\" is not 14 digits", "value": "123"}])
    );
}

#[test]
fn global_output_json_means_the_same_as_format_json() {
    let w = Workdir::new();
    w.write("c.csv", "name,city\nAcme,Paris\n");
    let r = w.exec(&["--output", "json", "validate", "c.csv"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["valid"], 1);
}

#[test]
fn warnings_alone_exit_zero() {
    let w = Workdir::new();
    w.write("c.csv", "Nom,Nom (arabe)\nAcme,Acme\n");
    let r = w.exec(&["validate", "c.csv", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(
        triples(&r.json()),
        [(2, "name_ar".to_string(), "warning".to_string())]
    );
}

#[test]
fn an_unreadable_file_exits_3_naming_the_file() {
    let w = Workdir::new();
    let r = w.exec(&["validate", "missing.xlsx"]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("missing.xlsx"), "{}", r.stderr);
    w.write(
        "broken.xlsx",
        b"PK\x03\x04 this is not really a workbook \x00\x01\x02",
    );
    let r = w.exec(&["validate", "broken.xlsx"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("broken.xlsx"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn two_columns_on_one_field_exit_2() {
    let w = Workdir::new();
    w.write("c.csv", "Nom;Raison sociale;Ville\nA;B;Paris\n");
    let r = w.exec(&["validate", "c.csv"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("A (Nom), B (Raison sociale)"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_societe_column_of_company_names_is_told_how_to_map_it() {
    let w = Workdir::new();
    w.write(
        "c.csv",
        "Société;Ville;Code postal\nBoulangerie Martin;Lyon;69001\nGarage du Centre;Oran;31000\n",
    );
    let r = w.exec(&["validate", "c.csv"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("[columns] \"Société\" = \"name\""),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("Boulangerie Martin"), "{}", r.stderr);
    w.write("m.toml", "[columns]\n\"Société\" = \"name\"\n");
    let r = w.exec(&["validate", "c.csv", "--map", "m.toml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // A Société column of yes and no is what the schema means: no hint about names.
    w.write("yn.csv", "Société;Ville\noui;Lyon\nnon;Oran\n");
    let r = w.exec(&["validate", "yn.csv"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!r.stderr.contains("= \"name\""), "{}", r.stderr);
}

#[test]
fn configuration_mistakes_exit_2() {
    let w = Workdir::new();
    w.write("c.csv", "Nom;Ville\nA;Paris\n");
    w.write("bad.toml", "[columns]\n\"Ville\" = \"town\"\n");
    for args in [
        vec!["validate", "c.csv", "--map", "bad.toml"],
        vec!["validate", "c.csv", "--map", "absent.toml"],
        vec!["validate", "c.csv", "--mode", "update"],
        vec!["validate", "c.csv", "--match-on", "siret"],
    ] {
        let r = w.exec(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
    }
    w.write("nothing.csv", "foo;bar\n1;2\n");
    let r = w.exec(&["validate", "nothing.csv"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("no column maps to a customer field"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_report_lists_every_problem() {
    let w = Workdir::new();
    let mut csv = String::from("name;capital\n");
    for i in 0..10 {
        csv.push_str(&format!("C{i};{i},5\n"));
    }
    w.write("c.csv", csv);
    let r = w.exec(&["validate", "c.csv", "--report", "problems.csv"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("capital: 10 errors"), "{}", r.stdout);
    assert!(r.stdout.contains("... and 7 more"), "{}", r.stdout);
    assert!(r.stdout.contains("problems.csv"), "{}", r.stdout);
    let report = w.read("problems.csv");
    let mut lines = report.lines();
    assert_eq!(
        lines.next(),
        Some("row,column,header,field,severity,message,value")
    );
    assert_eq!(lines.next(), Some("2,B,capital,capital,error,\"\"\"0,5\"\" has a fraction; a whole number is expected\",\"0,5\""));
    assert_eq!(report.lines().count(), 11);
}

#[test]
fn text_output_groups_problems_by_field_and_says_how_to_see_all() {
    let w = Workdir::new();
    w.write(
        "c.csv",
        "Nom;SIRET;Contact 1 Email\nA;123;a@b.fr\nB;55212022200013;nope\n",
    );
    let r = w.exec(&["validate", "c.csv"]);
    assert_eq!(r.code, 1);
    let out = &r.stdout;
    assert!(
        out.starts_with("c.csv: 2 rows checked, 0 valid, 2 with errors."),
        "{out}"
    );
    assert!(
        out.contains("  siret: 1 error\n    row 2, column B (SIRET): \"123\" is not 14 digits"),
        "{out}"
    );
    assert!(out.contains("  contacts: 1 error\n    row 3, column C (Contact 1 Email): \"nope\" is not an e-mail address"), "{out}");
    assert!(out.contains("--report PROBLEMS.csv"), "{out}");
}

#[test]
fn french_english_and_arabic_headers_map_in_one_file() {
    let w = Workdir::new();
    w.write(
        "c.csv",
        "Raison sociale,Is company,N° SIRET,Code postal,الاسم,العنوان,contact2_phone,Contact 2 Téléphone\n",
    );
    let r = w.exec(&["validate", "c.csv", "--format", "json"]);
    // contact2_phone and Contact 2 Téléphone are the same target: a usage error naming both.
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("G (contact2_phone), H (Contact 2 Téléphone)"),
        "{}",
        r.stderr
    );
    w.write("d.csv", "Raison sociale,Is company,N° SIRET,Code postal,الاسم,العنوان,contact2_phone\nA,oui,55212022200013,01000,أ,ب,01\n");
    let r = w.exec(&["validate", "d.csv", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v = r.json();
    let fields: Vec<&str> = v["mapping"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "name",
            "isCompany",
            "siret",
            "zipCode",
            "name_ar",
            "address_ar",
            "contacts"
        ]
    );
}

#[test]
fn update_mode_needs_an_id_in_every_row() {
    let w = Workdir::new();
    w.write(
        "c.csv",
        "_id,Ville,_outcome\nabc,Paris,updated\n,Lyon,\nabc,Nice,\n",
    );
    let r = w.exec(&["validate", "c.csv", "--mode", "update", "--format", "json"]);
    assert_eq!(r.code, 1);
    let v = r.json();
    assert_eq!(
        triples(&v),
        [
            (3, "id".into(), "error".into()),
            (4, "id".into(), "error".into())
        ]
    );
    assert!(v["problems"][1]["message"]
        .as_str()
        .unwrap()
        .contains("already appears on row 2"));
    // Results columns are recognised, not reported as unmapped.
    assert_eq!(v["unmapped"], json!([]));
}

#[test]
fn the_xlsx_sample_shows_its_deliberate_mistakes() {
    let w = Workdir::new();
    let sample = project_file("samples/customers.xlsx");
    let r = w.exec(&["validate", sample.to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["sheet"], "Clients");
    assert_eq!(
        (
            v["rows"].as_u64(),
            v["valid"].as_u64(),
            v["invalid"].as_u64()
        ),
        (Some(40), Some(35), Some(5))
    );
    assert_eq!(v["blank_rows"], 1);
    let e = |row: u64, f: &str| (row, f.to_string(), "error".to_string());
    let wn = |row: u64, f: &str| (row, f.to_string(), "warning".to_string());
    let mut got = triples(&v);
    got.sort();
    assert_eq!(
        got,
        [
            e(9, "siret"),
            e(14, "contacts"),
            e(18, "capital"),
            e(27, "name"),
            wn(29, "name_ar"),
            e(33, "siret"),
            wn(37, "rcs")
        ]
    );
    assert_eq!(v["unmapped"], json!(["Remarques"]));
}

#[test]
fn the_xlsx_sample_keeps_leading_zeros_and_numeric_sirets() {
    // Row 7 has its zip code typed as the number 2100 formatted 00000 and its SIRET as a number:
    // both must read as a person sees them, and so pass validation.
    let w = Workdir::new();
    let sample = project_file("samples/customers.xlsx");
    let r = w.exec(&["validate", sample.to_str().unwrap(), "--format", "json"]);
    let v = r.json();
    assert!(
        triples(&v).iter().all(|(row, _, _)| *row != 7),
        "{}",
        v["problems"]
    );
    let results = w.path("read.csv");
    let sample = sample.to_str().unwrap();
    let r = w.exec(&[
        "import",
        sample,
        "--dry-run",
        "--results",
        results.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let rows = crate::import::results(&w, "read.csv");
    let row7 = rows.iter().find(|r| r["_row"] == "7").expect("row 7");
    assert_eq!(row7["Code postal"], "02100");
    assert_eq!(row7["N° SIRET"], "44236769500016");
    assert_eq!(row7["Capital social"], "160000");
}

#[test]
fn the_csv_sample_is_clean_with_and_without_its_mapping() {
    let w = Workdir::new();
    let csv = project_file("samples/customers.csv");
    let map = project_file("samples/mapping.toml");
    let r = w.exec(&["validate", csv.to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v = r.json();
    assert_eq!(v["rows"], 20);
    assert_eq!(v["problems"], json!([]));
    let r = w.exec(&[
        "validate",
        csv.to_str().unwrap(),
        "--map",
        map.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v = r.json();
    assert_eq!(v["problems"], json!([]));
    assert_eq!(v["unmapped"], json!([]));
    assert_eq!(v["mapping"].as_array().unwrap().len(), 11);
}

/// Rows are checked in batches on another thread: a key repeated far apart (batches apart) must
/// still be found, on the later row, and every row counted once.
#[test]
fn a_key_repeated_thousands_of_rows_later_is_found() {
    let w = Workdir::new();
    let mut csv = String::from("name;city\n");
    for i in 0..5000 {
        let name = if i == 4321 {
            "Client 7".to_string()
        } else {
            format!("Client {i}")
        };
        csv.push_str(&format!("{name};Paris\n"));
        if i == 2500 {
            csv.push_str(";\n");
        }
    }
    w.write("big.csv", csv);
    let r = w.exec(&["validate", "big.csv", "--format", "json"]);
    assert_eq!(r.code, 1);
    let v = r.json();
    assert_eq!(
        (
            v["rows"].as_u64(),
            v["invalid"].as_u64(),
            v["blank_rows"].as_u64()
        ),
        (Some(5000), Some(1), Some(1))
    );
    assert_eq!(v["problems"][0]["row"], 4321 + 3);
    assert_eq!(
        v["problems"][0]["message"],
        "name \"Client 7\" already appears on row 9"
    );
}

#[test]
fn an_unknown_sheet_is_a_usage_error_listing_the_sheets() {
    let w = Workdir::new();
    let sample = project_file("samples/customers.xlsx");
    let r = w.exec(&["validate", sample.to_str().unwrap(), "--sheet", "Nope"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("\"Clients\""), "{}", r.stderr);
}

#[test]
fn a_file_with_a_header_and_no_rows_is_valid() {
    let w = Workdir::new();
    w.write("empty.csv", "Nom;Ville\n");
    let r = w.exec(&["validate", "empty.csv", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["rows"], 0);
}

/// `--header-row 0` is a mistake in the command, not in the file: exit 2, said at once.
#[test]
fn header_row_zero_is_a_usage_error() {
    let w = Workdir::new();
    w.write("clients.csv", "Nom;Ville\nAcme;Paris\n");
    let r = w.exec(&["validate", "clients.csv", "--header-row", "0"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--header-row"), "{}", r.stderr);
    let r = w.exec(&["validate", "clients.csv", "--header-row", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// A 20 MB `name` used to validate as fine; it is an error naming its row and column.
#[test]
fn a_twenty_megabyte_name_is_an_error_on_its_row_and_column() {
    let w = Workdir::new();
    let mut csv = String::from("Ville;Nom\nParis;Acme\nLyon;");
    csv.push_str(&"x".repeat(20 << 20));
    csv.push('\n');
    w.write("long.csv", csv);
    let r = w.exec(&["validate", "long.csv", "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = r.json();
    assert_eq!(
        (v["valid"].as_u64(), v["invalid"].as_u64()),
        (Some(1), Some(1))
    );
    let p = &v["problems"][0];
    assert_eq!(
        (p["row"].as_u64(), p["column"].as_str()),
        (Some(3), Some("B"))
    );
    assert!(
        p["message"]
            .as_str()
            .unwrap()
            .ends_with("is 20,971,520 characters long; name holds at most 1,000"),
        "{p}"
    );
    assert!(r.stdout.len() < 10_000, "the value is not quoted whole");
}

/// "the row has 1 cells" read wrong: one cell is singular, in what the user sees.
#[test]
fn a_short_row_is_counted_in_the_singular() {
    let w = Workdir::new();
    w.write("short.csv", "Nom;Ville;Code postal\nAcme\n");
    let r = w.exec(&["validate", "short.csv", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.json()["problems"][0]["message"],
        "the row has 1 cell but the header has 3 columns"
    );
}

/// A phone number typed in a number cell loses its leading 0 (`0612345678` reads `612345678`):
/// a warning on its cell says so and gives the number back; numbers that keep their spaces,
/// their `+` or their 0, and Tunisia's 8 digits, are left alone.
#[test]
fn a_phone_that_lost_its_leading_zero_in_a_number_cell_is_a_warning() {
    let w = Workdir::new();
    let path = w.path("contacts.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let header = ["Raison sociale", "Contact 1 Nom", "Contact 1 Téléphone"];
    sheet.write_row(0, 0, header).unwrap();
    sheet.write_row(1, 0, ["Acme", "Jean"]).unwrap();
    sheet.write_number(1, 2, 612345678.0).unwrap();
    for (r, phone) in ["06 12 34 56 78", "+33612345678", "0612345678"]
        .iter()
        .enumerate()
    {
        let r = r as u32 + 2;
        sheet
            .write_row(r, 0, [format!("Client {r}"), "Paul".into()])
            .unwrap();
        sheet.write_string(r, 2, *phone).unwrap();
    }
    sheet.write_row(5, 0, ["Tunis Import", "Ali"]).unwrap();
    sheet.write_number(5, 2, 71234567.0).unwrap();
    book.save(&path).unwrap();

    let r = w.exec(&["validate", "contacts.xlsx", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    let problems = v["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{v}");
    let p = &problems[0];
    assert_eq!(
        (p["row"].as_u64(), p["column"].as_str()),
        (Some(2), Some("C"))
    );
    assert_eq!(p["severity"], "warning");
    assert!(
        p["message"].as_str().unwrap().contains("\"0612345678\""),
        "{p}"
    );
}
