//! Fields made from columns, for lists that do not keep one field per column: French lists
//! hold `Prénom du gérant` and `Nom du gérant` apart, and `Adresse complète` in one cell.
//!
//! ```toml
//! [fields]                      # a field made from columns: {Header} is that row's cell
//! manager = "{Prénom du gérant} {Nom du gérant}"
//!
//! [split."Adresse complète"]    # one column cut into fields by a regex with named groups
//! pattern = '^(?P<street1>.+?),?\s+(?P<zipCode>\d{5})\s+(?P<city>.+)$'
//! ```
//!
//! Parsing and the per-row work live here, on cell text; validation ([`crate::validate`])
//! coerces and checks what they make like any cell, and says where it came from.

use regex::{CaptureLocations, Regex};

use crate::read::trim;
use crate::schema::{self, Field, Kind};

/// `[fields] FIELD = "... {Header} ..."`: a field made of literal text and cells.
#[derive(Debug, Clone)]
pub struct Template {
    pub field: &'static Field,
    /// As written in the mapping file.
    pub text: String,
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    /// A `{Header}`: that column's cell.
    Cell(String),
}

/// `[split."Header"] pattern = '...'`: one column cut into the fields its named groups name.
#[derive(Debug, Clone)]
pub struct Split {
    /// The column cut, as the mapping file names it.
    pub header: String,
    pub pattern: String,
    regex: Regex,
    /// (capture group index, field), in the pattern's order.
    groups: Vec<(usize, &'static Field)>,
}

/// A transform of a mapping file, with the sheet's columns it reads.
#[derive(Debug, Clone)]
pub enum Transform {
    /// A template and the column of each of its `{Header}`s, in order (`None`: the sheet has
    /// no such column, a usage error).
    Fields {
        template: Template,
        columns: Vec<Option<usize>>,
    },
    Split {
        split: Split,
        column: Option<usize>,
    },
}

/// The field a `[fields]` key or a split's group names: a schema field other than contacts.
fn made_field(name: &str, place: &str) -> Result<&'static Field, String> {
    match schema::field(name) {
        Some(f) if f.kind != Kind::Contacts => Ok(f),
        Some(_) => Err(format!("{place} cannot make contacts")),
        None => Err(format!(
            "{place} names {name:?}, which is not a field; fields: {}",
            super::file::field_list()
        )),
    }
}

impl Template {
    /// Parses `{Header}` (with `{{` and `}}` for literal braces); a template without any
    /// `{Header}` is refused, since `[defaults]` says a constant.
    pub fn parse(field: &str, text: &str) -> Result<Template, String> {
        let place = format!("[fields] {field}");
        let field = made_field(field, &place)?;
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut header = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        closed = c == '}';
                        if closed {
                            break;
                        }
                        header.push(c);
                    }
                    let header = header.trim();
                    if !closed || header.is_empty() || header.contains('{') {
                        return Err(format!(
                            "{place} = {text:?}: write a column's header between {{ and }} \
                             (and {{{{ or }}}} for a brace)"
                        ));
                    }
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Cell(header.to_string()));
                }
                '}' => {
                    return Err(format!(
                        "{place} = {text:?} has a }} without {{ (write }}}} for a brace)"
                    ))
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        if !pieces.iter().any(|p| matches!(p, Piece::Cell(_))) {
            return Err(format!(
                "{place} = {text:?} names no column: write {{Header}} for a cell, or give a \
                 constant under [defaults]"
            ));
        }
        Ok(Template {
            field,
            text: text.to_string(),
            pieces,
        })
    }

    /// The headers in braces, in order.
    pub fn headers(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Cell(h) => Some(h.as_str()),
            Piece::Text(_) => None,
        })
    }

    /// Writes the field into `out`: each `{Header}` replaced by `cell(i)` (the i-th header's
    /// cell, trimmed). A blank part leaves no doubled, leading or trailing space. False, with
    /// `out` empty, when every cell is blank.
    pub fn render<'a>(&self, cell: impl Fn(usize) -> &'a str, out: &mut String) -> bool {
        out.clear();
        let mut any = false;
        let mut i = 0;
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => {
                    for c in text.chars() {
                        if !c.is_whitespace() {
                            out.push(c);
                        } else if !out.is_empty() && !out.ends_with(char::is_whitespace) {
                            out.push(' ');
                        }
                    }
                }
                Piece::Cell(_) => {
                    let value = cell(i);
                    i += 1;
                    any |= !value.is_empty();
                    out.push_str(value);
                }
            }
        }
        if !any {
            out.clear();
        }
        // Most values end with a visible ASCII character, and need no trim.
        if !out.as_bytes().last().is_some_and(u8::is_ascii_graphic) {
            out.truncate(out.trim_end().len());
        }
        any
    }
}

