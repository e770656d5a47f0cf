//! The checks of one field of one row: its cell, translated or defaulted, coerced to the
//! field's type, and the rules of that field alone (SIRET, Arabic script, negative capital,
//! contacts JSON), and its length. Checks across fields and rows live in `across`.

use indicatif::HumanCount;

use super::coerce::{self, IntError, SiretError};
use super::made::Made;
use super::record::{Slot, State};
use super::{problem, Checked, ContactList, Severity};
use crate::read::Cells;
use crate::schema::{Field, Kind};

/// The checks of one field beyond its type.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Rule {
    None,
    /// 14 digits with their checksum; spaces removed, Arabic-Indic digits made ASCII.
    Siret,
    /// Text whose digits are read (postcodes, RCS numbers): Arabic-Indic digits made ASCII.
    Digits,
    /// Must hold Arabic script (a warning).
    Arabic,
    /// A whole number that cannot be negative.
    NotNegative,
}

impl Rule {
    pub(super) fn of(field: &Field) -> Rule {
        match field.name {
            "siret" => Rule::Siret,
            "zipCode" | "rcs" => Rule::Digits,
            "name_ar" | "address_ar" => Rule::Arabic,
            "capital" => Rule::NotNegative,
            _ => Rule::None,
        }
    }
}

/// The most characters a field's cell may hold: a name or an address line is a few dozen, a
/// subject may be a paragraph, a `contacts` cell is a JSON list of several contacts. Past it the
/// cell is refused (a 20 MB name is a mistake or an attack, not a customer) and the problem
/// quotes only its start.
pub(super) fn max_chars(field: &Field) -> usize {
    match field.name {
        "subject" => 10_000,
        "contacts" => 100_000,
        _ => 1_000,
    }
}

/// How much of a refused long value a problem quotes.
const QUOTED_CHARS: usize = 60;

/// When `text` holds more than `max` characters: the start of it, to quote, and the message
/// about `what` (`name`, `a contact's email`).
#[inline]
pub(super) fn too_long(text: &str, max: usize, what: &str) -> Option<(String, String)> {
    // Bytes bound characters, so nearly every cell is cleared without counting.
    if text.len() <= max {
        return None;
    }
    counted_too_long(text, max, what)
}

#[cold]
fn counted_too_long(text: &str, max: usize, what: &str) -> Option<(String, String)> {
    let chars = text.chars().count();
    if chars <= max {
        return None;
    }
    let mut start: String = text.chars().take(QUOTED_CHARS).collect();
    start.push('…');
    let message = format!(
        "{start:?} is {} characters long; {what} holds at most {}",
        HumanCount(chars as u64),
        HumanCount(max as u64)
    );
    Some((start, message))
}

/// How one field gets its value.
#[derive(Clone)]
pub(super) struct FieldPlan {
    pub(super) field: &'static Field,
    pub(super) rule: Rule,
    /// [`max_chars`] of the field, worked out once.
    pub(super) max_chars: usize,
    /// Index into `FIELDS` and `Checked::slots`.
    pub(super) slot: usize,
    /// The column whose cell is the value, or, for a value a transform makes, where its
    /// problems are shown (the column it reads).
    pub(super) col: Option<usize>,
    /// The transform making the value, and the value's place among what it makes.
    pub(super) made: Option<(usize, usize)>,
    pub(super) default: Option<String>,
    /// (lower-cased cell text, replacement).
    pub(super) values: Vec<(String, String)>,
    /// Whether a cell in NFC, not too long and with no Arabic-Indic digit is the value as it
    /// lies: a text field of its own column, with no translation and no rule but digits.
    pub(super) plain: bool,
}

impl FieldPlan {
    /// The plan of `field`, from column `col`, a transform's value `made` or a default.
    pub(super) fn new(
        field: &'static Field,
        slot: usize,
        col: Option<usize>,
        made: Option<(usize, usize)>,
        default: Option<String>,
        values: Vec<(String, String)>,
    ) -> FieldPlan {
        let rule = Rule::of(field);
        FieldPlan {
            field,
            rule,
            max_chars: max_chars(field),
            slot,
            col,
            made,
            plain: field.kind == Kind::Text
                && matches!(rule, Rule::None | Rule::Digits)
                && col.is_some()
                && made.is_none()
                && values.is_empty(),
            default,
            values,
        }
    }
}

/// Case-insensitive comparison of `text` with an already lower-cased `lower`, without
/// allocating.
fn eq_lower(text: &str, lower: &str) -> bool {
    text.chars().flat_map(char::to_lowercase).eq(lower.chars())
}

/// The row being checked, as the field plans read it: its cells and the transforms' values.
pub(super) struct Input<'a> {
    pub(super) cells: &'a Cells,
    pub(super) made: &'a Made,
    pub(super) row: u32,
    /// (letter, header) per column, for problems.
    pub(super) columns: &'a [(String, String)],
}

