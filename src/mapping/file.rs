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
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;

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

fn field_list() -> String {
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
    toml::Value::String(s.to_string()).to_string()
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
    out
}
