//! Which column feeds which customer field.
//!
//! Spreadsheets name their columns as people write them (`N° SIRET`, `Raison sociale`,
//! `Contact 2 Téléphone`, `الاسم`), so a header is normalised (case, accents, spaces and
//! punctuation gone) and matched against the field names and synonyms that [`crate::schema`]
//! holds. A mapping file ([`MapFile`]) overrides and extends the automatic choice, and may make
//! fields from columns ([`Transform`]). The result, a [`Mapping`], is what validation, the
//! `mapping` command and the results file read: every column with its target, including the
//! ones left unmapped, which are reported, never dropped.

mod file;
mod header;
pub mod transform;

use std::fmt;

use crate::schema::{self, Field};

pub use crate::read::column_letter;
pub use file::MapFile;
pub use header::{auto_target, is_header, is_header_with, normalize, parse_target};
pub use transform::Transform;

/// Where a column's cells go.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// A customer field (`contacts` here means a column holding a JSON array).
    Field(&'static Field),
    /// The id of the customer to update ([`schema::ID`]); never sent in a body.
    Id,
    /// One key of one contact from a column group such as `Contact 2 Email`.
    Contact { index: u16, key: &'static str },
    /// Read by a transform of the mapping file (`[fields]` or `[split]`), which makes fields
    /// of it.
    Transform,
    /// Known, and deliberately not imported.
    Ignore(Ignored),
    /// Nothing matched: reported to the user, kept in the results file.
    Unmapped,
}

/// Why a column is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// A column custbulk writes itself (`_outcome`, `_error`, ...): a results file read back.
    Result,
    /// The per-row action column (`_action`): read by validation, never sent.
    Action,
    /// The mapping file says `ignore`.
    User,
}

impl PartialEq for Target {
    fn eq(&self, other: &Target) -> bool {
        match (self, other) {
            (Target::Field(a), Target::Field(b)) => a.name == b.name,
            (Target::Id, Target::Id)
            | (Target::Unmapped, Target::Unmapped)
            | (Target::Transform, Target::Transform) => true,
            (Target::Contact { index: i, key: k }, Target::Contact { index: j, key: l }) => {
                i == j && k == l
            }
            (Target::Ignore(a), Target::Ignore(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Target {}

impl Target {
    /// The customer field this column feeds, as reports name it: `contacts` for every contact
    /// column, `id` for the id column, `None` when ignored or unmapped.
    pub fn field_name(&self) -> Option<&'static str> {
        match self {
            Target::Field(f) => Some(f.name),
            Target::Id => Some(schema::ID),
            Target::Contact { .. } => Some("contacts"),
            Target::Transform | Target::Ignore(_) | Target::Unmapped => None,
        }
    }

    /// Whether the column feeds the record (a field, the id, a contact key, or a transform).
    pub fn is_mapped(&self) -> bool {
        self.field_name().is_some() || *self == Target::Transform
    }
}

impl fmt::Display for Target {
    /// The spelling used in mapping files and tables: `name`, `id`, `contact2.email`, `ignore`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Field(field) => f.write_str(field.name),
            Target::Id => f.write_str(schema::ID),
            Target::Contact { index, key } => write!(f, "contact{index}.{key}"),
            Target::Ignore(_) => f.write_str("ignore"),
            Target::Transform | Target::Unmapped => f.write_str(""),
        }
    }
}

/// One column of the sheet and where it goes.
#[derive(Debug, Clone)]
pub struct Column {
    /// 0-based position in the header row.
    pub index: usize,
    /// The spreadsheet letter, `A` for the first column.
    pub letter: String,
    /// The header as written in the file.
    pub header: String,
    pub target: Target,
    /// True when the mapping file chose the target rather than the automatic match.
    pub from_file: bool,
}

/// The complete column mapping of one sheet, plus the mapping file's defaults and value
/// translations.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// One entry per header cell, in sheet order.
    pub columns: Vec<Column>,
    /// `[defaults]` of the mapping file: the text a field takes when its cell is blank or when
    /// no column feeds it. Coerced and checked like a cell.
    pub defaults: Vec<(&'static Field, String)>,
    /// `[values.FIELD]` of the mapping file: cell text → replacement, compared ignoring case and
    /// surrounding spaces.
    pub values: Vec<(&'static Field, Vec<(String, String)>)>,
    /// Columns named in the mapping file that the sheet does not have.
    pub missing_from_sheet: Vec<String>,
    /// `[fields]` and `[split]` of the mapping file, with the columns they read.
    pub transforms: Vec<Transform>,
}

/// A mapping that cannot be used: a usage error (exit 2) for the commands.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MappingError {
    #[error(
        "columns {} all map to {field}; keep one and map the others to \"ignore\" in a mapping \
         file (custbulk mapping FILE --write mapping.toml writes one to edit)",
        .columns.join(", ")
    )]
    Duplicate { field: String, columns: Vec<String> },
    #[error(
        "contacts come both from column {json} and from contact column groups ({group}); map one \
         of them to \"ignore\" in a mapping file"
    )]
    ContactsTwice { json: String, group: String },
    #[error(
        "no column maps to a customer field (headers: {}); check --header-row, or name the \
         columns in a mapping file (--map)",
        .headers.join(", ")
    )]
    Nothing { headers: Vec<String> },
    #[error(
        "{transform} names the column {header:?}, which the sheet does not have (headers: {})",
        .headers.join(", ")
    )]
    NoColumn {
        transform: String,
        header: String,
        headers: Vec<String>,
    },
    #[error(
        "{field} comes both from {first} and from {second}; keep one (map a column to \
         \"ignore\" in the mapping file, or remove the transform)"
    )]
    Twice {
        field: String,
        first: String,
        second: String,
    },
}