/// Takes one field's cell, value made by a transform, or default, applies the mapping file's
/// translation, and coerces it.
#[inline(always)]
pub(super) fn run_plan(plan: &FieldPlan, input: &Input, out: &mut Checked, scratch: &mut String) {
    if !(plan.plain && out.cells_nfc && keep_plain(plan, input.cells, out)) {
        run_whole_plan(plan, input, out, scratch);
    }
}

/// [`run_plan`] for any value: its transform, translation, default and coercion.
#[inline(never)]
fn run_whole_plan(plan: &FieldPlan, input: &Input, out: &mut Checked, scratch: &mut String) {
    // `nfc`: the value is surely in NFC, known without looking at it again.
    let (cell, from_cell, mut nfc) = match plan.made {
        Some(at) => match input.made.value(at, out.cells_nfc) {
            Some((value, nfc)) => (value, false, nfc),
            None => {
                // The split's pattern did not fit: its error is the row's already.
                out.slots[plan.slot].state = State::Invalid;
                return;
            }
        },
        None => (
            plan.col.and_then(|c| input.cells.get(c)).unwrap_or(""),
            true,
            out.cells_nfc,
        ),
    };
    let mut text = coerce::cell_text(cell);
    // Where `text` lies in the cells, so a value equal to it need not be copied.
    let mut origin = plan.col.filter(|_| from_cell).map(|c| place(c, cell, text));
    if !plan.values.is_empty() && !text.is_empty() {
        // Translations ignore case and surrounding spaces.
        if let Some((_, to)) = plan.values.iter().find(|(from, _)| eq_lower(text, from)) {
            origin = None;
            nfc = false;
            text = to.as_str();
        }
    }
    let mut from_default = false;
    if text.is_empty() {
        match &plan.default {
            Some(d) => {
                text = d.as_str();
                from_default = true;
            }
            None => {
                out.slots[plan.slot].state = State::Blank;
                return;
            }
        }
    }
    let origin = if from_default { None } else { origin };
    let col = if from_default { None } else { plan.col };
    let before = out.problems.len();
    coerce_field(
        plan,
        text,
        origin,
        nfc && !from_default,
        col,
        input,
        out,
        scratch,
    );
    if let (Some((t, _)), false) = (plan.made, from_default) {
        for p in &mut out.problems[before..] {
            p.message
                .push_str(&format!(" (made by {})", input.made.name(t)));
        }
    }
}

/// Most cells of a row, in one step: a [plain](FieldPlan::plain) field's cell (in cells in NFC)
/// kept where it lies, as [`coerce_field`] would keep it. False when it needs the whole path.
#[inline(always)]
fn keep_plain(plan: &FieldPlan, cells: &Cells, out: &mut Checked) -> bool {
    let Some((c, cell)) = plan.col.and_then(|c| Some((c, cells.get(c)?))) else {
        return false;
    };
    let text = coerce::cell_text(cell);
    if text.is_empty()
        || text.len() > plan.max_chars
        || (plan.rule == Rule::Digits && coerce::has_arabic_digits(text))
    {
        return false;
    }
    let slot = &mut out.slots[plan.slot];
    slot.state = State::Ok;
    slot.cell = Some(place(c, cell, text));
    true
}

/// Where `text`, a part of column `col`'s `cell`, lies: what a slot keeps rather than a copy.
fn place(col: usize, cell: &str, text: &str) -> (u32, u32, u32) {
    let start = text.as_ptr() as usize - cell.as_ptr() as usize;
    (col as u32, start as u32, (start + text.len()) as u32)
}

/// Coerces `text` (trimmed, translated, not blank; `nfc` when surely in NFC) into the field's
/// slot, with the checks of that field alone; problems are shown on column `col` (`None`: a
/// mapping-file default).
#[allow(clippy::too_many_arguments)]
pub(super) fn coerce_field(
    plan: &FieldPlan,
    text: &str,
    origin: Option<(u32, u32, u32)>,
    nfc: bool,
    col: Option<usize>,
    input: &Input,
    out: &mut Checked,
    scratch: &mut String,
) {
    let field = plan.field;
    let (row, columns) = (input.row, input.columns);
    if let Some((start, message)) = too_long(text, plan.max_chars, field.name) {
        out.slots[plan.slot].state = State::Invalid;
        let p = problem(
            row,
            col,
            field.name,
            Severity::Error,
            message,
            &start,
            columns,
        );
        out.problems.push(p);
        return;
    }
    let Checked {
        slots, contacts, ..
    } = out;
    let slot = &mut slots[plan.slot];
    slot.state = State::Ok;
    let found = match field.kind {
        Kind::Boolean => coerce_bool(text, slot),
        Kind::Integer => coerce_int(plan.rule, text, slot),
        Kind::Text => coerce_text(plan.rule, text, origin, nfc, slot, scratch),
        Kind::Contacts => coerce_contacts(text, slot, contacts),
    };
    if let Some((severity, message)) = found {
        if severity == Severity::Error {
            slot.state = State::Invalid;
        }
        let p = problem(row, col, field.name, severity, message, text, columns);
        out.problems.push(p);
    }
}

