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

impl Kind {
    /// The type's name, as a list of fields shows it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Boolean => "boolean",
            Kind::Integer => "integer",
            Kind::Text => "text",
            Kind::Contacts => "contacts",
        }
    }
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
    /// The column header a template writes for this field: `[English, French]`. Each must map
    /// back to the field automatically (a test checks it).
    pub headers: [&'static str; 2],
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
            "société name",
            "nom société",
            "nom de la société",
            "nom entreprise",
            "company name",
            "company",
            "customer",
            "customer name",
            "client",
            "nom client",
            "nom du client",
            "dénomination",
            "dénomination sociale",
        ],
        help: "The customer's name (company or person). Required to create.",
        example: "Boulangerie Martin",
        headers: ["Name", "Raison sociale"],
    },
    Field {
        name: "isCompany",
        kind: Kind::Boolean,
        synonyms: &[
            "société",
            "entreprise",
            "is company",
            "personne morale",
            "est une société",
            "شركة",
        ],
        help: "Whether the customer is a company: true/false, yes/no, oui/non, 1/0.",
        example: "oui",
        headers: ["Is company", "Société"],
    },
    Field {
        name: "capital",
        kind: Kind::Integer,
        synonyms: &[
            "capital social",
            "share capital",
            "capital (€)",
            "capital (eur)",
            "رأس المال",
        ],
        help: "Share capital, a whole non-negative number; `2 000 000` is accepted.",
        example: "2 000 000",
        headers: ["Capital", "Capital social"],
    },
    Field {
        name: "manager",
        kind: Kind::Text,
        synonyms: &[
            "gérant",
            "dirigeant",
            "responsable",
            "directeur",
            "managing director",
            "المسير",
            "المدير",
        ],
        help: "The manager's name or reference.",
        example: "Jeanne Martin",
        headers: ["Manager", "Gérant"],
    },
    Field {
        name: "name_ar",
        kind: Kind::Text,
        synonyms: &[
            "nom arabe",
            "nom (arabe)",
            "nom en arabe",
            "raison sociale (arabe)",
            "name arabic",
            "name (arabic)",
            "arabic name",
            "name ar",
            "الاسم",
            "الاسم بالعربية",
            "الإسم",
        ],
        help: "The name in Arabic script.",
        example: "مخبزة مارتان",
        headers: ["Name (Arabic)", "Nom (arabe)"],
    },
    Field {
        name: "address_ar",
        kind: Kind::Text,
        synonyms: &[
            "adresse arabe",
            "adresse (arabe)",
            "adresse en arabe",
            "address arabic",
            "address (arabic)",
            "arabic address",
            "address ar",
            "العنوان",
            "العنوان بالعربية",
        ],
        help: "The address in Arabic script.",
        example: "12 شارع الجمهورية، باريس",
        headers: ["Address (Arabic)", "Adresse (arabe)"],
    },
    Field {
        name: "street1",
        kind: Kind::Text,
        synonyms: &[
            "adresse",
            "adresse 1",
            "adresse ligne 1",
            "rue",
            "voie",
            "street",
            "street 1",
            "address",
            "address 1",
            "address line 1",
        ],
        help: "First address line.",
        example: "12 rue de la République",
        headers: ["Street 1", "Adresse 1"],
    },
    Field {
        name: "street2",
        kind: Kind::Text,
        synonyms: &[
            "adresse 2",
            "adresse ligne 2",
            "complément d'adresse",
            "complément adresse",
            "complément",
            "street 2",
            "address 2",
            "address line 2",
        ],
        help: "Second address line.",
        example: "Bâtiment B",
        headers: ["Street 2", "Adresse 2"],
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
            "الرمز البريدي",
        ],
        help: "Postal code, kept as text so leading zeros survive (01000).",
        example: "01000",
        headers: ["Zip code", "Code postal"],
    },
    Field {
        name: "city",
        kind: Kind::Text,
        synonyms: &["ville", "commune", "localité", "town", "المدينة"],
        help: "City.",
        example: "Bourg-en-Bresse",
        headers: ["City", "Ville"],
    },
    Field {
        name: "contacts",
        kind: Kind::Contacts,
        synonyms: &["contacts"],
        help: "A JSON array of {name, email, phone}, or columns such as `Contact 1 Email`.",
        example: r#"[{"name":"Jeanne Martin","email":"jeanne@example.fr","phone":"+33 1 23 45 67 89"}]"#,
        headers: ["Contacts", "Contacts"],
    },
    Field {
        name: "siret",
        kind: Kind::Text,
        synonyms: &[
            "n° siret",
            "numéro siret",
            "num siret",
            "no siret",
            "siret number",
            "siret no",
        ],
        help: "French establishment number: 14 digits with a valid Luhn check digit.",
        example: "55212022200013",
        headers: ["SIRET", "N° SIRET"],
    },
    Field {
        name: "rcs",
        kind: Kind::Text,
        synonyms: &[
            "registre du commerce",
            "registre du commerce et des sociétés",
            "n° rcs",
            "numéro rcs",
            "trade register",
            "السجل التجاري",
        ],
        help: "Trade register entry, e.g. `RCS Paris B 552 120 222`.",
        example: "RCS Paris B 552 120 222",
        headers: ["RCS", "RCS"],
    },
    Field {
        name: "unNumber",
        kind: Kind::Integer,
        synonyms: &["un number", "numéro un", "n° un", "no un", "un no", "un"],
        help: "A whole number.",
        example: "1203",
        headers: ["UN number", "Numéro UN"],
    },
    Field {
        name: "status",
        kind: Kind::Text,
        synonyms: &["statut", "état", "الحالة"],
        help: "Status, free text (e.g. actif).",
        example: "actif",
        headers: ["Status", "Statut"],
    },
    Field {
        name: "subject",
        kind: Kind::Text,
        synonyms: &["objet", "sujet", "الموضوع"],
        help: "Subject, free text.",
        example: "Fournitures",
        headers: ["Subject", "Objet"],
    },
    Field {
        name: "category",
        kind: Kind::Text,
        synonyms: &["catégorie", "type", "segment", "الفئة", "الصنف"],
        help: "Category, free text.",
        example: "boulangerie",
        headers: ["Category", "Catégorie"],
    },
];

