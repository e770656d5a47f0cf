//! The mapping file's `[fields]` and `[split]` tables, through the checks: the issue's rules.

use super::*;

const GERANT: &str = r#"
[fields]
manager = "{Prénom du gérant} {Nom du gérant}"
"#;

const ADRESSE: &str = r#"
[split."Adresse complète"]
pattern = '^(?P<street1>.+?),?\s+(?P<zipCode>\d{5})\s+(?P<city>.+)$'
"#;

fn usage(headers: &[&str], file: &str) -> String {
    let file = MapFile::parse(file).unwrap();
    let mapping = Mapping::infer(&strings(headers), Some(&file));
    Validator::new(&mapping, &ValidateOptions::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

#[test]
fn a_field_made_from_columns_leaves_no_stray_space() {
    let headers = ["Raison sociale", "Prénom du gérant", "Nom du gérant"];
    let mut s = Sheet::with(&headers, ValidateOptions::default(), Some(GERANT));
    let c = s.check(&["Acme", "Jeanne", "Martin"]);
    assert_eq!(json(c, "manager"), Some(serde_json::json!("Jeanne Martin")));
    let c = s.check(&["Acme", " ", "Martin"]);
    assert_eq!(json(c, "manager"), Some(serde_json::json!("Martin")));
    // Every part blank: the field is blank, as a blank cell.
    let c = s.check(&["Acme", "", ""]);
    assert_eq!(c.get("manager").map(|v| v.to_json()), None);
    assert_eq!(
        c.blank_fields().map(|f| f.name).collect::<Vec<_>>(),
        ["manager"]
    );
}

#[test]
fn a_split_column_gives_its_fields_their_own_checks() {
    let headers = ["Raison sociale", "Adresse complète"];
    let mut s = Sheet::with(&headers, ValidateOptions::default(), Some(ADRESSE));
    let c = s.check(&["Acme", "12 rue de la Liberté, 01000 Bourg-en-Bresse"]);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    let record = c.record();
    assert_eq!(record["street1"], "12 rue de la Liberté");
    assert_eq!(record["zipCode"], "01000", "01000 stays text");
    assert_eq!(record["city"], "Bourg-en-Bresse");
    // Arabic-Indic digits fit \d and are stored as ASCII, as from a column.
    let c = s.check(&["Acme 2", "شارع الحرية، ٠١٠٠٠ الرباط"]);
    assert_eq!(c.record()["zipCode"], "01000");
    // A blank cell leaves the fields blank.
    let c = s.check(&["Acme 3", ""]);
    assert!(c.is_valid(), "{:?}", c.problems);
    let blank: Vec<&str> = c.blank_fields().map(|f| f.name).collect();
    assert_eq!(blank, ["street1", "zipCode", "city"]);
}

/// A made value is composed as a cell is: a decomposed accent in a cell, or in a template's own
/// text, is stored in NFC; a row already in NFC is kept as it is.
#[test]
fn made_values_are_stored_in_nfc() {
    let headers = [
        "Raison sociale",
        "Prénom du gérant",
        "Nom du gérant",
        "Adresse complète",
    ];
    let file = format!("{GERANT}{ADRESSE}");
    let mut s = Sheet::with(&headers, ValidateOptions::default(), Some(&file));
    let c = s.check(&[
        "Acme",
        "Rene\u{301}",
        "Martin",
        "1 rue A, 01000 Cre\u{301}teil",
    ]);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    let record = c.record();
    assert_eq!(record["manager"], "Ren\u{e9} Martin");
    assert_eq!(record["city"], "Cr\u{e9}teil");
    let c = s.check(&[
        "Acme 2",
        "Ren\u{e9}",
        "Martin",
        "1 rue A, 01000 Cr\u{e9}teil",
    ]);
    assert_eq!(c.record()["manager"], "Ren\u{e9} Martin");
    let accent = "[fields]\nmanager = \"{Nom du gérant} (ge\u{301}rant)\"\n";
    let mut s = Sheet::with(&headers, ValidateOptions::default(), Some(accent));
    let c = s.check(&["Acme", "", "Martin", ""]);
    assert_eq!(c.record()["manager"], "Martin (g\u{e9}rant)");
}

/// A cell the pattern does not fit makes the row invalid, on the cell's row and column, with
/// the value and the pattern: the customer is never created with blanks.
#[test]
fn a_cell_the_pattern_does_not_fit_is_an_error_on_its_cell() {
    let headers = ["Raison sociale", "Adresse complète"];
    let mut s = Sheet::with(&headers, ValidateOptions::default(), Some(ADRESSE));
    let c = s.check(&["Acme", "Bourg-en-Bresse"]).clone();
    assert!(!c.is_valid());
    assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
    let p = &c.problems[0];
    assert_eq!((p.row, p.column.as_str()), (2, "B"));
    assert_eq!(p.header, "Adresse complète");
    assert_eq!(p.value, "Bourg-en-Bresse");
    assert!(p.message.starts_with("\"Bourg-en-Bresse\" does not fit the pattern of [split.\"Adresse complète\"], ^(?P<street1>"), "{}", p.message);
    assert!(
        p.message.ends_with("street1, zipCode and city are not set"),
        "{}",
        p.message
    );
    assert!(c.record().get("street1").is_none() && c.blank_fields().next().is_none());
}

/// A problem of a value a transform made is shown on the column it read, saying so.
#[test]
fn problems_of_made_values_are_on_the_column_they_came_from() {
    let headers = ["Raison sociale", "Adresse complète", "N° SIRET"];
    let file = r#"
[split."Adresse complète"]
pattern = '^(?P<street1>.+)\s+(?P<siret>\d{13,14})$'
"#;
    let mut s = Sheet::with(&headers[..2], ValidateOptions::default(), Some(file));
    let c = s.check(&["Acme", "12 rue de la Paix 55212022200014"]);
    let p = &c.problems[0];
    assert_eq!((p.column.as_str(), p.field), ("B", "siret"));
    assert!(
        p.message
            .ends_with("(made by [split.\"Adresse complète\"])"),
        "{}",
        p.message
    );
}

#[test]
fn transforms_are_checked_before_any_row() {
    let headers = [
        "Raison sociale",
        "Prénom du gérant",
        "Nom du gérant",
        "Gérant",
    ];
    let err = usage(&headers, GERANT);
    assert!(
        err.contains("manager comes both from column D (Gérant) and from [fields] manager"),
        "{err}"
    );
    let err = usage(&["Raison sociale", "Prénom du gérant"], GERANT);
    assert!(
        err.contains(
            "[fields] manager names the column \"Nom du gérant\", which the sheet does not have"
        ),
        "{err}"
    );
    let err = usage(&["Raison sociale"], ADRESSE);
    assert!(
        err.contains("[split.\"Adresse complète\"] names the column"),
        "{err}"
    );
    let two = format!("{ADRESSE}\n[fields]\ncity = \"{{Ville}}\"\n");
    let err = usage(&["Raison sociale", "Adresse complète", "Ville"], &two);
    assert!(
        err.contains("city comes both from [fields] city and from [split.\"Adresse complète\"]"),
        "{err}"
    );
}

/// The columns a transform reads count as mapped, and lose the automatic guess: `Adresse`
/// split is not also street1, and `Nom` in a manager's name is not the customer's name.
#[test]
fn columns_a_transform_reads_count_as_mapped() {
    let file = r#"
[fields]
manager = "{Prénom} {Nom}"
[split.Adresse]
pattern = '^(?P<street1>.+),\s*(?P<city>.+)$'
"#;
    let file = MapFile::parse(file).unwrap();
    let headers = strings(&["Raison sociale", "Prénom", "Nom", "Adresse"]);
    let mapping = Mapping::infer(&headers, Some(&file));
    mapping.check().unwrap();
    assert_eq!(mapping.unmapped().count(), 0);
    let targets: Vec<Target> = mapping.columns.iter().map(|c| c.target).collect();
    assert_eq!(targets[1..], [Target::Transform; 3]);
    assert_eq!(
        mapping.column_of_field("city").map(|c| c.letter.as_str()),
        Some("D")
    );
}
