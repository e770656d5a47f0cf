use super::*;
use crate::mapping::{MapFile, Mapping};
use coerce::IntError;
use unicode_normalization::UnicodeNormalization;

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A validator for `headers` in `mode`, and a way to check rows against it.
struct Sheet {
    v: Validator,
    row: u32,
    out: Checked,
}

impl Sheet {
    fn new(headers: &[&str]) -> Sheet {
        Sheet::with(headers, ValidateOptions::default(), None)
    }

    fn with(headers: &[&str], opts: ValidateOptions, file: Option<&str>) -> Sheet {
        let file = file.map(|f| MapFile::parse(f).unwrap());
        let mapping = Mapping::infer(&strings(headers), file.as_ref());
        Sheet {
            v: Validator::new(&mapping, &opts).unwrap(),
            row: 1,
            out: Checked::new(),
        }
    }

    fn check(&mut self, cells: &[&str]) -> &Checked {
        self.row += 1;
        self.out.row = self.row;
        self.out.cells = cells.iter().collect();
        self.v.check(&mut self.out);
        &self.out
    }

    /// The messages of the row's problems.
    fn messages(&mut self, cells: &[&str]) -> Vec<String> {
        self.check(cells)
            .problems
            .iter()
            .map(|p| p.message.clone())
            .collect()
    }
}

fn one(header: &str, value: &str) -> Checked {
    let mut s = Sheet::new(&["name", header]);
    s.check(&["Acme", value]).clone()
}

fn json(c: &Checked, field: &str) -> Option<serde_json::Value> {
    c.get(field).map(|v| v.to_json())
}

#[test]
fn booleans_in_english_and_french() {
    for (text, want) in [
        ("true", true),
        ("FALSE", false),
        ("yes", true),
        ("No", false),
        ("oui", true),
        ("NON", false),
        ("vrai", true),
        ("Faux", false),
        ("1", true),
        ("0", false),
        ("x", true),
        ("X", true),
        ("y", true),
        ("n", false),
        ("o", true),
    ] {
        let c = one("isCompany", text);
        assert!(c.is_valid(), "{text}: {:?}", c.problems);
        assert_eq!(
            json(&c, "isCompany"),
            Some(serde_json::Value::Bool(want)),
            "{text}"
        );
    }
    let c = one("isCompany", "peut-être");
    assert!(!c.is_valid());
    assert!(c.problems[0]
        .message
        .starts_with("\"peut-être\" is not a yes/no value"));
    // Blank is not false: the field is simply left out.
    let c = one("isCompany", "  ");
    assert!(c.is_valid());
    assert_eq!(c.get("isCompany").map(|v| v.to_json()), None);
    assert_eq!(
        c.blank_fields().map(|f| f.name).collect::<Vec<_>>(),
        ["isCompany"]
    );
}

#[test]
fn integers_with_thousands_separators() {
    for (text, want) in [
        ("2000000", 2_000_000),
        ("2 000 000", 2_000_000),
        ("2\u{a0}000\u{a0}000", 2_000_000),
        ("2\u{202f}000\u{202f}000", 2_000_000),
        ("2,000,000", 2_000_000),
        ("2.000.000", 2_000_000),
        ("2'000'000", 2_000_000),
        ("1,000", 1000),
        ("1.000", 1000),
        ("1000.0", 1000),
        ("1000,00", 1000),
        ("1 000,00", 1000),
        ("1.000.000,00", 1_000_000),
        ("1,000,000.00", 1_000_000),
        ("2 000 000 €", 2_000_000),
        ("0", 0),
        ("+5", 5),
        ("12", 12),
        ("1000.", 1000),
    ] {
        assert_eq!(coerce::parse_int(text), Ok(want), "{text}");
    }
    for (text, err) in [
        ("12,5", IntError::Fraction),
        ("1000.5", IntError::Fraction),
        ("1 000,5", IntError::Fraction),
        ("1,000.50", IntError::Fraction),
        ("12,34,567", IntError::Grouping),
        ("1 00 000", IntError::Grouping),
        ("1 000.000 000", IntError::NotNumber),
        ("10,00,000", IntError::Grouping),
        ("1 000,000.000", IntError::Grouping),
        ("abc", IntError::NotNumber),
        ("", IntError::NotNumber),
        ("1e6", IntError::NotNumber),
        ("12 abc", IntError::NotNumber),
        ("99999999999999999999", IntError::TooLarge),
    ] {
        assert_eq!(coerce::parse_int(text), Err(err), "{text}");
    }
    let c = one("capital", "2 000 000");
    assert_eq!(json(&c, "capital"), Some(serde_json::json!(2_000_000)));
    assert!(one("capital", "12,5").problems[0]
        .message
        .contains("has a fraction"));
}