/// One key of a contact object, as contact column groups spell it.
#[derive(Debug)]
pub struct ContactKey {
    /// The key in the JSON object sent to the API.
    pub key: &'static str,
    /// The header word a template writes after `Contact N`: `[English, French]`.
    pub headers: [&'static str; 2],
    /// Header words that mean this key (normalised before matching, like field synonyms).
    pub synonyms: &'static [&'static str],
    pub example: &'static str,
}

/// The keys of one contact, for column groups such as `Contact 2 Téléphone` or
/// `contact2_phone`. Contacts are sent as `[{name, email, phone, role}]`, empty keys omitted.
pub static CONTACT_KEYS: &[ContactKey] = &[
    ContactKey {
        key: "name",
        headers: ["Name", "Nom"],
        synonyms: &["name", "nom", "nom complet", "full name", "الاسم"],
        example: "Jeanne Martin",
    },
    ContactKey {
        key: "email",
        headers: ["Email", "Email"],
        synonyms: &[
            "email",
            "e-mail",
            "mail",
            "courriel",
            "adresse email",
            "adresse e-mail",
            "البريد الإلكتروني",
        ],
        example: "jeanne.martin@example.fr",
    },
    ContactKey {
        key: "phone",
        headers: ["Phone", "Téléphone"],
        synonyms: &[
            "phone",
            "téléphone",
            "tel",
            "tél",
            "mobile",
            "portable",
            "gsm",
            "telephone number",
            "الهاتف",
        ],
        example: "+33 4 74 00 00 00",
    },
    ContactKey {
        key: "role",
        headers: ["Role", "Fonction"],
        synonyms: &[
            "role",
            "rôle",
            "fonction",
            "poste",
            "title",
            "job title",
            "position",
            "الوظيفة",
        ],
        example: "Gérante",
    },
];

/// The columns custbulk adds to the files it writes (results, annotated copies): one home for
/// each name.
pub mod columns {
    /// The spreadsheet's own row number of the input row.
    pub const ROW: &str = "_row";
    /// What undo or restore did for the row: `delete`, `restore`, `recreate`, ...
    pub const ACTION: &str = "_action";
    /// What became of the row: `created`, `failed`, ... ([`crate::apply::Outcome`]).
    pub const OUTCOME: &str = "_outcome";
    /// The customer's id.
    pub const ID: &str = "_id";
    /// The id a created (or re-created) customer got.
    pub const NEW_ID: &str = "_new_id";
    pub const STATUS: &str = "_status";
    pub const ERROR: &str = "_error";
    /// The server's raw answer to a failed request.
    pub const RESPONSE: &str = "_response";
    /// What an update would change (`--plan`).
    pub const CHANGES: &str = "_changes";
    /// Undo: the fields someone changed since the import.
    pub const CONFLICTS: &str = "_conflicts";
    /// Import: the customer a row resembles (`possible duplicate of ID (same SIRET)`).
    pub const NOTE: &str = "_note";
    /// The annotated copy's first column, summing up each row's problems.
    pub const PROBLEMS: &str = "Problems";
}

/// Columns that custbulk itself writes into results and problem files (`_row`, `_outcome`, ...).
/// A results file fed back in keeps them; they are recognised and ignored without a word.
/// Compared on the header trimmed and lower-cased, before any other normalisation, because
/// `_status` must not become `status`. (`_id` is not among them: it names the customer.)
pub static RESULT_COLUMNS: &[&str] = &[
    columns::ROW,
    columns::OUTCOME,
    columns::NEW_ID,
    columns::STATUS,
    columns::ERROR,
    columns::RESPONSE,
    columns::CHANGES,
    columns::CONFLICTS,
    columns::NOTE,
    "_problems",
    "problems",
    "problèmes",
];

/// Whether `header` names a column custbulk writes itself (see [`RESULT_COLUMNS`]).
pub fn is_result_column(header: &str) -> bool {
    RESULT_COLUMNS.contains(&header.trim().to_lowercase().as_str())
}

/// Headers of the per-row action column (create, update, delete, ...), reserved for it: not
/// mapped to a field. Compared like [`RESULT_COLUMNS`].
pub static ACTION_COLUMNS: &[&str] = &["_action", "action", "commande"];

/// Headers of the id column, compared like [`RESULT_COLUMNS`]. Also the keys an API record
/// keeps its id under, in the order they are tried: `_id` (MongoDB's) first, then `id`.
pub static ID_COLUMNS: &[&str] = &["_id", "id"];

/// Fields the server owns: never sent in a body, never compared as a customer's values.
pub static SERVER_FIELDS: &[&str] = &["_id", "id", "createdAt", "updatedAt", "__v"];

/// Whether `field` is one the server owns (see [`SERVER_FIELDS`]).
pub fn is_server_field(field: &str) -> bool {
    SERVER_FIELDS.contains(&field)
}

/// The field called `name`, or `None` when the API has no such field.
pub fn field(name: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.name == name)
}

/// Whether a field holds Arabic text: its cells read right to left in a workbook, so that a
/// number or a Latin word inside (`39 شارع جان جوريس`) stands where an Arabic reader expects it.
pub fn is_right_to_left(name: &str) -> bool {
    matches!(name, "name_ar" | "address_ar")
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
