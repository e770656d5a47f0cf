//! What a sheet's mapping means for the checks, worked out once before any row: which field
//! each column feeds (with its default and translations), the contact column groups, and the
//! key rows are matched on. Every mistake found here is a usage error (exit 2).

use super::field::FieldPlan;
use super::record::CONTACT_KEYS;
use super::{slot_of, GroupPlan, Mode, ValidateOptions};
use crate::error;
use crate::lookup::key::{Key, Keys, Part};
use crate::mapping::{Mapping, Target};
use crate::schema::FIELDS;

/// The keys rows are matched on, as the checks use them.
#[derive(Clone)]
pub(super) struct MatchKeys {
    pub keys: Keys,
    /// The column of each key's first field, where a repeat of the key is reported.
    pub columns: Vec<Option<usize>>,
    /// A key is the SIRET alone: a SIRET seen twice is already an error.
    pub siret_is_key: bool,
}

/// One plan per field that a column, a transform or a mapping-file default feeds, in schema
/// order.
pub(super) fn field_plans(mapping: &Mapping) -> Vec<FieldPlan> {
    let mut fields = Vec::new();
    for (slot, field) in FIELDS.iter().enumerate() {
        let made = mapping.made_by(field.name);
        let col = match made {
            Some(_) => mapping.column_of_field(field.name),
            None => mapping.column_of(Target::Field(field)),
        }
        .map(|c| c.index);
        let default = mapping
            .defaults
            .iter()
            .find(|(f, _)| f.name == field.name)
            .map(|(_, v)| v.clone());
        let values = mapping
            .values
            .iter()
            .filter(|(f, _)| f.name == field.name)
            .flat_map(|(_, pairs)| {
                pairs
                    .iter()
                    .map(|(a, b)| (a.trim().to_lowercase(), b.clone()))
            })
            .collect();
        if col.is_some() || default.is_some() {
            fields.push(FieldPlan::new(field, slot, col, made, default, values));
        }
    }
    fields
}

/// The contact column groups (`Contact 1 Email`, ...), in contact order.
pub(super) fn contact_groups(mapping: &Mapping) -> Vec<GroupPlan> {
    let mut groups: Vec<(u16, GroupPlan)> = Vec::new();
    for c in &mapping.columns {
        if let Target::Contact { index, key } = c.target {
            let k = CONTACT_KEYS.iter().position(|k| *k == key).unwrap_or(0);
            match groups.iter_mut().find(|(i, _)| *i == index) {
                Some((_, g)) => g.cols[k] = Some(c.index),
                None => {
                    let mut g = GroupPlan { cols: [None; 4] };
                    g.cols[k] = Some(c.index);
                    groups.push((index, g));
                }
            }
        }
    }
    groups.sort_by_key(|(i, _)| *i);
    groups.into_iter().map(|(_, g)| g).collect()
}

/// The keys rows are matched on: `--match-on`, else the id column, else siret, else name.
/// Every field a key names needs a column; a mode that finds existing customers needs an id
/// column or `--match-on`.
pub(super) fn match_keys(
    mapping: &Mapping,
    opts: &ValidateOptions,
    id_col: Option<usize>,
) -> anyhow::Result<Option<MatchKeys>> {
    let keys = match opts.match_on.as_deref() {
        Some(text) => {
            let keys =
                Keys::parse(text).map_err(|e| error::usage(format!("--match-on {text}: {e}")))?;
            Some(keys)
        }
        None if id_col.is_some() => Some(Keys::single(Key::field(Part::Id))),
        None => ["siret", "name"]
            .into_iter()
            .find(|name| mapping.column_of_field(name).is_some())
            .map(|name| Keys::single(Key::field(Part::Field(slot_of(name))))),
    };
    if opts.mode.finds_existing() && id_col.is_none() && opts.match_on.is_none() {
        return Err(error::usage(format!(
            "--mode {} needs an id column (_id or id) or --match-on FIELD to find each customer",
            opts.mode.as_str()
        )));
    }
    let Some(keys) = keys else {
        return Ok(None);
    };
    let column = |part: Part| match part {
        Part::Id => id_col,
        Part::Field(i) => mapping.column_of_field(FIELDS[i].name).map(|c| c.index),
    };
    for key in keys.iter() {
        if let Some(&part) = key.parts().iter().find(|&&p| column(p).is_none()) {
            let name = part.name();
            return Err(error::usage(match part {
                Part::Id => {
                    format!("--match-on {key}: no column of the sheet is the id (_id or id)")
                }
                Part::Field(_) => {
                    format!("--match-on {key}: no column of the sheet maps to {name}")
                }
            }));
        }
    }
    let columns = keys.iter().map(|key| column(key.parts()[0])).collect();
    let siret_is_key = keys.iter().any(|k| k.to_string() == "siret");
    Ok(Some(MatchKeys {
        keys,
        columns,
        siret_is_key,
    }))
}

/// Refuses create and upsert when nothing feeds `name`, unless an action column lets each row
/// say what it does (rows that create are then checked one by one).
pub(super) fn require_name(
    fields: &[FieldPlan],
    opts: &ValidateOptions,
    action_col: Option<usize>,
) -> anyhow::Result<()> {
    let name_fed = fields.iter().any(|p| p.field.name == "name");
    if !opts.mode.finds_existing() && !name_fed && action_col.is_none() {
        return Err(error::usage(format!(
            "no column maps to name, which --mode {} needs to create customers; name the column \
             in a mapping file (--map) or use --mode update",
            match opts.mode {
                Mode::Create => "create",
                _ => "upsert",
            }
        )));
    }
    Ok(())
}
