//! The mapping file (`--map mapping.toml`): what a person writes when the automatic mapping is
//! not enough.
//!
//! ```toml
//! ignore = ["Notes internes"]          # columns to leave out, without a warning
//!
//! [columns]                            # header = field, "ignore", "id" or "contact1.email"
//! "Dénomination commerciale" = "name"
//! "Tél. standard" = "contact1.phone"
//!
//! [defaults]                           # used when a cell is blank or no column feeds the field
//! isCompany = true
//!
//! [values.status]                      # cell text → value sent, ignoring case and spaces
//! "Actif" = "actif"
//!
//! [fields]                             # a field made from columns (see `transform`)
//! manager = "{Prénom du gérant} {Nom du gérant}"
//!
//! [split."Adresse complète"]           # one column cut into fields by a regex
//! pattern = '^(?P<street1>.+?),?\s+(?P<zipCode>\d{5})\s+(?P<city>.+)$'
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;

use super::transform::{basic_string, literal_string, quoted_key, Split, Template, Transform};
use super::{parse_target, Ignored, Mapping, Target};
use crate::error;
use crate::schema::{self, Field, Kind, FIELDS};

/// A parsed mapping file.
#[derive(Debug, Clone, Default)]
pub struct MapFile {
    /// Header (as written in the sheet) → target, `[columns]` and `ignore` together.
    pub columns: Vec<(String, Target)>,
    /// Field → default text.
    pub defaults: Vec<(&'static Field, String)>,
    /// Field → (cell text, replacement) pairs.
    pub values: Vec<(&'static Field, Vec<(String, String)>)>,
    /// `[fields]`: fields made from columns.
    pub templates: Vec<Template>,
    /// `[split."Header"]`: columns cut into fields.
    pub splits: Vec<Split>,
}

impl MapFile {
    /// Every header the file names: under `[columns]` and `ignore`, in braces, and split.
    pub fn headers(&self) -> impl Iterator<Item = &str> {
        let columns = self.columns.iter().map(|(h, _)| h.as_str());
        let templates = self.templates.iter().flat_map(Template::headers);
        let splits = self.splits.iter().map(|s| s.header.as_str());
        columns.chain(templates).chain(splits)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(default)]
    columns: BTreeMap<String, String>,
    #[serde(default)]
    defaults: BTreeMap<String, toml::Value>,
    #[serde(default)]
    values: BTreeMap<String, BTreeMap<String, toml::Value>>,
    #[serde(default)]
    fields: BTreeMap<String, String>,
    #[serde(default)]
    split: BTreeMap<String, RawSplit>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSplit {
    pattern: String,
}

impl MapFile {
    /// Reads and checks a mapping file; every mistake in it is a usage error (exit 2) that
    /// names the file.
    pub fn load(path: &Path) -> anyhow::Result<MapFile> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            error::usage(format!(
                "cannot read the mapping file {}: {e}",
                path.display()
            ))
        })?;
        MapFile::parse(&text)
            .map_err(|msg| error::usage(format!("mapping file {}: {msg}", path.display())))
            .context("the mapping file is not usable")
    }

    /// Parses the text of a mapping file; the error is a sentence for people.
    pub fn parse(text: &str) -> Result<MapFile, String> {
        let raw: Raw = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?;
        let mut file = MapFile::default();
        for header in raw.ignore {
            file.columns.push((header, Target::Ignore(Ignored::User)));
        }
        for (header, target) in raw.columns {
            let t = parse_target(&target).ok_or_else(|| {
                format!(
                    "column {header:?} maps to {target:?}, which is not a field; use one of {}, \
                     id, contact1.name|email|phone|role, or \"ignore\"",
                    field_list()
                )
            })?;
            file.columns.push((header, t));
        }
        for (name, value) in raw.defaults {
            let field = field_named(&name, "[defaults]")?;
            if field.kind == Kind::Contacts {
                return Err("[defaults] cannot set contacts".into());
            }
            file.defaults.push((
                field,
                scalar_text(&value).ok_or_else(|| {
                    format!("[defaults] {name} must be text, a number or true/false")
                })?,
            ));
        }
        for (name, table) in raw.values {
            let field = field_named(&name, "[values]")?;
            if field.kind == Kind::Contacts {
                return Err(
                    "[values.contacts] is not supported: contacts are not translated".into(),
                );
            }
            let mut pairs = Vec::new();
            for (from, to) in table {
                let to = scalar_text(&to).ok_or_else(|| {
                    format!("[values.{name}] {from:?} must map to text, a number or true/false")
                })?;
                pairs.push((from, to));
            }
            file.values.push((field, pairs));
        }
        for (field, text) in raw.fields {
            file.templates.push(Template::parse(&field, &text)?);
        }
        for (header, split) in raw.split {
            file.splits.push(Split::parse(&header, &split.pattern)?);
        }
        Ok(file)
    }
}

