//! The files of the people custbulk serves, made as they make them: a CSV saved by Arabic Excel
//! (Windows-1256), a workbook typed with Arabic-Indic and Persian digits, a CSV holding Excel's
//! `="01000"`. Each is imported into the sandbox and the customers read back field by field.

use std::collections::HashMap;

use custbulk::pipeline::{Input, Pipeline};
use custbulk::sandbox::Options;
use custbulk::validate::{Checked, ValidateOptions};
use encoding_rs::WINDOWS_1256;
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::util::{project_file, Server, Workdir};

/// The stored customers by name, each as its JSON fields.
fn store_by_name(server: &Server) -> HashMap<String, Value> {
    server
        .records()
        .into_iter()
        .map(|r| (r["name"].as_str().unwrap().to_string(), Value::Object(r)))
        .collect()
}

/// A work directory holding the fixture `tests/data/NAME` as `as_name`.
fn with_fixture(name: &str, as_name: &str) -> Workdir {
    let wd = Workdir::new();
    let bytes = std::fs::read(project_file(&format!("tests/data/{name}"))).unwrap();
    wd.write(as_name, bytes);
    wd
}

/// Asserts each field of `want` on the stored customer.
#[track_caller]
fn assert_fields(stored: &Value, want: Value) {
    for (field, value) in want.as_object().unwrap() {
        assert_eq!(&stored[field], value, "{field} of {stored}");
    }
}

/// Arabic Excel's "CSV (point-virgule)": Windows-1256, `;`, CRLF, Arabic and French letters
/// in one file (`tests/data/clients-arabic-excel-windows1256.csv`, written by Python's cp1256
/// codec). Read as Windows-1252 it was stored as mojibake with exit 0.
#[test]
fn a_windows_1256_csv_from_arabic_excel_imports_as_typed() {
    let wd = with_fixture("clients-arabic-excel-windows1256.csv", "clients.csv");
    let checked = wd.exec(&["validate", "clients.csv"]);
    checked.assert_ok();
    assert!(
        checked
            .stdout
            .contains("Read as windows-1256, \";\"-separated"),
        "the summary names the encoding read\n{checked}"
    );
    let server = Server::start(Options::default());
    let imported = wd.exec_against(&server, &["import", "clients.csv"]);
    imported.assert_ok();
    assert!(
        imported
            .stdout
            .contains("Read as windows-1256, \";\"-separated"),
        "the import's summary names the encoding read too\n{imported}"
    );
    let store = store_by_name(&server);
    assert_eq!(store.len(), 5);
    assert_fields(
        &store["Boulangerie Martin"],
        json!({"manager": "Jeanne Martin", "name_ar": "مخبزة مارتان",
               "address_ar": "12 شارع الحرية، بورغ", "street1": "12 rue de la liberté",
               "zipCode": "01000", "city": "Bourg-en-Bresse", "capital": 120_000,
               "siret": "41234567800012", "rcs": "RCS Bourg-en-Bresse B 412 345 678"}),
    );
    assert_fields(
        &store["Crêperie Françoise"],
        json!({"manager": "Françoise Benali", "name_ar": "مقهى الأصدقاء",
               "address_ar": "زنقة الأمل", "street1": "8 rue du général de gaulle",
               "capital": 5000}),
    );
    assert_fields(
        &store["Café de l'œuvre"],
        json!({"manager": "Hélène Chérif", "name_ar": "مكتبة الحكمة",
               "street1": "5 chemin des écoliers", "zipCode": "06000",
               "siret": "05234567800024"}),
    );
    assert_fields(
        &store["Garçon & fils"],
        json!({"street1": "quai de la gare, bâtiment b", "capital": 1_000_000}),
    );
}

/// The same file read as Windows-1252 (a wrong --encoding): its Arabic fields hold no Arabic
/// letter, so the file is refused before anything is sent, with the fix named.
#[test]
fn mojibake_is_refused_naming_the_encoding_to_give() {
    let wd = with_fixture("clients-arabic-excel-windows1256.csv", "clients.csv");
    let server = Server::start(Options::default());
    let run = wd.exec_against(
        &server,
        &["import", "clients.csv", "--encoding", "windows-1252"],
    );
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("clients.csv: 10 of the first 10 name_ar and address_ar values")
            && run
                .stderr
                .contains("reads as \"مخبزة مارتان\" in Windows-1256")
            && run.stderr.contains("give --encoding windows-1256"),
        "{run}"
    );
    assert!(server.records().is_empty(), "nothing is sent");
    assert!(!wd.path("clients.results.csv").exists());
}

