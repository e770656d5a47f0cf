use std::collections::HashMap;

use super::*;
use crate::schema::FIELDS;

fn target(header: &str) -> Target {
    auto_target(header, &mut String::new())
}

fn field_of(header: &str) -> Option<&'static str> {
    target(header).field_name()
}

fn headers(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn normalisation_ignores_case_accents_spaces_and_punctuation() {
    let mut n = String::new();
    for (h, want) in [
        ("Code Postal", "codepostal"),
        ("code_postal", "codepostal"),
        ("CODE-POSTAL.", "codepostal"),
        ("Catégorie", "categorie"),
        ("N° SIRET", "siret"),
        ("Nº SIRET", "siret"),
        ("n°siret", "siret"),
        ("Complément d'adresse", "complementdadresse"),
        ("Nom (arabe)", "nomarabe"),
        ("  الاسم  ", "الاسم"),
        ("Température °C", "temperaturec"),
    ] {
        normalize(h, &mut n);
        assert_eq!(n, want, "{h}");
    }
}

#[test]
fn french_headers_map_to_fields() {
    for (h, f) in [
        ("Raison sociale", "name"),
        ("Nom", "name"),
        ("Société", "isCompany"),
        ("Personne morale", "isCompany"),
        ("Capital social", "capital"),
        ("Gérant", "manager"),
        ("Dirigeant", "manager"),
        ("Adresse", "street1"),
        ("Adresse 1", "street1"),
        ("Rue", "street1"),
        ("Adresse 2", "street2"),
        ("Complément d'adresse", "street2"),
        ("Code postal", "zipCode"),
        ("CP", "zipCode"),
        ("Ville", "city"),
        ("N° SIRET", "siret"),
        ("Numéro SIRET", "siret"),
        ("SIRET", "siret"),
        ("RCS", "rcs"),
        ("Registre du commerce", "rcs"),
        ("Statut", "status"),
        ("Objet", "subject"),
        ("Catégorie", "category"),
        ("Nom (arabe)", "name_ar"),
        ("Adresse (arabe)", "address_ar"),
    ] {
        assert_eq!(field_of(h), Some(f), "{h}");
    }
}

#[test]
fn english_headers_and_field_names_map_to_fields() {
    for (h, f) in [
        ("Company name", "name"),
        ("Is company", "isCompany"),
        ("Street", "street1"),
        ("Street 2", "street2"),
        ("ZIP", "zipCode"),
        ("Postal code", "zipCode"),
        ("City", "city"),
        ("UN number", "unNumber"),
        ("Status", "status"),
        ("Subject", "subject"),
        ("Category", "category"),
        ("Name (Arabic)", "name_ar"),
        ("Address (Arabic)", "address_ar"),
        ("zipCode", "zipCode"),
        ("isCompany", "isCompany"),
        ("name_ar", "name_ar"),
        ("unNumber", "unNumber"),
        ("contacts", "contacts"),
    ] {
        assert_eq!(field_of(h), Some(f), "{h}");
    }
}

#[test]
fn arabic_headers_map_to_fields() {
    assert_eq!(field_of("الاسم"), Some("name_ar"));
    assert_eq!(field_of("العنوان"), Some("address_ar"));
    assert_eq!(field_of("المدينة"), Some("city"));
    assert_eq!(field_of("الرمز البريدي"), Some("zipCode"));
    // Harakat do not matter.
    assert_eq!(field_of("العُنْوَان"), Some("address_ar"));
}

#[test]
fn id_columns_results_columns_and_action_columns_are_recognised() {
    assert_eq!(target("_id"), Target::Id);
    assert_eq!(target("ID"), Target::Id);
    for h in [
        "_outcome",
        "_new_id",
        "_status",
        "_error",
        "_row",
        "_response",
        "_changes",
        "Problems",
    ] {
        assert_eq!(target(h), Target::Ignore(Ignored::Result), "{h}");
    }
    for h in ["_action", "Action", "Commande"] {
        assert_eq!(target(h), Target::Ignore(Ignored::Action), "{h}");
    }
    // `_status` is ours, `Status` is the customer's.
    assert_eq!(field_of("Status"), Some("status"));
    assert_eq!(target("Remarques"), Target::Unmapped);
    assert_eq!(target(""), Target::Unmapped);
}

#[test]
fn contact_column_groups_map_to_contact_keys() {
    for (h, index, key) in [
        ("Contact 1 Nom", 1, "name"),
        ("Contact 1 Email", 1, "email"),
        ("Contact 1 E-mail", 1, "email"),
        ("Contact 1 Courriel", 1, "email"),
        ("contact2_phone", 2, "phone"),
        ("Contact 2 Téléphone", 2, "phone"),
        ("Contact 2 Tél.", 2, "phone"),
        ("Contact 3 Mobile", 3, "phone"),
        ("Contact 1 Fonction", 1, "role"),
        ("Contact Email", 1, "email"),
        ("Email contact 2", 2, "email"),
        ("CONTACT_12_NAME", 12, "name"),
    ] {
        assert_eq!(target(h), Target::Contact { index, key }, "{h}");
    }
    assert_eq!(target("Contact 1 Remarque"), Target::Unmapped);
}

#[test]
fn no_two_fields_share_a_synonym() {
    let mut seen: HashMap<String, &str> = HashMap::new();
    let mut n = String::new();
    for f in FIELDS {
        for w in std::iter::once(&f.name).chain(f.synonyms).chain(&f.headers) {
            normalize(w, &mut n);
            if let Some(other) = seen.insert(n.clone(), f.name) {
                assert_eq!(
                    other, f.name,
                    "{w:?} is a synonym of both {other} and {}",
                    f.name
                );
            }
        }
    }
}

#[test]
fn template_headers_map_back_to_their_field() {
    for f in FIELDS {
        for h in f.headers {
            assert_eq!(field_of(h), Some(f.name), "{h}");
        }
    }
}

#[test]
fn is_header_needs_two_mapped_cells() {
    assert!(is_header(&headers(&["Nom", "Ville", "Notes"])));
    assert!(!is_header(&headers(&["Liste des clients 2024", "", ""])));
    assert!(!is_header(&headers(&[
        "Boulangerie Martin",
        "Paris",
        "01000"
    ])));
}

#[test]
fn two_columns_on_one_field_is_an_error() {
    let m = Mapping::infer(&headers(&["Nom", "Ville", "Raison sociale"]), None);
    let err = m.check().unwrap_err();
    assert!(matches!(err, MappingError::Duplicate { ref field, .. } if field == "name"));
    assert!(
        err.to_string().contains("A (Nom), C (Raison sociale)"),
        "{err}"
    );
}

#[test]
fn nothing_mapped_is_an_error() {
    let m = Mapping::infer(&headers(&["foo", "bar"]), None);
    assert!(matches!(m.check(), Err(MappingError::Nothing { .. })));
}

#[test]
fn contacts_from_json_and_groups_is_an_error() {
    let m = Mapping::infer(&headers(&["Nom", "contacts", "Contact 1 Email"]), None);
    assert!(matches!(m.check(), Err(MappingError::ContactsTwice { .. })));
}

#[test]
fn a_mapping_file_overrides_ignores_and_adds_defaults_and_values() {
    let file = MapFile::parse(
        r#"
        ignore = ["Notes"]
        [columns]
        "Dénomination" = "ignore"
        "Enseigne" = "name"
        "Tél" = "contact1.phone"
        "Référence" = "id"
        "Absent" = "city"
        [defaults]
        isCompany = true
        capital = 0
        [values.status]
        "Actif" = "actif"
        "En sommeil" = "inactif"
        "#,
    )
    .unwrap();
    let m = Mapping::infer(
        &headers(&[
            "Dénomination",
            "Enseigne",
            "Tél",
            "Référence",
            "Notes",
            "Ville",
        ]),
        Some(&file),
    );
    m.check().unwrap();
    assert_eq!(m.columns[0].target, Target::Ignore(Ignored::User));
    assert_eq!(m.columns[1].target.field_name(), Some("name"));
    assert!(m.columns[1].from_file);
    assert_eq!(
        m.columns[2].target,
        Target::Contact {
            index: 1,
            key: "phone"
        }
    );
    assert_eq!(m.columns[3].target, Target::Id);
    assert_eq!(m.columns[4].target, Target::Ignore(Ignored::User));
    assert_eq!(m.columns[5].target.field_name(), Some("city"));
    assert!(!m.columns[5].from_file);
    assert_eq!(m.missing_from_sheet, vec!["Absent".to_string()]);
    assert_eq!(m.defaults.len(), 2);
    assert_eq!(m.values[0].1[0], ("Actif".to_string(), "actif".to_string()));
}

#[test]
fn a_mapping_file_with_an_unknown_field_is_refused() {
    let err = MapFile::parse("[columns]\n\"X\" = \"nme\"\n").unwrap_err();
    assert!(err.contains("\"nme\", which is not a field"), "{err}");
    assert!(MapFile::parse("[defaults]\nfoo = 1\n").is_err());
    assert!(MapFile::parse("[colums]\n").is_err());
}

#[test]
fn a_written_mapping_file_reads_back_to_the_same_mapping() {
    let h = headers(&[
        "Raison sociale",
        "Contact 2 Email",
        "Notes",
        "_outcome",
        "Ville",
    ]);
    let m = Mapping::infer(&h, None);
    let text = m.to_toml();
    let file = MapFile::parse(&text).unwrap();
    let again = Mapping::infer(&h, Some(&file));
    let a: Vec<_> = m.columns.iter().map(|c| c.target.field_name()).collect();
    let b: Vec<_> = again
        .columns
        .iter()
        .map(|c| c.target.field_name())
        .collect();
    assert_eq!(a, b);
    assert_eq!(again.columns[2].target, Target::Unmapped);
}

/// `mapping --write` keeps the mapping file's transforms: what it writes reads back to the
/// same fields made from the same columns.
#[test]
fn a_written_mapping_file_keeps_its_transforms() {
    let file = MapFile::parse(
        r#"
[fields]
manager = "{Prénom du gérant} {Nom du gérant}"
[split."Adresse complète"]
pattern = '^(?P<street1>.+?),?\s+(?P<zipCode>\d{5})\s+(?P<city>.+)$'
"#,
    )
    .unwrap();
    let h = headers(&[
        "Raison sociale",
        "Prénom du gérant",
        "Nom du gérant",
        "Adresse complète",
    ]);
    let m = Mapping::infer(&h, Some(&file));
    let again = Mapping::infer(&h, Some(&MapFile::parse(&m.to_toml()).unwrap()));
    let written = |m: &Mapping| {
        m.transforms
            .iter()
            .map(Transform::written)
            .collect::<Vec<_>>()
    };
    assert_eq!(written(&again), written(&m));
    assert_eq!(written(&m).len(), 2);
    let targets = |m: &Mapping| m.columns.iter().map(|c| c.target).collect::<Vec<_>>();
    assert_eq!(targets(&again), targets(&m));
}

#[test]
fn a_note_in_brackets_on_how_to_fill_a_column_is_set_aside() {
    assert_eq!(field_of("Capital social (en euros)"), Some("capital"));
    assert_eq!(field_of("Capital social\n(en €)"), Some("capital"));
    assert_eq!(field_of("Capital [MAD]"), Some("capital"));
    assert_eq!(field_of("Code postal (5 chiffres)"), Some("zipCode"));
    assert_eq!(field_of("Raison sociale (obligatoire)"), Some("name"));
    // A note that names what the column holds stays: it is another field, or none.
    assert_eq!(field_of("Nom (arabe)"), Some("name_ar"));
    assert_eq!(field_of("Ville (arabe)"), None);
    assert_eq!(field_of("Capital (prévisionnel)"), None);
    assert_eq!(field_of("Ville (en"), None);
    assert_eq!(field_of("Raison sociale (*)"), Some("name"));
    // A number tells two columns apart: neither is taken for the field.
    assert_eq!(field_of("Nom (2)"), None);
}