#[test]
fn negative_capital_is_an_error_but_not_a_negative_un_number() {
    let c = one("capital", "-1000");
    assert!(!c.is_valid());
    assert!(c.problems[0].message.contains("is negative"));
    assert!(one("unNumber", "-3").is_valid());
}

#[test]
fn strings_are_trimmed_and_nfc() {
    let c = one("city", "  Orle\u{301}ans \u{a0}");
    assert_eq!(json(&c, "city"), Some(serde_json::json!("Orléans")));
    // zipCode stays text: leading zeros survive.
    assert_eq!(
        json(&one("zipCode", "01000"), "zipCode"),
        Some(serde_json::json!("01000"))
    );
}

#[test]
fn siret_needs_fourteen_digits_and_a_valid_checksum() {
    let c = one("siret", "552 120 222 00013");
    assert!(c.is_valid(), "{:?}", c.problems);
    assert_eq!(json(&c, "siret"), Some(serde_json::json!("55212022200013")));
    let c = one("siret", "123");
    assert_eq!(c.problems[0].message, "\"123\" is not 14 digits");
    assert_eq!(c.problems[0].field, "siret");
    let c = one("siret", "55212022200014");
    assert!(c.problems[0].message.contains("check digit is wrong"));
    assert!(!one("siret", "5521202220001A").is_valid());
}

#[test]
fn the_luhn_check_digit_completes_a_siret() {
    assert_eq!(coerce::luhn_check_digit("5521202220001"), '3');
    assert_eq!(coerce::luhn_check_digit("7328293200007"), '4');
    for n in 0..500u64 {
        let payload = format!("{:013}", 4_123_456_780_000 + n * 7);
        let siret = format!("{payload}{}", coerce::luhn_check_digit(&payload));
        assert!(coerce::luhn(&siret), "{siret}");
    }
}

#[test]
fn la_poste_sirets_use_the_digit_sum() {
    // 3+5+6+1 = 15: a multiple of 5, though the Luhn sum fails.
    assert!(!coerce::luhn("35600000000001"));
    assert!(one("siret", "35600000000001").is_valid());
    assert!(!one("siret", "35600000000002").is_valid());
}

#[test]
fn rcs_whose_siren_differs_from_the_siret_is_a_warning() {
    let mut s = Sheet::new(&["name", "siret", "rcs"]);
    let c = s.check(&["Acme", "55212022200013", "RCS Paris B 552 120 222"]);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    let c = s.check(&["Acme 2", "73282932000074", "RCS Paris B 552 120 222"]);
    assert_eq!(c.problems.len(), 1);
    assert_eq!(c.problems[0].severity, Severity::Warning);
    assert!(c.problems[0].message.contains("552120222"));
    assert!(c.is_valid());
    assert_eq!(
        coerce::rcs_siren("RCS Paris 2002 B 552120222"),
        Some(*b"552120222")
    );
    assert_eq!(coerce::rcs_siren("Lyon"), None);
}

#[test]
fn arabic_fields_without_arabic_script_are_a_warning() {
    let c = one("name_ar", "مخبزة مارتان");
    assert!(c.problems.is_empty());
    let c = one("address_ar", "12 rue de la Paix");
    assert_eq!(c.problems[0].severity, Severity::Warning);
    assert!(c.problems[0].message.contains("has no Arabic letters"));
    assert!(c.is_valid());
}