/// A list whose Arabic column is Latin in a few rows of many (3 of 30) is no mojibake: it
/// validates, with a warning on each such cell.
#[test]
fn a_few_latin_names_in_the_arabic_column_still_import() {
    let wd = Workdir::new();
    let mut csv = String::from("Raison sociale;Nom (arabe)\r\n");
    for i in 0..30 {
        let arabic = if i % 10 == 0 {
            "Taxi Meziane"
        } else {
            "مخبزة مارتان"
        };
        csv.push_str(&format!("Client {i};{arabic}\r\n"));
    }
    wd.write("clients.csv", &*WINDOWS_1256.encode(&csv).0);
    let run = wd.exec(&["validate", "clients.csv", "--format", "json"]);
    run.assert_ok();
    let v = run.json();
    assert_eq!(
        (v["encoding"].as_str(), v["warnings"].as_u64()),
        (Some("windows-1256"), Some(3))
    );
}

/// A workbook typed with Arabic-Indic and Persian digits (`tests/data/clients-arabic-digits.xlsx`,
/// written by openpyxl): capital, postcode, SIRET and RCS are read and stored with ASCII
/// digits; the results file keeps the cells as typed. A SIRET typed as a number lost its
/// leading zero: the error says so and gives the 14-digit value.
#[test]
fn arabic_indic_digits_in_a_workbook_are_stored_as_ascii() {
    let wd = with_fixture("clients-arabic-digits.xlsx", "clients.xlsx");
    let server = Server::start(Options::default());
    wd.exec_against(&server, &["import", "clients.xlsx"])
        .assert_code(1);
    let store = store_by_name(&server);
    assert_eq!(store.len(), 2, "{store:?}");
    assert_fields(
        &store["مخبزة مارتان"],
        json!({"capital": 120_000, "zipCode": "01000", "siret": "41234567800012",
               "rcs": "RCS Bourg-en-Bresse B 412 345 678"}),
    );
    assert_fields(
        &store["صيدلية النور"],
        json!({"capital": 25_000, "zipCode": "75011", "siret": "73282932000074",
               "rcs": "RCS Paris B 732 829 320"}),
    );
    let results = wd.results("clients.results.csv");
    assert_eq!(results[0]["Capital social"], "١٢٠٬٠٠٠", "the cell as typed");
    assert_eq!(results[1]["Code postal"], "۷۵۰۱۱");
    let lost = &results[2];
    assert_eq!(lost["_outcome"], "invalid");
    assert!(
        lost["_error"].contains("\"4123456780010\" has 13 digits")
            && lost["_error"].contains("\"04123456780010\" passes the checksum"),
        "{lost:?}"
    );
    assert!(
        results[3]["_error"].contains("\"١٢٫٥\" has a fraction"),
        "{:?}",
        results[3]
    );
}

/// `="01000"`, as Excel needs it to keep a leading zero, is the text inside; the results file
/// keeps it as written, so it opens in Excel with its zero still.
#[test]
fn excel_text_cells_import_as_the_text_inside() {
    let wd = Workdir::new();
    wd.write(
        "clients.csv",
        "Raison sociale;Code postal;N° SIRET;Contact 1 Téléphone\r\n\
         Boulangerie Martin;=\"01000\";=\"05234567800024\";=\"0612345678\"\r\n\
         Garage Dupont;69002;41234567800012;\r\n",
    );
    let server = Server::start(Options::default());
    wd.exec_against(&server, &["import", "clients.csv"])
        .assert_ok();
    let store = store_by_name(&server);
    assert_fields(
        &store["Boulangerie Martin"],
        json!({"zipCode": "01000", "siret": "05234567800024",
               "contacts": [{"phone": "0612345678"}]}),
    );
    assert_fields(&store["Garage Dupont"], json!({"zipCode": "69002"}));
    let results = wd.results("clients.results.csv");
    assert_eq!(results[0]["Code postal"], "=\"01000\"");
}

