//! The values the mapping file's transforms ([`Transform`]) make of each row, before they are
//! coerced and checked like any cell. A cell a split's pattern does not fit is an error on its
//! row and column, and leaves the split's fields invalid: the row is never sent with blanks.

use regex::CaptureLocations;

use super::{coerce, problem, Problem, Severity};
use crate::mapping::{Mapping, Transform};
use crate::read::Cells;

/// Every transform of a sheet's mapping, with the values it made of the current row.
#[derive(Clone)]
pub(crate) struct Made {
    transforms: Vec<(Transform, Values)>,
}

/// One transform's values of the current row, reused from row to row.
#[derive(Clone)]
struct Values {
    /// One per field it makes, in its order.
    texts: Vec<String>,
    /// False when the split's pattern did not fit the row's cell.
    fit: bool,
    /// Capture space for a split.
    locations: Option<CaptureLocations>,
    /// How problems name it: `[fields] manager`.
    name: String,
    /// [`Transform::keeps_nfc`]: a row's cells surely in NFC make values surely in NFC.
    keeps_nfc: bool,
}

impl Made {
    pub(crate) fn new(mapping: &Mapping) -> Made {
        let transforms = mapping
            .transforms
            .iter()
            .map(|t| {
                let values = Values {
                    texts: vec![String::new(); t.fields().len()],
                    fit: true,
                    locations: match t {
                        Transform::Split { split, .. } => Some(split.locations()),
                        Transform::Fields { .. } => None,
                    },
                    name: t.name(),
                    keeps_nfc: t.keeps_nfc(),
                };
                (t.clone(), values)
            })
            .collect();
        Made { transforms }
    }

    /// Makes every transform's values of `cells`; a cell a pattern does not fit is an error
    /// pushed on `problems`.
    pub(crate) fn run(
        &mut self,
        cells: &Cells,
        row: u32,
        columns: &[(String, String)],
        problems: &mut Vec<Problem>,
    ) {
        let cell = |c: Option<usize>| coerce::cell_text(c.and_then(|c| cells.get(c)).unwrap_or(""));
        for (transform, values) in &mut self.transforms {
            match transform {
                Transform::Fields {
                    template,
                    columns: read,
                } => {
                    template.render(|i| cell(read[i]), &mut values.texts[0]);
                }
                Transform::Split { split, column } => {
                    let text = cell(*column);
                    let locations = values.locations.as_mut().expect("a split's locations");
                    values.fit = text.is_empty() || split.cut(text, locations, &mut values.texts);
                    if text.is_empty() {
                        values.texts.iter_mut().for_each(String::clear);
                    }
                    if !values.fit {
                        let fields: Vec<&str> = split.fields().map(|f| f.name).collect();
                        let message = format!(
                            "{text:?} does not fit the pattern of {}, {}: {} not set",
                            values.name,
                            split.pattern,
                            match fields.as_slice() {
                                [one] => format!("{one} is"),
                                [rest @ .., last] => format!("{} and {last} are", rest.join(", ")),
                                [] => "nothing is".to_string(),
                            }
                        );
                        let first = fields.first().copied().unwrap_or_default();
                        let p =
                            problem(row, *column, first, Severity::Error, message, text, columns);
                        problems.push(p);
                    }
                }
            }
        }
    }

    /// The value made for field `place` of transform `t` in the current row (blank when its
    /// cells are), and whether it is surely in NFC given the row's cells are (`cells_nfc`);
    /// `None` when the pattern did not fit.
    pub(super) fn value(
        &self,
        (t, place): (usize, usize),
        cells_nfc: bool,
    ) -> Option<(&str, bool)> {
        let values = &self.transforms[t].1;
        let nfc = cells_nfc && values.keeps_nfc;
        values.fit.then(|| (values.texts[place].as_str(), nfc))
    }

    /// Every value transform `t` made of the current row, in the order of its fields; `None`
    /// when the pattern did not fit.
    pub(crate) fn values(&self, t: usize) -> Option<&[String]> {
        let values = &self.transforms[t].1;
        values.fit.then_some(values.texts.as_slice())
    }

    /// How problems name transform `t`.
    pub(crate) fn name(&self, t: usize) -> &str {
        &self.transforms[t].1.name
    }
}