#[test]
fn contacts_from_column_groups() {
    let mut s = Sheet::new(&[
        "Nom",
        "Contact 1 Nom",
        "Contact 1 Email",
        "Contact 2 Téléphone",
        "contact2_email",
        "Contact 3 Nom",
    ]);
    let c = s.check(&["Acme", "Jeanne", "jeanne@acme.fr", "", "paul@acme.fr", ""]);
    assert!(c.is_valid(), "{:?}", c.problems);
    assert_eq!(
        json(c, "contacts"),
        Some(
            serde_json::json!([{"name": "Jeanne", "email": "jeanne@acme.fr"}, {"email": "paul@acme.fr"}])
        )
    );
    let c = s.check(&["Acme 2", "", "", "", "", ""]);
    assert_eq!(json(c, "contacts"), None);
    assert_eq!(
        c.blank_fields().map(|f| f.name).collect::<Vec<_>>(),
        ["contacts"]
    );
    let c = s.check(&["Acme 3", "Jeanne", "jeanne@acme", "", "", ""]);
    assert!(!c.is_valid());
    assert_eq!(c.problems[0].column, "C");
    assert_eq!(c.problems[0].field, "contacts");
    assert!(c.problems[0].message.contains("is not an e-mail address"));
}

/// The e-mail rule as plainly as it reads, for the one-pass [`coerce::is_email`].
fn plainly_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !if s.is_ascii() {
            s.bytes().any(|c| c.is_ascii_whitespace())
        } else {
            s.chars().any(char::is_whitespace)
        }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]
    /// Numbers with spaces take a fast path; it must read them as the general rule does.
    #[test]
    fn spaced_numbers_read_as_the_general_rule_reads_them(
        s in proptest::prop_oneof![
            "[0-9 ]{1,26}",
            "[0-9]{1,4}( [0-9]{2,4}){0,7}",
            "[1-9][0-9]{0,2}( [0-9]{3}){3,8}",
        ],
    ) {
        let general = coerce::parse_int(&format!("+{s}"));
        proptest::prop_assert_eq!(coerce::parse_int(&s), general, "{:?}", s);
    }
}

/// Pieces of addresses: mostly letters and dots, now and then a space of some kind or an `@`,
/// and a long piece that takes an address across the 16-byte blocks and past 64 bytes.
fn email_part() -> impl proptest::strategy::Strategy<Value = &'static str> {
    proptest::sample::select(vec![
        "a",
        "bc",
        "d",
        "é",
        ".",
        ".",
        ".",
        " ",
        "\t",
        "\u{b}",
        "\u{a0}",
        "@",
        "abcdefghijklmnopq",
    ])
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]
    #[test]
    fn email_is_the_plain_rule(
        local in proptest::collection::vec(email_part(), 0..6),
        at in proptest::sample::select(vec!["@", "", "@@"]),
        domain in proptest::collection::vec(email_part(), 0..8),
    ) {
        let s = format!("{}{at}{}", local.concat(), domain.concat());
        proptest::prop_assert_eq!(coerce::is_email(&s), plainly_email(&s), "{:?}", s);
    }
}

#[test]
fn email_rules() {
    for ok in ["a@b.fr", "jean.dupont+x@mail.example.com"] {
        assert!(coerce::is_email(ok), "{ok}");
    }
    for bad in [
        "", "a", "@b.fr", "a@b", "a@@b.fr", "a b@c.fr", "a@b.fr.", "a@.b.fr", "a@b..fr",
    ] {
        assert!(!coerce::is_email(bad), "{bad}");
    }
}

#[test]
fn contacts_from_a_json_column() {
    let c = one(
        "contacts",
        r#"[{"name":"Jeanne","email":"j@acme.fr","phone":"01"}]"#,
    );
    assert!(c.is_valid(), "{:?}", c.problems);
    assert_eq!(json(&c, "contacts").unwrap()[0]["name"], "Jeanne");
    for bad in [
        r#"{"name":"x"}"#,
        "[1,2]",
        "Jeanne Martin",
        r#"[{"email":"nope"}]"#,
    ] {
        let c = one("contacts", bad);
        assert!(!c.is_valid(), "{bad}");
    }
    assert!(one("contacts", "[]").is_valid());
}

