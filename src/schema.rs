//! The customer schema: the 17 fields of the Customers API with their JSON types.
//!
//! This is the only module that knows the fields. Mapping (header synonyms), validation (rules)
//! and export (column order) all read from [`FIELDS`], so a field is added in one place.

/// The JSON type the API expects for a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Boolean,
    Integer,
    Text,
    /// A JSON array of contact objects such as `{name, email, phone}`.
    Contacts,
}

/// One customer field as the API names it.
#[derive(Debug)]
pub struct Field {
    /// The API's name, e.g. `zipCode`.
    pub name: &'static str,
    pub kind: Kind,
    /// Header synonyms in English and French, written as a person would; they are normalised
    /// before matching, so case, accents and punctuation need not be repeated.
    pub synonyms: &'static [&'static str],
    /// A one-line rule for people, used in templates and problem reports.
    pub help: &'static str,
    /// A realistic example value, as it would be typed in a sheet.
    pub example: &'static str,
}

/// The id pseudo-field: not part of a customer body, but a sheet may carry it to name the
/// customer to update. The API calls it `_id` or `id`.
pub const ID: &str = "id";

/// Every customer field, in the fixed order used for export columns and templates.
pub static FIELDS: &[Field] = &[
    Field {
        name: "name",
        kind: Kind::Text,
        synonyms: &[
            "nom",
            "raison sociale",
            "societe name",
            "company name",
            "customer name",
            "client",
            "nom client",
            "denomination",
        ],
        help: "The customer's name (company or person). Required to create.",
        example: "Boulangerie Martin",
    },
    Field {
        name: "isCompany",
        kind: Kind::Boolean,
        synonyms: &[
            "societe",
            "entreprise",
            "is company",
            "personne morale",
            "company",
        ],
        help: "Whether the customer is a company: true/false, yes/no, oui/non, 1/0.",
        example: "oui",
    },
    Field {
        name: "capital",
        kind: Kind::Integer,
        synonyms: &["capital social", "share capital"],
        help: "Share capital, a whole non-negative number; `2 000 000` is accepted.",
        example: "2 000 000",
    },
    Field {
        name: "manager",
        kind: Kind::Text,
        synonyms: &["gerant", "dirigeant", "responsable"],
        help: "The manager's name or reference.",
        example: "Jeanne Martin",
    },
    Field {
        name: "name_ar",
        kind: Kind::Text,
        synonyms: &[
            "nom arabe",
            "nom (arabe)",
            "name arabic",
            "name (arabic)",
            "arabic name",
            "الاسم",
        ],
        help: "The name in Arabic script.",
        example: "مخبزة مارتان",
    },
    Field {
        name: "address_ar",
        kind: Kind::Text,
        synonyms: &[
            "adresse arabe",
            "adresse (arabe)",
            "address arabic",
            "address (arabic)",
            "arabic address",
            "العنوان",
        ],
        help: "The address in Arabic script.",
        example: "12 شارع الجمهورية، باريس",
    },
    Field {
        name: "street1",
        kind: Kind::Text,
        synonyms: &[
            "adresse",
            "adresse 1",
            "adresse1",
            "rue",
            "street",
            "street 1",
            "address",
            "address 1",
        ],
        help: "First address line.",
        example: "12 rue de la République",
    },
    Field {
        name: "street2",
        kind: Kind::Text,
        synonyms: &[
            "adresse 2",
            "complement d'adresse",
            "complement adresse",
            "street 2",
            "address 2",
        ],
        help: "Second address line.",
        example: "Bâtiment B",
    },
    Field {
        name: "zipCode",
        kind: Kind::Text,
        synonyms: &[
            "code postal",
            "cp",
            "zip",
            "zip code",
            "postal code",
            "postcode",
        ],
        help: "Postal code, kept as text so leading zeros survive (01000).",
        example: "01000",
    },
    Field {
        name: "city",
        kind: Kind::Text,
        synonyms: &["ville", "commune", "localite", "town"],
        help: "City.",
        example: "Bourg-en-Bresse",
    },
    Field {
        name: "contacts",
        kind: Kind::Contacts,
        synonyms: &["contacts"],
        help: "A JSON array of {name, email, phone}, or columns such as `Contact 1 Email`.",
        example: r#"[{"name":"Jeanne Martin","email":"jeanne@example.fr","phone":"+33 1 23 45 67 89"}]"#,
    },
    Field {
        name: "siret",
        kind: Kind::Text,
        synonyms: &["n° siret", "numero siret", "siret number"],
        help: "French establishment number: 14 digits with a valid Luhn check digit.",
        example: "55212022200013",
    },
    Field {
        name: "rcs",
        kind: Kind::Text,
        synonyms: &["registre du commerce", "n° rcs", "trade register"],
        help: "Trade register entry, e.g. `RCS Paris B 552 120 222`.",
        example: "RCS Paris B 552 120 222",
    },
    Field {
        name: "unNumber",
        kind: Kind::Integer,
        synonyms: &["un number", "numero un", "n° un"],
        help: "A whole number.",
        example: "1203",
    },
    Field {
        name: "status",
        kind: Kind::Text,
        synonyms: &["statut", "etat"],
        help: "Status, free text (e.g. actif).",
        example: "actif",
    },
    Field {
        name: "subject",
        kind: Kind::Text,
        synonyms: &["objet", "sujet"],
        help: "Subject, free text.",
        example: "Fournitures",
    },
    Field {
        name: "category",
        kind: Kind::Text,
        synonyms: &["categorie", "type", "segment"],
        help: "Category, free text.",
        example: "boulangerie",
    },
];

/// The field called `name`, or `None` when the API has no such field.
pub fn field(name: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_has_the_seventeen_fields_of_the_api() {
        let names: Vec<_> = FIELDS.iter().map(|f| f.name).collect();
        assert_eq!(names.len(), 17);
        for n in [
            "isCompany",
            "capital",
            "manager",
            "name",
            "name_ar",
            "address_ar",
            "street1",
            "street2",
            "zipCode",
            "city",
            "contacts",
            "siret",
            "rcs",
            "unNumber",
            "status",
            "subject",
            "category",
        ] {
            assert!(names.contains(&n), "{n} missing");
        }
        assert_eq!(field("capital").unwrap().kind, Kind::Integer);
        assert!(field("_id").is_none());
    }
}
