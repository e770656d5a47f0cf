//! How a header names a field: normalised (case, accents, spaces and punctuation gone) and
//! looked up among the schema's field names and synonyms, contact columns (`Contact 2 Email`)
//! read by their parts, and notes in brackets on how to fill a column set aside.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::{Ignored, MapFile, Target};
use crate::lookup::fold::unmarked_lowercase;
use crate::schema::{self, FIELDS};

/// Whether a row looks like a header row: at least two of its cells map to fields without any
/// mapping file. `read::open` uses it to skip title rows above the header.
pub fn is_header(cells: &[String]) -> bool {
    let mut norm = String::new();
    cells
        .iter()
        .filter(|c| auto_target(c, &mut norm).is_mapped())
        .take(2)
        .count()
        >= 2
}

/// Like [`is_header`], also counting the columns a mapping file names.
pub fn is_header_with(cells: &[String], file: Option<&MapFile>) -> bool {
    let Some(file) = file else {
        return is_header(cells);
    };
    let mut norm = String::new();
    let named = |c: &String| file.headers().any(|name| name.trim() == c.trim());
    cells
        .iter()
        .filter(|c| named(c) || auto_target(c, &mut norm).is_mapped())
        .take(2)
        .count()
        >= 2
}

/// The automatic target of one header. `norm` is scratch space.
pub fn auto_target(header: &str, norm: &mut String) -> Target {
    let raw = header.trim().to_lowercase();
    if schema::ID_COLUMNS.contains(&raw.as_str()) {
        return Target::Id;
    }
    if schema::is_result_column(&raw) {
        return Target::Ignore(Ignored::Result);
    }
    if schema::ACTION_COLUMNS.contains(&raw.as_str()) {
        return Target::Ignore(Ignored::Action);
    }
    normalize(header, norm);
    if norm.is_empty() {
        return Target::Unmapped;
    }
    if let Some(t) = index().get(norm.as_str()) {
        return *t;
    }
    if let Some(t) = contact_target(norm) {
        return t;
    }
    match without_hints(header) {
        Some(bare) => auto_target(&bare, norm),
        None => Target::Unmapped,
    }
}

/// Words of a note in brackets that says how to fill a column, not what it holds: a currency,
/// a unit, whether it is required. `Capital social (en euros)` and `Code postal [5 chiffres]`
/// map as `Capital social` and `Code postal`; `Ville (arabe)` keeps its note, which names
/// another field.
const HINT_WORDS: &[&str] = &[
    "en",
    "eur",
    "euro",
    "euros",
    "dh",
    "mad",
    "dzd",
    "da",
    "tnd",
    "dt",
    "ht",
    "ttc",
    "chiffres",
    "digits",
    "texte",
    "text",
    "optionnel",
    "facultatif",
    "obligatoire",
    "requis",
    "optional",
    "required",
];

/// The header without its notes in brackets made of [`HINT_WORDS`] (with digits and signs),
/// or of signs alone; `None` when it has none.
fn without_hints(header: &str) -> Option<String> {
    let mut bare = String::with_capacity(header.len());
    let mut rest = header;
    while let Some(open) = rest.find(['(', '[']) {
        let close = if rest[open..].starts_with('(') {
            ')'
        } else {
            ']'
        };
        let Some(len) = rest[open..].find(close) else {
            break;
        };
        let note = &rest[open + 1..open + len];
        let mut words = note
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| !w.is_empty());
        let hint = match words.clone().next() {
            Some(_) => words.all(|w| HINT_WORDS.contains(&w.to_lowercase().as_str())),
            // Signs alone (`(€)`, `(*)`) are a hint; a number (`Nom (2)`) tells columns apart.
            None => !note.chars().any(char::is_numeric),
        };
        bare.push_str(&rest[..open]);
        if !hint {
            bare.push_str(&rest[open..=open + len]);
        }
        rest = &rest[open + len + 1..];
    }
    bare.push_str(rest);
    (bare.len() < header.len()).then_some(bare)
}

/// Parses a target as a mapping file writes it: a field name, `id`, `ignore`, or a contact key
/// such as `contact2.email` (any spelling whose normalised form is `contact2email`).
pub fn parse_target(text: &str) -> Option<Target> {
    let mut norm = String::new();
    normalize(text, &mut norm);
    match norm.as_str() {
        "ignore" | "ignorer" | "" => return Some(Target::Ignore(Ignored::User)),
        "id" => return Some(Target::Id),
        _ => {}
    }
    let mut fnorm = String::new();
    for f in FIELDS {
        normalize(f.name, &mut fnorm);
        if fnorm == norm {
            return Some(Target::Field(f));
        }
    }
    contact_target(&norm)
}

/// `contact` + optional number + a contact key, in any order: `contact2phone`,
/// `emailcontact1`, `contactnom` (contact 1).
fn contact_target(norm: &str) -> Option<Target> {
    let at = norm.find("contact")?;
    let rest = format!("{}{}", &norm[..at], &norm[at + "contact".len()..]);
    let mut index: Option<u32> = None;
    let mut key = String::new();
    let mut digits_done = false;
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            if digits_done {
                return None;
            }
            let mut n = c.to_digit(10)?;
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                n = n.checked_mul(10)?.checked_add(d)?;
                chars.next();
            }
            index = Some(n);
            digits_done = true;
        } else {
            key.push(c);
        }
    }
    let index = index.unwrap_or(1);
    if !(1..=99).contains(&index) {
        return None;
    }
    let key = contact_keys().get(key.as_str())?;
    Some(Target::Contact {
        index: index as u16,
        key,
    })
}

/// Normalises a header for matching: lower case, accents and Arabic vowel marks removed, only
/// letters and digits kept, and a `N°`/`Nº` (number) prefix dropped, so that `N° SIRET`,
/// `n_siret` and `Siret` agree. Its letters are those of the match keys' fold
/// ([`crate::lookup::fold::unmarked_lowercase`]). Writes into `out` to spare an allocation.
pub fn normalize(header: &str, out: &mut String) {
    out.clear();
    let mut word_start = 0;
    let mut in_word = false;
    for c in header.chars() {
        if c == '°' || c == 'º' {
            if in_word && &out[word_start..] == "n" {
                out.truncate(word_start);
            }
            in_word = false;
            continue;
        }
        unmarked_lowercase(c, |l| {
            if l.is_alphanumeric() {
                if !in_word {
                    word_start = out.len();
                    in_word = true;
                }
                out.push(l);
            } else {
                in_word = false;
            }
        });
    }
}

/// Normalised synonym → target, built once from the schema.
fn index() -> &'static HashMap<String, Target> {
    static INDEX: OnceLock<HashMap<String, Target>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut map = HashMap::new();
        let mut norm = String::new();
        for f in FIELDS {
            for word in std::iter::once(&f.name).chain(f.synonyms).chain(&f.headers) {
                normalize(word, &mut norm);
                map.entry(norm.clone()).or_insert(Target::Field(f));
            }
        }
        map
    })
}

/// Normalised contact-key word → key.
fn contact_keys() -> &'static HashMap<String, &'static str> {
    static KEYS: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut map = HashMap::new();
        let mut norm = String::new();
        for k in schema::CONTACT_KEYS {
            for w in k.synonyms.iter().chain(&k.headers) {
                normalize(w, &mut norm);
                map.insert(norm.clone(), k.key);
            }
        }
        map
    })
}