impl Mapping {
    /// Maps `headers` automatically, then applies `file` when given. Never fails: conflicts are
    /// found by [`Mapping::check`], so that `custbulk mapping` can still show the table.
    pub fn infer(headers: &[String], file: Option<&MapFile>) -> Mapping {
        let mut norm = String::new();
        let mut columns: Vec<Column> = headers
            .iter()
            .enumerate()
            .map(|(index, header)| Column {
                index,
                letter: column_letter(index),
                header: header.clone(),
                target: auto_target(header, &mut norm),
                from_file: false,
            })
            .collect();
        let mut mapping = Mapping::default();
        if let Some(file) = file {
            for (name, target) in &file.columns {
                match find_column(&columns, name) {
                    Some(i) => {
                        columns[i].target = *target;
                        columns[i].from_file = true;
                    }
                    None => mapping.missing_from_sheet.push(name.clone()),
                }
            }
            mapping.defaults = file.defaults.clone();
            mapping.values = file.values.clone();
            mapping.transforms = transforms(file, &mut columns);
        }
        mapping.columns = columns;
        mapping
    }

    /// The usage errors of this mapping: two columns on one target, contacts from two sources,
    /// a transform reading a column the sheet lacks or making a field something else makes,
    /// or nothing mapped at all.
    pub fn check(&self) -> Result<(), MappingError> {
        self.check_transforms()?;
        let mut seen: Vec<(Target, Vec<String>)> = Vec::new();
        for c in self
            .columns
            .iter()
            .filter(|c| c.target.field_name().is_some())
        {
            let label = format!("{} ({})", c.letter, c.header);
            match seen.iter_mut().find(|(t, _)| *t == c.target) {
                Some((_, cols)) => cols.push(label),
                None => seen.push((c.target, vec![label])),
            }
        }
        if let Some((target, columns)) = seen.iter().find(|(_, cols)| cols.len() > 1) {
            return Err(MappingError::Duplicate {
                field: target.to_string(),
                columns: columns.clone(),
            });
        }
        let json = self
            .columns
            .iter()
            .find(|c| matches!(c.target, Target::Field(f) if f.kind == schema::Kind::Contacts));
        let group = self
            .columns
            .iter()
            .find(|c| matches!(c.target, Target::Contact { .. }));
        if let (Some(j), Some(g)) = (json, group) {
            return Err(MappingError::ContactsTwice {
                json: format!("{} ({})", j.letter, j.header),
                group: format!("{} ({})", g.letter, g.header),
            });
        }
        if !self.columns.iter().any(|c| c.target.is_mapped()) {
            return Err(MappingError::Nothing {
                headers: self
                    .columns
                    .iter()
                    .map(|c| format!("{:?}", c.header))
                    .collect(),
            });
        }
        Ok(())
    }