#[test]
fn a_repeated_match_key_is_an_error_on_the_later_rows() {
    let mut s = Sheet::new(&["name", "siret"]);
    assert!(s.check(&["A", "55212022200013"]).is_valid());
    assert!(s.check(&["B", "73282932000074"]).is_valid());
    let c = s.check(&["C", "552 120 222 00013"]);
    assert!(!c.is_valid());
    assert_eq!(
        c.problems[0].message,
        "siret \"55212022200013\" already appears on row 2"
    );
    // The value is the cell as the user typed it.
    assert_eq!(c.problems[0].value, "552 120 222 00013");
    // Without a siret column the key is the name.
    let mut s = Sheet::new(&["name", "city"]);
    assert!(s.check(&["A", "Paris"]).is_valid());
    assert!(!s.check(&["A", "Lyon"]).is_valid());
    // With an id column, the id.
    let mut s = Sheet::new(&["_id", "name"]);
    assert!(s.check(&["1", "A"]).is_valid());
    assert!(s.check(&["2", "A"]).is_valid());
    assert!(!s.check(&["1", "B"]).is_valid());
    // --match-on chooses.
    let opts = ValidateOptions {
        mode: Mode::Create,
        match_on: Some("city".into()),
    };
    let mut s = Sheet::with(&["name", "city"], opts, None);
    assert!(s.check(&["A", "Paris"]).is_valid());
    assert!(!s.check(&["B", "Paris"]).is_valid());
}

#[test]
fn name_is_required_to_create_and_upsert_but_not_to_update() {
    let mut s = Sheet::new(&["name", "city"]);
    assert_eq!(
        s.messages(&["", "Paris"]),
        ["name is required to create a customer, and this row has none"]
    );
    let upsert = ValidateOptions {
        mode: Mode::Upsert,
        match_on: None,
    };
    let mut s = Sheet::with(&["name", "city"], upsert, None);
    assert!(!s.check(&["", "Paris"]).is_valid());
    let update = ValidateOptions {
        mode: Mode::Update,
        match_on: None,
    };
    let mut s = Sheet::with(&["id", "name", "city"], update, None);
    assert!(s.check(&["1", "", "Paris"]).is_valid());
}

#[test]
fn update_needs_a_key_column_and_a_key_in_every_row() {
    let update = ValidateOptions {
        mode: Mode::Update,
        match_on: None,
    };
    let mapping = Mapping::infer(&strings(&["name", "city"]), None);
    let err = Validator::new(&mapping, &update).err().unwrap();
    assert_eq!(crate::error::exit_code(&err), crate::error::USAGE);
    let mut s = Sheet::with(&["id", "city"], update, None);
    let c = s.check(&["", "Paris"]);
    assert!(!c.is_valid());
    assert_eq!(c.id(), None);
    assert!(s.check(&["abc", "Paris"]).is_valid());
    assert_eq!(s.out.id(), Some("abc"));
    assert_eq!(s.out.key(), Some("abc"));
}

#[test]
fn usage_errors_are_found_before_any_row() {
    let usage = |headers: &[&str], opts: ValidateOptions, file: Option<&str>| {
        let file = file.map(|f| MapFile::parse(f).unwrap());
        let m = Mapping::infer(&strings(headers), file.as_ref());
        let err = Validator::new(&m, &opts).err().expect("a usage error");
        assert_eq!(crate::error::exit_code(&err), crate::error::USAGE, "{err}");
        err.to_string()
    };
    let def = ValidateOptions::default;
    assert!(usage(&["Nom", "Raison sociale"], def(), None).contains("map to name"));
    assert!(usage(&["city"], def(), None).contains("no column maps to name"));
    let on = |f: &str| ValidateOptions {
        mode: Mode::Create,
        match_on: Some(f.into()),
    };
    assert!(usage(&["name"], on("siret"), None).contains("no column of the sheet maps to siret"));
    assert!(usage(&["name"], on("nope"), None).contains("not a field"));
    assert!(
        usage(&["name"], def(), Some("[defaults]\ncapital = \"lots\"\n"))
            .contains("default for capital")
    );
}