fn field_named(name: &str, table: &str) -> Result<&'static Field, String> {
    schema::field(name).ok_or_else(|| {
        format!(
            "{table} names {name:?}, which is not a field; fields: {}",
            field_list()
        )
    })
}

pub(super) fn field_list() -> String {
    FIELDS.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
}

fn scalar_text(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn quoted(s: &str) -> String {
    basic_string(s)
}

/// Writes `mapping` as an editable mapping file.
pub(super) fn write(mapping: &Mapping) -> String {
    let mut out = String::new();
    out.push_str(
        "# custbulk mapping file: pass it with --map. Each line under [columns] maps a header of\n\
         # the sheet to a field, to \"id\" (the customer to update), to a contact key such as\n\
         # \"contact1.email\" (name, email, phone, role), or to \"ignore\".\n",
    );
    let _ = writeln!(out, "# Fields: {}.\n", field_list());
    out.push_str("[columns]\n");
    for c in &mapping.columns {
        match c.target {
            Target::Transform => {
                let _ = writeln!(
                    out,
                    "# {} = \"\"   # column {}: read by {}",
                    quoted(&c.header),
                    c.letter,
                    mapping
                        .transform_reading(c.index)
                        .map_or(String::new(), Transform::name)
                );
            }
            Target::Unmapped => {
                let _ = writeln!(
                    out,
                    "# {} = \"\"   # column {}: unmapped, write a field or \"ignore\"",
                    quoted(&c.header),
                    c.letter
                );
            }
            t => {
                let _ = writeln!(out, "{} = {}", quoted(&c.header), quoted(&t.to_string()));
            }
        }
    }
    out.push_str(
        "\n# Values used when a cell is blank or no column feeds the field.\n[defaults]\n",
    );
    if mapping.defaults.is_empty() {
        out.push_str("# isCompany = true\n");
    }
    for (f, v) in &mapping.defaults {
        let _ = writeln!(out, "{} = {}", f.name, quoted(v));
    }
    out.push_str(
        "\n# Translations of cell values, per field, ignoring case and surrounding spaces.\n",
    );
    if mapping.values.is_empty() {
        out.push_str("# [values.status]\n# \"Actif\" = \"actif\"\n");
    }
    for (f, pairs) in &mapping.values {
        let _ = writeln!(out, "[values.{}]", f.name);
        for (from, to) in pairs {
            let _ = writeln!(out, "{} = {}", quoted(from), quoted(to));
        }
    }
    write_transforms(mapping, &mut out);
    out
}

/// The `[fields]` and `[split."Header"]` tables, as the mapping file gave them.
fn write_transforms(mapping: &Mapping, out: &mut String) {
    out.push_str(
        "\n# Fields made from columns ({Header} is that row's cell), and columns cut into fields\n\
         # by a regex whose named groups are fields.\n",
    );
    let templates: Vec<&Template> = mapping
        .transforms
        .iter()
        .filter_map(|t| match t {
            Transform::Fields { template, .. } => Some(template),
            Transform::Split { .. } => None,
        })
        .collect();
    if templates.is_empty() {
        out.push_str("# [fields]\n# manager = \"{Prénom du gérant} {Nom du gérant}\"\n");
    } else {
        out.push_str("[fields]\n");
    }
    for t in templates {
        let _ = writeln!(out, "{} = {}", t.field.name, quoted(&t.text));
    }
    let mut any_split = false;
    for t in &mapping.transforms {
        if let Transform::Split { split, .. } = t {
            any_split = true;
            let _ = writeln!(
                out,
                "\n[split.{}]\npattern = {}",
                quoted_key(&split.header),
                literal_string(&split.pattern)
            );
        }
    }
    if !any_split {
        out.push_str(
            "# [split.\"Adresse complète\"]\n\
             # pattern = '^(?P<street1>.+?),?\\s+(?P<zipCode>\\d{5})\\s+(?P<city>.+)$'\n",
        );
    }
}
