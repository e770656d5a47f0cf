//! `custbulk mapping` and mapping files: the table people read, the file they edit, and the
//! overrides it carries into `validate`.

use serde_json::json;

use crate::util::Workdir;

const CLIENTS: &str = "Raison sociale;N° SIRET;Contact 1 Nom;Contact 1 Email;contact2_phone;Remarques\n\
                       Boulangerie Martin;552 120 222 00013;Jeanne;jeanne@martin.fr;0102030405;fidèle\n";

#[test]
fn the_table_shows_letters_headers_fields_samples_and_unmapped_columns() {
    let w = Workdir::new();
    w.write("clients.csv", CLIENTS);
    let r = w.exec(&["mapping", "clients.csv"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = &r.stdout;
    assert!(
        out.contains("A       Raison sociale   name            Boulangerie Martin"),
        "{out}"
    );
    assert!(
        out.contains("B       N° SIRET         siret           552 120 222 00013"),
        "{out}"
    );
    assert!(
        out.contains("E       contact2_phone   contact2.phone  0102030405"),
        "{out}"
    );
    assert!(
        out.contains("F       Remarques        -               fidèle"),
        "{out}"
    );
    assert!(
        out.contains("Unmapped, not imported (kept in the results file): F (\"Remarques\")"),
        "{out}"
    );
}

#[test]
fn json_output_lists_every_column() {
    let w = Workdir::new();
    w.write("clients.csv", CLIENTS);
    let r = w.exec(&["--output", "json", "mapping", "clients.csv"]);
    assert_eq!(r.code, 0);
    let v = r.json();
    assert_eq!(
        v["columns"][3],
        json!({"column": "D", "header": "Contact 1 Email", "field": "contacts", "target": "contact1.email", "sample": "jeanne@martin.fr"})
    );
    assert_eq!(v["unmapped"], json!(["Remarques"]));
}

#[test]
fn a_written_mapping_file_is_accepted_back_and_maps_the_same() {
    let w = Workdir::new();
    w.write("clients.csv", CLIENTS);
    let r = w.exec(&["mapping", "clients.csv", "--write", "map.toml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = w.read("map.toml");
    assert!(text.contains("\"N° SIRET\" = \"siret\""), "{text}");
    assert!(text.contains("# \"Remarques\" = \"\""), "{text}");
    let plain = w
        .exec(&["validate", "clients.csv", "--format", "json"])
        .json();
    let mapped = w
        .exec(&[
            "validate",
            "clients.csv",
            "--map",
            "map.toml",
            "--format",
            "json",
        ])
        .json();
    assert_eq!(plain["mapping"], mapped["mapping"]);
    assert_eq!(plain["unmapped"], mapped["unmapped"]);
}

#[test]
fn an_edited_mapping_file_overrides_ignores_and_translates() {
    let w = Workdir::new();
    w.write(
        "c.csv",
        "Enseigne;Réf;Statut;Tél;Remarques\nAcme;r1;Actif;01;x\nBeta;r2;Bof;02;y\n",
    );
    w.write(
        "map.toml",
        "ignore = [\"Remarques\"]\n[columns]\n\"Enseigne\" = \"name\"\n\"Réf\" = \"id\"\n\"Tél\" = \"contact1.phone\"\n\
         [defaults]\nisCompany = \"oui\"\n[values.status]\n\"Actif\" = \"actif\"\n",
    );
    let r = w.exec(&["validate", "c.csv", "--map", "map.toml", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v = r.json();
    let fields: Vec<&str> = v["mapping"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "id", "status", "contacts"]);
    assert_eq!(v["unmapped"], json!([]));
}

#[test]
fn a_duplicate_is_shown_in_the_table_then_exits_2() {
    let w = Workdir::new();
    w.write("c.csv", "Nom;Raison sociale\nA;B\n");
    let r = w.exec(&["mapping", "c.csv"]);
    assert_eq!(r.code, 2);
    assert!(r.stdout.contains("Raison sociale"), "{}", r.stdout);
    assert!(r.stderr.contains("all map to name"), "{}", r.stderr);
}

#[test]
fn a_mapping_file_naming_an_unknown_field_exits_2() {
    let w = Workdir::new();
    w.write("c.csv", "Nom;Ville\nA;Paris\n");
    w.write("m.toml", "[columns]\n\"Ville\" = \"ville\"\n");
    let r = w.exec(&["mapping", "c.csv", "--map", "m.toml"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("m.toml") && r.stderr.contains("not a field"),
        "{}",
        r.stderr
    );
}

/// An NDJSON backup maps by its keys, as headers do, and a mapping file applies to them.
#[test]
fn ndjson_keys_map_as_headers_do_and_a_mapping_file_applies() {
    let w = Workdir::new();
    w.write(
        "backup.ndjson",
        "{\"_id\":\"a1\",\"Raison sociale\":\"Acme\",\"Secteur\":\"bio\",\"createdAt\":\"2024\"}\n",
    );
    w.write("map.toml", "[columns]\n\"Secteur\" = \"category\"\n");
    let r = w.exec(&["mapping", "backup.ndjson", "--map", "map.toml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = &r.stdout;
    assert!(
        out.contains("backup.ndjson, the records' keys as headers:"),
        "{out}"
    );
    assert!(out.contains("A       _id"), "{out}");
    assert!(out.contains("name"), "{out}");
    assert!(out.contains("category"), "{out}");
    assert!(out.contains("D (\"createdAt\")"), "{out}");
}