#[test]
fn mapping_file_defaults_and_translations_apply() {
    let file = "[defaults]\nisCompany = true\ncity = \"Paris\"\n[values.status]\n\"Actif\" = \"actif\"\n\"En sommeil\" = \"dormant\"\n";
    let mut s = Sheet::with(
        &["name", "Statut", "Ville"],
        ValidateOptions::default(),
        Some(file),
    );
    let c = s.check(&["A", " ACTIF ", ""]);
    assert!(c.is_valid(), "{:?}", c.problems);
    let rec = c.record();
    assert_eq!(rec["status"], "actif");
    assert_eq!(rec["isCompany"], true);
    assert_eq!(rec["city"], "Paris");
    assert_eq!(
        s.check(&["B", "en sommeil", "Lyon"]).record()["status"],
        "dormant"
    );
    assert_eq!(s.check(&["C", "Autre", "Lyon"]).record()["status"], "Autre");
}

#[test]
fn the_record_has_api_names_and_json_types() {
    let mut s = Sheet::new(&[
        "Raison sociale",
        "Société",
        "Capital social",
        "CP",
        "N° SIRET",
        "UN number",
        "_id",
        "Notes",
    ]);
    let c = s.check(&[
        "Boulangerie Martin",
        "oui",
        "2 000 000",
        "01000",
        "55212022200013",
        "1203",
        "abc",
        "x",
    ]);
    assert!(c.is_valid(), "{:?}", c.problems);
    assert_eq!(
        serde_json::Value::Object(c.record()),
        serde_json::json!({"name": "Boulangerie Martin", "isCompany": true, "capital": 2000000,
            "zipCode": "01000", "siret": "55212022200013", "unNumber": 1203})
    );
    assert_eq!(c.id(), Some("abc"));
    assert_eq!(c.cells.len(), 8);
}

#[test]
fn blank_rows_are_flagged_and_not_checked() {
    let mut s = Sheet::new(&["name", "city"]);
    let c = s.check(&["", "  "]);
    assert!(c.blank_row);
    assert!(c.problems.is_empty());
    assert!(!c.is_valid());
}

#[test]
fn problems_name_row_column_header_and_value() {
    let mut s = Sheet::new(&["Nom", "Ville", "SIRET"]);
    let c = s.check(&["A", "Paris", "123"]);
    assert_eq!(
        c.problems[0],
        Problem {
            row: 2,
            column: "C".into(),
            header: "SIRET".into(),
            field: "siret",
            severity: Severity::Error,
            message: "\"123\" is not 14 digits".into(),
            value: "123".into(),
        }
    );
}

#[test]
fn ragged_rows_are_a_warning() {
    let mut s = Sheet::new(&["name", "city"]);
    s.out.ragged = Some(3);
    let c = s.check(&["A", "Paris"]);
    assert!(c.is_valid());
    assert_eq!(c.problems[0].severity, Severity::Warning);
    assert_eq!(
        c.problems[0].message,
        "the row has 3 cells but the header has 2 columns"
    );
}

/// "the row has 1 cells" read wrong; one cell, or one column, is singular.
#[test]
fn ragged_row_counts_are_singular_for_one() {
    let mut s = Sheet::new(&["name", "city", "zip"]);
    s.out.ragged = Some(1);
    let c = s.check(&["A", "", ""]);
    assert_eq!(
        c.problems[0].message,
        "the row has 1 cell but the header has 3 columns"
    );
    let mut s = Sheet::new(&["name"]);
    s.out.ragged = Some(2);
    let c = s.check(&["A"]);
    assert_eq!(
        c.problems[0].message,
        "the row has 2 cells but the header has 1 column"
    );
}