    fn check_transforms(&self) -> Result<(), MappingError> {
        for t in &self.transforms {
            if let Some(header) = t.missing().first() {
                return Err(MappingError::NoColumn {
                    transform: t.name(),
                    header: header.to_string(),
                    headers: self
                        .columns
                        .iter()
                        .map(|c| format!("{:?}", c.header))
                        .collect(),
                });
            }
        }
        for (i, t) in self.transforms.iter().enumerate() {
            for field in t.fields() {
                let column = self.column_of(Target::Field(field));
                let other = self.transforms[..i]
                    .iter()
                    .find(|o| o.fields().iter().any(|f| f.name == field.name));
                let first = match (column, other) {
                    (Some(c), _) => format!("column {} ({})", c.letter, c.header),
                    (None, Some(o)) => o.name(),
                    (None, None) => continue,
                };
                return Err(MappingError::Twice {
                    field: field.name.to_string(),
                    first,
                    second: t.name(),
                });
            }
        }
        Ok(())
    }

    /// The column feeding `target`, if any.
    pub fn column_of(&self, target: Target) -> Option<&Column> {
        self.columns.iter().find(|c| c.target == target)
    }

    /// The columns of the fields whose text reads right to left (`name_ar`, `address_ar`):
    /// the annotated copy shows their cells so, as the export does.
    pub fn right_to_left_columns(&self) -> impl Iterator<Item = usize> + '_ {
        self.columns
            .iter()
            .filter(|c| matches!(c.target, Target::Field(f) if schema::is_right_to_left(f.name)))
            .map(|c| c.index)
    }

    /// The column feeding the field called `name` (`id` for the id column), or the column a
    /// transform making it reads (the first).
    pub fn column_of_field(&self, name: &str) -> Option<&Column> {
        if name == schema::ID {
            return self.column_of(Target::Id);
        }
        self.columns
            .iter()
            .find(|c| matches!(c.target, Target::Field(f) if f.name == name))
            .or_else(|| {
                let (t, _) = self.made_by(name)?;
                self.columns.get(self.transforms[t].column()?)
            })
    }

    /// The transform making the field called `name`, and its place among that transform's
    /// fields.
    pub fn made_by(&self, name: &str) -> Option<(usize, usize)> {
        self.transforms
            .iter()
            .enumerate()
            .find_map(|(t, transform)| {
                let place = transform.fields().iter().position(|f| f.name == name)?;
                Some((t, place))
            })
    }

    /// The transform reading column `index`, if one does.
    pub fn transform_reading(&self, index: usize) -> Option<&Transform> {
        self.transforms
            .iter()
            .find(|t| t.columns().contains(&index))
    }

    /// Columns nothing matched, in sheet order.
    pub fn unmapped(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.target == Target::Unmapped)
    }

    /// The mapping as an editable TOML mapping file (`custbulk mapping FILE --write`).
    pub fn to_toml(&self) -> String {
        file::write(self)
    }
}

/// The column whose header is `name`: as written (trimmed), else alike once normalised.
fn find_column(columns: &[Column], name: &str) -> Option<usize> {
    let (mut norm, mut other) = (String::new(), String::new());
    normalize(name, &mut norm);
    columns
        .iter()
        .find(|c| c.header.trim() == name.trim())
        .or_else(|| {
            columns.iter().find(|c| {
                normalize(&c.header, &mut other);
                !norm.is_empty() && other == norm
            })
        })
        .map(|c| c.index)
}

/// The mapping file's transforms with the columns they read. A column a transform reads loses
/// its automatic target (a split `Adresse` is not also `street1`, the `Nom` of a manager not
/// the customer's name); one the file maps under `[columns]` keeps it.
fn transforms(file: &MapFile, columns: &mut [Column]) -> Vec<Transform> {
    let mut made = Vec::new();
    for template in &file.templates {
        let found = template
            .headers()
            .map(|h| find_column(columns, h))
            .collect();
        made.push(Transform::Fields {
            template: template.clone(),
            columns: found,
        });
    }
    for split in &file.splits {
        made.push(Transform::Split {
            split: split.clone(),
            column: find_column(columns, &split.header),
        });
    }
    for i in made.iter().flat_map(Transform::columns) {
        let c = &mut columns[i];
        let automatic = matches!(
            c.target,
            Target::Field(_) | Target::Contact { .. } | Target::Unmapped
        );
        if automatic && !c.from_file {
            c.target = Target::Transform;
        }
    }
    made
}

#[cfg(test)]
mod tests;