impl Split {
    /// Compiles the pattern (the regex crate's syntax); its named groups must be fields.
    pub fn parse(header: &str, pattern: &str) -> Result<Split, String> {
        let place = format!("[split.{}]", quoted_key(header));
        let regex = Regex::new(pattern)
            .map_err(|e| format!("{place} pattern {pattern:?} is not a regex: {e}"))?;
        let mut groups = Vec::new();
        for (i, name) in regex.capture_names().enumerate() {
            if let Some(name) = name {
                groups.push((i, made_field(name, &format!("{place} group {name:?}"))?));
            }
        }
        if groups.is_empty() {
            return Err(format!(
                "{place} pattern {pattern:?} has no named group: name each part by its field, \
                 as in (?P<zipCode>\\d{{5}})"
            ));
        }
        Ok(Split {
            header: header.to_string(),
            pattern: pattern.to_string(),
            regex,
            groups,
        })
    }

    /// The fields the named groups make, in the pattern's order.
    pub fn fields(&self) -> impl Iterator<Item = &'static Field> + '_ {
        self.groups.iter().map(|&(_, f)| f)
    }

    /// Reusable space for [`Split::cut`].
    pub fn locations(&self) -> CaptureLocations {
        self.regex.capture_locations()
    }

    /// Cuts `cell` into `out` (one per field, trimmed; blank when its group took no part);
    /// false when the pattern does not fit.
    pub fn cut(&self, cell: &str, locations: &mut CaptureLocations, out: &mut [String]) -> bool {
        if self.regex.captures_read(locations, cell).is_none() {
            return false;
        }
        for (text, &(group, _)) in out.iter_mut().zip(&self.groups) {
            text.clear();
            if let Some((start, end)) = locations.get(group) {
                text.push_str(trim(&cell[start..end]));
            }
        }
        true
    }
}

impl Transform {
    /// The fields it makes, in order.
    pub fn fields(&self) -> Vec<&'static Field> {
        match self {
            Transform::Fields { template, .. } => vec![template.field],
            Transform::Split { split, .. } => split.fields().collect(),
        }
    }

    /// The sheet's columns it reads, as far as the sheet has them.
    pub fn columns(&self) -> Vec<usize> {
        match self {
            Transform::Fields { columns, .. } => columns.iter().flatten().copied().collect(),
            Transform::Split { column, .. } => column.iter().copied().collect(),
        }
    }

    /// Whether its values are surely in NFC whenever the cells they come from are: a split's
    /// are parts of its cell, and a template's add only its literal text.
    pub fn keeps_nfc(&self) -> bool {
        match self {
            Transform::Fields { template, .. } => template.pieces.iter().all(|p| match p {
                Piece::Text(text) => crate::read::surely_nfc(text),
                Piece::Cell(_) => true,
            }),
            Transform::Split { .. } => true,
        }
    }

    /// The column its problems are shown on: the split's, or the template's first.
    pub fn column(&self) -> Option<usize> {
        self.columns().first().copied()
    }

    /// The headers it names that the sheet has no column for.
    pub fn missing(&self) -> Vec<&str> {
        match self {
            Transform::Fields { template, columns } => template
                .headers()
                .zip(columns)
                .filter(|(_, c)| c.is_none())
                .map(|(h, _)| h)
                .collect(),
            Transform::Split { split, column } => match column {
                None => vec![split.header.as_str()],
                Some(_) => Vec::new(),
            },
        }
    }

    /// How messages name it: `[fields] manager`, `[split."Adresse complète"]`.
    pub fn name(&self) -> String {
        match self {
            Transform::Fields { template, .. } => format!("[fields] {}", template.field.name),
            Transform::Split { split, .. } => format!("[split.{}]", quoted_key(&split.header)),
        }
    }

    /// As the mapping file writes it: `[fields] manager = "{Prénom} {Nom}"`.
    pub fn written(&self) -> String {
        match self {
            Transform::Fields { template, .. } => {
                format!("{} = {}", self.name(), basic_string(&template.text))
            }
            Transform::Split { split, .. } => {
                format!(
                    "{} pattern = {}",
                    self.name(),
                    literal_string(&split.pattern)
                )
            }
        }
    }
}