/// French words as lists hold them; Windows-1256 has the French lower-case accents and œ, not
/// the accented capitals.
const FRENCH: &[&str] = &[
    "Boulangerie",
    "pharmacie",
    "épicerie",
    "café",
    "crêperie",
    "Garçon",
    "société",
    "générale",
    "Françoise",
    "Hélène",
    "Chérif",
    "Lefèvre",
    "Noël",
    "l'œuvre",
    "rue",
    "de",
    "la",
    "liberté",
    "république",
    "général",
    "Gaulle",
    "bâtiment",
    "écoliers",
    "quai",
    "gare",
    "père",
    "côte",
    "forêt",
    "château",
    "Martin",
    "Benali",
    "& fils",
    "Bourg-en-Bresse",
    "Orléans",
    "Nîmes",
];

/// Arabic words as Maghreb lists hold them, French names written in Arabic letters among them.
const ARABIC: &[&str] = &[
    "شركة",
    "مخبزة",
    "صيدلية",
    "مقهى",
    "مكتبة",
    "النقل",
    "التجارة",
    "العامة",
    "الأصدقاء",
    "النور",
    "الحكمة",
    "مارتان",
    "دوبون",
    "بن علي",
    "حداد",
    "المنصوري",
    "شارع",
    "زنقة",
    "ساحة",
    "الحرية",
    "الجمهورية",
    "الاستقلال",
    "محمد",
    "الخامس",
    "الأمل",
    "الرباط",
    "الدار",
    "البيضاء",
    "تونس",
    "الجزائر",
    "وهران",
    "باريس",
    "ليون",
    "للبناء",
    "والأشغال",
    "المغربية",
    "إخوان",
];

/// One to four words of `words`, as a cell.
fn words(words: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(words), 20..40).prop_map(|w| w.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any list of 20 to 40 customers with French and Arabic fields, saved as Arabic Excel
    /// saves it (Windows-1256), reads back equal: detected, decoded and checked. (Letters drawn
    /// at random rather than words are no Arabic a detector knows: chardetng took such soup
    /// for KOI8-U, and the file was refused as mojibake.)
    #[test]
    fn lists_written_in_windows_1256_read_back_equal(
        rows in prop::collection::vec((words(FRENCH), words(FRENCH), words(ARABIC), words(ARABIC)), 20..40)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clients.csv");
        let mut w = csv::WriterBuilder::new().delimiter(b';').terminator(csv::Terminator::CRLF).from_writer(Vec::new());
        w.write_record(["Raison sociale", "Ville", "Nom (arabe)", "Adresse (arabe)"]).unwrap();
        for (i, (name, city, name_ar, address_ar)) in rows.iter().enumerate() {
            // Names made unique, as a repeated key is an error of its own.
            w.write_record([format!("{name} {i}").as_str(), city, name_ar, address_ar]).unwrap();
        }
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let (bytes, _, unmappable) = WINDOWS_1256.encode(&text);
        prop_assert!(!unmappable);
        std::fs::write(&path, &bytes).unwrap();
        let input = Input { file: path, ..Input::default() };
        let mut pipeline = Pipeline::open(&input, &ValidateOptions::default()).unwrap();
        prop_assert_eq!(pipeline.source().encoding, Some("windows-1256"));
        let mut row = Checked::new();
        for (i, (name, city, name_ar, address_ar)) in rows.iter().enumerate() {
            prop_assert!(pipeline.next(&mut row).unwrap());
            prop_assert!(row.problems.is_empty(), "{:?}", row.problems);
            let record = row.record();
            prop_assert_eq!(&record["name"], &json!(format!("{name} {i}")));
            prop_assert_eq!(&record["city"], &json!(city));
            prop_assert_eq!(&record["name_ar"], &json!(name_ar));
            prop_assert_eq!(&record["address_ar"], &json!(address_ar));
        }
        prop_assert!(!pipeline.next(&mut row).unwrap());
    }
}