/// What a coercion found wrong with a value: its severity and message. An error leaves the
/// field invalid.
type Found = Option<(Severity, String)>;

fn error(message: String) -> Found {
    Some((Severity::Error, message))
}

fn coerce_bool(text: &str, slot: &mut Slot) -> Found {
    match coerce::parse_bool(text) {
        Some(b) => {
            slot.flag = b;
            None
        }
        None => error(format!(
            "{text:?} is not a yes/no value (true/false, yes/no, oui/non, vrai/faux, 1/0 or x)"
        )),
    }
}

fn coerce_int(rule: Rule, text: &str, slot: &mut Slot) -> Found {
    match coerce::parse_int(text) {
        Ok(i) if i < 0 && rule == Rule::NotNegative => {
            error(format!("{text:?} is negative; capital must be 0 or more"))
        }
        Ok(i) => {
            slot.int = i;
            None
        }
        Err(e) => {
            let e: IntError = e;
            error(format!("{text:?} {}", e.describe()))
        }
    }
}

/// Text is kept where it lies in the cells when it needs no change (`origin`), else cleaned
/// into the slot; a SIRET also loses its spaces and must pass its checksum.
fn coerce_text(
    rule: Rule,
    text: &str,
    origin: Option<(u32, u32, u32)>,
    nfc: bool,
    slot: &mut Slot,
    scratch: &mut String,
) -> Found {
    slot.cell = None;
    let clean = nfc || coerce::is_nfc(text);
    if rule != Rule::Siret {
        if rule == Rule::Digits && coerce::has_arabic_digits(text) {
            coerce::clean_known(text, clean, scratch);
            coerce::fold_digits(scratch, &mut slot.text);
        } else if clean && origin.is_some() {
            slot.cell = origin;
        } else {
            coerce::clean_known(text, clean, &mut slot.text);
        }
        if rule == Rule::Arabic && !coerce::has_arabic(text) {
            return Some((Severity::Warning, format!("{text:?} has no Arabic letters")));
        }
        return None;
    }
    if clean && origin.is_some() && !text.bytes().any(|b| b.is_ascii_whitespace() || b >= 0x80) {
        slot.cell = origin;
    } else {
        coerce::clean_known(text, clean, scratch);
        coerce::strip_spaces(scratch, &mut slot.text);
    }
    let value = if slot.cell.is_some() {
        text
    } else {
        slot.text.as_str()
    };
    match coerce::check_siret(value) {
        Ok(()) => None,
        Err(SiretError::NotFourteenDigits) if value.len() == 13 && is_digits(value) => {
            error(lost_leading_zero(text, value))
        }
        Err(SiretError::NotFourteenDigits) => error(format!("{text:?} is not 14 digits")),
        Err(SiretError::Checksum) => error(format!(
            "{text:?} is not a valid SIRET: its check digit is wrong (mistyped digit?)"
        )),
    }
}

fn is_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// A 13-digit SIRET: a number cell drops the leading zero of SIRETs such as `01234...`. The
/// 14-digit value is suggested when it passes the checksum.
fn lost_leading_zero(text: &str, digits: &str) -> String {
    let whole = format!("0{digits}");
    let lost = format!(
        "{text:?} has 13 digits, a SIRET 14: its leading 0 was probably lost in a cell formatted \
         as a number"
    );
    if coerce::check_siret(&whole).is_ok() {
        format!("{lost}; {whole:?} passes the checksum: write that, in a column formatted as text")
    } else {
        format!("{lost}, but {whole:?} does not pass the checksum either: check the number")
    }
}

fn coerce_contacts(text: &str, slot: &mut Slot, contacts: &mut ContactList) -> Found {
    match parse_contacts(text) {
        Ok(v) => {
            if let Some(bad) = bad_email(&v) {
                error(format!("{bad:?} is not an e-mail address (name@example.com)"))
            } else {
                if v.as_array().is_some_and(|a| a.is_empty()) {
                    slot.state = State::Blank;
                } else {
                    contacts.json = Some(v);
                }
                None
            }
        }
        Err(why) => error(format!(
            "contacts must be a JSON array of objects such as [{{\"name\":\"Jeanne\",\"email\":\"j@example.fr\"}}]: {why}"
        )),
    }
}

fn parse_contacts(text: &str) -> Result<serde_json::Value, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    match v.as_array() {
        Some(items) if items.iter().all(|i| i.is_object()) => Ok(v),
        Some(_) => Err("an item is not an object".into()),
        None => Err("not an array".into()),
    }
}

fn bad_email(contacts: &serde_json::Value) -> Option<String> {
    contacts.as_array()?.iter().find_map(|c| {
        let e = c.get("email")?;
        match e.as_str() {
            Some(s) if s.trim().is_empty() || coerce::is_email(s.trim()) => None,
            Some(s) => Some(s.to_string()),
            None => Some(e.to_string()),
        }
    })
}