/// A TOML key as written in a table header: bare when it can be, else quoted.
pub(super) fn quoted_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        key.to_string()
    } else {
        basic_string(key)
    }
}

/// A TOML basic string, with escapes.
pub(super) fn basic_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A TOML literal string (`'...'`, no escapes: regexes read as written) when `s` can be one.
pub(super) fn literal_string(s: &str) -> String {
    if s.contains(['\'', '\n', '\r']) || s.chars().any(char::is_control) {
        basic_string(s)
    } else {
        format!("'{s}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(template: &str, cells: &[&str]) -> String {
        let t = Template::parse("manager", template).unwrap();
        let mut out = String::new();
        t.render(|i| cells[i], &mut out);
        out
    }

    #[test]
    fn a_blank_part_leaves_no_doubled_leading_or_trailing_space() {
        let both = "{Prénom du gérant} {Nom du gérant}";
        assert_eq!(rendered(both, &["Jeanne", "Martin"]), "Jeanne Martin");
        assert_eq!(rendered(both, &["", "Martin"]), "Martin");
        assert_eq!(rendered(both, &["Jeanne", ""]), "Jeanne");
        assert_eq!(rendered(both, &["", ""]), "");
        assert_eq!(rendered("{A}  {B}  {C}", &["a", "", "c"]), "a c");
        assert_eq!(rendered("M. {Nom}", &[""]), "");
        assert_eq!(rendered("M. {Nom}", &["Martin"]), "M. Martin");
        assert_eq!(rendered("{{{Nom}}}", &["x"]), "{x}");
    }

    #[test]
    fn templates_that_cannot_be_read_are_refused() {
        for (text, says) in [
            ("{Prénom", "between {"),
            ("{} x", "between {"),
            ("a } b {Nom}", "a } without {"),
            ("Jeanne", "names no column"),
        ] {
            let err = Template::parse("manager", text).unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
        let err = Template::parse("gérant", "{Nom}").unwrap_err();
        assert!(err.contains("\"gérant\", which is not a field"), "{err}");
        assert!(Template::parse("contacts", "{Nom}").is_err());
    }

    #[test]
    fn a_split_cuts_by_named_groups() {
        let split = Split::parse(
            "Adresse complète",
            r"^(?P<street1>.+?),?\s+(?P<zipCode>\d{5})\s+(?P<city>.+)$",
        )
        .unwrap();
        let names: Vec<&str> = split.fields().map(|f| f.name).collect();
        assert_eq!(names, ["street1", "zipCode", "city"]);
        let mut locations = split.locations();
        let mut out = vec![String::new(); 3];
        assert!(split.cut(
            "12 rue de la Liberté, 01000 Bourg-en-Bresse",
            &mut locations,
            &mut out
        ));
        assert_eq!(out, ["12 rue de la Liberté", "01000", "Bourg-en-Bresse"]);
        // \d is Unicode's: Arabic-Indic digits are digits.
        assert!(split.cut("شارع الحرية ٠١٠٠٠ الرباط", &mut locations, &mut out));
        assert_eq!(out[1], "٠١٠٠٠");
        assert!(!split.cut("Bourg-en-Bresse", &mut locations, &mut out));
    }

    #[test]
    fn patterns_that_cannot_be_used_are_refused_quoting_them() {
        let err = Split::parse("Adresse", "(?P<street1>.+").unwrap_err();
        assert!(err.starts_with("[split.Adresse] pattern \"(?P<street1>.+\" is not a regex"));
        let err = Split::parse("Adresse complète", r"(\d+)").unwrap_err();
        assert!(err.contains("[split.\"Adresse complète\"]"), "{err}");
        assert!(err.contains("no named group"), "{err}");
        let err = Split::parse("A", "(?P<rue>.+)").unwrap_err();
        assert!(
            err.contains("group \"rue\" names \"rue\", which is not a field"),
            "{err}"
        );
    }
}