#[test]
fn text_already_in_nfc_is_kept_and_decomposed_text_is_composed() {
    let mut out = String::new();
    for same in [
        "Société Générale",
        "مخبزة مارتان",
        "Ærø ß ÿ",
        "Chloé — 12 €",
        "日本",
    ] {
        coerce::clean_text(same, &mut out);
        assert_eq!(out, same);
    }
    coerce::clean_text("Soci\u{65}\u{301}te\u{301}", &mut out);
    assert_eq!(out, "Société");
    // Arabic with harakat in a non-canonical order is reordered by NFC.
    let unordered = "\u{0628}\u{0651}\u{064E}";
    coerce::clean_text(unordered, &mut out);
    assert_eq!(out, unordered.nfc().collect::<String>());
    // Alef + madda above composes; so do the marks at the ends of the Arabic mark ranges.
    for decomposed in ["\u{627}\u{653}", "x\u{627}\u{654}", "\u{648}\u{654}"] {
        assert!(!coerce::is_nfc(decomposed), "{decomposed:?}");
        coerce::clean_text(decomposed, &mut out);
        assert_eq!(out, decomposed.nfc().collect::<String>());
    }
    assert!(coerce::has_arabic("x \u{627}") && !coerce::has_arabic("Chloé"));
    // Whole rows are scanned 32 bytes at a time: a mark is found wherever it falls.
    let long = "Société Générale مخبزة مارتان 12 rue de la Paix";
    assert!(coerce::surely_nfc(long));
    for at in 0..long.len() {
        if long.is_char_boundary(at) {
            let with_mark = format!("{}\u{301}{}", &long[..at], &long[at..]);
            assert!(!coerce::surely_nfc(&with_mark), "{at}");
        }
    }
}

/// A 20 MB name was accepted as valid; text fields hold at most 1,000 characters (subject
/// 10,000), and the problem quotes only the start of the cell.
#[test]
fn text_longer_than_its_field_allows_is_an_error_quoting_its_start() {
    let mut s = Sheet::new(&["name", "subject", "Contact 1 Email"]);
    let long_name = "N".repeat(20_000_000);
    let c = s.check(&[&long_name, "", ""]);
    assert!(!c.is_valid());
    let p = &c.problems[0];
    assert_eq!((p.column.as_str(), p.field), ("A", "name"));
    assert_eq!(
        p.message,
        format!(
            "\"{}…\" is 20,000,000 characters long; name holds at most 1,000",
            "N".repeat(60)
        )
    );
    assert_eq!(p.value.chars().count(), 61);

    // Characters, not bytes: 1,000 Arabic letters are 2,000 bytes and fit.
    let arabic = "م".repeat(1_000);
    let subject = "s".repeat(10_000);
    assert!(s.check(&[&arabic, &subject, ""]).is_valid());
    let c = s.check(&["Acme", &"s".repeat(10_001), ""]);
    assert_eq!(c.problems[0].field, "subject");
    let c = s.check(&["Beta", "", &"e".repeat(1_001)]);
    assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
    assert!(c.problems[0]
        .message
        .ends_with("a contact's email holds at most 1,000"));
}

mod digits;
mod transforms;

#[test]
fn a_row_checked_alone_keeps_the_other_rows_keys_and_says_which_problems_came_from_them() {
    // The page checks an edited row again at once: only the row's own checks, and the
    // validator's memory of the file's keys stays as the pass left it.
    let mut s = Sheet::new(&["name", "siret", "capital"]);
    s.check(&["A", "55212022200013", "1"]);
    let c = s.check(&["B", "55212022200013", "1,5"]);
    assert_eq!(c.problems.len(), 2);
    assert_eq!(c.across_rows().len(), 1);
    assert!(c.across_rows()[0]
        .message
        .contains("already appears on row 2"));
    let mut edited = Checked::new();
    edited.row = 3;
    edited.cells = ["B", "55212022200013", "1"].iter().collect();
    s.v.check_alone(&mut edited);
    assert!(edited.problems.is_empty(), "{:?}", edited.problems);
    assert!(edited.across_rows().is_empty());
    // The key of row 2 is still known: a later row repeating it is still caught.
    let c = s.check(&["C", "55212022200013", "1"]);
    assert!(c.problems[0].message.contains("already appears on row 2"));
}
